//! Business calendars (SPEC §9.1) as configured, and compiled into sorted UTC intervals.
//!
//! A calendar is compiled once per run over the local dates the data can reach: every local
//! date's intervals (from the weekly schedule of the version in force that date) are mapped
//! to instants with the zone's rules, holidays are cut out as whole local days, and the
//! result is merged into disjoint sorted intervals with prefix sums, so business time
//! between two instants is two binary searches (see `BusinessTime`).

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The most calendars a config may define: the business backlog keeps a flow per day ×
/// group × calendar.
pub const MAX_CALENDARS: usize = 32;

/// The weekday keys of a weekly schedule, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A weekly schedule: weekday key → local intervals `"HH:MM-HH:MM"`.
pub type Week = BTreeMap<String, Vec<String>>;

/// A schedule in force from a local date on (inclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// First local date of the version, YYYY-MM-DD.
    pub from: String,
    /// The weekly schedule (days left out are closed).
    pub week: Week,
}

/// Holidays: local dates, or a country (and subdivision) that the Python package resolves
/// to dates through the `holidays` package before a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Holidays {
    /// Local dates, YYYY-MM-DD.
    Dates(Vec<String>),
    /// A country's public holidays.
    Country {
        /// ISO country code ("US").
        country: String,
        /// Subdivision ("NY").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subdiv: Option<String>,
    },
}

impl Default for Holidays {
    fn default() -> Self {
        Holidays::Dates(Vec::new())
    }
}

/// One calendar as configured (`[calendars.<name>]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA time zone.
    pub tz: String,
    /// The weekly schedule before the first version.
    #[serde(default)]
    pub week: Week,
    /// Local dates without business time.
    #[serde(default)]
    pub holidays: Holidays,
    /// Later schedules, each from its local date on.
    #[serde(default)]
    pub versions: Vec<Version>,
}

/// A local interval of a weekly schedule: minutes after the local day's midnight. An end
/// not after the start runs into the next local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LocalInterval {
    start: u32,
    end: u32,
}

/// A checked weekly schedule: the intervals of each weekday, Monday first.
type CheckedWeek = [Vec<LocalInterval>; 7];

fn parse_clock(text: &str, key: &str) -> Result<u32> {
    let bad = || {
        Error::config(
            key,
            format!("{text:?} is not a time HH:MM (00:00 to 24:00)"),
        )
    };
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 24 || m > 59 || (h == 24 && m != 0) || text.trim().len() != 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn parse_interval(text: &str, key: &str) -> Result<LocalInterval> {
    let (start, end) = text
        .split_once('-')
        .ok_or_else(|| Error::config(key, format!("{text:?} is not an interval HH:MM-HH:MM")))?;
    let start = parse_clock(start, key)?;
    let end = parse_clock(end, key)?;
    if start == 24 * 60 {
        return Err(Error::config(
            key,
            format!("{text:?}: an interval cannot start at 24:00"),
        ));
    }
    Ok(LocalInterval { start, end })
}

fn check_week(week: &Week, key: &str) -> Result<CheckedWeek> {
    let mut out: CheckedWeek = Default::default();
    for (day, intervals) in week {
        let k = WEEKDAYS.iter().position(|d| d == day).ok_or_else(|| {
            Error::config(
                &format!("{key}.{day}"),
                format!("not a weekday: expected one of {}", WEEKDAYS.join(", ")),
            )
        })?;
        for (i, text) in intervals.iter().enumerate() {
            out[k].push(parse_interval(text, &format!("{key}.{day}[{i}]"))?);
        }
    }
    Ok(out)
}

fn parse_date(text: &str, key: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| Error::config(key, format!("{text:?} is not a date YYYY-MM-DD")))
}

/// A calendar checked: zone, schedules by first date, holidays.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    /// (first date, schedule), the base schedule first with `NaiveDate::MIN`.
    schedules: Vec<(NaiveDate, CheckedWeek)>,
    holidays: Vec<NaiveDate>,
    /// A holiday country not resolved to dates yet (the Python package resolves it).
    unresolved_country: Option<String>,
}

impl CalendarSpec {
    /// Checks the calendar (`key` = `calendars.<name>`): zone, intervals, version dates in
    /// increasing order, holiday dates.
    pub fn check(&self, key: &str) -> Result<Calendar> {
        let tz: Tz = self.tz.parse().map_err(|_| {
            Error::config(
                &format!("{key}.tz"),
                format!("unknown time zone {:?}", self.tz),
            )
        })?;
        let mut schedules = vec![(
            NaiveDate::MIN,
            check_week(&self.week, &format!("{key}.week"))?,
        )];
        for (i, version) in self.versions.iter().enumerate() {
            let vkey = format!("{key}.versions[{i}]");
            let from = parse_date(&version.from, &format!("{vkey}.from"))?;
            if schedules.len() > 1 && schedules[schedules.len() - 1].0 >= from {
                return Err(Error::config(
                    &format!("{vkey}.from"),
                    "versions must be in increasing order of their dates, without repeats",
                ));
            }
            schedules.push((from, check_week(&version.week, &format!("{vkey}.week"))?));
        }
        let (mut holidays, unresolved_country) = match &self.holidays {
            Holidays::Dates(dates) => (
                dates
                    .iter()
                    .enumerate()
                    .map(|(i, d)| parse_date(d, &format!("{key}.holidays[{i}]")))
                    .collect::<Result<Vec<_>>>()?,
                None,
            ),
            Holidays::Country { country, .. } => (Vec::new(), Some(country.clone())),
        };
        holidays.sort_unstable();
        holidays.dedup();
        Ok(Calendar {
            tz,
            schedules,
            holidays,
            unresolved_country,
        })
    }
}

