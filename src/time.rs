//! Local days and periods in a time zone (SPEC §2, §8.2). Every boundary is a local midnight
//! converted to a UTC instant once; timestamps are then placed by binary search, so the hot
//! loops never touch time-zone rules.

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Microseconds per minute, hour and day: the one set of time constants (instants are UTC
/// microseconds throughout; a local day may be 23 or 25 hours, so days of the calendar are
/// never computed from `MICROS_PER_DAY`, only durations and UTC day numbers are).
pub const MICROS_PER_MINUTE: i64 = 60_000_000;
/// See [`MICROS_PER_MINUTE`].
pub const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
/// See [`MICROS_PER_MINUTE`].
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Period length of the scorecard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    /// Local calendar days.
    Day,
    /// ISO weeks, Monday 00:00 local time.
    Week,
    /// Calendar months.
    Month,
}

impl PeriodKind {
    /// Parses "day" | "week" | "month".
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "day" => Ok(PeriodKind::Day),
            "week" => Ok(PeriodKind::Week),
            "month" => Ok(PeriodKind::Month),
            other => Err(Error::config(
                "by",
                format!("unknown period {other:?}; expected \"day\", \"week\" or \"month\""),
            )),
        }
    }

    fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            PeriodKind::Day => date,
            PeriodKind::Week => {
                date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
            }
            PeriodKind::Month => date.with_day(1).unwrap_or(date),
        }
    }

    fn next_start(self, start: NaiveDate) -> NaiveDate {
        match self {
            PeriodKind::Day => start + Duration::days(1),
            PeriodKind::Week => start + Duration::days(7),
            PeriodKind::Month => {
                let (y, m) = if start.month() == 12 {
                    (start.year() + 1, 1)
                } else {
                    (start.year(), start.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(start + Duration::days(31))
            }
        }
    }
}

/// Parses an IANA time zone name.
pub fn parse_tz(name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        Error::config(
            "tz",
            format!("unknown time zone {name:?}; expected an IANA name such as \"Europe/Berlin\""),
        )
    })
}

/// The UTC instant (µs) of local midnight of `date` in `tz`. Where midnight falls in a DST
/// gap, the first valid local time after it; where it is ambiguous, the earlier instant.
pub fn local_midnight_utc(tz: &Tz, date: NaiveDate) -> i64 {
    let mut local = NaiveDateTime::new(date, NaiveTime::MIN);
    for _ in 0..48 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.timestamp_micros(),
            LocalResult::Ambiguous(earlier, _) => return earlier.timestamp_micros(),
            // Gaps are at most a few hours; step forward in 30-minute steps.
            LocalResult::None => local += Duration::minutes(30),
        }
    }
    // No zone has a day-long gap; fall back to UTC midnight.
    local.and_utc().timestamp_micros()
}

/// The local calendar date of a UTC instant.
pub fn local_date(tz: &Tz, micros: i64) -> NaiveDate {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => t.with_timezone(tz).date_naive(),
        None => NaiveDate::MIN,
    }
}

/// Days and periods covering the data, aligned to whole periods.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// Local date of day 0.
    pub first_date: NaiveDate,
    /// UTC µs of each day start, plus one more for the end of the last day.
    pub day_starts: Vec<i64>,
    /// For each period, its first day index; plus one more for the end (= number of days).
    pub period_first_day: Vec<usize>,
    /// Day index -> period index.
    pub period_of_day: Vec<u32>,
}

impl Calendar {
    /// A calendar covering every period from the one holding `first` to the one holding
    /// `last` (UTC µs).
    pub fn covering(tz: Tz, kind: PeriodKind, first: i64, last: i64) -> Self {
        let first_date = kind.start_of(local_date(&tz, first));
        let last_date = local_date(&tz, last.max(first));
        let mut period_dates = vec![first_date];
        loop {
            let next = kind.next_start(*period_dates.last().unwrap_or(&first_date));
            period_dates.push(next);
            if next > last_date {
                break;
            }
        }
        let end_date = *period_dates.last().unwrap_or(&first_date);
        let n_days = (end_date - first_date).num_days().max(0) as usize;
        let day_starts: Vec<i64> = (0..=n_days)
            .map(|d| local_midnight_utc(&tz, first_date + Duration::days(d as i64)))
            .collect();
        let period_first_day: Vec<usize> = period_dates
            .iter()
            .map(|d| (*d - first_date).num_days() as usize)
            .collect();
        let mut period_of_day = vec![0u32; n_days];
        for p in 0..period_first_day.len() - 1 {
            for slot in &mut period_of_day[period_first_day[p]..period_first_day[p + 1]] {
                *slot = p as u32;
            }
        }
        Calendar {
            first_date,
            day_starts,
            period_first_day,
            period_of_day,
        }
    }

