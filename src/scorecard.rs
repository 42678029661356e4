//! The scorecard pipeline: ingest → joins → per-day × group states → periods → KPI rows,
//! with baselines, bands and diagnostics read from the config. Also the per-contact view
//! (`enrich`), which stops after the joins.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt32Array,
};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{DataType, Field, Schema, SortOptions};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::aggregate::breakdown::{Breakdown, BreakdownInputs};
use crate::aggregate::daily::{
    add_session_totals, backlog_at_period_ends, backlog_in_windows, build_daily, customer_cohorts,
    day_in_grid, matures, resolved_without_human, CohortRules, Context, Daily, IntentFlags,
};
use crate::aggregate::state::{
    CellValues, ContactState, DayTotals, PeriodCustomerState, RepurchaseState,
};
use crate::bands::band_of;
use crate::catalog::{Cell, CellSamples, KpiDef, Measure, Need, Reads, CATALOG};
use crate::config::{
    check_window, parse_duration, parse_instant, Config, RuleKind, MAX_WINDOW_DAYS,
};
use crate::diagnostics::{fire, parse_condition, Condition, Evidence, Expr, Facts, When};
use crate::error::{Error, Result};
use crate::ingest::columns::{read_coded, read_ids, IdColumn};
use crate::ingest::{
    read_events, read_joinable, read_sessions, Contacts, Event, HandledBy, Joinable, OnInvalid,
    SessionTime, Sessions, TableAudit, TableInput, NULL_CODE, NULL_TS,
};
use crate::joins::{join_contacts, ContactJoins, CustomerIndex, Windows};
use crate::limits::{self, ViewShape};
use crate::time::{local_midnight_utc, parse_tz, Calendar, PeriodKind};
use crate::trace::PhaseTimer;

const MICROS_PER_HOUR: f64 = 3.6e9;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Scorecard options, deserialized from the Python call's keyword arguments (unknown keys
/// are a `ConfigError`). Windows left `None` come from the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// recovered_7d and attribution window, µs.
    pub recovery_window: Option<i64>,
    /// repeat_14d window, µs.
    pub repeat_window: Option<i64>,
    /// recontact_48h window, µs.
    pub recontact_window: Option<i64>,
    /// repurchase_rate_90d window, µs.
    pub repurchase_window: Option<i64>,
    /// Baseline window before each period, µs (whole days).
    pub baseline_window: Option<i64>,
    /// A fixed baseline range [start, end), UTC µs, instead of the rolling window.
    pub baseline_range: Option<(i64, i64)>,
    /// clv_simple lifespan, days.
    pub clv_lifespan_days: f64,
    /// Renaming per table: table -> (ours -> theirs).
    pub columns: HashMap<String, HashMap<String, String>>,
    /// A (partial) configuration document; null for the defaults.
    pub config: serde_json::Value,
    /// Raise on the first invalid row (default) or drop invalid rows and audit them.
    pub on_invalid: OnInvalid,
    /// The KPI ids the card shows (catalogue ids); `None` for every KPI.
    pub kpis: Option<Vec<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            by: "week".to_owned(),
            tz: "UTC".to_owned(),
            group_by: Vec::new(),
            as_of: None,
            recovery_window: None,
            repeat_window: None,
            recontact_window: None,
            repurchase_window: None,
            baseline_window: None,
            baseline_range: None,
            clv_lifespan_days: 3.0 * 365.0,
            columns: HashMap::new(),
            config: serde_json::Value::Null,
            on_invalid: OnInvalid::Raise,
            kpis: None,
        }
    }
}

/// Columns of the scorecard's output tables (long, bands, diagnostics) besides the group
/// keys: a group_by column of the same name would make two columns of one name.
const OUTPUT_COLUMNS: &[&str] = &[
    "period_start",
    "kpi",
    "value",
    "numerator",
    "denominator",
    "unit",
    "band",
    "owner",
    "baseline",
    "delta_vs_baseline",
    "expected",
    "rule",
    "symptom",
    "likely_cause",
    "action",
    "validation_metric",
    "evidence",
];

/// Options resolved against the config.
pub struct Settings {
    /// The configuration.
    pub config: Config,
    /// Period kind.
    pub kind: PeriodKind,
    /// Zone.
    pub tz: chrono_tz::Tz,
    /// Join windows.
    pub windows: Windows,
    /// Repurchase window, µs.
    pub repurchase_window: i64,
    /// Rolling baseline length, days.
    pub baseline_days: usize,
    /// Fixed baseline range, if any.
    pub baseline_range: Option<(i64, i64)>,
    /// Per catalogue entry: whether the card shows it.
    pub shown: Vec<bool>,
}

