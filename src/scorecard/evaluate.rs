//! Evaluating a view: every KPI of every period × group cell with its baseline, then
//! bands and diagnostics (`finish`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;

use crate::aggregate::daily::{add_session_totals, backlog_at_period_ends, day_in_grid, Daily};
use crate::aggregate::state::{
    CellValues, ContactState, DayTotals, PeriodCustomerState, RepurchaseState,
};
use crate::catalog::{Cell, CellSamples, KpiDef, Measure, Need, CATALOG};
use crate::diagnostics::fire;
use crate::diagnostics::RuleKind;
use crate::error::Result;
use crate::ingest::{Event, SessionTime, Sessions, TableAudit, TableInput};
use crate::limits::{self, ViewShape};
use crate::time::Calendar;
use crate::trace::PhaseTimer;

use super::options::{Options, Settings};
use super::output::{Output, Scorecard};
use super::reads::{baseline_reads, computed_kpis};
use super::view::ViewState;
use crate::aggregate::breakdown::Breakdown;
use crate::diagnostics::{hotspots, prepare_rules, Facts, Finding, When};

pub(super) fn skip_reason(
    kpi: &KpiDef,
    contacts: &BTreeSet<String>,
    has_sessions: bool,
    grouped: bool,
    has_cost: bool,
) -> Option<String> {
    let missing: Vec<String> = kpi
        .needs
        .iter()
        .filter(|need| match need {
            Need::Column(c) => !contacts.contains(*c),
            Need::AnyColumn(cs) => !cs.iter().any(|c| contacts.contains(*c)),
            Need::Sessions => !has_sessions,
            Need::GroupBy => !grouped,
            Need::Cost => !has_cost,
        })
        .map(Need::describe)
        .collect();
    (!missing.is_empty()).then(|| format!("needs {}", missing.join(" and ")))
}

/// Every KPI of one period × group cell: the current value and the baseline value, indexed
/// like CATALOG (inactive KPIs hold defaults).
pub(super) struct CellResult {
    pub(super) current: Vec<Measure>,
    pub(super) baseline: Vec<Option<f64>>,
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
    pub(super) peak_trough: Option<(u64, u64)>,
    pub(super) days: f64,
}

