//! Per-contact business time and SLA verdicts (SPEC §9.2, §9.3), computed once per prepared
//! input: every calendar compiled over the data's horizon, then each contact's durations,
//! policy, due instants and verdicts.

use rayon::prelude::*;

use super::calendar::{Calendar, CalendarSpec};
use super::intervals::BusinessTime;
use super::sla::{check_policies, Policy, SlaPolicy};
use crate::error::{Error, Result};
use crate::ingest::coded::read_coded;
use crate::ingest::{Contacts, TableInput, NULL_CODE, NULL_TS};
use crate::time::local_date;

/// How far past the data a calendar is compiled: due instants later than this are not
/// placed (their verdicts are still exact; see docs/semantics.md).
pub const DUE_HORIZON_DAYS: i64 = 400;

/// An SLA verdict: met, breached, or pending / no policy.
pub const MET: i8 = 1;
/// Breached.
pub const BREACHED: i8 = 0;
/// Pending at as_of, or no policy / no target.
pub const NO_VERDICT: i8 = -1;
/// A contact's policy code when no policy matches it.
pub const NO_POLICY: u8 = u8::MAX;

/// The per-contact business facts, in contact row order.
#[derive(Debug, Clone, Default)]
pub struct BusinessFacts {
    /// The compiled calendars, in the config's name order (empty: none configured).
    pub calendars: Vec<(String, BusinessTime)>,
    /// until(created_at) in the contact's calendar: business time from the compilation
    /// origin to the contact's creation, µs; NULL_TS without a calendar (empty without
    /// calendars). Durations, due instants and the business backlog all start from it.
    pub created_until: Vec<i64>,
    /// B(created_at, first_response_at), µs; NULL_TS when null (empty without calendars).
    pub first_response: Vec<i64>,
    /// B(created_at, resolved_at), µs; NULL_TS when unresolved (empty without calendars).
    pub resolution: Vec<i64>,
    /// The policies, in order (empty: none configured).
    pub policies: Vec<Policy>,
    /// Each contact's policy index, [`NO_POLICY`] for none (empty without policies); at
    /// most `MAX_POLICIES` policies, so a byte per contact.
    pub policy: Vec<u8>,
    /// First response verdict: MET, BREACHED or NO_VERDICT.
    pub first_response_met: Vec<i8>,
    /// Resolution verdict.
    pub resolution_met: Vec<i8>,
    // Due instants are not kept per contact (two i64 columns of fresh memory for every
    // contact, most of them without a policy): `due` recomputes one from the policy and
    // `created_until` when the per-contact columns are asked for.
}

/// The first local date every calendar is compiled from: the start of the plausible
/// timestamp range (`timestamps.earliest`), two days earlier for the zones' offsets, and not
/// before 1900. A fixed start makes `BusinessTime::until` the same instant-for-instant in
/// every slice of a scale-out run, so business backlog flows add up across slices.
pub fn origin(earliest: i64) -> chrono::NaiveDate {
    let floor = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(chrono::NaiveDate::MIN);
    chrono::DateTime::from_timestamp_micros(earliest)
        .map(|t| t.date_naive())
        .and_then(|d| d.checked_sub_signed(chrono::Duration::days(2)))
        .unwrap_or(floor)
        .max(floor)
}

/// The latest instant of the data: contacts' times and as_of (None without any).
fn latest_instant(contacts: &Contacts, as_of: Option<i64>) -> Option<i64> {
    // NULL_TS is i64::MIN, so a column's max is a real instant whenever it has one.
    [
        Some(&contacts.created_at),
        contacts.first_response_at.as_ref(),
        contacts.resolved_at.as_ref(),
        contacts.first_resolved_at.as_ref(),
    ]
    .into_iter()
    .flatten()
    .filter_map(|c| c.iter().copied().max())
    .filter(|&t| t != NULL_TS)
    .chain(as_of)
    .max()
}

/// The local date range a calendar is compiled over: from `origin` to `DUE_HORIZON_DAYS`
/// after `last` (the latest instant of the data) in the calendar's zone.
fn horizon(
    calendar: &Calendar,
    origin: chrono::NaiveDate,
    last: Option<i64>,
) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
    let to = local_date(calendar.tz(), last?)
        .checked_add_signed(chrono::Duration::days(DUE_HORIZON_DAYS))?;
    Some((origin, to))
}

/// A column's value codes by contact row, and the code of each wanted value.
struct MatchColumn {
    codes: Vec<u32>,
    values: Vec<String>,
}