impl Options {
    /// Parses options from JSON (the binding's transport), mapping failures to ConfigError.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text)).map_err(
            |e| {
                let path = e.path().to_string();
                Error::config(
                    if path == "." { "options" } else { &path },
                    e.into_inner().to_string(),
                )
            },
        )
    }

    /// Resolves the options against the config and checks every value.
    pub fn settings(&self) -> Result<Settings> {
        let config = Config::from_value(self.config.clone())?;
        let kind = PeriodKind::parse(&self.by)?;
        let tz = parse_tz(&self.tz)?;
        let window = |given: Option<i64>, key: &str, configured: &str| -> Result<i64> {
            match given {
                Some(w) => check_window(w, key),
                None => parse_duration(configured, &format!("windows.{key}")),
            }
        };
        let w = &config.windows;
        let windows = Windows {
            recovery: window(self.recovery_window, "recovery_window", &w.recovery)?,
            repeat: window(self.repeat_window, "repeat_window", &w.repeat)?,
            recontact: window(self.recontact_window, "recontact_window", &w.recontact)?,
        };
        let repurchase_window = window(self.repurchase_window, "repurchase_window", &w.repurchase)?;
        let baseline = window(self.baseline_window, "baseline_window", &w.baseline)?;
        if baseline % MICROS_PER_DAY != 0 {
            return Err(Error::config(
                "baseline_window",
                "the baseline window must be a whole number of days (it is counted in local days)",
            ));
        }
        let baseline_range = match (self.baseline_range, &config.baseline_range) {
            (Some(range), _) => Some(range),
            (None, Some(fixed)) => Some((
                parse_instant(&fixed.start, "baseline_range.start")?,
                parse_instant(&fixed.end, "baseline_range.end")?,
            )),
            (None, None) => None,
        };
        if let Some((start, end)) = baseline_range {
            if end <= start {
                return Err(Error::config("baseline_range", "end must be after start"));
            }
        }
        // An as_of or baseline range centuries away would stretch the day grid just as an
        // implausible row would.
        let (earliest, latest) = config.timestamps.bounds()?;
        let plausible = |t: i64| (earliest..=latest).contains(&t);
        if self.as_of.is_some_and(|t| !plausible(t)) {
            return Err(Error::config(
                "as_of",
                "outside the plausible range of timestamps (config timestamps.earliest / latest)",
            ));
        }
        if baseline_range.is_some_and(|(start, end)| !plausible(start) || !plausible(end)) {
            return Err(Error::config(
                "baseline_range",
                "outside the plausible range of timestamps (config timestamps.earliest / latest)",
            ));
        }
        if !(self.clv_lifespan_days.is_finite()
            && self.clv_lifespan_days > 0.0
            && self.clv_lifespan_days <= MAX_WINDOW_DAYS as f64)
        {
            return Err(Error::config(
                "clv_lifespan_days",
                format!("must be a positive number of days, at most {MAX_WINDOW_DAYS}"),
            ));
        }
        let mut seen = BTreeSet::new();
        for column in &self.group_by {
            if OUTPUT_COLUMNS.contains(&column.as_str()) {
                return Err(Error::config(
                    "group_by",
                    format!(
                        "{column:?} is also a column of the scorecard's tables ({}); rename it \
                         with columns={{\"contacts\": {{\"{column}_group\": \"{column}\"}}}} and \
                         group by the new name",
                        OUTPUT_COLUMNS.join(", ")
                    ),
                ));
            }
            if !seen.insert(column.as_str()) {
                return Err(Error::config(
                    "group_by",
                    format!("{column:?} is listed twice"),
                ));
            }
        }
        for table in self.columns.keys() {
            if !matches!(
                table.as_str(),
                "contacts" | "orders" | "sessions" | "events"
            ) {
                return Err(Error::config(
                    "columns",
                    format!(
                        "unknown table {table:?}; expected contacts, orders, sessions or events"
                    ),
                ));
            }
        }
        Ok(Settings {
            config,
            kind,
            tz,
            windows,
            repurchase_window,
            baseline_days: (baseline / MICROS_PER_DAY) as usize,
            baseline_range,
            shown: shown_kpis(self.kpis.as_deref())?,
        })
    }

    /// The renaming for one table.
    pub fn rename_for(&self, table: &str) -> HashMap<String, String> {
        self.columns.get(table).cloned().unwrap_or_default()
    }
}

/// The joined inputs and per-contact results shared by `scorecard` and `enrich`.
struct Joined {
    data: Joinable,
    index: CustomerIndex,
    joins: ContactJoins,
    as_of: Option<i64>,
}

/// Per catalogue entry, whether a `kpis` selection (all when `None`) names it; an unknown
/// id is a `ConfigError`.
fn shown_kpis(kpis: Option<&[String]>) -> Result<Vec<bool>> {
    let Some(ids) = kpis else {
        return Ok(vec![true; CATALOG.len()]);
    };
    if ids.is_empty() {
        return Err(Error::config(
            "kpis",
            "name at least one KPI (or leave kpis out for all of them)",
        ));
    }
    let mut shown = vec![false; CATALOG.len()];
    for id in ids {
        let k = CATALOG.iter().position(|kpi| kpi.id == id).ok_or_else(|| {
            Error::config(
                "kpis",
                format!("unknown KPI {id:?}; sk.kpi_catalog() lists the catalogue's ids"),
            )
        })?;
        shown[k] = true;
    }
    Ok(shown)
}

/// Per catalogue entry, whether a view computes it: the KPIs it shows and every KPI a
/// diagnostic rule reads (rules fire the same whatever the card shows; hotspot rules read
/// the contact and order counts).
fn computed_kpis(shown: &[bool], rules: &[PreparedRule]) -> Vec<bool> {
    let mut read: Vec<&str> = rule_kpi_reads(rules)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    if rules.iter().any(|rule| rule.kind == RuleKind::Hotspot) {
        read.extend(["contacts", "orders"]);
    }
    CATALOG
        .iter()
        .zip(shown)
        .map(|(kpi, &on)| on || read.contains(&kpi.id))
        .collect()
}

/// Every KPI the rules' conditions read, with whether it is read at the baseline (inside
/// `ratio_to_baseline(...)`).
fn rule_kpi_reads(rules: &[PreparedRule]) -> Vec<(&str, bool)> {
    fn walk<'e>(expr: &'e Expr, at_baseline: bool, out: &mut Vec<(&'e str, bool)>) {
        match expr {
            Expr::Kpi(ids) => out.extend(ids.iter().map(|id| (id.as_str(), at_baseline))),
            Expr::RatioToBaseline(e) => walk(e, true, out),
            Expr::Delta(e) | Expr::PctChange(e) | Expr::Abs(e) => walk(e, at_baseline, out),
            Expr::Ratio(a, b) => {
                walk(a, at_baseline, out);
                walk(b, at_baseline, out);
            }
            Expr::By { .. } | Expr::EventEndedWithin { .. } => {}
        }
    }
    let mut read = Vec::new();
    for rule in rules {
        for c in &rule.conditions {
            walk(&c.expr, false, &mut read);
        }
    }
    read
}

