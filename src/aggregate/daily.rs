//! Folding per-contact results into per-day × group states (each KPI family folds its own
//! counters, see `kpis`), and the per-day order and traffic totals.

use std::sync::Arc;

use rayon::prelude::*;

use crate::ingest::{Contacts, Joinable, SessionTime, Sessions, NULL_TS};
use crate::kpis::backlog::{business_flows, merge_flow_groups, BacklogCounters};
use crate::kpis::sample::{CellValues, DayTotals};
use crate::kpis::{ContactState, FoldContext};
use crate::time::{day_in_grid, Calendar};

/// Above this many day × group cells, contacts are folded group by group (the per-block
/// cell tables of the row-order fold would no longer fit in cache, and most would be empty).
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
    if let Some(d) = resolved_day(c, calendar, i) {
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

/// The day a contact is resolved on, when inside the grid (its backlog outflow).
fn resolved_day(c: &Contacts, calendar: &Calendar, i: usize) -> Option<usize> {
    let r = c.resolved_at.as_ref()?[i];
    (r != NULL_TS)
        .then(|| calendar.day_of(r))
        .flatten()
        .filter(|&d| d < calendar.n_days())
}

/// No resolved day in the grid.
const NO_DAY: u32 = u32::MAX;

/// Folds contacts into the cells that hold any contact or outflow, stored group by group.
/// A cell covers a stretch of days, `cell_start[d]` being the first day of day `d`'s
/// stretch (see [`build_daily`]). The cells are found first (a counting sort by group, then
/// a sort within each group, which also counts each group's contacts per day); then each
/// worker folds the rows of one range of cells, reading the rows in input order: a cell's
/// contacts fold in row order, and the columns are read front to back, not at random. Work
/// and memory follow the rows, not days × groups.
fn fold_sparse(
    ctx: &FoldContext,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
    cell_start: &[u32],
) -> Cells {
    let c = ctx.contacts;
    let created_day: Vec<u32> = (0..c.len)
        .into_par_iter()
        .map(|i| day_in_grid(calendar, c.created_at[i]) as u32)
        .collect();
    let closed_day: Vec<u32> = (0..c.len)
        .into_par_iter()
        .map(|i| resolved_day(c, calendar, i).map_or(NO_DAY, |d| d as u32))
        .collect();
    // Each group's created days and outflow days, as `day << 1 | is_outflow`, sorted.
    let mut run_start = vec![0usize; n_groups + 1];
    for (i, &g) in group.iter().enumerate().take(c.len) {
        run_start[g as usize + 1] += 1 + usize::from(closed_day[i] != NO_DAY);
    }
    for g in 0..n_groups {
        run_start[g + 1] += run_start[g];
    }
    let mut fill = run_start.clone();
    let mut entries = vec![0u64; run_start[n_groups]];
    for (i, &g) in group.iter().enumerate().take(c.len) {
        let g = g as usize;
        entries[fill[g]] = u64::from(created_day[i]) << 1;
        fill[g] += 1;
        if closed_day[i] != NO_DAY {
            entries[fill[g]] = u64::from(closed_day[i]) << 1 | 1;
            fill[g] += 1;
        }
    }
    drop(fill);
    // Per group: its cells (first days of the stretches, distinct: `cell_start` never
    // decreases with the day, so sorted days give sorted stretches) into `stretch`, and its
    // contacts per created day (`day << 32 | contacts`) over the front of its own run (each
    // entry adds at most one count, so the writes never pass the reads). In place: at 100k
    // groups, two lists per group were 200k allocations.
    let mut stretch = vec![0u32; entries.len()];
    let mut runs: Vec<(&mut [u64], &mut [u32])> = Vec::with_capacity(n_groups);
    let (mut rest, mut rest_stretch) = (entries.as_mut_slice(), stretch.as_mut_slice());
    for g in 0..n_groups {
        let len = run_start[g + 1] - run_start[g];
        let (run, tail) = rest.split_at_mut(len);
        let (cells, cells_tail) = rest_stretch.split_at_mut(len);
        runs.push((run, cells));
        (rest, rest_stretch) = (tail, cells_tail);
    }
    let lengths: Vec<(usize, usize)> = runs
        .into_par_iter()
        .map(|(run, cells)| {
            run.sort_unstable();
            let (mut n_cells, mut n_counts) = (0usize, 0usize);
            for k in 0..run.len() {
                let entry = run[k];
                let day = (entry >> 1) as u32;
                let start = cell_start[day as usize];
                if n_cells == 0 || cells[n_cells - 1] != start {
                    cells[n_cells] = start;
                    n_cells += 1;
                }
                if entry & 1 == 0 {
                    if n_counts > 0 && (run[n_counts - 1] >> 32) as u32 == day {
                        run[n_counts - 1] += 1;
                    } else {
                        run[n_counts] = u64::from(day) << 32 | 1;
                        n_counts += 1;
                    }
                }
            }
            (n_cells, n_counts)
        })
        .collect();
    let mut group_start = Vec::with_capacity(n_groups + 1);
    let mut cell_day = Vec::with_capacity(lengths.iter().map(|l| l.0).sum());
    let mut counts = DayCounts::with_capacity(n_groups, lengths.iter().map(|l| l.1).sum());
    for (g, &(n_cells, n_counts)) in lengths.iter().enumerate() {
        let from = run_start[g];
        group_start.push(cell_day.len());
        cell_day.extend_from_slice(&stretch[from..from + n_cells]);
        counts.push_group(
            entries[from..from + n_counts]
                .iter()
                .map(|&e| ((e >> 32) as u32, e & u64::from(u32::MAX))),
        );
    }
    group_start.push(cell_day.len());
    counts.finish();
    drop((entries, stretch));
    let cell_of = |g: usize, day: u32| -> u32 {
        let run = &cell_day[group_start[g]..group_start[g + 1]];
        let start = cell_start[day as usize];
        (group_start[g] + run.partition_point(|&d| d < start)) as u32
    };
    let created_cell: Vec<u32> = (0..c.len)
        .into_par_iter()
        .map(|i| cell_of(group[i] as usize, created_day[i]))
        .collect();
    let closed_cell: Vec<u32> = (0..c.len)
        .into_par_iter()
        .map(|i| match closed_day[i] {
            NO_DAY => u32::MAX,
            day => cell_of(group[i] as usize, day),
        })
        .collect();
    drop((created_day, closed_day));
    let n_cells = cell_day.len();
    // First touched by the workers, not by one thread.
    let mut states: Vec<ContactState> = (0..n_cells)
        .into_par_iter()
        .map(|_| ContactState::default())
        .collect();
    let mut values: Vec<CellValues> = (0..n_cells)
        .into_par_iter()
        .map(|_| CellValues::default())
        .collect();
    let per_part = n_cells.div_ceil(rayon::current_num_threads() * 4).max(1);
    // Each part's rows, in row order (a counting sort by part), so that a part reads only
    // its own rows: the contacts by created cell, the outflows by resolved cell.
    let created_rows = rows_by_part(&created_cell, per_part, n_cells);
    let closed_rows = rows_by_part(&closed_cell, per_part, n_cells);
    states
        .par_chunks_mut(per_part)
        .zip(values.par_chunks_mut(per_part))
        .enumerate()
        .for_each(|(part, (states, values))| {
            let first = part * per_part;
            for &i in created_rows.of(part) {
                let i = i as usize;
                let k = created_cell[i] as usize - first;
                states[k].fold(&mut values[k], &ctx.row(i));
            }
            for &i in closed_rows.of(part) {
                let i = i as usize;
                states[closed_cell[i] as usize - first]
                    .backlog
                    .close(c.created_at[i]);
            }
        });
    Cells {
        group_start,
        cell_day,
        states,
        values,
        counts,
        by_day: cell_start.iter().enumerate().all(|(d, &s)| s as usize == d),
    }
}

/// Row numbers grouped by part (`part_start[p]..part_start[p + 1]` of `rows`), each part's
/// in row order.
struct RowsByPart {
    part_start: Vec<usize>,
    rows: Vec<u32>,
}

impl RowsByPart {
    fn of(&self, part: usize) -> &[u32] {
        self.part_start
            .get(part..part + 2)
            .map_or(&[], |ends| &self.rows[ends[0]..ends[1]])
    }
}

/// The rows whose cell (`u32::MAX`: none) lies in each part of `per_part` cells.
fn rows_by_part(cell: &[u32], per_part: usize, n_cells: usize) -> RowsByPart {
    let n_parts = n_cells.div_ceil(per_part);
    let mut part_start = vec![0usize; n_parts + 1];
    for &k in cell {
        if (k as usize) < n_cells {
            part_start[k as usize / per_part + 1] += 1;
        }
    }
    for p in 0..n_parts {
        part_start[p + 1] += part_start[p];
    }
    let mut fill = part_start.clone();
    let mut rows = vec![0u32; part_start[n_parts]];
    for (i, &k) in cell.iter().enumerate() {
        if (k as usize) < n_cells {
            let part = k as usize / per_part;
            rows[fill[part]] = i as u32;
            fill[part] += 1;
        }
    }
    RowsByPart { part_start, rows }
}

/// Contacts per group and created day, group by group and by day: group `g`'s are
/// `start[g]..start[g + 1]`. Only days with contacts are stored.
#[derive(Clone)]
struct DayCounts {
    start: Vec<usize>,
    day: Vec<u32>,
    contacts: Vec<u64>,
}

impl DayCounts {
    fn with_capacity(n_groups: usize, n: usize) -> DayCounts {
        DayCounts {
            start: Vec::with_capacity(n_groups + 1),
            day: Vec::with_capacity(n),
            contacts: Vec::with_capacity(n),
        }
    }

    /// Appends the next group's (day, contacts), by day.
    fn push_group(&mut self, counts: impl IntoIterator<Item = (u32, u64)>) {
        self.start.push(self.day.len());
        for (day, n) in counts {
            self.day.push(day);
            self.contacts.push(n);
        }
    }

    /// Closes the last group.
    fn finish(&mut self) {
        self.start.push(self.day.len());
    }

    /// Group `g`'s days with contacts within `days`: (day, contacts).
    fn of(
        &self,
        g: usize,
        days: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (usize, u64)> + '_ {
        let run = self.start[g]..self.start[g + 1];
        let run_days = &self.day[run.clone()];
        let from = run.start + run_days.partition_point(|&d| (d as usize) < days.start);
        let to = run.start + run_days.partition_point(|&d| (d as usize) < days.end);
        (from..to).map(move |k| (self.day[k] as usize, self.contacts[k]))
    }
}

/// Stored cells, group by group: group `g`'s cells are `group_start[g]..group_start[g + 1]`,
/// by day. A cell covers the days from its `cell_day` to the next stretch's first day (one
/// day when `by_day`).
#[derive(Clone)]
struct Cells {
    group_start: Vec<usize>,
    cell_day: Vec<u32>,
    states: Vec<ContactState>,
    values: Vec<CellValues>,
    /// Each group's contacts per day (what peak and trough read, at any cell length).
    counts: DayCounts,
    /// Whether every cell is one day.
    by_day: bool,
}

impl Cells {
    /// The non-empty cells of dense day × group tables (`day * n_groups + group`). A cell
    /// with no contacts and no outflow holds the default state and no values.
    fn from_dense(
        mut states: Vec<ContactState>,
        mut values: Vec<CellValues>,
        n_groups: usize,
    ) -> Cells {
        let n_days = states.len().checked_div(n_groups).unwrap_or(0);
        let empty = ContactState::default();
        let mut cells = Cells {
            group_start: Vec::with_capacity(n_groups + 1),
            cell_day: Vec::new(),
            states: Vec::new(),
            values: Vec::new(),
            counts: DayCounts::with_capacity(n_groups, 0),
            by_day: true,
        };
        let mut day_counts = Vec::new();
        for g in 0..n_groups {
            cells.group_start.push(cells.cell_day.len());
            day_counts.clear();
            for d in 0..n_days {
                let k = d * n_groups + g;
                if states[k] != empty {
                    if states[k].volume.contacts > 0 {
                        day_counts.push((d as u32, states[k].volume.contacts));
                    }
                    cells.cell_day.push(d as u32);
                    cells.states.push(std::mem::take(&mut states[k]));
                    cells.values.push(std::mem::take(&mut values[k]));
                }
            }
            cells.counts.push_group(day_counts.iter().copied());
        }
        cells.group_start.push(cells.cell_day.len());
        cells.counts.finish();
        cells
    }
}

/// Dense per-day × group tables (`day * n_groups + group`): what partial states carry and
/// what merging them adds into.
pub struct DenseDaily {
    /// Contact states per day × group.
    pub states: Vec<ContactState>,
    /// Quantile inputs per day × group.
    pub values: Vec<CellValues>,
    /// Order and traffic totals per day.
    pub totals: Vec<DayTotals>,
    /// Number of groups.
    pub n_groups: usize,
    /// Business backlog flows per day × group × calendar (empty without calendars).
    pub business_flows: Vec<(i64, i128)>,
}

impl DenseDaily {
    /// Empty tables of `n_days` × `n_groups` cells and `n_calendars` business calendars.
    pub fn zeroed(n_days: usize, n_groups: usize, n_calendars: usize) -> DenseDaily {
        DenseDaily {
            states: vec![ContactState::default(); n_days * n_groups],
            values: vec![CellValues::default(); n_days * n_groups],
            totals: vec![DayTotals::default(); n_days],
            n_groups,
            business_flows: vec![(0, 0); n_days * n_groups * n_calendars],
        }
    }
}

/// Per-day × group states of the cells that hold contacts or backlog outflow, stored group
/// by group: with many groups almost every day × group cell is empty, and a dense table
/// would be first-touched and summed for nothing (at 100k groups over a month, 3.1M cells
/// of 700 bytes for 1M contacts).
pub struct Daily {
    /// Shared with the grouped view a total is merged from ([`Daily::merged_groups`]).
    cells: Arc<Cells>,
    /// For a total merged from a grouped view: its one group reads every stored group's
    /// cells, and these are the contacts per day over all of them.
    merged_counts: Option<DayCounts>,
    /// Order and traffic totals per day.
    pub totals: Vec<DayTotals>,
    /// Number of groups.
    pub n_groups: usize,
    /// Business backlog flows per day × group × calendar (`kpis::backlog::business_flows`;
    /// empty without calendars).
    pub business_flows: Vec<(i64, i128)>,
}

impl Daily {
    /// The stored cells of dense tables.
    pub fn from_dense(dense: DenseDaily) -> Daily {
        Daily {
            cells: Arc::new(Cells::from_dense(
                dense.states,
                dense.values,
                dense.n_groups,
            )),
            merged_counts: None,
            totals: dense.totals,
            n_groups: dense.n_groups,
            business_flows: dense.business_flows,
        }
    }

    /// Dense tables of the same cells, which must be one day each (built by
    /// [`build_daily`] without stretches, or from dense tables).
    pub fn into_dense(self) -> DenseDaily {
        debug_assert!(
            self.cells.by_day && self.merged_counts.is_none(),
            "cells longer than a day, or merged from groups, have no dense form"
        );
        let (n_days, n_groups) = (self.totals.len(), self.n_groups);
        let mut states = vec![ContactState::default(); n_days * n_groups];
        let mut values = vec![CellValues::default(); n_days * n_groups];
        let Cells {
            group_start,
            cell_day,
            states: cell_states,
            values: cell_values,
            ..
        } = Arc::try_unwrap(self.cells).unwrap_or_else(|shared| (*shared).clone());
        let mut cells = cell_day.into_iter().zip(cell_states).zip(cell_values);
        for g in 0..n_groups {
            for ((day, state), v) in cells.by_ref().take(group_start[g + 1] - group_start[g]) {
                let k = day as usize * n_groups + g;
                states[k] = state;
                values[k] = v;
            }
        }
        DenseDaily {
            states,
            values,
            totals: self.totals,
            n_groups,
            business_flows: self.business_flows,
        }
    }

    /// The stored cells of group `g` that begin within `days`, by day: (state, quantile
    /// inputs). `days` must begin and end where cells do (at stretch boundaries, see
    /// [`build_daily`]): a cell then lies wholly inside or wholly outside. Days without a
    /// cell had no contacts and no outflow.
    pub fn cells_of(
        &self,
        g: usize,
        days: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (&ContactState, &CellValues)> {
        let c = &*self.cells;
        // A merged total's one group is every stored group, group by group.
        let stored = match self.merged_counts {
            Some(_) => 0..c.group_start.len().saturating_sub(1),
            None => g..g + 1,
        };
        stored.flat_map(move |g| {
            let run = c.group_start[g]..c.group_start[g + 1];
            let run_days = &c.cell_day[run.clone()];
            let from = run.start + run_days.partition_point(|&d| (d as usize) < days.start);
            let to = run.start + run_days.partition_point(|&d| (d as usize) < days.end);
            (from..to).map(move |k| (&c.states[k], &c.values[k]))
        })
    }

    /// The same days as one group over all of this view's groups: the total view of a
    /// grouped one, sharing its cells (nothing is copied; the groups partition the
    /// contacts, so every count and sum is the groups' sum and every quantile list the
    /// groups' lists together). Sessions must not have been added yet.
    pub fn merged_groups(&self) -> Daily {
        let mut merged_counts = DayCounts::with_capacity(1, self.totals.len());
        merged_counts.push_group(
            self.day_contacts()
                .into_iter()
                .enumerate()
                .filter(|&(_, n)| n > 0)
                .map(|(d, n)| (d as u32, n)),
        );
        merged_counts.finish();
        Daily {
            cells: Arc::clone(&self.cells),
            merged_counts: Some(merged_counts),
            totals: self.totals.clone(),
            n_groups: 1,
            business_flows: merge_flow_groups(
                &self.business_flows,
                self.totals.len(),
                self.n_groups,
            ),
        }
    }

    /// Group `g`'s contacts on each day of `days` that has any: (day, contacts), by day.
    pub fn day_counts_of(
        &self,
        g: usize,
        days: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.merged_counts
            .as_ref()
            .unwrap_or(&self.cells.counts)
            .of(g, days)
    }

    /// Backlog inflow and outflow of group `g` over `days`.
    pub fn backlog_flow(&self, g: usize, days: std::ops::Range<usize>) -> BacklogCounters {
        let mut flow = BacklogCounters::default();
        for (state, _) in self.cells_of(g, days) {
            flow.add(&state.backlog);
        }
        flow
    }

    /// Contacts of each day over all groups.
    pub fn day_contacts(&self) -> Vec<u64> {
        let mut per_day = vec![0u64; self.totals.len()];
        let counts = self.merged_counts.as_ref().unwrap_or(&self.cells.counts);
        for (&d, &n) in counts.day.iter().zip(&counts.contacts) {
            per_day[d as usize] += n;
        }
        per_day
    }
}

/// Builds the daily states: contacts by (created day, group), backlog outflow by resolved
/// day, orders by day (sessions come with [`add_session_totals`]).
///
/// `stretches`, when given, holds for each grid day the first day of its stretch: the day
/// ranges a view ever sums (periods, baseline windows) begin and end on stretch boundaries,
/// so with many groups a cell may cover a whole stretch instead of one day (at 100k groups
/// over a month by month, 200k cells instead of 1M, each 700 bytes). Contacts per day stay
/// exact either way (`day_counts_of`). Partial states need one-day cells: `None`.
pub fn build_daily(
    ctx: &FoldContext,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
    data: &Joinable,
    stretches: Option<&[u32]>,
) -> Daily {
    let n_days = calendar.n_days();
    let n_cells = n_days * n_groups;
    let cells = match stretches {
        _ if n_cells <= ROW_ORDER_MAX_CELLS => {
            let (states, values) = fold_in_row_order(ctx, calendar, group, n_groups);
            Cells::from_dense(states, values, n_groups)
        }
        Some(cell_start) => fold_sparse(ctx, calendar, group, n_groups, cell_start),
        None => {
            let each_day: Vec<u32> = (0..n_days as u32).collect();
            fold_sparse(ctx, calendar, group, n_groups, &each_day)
        }
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
        cells: Arc::new(cells),
        merged_counts: None,
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

    /// Counts are exact; sums may differ in the last bit with the order of addition.
    fn assert_same_state(got: &ContactState, want: &ContactState, what: &str) {
        let counts = |s: &ContactState| {
            (
                s.volume.contacts,
                s.resolution.resolved,
                s.resolution.ai,
                s.quality.csat_count,
                s.backlog.opened,
                s.backlog.closed,
                s.recovery.recovered,
            )
        };
        assert_eq!(counts(got), counts(want), "{what}");
        assert!(
            (got.quality.csat_sum - want.quality.csat_sum).abs() < 1e-9,
            "{what}"
        );
    }

    /// The same quantile inputs, in any order.
    fn assert_same_values(got: &CellValues, want: &CellValues, what: &str) {
        for which in Quantiled::ALL {
            assert_eq!(
                sorted(got.sample(which)),
                sorted(want.sample(which)),
                "{what}"
            );
        }
    }

    #[test]
    fn every_fold_path_gives_the_same_daily_states() {
        // The fold runs in row order for small grids and group by group for large ones (a
        // threshold on days × groups), with cells of one day or of longer stretches; all
        // must give every range of days the same state and the same quantile inputs. 600
        // contacts over ~25 days in 3 groups, with responses, resolutions, handlers, CSAT
        // and repeat customers.
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
        let each_day: Vec<u32> = (0..calendar.n_days() as u32).collect();
        // The group-by-group fold stores only non-empty cells; spread back to dense tables.
        let DenseDaily {
            states: cell_states,
            values: cell_values,
            ..
        } = Daily {
            cells: Arc::new(fold_sparse(&ctx, &calendar, &group, n_groups, &each_day)),
            merged_counts: None,
            totals: vec![DayTotals::default(); calendar.n_days()],
            n_groups,
            business_flows: Vec::new(),
        }
        .into_dense();
        assert_eq!(row_states.len(), calendar.n_days() * n_groups);
        let total: u64 = row_states.iter().map(|s| s.volume.contacts).sum();
        assert_eq!(total, n as u64);
        for (k, (a, b)) in row_states.iter().zip(&cell_states).enumerate() {
            assert_same_state(b, a, &format!("cell {k}"));
        }
        for (k, (a, b)) in row_values.iter().zip(&cell_values).enumerate() {
            assert_same_values(b, a, &format!("cell {k}"));
        }
        // Cells of several days (stretches starting on days 0, 2, 9, 14, 21, …): summed over
        // any range of whole stretches, they give the one-day cells' sums, and each group's
        // contacts per day stay exact.
        let n_days = calendar.n_days();
        let boundaries: Vec<usize> = [0, 2, 9]
            .into_iter()
            .chain((14..n_days).step_by(7))
            .chain([n_days])
            .collect();
        let stretches: Vec<u32> = (0..n_days)
            .map(|d| boundaries[boundaries.partition_point(|&b| b <= d) - 1] as u32)
            .collect();
        let long = Daily {
            cells: Arc::new(fold_sparse(&ctx, &calendar, &group, n_groups, &stretches)),
            merged_counts: None,
            totals: vec![DayTotals::default(); n_days],
            n_groups,
            business_flows: Vec::new(),
        };
        assert!(!long.cells.by_day);
        assert!(long.cells.states.len() < cell_states.len());
        assert_eq!(long.day_contacts(), {
            let mut per_day = vec![0u64; n_days];
            for (k, s) in row_states.iter().enumerate() {
                per_day[k / n_groups] += s.volume.contacts;
            }
            per_day
        });
        for g in 0..n_groups {
            for (a, &from) in boundaries.iter().enumerate() {
                for &to in &boundaries[a + 1..] {
                    let mut want = ContactState::default();
                    let mut want_values = CellValues::default();
                    let mut want_counts = Vec::new();
                    for d in from..to {
                        let k = d * n_groups + g;
                        want.add(&row_states[k]);
                        want_values.extend(&row_values[k]);
                        if row_states[k].volume.contacts > 0 {
                            want_counts.push((d, row_states[k].volume.contacts));
                        }
                    }
                    let mut got = ContactState::default();
                    let mut got_values = CellValues::default();
                    for (state, values) in long.cells_of(g, from..to) {
                        got.add(state);
                        got_values.extend(values);
                    }
                    let what = format!("group {g}, days {from}..{to}");
                    assert_same_state(&got, &want, &what);
                    assert_same_values(&got_values, &want_values, &what);
                    assert_eq!(
                        long.day_counts_of(g, from..to).collect::<Vec<_>>(),
                        want_counts,
                        "{what}"
                    );
                }
            }
        }
    }
}
