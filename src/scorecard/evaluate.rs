//! Evaluating a view (`finish`): which KPIs it computes, the sessions added to its grid,
//! every period × group cell evaluated (`cells`), the rules fired (`findings`), and the
//! output tables.

use std::collections::BTreeSet;

use crate::aggregate::daily::add_session_totals;
use crate::diagnostics::{prepare_rules, PreparedRule};
use crate::error::Result;
use crate::ingest::{Event, SessionTime, Sessions, TableAudit, TableInput};
use crate::kpis::{KpiDef, Need, CATALOG};
use crate::limits::{self, ViewShape};
use crate::time::Calendar;
use crate::trace::PhaseTimer;

use super::cells::{evaluate_cells, period_group_cells, CellKpis, CellResults};
use super::findings::fire_rules;
use super::options::{Options, Settings};
use super::output::{Output, Scorecard};
use super::reads::{baseline_reads, computed_kpis};
use super::view::{Grid, ViewState};

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
    let selection = select_kpis(&view, options, settings, &rules, sessions.is_some());
    let output = Output {
        tz: settings.tz,
        group_keys: &view.group_keys,
    };
    let mut row_audit = view.audits;
    let Some(mut grid) = view.grid else {
        // No contacts and no orders: no periods, empty tables, no session counted.
        if let Some((table, sessions)) = sessions {
            audit_sessions_outside(&mut row_audit, table, sessions, sessions.count.len());
        }
        let calendar = Calendar::covering(settings.tz, settings.kind, 0, 0);
        return Ok(Scorecard {
            table: output.kpi_table(&calendar, &[], &CellResults::none(), &selection.shown)?,
            bands: output.bands_table(
                &calendar,
                (&[], &CellResults::none()),
                config,
                &selection.shown,
                events,
            )?,
            diagnostics: output.diagnostics_table(&calendar, &[], &rules)?,
            skipped: selection.skipped,
            as_of: view.as_of,
            row_audit,
        });
    };
    if let Some((table, sessions)) = sessions {
        add_sessions(
            &mut grid,
            &mut row_audit,
            table,
            sessions,
            settings,
            n_groups,
        )?;
    }
    let cells = period_group_cells(grid.calendar.n_periods(), n_groups);
    // Baselines are read by the bands and by rules comparing with the baseline; only those
    // KPIs are computed over the baseline window (the others' baselines are never output).
    let baseline = baseline_reads(&selection.active, &selection.shown, config, &rules);
    let kpis = CellKpis {
        active: &selection.active,
        baseline: &baseline,
        lifespan_days: options.clv_lifespan_days,
        z: config.statistics.z(),
        confidence: config.statistics.confidence,
    };
    let results = evaluate_cells(&grid, &cells, n_groups, &kpis);
    timer.lap("periods")?;
    let findings = fire_rules(
        &grid,
        (&cells, &results),
        &selection.active,
        &rules,
        events,
        config,
    );
    timer.lap("diagnostics")?;
    let calendar = &grid.calendar;
    let table = output.kpi_table(calendar, &cells, &results, &selection.shown)?;
    timer.lap("kpi table")?;
    let bands = output.bands_table(
        calendar,
        (&cells, &results),
        config,
        &selection.shown,
        events,
    )?;
    timer.lap("bands table")?;
    let diagnostics = output.diagnostics_table(calendar, &findings, &rules)?;
    timer.lap("diagnostics table")?;
    Ok(Scorecard {
        table,
        bands,
        diagnostics,
        skipped: selection.skipped,
        as_of: Some(grid.as_of),
        row_audit,
    })
}

/// The KPIs of a view: computed (`active`: shown or read by a rule, and with their inputs
/// present), shown, and those asked for but left out for missing inputs, with why.
struct KpiSelection {
    active: Vec<bool>,
    shown: Vec<bool>,
    skipped: Vec<(String, String)>,
}

fn select_kpis(
    view: &ViewState,
    options: &Options,
    settings: &Settings,
    rules: &[PreparedRule],
    has_sessions: bool,
) -> KpiSelection {
    let grouped = !options.group_by.is_empty();
    let mut skipped = Vec::new();
    // Computed: the shown KPIs and those the rules read; a KPI left out for missing inputs
    // is reported only when it was asked for.
    let computed = computed_kpis(&settings.shown, rules);
    let mut active = vec![false; CATALOG.len()];
    for (k, kpi) in CATALOG.iter().enumerate() {
        if !computed[k] {
            continue;
        }
        match skip_reason(
            kpi,
            &view.contact_columns,
            has_sessions,
            grouped,
            view.has_cost,
        ) {
            Some(reason) if settings.shown[k] => skipped.push((kpi.id.to_owned(), reason)),
            Some(_) => {}
            None => active[k] = true,
        }
    }
    let shown = active
        .iter()
        .zip(&settings.shown)
        .map(|(&on, &asked)| on && asked)
        .collect();
    KpiSelection {
        active,
        shown,
        skipped,
    }
}

/// Adds the sessions table to the grid's day totals and slice counts, and audits the rows
/// that fell on no day of the card.
fn add_sessions(
    grid: &mut Grid,
    row_audit: &mut [TableAudit],
    table: &TableInput,
    sessions: &Sessions,
    settings: &Settings,
    n_groups: usize,
) -> Result<()> {
    let config = &settings.config;
    let calendar = &grid.calendar;
    let outside = add_session_totals(&mut grid.daily.totals, calendar, sessions);
    audit_sessions_outside(row_audit, table, sessions, outside);
    // Sessions may bring dimension values of their own: sized like the others.
    let input_rows = limits::input_rows(row_audit);
    let values = grid.breakdowns.values().map(|b| b.values.len()).sum();
    let mut shape = ViewShape::new(calendar, n_groups, values);
    for (dim, b) in grid.breakdowns.iter_mut() {
        let before = b.values.len();
        let within_budget = |values: usize| {
            let grown = ViewShape {
                slice_values: shape.slice_values + values.saturating_sub(before),
                ..shape
            };
            limits::check(&grown, &config.limits, input_rows)
        };
        b.add_sessions(dim, table, sessions, calendar, &within_budget)?;
        shape.slice_values += b.values.len() - before;
    }
    Ok(())
}

use super::groups::{CALENDARS_CONFIGURED, SLA_CONFIGURED};

pub(super) fn skip_reason(
    kpi: &KpiDef,
    // The present input columns (see `groups::present_columns`).
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
            Need::OrderColumn(c) => !contacts.contains(&format!("orders.{c}")),
            Need::AnyColumn(cs) => !cs.iter().any(|c| contacts.contains(*c)),
            Need::Sessions => !has_sessions,
            Need::GroupBy => !grouped,
            Need::Cost => !has_cost,
            Need::Calendars => !contacts.contains(CALENDARS_CONFIGURED),
            Need::Sla => !contacts.contains(SLA_CONFIGURED),
        })
        .map(Need::describe)
        .collect();
    (!missing.is_empty()).then(|| format!("needs {}", missing.join(" and ")))
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