/// Whether any computed KPI reads the states of `pass`.
fn pass_needed(computed: &[bool], pass: Reads) -> bool {
    CATALOG
        .iter()
        .zip(computed)
        .any(|(kpi, &on)| on && kpi.reads == pass)
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

fn join_inputs(
    contacts: &TableInput,
    orders: &TableInput,
    options: &Options,
    settings: &Settings,
    timer: &mut PhaseTimer,
) -> Result<Joined> {
    let mut data = read_joinable(
        contacts,
        orders,
        &settings.config.scales,
        settings.config.timestamps.bounds()?,
        options.on_invalid,
    )?;
    timer.lap("ingest")?;
    let as_of = options.as_of.or_else(|| max_created(&data));
    let (index, columns) = CustomerIndex::build(&data.contacts, &data.orders, data.customers);
    data.release_index_keys();
    timer.lap("index")?;
    let joins = join_contacts(
        &data.contacts,
        &data.orders,
        &index,
        &columns,
        settings.windows,
    );
    drop(columns);
    timer.lap("joins")?;
    Ok(Joined {
        data,
        index,
        joins,
        as_of,
    })
}

fn batch(columns: Vec<(String, ArrayRef)>, what: &str) -> Result<RecordBatch> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(name, array.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .map_err(|e| Error::Arrow {
        table: what.to_owned(),
        message: e.to_string(),
    })
}

/// Per-contact join results as an Arrow batch, in input order (see docs/semantics.md).
pub fn enrich(
    contacts: &TableInput,
    orders: &TableInput,
    options: &Options,
) -> Result<Vec<RecordBatch>> {
    prepare(
        contacts.clone(),
        orders.clone(),
        None,
        None,
        options.clone(),
    )?
    .enrich()
}

/// Inputs read, validated and joined once. Any number of scorecard views (periods, zones,
/// groupings) and the per-contact view are computed from it without re-reading or
/// re-joining.
pub struct Prepared {
    contacts: TableInput,
    orders: TableInput,
    sessions_table: Option<TableInput>,
    options: Options,
    settings: Settings,
    sessions: Option<Sessions>,
    events: Vec<Event>,
    audits: Vec<TableAudit>,
    joined: Joined,
}

/// Reads the sessions and events tables (when given) with their row audits: the inputs that
/// are not per customer, read once for a local card and at the merge of partial states.
pub(crate) fn read_calendar_tables(
    sessions_table: Option<&TableInput>,
    events_table: Option<&TableInput>,
    options: &Options,
    settings: &Settings,
) -> Result<(Option<Sessions>, Vec<Event>, Vec<TableAudit>)> {
    let time_range = settings.config.timestamps.bounds()?;
    let mut audits = Vec::new();
    let sessions = match sessions_table {
        Some(table) => {
            let (sessions, audit) = read_sessions(table, options.on_invalid, time_range)?;
            audits.push(audit);
            Some(sessions)
        }
        None => None,
    };
    let events = match events_table {
        Some(table) => {
            let (events, audit) = read_events(table, options.on_invalid, time_range)?;
            audits.push(audit);
            events
        }
        None => Vec::new(),
    };
    Ok((sessions, events, audits))
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

/// Reads, validates and joins the inputs (the part of the work shared by every view).
pub fn prepare(
    contacts: TableInput,
    orders: TableInput,
    sessions_table: Option<TableInput>,
    events_table: Option<TableInput>,
    options: Options,
) -> Result<Prepared> {
    let settings = options.settings()?;
    let (sessions, events, mut audits) = read_calendar_tables(
        sessions_table.as_ref(),
        events_table.as_ref(),
        &options,
        &settings,
    )?;
    prepare_rules(&settings.config)?;
    let mut timer = PhaseTimer::from_env("prepare");
    let joined = join_inputs(&contacts, &orders, &options, &settings, &mut timer)?;
    audits.splice(0..0, joined.data.audits.iter().cloned());
    Ok(Prepared {
        contacts,
        orders,
        sessions_table,
        options,
        settings,
        sessions,
        events,
        audits,
        joined,
    })
}

impl Prepared {
    /// The as_of the joins were matured against.
    pub fn as_of(&self) -> Option<i64> {
        self.joined.as_of
    }

    /// Rows read, used and dropped per table.
    pub fn row_audit(&self) -> &[TableAudit] {
        &self.audits
    }

    /// The per-contact view (see [`enrich`]).
    pub fn enrich(&self) -> Result<Vec<RecordBatch>> {
        let contacts = &self.contacts;
        let options = &self.options;
        let settings = &self.settings;
        let joined = &self.joined;
        enrich_prepared(contacts, options, settings, joined)
    }

    /// A scorecard view: `view` supplies the period, zone, grouping, baseline and cohort
    /// options; everything that shapes the joins (windows, as_of, config, renaming,
    /// on_invalid) is the prepared one.
    pub fn scorecard(&self, view: &Options) -> Result<Scorecard> {
        let options = self.view_options(view);
        let settings = options.settings()?;
        let view = build_view(self, &options, &settings, 0)?;
        let sessions = self.sessions_table.as_ref().zip(self.sessions.as_ref());
        finish(view, &options, &settings, sessions, &self.events)
    }

    /// The partial state of this slice of customers for a view (see [`crate::partial`]).
    pub fn partial(&self, view: &Options) -> Result<Vec<u8>> {
        let options = self.view_options(view);
        let settings = options.settings()?;
        let view = build_view(self, &options, &settings, partial_extension(&settings))?;
        let slices = self.slice_fingerprint()?.into_iter().collect();
        crate::partial::encode(view, &options, slices)
    }

    /// A hash of the slice's contact and order ids, row by row (None without rows): two
    /// states with the same fingerprint hold the same rows.
    fn slice_fingerprint(&self) -> Result<Option<u64>> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        let mut rows = 0usize;
        for (table, id) in [(&self.contacts, "contact_id"), (&self.orders, "order_id")] {
            let Some(chunks) = table.column(id)? else {
                continue;
            };
            table.name.hash(&mut hasher);
            let (ids, _) = read_ids(&chunks)
                .map_err(|_| Error::schema(table.name, id, "ids must be integers or text"))?;
            match &ids {
                IdColumn::Int { values, valid } => {
                    values.hash(&mut hasher);
                    valid.hash(&mut hasher);
                }
                IdColumn::Text(text) => {
                    for id in text.iter() {
                        id.hash(&mut hasher);
                    }
                }
            }
            rows += ids.len();
        }
        Ok((rows > 0).then(|| hasher.finish()))
    }

    fn view_options(&self, view: &Options) -> Options {
        Options {
            by: view.by.clone(),
            tz: view.tz.clone(),
            group_by: view.group_by.clone(),
            repurchase_window: view.repurchase_window.or(self.options.repurchase_window),
            baseline_window: view.baseline_window.or(self.options.baseline_window),
            baseline_range: view.baseline_range.or(self.options.baseline_range),
            clv_lifespan_days: view.clv_lifespan_days,
            kpis: view.kpis.clone(),
            ..self.options.clone()
        }
    }
}

/// Rows per batch of the per-contact view: fixed, so the batches do not depend on the
/// thread count; each batch is built on its own thread.
const ENRICH_BATCH_ROWS: usize = 1 << 20;

fn enrich_prepared(
    contacts: &TableInput,
    options: &Options,
    settings: &Settings,
    joined: &Joined,
) -> Result<Vec<RecordBatch>> {
    let c = &joined.data.contacts;
    let flags = IntentFlags::new(c, &settings.config);
    if options.on_invalid == OnInvalid::Raise {
        // Input rows are the kept rows: the batches go out as they are, one chunk each.
        return (0..c.len.div_ceil(ENRICH_BATCH_ROWS).max(1))
            .into_par_iter()
            .map(|b| {
                let rows = b * ENRICH_BATCH_ROWS..((b + 1) * ENRICH_BATCH_ROWS).min(c.len);
                batch(
                    enrich_columns(settings, joined, &flags, rows),
                    "enrich_contacts",
                )
            })
            .collect();
    }
    let columns = enrich_columns(settings, joined, &flags, 0..c.len);
    // One row per input contact: dropped rows get nulls and their reason.
    let reasons = &joined.data.contact_drop_reasons;
    let input_rows = contacts.num_rows();
    let mut kept_index: Vec<Option<u32>> = vec![None; input_rows];
    for i in 0..c.len {
        kept_index[c.source_row(i)] = Some(i as u32);
    }
    let take = UInt32Array::from(kept_index);
    let mut expanded = Vec::with_capacity(columns.len() + 1);
    for (name, array) in columns {
        let taken =
            arrow_select::take::take(array.as_ref(), &take, None).map_err(|e| Error::Arrow {
                table: "enrich_contacts".to_owned(),
                message: e.to_string(),
            })?;
        expanded.push((name, taken));
    }
    let reason: StringArray = (0..input_rows)
        .map(|row| reasons.get(row).and_then(|r| r.as_deref()))
        .collect();
    expanded.push(("dropped_reason".into(), Arc::new(reason)));
    Ok(vec![batch(expanded, "enrich_contacts")?])
}

/// The per-contact view's columns for `rows` of the kept contacts.
fn enrich_columns(
    settings: &Settings,
    joined: &Joined,
    flags: &IntentFlags,
    rows: std::ops::Range<usize>,
) -> Vec<(String, ArrayRef)> {
    let c = &joined.data.contacts;
    let j = &joined.joins;
    let w = settings.windows;
    let as_of = joined.as_of.unwrap_or(i64::MIN);
    let n = rows.len();
    let first = rows.start;
    // Whole columns at once, not row by row through builders: flags are packed 64 rows
    // per word and numbers written straight into their buffers.
    let flags_of = |f: &dyn Fn(usize) -> bool| {
        BooleanArray::new(BooleanBuffer::collect_bool(n, |k| f(first + k)), None)
    };
    let paths: Vec<HandledBy> = rows.clone().map(|i| c.path(i)).collect();
    let path: StringArray = paths.iter().map(|p| p.name()).collect();
    let without_human = flags_of(&|i| resolved_without_human(c, i, paths[i - first]));
    let recovered = flags_of(&|i| j.recovered[i]);
    let recovery_mature = flags_of(&|i| matures(c.created_at[i], w.recovery, as_of));
    let delays = &j.next_order_delay[rows.clone()];
    let hours = Float64Array::new(
        delays.iter().map(|&d| d as f64 / MICROS_PER_HOUR).collect(),
        Some(NullBuffer::new(BooleanBuffer::collect_bool(n, |k| {
            delays[k] != NULL_TS
        }))),
    );
    let attributed_orders: Int64Array = j.attributed_orders[rows.clone()]
        .iter()
        .map(|&v| i64::from(v))
        .collect();
    let attributed_revenue = Float64Array::from(j.attributed_revenue[rows.clone()].to_vec());
    let repeat = flags_of(&|i| j.repeat[i]);
    let repeat_mature = flags_of(&|i| matures(c.created_at[i], w.repeat, as_of));
    let recontacts = &j.recontact[rows.clone()];
    let recontact = BooleanArray::new(
        BooleanBuffer::collect_bool(n, |k| recontacts[k] == 1),
        Some(NullBuffer::new(BooleanBuffer::collect_bool(n, |k| {
            recontacts[k] != -1
        }))),
    );
    let recontact_mature = flags_of(&|i| {
        let resolved_at = c.resolved_at.as_ref().map_or(NULL_TS, |r| r[i]);
        resolved_at != NULL_TS && matures(resolved_at, w.recontact, as_of)
    });
    let preventable = flags_of(&|i| flags.is_preventable(c, i));
    vec![
        ("path".into(), Arc::new(path)),
        ("resolved_without_human".into(), Arc::new(without_human)),
        ("recovered_7d".into(), Arc::new(recovered)),
        ("recovery_mature".into(), Arc::new(recovery_mature)),
        ("hours_to_next_order".into(), Arc::new(hours)),
        ("attributed_orders".into(), Arc::new(attributed_orders)),
        ("attributed_revenue".into(), Arc::new(attributed_revenue)),
        ("repeat_14d".into(), Arc::new(repeat)),
        ("repeat_mature".into(), Arc::new(repeat_mature)),
        ("recontact_48h".into(), Arc::new(recontact)),
        ("recontact_mature".into(), Arc::new(recontact_mature)),
        ("preventable".into(), Arc::new(preventable)),
    ]
}

/// Up to this many distinct values of a one-column `group_by`, each thread keeps its own
/// table of first rows while numbering the groups in parallel.
const PARALLEL_GROUP_SLOTS: usize = 1 << 16;

/// Group codes of the contacts over the `group_by` columns, and each group's key values
/// (one row per group). Groups are numbered in the sort order of their keys (nulls last),
/// so the output order depends neither on row order nor on how customers were partitioned.
struct Groups {
    code: Vec<u32>,
    keys: Vec<(String, ArrayRef)>,
    n_groups: usize,
}

fn group_contacts(contacts: &TableInput, group_by: &[String], rows: &Contacts) -> Result<Groups> {
    let n = rows.len;
    if group_by.is_empty() {
        return Ok(Groups {
            code: vec![0; n],
            keys: Vec::new(),
            n_groups: 1,
        });
    }
    let mut per_column = Vec::with_capacity(group_by.len());
    // Each column is read once (an on-demand table reads it from its file) and kept until
    // the groups' key values are taken out of it.
    let mut column_chunks = Vec::with_capacity(group_by.len());
    for column in group_by {
        let Some(chunks) = contacts.column(column)? else {
            return Err(Error::config(
                "group_by",
                format!("{column:?} is not a column of contacts"),
            ));
        };
        let coded = read_coded(&chunks, true)
            .map_err(|_| Error::schema("contacts", column, "cannot group by this column's type"))?;
        per_column.push(coded.codes);
        column_chunks.push(chunks);
    }
    let mut representative = Vec::new();
    let mut code = if let [codes] = per_column.as_slice() {
        // One column (the common case): a table indexed by its value code, no hashing.
        let n_values = codes
            .iter()
            .filter(|&&c| c != NULL_CODE)
            .max()
            .map_or(0, |&c| c + 1) as usize;
        // Null keys take the slot after the values.
        let slot_of = |i: usize| -> usize {
            match codes[rows.source_row(i)] {
                NULL_CODE => n_values,
                c => c as usize,
            }
        };
        let (groups, first_rows) =
            number_by_first_appearance(n, n_values + 1, slot_of, PARALLEL_GROUP_SLOTS);
        representative.extend(first_rows.into_iter().map(|i| rows.source_row(i) as u32));
        groups
    } else {
        let mut index: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
        let mut key = Vec::with_capacity(group_by.len());
        let mut code = Vec::with_capacity(n);
        for i in 0..n {
            // Group columns are read from the input, so index them by input position.
            let row = rows.source_row(i);
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
        code
    };
    let mut keys = Vec::with_capacity(group_by.len());
    for (column, chunks) in group_by.iter().zip(column_chunks) {
        let taken = contacts.take_chunk_rows(column, &chunks, &representative)?;
        keys.push((column.clone(), plain_key_column(taken, column)?));
    }
    let (sorted_code, keys) = distinct_sorted_keys(&keys)?;
    code.par_iter_mut()
        .for_each(|c| *c = sorted_code[*c as usize]);
    Ok(Groups {
        code,
        n_groups: keys.first().map_or(0, |(_, a)| a.len()),
        keys,
    })
}

/// Numbers the distinct slots of rows `0..n` (each row's slot in `0..n_slots`) in order of
/// first appearance: each row's number, and the first row of each number. With at most
/// `parallel_max_slots` slots, each thread finds first rows in a table of its own and the
/// rows are numbered in parallel; with more, one pass does it without tables per thread.
fn number_by_first_appearance(
    n: usize,
    n_slots: usize,
    slot_of: impl Fn(usize) -> usize + Sync,
    parallel_max_slots: usize,
) -> (Vec<u32>, Vec<usize>) {
    let first_of_slot = if n_slots <= parallel_max_slots {
        (0..n)
            .into_par_iter()
            .with_min_len(1 << 16)
            .fold(
                || vec![usize::MAX; n_slots],
                |mut first, i| {
                    let slot = slot_of(i);
                    first[slot] = first[slot].min(i);
                    first
                },
            )
            .reduce(
                || vec![usize::MAX; n_slots],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x = (*x).min(y);
                    }
                    a
                },
            )
    } else {
        let mut first = vec![usize::MAX; n_slots];
        for i in 0..n {
            let slot = slot_of(i);
            if first[slot] == usize::MAX {
                first[slot] = i;
            }
        }
        first
    };
    let mut seen: Vec<(usize, usize)> = first_of_slot
        .iter()
        .enumerate()
        .filter(|(_, &first)| first != usize::MAX)
        .map(|(slot, &first)| (first, slot))
        .collect();
    seen.sort_unstable();
    let mut number_of_slot = vec![u32::MAX; n_slots];
    for (number, &(_, slot)) in seen.iter().enumerate() {
        number_of_slot[slot] = number as u32;
    }
    let mut numbers = Vec::with_capacity(n);
    (0..n)
        .into_par_iter()
        .map(|i| number_of_slot[slot_of(i)])
        .collect_into_vec(&mut numbers);
    (numbers, seen.into_iter().map(|(first, _)| first).collect())
}

