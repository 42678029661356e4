//! The scorecard pipeline: ingest → joins → per-day × group states → periods → KPI rows.
//! Also the per-contact view (`enrich`), which stops after the joins.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::aggregate::state::{
    CellValues, ContactState, DayTotals, PeriodCustomerState, RepurchaseState,
};
use crate::catalog::{Cell, KpiDef, Measure, Need, CATALOG};
use crate::error::{Error, Result};
use crate::ingest::columns::read_coded;
use crate::ingest::{
    read_joinable, read_sessions, Contacts, HandledBy, Joinable, SessionTime, Sessions, TableInput,
    ANONYMOUS, NULL_CODE, NULL_TS,
};
use crate::joins::{join_contacts, ContactJoins, CustomerIndex, Windows};
use crate::taxonomy::{classify, WISMO_INTENT};
use crate::time::{parse_tz, Calendar, PeriodKind};

const MICROS_PER_HOUR: f64 = 3.6e9;
const MICROS_PER_MINUTE: f64 = 6e7;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Scorecard options (all windows in microseconds). Deserialized from the Python call's
/// keyword arguments; unknown keys are a `ConfigError`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// "day" | "week" | "month".
    pub by: String,
    /// IANA zone for day and period boundaries.
    pub tz: String,
    /// Contact columns to group by.
    pub group_by: Vec<String>,
    /// End of observed data, UTC µs; default: the largest created_at (SPEC §8.1).
    pub as_of: Option<i64>,
    /// recovered_7d and attribution window.
    pub recovery_window: i64,
    /// repeat_14d window.
    pub repeat_window: i64,
    /// recontact_48h window.
    pub recontact_window: i64,
    /// repurchase_rate_90d window.
    pub repurchase_window: i64,
    /// Baseline window before each period (whole days).
    pub baseline_window: i64,
    /// clv_simple lifespan, days.
    pub clv_lifespan_days: f64,
    /// Renaming per table: table -> (ours -> theirs).
    pub columns: HashMap<String, HashMap<String, String>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            by: "week".to_owned(),
            tz: "UTC".to_owned(),
            group_by: Vec::new(),
            as_of: None,
            recovery_window: 7 * MICROS_PER_DAY,
            repeat_window: 14 * MICROS_PER_DAY,
            recontact_window: 48 * 3_600_000_000,
            repurchase_window: 90 * MICROS_PER_DAY,
            baseline_window: 30 * MICROS_PER_DAY,
            clv_lifespan_days: 3.0 * 365.0,
            columns: HashMap::new(),
        }
    }
}

impl Options {
    /// Parses options from JSON (the binding's transport), mapping failures to ConfigError.
    pub fn from_json(text: &str) -> Result<Self> {
        let options: Options = serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            let key = message.split('`').nth(1).unwrap_or("options").to_owned();
            Error::config(&key, message)
        })?;
        options.validate()?;
        Ok(options)
    }

    /// Checks values the types cannot.
    pub fn validate(&self) -> Result<()> {
        PeriodKind::parse(&self.by)?;
        parse_tz(&self.tz)?;
        for (key, value) in [
            ("recovery_window", self.recovery_window),
            ("repeat_window", self.repeat_window),
            ("recontact_window", self.recontact_window),
            ("repurchase_window", self.repurchase_window),
            ("baseline_window", self.baseline_window),
        ] {
            if value <= 0 {
                return Err(Error::config(key, "windows must be positive durations"));
            }
        }
        if self.baseline_window % MICROS_PER_DAY != 0 {
            return Err(Error::config(
                "baseline_window",
                "the baseline window must be a whole number of days (it is counted in local days)",
            ));
        }
        if !(self.clv_lifespan_days.is_finite() && self.clv_lifespan_days > 0.0) {
            return Err(Error::config(
                "clv_lifespan_days",
                "must be a positive number of days",
            ));
        }
        for table in self.columns.keys() {
            if !matches!(table.as_str(), "contacts" | "orders" | "sessions") {
                return Err(Error::config(
                    "columns",
                    format!("unknown table {table:?}; expected contacts, orders or sessions"),
                ));
            }
        }
        Ok(())
    }

    /// The renaming for one table.
    pub fn rename_for(&self, table: &str) -> HashMap<String, String> {
        self.columns.get(table).cloned().unwrap_or_default()
    }

    fn windows(&self) -> Windows {
        Windows {
            recovery: self.recovery_window,
            repeat: self.repeat_window,
            recontact: self.recontact_window,
        }
    }
}

/// Per-intent-code taxonomy flags, resolved once per distinct intent.
struct IntentFlags {
    preventable: Vec<bool>,
    policy: Vec<bool>,
    checkout_shipping: Vec<bool>,
    wismo: Vec<bool>,
}