    /// Number of local days covered.
    pub fn n_days(&self) -> usize {
        self.day_starts.len() - 1
    }

    /// Number of periods.
    pub fn n_periods(&self) -> usize {
        self.period_first_day.len() - 1
    }

    /// Day index of an instant: `None` before the first day, `Some(n_days)` at or after the
    /// end (callers treat that as "after the grid").
    pub fn day_of(&self, micros: i64) -> Option<usize> {
        if micros < self.day_starts[0] {
            return None;
        }
        // Days are 23–25 hours long: guess from a 24-hour day and correct by a few steps.
        let n = self.n_days();
        let guess = ((micros - self.day_starts[0]) / MICROS_PER_DAY).clamp(0, n as i64) as usize;
        let mut d = guess;
        while d > 0 && self.day_starts[d] > micros {
            d -= 1;
        }
        while d < n && self.day_starts[d + 1] <= micros {
            d += 1;
        }
        Some(d)
    }

    /// Day index of a local calendar date given as days since 1970-01-01.
    pub fn day_of_local_date(&self, epoch_days: i64) -> Option<usize> {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
        let date = epoch + Duration::days(epoch_days);
        let offset = (date - self.first_date).num_days();
        (offset >= 0 && (offset as usize) < self.n_days()).then_some(offset as usize)
    }

    /// UTC µs of the start of period `p`.
    pub fn period_start(&self, p: usize) -> i64 {
        self.day_starts[self.period_first_day[p]]
    }

    /// UTC µs of the end of period `p` (the next period's start).
    pub fn period_end(&self, p: usize) -> i64 {
        self.day_starts[self.period_first_day[p + 1]]
    }

    /// Day index range of period `p`.
    pub fn period_days(&self, p: usize) -> std::ops::Range<usize> {
        self.period_first_day[p]..self.period_first_day[p + 1]
    }

    /// Local date of day index `d` (may be before day 0 for negative offsets).
    pub fn date_of_day(&self, d: i64) -> NaiveDate {
        self.first_date + Duration::days(d)
    }
}

/// An instant from RFC 3339 text or a YYYY-MM-DD date (UTC midnight).
pub fn parse_instant(text: &str, key: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_micros());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_micros());
    }
    Err(Error::config(
        key,
        format!("{text:?} is not an RFC 3339 timestamp or a YYYY-MM-DD date"),
    ))
}

/// Parses a duration such as "7d", "48h", "90m", "30s" into microseconds.
pub fn parse_duration(text: &str, key: &str) -> Result<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.trim().parse().map_err(|_| {
        Error::config(
            key,
            format!("{text:?} is not a duration like \"7d\", \"48h\", \"90m\""),
        )
    })?;
    let unit_micros = match unit.trim() {
        "d" => MICROS_PER_DAY as f64,
        "h" => MICROS_PER_HOUR as f64,
        "m" => MICROS_PER_MINUTE as f64,
        "s" => 1_000_000.0,
        _ => {
            return Err(Error::config(
                key,
                format!("{text:?}: unknown unit; use d, h, m or s"),
            ))
        }
    };
    let micros = value * unit_micros;
    if !(micros.is_finite() && micros > 0.0) {
        return Err(Error::config(
            key,
            format!("{text:?} must be a positive duration"),
        ));
    }
    check_window(micros.round() as i64, key)
}

/// The longest window or duration accepted, days: the span of the default plausible
/// timestamp range. Longer windows mean nothing for the KPIs, and dates computed from them
/// (a baseline window's start, a partial state's grid) would leave the calendar.
pub const MAX_WINDOW_DAYS: i64 = 36_525;

