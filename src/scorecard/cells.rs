//! The KPIs of every period × group cell: the daily states of its days summed (and of its
//! baseline window's days), then every active catalogue entry evaluated on them.

use rayon::prelude::*;

use crate::aggregate::daily::Daily;
use crate::kpis::backlog::{backlog_at_period_ends, business_backlog_at_period_ends};
use crate::kpis::customers::{PeriodCustomerState, RepurchaseState};
use crate::kpis::sample::{CellValues, DayTotals};
use crate::kpis::{Cell, CellSamples, ContactState, Measure, Unit, CATALOG};
use crate::time::day_in_grid;

use super::view::Grid;

/// Every KPI of one period × group cell: the current measure and the baseline window's,
/// indexed like CATALOG (inactive KPIs hold defaults).
pub(super) struct CellResult {
    pub(super) current: Vec<Measure>,
    pub(super) baseline: Vec<Measure>,
}

/// The rows and states a cell is evaluated from.
pub(super) struct CellInputs<'a> {
    pub(super) state: ContactState,
    /// Scratch lists the quantile inputs are gathered into, on demand.
    pub(super) values: &'a mut CellValues,
    /// The quantile inputs of the cell's days.
    pub(super) parts: Vec<&'a CellValues>,
    pub(super) totals: DayTotals,
    pub(super) period_contacts: u64,
    pub(super) customers: &'a PeriodCustomerState,
    pub(super) repurchase: &'a RepurchaseState,
    pub(super) backlog: (u64, i128),
    /// Open contacts and their business ages at the period end (none for baselines).
    pub(super) business_backlog: (u64, i128),
    pub(super) peak_trough: Option<(u64, u64)>,
    pub(super) days: f64,
}

impl CellInputs<'_> {
    pub(super) fn evaluate(
        &mut self,
        active: &[bool],
        baseline: Option<&ContactState>,
        lifespan_days: f64,
        (z, confidence): (f64, f64),
    ) -> Vec<Measure> {
        let mut cell = Cell {
            state: &self.state,
            values: CellSamples::new(self.values, &self.parts, z),
            z,
            confidence,
            totals: &self.totals,
            period_contacts: self.period_contacts,
            customers: self.customers,
            repurchase: self.repurchase,
            baseline,
            backlog_open: self.backlog.0,
            backlog_age_micros: self.backlog.1,
            business_backlog_open: self.business_backlog.0,
            business_backlog_age_micros: self.business_backlog.1,
            daily_peak_trough: self.peak_trough,
            period_days: self.days,
            lifespan_days,
        };
        CATALOG
            .iter()
            .zip(active)
            .map(|(kpi, &on)| {
                if on && kpi.unit == Unit::Rate {
                    (kpi.compute)(&mut cell).with_proportion_interval(z)
                } else if on {
                    (kpi.compute)(&mut cell)
                } else {
                    Measure::default()
                }
            })
            .collect()
    }
}

/// The daily states of some days of one group, summed.
pub(super) struct DaysSum<'a> {
    pub(super) state: ContactState,
    pub(super) totals: DayTotals,
    /// Contacts of the days over all groups.
    pub(super) all_groups: u64,
    /// (max, min) daily contacts over the observed days.
    pub(super) peak_trough: Option<(u64, u64)>,
    /// The days' quantile inputs (gathered only when a KPI reads them).
    pub(super) parts: Vec<&'a CellValues>,
}

/// Sums the daily states of `days` for group `g`; `day_contacts` holds each day's contacts
/// over all groups (summed once per view, so a cell costs its days, not its days × groups).
pub(super) fn sum_days<'a>(
    daily: &'a Daily,
    day_contacts: &[u64],
    days: impl Iterator<Item = usize>,
    g: usize,
    observed: &std::ops::RangeInclusive<usize>,
) -> DaysSum<'a> {
    let n_groups = daily.n_groups;
    let days: Vec<usize> = days.collect();
    let mut state = ContactState::default();
    let parts = days
        .iter()
        .map(|&d| &daily.values[d * n_groups + g])
        .collect();
    let mut totals = DayTotals::default();
    let mut all_groups = 0u64;
    let mut peak_trough: Option<(u64, u64)> = None;
    for d in days {
        let k = d * n_groups + g;
        state.add(&daily.states[k]);
        totals.add(&daily.totals[d]);
        all_groups += day_contacts[d];
        if observed.contains(&d) {
            let n = daily.states[k].volume.contacts;
            peak_trough = Some(match peak_trough {
                None => (n, n),
                Some((max, min)) => (max.max(n), min.min(n)),
            });
        }
    }
    DaysSum {
        state,
        totals,
        all_groups,
        peak_trough,
        parts,
    }
}

