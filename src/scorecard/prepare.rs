//! Reading, validating and joining the inputs once (`prepare`), shared by every view.

use crate::business::BusinessFacts;
use crate::error::{Error, Result};
use crate::ingest::ids::{read_ids, IdColumn};
use crate::ingest::{
    read_events, read_joinable, read_sessions, Event, Joinable, Sessions, TableAudit, TableInput,
};
use crate::joins::{join_contacts, ContactJoins, CustomerIndex};
use crate::trace::PhaseTimer;

use super::options::{Options, Settings};
use crate::diagnostics::prepare_rules;

/// The joined inputs and per-contact results shared by `scorecard` and `enrich`.
pub(super) struct Joined {
    pub(super) data: Joinable,
    pub(super) index: CustomerIndex,
    pub(super) joins: ContactJoins,
    pub(super) as_of: Option<i64>,
    /// Business time and SLA verdicts per contact (SPEC §9).
    pub(super) business: BusinessFacts,
}

pub(super) fn max_created(data: &Joinable) -> Option<i64> {
    let c = data.contacts.created_at.iter().copied().max();
    let o = data.orders.created_at.iter().copied().max();
    c.max(o)
}

pub(super) fn min_created(data: &Joinable) -> Option<i64> {
    let c = data.contacts.created_at.iter().copied().min();
    let o = data.orders.created_at.iter().copied().min();
    match (c, o) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

pub(super) fn join_inputs(
    contacts: &TableInput,
    orders: &TableInput,
    options: &Options,
    settings: &Settings,
    timer: &mut PhaseTimer,
) -> Result<Joined> {
    let mut data = read_joinable(
        contacts,
        orders,
        &settings.config.value_checks()?,
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
    let config = &settings.config;
    let business = BusinessFacts::compute(
        &config.calendars,
        &config.sla,
        contacts,
        &data.contacts,
        as_of,
        crate::business::facts::origin(config.timestamps.bounds()?.0),
    )?;
    timer.lap("business time")?;
    Ok(Joined {
        data,
        index,
        joins,
        as_of,
        business,
    })
}

/// Inputs read, validated and joined once. Any number of scorecard views (periods, zones,
/// groupings) and the per-contact view are computed from it without re-reading or
/// re-joining.
pub struct Prepared {
    pub(super) contacts: TableInput,
    pub(super) orders: TableInput,
    pub(super) sessions_table: Option<TableInput>,
    pub(super) options: Options,
    pub(super) settings: Settings,
    pub(super) sessions: Option<Sessions>,
    pub(super) events: Vec<Event>,
    pub(super) audits: Vec<TableAudit>,
    pub(super) joined: Joined,
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
    prepare_rules(&settings.config.rules)?;
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

    /// A hash of the slice's contact and order ids, row by row (None without rows): two
    /// states with the same fingerprint hold the same rows.
    pub(crate) fn slice_fingerprint(&self) -> Result<Option<u64>> {
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

    pub(crate) fn view_options(&self, view: &Options) -> Options {
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