/// The configured calendars compiled over the local dates `from..=to`, in name order.
pub fn compile_calendars(
    specs: &std::collections::BTreeMap<String, CalendarSpec>,
    span: impl Fn(&Calendar) -> Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> Result<Vec<(String, BusinessTime)>> {
    let mut out = Vec::with_capacity(specs.len());
    for (name, spec) in specs {
        let key = format!("calendars.{name}");
        let calendar = spec.check(&key)?;
        calendar.require_dates(&key)?;
        let intervals = match span(&calendar) {
            Some((from, to)) => calendar.intervals(from, to),
            None => Vec::new(),
        };
        out.push((name.clone(), BusinessTime::new(&intervals)));
    }
    Ok(out)
}

impl BusinessFacts {
    /// Compiles the calendars and computes every contact's facts. `table` is the contacts
    /// table as given (SLA match columns are read from it).
    pub fn compute(
        specs: &std::collections::BTreeMap<String, CalendarSpec>,
        sla: &[SlaPolicy],
        table: &TableInput,
        contacts: &Contacts,
        as_of: Option<i64>,
        origin: chrono::NaiveDate,
    ) -> Result<BusinessFacts> {
        let mut facts = BusinessFacts {
            calendars: {
                // Scanned once for every calendar.
                let last = latest_instant(contacts, as_of);
                compile_calendars(specs, |c| horizon(c, origin, last))?
            },
            ..BusinessFacts::default()
        };
        let n = contacts.len;
        let calendar_of = |i: usize| -> Option<&BusinessTime> {
            let k = contacts.calendar.as_ref()?[i];
            facts.calendars.get(k as usize).map(|(_, bt)| bt)
        };
        let created_until: Vec<i64> = if facts.calendars.is_empty() {
            Vec::new()
        } else {
            (0..n)
                .into_par_iter()
                .map(|i| calendar_of(i).map_or(NULL_TS, |bt| bt.until(contacts.created_at[i])))
                .collect()
        };
        // B(created, end) = until(end) − until(created) when end > created (SPEC §9.1).
        let between = |i: usize, end: Option<&Vec<i64>>| -> i64 {
            let end = end.map_or(NULL_TS, |e| e[i]);
            match calendar_of(i) {
                Some(_) if end == NULL_TS => NULL_TS,
                Some(_) if end <= contacts.created_at[i] => 0,
                Some(bt) => bt.until(end) - created_until[i],
                None => NULL_TS,
            }
        };
        let (first_response, resolution): (Vec<i64>, Vec<i64>) = if facts.calendars.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            (0..n)
                .into_par_iter()
                .map(|i| {
                    (
                        between(i, contacts.first_response_at.as_ref()),
                        between(i, contacts.resolved_at.as_ref()),
                    )
                })
                .unzip()
        };
        let policies = check_policies(sla, !specs.is_empty())?;
        if !policies.is_empty() {
            let policy = policy_of_each(&policies, table, contacts)?;
            facts.policies = policies;
            facts.created_until = created_until;
            facts.policy = policy;
            let verdicts = |target: Target, event: Option<&Vec<i64>>| -> Vec<i8> {
                (0..n)
                    .into_par_iter()
                    .map(|i| {
                        let Some(due) = facts.due(contacts, i, target) else {
                            return NO_VERDICT;
                        };
                        let at = event.map_or(NULL_TS, |e| e[i]);
                        match (at != NULL_TS, due) {
                            (true, Some(d)) => i8::from(at <= d),
                            (true, None) => MET,
                            (false, Some(d)) if as_of.is_some_and(|t| d <= t) => BREACHED,
                            (false, _) => NO_VERDICT,
                        }
                    })
                    .collect()
            };
            let fr_met = verdicts(Target::FirstResponse, contacts.first_response_at.as_ref());
            let res_met = verdicts(Target::Resolution, contacts.resolved_at.as_ref());
            facts.first_response_met = fr_met;
            facts.resolution_met = res_met;
            facts.first_response = first_response;
            facts.resolution = resolution;
            return Ok(facts);
        }
        facts.policies = policies;
        facts.created_until = created_until;
        facts.first_response = first_response;
        facts.resolution = resolution;
        Ok(facts)
    }
}

/// Which target of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `first_response`.
    FirstResponse,
    /// `resolution`.
    Resolution,
}

impl BusinessFacts {
    /// Contact `i`'s due instant for `target` (SPEC §9.3): None without a policy or that
    /// target; Some(None) when it falls after the compiled horizon (later than any event
    /// and than as_of).
    pub fn due(&self, contacts: &Contacts, i: usize, target: Target) -> Option<Option<i64>> {
        let p = self.policies.get(*self.policy.get(i)? as usize)?;
        let goal = match target {
            Target::FirstResponse => p.first_response,
            Target::Resolution => p.resolution,
        }?;
        let created = contacts.created_at[i];
        Some(if p.business_hours {
            let code = contacts.calendar.as_ref().map(|c| c[i] as usize);
            code.and_then(|k| self.calendars.get(k))
                .and_then(|(_, bt)| bt.due_after(created, self.created_until[i], goal))
        } else {
            created.checked_add(goal)
        })
    }
}

/// The first matching policy of each contact ([`NO_POLICY`] for none).
fn policy_of_each(policies: &[Policy], table: &TableInput, contacts: &Contacts) -> Result<Vec<u8>> {
    let mut columns: std::collections::BTreeMap<&str, MatchColumn> = Default::default();
    for (k, p) in policies.iter().enumerate() {
        for (column, _) in &p.matches {
            if columns.contains_key(column.as_str()) {
                continue;
            }
            let chunks = table.column(column)?.ok_or_else(|| {
                Error::config(
                    &format!("sla[{k}].match.{column}"),
                    format!("the contacts have no column {column:?}"),
                )
            })?;
            let coded = read_coded(&chunks, true).map_err(|_| {
                Error::schema(
                    "contacts",
                    column,
                    "an SLA match column must be readable as text",
                )
            })?;
            columns.insert(
                column,
                MatchColumn {
                    codes: coded.codes,
                    values: coded.values,
                },
            );
        }
    }
    // Per policy: (column, wanted code) pairs; a value the column never holds matches nothing.
    let wanted: Vec<Option<Vec<(&MatchColumn, u32)>>> = policies
        .iter()
        .map(|p| {
            p.matches
                .iter()
                .map(|(column, value)| {
                    let c = columns.get(column.as_str())?;
                    let code = c.values.iter().position(|v| v == value)?;
                    Some((c, code as u32))
                })
                .collect()
        })
        .collect();
    Ok((0..contacts.len)
        .into_par_iter()
        .map(|i| {
            let row = contacts.source_row(i);
            wanted
                .iter()
                .position(|w| {
                    w.as_ref().is_some_and(|pairs| {
                        pairs
                            .iter()
                            .all(|(c, code)| c.codes[row] != NULL_CODE && c.codes[row] == *code)
                    })
                })
                .map_or(NO_POLICY, |k| k as u8)
        })
        .collect())
}