/// Named key columns, one row per group.
pub(crate) type KeyColumns = Vec<(String, ArrayRef)>;

/// A group key column in its plain type (dictionaries decoded, string views and large
/// strings as strings), so keys from different partitions compare and concatenate.
pub(crate) fn plain_key_column(array: ArrayRef, column: &str) -> Result<ArrayRef> {
    let target = match array.data_type() {
        DataType::Dictionary(_, value) => value.as_ref().clone(),
        other => other.clone(),
    };
    let target = match target {
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        other => other,
    };
    if &target == array.data_type() {
        return Ok(array);
    }
    arrow_cast::cast(array.as_ref(), &target)
        .map_err(|e| Error::schema("contacts", column, format!("cannot group by it: {e}")))
}

/// The distinct rows of some key columns in sorted order (ascending, nulls last), and the
/// position of every input row among them.
pub(crate) fn distinct_sorted_keys(keys: &[(String, ArrayRef)]) -> Result<(Vec<u32>, KeyColumns)> {
    let arrow_error = |e: arrow_schema::ArrowError| Error::Arrow {
        table: "group_by".to_owned(),
        message: e.to_string(),
    };
    let fields = keys
        .iter()
        .map(|(_, a)| {
            SortField::new_with_options(
                a.data_type().clone(),
                SortOptions {
                    descending: false,
                    nulls_first: false,
                },
            )
        })
        .collect();
    let converter = RowConverter::new(fields).map_err(arrow_error)?;
    let arrays: Vec<ArrayRef> = keys.iter().map(|(_, a)| a.clone()).collect();
    let rows = converter.convert_columns(&arrays).map_err(arrow_error)?;
    let mut order: Vec<usize> = (0..rows.num_rows()).collect();
    order.sort_by(|&a, &b| rows.row(a).cmp(&rows.row(b)));
    let mut code = vec![0u32; rows.num_rows()];
    let mut firsts: Vec<u32> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        if k == 0 || rows.row(order[k - 1]) != rows.row(i) {
            firsts.push(i as u32);
        }
        code[i] = (firsts.len() - 1) as u32;
    }
    let take_rows = UInt32Array::from(firsts);
    let mut distinct = Vec::with_capacity(keys.len());
    for (name, array) in keys {
        let taken =
            arrow_select::take::take(array.as_ref(), &take_rows, None).map_err(arrow_error)?;
        distinct.push((name.clone(), taken));
    }
    Ok((code, distinct))
}

