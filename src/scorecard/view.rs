//! A view's state: the day grid, the daily states, cohorts, baseline windows and backlog,
//! and slice counts (`build_view`).

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::ArrayRef;

use crate::aggregate::breakdown::{Breakdown, BreakdownInputs};
use crate::aggregate::daily::{build_daily, Daily};
use crate::business::BusinessTime;
use crate::error::Result;
use crate::ingest::TableAudit;
use crate::kpis::backlog::backlog_in_windows;
use crate::kpis::customers::{
    customer_cohorts, CohortRules, Cohorts, PeriodCustomerState, RepurchaseState,
};
use crate::kpis::{FoldContext, IntentFlags, Reads};
use crate::limits::{self, ViewShape};
use crate::time::{local_midnight_utc, Calendar};
use crate::trace::PhaseTimer;

use super::groups::{group_contacts, present_columns};
use super::options::{Options, Settings, MICROS_PER_DAY};
use super::prepare::{max_created, min_created, Prepared};
use super::reads::{computed_kpis, pass_needed};
use crate::diagnostics::{prepare_rules, rule_dimensions};

/// What a scorecard view is evaluated from, before sessions and events: per-day × group
/// states, customer cohorts, the baseline backlog and the slice counts. A local view builds
/// it from the prepared rows; `sk.merge` builds it from partial states (crate::partial).
pub(crate) struct ViewState {
    /// Group-by columns, one row per group, in group order.
    pub group_keys: Vec<(String, ArrayRef)>,
    /// Number of groups.
    pub n_groups: usize,
    /// Contacts columns present (our names), for the KPIs' requirements.
    pub contact_columns: BTreeSet<String>,
    /// Whether any cost is known.
    pub has_cost: bool,
    /// Rows read, used and dropped per table.
    pub audits: Vec<TableAudit>,
    /// The as_of used (None for empty inputs without an explicit one).
    pub as_of: Option<i64>,
    /// The states; None when there are no contacts and no orders.
    pub grid: Option<Grid>,
}

/// The day grid of a view and its states.
pub(crate) struct Grid {
    /// Days and periods.
    pub calendar: Calendar,
    /// Earliest created_at over contacts and orders.
    pub first: i64,
    /// The later of as_of and the latest created_at.
    pub last: i64,
    /// End of observed data.
    pub as_of: i64,
    /// Per-day × group states (sessions not yet added).
    pub daily: Daily,
    /// Repurchase cohorts per period × group.
    pub repurchase: Vec<RepurchaseState>,
    /// Customer order totals per period.
    pub per_period: Vec<PeriodCustomerState>,
    /// The baseline window of each period.
    pub baseline_windows: Vec<BaselineWindow>,
    /// Open contacts at each baseline window's end, per period × group.
    pub baseline_backlog: Vec<(u64, i128)>,
    /// Slice counts per rule dimension (sessions not yet added).
    pub breakdowns: BTreeMap<String, Breakdown>,
    /// The business calendars, compiled over the grid (empty without calendars).
    pub business_calendars: Vec<BusinessTime>,
}

/// How far a partial state's grid runs past its last row, µs: far enough to reach every
/// period and baseline window the slice's rows can touch once merged with slices whose
/// data runs later (a baseline window, plus a month of at most 31 days).
pub(crate) fn partial_extension(settings: &Settings) -> i64 {
    (settings.baseline_days as i64 + 32) * MICROS_PER_DAY
}

/// The baseline window of one period, computed once per view: [start, end) as instants
/// (what the baseline backlog is read at) and the grid days lying wholly inside it (what
/// the baseline KPIs sum).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BaselineWindow {
    /// Start, inclusive (UTC µs).
    pub start: i64,
    /// End, exclusive (UTC µs).
    pub end: i64,
    /// The grid days wholly inside [start, end).
    pub days: std::ops::Range<usize>,
}

/// The baseline window of each period: the rolling window before it (whole local days), or
/// the fixed range.
pub(crate) fn baseline_windows(calendar: &Calendar, settings: &Settings) -> Vec<BaselineWindow> {
    (0..calendar.n_periods())
        .map(|p| {
            let (start, end) = match settings.baseline_range {
                Some(range) => range,
                None => {
                    let start_day = calendar.period_days(p).start as i64;
                    let from = calendar.date_of_day(start_day - settings.baseline_days as i64);
                    (
                        local_midnight_utc(&settings.tz, from),
                        calendar.period_start(p),
                    )
                }
            };
            BaselineWindow {
                start,
                end,
                days: whole_days_within(calendar, start, end),
            }
        })
        .collect()
}

/// The days before a baseline window that the window's own baseline covers: the equally
/// long window before it (so KPIs measured against a baseline have one too).
pub(crate) fn window_before(window: &std::ops::Range<usize>) -> std::ops::Range<usize> {
    window.start.saturating_sub(window.len())..window.start
}

