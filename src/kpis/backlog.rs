//! Backlog: the contacts still open at a period end (a stock, read from inflow and outflow
//! per day, or from the rows over a baseline window).

use super::prelude::*;
use rayon::prelude::*;

use super::sample::{additive_state, CellValues};
use super::{mean, total, KpiDef, Need, Row};
use crate::business::{BusinessFacts, BusinessTime};
use crate::ingest::{Contacts, NULL_TS};
use crate::time::{day_in_grid, Calendar};

const MICROS_PER_HOUR: f64 = crate::time::MICROS_PER_HOUR as f64;

additive_state! {
    /// Backlog inflow and outflow of one day × group cell.
    BacklogCounters {
        /// Contacts created this day (backlog inflow).
        opened: u64,
        /// Sum of their created_at (µs).
        opened_created_sum: i128,
        /// Contacts resolved this day (backlog outflow; bucketed by resolved day).
        closed: u64,
        /// Sum of the created_at (µs) of those.
        closed_created_sum: i128,
    }
}

impl BacklogCounters {
    /// Books one contact's inflow on its created day.
    #[inline]
    pub fn fold(&mut self, _values: &mut CellValues, row: &Row) {
        self.opened += 1;
        self.opened_created_sum += i128::from(row.created);
    }

    /// Books a contact's outflow on the day it is resolved (SPEC §8.16).
    #[inline]
    pub fn close(&mut self, created: i64) {
        self.closed += 1;
        self.closed_created_sum += i128::from(created);
    }
}

const RESOLVED: Need = Need::Column("resolved_at");

/// Backlog KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "backlog_open",
        name: "Open backlog",
        definition: "contacts with created_at < period end and resolved_at null or >= period end",
        unit: Unit::Count,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Backlog,
        display: Display::OTHER,
        band: None,
        source: "seed 001",
        compute: |c| total(c.backlog_open as f64),
    },
    KpiDef {
        id: "backlog_age_hours",
        name: "Backlog age",
        definition: "mean age at period end of the open contacts, hours",
        unit: Unit::Hours,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Backlog,
        display: Display::OTHER,
        band: Some(Band::new(
            Edges::LowerIsBetter {
                healthy_max: 4.0,
                watch_max: 8.0,
            },
            "support operations",
        )),
        source: "seed 001",
        compute: |c| {
            mean(
                c.backlog_age_micros as f64 / MICROS_PER_HOUR,
                c.backlog_open,
            )
        },
    },
    KpiDef {
        id: "backlog_age_business_hours",
        name: "Backlog age, business hours",
        definition:
            "mean business age B(created_at, E) at period end E of the open contacts, hours",
        unit: Unit::Hours,
        direction: LowerIsBetter,
        needs: &[RESOLVED, Need::Calendars],
        reads: Backlog,
        display: Display::service_levels(7, "backlog age business"),
        band: None,
        source: "SPEC §9.2",
        compute: |c| {
            mean(
                c.business_backlog_age_micros as f64 / MICROS_PER_HOUR,
                c.business_backlog_open,
            )
        },
    },
];

/// (open count, sum of ages in µs) at each period end, per period × group: running sums of
/// inflow minus outflow (a stock, not a sum over the period's days). `period_flow(p, g)`
/// is group `g`'s inflow and outflow over the days of period `p`.
pub fn backlog_at_period_ends(
    n_groups: usize,
    calendar: &Calendar,
    period_flow: impl Fn(usize, usize) -> BacklogCounters,
) -> Vec<(u64, i128)> {
    let n_periods = calendar.n_periods();
    let mut out = vec![(0u64, 0i128); n_periods * n_groups];
    for g in 0..n_groups {
        let mut open: i64 = 0;
        let mut created_sum: i128 = 0;
        for p in 0..n_periods {
            let s = period_flow(p, g);
            open += s.opened as i64 - s.closed as i64;
            created_sum += s.opened_created_sum - s.closed_created_sum;
            let end = i128::from(calendar.period_end(p));
            let open = open.max(0);
            out[p * n_groups + g] = (open as u64, end * i128::from(open) - created_sum);
        }
    }
    out
}

/// The backlog of a baseline window [start, end): contacts of the group created in it and
/// still open at its end, with the sum of their ages at the end. One window per period
/// (`windows[p]`, non-decreasing in both ends), evaluated from the rows (a stock cannot be
/// read off summed days).
pub fn backlog_in_windows(
    contacts: &Contacts,
    group: &[u32],
    n_groups: usize,
    windows: &[(i64, i64)],
) -> Vec<(u64, i128)> {
    let n = windows.len();
    let empty = || vec![(0u64, 0i128); n * n_groups];
    let Some(resolved) = &contacts.resolved_at else {
        return empty();
    };
    (0..contacts.len)
        .into_par_iter()
        .fold(empty, |mut acc, i| {
            let created = contacts.created_at[i];
            let r = resolved[i];
            // Windows run forward in time (both ends non-decreasing): start at the first
            // one ending after this contact and stop at the first starting after it.
            let first = windows.partition_point(|&(_, end)| end <= created);
            for (p, &(start, end)) in windows.iter().enumerate().skip(first) {
                if start > created {
                    break;
                }
                if r == NULL_TS || r >= end {
                    let slot = &mut acc[p * n_groups + group[i] as usize];
                    slot.0 += 1;
                    slot.1 += i128::from(end - created);
                }
            }
            acc
        })
        .reduce(empty, |mut a, b| {
            for (x, y) in a.iter_mut().zip(&b) {
                x.0 += y.0;
                x.1 += y.1;
            }
            a
        })
}