impl CellInputs<'_> {
    pub(super) fn evaluate(
        &mut self,
        active: &[bool],
        baseline: Option<&ContactState>,
        lifespan_days: f64,
    ) -> Vec<Measure> {
        let mut cell = Cell {
            state: &self.state,
            values: CellSamples::new(self.values, &self.parts),
            totals: &self.totals,
            period_contacts: self.period_contacts,
            customers: self.customers,
            repurchase: self.repurchase,
            baseline,
            backlog_open: self.backlog.0,
            backlog_age_micros: self.backlog.1,
            daily_peak_trough: self.peak_trough,
            period_days: self.days,
            lifespan_days,
        };
        CATALOG
            .iter()
            .zip(active)
            .map(|(kpi, &on)| {
                if on {
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
            let n = daily.states[k].contacts;
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

/// Evaluates a view: adds sessions, then every KPI of every period × group with its
/// baseline, the bands and the diagnostics.
pub(crate) fn finish(
    view: ViewState,
    options: &Options,
    settings: &Settings,
    sessions: Option<(&TableInput, &Sessions)>,
    events: &[Event],
) -> Result<Scorecard> {
    let config = &settings.config;
    let rules = prepare_rules(&config.rules)?;
    let mut timer = PhaseTimer::from_env("evaluate");
    let n_groups = view.n_groups;
    let grouped = !options.group_by.is_empty();
    let mut skipped = Vec::new();
    // Computed: the shown KPIs and those the rules read; a KPI left out for missing inputs
    // is reported only when it was asked for.
    let computed = computed_kpis(&settings.shown, &rules);
    let mut active = vec![false; CATALOG.len()];
    for (k, kpi) in CATALOG.iter().enumerate() {
        if !computed[k] {
            continue;
        }
        match skip_reason(
            kpi,
            &view.contact_columns,
            sessions.is_some(),
            grouped,
            view.has_cost,
        ) {
            Some(reason) if settings.shown[k] => skipped.push((kpi.id.to_owned(), reason)),
            Some(_) => {}
            None => active[k] = true,
        }
    }
    let shown: Vec<bool> = active
        .iter()
        .zip(&settings.shown)
        .map(|(&on, &asked)| on && asked)
        .collect();
    let output = Output {
        tz: settings.tz,
        group_keys: &view.group_keys,
    };
    let Some(mut grid) = view.grid else {
        // No contacts and no orders: no periods, empty tables, no session counted.
        let mut row_audit = view.audits;
        if let Some((table, sessions)) = sessions {
            audit_sessions_outside(&mut row_audit, table, sessions, sessions.count.len());
        }
        let calendar = Calendar::covering(settings.tz, settings.kind, 0, 0);
        return Ok(Scorecard {
            table: output.kpi_table(&calendar, &[], &[], &shown)?,
            bands: output.bands_table(&calendar, &[], config, &shown, events)?,
            diagnostics: output.diagnostics_table(&calendar, &[], &rules)?,
            skipped,
            as_of: view.as_of,
            row_audit,
        });
    };
    let calendar = &grid.calendar;
    let mut row_audit = view.audits;
    if let Some((table, sessions)) = sessions {
        let outside = add_session_totals(&mut grid.daily.totals, calendar, sessions);
        audit_sessions_outside(&mut row_audit, table, sessions, outside);
        // Sessions may bring dimension values of their own: sized like the others.
        let input_rows = limits::input_rows(&row_audit);
        let values = grid.breakdowns.values().map(|b| b.values.len()).sum();
        let mut shape = ViewShape::new(calendar, n_groups, values);
        for (dim, b) in grid.breakdowns.iter_mut() {
            let before = b.values.len();
            let within_budget = |values: usize| {
                let grown = ViewShape {
                    slice_values: shape.slice_values + values.saturating_sub(before),
                    ..shape
                };
                limits::check(&grown, config, input_rows)
            };
            b.add_sessions(dim, table, sessions, calendar, &within_budget)?;
            shape.slice_values += b.values.len() - before;
        }
    }
    let daily = &grid.daily;
    let backlog = backlog_at_period_ends(daily, calendar);
    let observed = day_in_grid(calendar, grid.first)..=day_in_grid(calendar, grid.last);

    // Baseline days: the rolling window before each period, or one fixed range.
    let n_periods = calendar.n_periods();
    let baseline_days: Vec<std::ops::Range<usize>> = (0..n_periods)
        .map(|p| match settings.baseline_range {
            Some((start, end)) => whole_days_within(calendar, start, end),
            None => {
                let start = calendar.period_days(p).start;
                start.saturating_sub(settings.baseline_days)..start
            }
        })
        .collect();
    let cells: Vec<(usize, usize)> = (0..n_periods)
        .flat_map(|p| (0..n_groups).map(move |g| (p, g)))
        .collect();
    let day_contacts: Vec<u64> = daily
        .states
        .chunks(n_groups.max(1))
        .map(|day| day.iter().map(|s| s.contacts).sum())
        .collect();
    let empty_customers = PeriodCustomerState::default();
    let empty_repurchase = RepurchaseState::default();
    let lifespan = options.clv_lifespan_days;
    // Baselines are read by the bands and by rules comparing with the baseline; only those
    // KPIs are computed over the baseline window (the others' baselines are never output).
    let baseline_active = baseline_reads(&active, &shown, config, &rules);
    // Each worker refills two scratch lists per cell (the period's and the baseline's
    // quantile inputs) instead of allocating them: a baseline window copies a month of
    // values for every period.
    let results: Vec<CellResult> = cells
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
                let window = baseline_days[p].clone();
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
                    peak_trough: b_peak,
                    days: window.len() as f64,
                };
                let baseline_measures = if window.is_empty() {
                    vec![None; CATALOG.len()]
                } else {
                    // The window's own baseline is the equally long window before it, so
                    // KPIs measured against a baseline have one too.
                    let before = window.start.saturating_sub(window.len())..window.start;
                    let mut before_state = ContactState::default();
                    for d in before.clone() {
                        before_state.add(&daily.states[d * n_groups + g]);
                    }
                    let before_state = (!before.is_empty()).then_some(&before_state);
                    base.evaluate(&baseline_active, before_state, lifespan)
                        .iter()
                        .map(|m| m.value)
                        .collect()
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
                    peak_trough,
                    days: days.len() as f64,
                };
                let baseline_state = (!window.is_empty()).then_some(&base.state);
                CellResult {
                    current: current.evaluate(&active, baseline_state, lifespan),
                    baseline: baseline_measures,
                }
            },
        )
        .collect();

    timer.lap("periods")?;
    // Diagnostics.
    let active_index: HashMap<&'static str, usize> = CATALOG
        .iter()
        .enumerate()
        .filter(|(k, _)| active[*k])
        .map(|(k, kpi)| (kpi.id, k))
        .collect();
    let breakdowns = &grid.breakdowns;
    let contacts_k = active_index.get("contacts").copied();
    let orders_k = active_index.get("orders").copied();
    let mut findings = Vec::new();
    for &(p, g) in &cells {
        let facts = CellFacts {
            p,
            g,
            n_groups,
            results: &results,
            active: &active_index,
            breakdowns,
            events,
            period_end: calendar.period_end(p),
        };
        for (r, rule) in rules.iter().enumerate() {
            match rule.kind {
                RuleKind::Conditions => {
                    if let Some(evidence) = fire(&rule.conditions, &facts) {
                        findings.push(Finding {
                            p,
                            g,
                            rule: r,
                            evidence,
                        });
                    }
                }
                RuleKind::Hotspot => {
                    let cell = &results[p * n_groups + g].current;
                    let value = |k: Option<usize>| k.and_then(|k| cell[k].value).unwrap_or(0.0);
                    for evidence in hotspots(
                        rule,
                        p,
                        g,
                        breakdowns,
                        value(contacts_k) as u64,
                        value(orders_k) as u64,
                    ) {
                        findings.push(Finding {
                            p,
                            g,
                            rule: r,
                            evidence,
                        });
                    }
                }
            }
        }
    }
    timer.lap("diagnostics")?;
    Ok(Scorecard {
        table: output.kpi_table(calendar, &cells, &results, &shown)?,
        bands: output.bands_table(
            calendar,
            &cells_with(&cells, &results),
            config,
            &shown,
            events,
        )?,
        diagnostics: output.diagnostics_table(calendar, &findings, &rules)?,
        skipped,
        as_of: Some(grid.as_of),
        row_audit,
    })
}

pub(super) fn cells_with<'a>(
    cells: &[(usize, usize)],
    results: &'a [CellResult],
) -> Vec<(usize, usize, &'a CellResult)> {
    cells
        .iter()
        .zip(results)
        .map(|(&(p, g), r)| (p, g, r))
        .collect()
}