/// The contacts columns (our names) that the catalogue's KPIs ask for and the input has.
fn present_columns(contacts: &TableInput) -> BTreeSet<String> {
    let mut present = BTreeSet::new();
    for kpi in CATALOG {
        for need in kpi.needs {
            let names: &[&str] = match need {
                Need::Column(c) => std::slice::from_ref(c),
                Need::AnyColumn(cs) => cs,
                _ => &[],
            };
            for name in names {
                if contacts.has(name) {
                    present.insert((*name).to_owned());
                }
            }
        }
    }
    present
}

/// The scorecard as computed by the core.
pub struct Scorecard {
    /// The long table (see docs/semantics.md).
    pub table: RecordBatch,
    /// Bands per period × group × banded KPI.
    pub bands: RecordBatch,
    /// Fired diagnostic rules.
    pub diagnostics: RecordBatch,
    /// KPI id -> why it was left out.
    pub skipped: Vec<(String, String)>,
    /// The as_of used, UTC µs (None for empty inputs).
    pub as_of: Option<i64>,
    /// Rows read, used and dropped per table.
    pub row_audit: Vec<TableAudit>,
}

fn skip_reason(
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
struct CellResult {
    current: Vec<Measure>,
    baseline: Vec<Option<f64>>,
}

/// The rows and states a cell is evaluated from.
struct CellInputs<'a> {
    state: ContactState,
    /// Scratch lists the quantile inputs are gathered into, on demand.
    values: &'a mut CellValues,
    /// The quantile inputs of the cell's days.
    parts: Vec<&'a CellValues>,
    totals: DayTotals,
    period_contacts: u64,
    customers: &'a PeriodCustomerState,
    repurchase: &'a RepurchaseState,
    backlog: (u64, i128),
    peak_trough: Option<(u64, u64)>,
    days: f64,
}