/// Business flows (per day × group × calendar, see [`business_flows`]) summed over the
/// groups: per day × calendar, the flows of a view without groups.
pub fn merge_flow_groups(
    flows: &[(i64, i128)],
    n_days: usize,
    n_groups: usize,
) -> Vec<(i64, i128)> {
    let per_day = flows.len().checked_div(n_days).unwrap_or(0);
    let n_calendars = per_day.checked_div(n_groups).unwrap_or(0);
    let mut merged = vec![(0i64, 0i128); n_days * n_calendars];
    for (k, &(count, until)) in flows.iter().enumerate() {
        let into = &mut merged[k / per_day * n_calendars + k % n_calendars];
        into.0 += count;
        into.1 += until;
    }
    merged
}

/// Business backlog flows (SPEC §9.2): per day × group × calendar, the change in open
/// contacts and in the sum of their `until(created_at)` (business time before their
/// creation): +1 on the created day, −1 on the resolved day (SPEC §8.16), in the contact's
/// calendar. Days add like the other daily states, so slices merge; the business age of
/// the open backlog at a period end E is then Σ_calendars open · until(E) − Σ until(created).
/// Empty without calendars.
pub fn business_flows(
    contacts: &Contacts,
    business: &BusinessFacts,
    calendar: &Calendar,
    group: &[u32],
    n_groups: usize,
) -> Vec<(i64, i128)> {
    let n_calendars = business.calendars.len();
    let Some(of_row) = contacts.calendar.as_ref().filter(|_| n_calendars > 0) else {
        return Vec::new();
    };
    let n_cells = calendar.n_days() * n_groups * n_calendars;
    let resolved = contacts.resolved_at.as_deref();
    let add_rows = |flows: &mut [(i64, i128)], rows: std::ops::Range<usize>| {
        for i in rows {
            let c = of_row[i] as usize;
            if c >= n_calendars {
                continue;
            }
            let created = contacts.created_at[i];
            let until = i128::from(business.created_until[i]);
            let g = group[i] as usize;
            let opened = (day_in_grid(calendar, created) * n_groups + g) * n_calendars + c;
            flows[opened].0 += 1;
            flows[opened].1 += until;
            let r = resolved.map_or(NULL_TS, |r| r[i]);
            if r == NULL_TS {
                continue;
            }
            if let Some(d) = calendar.day_of(r).filter(|&d| d < calendar.n_days()) {
                let closed = (d * n_groups + g) * n_calendars + c;
                flows[closed].0 -= 1;
                flows[closed].1 -= until;
            }
        }
    };
    // Integer sums: any split of the rows gives the same flows. Each thread's share gets
    // its own table when the tables are small; a large grid (many groups) is one pass.
    let threads = rayon::current_num_threads().max(1);
    if threads == 1 || n_cells > FLOW_TABLE_MAX_CELLS || contacts.len < FLOW_MIN_ROWS_PER_THREAD {
        let mut flows = vec![(0i64, 0i128); n_cells];
        add_rows(&mut flows, 0..contacts.len);
        return flows;
    }
    let share = contacts.len.div_ceil(threads);
    (0..threads)
        .into_par_iter()
        .map(|t| {
            let mut flows = vec![(0i64, 0i128); n_cells];
            add_rows(&mut flows, t * share..((t + 1) * share).min(contacts.len));
            flows
        })
        .reduce_with(|mut a, b| {
            for (x, y) in a.iter_mut().zip(&b) {
                x.0 += y.0;
                x.1 += y.1;
            }
            a
        })
        .unwrap_or_else(|| vec![(0i64, 0i128); n_cells])
}

/// Above this many day × group × calendar cells, the business flows are one pass (each
/// thread's table would cost more than it saves).
const FLOW_TABLE_MAX_CELLS: usize = 1 << 20;
/// Below this many contacts per thread, one pass.
const FLOW_MIN_ROWS_PER_THREAD: usize = 1 << 16;

/// (open count, sum of business ages in µs) at each period end, per period × group, from
/// the business flows (see [`business_flows`]) and each calendar's business time.
pub fn business_backlog_at_period_ends(
    flows: &[(i64, i128)],
    n_groups: usize,
    calendars: &[BusinessTime],
    calendar: &Calendar,
) -> Vec<(u64, i128)> {
    let n_periods = calendar.n_periods();
    let n_calendars = calendars.len();
    let mut out = vec![(0u64, 0i128); n_periods * n_groups];
    if n_calendars == 0 || flows.len() != calendar.n_days() * n_groups * n_calendars {
        return out;
    }
    let mut open = vec![0i64; n_groups * n_calendars];
    let mut until_sum = vec![0i128; n_groups];
    for p in 0..n_periods {
        for d in calendar.period_days(p) {
            for g in 0..n_groups {
                for c in 0..n_calendars {
                    let (count, until) = flows[(d * n_groups + g) * n_calendars + c];
                    open[g * n_calendars + c] += count;
                    until_sum[g] += until;
                }
            }
        }
        let end = calendar.period_end(p);
        for g in 0..n_groups {
            let mut count = 0u64;
            let mut ages = -until_sum[g];
            for (c, bt) in calendars.iter().enumerate() {
                let n = open[g * n_calendars + c].max(0);
                count += n as u64;
                ages += i128::from(n) * i128::from(bt.until(end));
            }
            out[p * n_groups + g] = (count, ages);
        }
    }
    out
}