/// Local days lying wholly inside [start, end).
pub(super) fn whole_days_within(
    calendar: &Calendar,
    start: i64,
    end: i64,
) -> std::ops::Range<usize> {
    let n = calendar.n_days();
    let first = calendar.day_starts.partition_point(|&s| s < start).min(n);
    let last = calendar
        .day_starts
        .partition_point(|&s| s <= end)
        .saturating_sub(1)
        .min(n);
    first..last.max(first)
}

/// Moves sessions rows that fell on no day of the card from used to dropped in the sessions
/// table's audit: they are valid rows, but a card must not report them as counted.
fn audit_sessions_outside(
    audits: &mut [TableAudit],
    table: &TableInput,
    sessions: &Sessions,
    outside: usize,
) {
    if outside == 0 {
        return;
    }
    let column = match sessions.when {
        SessionTime::Instant(_) if !table.has("date") => "started_at",
        _ => "date",
    };
    if let Some(audit) = audits.iter_mut().find(|a| a.table == table.name) {
        audit.rows_used = audit.rows_used.saturating_sub(outside);
        *audit
            .dropped
            .entry(format!(
                "{column}: outside the days of the card (before the first or after the last \
                 contact or order)"
            ))
            .or_insert(0) += outside as u64;
    }
}

/// Reads a pass-through of the diagnostics' view of the computed cells.
pub(super) struct CellFacts<'a> {
    pub(super) p: usize,
    pub(super) g: usize,
    pub(super) n_groups: usize,
    pub(super) results: &'a [CellResult],
    pub(super) active: &'a HashMap<&'static str, usize>,
    pub(super) breakdowns: &'a BTreeMap<String, Breakdown>,
    pub(super) events: &'a [Event],
    pub(super) period_end: i64,
}

impl Facts for CellFacts<'_> {
    fn has_kpi(&self, id: &str) -> bool {
        self.active.contains_key(id)
    }

    fn kpi(&self, id: &str, when: When) -> Option<f64> {
        let k = *self.active.get(id)?;
        match when {
            When::Current => self.results[self.p * self.n_groups + self.g].current[k].value,
            When::Previous => {
                let p = self.p.checked_sub(1)?;
                self.results[p * self.n_groups + self.g].current[k].value
            }
            When::Baseline => self.results[self.p * self.n_groups + self.g].baseline[k],
        }
    }

    fn by(&self, dim: &str, value: &str, kpi: &str, when: When) -> Option<f64> {
        let breakdown = self.breakdowns.get(dim)?;
        let v = breakdown.value_code(value)?;
        let p = match when {
            When::Current => self.p,
            When::Previous => self.p.checked_sub(1)?,
            // Slices have no baseline window (documented).
            When::Baseline => return None,
        };
        breakdown.slice_kpi(kpi, p, self.g, v)
    }

    fn event_ended_within(&self, kind: &str, window: i64) -> Option<String> {
        self.events
            .iter()
            .filter(|e| {
                e.kind == kind && e.end <= self.period_end && e.end >= self.period_end - window
            })
            .max_by_key(|e| e.end)
            .map(|e| e.name.clone())
    }
}