/// Every period × group cell of the grid, in output order (periods, then groups).
pub(super) fn period_group_cells(n_periods: usize, n_groups: usize) -> Vec<(usize, usize)> {
    (0..n_periods)
        .flat_map(|p| (0..n_groups).map(move |g| (p, g)))
        .collect()
}

/// Which KPIs a cell evaluation computes: `active` for the period, `baseline` for its
/// baseline window (only those the bands and rules read there).
pub(super) struct CellKpis<'a> {
    pub(super) active: &'a [bool],
    pub(super) baseline: &'a [bool],
    pub(super) lifespan_days: f64,
    /// The normal quantile of the configured confidence (SPEC §10).
    pub(super) z: f64,
    /// The configured confidence.
    pub(super) confidence: f64,
}

/// Evaluates every cell: the active KPIs of the period and the baseline KPIs of its
/// baseline window.
pub(super) fn evaluate_cells(
    grid: &Grid,
    cells: &[(usize, usize)],
    n_groups: usize,
    kpis: &CellKpis,
) -> Vec<CellResult> {
    let calendar = &grid.calendar;
    let daily = &grid.daily;
    let backlog = backlog_at_period_ends(&daily.states, daily.n_groups, calendar);
    let business_backlog = business_backlog_at_period_ends(
        &daily.business_flows,
        daily.n_groups,
        &grid.business_calendars,
        calendar,
    );
    let observed = day_in_grid(calendar, grid.first)..=day_in_grid(calendar, grid.last);
    let day_contacts: Vec<u64> = daily
        .states
        .chunks(n_groups.max(1))
        .map(|day| day.iter().map(|s| s.volume.contacts).sum())
        .collect();
    let empty_customers = PeriodCustomerState::default();
    let empty_repurchase = RepurchaseState::default();
    let (active, baseline_active, lifespan) = (kpis.active, kpis.baseline, kpis.lifespan_days);
    let (z, confidence) = (kpis.z, kpis.confidence);
    // Each worker refills two scratch lists per cell (the period's and the baseline's
    // quantile inputs) instead of allocating them: a baseline window copies a month of
    // values for every period.
    cells
        .par_iter()
        .map_init(
            || (CellValues::default(), CellValues::default()),
            |(period_values, baseline_values), &(p, g)| {
                let days = calendar.period_days(p);
                let DaysSum {
                    state,
                    totals,
                    all_groups: period_contacts,
                    peak_trough,
                    parts,
                } = sum_days(daily, &day_contacts, days.clone(), g, &observed);
                let window = grid.baseline_windows[p].days.clone();
                let DaysSum {
                    state: b_state,
                    totals: b_totals,
                    all_groups: b_contacts,
                    peak_trough: b_peak,
                    parts: b_parts,
                } = sum_days(daily, &day_contacts, window.clone(), g, &observed);
                let mut base = CellInputs {
                    state: b_state,
                    values: baseline_values,
                    parts: b_parts,
                    totals: b_totals,
                    period_contacts: b_contacts,
                    customers: &empty_customers,
                    repurchase: &empty_repurchase,
                    backlog: grid.baseline_backlog[p * n_groups + g],
                    business_backlog: (0, 0),
                    peak_trough: b_peak,
                    days: window.len() as f64,
                };
                let baseline_measures = if window.is_empty() {
                    vec![Measure::default(); CATALOG.len()]
                } else {
                    // The window's own baseline is the equally long window before it, so
                    // KPIs measured against a baseline have one too.
                    let before = window.start.saturating_sub(window.len())..window.start;
                    let mut before_state = ContactState::default();
                    for d in before.clone() {
                        before_state.add(&daily.states[d * n_groups + g]);
                    }
                    let before_state = (!before.is_empty()).then_some(&before_state);
                    base.evaluate(baseline_active, before_state, lifespan, (z, confidence))
                };
                let mut current = CellInputs {
                    state,
                    values: period_values,
                    parts,
                    totals,
                    period_contacts,
                    customers: &grid.per_period[p],
                    repurchase: &grid.repurchase[p * n_groups + g],
                    backlog: backlog[p * n_groups + g],
                    business_backlog: business_backlog[p * n_groups + g],
                    peak_trough,
                    days: days.len() as f64,
                };
                let baseline_state = (!window.is_empty()).then_some(&base.state);
                CellResult {
                    current: current.evaluate(active, baseline_state, lifespan, (z, confidence)),
                    baseline: baseline_measures,
                }
            },
        )
        .collect()
}