impl IntentFlags {
    fn new(contacts: &Contacts) -> Self {
        let values: &[String] = contacts.intent.as_ref().map_or(&[], |i| &i.values);
        let classes: Vec<_> = values.iter().map(|v| classify(v)).collect();
        IntentFlags {
            preventable: classes.iter().map(|c| c.preventable).collect(),
            policy: classes.iter().map(|c| c.policy).collect(),
            checkout_shipping: classes.iter().map(|c| c.checkout_shipping).collect(),
            wismo: values.iter().map(|v| v == WISMO_INTENT).collect(),
        }
    }

    fn code(contacts: &Contacts, i: usize) -> Option<usize> {
        let code = contacts.intent.as_ref()?.codes[i];
        (code != NULL_CODE).then_some(code as usize)
    }

    fn flag(&self, flags: &[bool], contacts: &Contacts, i: usize) -> bool {
        Self::code(contacts, i).is_some_and(|c| flags[c])
    }

    /// Preventable: the `preventable` column when present and non-null, else the taxonomy.
    fn is_preventable(&self, contacts: &Contacts, i: usize) -> bool {
        match contacts.preventable.as_ref().map(|p| p[i]) {
            Some(1) => true,
            Some(0) => false,
            _ => self.flag(&self.preventable, contacts, i),
        }
    }
}

/// The joined inputs and per-contact results shared by `scorecard` and `enrich`.
struct Joined {
    data: Joinable,
    index: CustomerIndex,
    joins: ContactJoins,
    as_of: Option<i64>,
}

fn max_created(data: &Joinable) -> Option<i64> {
    let c = data.contacts.created_at.iter().copied().max();
    let o = data.orders.created_at.iter().copied().max();
    c.max(o)
}