impl CellInputs<'_> {
    fn evaluate(
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
struct DaysSum<'a> {
    state: ContactState,
    totals: DayTotals,
    /// Contacts of the days over all groups.
    all_groups: u64,
    /// (max, min) daily contacts over the observed days.
    peak_trough: Option<(u64, u64)>,
    /// The days' quantile inputs (gathered only when a KPI reads them).
    parts: Vec<&'a CellValues>,
}

/// Sums the daily states of `days` for group `g`; `day_contacts` holds each day's contacts
/// over all groups (summed once per view, so a cell costs its days, not its days × groups).
fn sum_days<'a>(
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

/// Reads a pass-through of the diagnostics' view of the computed cells.
struct CellFacts<'a> {
    p: usize,
    g: usize,
    n_groups: usize,
    results: &'a [CellResult],
    active: &'a HashMap<&'static str, usize>,
    breakdowns: &'a BTreeMap<String, Breakdown>,
    events: &'a [Event],
    period_end: i64,
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

/// A rule ready to evaluate.
struct PreparedRule {
    id: String,
    kind: RuleKind,
    conditions: Vec<Condition>,
    spec: crate::config::RuleSpec,
}

fn prepare_rules(config: &Config) -> Result<Vec<PreparedRule>> {
    config
        .rules
        .iter()
        .filter(|(_, r)| r.enabled)
        .map(|(id, r)| {
            let conditions = r
                .when
                .iter()
                .map(|t| parse_condition(t).map_err(|e| Error::config(&format!("rules.{id}"), e)))
                .collect::<Result<Vec<_>>>()?;
            Ok(PreparedRule {
                id: id.clone(),
                kind: r.kind,
                conditions,
                spec: r.clone(),
            })
        })
        .collect()
}

/// Which active KPIs anything reads at the baseline: those shown with a band (the bands
/// table shows their baseline) and those inside a rule's `ratio_to_baseline(...)`.
fn baseline_reads(
    active: &[bool],
    shown: &[bool],
    config: &Config,
    rules: &[PreparedRule],
) -> Vec<bool> {
    let read: Vec<&str> = rule_kpi_reads(rules)
        .into_iter()
        .filter(|&(_, at_baseline)| at_baseline)
        .map(|(id, _)| id)
        .collect();
    CATALOG
        .iter()
        .zip(active.iter().zip(shown))
        .map(|(kpi, (&on, &show))| {
            on && ((show && config.bands.contains_key(kpi.id)) || read.contains(&kpi.id))
        })
        .collect()
}

fn rule_dimensions(rules: &[PreparedRule]) -> Vec<String> {
    fn walk(expr: &Expr, out: &mut Vec<String>) {
        match expr {
            Expr::By { dim, .. } => out.push(dim.clone()),
            Expr::Delta(e) | Expr::PctChange(e) | Expr::RatioToBaseline(e) | Expr::Abs(e) => {
                walk(e, out)
            }
            Expr::Ratio(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Expr::Kpi(_) | Expr::EventEndedWithin { .. } => {}
        }
    }
    let mut dims = Vec::new();
    for rule in rules {
        for c in &rule.conditions {
            walk(&c.expr, &mut dims);
        }
        if rule.kind == RuleKind::Hotspot {
            dims.extend(rule.spec.dimensions.iter().cloned());
        }
    }
    dims.sort();
    dims.dedup();
    dims
}

/// A fired rule.
struct Finding {
    p: usize,
    g: usize,
    rule: usize,
    evidence: BTreeMap<String, Evidence>,
}

fn hotspots(
    rule: &PreparedRule,
    p: usize,
    g: usize,
    breakdowns: &BTreeMap<String, Breakdown>,
    cell_contacts: u64,
    period_orders: u64,
) -> Vec<BTreeMap<String, Evidence>> {
    let mut found = Vec::new();
    if cell_contacts == 0 || period_orders == 0 {
        return found;
    }
    for dim in &rule.spec.dimensions {
        let Some(b) = breakdowns.get(dim) else {
            continue;
        };
        if b.contacts.is_none() || b.orders.is_none() {
            continue;
        }
        for (v, name) in b.values.iter().enumerate() {
            let (Some(contacts), Some(orders)) = (b.contacts_at(p, g, v), b.orders_at(p, v)) else {
                continue;
            };
            let contact_share = contacts as f64 / cell_contacts as f64;
            let order_share = orders as f64 / period_orders as f64;
            if (contacts as f64) >= rule.spec.min_contacts
                && contacts > 0
                && contact_share >= rule.spec.min_ratio * order_share
            {
                let mut evidence = BTreeMap::new();
                evidence.insert("dimension".to_owned(), Evidence::Text(dim.clone()));
                evidence.insert("value".to_owned(), Evidence::Text(name.clone()));
                evidence.insert("contacts".to_owned(), Evidence::Number(contacts as f64));
                evidence.insert("contact_share".to_owned(), Evidence::Number(contact_share));
                evidence.insert("orders".to_owned(), Evidence::Number(orders as f64));
                evidence.insert("order_share".to_owned(), Evidence::Number(order_share));
                if orders > 0 {
                    evidence.insert(
                        "contacts_per_order".to_owned(),
                        Evidence::Number(contacts as f64 / orders as f64),
                    );
                }
                found.push(evidence);
            }
        }
    }
    found
}

/// Computes the scorecard.
pub fn scorecard(
    contacts: &TableInput,
    orders: &TableInput,
    sessions_table: Option<&TableInput>,
    events_table: Option<&TableInput>,
    options: &Options,
) -> Result<Scorecard> {
    let prepared = prepare(
        contacts.clone(),
        orders.clone(),
        sessions_table.cloned(),
        events_table.cloned(),
        options.clone(),
    )?;
    prepared.scorecard(options)
}

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
    /// The baseline window [start, end) of each period.
    pub baseline_windows: Vec<(i64, i64)>,
    /// Open contacts at each baseline window's end, per period × group.
    pub baseline_backlog: Vec<(u64, i128)>,
    /// Slice counts per rule dimension (sessions not yet added).
    pub breakdowns: BTreeMap<String, Breakdown>,
}