/// For each grid day, the first day of its stretch: the longest runs of days that no
/// period, baseline window or window-before boundary cuts. Every day range a view sums
/// begins and ends on such a boundary, so a daily cell may hold a whole stretch.
pub(crate) fn stretch_starts(calendar: &Calendar, windows: &[BaselineWindow]) -> Vec<u32> {
    let n_days = calendar.n_days();
    let mut boundary = vec![false; n_days + 1];
    boundary[0] = true;
    let mut cut = |d: usize| boundary[d.min(n_days)] = true;
    for (p, window) in windows.iter().enumerate() {
        let period = calendar.period_days(p);
        cut(period.start);
        cut(period.end);
        cut(window.days.start);
        cut(window.days.end);
        cut(window_before(&window.days).start);
    }
    let mut start = 0u32;
    (0..n_days)
        .map(|d| {
            if boundary[d] {
                start = d as u32;
            }
            start
        })
        .collect()
}

/// Local days lying wholly inside [start, end).
pub(crate) fn whole_days_within(
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

/// How long the daily cells of a view are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellSpan {
    /// One day: what partial states carry (merged onto another calendar, their days must
    /// stay whole).
    Day,
    /// The stretches between the view's period and baseline boundaries ([`stretch_starts`]).
    Stretch,
}

/// Builds the view state from the prepared rows. `extend` (µs) lengthens the grid past the
/// last row: a partial state must hold every period and baseline window its rows can reach
/// once merged with partitions whose data runs later.
pub(crate) fn build_view(
    prepared: &Prepared,
    options: &Options,
    settings: &Settings,
    extend: i64,
    span: CellSpan,
) -> Result<ViewState> {
    Ok(build_views(prepared, options, settings, extend, span, false)?.0)
}

/// A grouped view's state and, from the same passes, the state of the total view (the
/// same options without `group_by`; None only for a view without groups to sum). The total
/// reads the grouped view's daily cells as one group and sums its baseline backlog, slice
/// counts and business flows over the groups; the cohort pass counts each customer's first
/// contact of a period once more over all groups.
pub(crate) fn build_view_and_total(
    prepared: &Prepared,
    options: &Options,
    settings: &Settings,
) -> Result<(ViewState, Option<ViewState>)> {
    build_views(prepared, options, settings, 0, CellSpan::Stretch, true)
}