/// A window in µs, checked positive and at most [`MAX_WINDOW_DAYS`].
pub fn check_window(micros: i64, key: &str) -> Result<i64> {
    if micros <= 0 {
        return Err(Error::config(key, "windows must be positive durations"));
    }
    if micros > MAX_WINDOW_DAYS * MICROS_PER_DAY {
        return Err(Error::config(
            key,
            format!("windows may span at most {MAX_WINDOW_DAYS}d (100 years)"),
        ));
    }
    Ok(micros)
}

/// The day index of an instant inside the grid (the grid covers every created_at; this
/// clamps only against misuse).
pub fn day_in_grid(calendar: &Calendar, t: i64) -> usize {
    calendar
        .day_of(t)
        .unwrap_or(0)
        .min(calendar.n_days().saturating_sub(1))
}

/// Join and cohort windows, as durations like "7d", "48h", "90m".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsSpec {
    /// recovered_7d and attribution.
    pub recovery: String,
    /// repeat_14d.
    pub repeat: String,
    /// recontact_48h.
    pub recontact: String,
    /// The baseline before each period (whole days).
    pub baseline: String,
    /// repurchase_rate_90d.
    pub repurchase: String,
}

impl Default for WindowsSpec {
    /// SPEC §3's windows and a 30-day baseline.
    fn default() -> Self {
        WindowsSpec {
            recovery: "7d".into(),
            repeat: "14d".into(),
            recontact: "48h".into(),
            baseline: "30d".into(),
            repurchase: "90d".into(),
        }
    }
}

impl WindowsSpec {
    /// Every window parses as a duration; the baseline is whole days.
    pub fn check(&self) -> Result<()> {
        for (name, value) in [
            ("recovery", &self.recovery),
            ("repeat", &self.repeat),
            ("recontact", &self.recontact),
            ("baseline", &self.baseline),
            ("repurchase", &self.repurchase),
        ] {
            parse_duration(value, &format!("windows.{name}"))?;
        }
        if parse_duration(&self.baseline, "windows.baseline")? % MICROS_PER_DAY != 0 {
            return Err(Error::config(
                "windows.baseline",
                "the baseline window must be whole days",
            ));
        }
        Ok(())
    }
}

/// A fixed baseline range instead of the rolling window (e.g. the 30 days before an AI
/// launch), as RFC 3339 timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedBaseline {
    /// Start, inclusive.
    pub start: String,
    /// End, exclusive.
    pub end: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .map(|t| t.and_utc().timestamp_micros())
            .unwrap_or_default()
    }

    #[test]
    fn weeks_start_on_local_monday() {
        let tz = parse_tz("America/New_York").unwrap_or(Tz::UTC);
        // Sunday 2024-03-10 23:30 New York (EDT, after the 02:00 jump) = Monday 03:30 UTC.
        let t = utc(2024, 3, 11, 3, 30);
        let cal = Calendar::covering(tz, PeriodKind::Week, t, t);
        assert_eq!(
            cal.first_date,
            NaiveDate::from_ymd_opt(2024, 3, 4).unwrap_or_default()
        );
        assert_eq!(cal.n_periods(), 1);
        // The DST day is 23 hours long.
        let sunday = cal.day_of(t).unwrap_or(99);
        assert_eq!(sunday, 6);
        assert_eq!(cal.day_starts[7] - cal.day_starts[6], 23 * 3_600_000_000);
    }

    #[test]
    fn months_and_days() {
        let first = utc(2024, 1, 31, 12, 0);
        let last = utc(2024, 3, 1, 0, 0);
        let cal = Calendar::covering(Tz::UTC, PeriodKind::Month, first, last);
        assert_eq!(cal.n_periods(), 3);
        assert_eq!(cal.period_days(1).len(), 29); // leap February
        assert_eq!(cal.day_of(last), Some(31 + 29));
        assert_eq!(cal.day_of(first - 86_400_000_000 * 31), None);
    }

    #[test]
    fn midnight_in_a_dst_gap_moves_forward() {
        // Chile (America/Santiago) skipped 2023-09-03 00:00 -> 01:00.
        let tz = parse_tz("America/Santiago").unwrap_or(Tz::UTC);
        let date = NaiveDate::from_ymd_opt(2023, 9, 3).unwrap_or_default();
        let start = local_midnight_utc(&tz, date);
        assert_eq!(start, utc(2023, 9, 3, 4, 0));
    }
}