/// How far a partial state's grid runs past its last row, µs: far enough to reach every
/// period and baseline window the slice's rows can touch once merged with slices whose
/// data runs later (a baseline window, plus a month of at most 31 days).
pub(crate) fn partial_extension(settings: &Settings) -> i64 {
    (settings.baseline_days as i64 + 32) * MICROS_PER_DAY
}

/// The baseline window of each period: the rolling window before it, or the fixed range.
pub(crate) fn baseline_windows(calendar: &Calendar, settings: &Settings) -> Vec<(i64, i64)> {
    (0..calendar.n_periods())
        .map(|p| match settings.baseline_range {
            Some(range) => range,
            None => {
                let start_day = calendar.period_days(p).start as i64;
                let from = calendar.date_of_day(start_day - settings.baseline_days as i64);
                (
                    local_midnight_utc(&settings.tz, from),
                    calendar.period_start(p),
                )
            }
        })
        .collect()
}

/// Builds the view state from the prepared rows. `extend` (µs) lengthens the grid past the
/// last row: a partial state must hold every period and baseline window its rows can reach
/// once merged with partitions whose data runs later.
pub(crate) fn build_view(
    prepared: &Prepared,
    options: &Options,
    settings: &Settings,
    extend: i64,
) -> Result<ViewState> {
    let config = &settings.config;
    let rules = prepare_rules(config)?;
    let mut timer = PhaseTimer::from_env("scorecard");
    let joined = &prepared.joined;
    let data = &joined.data;
    let groups = group_contacts(&prepared.contacts, &options.group_by, &data.contacts)?;
    let n_groups = groups.n_groups;
    let mut view = ViewState {
        group_keys: groups.keys.clone(),
        n_groups,
        contact_columns: present_columns(&prepared.contacts),
        has_cost: Context::has_cost(&data.contacts, config),
        audits: prepared.audits.clone(),
        as_of: joined.as_of,
        grid: None,
    };
    let (Some(as_of), Some(first)) = (joined.as_of, min_created(data)) else {
        return Ok(view);
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
    limits::check(&shape, config, input_rows)?;
    let ctx = Context {
        contacts: &data.contacts,
        joins: &joined.joins,
        flags: IntentFlags::new(&data.contacts, config),
        config,
        recovery_window: settings.windows.recovery,
        repeat_window: settings.windows.repeat,
        recontact_window: settings.windows.recontact,
        as_of,
    };
    timer.lap("groups")?;
    // A pass no computed KPI reads is skipped; its states stay empty (zero), which only
    // the skipped KPIs would read.
    let computed = computed_kpis(&settings.shown, &rules);
    let n_periods = calendar.n_periods();
    // Cohorts first: their per-row period and group lists are freed before the daily
    // pass allocates the quantile lists the view keeps, so the two never add up in the
    // peak memory.
    let (repurchase, per_period) = if pass_needed(&computed, Reads::Customers) {
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
        )
    } else {
        (
            vec![RepurchaseState::default(); n_periods * n_groups],
            vec![PeriodCustomerState::default(); n_periods],
        )
    };
    timer.lap("cohorts")?;
    let daily = build_daily(&ctx, &calendar, &groups.code, n_groups, data);
    timer.lap("daily")?;
    let windows = baseline_windows(&calendar, settings);
    let baseline_backlog = if pass_needed(&computed, Reads::Backlog) {
        backlog_in_windows(&data.contacts, &groups.code, n_groups, &windows)
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
            limits::check(&shape, config, input_rows)
        };
        let breakdown = Breakdown::build(&dim, &inputs, &within_budget)?;
        shape.slice_values += breakdown.values.len();
        breakdowns.insert(dim, breakdown);
    }
    timer.lap("breakdowns")?;
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
    });
    Ok(view)
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
    let rules = prepare_rules(config)?;
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

fn cells_with<'a>(
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
fn whole_days_within(calendar: &Calendar, start: i64, end: i64) -> std::ops::Range<usize> {
    let n = calendar.n_days();
    let first = calendar.day_starts.partition_point(|&s| s < start).min(n);
    let last = calendar
        .day_starts
        .partition_point(|&s| s <= end)
        .saturating_sub(1)
        .min(n);
    first..last.max(first)
}

/// Builds the output tables (shared key columns: period_start and the group columns).
struct Output<'a> {
    tz: chrono_tz::Tz,
    group_keys: &'a [(String, ArrayRef)],
}

