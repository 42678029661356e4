//! Folding per-contact results into per-day × group states (each KPI family folds its own
//! counters, see `kpis`), and the per-day order and traffic totals.

use rayon::prelude::*;

use crate::ingest::{Contacts, Joinable, SessionTime, Sessions, NULL_TS};
use crate::kpis::backlog::business_flows;
use crate::kpis::sample::{CellValues, DayTotals};
use crate::kpis::{ContactState, FoldContext};
use crate::time::{day_in_grid, Calendar};

/// Counting sort of rows by cell: (rows grouped by cell, offsets).
pub fn rows_by_cell(cell: &[u32], n_cells: usize) -> (Vec<u32>, Vec<usize>) {
    let mut offsets = vec![0usize; n_cells + 1];
    for &c in cell {
        offsets[c as usize + 1] += 1;
    }
    for i in 0..n_cells {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut rows = vec![0u32; cell.len()];
    for (row, &c) in cell.iter().enumerate() {
        rows[fill[c as usize]] = row as u32;
        fill[c as usize] += 1;
    }
    (rows, offsets)
}

/// Above this many day × group cells, contacts are sorted by cell before folding (the
/// per-block cell tables of the row-order fold would no longer fit in cache).
const ROW_ORDER_MAX_CELLS: usize = 8192;
/// Rows per block of the row-order folds (fixed, so results do not depend on threads).
const ROWS_PER_BLOCK: usize = 1 << 18;

/// Fixed-size row blocks covering 0..len.
fn row_blocks(len: usize) -> Vec<std::ops::Range<usize>> {
    (0..len.div_ceil(ROWS_PER_BLOCK))
        .map(|b| b * ROWS_PER_BLOCK..((b + 1) * ROWS_PER_BLOCK).min(len))
        .collect()
}

/// Books backlog outflow on the day a contact is resolved (SPEC §8.16).
fn book_closed(
    states: &mut [ContactState],
    calendar: &Calendar,
    c: &Contacts,
    i: usize,
    cell_group: usize,
    n_groups: usize,
) {
    let Some(resolved) = &c.resolved_at else {
        return;
    };
    let r = resolved[i];
    if r == NULL_TS {
        return;
    }
    if let Some(d) = calendar.day_of(r).filter(|&d| d < calendar.n_days()) {
        states[d * n_groups + cell_group]
            .backlog
            .close(c.created_at[i]);
    }
}

/// Folds contacts in input order, each fixed block of rows into its own cell tables, then
/// adds the blocks' tables in block order: every column is read sequentially.
fn fold_in_row_order(
    ctx: &FoldContext,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
) -> (Vec<ContactState>, Vec<CellValues>) {
    let c = ctx.contacts;
    let n_cells = calendar.n_days() * n_groups;
    let (block_states, block_values): (Vec<Vec<ContactState>>, Vec<Vec<CellValues>>) =
        row_blocks(c.len)
            .into_par_iter()
            .map(|rows| {
                let start = rows.start;
                let cells: Vec<usize> = rows
                    .map(|i| day_in_grid(calendar, c.created_at[i]) * n_groups + group[i] as usize)
                    .collect();
                // Each contact adds at most one value to each list of its cell, so a cell's
                // contact count bounds its lists: sized once, they never grow.
                let mut counts = vec![0usize; n_cells];
                for &k in &cells {
                    counts[k] += 1;
                }
                let mut states = vec![ContactState::default(); n_cells];
                let mut values: Vec<CellValues> = counts
                    .iter()
                    .map(|&n| CellValues::with_capacity(n))
                    .collect();
                for (offset, &k) in cells.iter().enumerate() {
                    let i = start + offset;
                    states[k].fold(&mut values[k], &ctx.row(i));
                    book_closed(&mut states, calendar, c, i, group[i] as usize, n_groups);
                }
                (states, values)
            })
            .unzip();
    // Cell by cell, the blocks' lists in block order; a day inside one block (most days)
    // keeps that block's list as it is.
    let mut per_cell: Vec<Vec<CellValues>> = (0..n_cells)
        .map(|_| Vec::with_capacity(block_values.len()))
        .collect();
    for values in block_values {
        for (cell, v) in per_cell.iter_mut().zip(values) {
            cell.push(v);
        }
    }
    per_cell
        .into_par_iter()
        .enumerate()
        .map(|(k, parts)| {
            let mut state = ContactState::default();
            for states in &block_states {
                state.add(&states[k]);
            }
            (state, CellValues::concat_owned(parts))
        })
        .unzip()
}

/// Sorts contacts by cell (a counting sort), then folds each cell's rows.
fn fold_by_cell(
    ctx: &FoldContext,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
) -> (Vec<ContactState>, Vec<CellValues>) {
    let c = ctx.contacts;
    let n_cells = calendar.n_days() * n_groups;
    let cell: Vec<u32> = (0..c.len)
        .into_par_iter()
        .map(|i| (day_in_grid(calendar, c.created_at[i]) * n_groups + group[i] as usize) as u32)
        .collect();
    let (rows, offsets) = rows_by_cell(&cell, n_cells);
    let (mut states, values): (Vec<ContactState>, Vec<CellValues>) = (0..n_cells)
        .into_par_iter()
        .map(|k| {
            let mut state = ContactState::default();
            let mut cell_values = CellValues::default();
            for &row in &rows[offsets[k]..offsets[k + 1]] {
                state.fold(&mut cell_values, &ctx.row(row as usize));
            }
            (state, cell_values)
        })
        .unzip();
    for (i, &g) in group.iter().enumerate().take(c.len) {
        book_closed(&mut states, calendar, c, i, g as usize, n_groups);
    }
    (states, values)
}

/// Per-day × group states.
pub struct Daily {
    /// Contact states per day × group (`day * n_groups + group`).
    pub states: Vec<ContactState>,
    /// Quantile inputs per day × group.
    pub values: Vec<CellValues>,
    /// Order and traffic totals per day.
    pub totals: Vec<DayTotals>,
    /// Number of groups.
    pub n_groups: usize,
    /// Business backlog flows per day × group × calendar (`kpis::backlog::business_flows`;
    /// empty without calendars).
    pub business_flows: Vec<(i64, i128)>,
}

/// Builds the daily states: contacts by (created day, group), backlog outflow by resolved
/// day, orders by day (sessions come with [`add_session_totals`]).
pub fn build_daily(
    ctx: &FoldContext,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
    data: &Joinable,
) -> Daily {
    let n_days = calendar.n_days();
    let n_cells = n_days * n_groups;
    let (states, values) = if n_cells <= ROW_ORDER_MAX_CELLS {
        fold_in_row_order(ctx, calendar, group, n_groups)
    } else {
        fold_by_cell(ctx, calendar, group, n_groups)
    };
    let orders = &data.orders;
    // Fixed row blocks, added in block order: the sums do not depend on the thread count.
    let block_totals: Vec<Vec<DayTotals>> = row_blocks(orders.len)
        .into_par_iter()
        .map(|rows| {
            let mut totals = vec![DayTotals::default(); n_days];
            for i in rows {
                let d = day_in_grid(calendar, orders.created_at[i]);
                totals[d].orders += 1;
                totals[d].revenue += orders.revenue[i];
            }
            totals
        })
        .collect();
    let mut totals = vec![DayTotals::default(); n_days];
    for block in &block_totals {
        for (t, b) in totals.iter_mut().zip(block) {
            t.add(b);
        }
    }
    Daily {
        states,
        values,
        totals,
        n_groups,
        business_flows: business_flows(ctx.contacts, ctx.business, calendar, group, n_groups),
    }
}

/// Adds the sessions table to the per-day totals. Rows on days outside the grid are not
/// counted; returns how many (the row audit reports them).
pub fn add_session_totals(
    totals: &mut [DayTotals],
    calendar: &Calendar,
    sessions: &Sessions,
) -> usize {
    let mut outside = 0;
    for (row, n) in sessions.count.iter().enumerate() {
        match session_day(calendar, sessions, row) {
            Some(d) => totals[d].sessions += n,
            None => outside += 1,
        }
    }
    outside
}

/// The grid day of a sessions row, if inside the grid.
pub fn session_day(calendar: &Calendar, sessions: &Sessions, row: usize) -> Option<usize> {
    match &sessions.when {
        SessionTime::Instant(times) => calendar
            .day_of(times[row])
            .filter(|&d| d < calendar.n_days()),
        SessionTime::LocalDate(days) => calendar.day_of_local_date(days[row]),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};

    use super::*;
    use crate::config::Config;
    use crate::ingest::{read_joinable, OnInvalid, TableInput};
    use crate::joins::CustomerIndex;
    use crate::kpis::sample::{Quantiled, Sample};
    use crate::kpis::IntentFlags;
    use crate::time::{PeriodKind, MICROS_PER_HOUR};

    /// Monday 2024-01-01 00:00 UTC, µs.
    const T0: i64 = 1_704_067_200_000_000;

    fn ts(values: Vec<i64>) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
    }

    fn sorted(sample: &Sample) -> Vec<f64> {
        let Sample::Exact(values) = sample else {
            panic!("a local fold keeps exact values");
        };
        let mut values = values.clone();
        values.sort_by(f64::total_cmp);
        values
    }

    #[test]
    fn both_fold_paths_give_the_same_daily_states() {
        // The fold runs in row order for small grids and by cell for large ones (a
        // threshold on days × groups); both must give every cell the same state and the
        // same quantile inputs. 600 contacts over ~25 days in 3 groups, with responses,
        // resolutions, handlers, CSAT and repeat customers.
        let n = 600i64;
        let created: Vec<i64> = (0..n)
            .map(|i| T0 + (i * 37 % 600) * MICROS_PER_HOUR)
            .collect();
        let handlers = ["ai", "human", "self_service"];
        let contacts = TableInput::from_columns(
            "contacts",
            vec![
                (
                    "contact_id",
                    Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())),
                ),
                (
                    "customer_id",
                    Arc::new(Int64Array::from((0..n).map(|i| i % 97).collect::<Vec<_>>())),
                ),
                ("created_at", ts(created.clone())),
                (
                    "first_response_at",
                    ts(created
                        .iter()
                        .enumerate()
                        .map(|(i, t)| t + (i as i64 % 7 + 1) * MICROS_PER_HOUR / 3)
                        .collect()),
                ),
                (
                    "resolved_at",
                    ts(created
                        .iter()
                        .enumerate()
                        .map(|(i, t)| t + (i as i64 % 11 + 1) * MICROS_PER_HOUR)
                        .collect()),
                ),
                (
                    "handled_by",
                    Arc::new(StringArray::from(
                        (0..n).map(|i| handlers[i as usize % 3]).collect::<Vec<_>>(),
                    )),
                ),
                (
                    "csat",
                    Arc::new(Float64Array::from(
                        (0..n).map(|i| (i % 5 + 1) as f64).collect::<Vec<_>>(),
                    )),
                ),
            ],
        )
        .expect("contacts");
        let orders = TableInput::from_columns(
            "orders",
            vec![
                (
                    "order_id",
                    Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())),
                ),
                (
                    "customer_id",
                    Arc::new(Int64Array::from((0..n).map(|i| i % 89).collect::<Vec<_>>())),
                ),
                (
                    "created_at",
                    ts(created.iter().map(|t| t + 5 * MICROS_PER_HOUR).collect()),
                ),
                (
                    "revenue",
                    Arc::new(Float64Array::from(
                        (0..n).map(|i| i as f64 * 1.5).collect::<Vec<_>>(),
                    )),
                ),
            ],
        )
        .expect("orders");
        let config = Config::default();
        let data = read_joinable(
            &contacts,
            &orders,
            &config.value_checks().expect("checks"),
            OnInvalid::Raise,
        )
        .expect("reads");
        let (index, columns) = CustomerIndex::build(&data.contacts, &data.orders, data.customers);
        let windows = crate::joins::Windows {
            recovery: 7 * 24 * MICROS_PER_HOUR,
            repeat: 14 * 24 * MICROS_PER_HOUR,
            recontact: 48 * MICROS_PER_HOUR,
        };
        let joins =
            crate::joins::join_contacts(&data.contacts, &data.orders, &index, &columns, windows);
        let as_of = T0 + 700 * MICROS_PER_HOUR;
        let ctx = FoldContext {
            contacts: &data.contacts,
            joins: &joins,
            business: &crate::business::BusinessFacts::default(),
            flags: IntentFlags::new(&data.contacts, &config.taxonomy),
            cost_model: &config.cost_model,
            scales: &config.scales,
            recovery_window: windows.recovery,
            repeat_window: windows.repeat,
            recontact_window: windows.recontact,
            as_of,
        };
        let calendar = Calendar::covering(chrono_tz::UTC, PeriodKind::Week, T0, as_of);
        let n_groups = 3;
        let group: Vec<u32> = (0..data.contacts.len).map(|i| (i % 3) as u32).collect();
        let (row_states, row_values) = fold_in_row_order(&ctx, &calendar, &group, n_groups);
        let (cell_states, cell_values) = fold_by_cell(&ctx, &calendar, &group, n_groups);
        assert_eq!(row_states.len(), calendar.n_days() * n_groups);
        let total: u64 = row_states.iter().map(|s| s.volume.contacts).sum();
        assert_eq!(total, n as u64);
        for (k, (a, b)) in row_states.iter().zip(&cell_states).enumerate() {
            // Counts are exact; sums may differ in the last bit with the order of addition.
            assert_eq!(
                (
                    a.volume.contacts,
                    a.resolution.resolved,
                    a.resolution.ai,
                    a.quality.csat_count
                ),
                (
                    b.volume.contacts,
                    b.resolution.resolved,
                    b.resolution.ai,
                    b.quality.csat_count
                ),
                "cell {k}"
            );
            assert!(
                (a.quality.csat_sum - b.quality.csat_sum).abs() < 1e-9,
                "cell {k}"
            );
            assert_eq!(
                (a.backlog.opened, a.backlog.closed, a.recovery.recovered),
                (b.backlog.opened, b.backlog.closed, b.recovery.recovered),
                "cell {k}"
            );
        }
        for (a, b) in row_values.iter().zip(&cell_values) {
            for which in Quantiled::ALL {
                assert_eq!(sorted(a.sample(which)), sorted(b.sample(which)));
            }
        }
    }
}
