//! The KPIs of every period × group cell: the daily states of its days summed (and of its
//! baseline window's days), then every active catalogue entry evaluated on them.

use rayon::prelude::*;

use crate::aggregate::daily::Daily;
use crate::kpis::backlog::{backlog_at_period_ends, business_backlog_at_period_ends};
use crate::kpis::customers::{PeriodCustomerState, RepurchaseState};
use crate::kpis::sample::{CellValues, DayTotals};
use crate::kpis::{Cell, CellSamples, ContactState, Measure, Unit, CATALOG};
use crate::time::day_in_grid;

use super::view::{window_before, Grid};

/// Measures of some catalogue KPIs for every cell: each cell's side by side, in catalogue
/// order (a measure per catalogue entry per cell was 13 KB of mostly empty measures per
/// cell, 1.4 GB of fresh memory at 100k groups).
struct MeasureTable {
    /// The catalogue indices of the KPIs held, ascending.
    kpis: Vec<usize>,
    /// Each catalogue KPI's place among a cell's measures, if held.
    slot: Vec<Option<usize>>,
    /// Measures per cell (at least 1, so every cell has a chunk).
    stride: usize,
    measures: Vec<Measure>,
}

impl MeasureTable {
    /// Empty measures of the KPIs switched `on`, for `n_cells` cells.
    fn new(on: &[bool], n_cells: usize) -> MeasureTable {
        let kpis: Vec<usize> = (0..CATALOG.len()).filter(|&k| on[k]).collect();
        let mut slot = vec![None; CATALOG.len()];
        for (s, &k) in kpis.iter().enumerate() {
            slot[k] = Some(s);
        }
        let stride = kpis.len().max(1);
        MeasureTable {
            kpis,
            slot,
            stride,
            // Filled by the workers: first touched in parallel (at 100k groups, 150 MB).
            measures: (0..n_cells * stride)
                .into_par_iter()
                .map(|_| Measure::EMPTY)
                .collect(),
        }
    }

    fn get(&self, cell: usize, k: usize) -> &Measure {
        self.slot[k].map_or(&Measure::EMPTY, |s| &self.measures[cell * self.stride + s])
    }
}

/// The measures of every period × group cell, of the KPIs computed only: the active ones
/// over the period and those read over its baseline window.
pub(super) struct CellResults {
    current: MeasureTable,
    baseline: MeasureTable,
}

impl CellResults {
    /// No cells (a view without data).
    pub(super) fn none() -> CellResults {
        let none = vec![false; CATALOG.len()];
        CellResults {
            current: MeasureTable::new(&none, 0),
            baseline: MeasureTable::new(&none, 0),
        }
    }

    /// KPI `k` of cell `cell` (index into the cells in output order); empty if not computed.
    pub(super) fn current(&self, cell: usize, k: usize) -> &Measure {
        self.current.get(cell, k)
    }

    /// KPI `k` over the baseline window of cell `cell`; empty if not computed there.
    pub(super) fn baseline(&self, cell: usize, k: usize) -> &Measure {
        self.baseline.get(cell, k)
    }
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
    /// Computes the catalogue KPIs `kpis` (indices, ascending) into `out`.
    pub(super) fn evaluate_into(
        &mut self,
        kpis: &[usize],
        baseline: Option<&ContactState>,
        lifespan_days: f64,
        (z, confidence): (f64, f64),
        out: &mut [Measure],
    ) {
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
        for (slot, &k) in out.iter_mut().zip(kpis) {
            let kpi = CATALOG[k];
            let measure = (kpi.compute)(&mut cell);
            *slot = if kpi.unit == Unit::Rate {
                measure.with_proportion_interval(z)
            } else {
                measure
            };
        }
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
    days: std::ops::Range<usize>,
    g: usize,
    observed: &std::ops::RangeInclusive<usize>,
) -> DaysSum<'a> {
    let mut state = ContactState::default();
    let mut parts = Vec::new();
    for (cell_state, values) in daily.cells_of(g, days.clone()) {
        state.add(cell_state);
        parts.push(values);
    }
    let mut peak_trough: Option<(u64, u64)> = None;
    let mut observed_cells = 0;
    for (d, n) in daily.day_counts_of(g, days.clone()) {
        if observed.contains(&d) {
            observed_cells += 1;
            peak_trough = Some(match peak_trough {
                None => (n, n),
                Some((max, min)) => (max.max(n), min.min(n)),
            });
        }
    }
    let mut totals = DayTotals::default();
    let mut all_groups = 0u64;
    let mut observed_days = 0;
    for d in days {
        totals.add(&daily.totals[d]);
        all_groups += day_contacts[d];
        observed_days += usize::from(observed.contains(&d));
    }
    // An observed day without contacts in this group counts as 0.
    if observed_cells < observed_days {
        peak_trough = Some(peak_trough.map_or((0, 0), |(max, _)| (max, 0)));
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
) -> CellResults {
    let calendar = &grid.calendar;
    let daily = &grid.daily;
    let backlog = backlog_at_period_ends(daily.n_groups, calendar, |p, g| {
        daily.backlog_flow(g, calendar.period_days(p))
    });
    let business_backlog = business_backlog_at_period_ends(
        &daily.business_flows,
        daily.n_groups,
        &grid.business_calendars,
        calendar,
    );
    let observed = day_in_grid(calendar, grid.first)..=day_in_grid(calendar, grid.last);
    let day_contacts = daily.day_contacts();
    let empty_customers = PeriodCustomerState::default();
    let empty_repurchase = RepurchaseState::default();
    let lifespan = kpis.lifespan_days;
    let (z, confidence) = (kpis.z, kpis.confidence);
    let mut current = MeasureTable::new(kpis.active, cells.len());
    let mut baseline = MeasureTable::new(kpis.baseline, cells.len());
    let (current_kpis, baseline_kpis) = (&current.kpis, &baseline.kpis);
    // Each worker refills two scratch lists per cell (the period's and the baseline's
    // quantile inputs) instead of allocating them: a baseline window copies a month of
    // values for every period.
    current
        .measures
        .par_chunks_mut(current.stride)
        .zip(baseline.measures.par_chunks_mut(baseline.stride))
        .zip(cells.par_iter())
        .for_each_init(
            || (CellValues::default(), CellValues::default()),
            |(period_values, baseline_values), ((current_out, baseline_out), &(p, g))| {
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
                // An empty window leaves the baseline measures empty.
                if !window.is_empty() {
                    // The window's own baseline is the equally long window before it, so
                    // KPIs measured against a baseline have one too.
                    let before = window_before(&window);
                    let mut before_state = ContactState::default();
                    for (state, _) in daily.cells_of(g, before.clone()) {
                        before_state.add(state);
                    }
                    let before_state = (!before.is_empty()).then_some(&before_state);
                    base.evaluate_into(
                        baseline_kpis,
                        before_state,
                        lifespan,
                        (z, confidence),
                        baseline_out,
                    );
                }
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
                current.evaluate_into(
                    current_kpis,
                    baseline_state,
                    lifespan,
                    (z, confidence),
                    current_out,
                );
            },
        );
    CellResults { current, baseline }
}