/// The instant of a local wall time (SPEC §9.1): a time in a spring-forward gap maps to the
/// instant the gap ends, an ambiguous one to its first occurrence.
pub fn local_to_utc(tz: &Tz, local: NaiveDateTime) -> i64 {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.timestamp_micros(),
        LocalResult::Ambiguous(earlier, _) => earlier.timestamp_micros(),
        LocalResult::None => {
            // The gap ends at the first instant whose wall time is at or after `local`;
            // within a day of a gap the wall time only moves forward.
            let wall = |x: i64| {
                chrono::DateTime::from_timestamp_micros(x)
                    .map_or(NaiveDateTime::MIN, |t| t.with_timezone(tz).naive_local())
            };
            let guess = local.and_utc().timestamp_micros();
            let day = 86_400_000_000i64;
            let (mut lo, mut hi) = (guess - day, guess + day);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if wall(mid) >= local {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            lo
        }
    }
}

impl Calendar {
    /// Refuses a calendar whose holidays are still a country (`key` = `calendars.<name>`):
    /// the Python package resolves countries to dates before a run.
    pub fn require_dates(&self, key: &str) -> Result<()> {
        match &self.unresolved_country {
            None => Ok(()),
            Some(country) => Err(Error::config(
                &format!("{key}.holidays"),
                format!(
                    "holidays of country {country:?} are resolved to dates by the Python \
                     package (install supportkpi[holidays]); give dates here instead"
                ),
            )),
        }
    }

    /// The zone.
    pub fn tz(&self) -> &Tz {
        &self.tz
    }

    /// The schedule in force on a local date.
    fn schedule_on(&self, date: NaiveDate) -> &CheckedWeek {
        let k = self.schedules.partition_point(|(from, _)| *from <= date);
        &self.schedules[k.saturating_sub(1)].1
    }

    /// The business intervals opened on the local dates `first..=last`, holidays cut out,
    /// merged: sorted, disjoint, non-empty [start, end) in UTC µs.
    pub fn intervals(&self, first: NaiveDate, last: NaiveDate) -> Vec<(i64, i64)> {
        let midnight = |d: NaiveDate| local_to_utc(&self.tz, NaiveDateTime::new(d, NaiveTime::MIN));
        let at = |d: NaiveDate, minutes: u32| {
            let day = d + Duration::days(i64::from(minutes / (24 * 60)));
            let time = NaiveTime::from_num_seconds_from_midnight_opt((minutes % (24 * 60)) * 60, 0)
                .unwrap_or(NaiveTime::MIN);
            local_to_utc(&self.tz, NaiveDateTime::new(day, time))
        };
        let mut raw = Vec::new();
        let mut date = first;
        while date <= last {
            let weekday = date.weekday().num_days_from_monday() as usize;
            for interval in &self.schedule_on(date)[weekday] {
                // An end not after the start runs overnight into the next local day.
                let end = if interval.end > interval.start {
                    interval.end
                } else {
                    interval.end + 24 * 60
                };
                let (a, b) = (at(date, interval.start), at(date, end));
                if a < b {
                    raw.push((a, b));
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        raw.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(raw.len());
        for (a, b) in raw {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        // Holidays remove whole local days, whichever interval falls on them.
        let holidays: Vec<(i64, i64)> = self
            .holidays
            .iter()
            .filter(|d| {
                **d >= first.pred_opt().unwrap_or(first) && **d <= last.succ_opt().unwrap_or(last)
            })
            .filter_map(|&d| Some((midnight(d), midnight(d.succ_opt()?))))
            .collect();
        subtract(&merged, &holidays)
    }
}

/// `intervals` minus `cuts` (both sorted; cuts may overlap each other).
fn subtract(intervals: &[(i64, i64)], cuts: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out = Vec::with_capacity(intervals.len());
    let mut k = 0usize;
    for &(a, b) in intervals {
        let mut start = a;
        while k < cuts.len() && cuts[k].1 <= start {
            k += 1;
        }
        let mut j = k;
        while j < cuts.len() && cuts[j].0 < b {
            let (c, d) = cuts[j];
            if c > start {
                out.push((start, c.min(b)));
            }
            start = start.max(d);
            if start >= b {
                break;
            }
            j += 1;
        }
        if start < b {
            out.push((start, b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_intervals_parse_strictly() {
        assert_eq!(parse_clock("09:30", "k").ok(), Some(570));
        assert_eq!(parse_clock("24:00", "k").ok(), Some(1440));
        for bad in ["24:01", "9:30", "09:60", "ab:cd", "0930", "25:00"] {
            assert!(parse_clock(bad, "k").is_err(), "{bad}");
        }
        assert_eq!(
            parse_interval("22:00-06:00", "k").ok(),
            Some(LocalInterval {
                start: 1320,
                end: 360
            })
        );
        assert!(parse_interval("24:00-06:00", "k").is_err());
        assert!(parse_interval("09:00", "k").is_err());
    }

    #[test]
    fn subtracting_cuts() {
        let got = subtract(
            &[(0, 10), (20, 30), (40, 50)],
            &[(5, 22), (25, 26), (45, 60)],
        );
        assert_eq!(got, vec![(0, 5), (22, 25), (26, 30), (40, 45)]);
        assert_eq!(subtract(&[(0, 10)], &[]), vec![(0, 10)]);
        assert_eq!(subtract(&[(0, 10)], &[(0, 10)]), vec![]);
    }
}
