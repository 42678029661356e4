//! The optional tables: site sessions (one row per session or pre-counted by day) and
//! calendar events.

use arrow_array::Array;

use super::coded::{read_coded, CodedStrings};
use super::columns::{compact, read_numbers, read_timestamps, render_ts, NULL_CODE, NULL_TS};
use crate::error::Result;
use crate::time::MICROS_PER_DAY;

use super::input::{OnInvalid, TableAudit, TableInput};
use super::issues::{optional, read_failure, required, source_rows, RowIssues};

/// Site sessions as (timestamp or local date, count) rows.
pub struct Sessions {
    /// When each row happened: UTC µs of a session start, or a local calendar date.
    pub when: SessionTime,
    /// Sessions counted by each row (1 for one-row-per-session input).
    pub count: Vec<f64>,
    /// Input position of each row when invalid rows were dropped.
    pub source_rows: Option<Vec<u32>>,
}

impl Sessions {
    /// The input position of row `i`.
    pub fn source_row(&self, i: usize) -> usize {
        self.source_rows.as_ref().map_or(i, |rows| rows[i] as usize)
    }
}

/// How sessions rows are placed in time.
pub enum SessionTime {
    /// Session start instants (UTC µs).
    Instant(Vec<i64>),
    /// Calendar dates (days since 1970-01-01), read as local dates in `tz` (SPEC §8.14).
    LocalDate(Vec<i64>),
}

/// Reads sessions: pre-counted rows (a `sessions` column with `date` or `started_at`) or one
/// row per session (`started_at`).
///
/// Times outside `time_range` (the config's plausible range, as for contacts) are bad
/// rows: a session a century away would stretch nothing, but must not pass as used.
pub fn read_sessions(
    table: &TableInput,
    on_invalid: OnInvalid,
    time_range: (i64, i64),
) -> Result<(Sessions, TableAudit)> {
    table.check_columns()?;
    let name = table.name;
    let n = table.num_rows();
    let mut issues = RowIssues::new(name, None, n, on_invalid);
    let count = match optional(table, "sessions", read_numbers)? {
        Some((values, non_finite)) => {
            issues.check_finite("sessions", &values, &non_finite)?;
            issues.check("sessions", "session counts must not be negative", n, |i| {
                (values[i] < 0.0).then(|| format!("sessions={}", values[i]))
            })?;
            // A null count adds nothing.
            values
                .into_iter()
                .map(|v| if v.is_finite() { v } else { 0.0 })
                .collect()
        }
        None => vec![1.0; n],
    };
    let (when, column) = if table.has("date") {
        let chunks = table.require("date")?;
        let is_date = chunks.iter().any(|c| {
            matches!(
                c.data_type(),
                arrow_schema::DataType::Date32 | arrow_schema::DataType::Date64
            )
        });
        let values =
            read_timestamps(&chunks, true).map_err(|e| read_failure(name, "date", None, e))?;
        if is_date {
            let days = values
                .into_iter()
                .map(|v| {
                    if v == NULL_TS {
                        NULL_TS
                    } else {
                        v.div_euclid(MICROS_PER_DAY)
                    }
                })
                .collect();
            (SessionTime::LocalDate(days), "date")
        } else {
            (SessionTime::Instant(values), "date")
        }
    } else {
        let values = required(table, "started_at", |c| read_timestamps(c, false))?;
        (SessionTime::Instant(values), "started_at")
    };
    match &when {
        SessionTime::Instant(v) => {
            issues.check_not_null_ts(column, v)?;
            issues.check_plausible(column, v, time_range)?;
        }
        SessionTime::LocalDate(days) => {
            issues.check_not_null_ts(column, days)?;
            // A local date is plausible when its midnight UTC is (the range is in days).
            let midnights: Vec<i64> = days
                .iter()
                .map(|&d| {
                    if d == NULL_TS {
                        NULL_TS
                    } else {
                        d.saturating_mul(MICROS_PER_DAY)
                    }
                })
                .collect();
            issues.check_plausible(column, &midnights, time_range)?;
        }
    }
    let (keep, audit, _) = issues.finish(n);
    let sessions = Sessions {
        when,
        count,
        source_rows: None,
    };
    Ok(match keep {
        None => (sessions, audit),
        Some(keep) => (
            Sessions {
                when: match sessions.when {
                    SessionTime::Instant(v) => SessionTime::Instant(compact(v, &keep)),
                    SessionTime::LocalDate(v) => SessionTime::LocalDate(compact(v, &keep)),
                },
                count: compact(sessions.count, &keep),
                source_rows: Some(source_rows(&keep)),
            },
            audit,
        ),
    })
}

/// A calendar event (SPEC §1 events).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Name.
    pub name: String,
    /// promo, launch or peak.
    pub kind: String,
    /// Start, UTC µs.
    pub start: i64,
    /// End, UTC µs (≥ start).
    pub end: i64,
}

/// Reads events: `name`, `kind` (promo / launch / peak), `start`, `end`.
///
/// `start` and `end` outside `time_range` (the config's plausible range) are bad rows.
pub fn read_events(
    table: &TableInput,
    on_invalid: OnInvalid,
    time_range: (i64, i64),
) -> Result<(Vec<Event>, TableAudit)> {
    table.check_columns()?;
    let names = required(table, "name", |c| read_coded(c, true))?;
    let kinds = required(table, "kind", |c| read_coded(c, false))?;
    let starts = required(table, "start", |c| read_timestamps(c, true))?;
    let ends = required(table, "end", |c| read_timestamps(c, true))?;
    let n = starts.len();
    let mut issues = RowIssues::new(table.name, None, n, on_invalid);
    let text = |coded: &CodedStrings, row: usize| match coded.codes[row] {
        NULL_CODE => String::new(),
        code => coded.values[code as usize].clone(),
    };
    issues.check(
        "kind",
        "kind must be one of promo, launch, peak",
        n,
        |row| {
            let kind = text(&kinds, row);
            (!matches!(kind.as_str(), "promo" | "launch" | "peak"))
                .then(|| format!("kind={kind:?}"))
        },
    )?;
    issues.check_not_null_ts("start", &starts)?;
    issues.check_not_null_ts("end", &ends)?;
    issues.check_plausible("start", &starts, time_range)?;
    issues.check_plausible("end", &ends, time_range)?;
    issues.check("end", "end is before start", n, |row| {
        let (start, end) = (starts[row], ends[row]);
        (start != NULL_TS && end != NULL_TS && end < start)
            .then(|| format!("start={}, end={}", render_ts(start), render_ts(end)))
    })?;
    let (keep, audit, _) = issues.finish(n);
    let events = (0..n)
        .filter(|&row| keep.as_ref().is_none_or(|k| k[row]))
        .map(|row| Event {
            name: text(&names, row),
            kind: text(&kinds, row),
            start: starts[row],
            end: ends[row],
        })
        .collect();
    Ok((events, audit))
}