fn build_views(
    prepared: &Prepared,
    options: &Options,
    settings: &Settings,
    extend: i64,
    span: CellSpan,
    with_total: bool,
) -> Result<(ViewState, Option<ViewState>)> {
    let config = &settings.config;
    let rules = prepare_rules(&config.rules)?;
    let mut timer = PhaseTimer::from_env("scorecard");
    let joined = &prepared.joined;
    let data = &joined.data;
    let groups = group_contacts(&prepared.contacts, &options.group_by, &data.contacts)?;
    timer.lap("groups")?;
    let n_groups = groups.n_groups;
    let mut view = ViewState {
        group_keys: groups.keys.clone(),
        n_groups,
        contact_columns: present_columns(&prepared.contacts, &prepared.orders, &joined.business),
        has_cost: FoldContext::has_cost(&data.contacts, &config.cost_model),
        audits: prepared.audits.clone(),
        as_of: joined.as_of,
        grid: None,
    };
    // The total view: the same state with no groups.
    let total_of = |view: &ViewState| ViewState {
        group_keys: Vec::new(),
        n_groups: 1,
        contact_columns: view.contact_columns.clone(),
        has_cost: view.has_cost,
        audits: view.audits.clone(),
        as_of: view.as_of,
        grid: None,
    };
    let (Some(as_of), Some(first)) = (joined.as_of, min_created(data)) else {
        let total = with_total.then(|| total_of(&view));
        return Ok((view, total));
    };
    let last = as_of.max(max_created(data).unwrap_or(as_of));
    let calendar = Calendar::covering(
        settings.tz,
        settings.kind,
        first,
        last.saturating_add(extend),
    );
    // Sized before anything is allocated; slice values are added as each dimension is read.
    let input_rows = limits::input_rows(&prepared.audits);
    let mut shape = ViewShape::new(&calendar, n_groups, 0);
    limits::check(&shape, &config.limits, input_rows)?;
    let ctx = FoldContext {
        contacts: &data.contacts,
        joins: &joined.joins,
        business: &joined.business,
        flags: IntentFlags::new(&data.contacts, &config.taxonomy),
        cost_model: &config.cost_model,
        scales: &config.scales,
        recovery_window: settings.windows.recovery,
        repeat_window: settings.windows.repeat,
        recontact_window: settings.windows.recontact,
        as_of,
    };
    timer.lap("setup")?;
    // A pass no computed KPI reads is skipped; its states stay empty (zero), which only
    // the skipped KPIs would read.
    let computed = computed_kpis(&settings.shown, &rules);
    let n_periods = calendar.n_periods();
    // Cohorts first: their per-row period and group lists are freed before the daily
    // pass allocates the quantile lists the view keeps, so the two never add up in the
    // peak memory.
    let Cohorts {
        repurchase,
        per_period,
        repurchase_total,
    } = if pass_needed(&computed, Reads::Customers) {
        customer_cohorts(
            data,
            &joined.index,
            &calendar,
            &groups.code,
            n_groups,
            &CohortRules {
                repurchase_window: settings.repurchase_window,
                csat_satisfied_min: config.scales.csat.max - 1.0,
                as_of,
            },
            with_total,
        )
    } else {
        Cohorts {
            repurchase: vec![RepurchaseState::default(); n_periods * n_groups],
            per_period: vec![PeriodCustomerState::default(); n_periods],
            repurchase_total: with_total.then(|| vec![RepurchaseState::default(); n_periods]),
        }
    };
    timer.lap("cohorts")?;
    let windows = baseline_windows(&calendar, settings);
    let stretches = (span == CellSpan::Stretch).then(|| stretch_starts(&calendar, &windows));
    let daily = build_daily(
        &ctx,
        &calendar,
        &groups.code,
        n_groups,
        data,
        stretches.as_deref(),
    );
    timer.lap("daily")?;
    let baseline_backlog = if pass_needed(&computed, Reads::Backlog) {
        let instants: Vec<(i64, i64)> = windows.iter().map(|w| (w.start, w.end)).collect();
        backlog_in_windows(&data.contacts, &groups.code, n_groups, &instants)
    } else {
        vec![(0, 0); n_periods * n_groups]
    };
    timer.lap("backlog")?;
    let inputs = BreakdownInputs {
        contacts: &prepared.contacts,
        orders: &prepared.orders,
        data,
        calendar: &calendar,
        group: &groups.code,
        n_groups,
        flags: &ctx.flags,
    };
    let mut breakdowns = BTreeMap::new();
    for dim in rule_dimensions(&rules) {
        let checked_before = shape.slice_values;
        let within_budget = |values: usize| {
            let shape = ViewShape {
                slice_values: checked_before + values,
                ..shape
            };
            limits::check(&shape, &config.limits, input_rows)
        };
        let breakdown = Breakdown::build(&dim, &inputs, &within_budget)?;
        shape.slice_values += breakdown.values.len();
        breakdowns.insert(dim, breakdown);
    }
    timer.lap("breakdowns")?;
    let business_calendars: Vec<BusinessTime> = joined
        .business
        .calendars
        .iter()
        .map(|(_, bt)| bt.clone())
        .collect();
    // Everything the total view reads is summed over the groups, except the cohorts (a
    // customer counts once per period) counted in the same pass.
    let total = match repurchase_total {
        Some(repurchase_total) => {
            let mut total = total_of(&view);
            let merged_backlog = baseline_backlog
                .chunks(n_groups.max(1))
                .map(|cells| {
                    cells
                        .iter()
                        .fold((0u64, 0i128), |(n, age), &(m, a)| (n + m, age + a))
                })
                .collect();
            total.grid = Some(Grid {
                calendar: calendar.clone(),
                first,
                last,
                as_of,
                daily: daily.merged_groups(),
                repurchase: repurchase_total,
                per_period: per_period.clone(),
                baseline_windows: windows.clone(),
                baseline_backlog: merged_backlog,
                breakdowns: breakdowns
                    .iter()
                    .map(|(dim, b)| (dim.clone(), b.merged_groups()))
                    .collect(),
                business_calendars: business_calendars.clone(),
            });
            Some(total)
        }
        None => None,
    };
    view.grid = Some(Grid {
        calendar,
        first,
        last,
        as_of,
        daily,
        repurchase,
        per_period,
        baseline_windows: windows,
        baseline_backlog,
        breakdowns,
        business_calendars,
    });
    Ok((view, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::PeriodKind;

    #[test]
    fn a_rolling_baseline_window_is_the_whole_local_days_before_its_period() {
        // New York, across both DST changes of 2024 (days of 23 and 25 hours).
        let options = Options {
            tz: "America/New_York".into(),
            ..Options::default()
        };
        let settings = options.settings().expect("settings");
        let (first, last) = (1_704_067_200_000_000, 1_735_603_200_000_000); // 2024-01-01, 12-31
        let calendar = Calendar::covering(settings.tz, PeriodKind::Week, first, last);
        let windows = baseline_windows(&calendar, &settings);
        assert_eq!(windows.len(), calendar.n_periods());
        for (p, w) in windows.iter().enumerate() {
            let start = calendar.period_days(p).start;
            assert_eq!(
                w.days,
                start.saturating_sub(settings.baseline_days)..start,
                "{p}"
            );
            assert_eq!(w.end, calendar.period_start(p));
            if start >= settings.baseline_days {
                assert_eq!(w.start, calendar.day_starts[start - settings.baseline_days]);
            }
        }
    }
}