fn min_created(data: &Joinable) -> Option<i64> {
    let c = data.contacts.created_at.iter().copied().min();
    let o = data.orders.created_at.iter().copied().min();
    match (c, o) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn join_inputs(contacts: &TableInput, orders: &TableInput, options: &Options) -> Result<Joined> {
    let data = read_joinable(contacts, orders)?;
    let as_of = options.as_of.or_else(|| max_created(&data));
    let index = CustomerIndex::build(&data.contacts, &data.orders, data.customers);
    let joins = join_contacts(&data.contacts, &data.orders, &index, options.windows());
    Ok(Joined {
        data,
        index,
        joins,
        as_of,
    })
}

/// Per-contact join results as an Arrow batch, in input order (see docs/semantics.md).
pub fn enrich(
    contacts: &TableInput,
    orders: &TableInput,
    options: &Options,
) -> Result<RecordBatch> {
    let joined = join_inputs(contacts, orders, options)?;
    let c = &joined.data.contacts;
    let j = &joined.joins;
    let as_of = joined.as_of.unwrap_or(i64::MIN);
    let flags = IntentFlags::new(c);
    let n = c.len;
    let mut path = StringBuilder::with_capacity(n, n * 5);
    let mut without_human = BooleanBuilder::with_capacity(n);
    let mut recovered = BooleanBuilder::with_capacity(n);
    let mut recovery_mature = BooleanBuilder::with_capacity(n);
    let mut hours = Float64Builder::with_capacity(n);
    let mut attributed_orders = Int64Builder::with_capacity(n);
    let mut attributed_revenue = Float64Builder::with_capacity(n);
    let mut repeat = BooleanBuilder::with_capacity(n);
    let mut repeat_mature = BooleanBuilder::with_capacity(n);
    let mut recontact = BooleanBuilder::with_capacity(n);
    let mut recontact_mature = BooleanBuilder::with_capacity(n);
    let mut preventable = BooleanBuilder::with_capacity(n);
    for i in 0..n {
        let p = c.path(i);
        path.append_option(p.name());
        without_human.append_value(resolved_without_human(c, i, p));
        recovered.append_value(j.recovered[i]);
        recovery_mature.append_value(matures(c.created_at[i], options.recovery_window, as_of));
        hours.append_option(
            (j.next_order_delay[i] != NULL_TS)
                .then(|| j.next_order_delay[i] as f64 / MICROS_PER_HOUR),
        );
        attributed_orders.append_value(i64::from(j.attributed_orders[i]));
        attributed_revenue.append_value(j.attributed_revenue[i]);
        repeat.append_value(j.repeat[i]);
        repeat_mature.append_value(matures(c.created_at[i], options.repeat_window, as_of));
        recontact.append_option(match j.recontact[i] {
            -1 => None,
            v => Some(v == 1),
        });
        let resolved_at = c.resolved_at.as_ref().map_or(NULL_TS, |r| r[i]);
        recontact_mature.append_value(
            resolved_at != NULL_TS && matures(resolved_at, options.recontact_window, as_of),
        );
        preventable.append_value(flags.is_preventable(c, i));
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("path", Arc::new(path.finish())),
        ("resolved_without_human", Arc::new(without_human.finish())),
        ("recovered_7d", Arc::new(recovered.finish())),
        ("recovery_mature", Arc::new(recovery_mature.finish())),
        ("hours_to_next_order", Arc::new(hours.finish())),
        ("attributed_orders", Arc::new(attributed_orders.finish())),
        ("attributed_revenue", Arc::new(attributed_revenue.finish())),
        ("repeat_14d", Arc::new(repeat.finish())),
        ("repeat_mature", Arc::new(repeat_mature.finish())),
        ("recontact_48h", Arc::new(recontact.finish())),
        ("recontact_mature", Arc::new(recontact_mature.finish())),
        ("preventable", Arc::new(preventable.finish())),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .map_err(|e| Error::Arrow {
        table: "enrich_contacts".to_owned(),
        message: e.to_string(),
    })
}

/// start + window ≤ as_of (SPEC §2).
fn matures(start: i64, window: i64, as_of: i64) -> bool {
    start.saturating_add(window) <= as_of
}

fn resolved_without_human(c: &Contacts, i: usize, path: HandledBy) -> bool {
    c.is_resolved(i) && matches!(path, HandledBy::SelfService | HandledBy::Ai)
}

/// Group codes of the contacts over the `group_by` columns, groups numbered in order of
/// first appearance, plus one representative row per group (for the output values).
struct Groups {
    code: Vec<u32>,
    representative: Vec<u32>,
}

fn group_contacts(contacts: &TableInput, group_by: &[String], n: usize) -> Result<Groups> {
    if group_by.is_empty() {
        return Ok(Groups {
            code: vec![0; n],
            representative: vec![0],
        });
    }
    let mut per_column = Vec::with_capacity(group_by.len());
    for column in group_by {
        let Some(chunks) = contacts.column(column) else {
            return Err(Error::config(
                "group_by",
                format!("{column:?} is not a column of contacts"),
            ));
        };
        let coded = read_coded(&chunks, true)
            .map_err(|_| Error::schema("contacts", column, "cannot group by this column's type"))?;
        per_column.push(coded.codes);
    }
    let mut index: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
    let mut representative = Vec::new();
    let mut code = Vec::with_capacity(n);
    let mut key = Vec::with_capacity(group_by.len());
    for row in 0..n {
        key.clear();
        key.extend(per_column.iter().map(|codes| codes[row]));
        let g = match index.get(&key) {
            Some(&g) => g,
            None => {
                let g = representative.len() as u32;
                index.insert(key.clone(), g);
                representative.push(row as u32);
                g
            }
        };
        code.push(g);
    }
    Ok(Groups {
        code,
        representative,
    })
}

/// One output row.
struct KpiRow {
    period: u32,
    group: u32,
    kpi: &'static KpiDef,
    measure: Measure,
}

/// The scorecard as computed by the core.
pub struct Scorecard {
    /// The long table (see docs/semantics.md).
    pub table: RecordBatch,
    /// KPI id -> why it was left out.
    pub skipped: Vec<(String, String)>,
    /// The as_of used, UTC µs (None for empty inputs).
    pub as_of: Option<i64>,
}

fn skip_reason(
    kpi: &KpiDef,
    contacts: &TableInput,
    has_sessions: bool,
    grouped: bool,
) -> Option<String> {
    let missing: Vec<String> = kpi
        .needs
        .iter()
        .filter(|need| match need {
            Need::Column(c) => !contacts.has(c),
            Need::AnyColumn(cs) => !cs.iter().any(|c| contacts.has(c)),
            Need::Sessions => !has_sessions,
            Need::GroupBy => !grouped,
        })
        .map(Need::describe)
        .collect();
    (!missing.is_empty()).then(|| format!("needs {}", missing.join(" and ")))
}

/// Everything the roll-up needs, built once.
struct Daily {
    /// Contact states per day × group (`day * n_groups + group`).
    states: Vec<ContactState>,
    /// Quantile inputs per day × group.
    values: Vec<CellValues>,
    /// Order and traffic totals per day.
    totals: Vec<DayTotals>,
}

struct Context<'a> {
    c: &'a Contacts,
    j: &'a ContactJoins,
    flags: IntentFlags,
    options: &'a Options,
    as_of: i64,
}

impl Context<'_> {
    /// Folds contact `i` into its cell.
    fn accumulate(&self, s: &mut ContactState, v: &mut CellValues, i: usize) {
        let c = self.c;
        let j = self.j;
        let created = c.created_at[i];
        let path = c.path(i);
        let resolved = c.is_resolved(i);
        let escalated = c.is_escalated(i);
        let known_customer = c.customer[i] != ANONYMOUS;
        let cost = c.cost.as_ref().map_or(f64::NAN, |x| x[i]);
        let cost = if cost.is_nan() { 0.0 } else { cost };

        s.contacts += 1;
        s.opened += 1;
        s.opened_created_sum += i128::from(created);
        s.preventable += u64::from(self.flags.is_preventable(c, i));
        s.wismo += u64::from(self.flags.flag(&self.flags.wismo, c, i));
        s.policy += u64::from(self.flags.flag(&self.flags.policy, c, i));
        s.cost += cost;
        if resolved {
            s.resolved += 1;
            s.resolved_without_human += u64::from(resolved_without_human(c, i, path));
        }
        let handled_by = c.handled_by.as_ref().map_or(HandledBy::Unknown, |h| h[i]);
        match handled_by {
            HandledBy::SelfService => {
                s.self_service += 1;
                s.self_service_resolved += u64::from(resolved && !escalated);
            }
            HandledBy::Ai => {
                s.ai += 1;
                s.ai_resolved += u64::from(resolved && !escalated);
                s.ai_escalated += u64::from(escalated);
                let verdict = c.resolution_correct.as_ref().map_or(-1, |r| r[i]);
                if resolved && !escalated && verdict != -1 {
                    s.accuracy_reviewed += 1;
                    s.accuracy_correct += u64::from(verdict == 1);
                }
            }
            _ => {}
        }

        // Forward-looking KPIs count mature contacts only (SPEC §2).
        let recovery_mature = matures(created, self.options.recovery_window, self.as_of);
        if recovery_mature {
            if known_customer {
                s.recovery_mature += 1;
                if j.recovered[i] {
                    s.recovered += 1;
                    v.recovery_hours
                        .push(j.next_order_delay[i] as f64 / MICROS_PER_HOUR);
                }
            }
            let revenue = j.attributed_revenue[i];
            s.recovered_revenue += revenue;
            match path {
                HandledBy::Ai | HandledBy::Human => s.recovered_revenue_assisted += revenue,
                HandledBy::SelfService => s.recovered_revenue_self_service += revenue,
                HandledBy::Unknown => {}
            }
            s.recovered_net_revenue += revenue - j.attributed_deductions[i];
            s.recovery_mature_cost += cost;
        }
        if known_customer && matures(created, self.options.repeat_window, self.as_of) {
            s.repeat_mature += 1;
            s.repeated += u64::from(j.repeat[i]);
        }
        let resolved_at = c.resolved_at.as_ref().map_or(NULL_TS, |r| r[i]);
        if known_customer
            && resolved_at != NULL_TS
            && matures(resolved_at, self.options.recontact_window, self.as_of)
        {
            s.recontact_mature += 1;
            if j.recontact[i] == 1 {
                s.recontacted += 1;
            } else {
                let touches = c.touches.as_ref().map_or(f64::NAN, |t| t[i]);
                s.first_contact_resolved += u64::from(touches.is_nan() || touches <= 1.0);
            }
        }
        if resolved && path == HandledBy::Human {
            let seconds = c.handle_seconds.as_ref().map_or(f64::NAN, |h| h[i]);
            if !seconds.is_nan() {
                s.aht_seconds += seconds;
                s.aht_count += 1;
            }
        }
        let csat = c.csat.as_ref().map_or(f64::NAN, |x| x[i]);
        if !csat.is_nan() {
            s.csat_sum += csat;
            s.csat_count += 1;
            s.csat_satisfied += u64::from(csat >= 4.0);
            if csat <= 2.0 {
                s.csat_negative += 1;
                s.csat_negative_checkout_shipping +=
                    u64::from(self.flags.flag(&self.flags.checkout_shipping, c, i));
            }
            match path {
                HandledBy::Ai => {
                    s.csat_ai_sum += csat;
                    s.csat_ai_count += 1;
                }
                HandledBy::Human => {
                    s.csat_human_sum += csat;
                    s.csat_human_count += 1;
                }
                _ => {}
            }
        }
        let nps = c.nps.as_ref().map_or(f64::NAN, |x| x[i]);
        if !nps.is_nan() {
            s.nps_rated += 1;
            s.nps_promoters += u64::from(nps >= 9.0);
            s.nps_detractors += u64::from(nps <= 6.0);
        }
        let ces = c.ces.as_ref().map_or(f64::NAN, |x| x[i]);
        if !ces.is_nan() {
            s.ces_sum += ces;
            s.ces_count += 1;
        }
        let first_response = c.first_response_at.as_ref().map_or(NULL_TS, |f| f[i]);
        if first_response != NULL_TS {
            let minutes = (first_response - created) as f64 / MICROS_PER_MINUTE;
            v.frt_minutes.push(minutes);
            match path {
                HandledBy::Ai => v.frt_ai_minutes.push(minutes),
                HandledBy::Human => v.frt_human_minutes.push(minutes),
                _ => {}
            }
        }
        if resolved_at != NULL_TS {
            v.resolution_hours
                .push((resolved_at - created) as f64 / MICROS_PER_HOUR);
        }
    }
}