impl Output<'_> {
    fn key_columns(
        &self,
        calendar: &Calendar,
        keys: &[(usize, usize)],
    ) -> Result<Vec<(String, ArrayRef)>> {
        let tz_name: Arc<str> = Arc::from(self.tz.name());
        let period_start = TimestampMicrosecondArray::from(
            keys.iter()
                .map(|&(p, _)| calendar.period_start(p))
                .collect::<Vec<_>>(),
        )
        .with_timezone(tz_name);
        let mut columns: Vec<(String, ArrayRef)> =
            vec![("period_start".to_owned(), Arc::new(period_start))];
        let take_rows = UInt32Array::from(keys.iter().map(|&(_, g)| g as u32).collect::<Vec<_>>());
        for (column, values) in self.group_keys {
            let taken =
                arrow_select::take::take(values.as_ref(), &take_rows, None).map_err(|e| {
                    Error::Arrow {
                        table: "scorecard".to_owned(),
                        message: e.to_string(),
                    }
                })?;
            columns.push((column.clone(), taken));
        }
        Ok(columns)
    }

    fn kpi_table(
        &self,
        calendar: &Calendar,
        cells: &[(usize, usize)],
        results: &[CellResult],
        active: &[bool],
    ) -> Result<RecordBatch> {
        let mut keys = Vec::new();
        let mut rows: Vec<(&'static KpiDef, Measure)> = Vec::new();
        for (&(p, g), result) in cells.iter().zip(results) {
            for (k, kpi) in CATALOG.iter().enumerate() {
                if active[k] {
                    keys.push((p, g));
                    rows.push((kpi, result.current[k]));
                }
            }
        }
        let mut columns = self.key_columns(calendar, &keys)?;
        let floats = |f: fn(&Measure) -> Option<f64>| -> ArrayRef {
            Arc::new(Float64Array::from(
                rows.iter().map(|(_, m)| f(m)).collect::<Vec<_>>(),
            ))
        };
        columns.push((
            "kpi".into(),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(k, _)| k.id),
            )),
        ));
        columns.push(("value".into(), floats(|m| m.value)));
        columns.push(("numerator".into(), floats(|m| m.numerator)));
        columns.push(("denominator".into(), floats(|m| m.denominator)));
        columns.push((
            "unit".into(),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(k, _)| k.unit.name()),
            )),
        ));
        batch(columns, "scorecard")
    }

    fn bands_table(
        &self,
        calendar: &Calendar,
        cells: &[(usize, usize, &CellResult)],
        config: &Config,
        active: &[bool],
        events: &[Event],
    ) -> Result<RecordBatch> {
        let banded: Vec<(usize, &'static KpiDef, crate::catalog::BandRule, &str)> = CATALOG
            .iter()
            .enumerate()
            .filter(|(k, _)| active[*k])
            .filter_map(|(k, kpi)| {
                let spec = config.bands.get(kpi.id)?;
                let rule = spec.rule(kpi.id).ok()?;
                Some((k, kpi, rule, spec.owner.as_str()))
            })
            .collect();
        let mut keys = Vec::new();
        let (mut kpi, mut value, mut band, mut owner, mut baseline, mut delta, mut expected) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for &(p, g, result) in cells {
            let (start, end) = (calendar.period_start(p), calendar.period_end(p));
            // A peak overlapping the period makes a band change expected (seed 001).
            let peak = events
                .iter()
                .any(|e| e.kind == "peak" && e.start < end && e.end >= start);
            for &(k, def, rule, who) in &banded {
                let v = result.current[k].value;
                let b = result.baseline[k];
                keys.push((p, g));
                kpi.push(def.id);
                value.push(v);
                band.push(v.map(|v| band_of(rule, v).name()));
                owner.push(who.to_owned());
                baseline.push(b);
                delta.push(v.zip(b).map(|(v, b)| v - b));
                expected.push(peak);
            }
        }
        let mut columns = self.key_columns(calendar, &keys)?;
        columns.push(("kpi".into(), Arc::new(StringArray::from_iter_values(kpi))));
        columns.push(("value".into(), Arc::new(Float64Array::from(value))));
        columns.push(("band".into(), Arc::new(StringArray::from(band))));
        columns.push((
            "owner".into(),
            Arc::new(StringArray::from_iter_values(owner)),
        ));
        columns.push(("baseline".into(), Arc::new(Float64Array::from(baseline))));
        columns.push((
            "delta_vs_baseline".into(),
            Arc::new(Float64Array::from(delta)),
        ));
        columns.push(("expected".into(), Arc::new(BooleanArray::from(expected))));
        batch(columns, "bands")
    }

    fn diagnostics_table(
        &self,
        calendar: &Calendar,
        findings: &[Finding],
        rules: &[PreparedRule],
    ) -> Result<RecordBatch> {
        let keys: Vec<(usize, usize)> = findings.iter().map(|f| (f.p, f.g)).collect();
        let mut columns = self.key_columns(calendar, &keys)?;
        let text = |f: fn(&PreparedRule) -> &str| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(
                findings.iter().map(|x| f(&rules[x.rule]).to_owned()),
            ))
        };
        columns.push(("rule".into(), text(|r| &r.id)));
        columns.push(("symptom".into(), text(|r| &r.spec.symptom)));
        columns.push(("likely_cause".into(), text(|r| &r.spec.likely_cause)));
        columns.push(("action".into(), text(|r| &r.spec.action)));
        columns.push((
            "validation_metric".into(),
            text(|r| &r.spec.validation_metric),
        ));
        columns.push(("owner".into(), text(|r| &r.spec.owner)));
        let evidence: Vec<String> = findings
            .iter()
            .map(|f| serde_json::to_string(&f.evidence).unwrap_or_else(|_| "{}".to_owned()))
            .collect();
        columns.push((
            "evidence".into(),
            Arc::new(StringArray::from_iter_values(evidence)),
        ));
        batch(columns, "diagnostics")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use arrow_array::{Array, Int64Array};

    const HOUR: i64 = 3_600_000_000;
    const DAY: i64 = 24 * HOUR;
    // Monday 2024-01-01 00:00 UTC.
    const T0: i64 = 1_704_067_200_000_000;

    #[test]
    fn groups_are_numbered_by_first_appearance_in_parallel_and_in_one_pass() {
        // 300k rows (several parallel pieces) over 7 slots, slot 5 first seen late and
        // slot 6 never: every path must give the numbering of one ordered pass.
        let n = 300_000;
        let slot_of = |i: usize| match i {
            250_001 => 5,
            i => (i * 7919 % 1009) % 5,
        };
        let mut expected_first: Vec<usize> = Vec::new();
        let mut number_of_slot = [u32::MAX; 7];
        let expected: Vec<u32> = (0..n)
            .map(|i| {
                let slot = slot_of(i);
                if number_of_slot[slot] == u32::MAX {
                    number_of_slot[slot] = expected_first.len() as u32;
                    expected_first.push(i);
                }
                number_of_slot[slot]
            })
            .collect();
        assert_eq!(expected_first.len(), 6);
        for parallel_max_slots in [0, 7] {
            let (numbers, first) = number_by_first_appearance(n, 7, slot_of, parallel_max_slots);
            assert_eq!(
                numbers, expected,
                "parallel up to {parallel_max_slots} slots"
            );
            assert_eq!(
                first, expected_first,
                "parallel up to {parallel_max_slots} slots"
            );
        }
    }

    fn ts(values: &[i64]) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values.to_vec()).with_timezone("UTC"))
    }

    fn table(name: &'static str, columns: Vec<(&str, ArrayRef)>) -> TableInput {
        TableInput::from_columns(name, columns).expect("valid columns")
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
        let batches = enrich(&c, &o, &Options::default()).expect("enrich works");
        assert_eq!(batches.len(), 1, "three rows make one batch");
        let out = &batches[0];
        let revenue = column(out, "attributed_revenue").as_primitive::<Float64Type>();
        assert_eq!(revenue.values().to_vec(), vec![0.0, 50.0, 0.0]);
        let hours = column(out, "hours_to_next_order").as_primitive::<Float64Type>();
        assert_eq!(hours.value(0), 168.0);
        assert!(hours.is_null(2), "anonymous contacts never join");
        let recovered = column(out, "recovered_7d").as_boolean();
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
        let card = scorecard(&c, &o, None, None, &Options::default()).expect("scorecard works");
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
        match scorecard(&c, &o, None, None, &Options::default()) {
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
            scorecard(&c, &o, None, None, &options),
            Err(Error::Config { .. })
        ));
    }
}