/// Counting sort of rows by cell: returns (rows grouped by cell, offsets).
fn rows_by_cell(cell: &[u32], n_cells: usize) -> (Vec<u32>, Vec<usize>) {
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

fn day_or_last(calendar: &Calendar, t: i64) -> usize {
    // The grid covers every created_at, so this only clamps against misuse.
    calendar
        .day_of(t)
        .unwrap_or(0)
        .min(calendar.n_days().saturating_sub(1))
}

fn build_daily(
    ctx: &Context,
    calendar: &Calendar,
    groups: &Groups,
    data: &Joinable,
    sessions: Option<&Sessions>,
) -> Daily {
    let n_groups = groups.representative.len();
    let n_days = calendar.n_days();
    let n_cells = n_days * n_groups;
    let c = ctx.c;
    let cell: Vec<u32> = (0..c.len)
        .into_par_iter()
        .map(|i| {
            (day_or_last(calendar, c.created_at[i]) * n_groups + groups.code[i] as usize) as u32
        })
        .collect();
    let (rows, offsets) = rows_by_cell(&cell, n_cells);
    let (mut states, mut values): (Vec<ContactState>, Vec<CellValues>) = (0..n_cells)
        .into_par_iter()
        .map(|k| {
            let mut state = ContactState::default();
            let mut cell_values = CellValues::default();
            for &row in &rows[offsets[k]..offsets[k + 1]] {
                ctx.accumulate(&mut state, &mut cell_values, row as usize);
            }
            (state, cell_values)
        })
        .unzip();
    values.shrink_to_fit();
    // Backlog outflow is booked on the day a contact is resolved (SPEC §8.16).
    if let Some(resolved) = &c.resolved_at {
        for i in 0..c.len {
            let r = resolved[i];
            if r == NULL_TS {
                continue;
            }
            if let Some(d) = calendar.day_of(r).filter(|&d| d < n_days) {
                let s = &mut states[d * n_groups + groups.code[i] as usize];
                s.closed += 1;
                s.closed_created_sum += i128::from(c.created_at[i]);
            }
        }
    }
    let mut totals = vec![DayTotals::default(); n_days];
    let orders = &data.orders;
    for i in 0..orders.len {
        let d = day_or_last(calendar, orders.created_at[i]);
        totals[d].orders += 1;
        totals[d].revenue += orders.revenue[i];
    }
    if let Some(sessions) = sessions {
        match &sessions.when {
            SessionTime::Instant(times) => {
                for (t, n) in times.iter().zip(&sessions.count) {
                    if let Some(d) = calendar.day_of(*t).filter(|&d| d < n_days) {
                        totals[d].sessions += n;
                    }
                }
            }
            SessionTime::LocalDate(days) => {
                for (day, n) in days.iter().zip(&sessions.count) {
                    if let Some(d) = calendar.day_of_local_date(*day) {
                        totals[d].sessions += n;
                    }
                }
            }
        }
    }
    Daily {
        states,
        values,
        totals,
    }
}

/// Customer-level cohorts: repurchase per period × group, retention/CLV/no-contact per period.
fn customer_cohorts(
    data: &Joinable,
    index: &CustomerIndex,
    calendar: &Calendar,
    groups: &Groups,
    options: &Options,
    as_of: i64,
) -> (Vec<RepurchaseState>, Vec<PeriodCustomerState>) {
    let n_groups = groups.representative.len();
    let n_periods = calendar.n_periods();
    let c = &data.contacts;
    let o = &data.orders;
    let window = options.repurchase_window;
    let period_of = |t: i64| calendar.period_of_day[day_or_last(calendar, t)] as usize;
    let empty = || {
        (
            vec![RepurchaseState::default(); n_periods * n_groups],
            vec![PeriodCustomerState::default(); n_periods],
        )
    };
    (0..index.customers())
        .into_par_iter()
        .fold(empty, |(mut repurchase, mut per_period), customer| {
            let contact_rows = index.contacts_of(customer);
            let order_rows = index.orders_of(customer);
            let order_times: Vec<i64> = order_rows
                .iter()
                .map(|&r| o.created_at[r as usize])
                .collect();
            // Another order in (t0, t0 + window].
            let ordered_within = |t0: i64| {
                let next = order_times.partition_point(|&t| t <= t0);
                next < order_times.len() && order_times[next] - t0 <= window
            };
            let contact_periods: Vec<usize> = contact_rows
                .iter()
                .map(|&r| period_of(c.created_at[r as usize]))
                .collect();
            let mut current_period = usize::MAX;
            let mut seen_groups: Vec<u32> = Vec::new();
            for (k, &row) in contact_rows.iter().enumerate() {
                let p = contact_periods[k];
                if p != current_period {
                    current_period = p;
                    seen_groups.clear();
                }
                let g = groups.code[row as usize];
                if seen_groups.contains(&g) {
                    continue;
                }
                seen_groups.push(g);
                let t0 = c.created_at[row as usize];
                if !matures(t0, window, as_of) {
                    continue;
                }
                let hit = u64::from(ordered_within(t0));
                let state = &mut repurchase[p * n_groups + g as usize];
                state.mature += 1;
                state.repurchased += hit;
                let csat = c.csat.as_ref().map_or(f64::NAN, |x| x[row as usize]);
                if csat.is_nan() {
                    state.unrated_mature += 1;
                    state.unrated_repurchased += hit;
                } else if csat >= 4.0 {
                    state.satisfied_mature += 1;
                    state.satisfied_repurchased += hit;
                } else {
                    state.unsatisfied_mature += 1;
                    state.unsatisfied_repurchased += hit;
                }
            }
            // Orders: one pass over the customer's periods with orders.
            let mut k = 0usize;
            let mut previous_period: Option<usize> = None;
            while k < order_times.len() {
                let p = period_of(order_times[k]);
                let mut end = k;
                while end < order_times.len() && period_of(order_times[end]) == p {
                    end += 1;
                }
                let totals = &mut per_period[p];
                totals.ordering_customers += 1;
                totals.orders_with_customer += (end - k) as u64;
                if previous_period == Some(p.wrapping_sub(1)) && p > 0 {
                    totals.retained += 1;
                }
                if p + 1 < n_periods {
                    per_period[p + 1].retention_base += 1;
                }
                let contacted = contact_periods.binary_search(&p).is_ok();
                let t0 = order_times[k];
                if !contacted && matures(t0, window, as_of) {
                    let totals = &mut per_period[p];
                    totals.no_contact_mature += 1;
                    totals.no_contact_repurchased += u64::from(ordered_within(t0));
                }
                previous_period = Some(p);
                k = end;
            }
            (repurchase, per_period)
        })
        .reduce(empty, |(mut ra, mut pa), (rb, pb)| {
            for (a, b) in ra.iter_mut().zip(&rb) {
                a.add(b);
            }
            for (a, b) in pa.iter_mut().zip(&pb) {
                a.add(b);
            }
            (ra, pa)
        })
}

/// Computes the scorecard.
pub fn scorecard(
    contacts: &TableInput,
    orders: &TableInput,
    sessions: Option<&TableInput>,
    options: &Options,
) -> Result<Scorecard> {
    options.validate()?;
    let kind = PeriodKind::parse(&options.by)?;
    let tz = parse_tz(&options.tz)?;
    let sessions = match sessions {
        Some(table) => Some(read_sessions(table)?),
        None => None,
    };
    let joined = join_inputs(contacts, orders, options)?;
    let data = &joined.data;
    let groups = group_contacts(contacts, &options.group_by, data.contacts.len)?;
    let grouped = !options.group_by.is_empty();
    let mut skipped = Vec::new();
    let mut active: Vec<&'static KpiDef> = Vec::new();
    for kpi in CATALOG {
        match skip_reason(kpi, contacts, sessions.is_some(), grouped) {
            Some(reason) => skipped.push((kpi.id.to_owned(), reason)),
            None => active.push(kpi),
        }
    }
    let (Some(as_of), Some(first)) = (joined.as_of, min_created(data)) else {
        // No contacts and no orders: no periods, an empty table.
        let table = build_table(
            contacts,
            options,
            &tz,
            &[],
            &groups,
            &Calendar::covering(tz, kind, 0, 0),
        )?;
        return Ok(Scorecard {
            table,
            skipped,
            as_of: joined.as_of,
        });
    };
    let last = as_of.max(max_created(data).unwrap_or(as_of));
    let calendar = Calendar::covering(tz, kind, first, last);
    let ctx = Context {
        c: &data.contacts,
        j: &joined.joins,
        flags: IntentFlags::new(&data.contacts),
        options,
        as_of,
    };
    let daily = build_daily(&ctx, &calendar, &groups, data, sessions.as_ref());
    let (repurchase, per_period) =
        customer_cohorts(data, &joined.index, &calendar, &groups, options, as_of);
    let n_groups = groups.representative.len();
    let observed_days = day_or_last(&calendar, first)..=day_or_last(&calendar, last);
    let baseline_days = (options.baseline_window / MICROS_PER_DAY) as usize;

    let cells: Vec<(usize, usize)> = (0..calendar.n_periods())
        .flat_map(|p| (0..n_groups).map(move |g| (p, g)))
        .collect();
    // Backlog is a stock: running sums of inflow minus outflow per group.
    let backlog = backlog_at_period_ends(&daily, &calendar, n_groups);
    let period_contacts: Vec<u64> = (0..calendar.n_periods())
        .map(|p| {
            calendar
                .period_days(p)
                .flat_map(|d| (0..n_groups).map(move |g| d * n_groups + g))
                .map(|k| daily.states[k].contacts)
                .sum()
        })
        .collect();
    let rows: Vec<KpiRow> = cells
        .par_iter()
        .flat_map_iter(|&(p, g)| {
            let days = calendar.period_days(p);
            let mut state = ContactState::default();
            let mut values = CellValues::default();
            let mut totals = DayTotals::default();
            let mut peak_trough: Option<(u64, u64)> = None;
            for d in days.clone() {
                let k = d * n_groups + g;
                state.add(&daily.states[k]);
                values.extend(&daily.values[k]);
                totals.add(&daily.totals[d]);
                if observed_days.contains(&d) {
                    let n = daily.states[k].contacts;
                    peak_trough = Some(match peak_trough {
                        None => (n, n),
                        Some((max, min)) => (max.max(n), min.min(n)),
                    });
                }
            }
            let mut baseline = ContactState::default();
            for d in days.start.saturating_sub(baseline_days)..days.start {
                baseline.add(&daily.states[d * n_groups + g]);
            }
            let (backlog_open, backlog_age_micros) = backlog[p * n_groups + g];
            let mut cell = Cell {
                state: &state,
                values: &mut values,
                totals: &totals,
                period_contacts: period_contacts[p],
                customers: &per_period[p],
                repurchase: &repurchase[p * n_groups + g],
                baseline: Some(&baseline),
                backlog_open,
                backlog_age_micros,
                daily_peak_trough: peak_trough,
                period_days: days.len() as f64,
                lifespan_days: options.clv_lifespan_days,
            };
            active
                .iter()
                .map(|kpi| KpiRow {
                    period: p as u32,
                    group: g as u32,
                    kpi,
                    measure: (kpi.compute)(&mut cell),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let table = build_table(contacts, options, &tz, &rows, &groups, &calendar)?;
    Ok(Scorecard {
        table,
        skipped,
        as_of: Some(as_of),
    })
}

/// (open count, sum of ages in µs) at each period end, per period × group.
fn backlog_at_period_ends(daily: &Daily, calendar: &Calendar, n_groups: usize) -> Vec<(u64, i128)> {
    let n_periods = calendar.n_periods();
    let mut out = vec![(0u64, 0i128); n_periods * n_groups];
    for g in 0..n_groups {
        let mut open: i64 = 0;
        let mut created_sum: i128 = 0;
        for p in 0..n_periods {
            for d in calendar.period_days(p) {
                let s = &daily.states[d * n_groups + g];
                open += s.opened as i64 - s.closed as i64;
                created_sum += s.opened_created_sum - s.closed_created_sum;
            }
            let end = i128::from(calendar.period_end(p));
            let count = open.max(0) as u64;
            out[p * n_groups + g] = (count, end * i128::from(open.max(0)) - created_sum);
        }
    }
    out
}

fn build_table(
    contacts: &TableInput,
    options: &Options,
    tz: &chrono_tz::Tz,
    rows: &[KpiRow],
    groups: &Groups,
    calendar: &Calendar,
) -> Result<RecordBatch> {
    let arrow_error = |e: arrow_schema::ArrowError| Error::Arrow {
        table: "scorecard".to_owned(),
        message: e.to_string(),
    };
    let tz_name: Arc<str> = Arc::from(tz.name());
    let period_start = TimestampMicrosecondArray::from(
        rows.iter()
            .map(|r| calendar.period_start(r.period as usize))
            .collect::<Vec<_>>(),
    )
    .with_timezone(tz_name.clone());
    let mut fields = vec![Field::new(
        "period_start",
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz_name)),
        false,
    )];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(period_start)];
    for column in &options.group_by {
        let Some(values) = contacts.concat_column(column)? else {
            return Err(Error::config(
                "group_by",
                format!("{column:?} is not a column of contacts"),
            ));
        };
        let take_rows = UInt32Array::from(
            rows.iter()
                .map(|r| groups.representative[r.group as usize])
                .collect::<Vec<_>>(),
        );
        let taken =
            arrow_select::take::take(values.as_ref(), &take_rows, None).map_err(arrow_error)?;
        fields.push(Field::new(column, taken.data_type().clone(), true));
        columns.push(taken);
    }
    let kpi = StringArray::from_iter_values(rows.iter().map(|r| r.kpi.id));
    let unit = StringArray::from_iter_values(rows.iter().map(|r| r.kpi.unit.name()));
    let floats = |f: fn(&Measure) -> Option<f64>| -> ArrayRef {
        Arc::new(arrow_array::Float64Array::from(
            rows.iter().map(|r| f(&r.measure)).collect::<Vec<_>>(),
        ))
    };
    fields.push(Field::new("kpi", DataType::Utf8, false));
    columns.push(Arc::new(kpi));
    for name in ["value", "numerator", "denominator"] {
        fields.push(Field::new(name, DataType::Float64, true));
    }
    columns.push(floats(|m| m.value));
    columns.push(floats(|m| m.numerator));
    columns.push(floats(|m| m.denominator));
    fields.push(Field::new("unit", DataType::Utf8, false));
    columns.push(Arc::new(unit));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(arrow_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use arrow_array::{Array, Float64Array, Int64Array};

    const HOUR: i64 = 3_600_000_000;
    const DAY: i64 = 24 * HOUR;
    // Monday 2024-01-01 00:00 UTC.
    const T0: i64 = 1_704_067_200_000_000;

    fn ts(values: &[i64]) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values.to_vec()).with_timezone("UTC"))
    }

    fn table(name: &'static str, columns: Vec<(&str, ArrayRef)>) -> TableInput {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(
            schema.clone(),
            columns.into_iter().map(|(_, a)| a).collect(),
        );
        TableInput::new(
            name,
            schema,
            vec![batch.expect("valid batch")],
            HashMap::new(),
        )
    }

    fn contacts(ids: &[i64], customers: &[Option<i64>], created: &[i64]) -> TableInput {
        table(
            "contacts",
            vec![
                ("contact_id", Arc::new(Int64Array::from(ids.to_vec()))),
                (
                    "customer_id",
                    Arc::new(Int64Array::from(customers.to_vec())),
                ),
                ("created_at", ts(created)),
            ],
        )
    }

    fn orders(customers: &[Option<i64>], created: &[i64], revenue: &[f64]) -> TableInput {
        let ids: Vec<i64> = (0..customers.len() as i64).collect();
        table(
            "orders",
            vec![
                ("order_id", Arc::new(Int64Array::from(ids))),
                (
                    "customer_id",
                    Arc::new(Int64Array::from(customers.to_vec())),
                ),
                ("created_at", ts(created)),
                ("revenue", Arc::new(Float64Array::from(revenue.to_vec()))),
            ],
        )
    }

    fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
        batch.column(batch.schema().index_of(name).expect("column exists"))
    }

    #[test]
    fn tie_goes_to_the_greatest_id_and_window_edges_hold() {
        // Contacts 9 and 10 of customer 1 tie at T0+1h; an order at +1h+7d exactly (counts)
        // and one at the same instant as contact 11 (strictly after nothing new).
        let c = contacts(
            &[9, 10, 11],
            &[Some(1), Some(1), None],
            &[T0 + HOUR, T0 + HOUR, T0 + 2 * HOUR],
        );
        let o = orders(
            &[Some(1), None],
            &[T0 + HOUR + 7 * DAY, T0 + 3 * HOUR],
            &[50.0, 9.0],
        );
        let out = enrich(&c, &o, &Options::default()).expect("enrich works");
        let revenue = column(&out, "attributed_revenue").as_primitive::<Float64Type>();
        assert_eq!(revenue.values().to_vec(), vec![0.0, 50.0, 0.0]);
        let hours = column(&out, "hours_to_next_order").as_primitive::<Float64Type>();
        assert_eq!(hours.value(0), 168.0);
        assert!(hours.is_null(2), "anonymous contacts never join");
        let recovered = column(&out, "recovered_7d").as_boolean();
        assert!(recovered.value(0) && recovered.value(1) && !recovered.value(2));
    }

    #[test]
    fn weekly_recovery_counts_only_mature_contacts() {
        // Customer 1 at T0 recovers at T0+1d; customer 2 at T0+6d is immature at as_of
        // (= the latest created_at, T0+8d): 6d + 7d > 8d.
        let c = contacts(&[1, 2], &[Some(1), Some(2)], &[T0, T0 + 6 * DAY]);
        let o = orders(
            &[Some(1), Some(3)],
            &[T0 + DAY, T0 + 8 * DAY],
            &[10.0, 20.0],
        );
        let card = scorecard(&c, &o, None, &Options::default()).expect("scorecard works");
        let t = &card.table;
        let kpi = column(t, "kpi").as_string::<i32>();
        let value = column(t, "value").as_primitive::<Float64Type>();
        let den = column(t, "denominator").as_primitive::<Float64Type>();
        let row = (0..t.num_rows())
            .find(|&i| kpi.value(i) == "recovery_rate_7d")
            .expect("recovery row");
        assert_eq!((value.value(row), den.value(row)), (1.0, 1.0));
        assert_eq!(card.as_of, Some(T0 + 8 * DAY));
        // Two weeks: T0's week and the week holding as_of.
        let starts = column(t, "period_start")
            .as_primitive::<arrow_array::types::TimestampMicrosecondType>();
        assert_eq!(starts.value(t.num_rows() - 1), T0 + 7 * DAY);
    }

    #[test]
    fn bad_values_are_typed_errors_not_panics() {
        let c = contacts(&[1, 1], &[Some(1), Some(1)], &[T0, T0]);
        let o = orders(&[Some(1)], &[T0], &[1.0]);
        match scorecard(&c, &o, None, &Options::default()) {
            Err(Error::Data {
                table, column, row, ..
            }) => {
                assert_eq!(
                    (table.as_str(), column.as_str()),
                    ("contacts", "contact_id")
                );
                assert_eq!(row.position, 1);
            }
            other => panic!("expected a DataError, got {:?}", other.map(|c| c.as_of)),
        }
        let options = Options {
            tz: "Mars/Olympus".to_owned(),
            ..Options::default()
        };
        let c = contacts(&[1], &[Some(1)], &[T0]);
        assert!(matches!(
            scorecard(&c, &o, None, &options),
            Err(Error::Config { .. })
        ));
    }
}
