//! Business time (SPEC §9): calendars compiled into sorted UTC intervals, business time
//! between two instants and due instants by binary search on prefix sums (O(log n) per
//! contact, no per-day or per-minute walk).

pub mod calendar;
pub mod facts;
pub mod intervals;
pub mod sla;

pub use calendar::CalendarSpec;
pub use facts::BusinessFacts;
pub use intervals::BusinessTime;

#[cfg(test)]
mod tests {
    use super::calendar::{local_to_utc, Calendar};
    use super::intervals::BusinessTime;
    use chrono::{NaiveDate, NaiveDateTime};

    use super::*;

    const HOUR: i64 = 3_600_000_000;

    fn spec(tz: &str, week: &[(&str, &[&str])]) -> CalendarSpec {
        CalendarSpec {
            tz: tz.into(),
            week: week
                .iter()
                .map(|(d, is)| {
                    (
                        (*d).to_owned(),
                        is.iter().map(|s| (*s).to_owned()).collect(),
                    )
                })
                .collect(),
            holidays: calendar::Holidays::default(),
            versions: Vec::new(),
        }
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
    }

    fn at(cal: &Calendar, s: &str) -> i64 {
        let local =
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or(NaiveDateTime::MIN);
        local_to_utc(cal.tz(), local)
    }

    fn compiled(spec: &CalendarSpec, first: &str, last: &str) -> (Calendar, BusinessTime) {
        let cal = spec
            .check("calendars.test")
            .unwrap_or_else(|e| panic!("{e}"));
        let bt = BusinessTime::new(&cal.intervals(date(first), date(last)));
        (cal, bt)
    }

    const ALL_DAY: &[&str] = &["00:00-24:00"];

    #[test]
    fn a_24_7_calendar_is_calendar_time_across_dst() {
        let week: Vec<(&str, &[&str])> = calendar::WEEKDAYS.iter().map(|d| (*d, ALL_DAY)).collect();
        for tz in [
            "America/New_York",
            "Europe/London",
            "Australia/Lord_Howe",
            "UTC",
        ] {
            let (cal, bt) = compiled(&spec(tz, &week), "2023-12-25", "2025-01-05");
            let a = at(&cal, "2024-01-01 00:00");
            for (x, y) in [(0, 300), (37, 4_000), (1_000, 8_000), (5, 6)] {
                let (s, e) = (a + x * HOUR + 17, a + y * HOUR + 5);
                assert_eq!(bt.between(s, e), e - s, "{tz}");
            }
        }
    }

    #[test]
    fn spring_forward_and_fall_back_days_are_their_real_length() {
        let (cal, bt) = compiled(
            &spec("America/New_York", &[("sun", ALL_DAY)]),
            "2024-03-01",
            "2024-11-30",
        );
        let spring = at(&cal, "2024-03-10 00:00");
        assert_eq!(bt.between(spring, spring + 30 * HOUR), 23 * HOUR);
        let fall = at(&cal, "2024-11-03 00:00");
        assert_eq!(bt.between(fall, fall + 30 * HOUR), 25 * HOUR);
    }

    #[test]
    fn gap_and_overlap_boundaries() {
        // 02:30 on 2024-03-10 does not exist in New York: the interval opens when the gap
        // ends (03:00 EDT = 07:00 UTC).
        let (cal, bt) = compiled(
            &spec("America/New_York", &[("sun", &["02:30-04:00"])]),
            "2024-03-09",
            "2024-03-11",
        );
        let gap_end = at(&cal, "2024-03-10 03:00");
        assert_eq!(bt.between(gap_end - 10 * HOUR, gap_end + 10 * HOUR), HOUR);
        assert_eq!(gap_end, 1_710_054_000_000_000);
        // 01:30 on 2024-11-03 happens twice: the first (EDT) counts; 02:00 is EST.
        let (cal, bt) = compiled(
            &spec("America/New_York", &[("sun", &["01:30-02:00"])]),
            "2024-11-02",
            "2024-11-04",
        );
        let first = at(&cal, "2024-11-03 01:30");
        assert_eq!(first, 1_730_611_800_000_000);
        assert_eq!(bt.between(first - HOUR, first + 3 * HOUR), 3 * HOUR / 2);
        // Lord Howe moves its clocks by half an hour: 02:00-02:30 does not exist.
        let (cal, bt) = compiled(
            &spec("Australia/Lord_Howe", &[("sun", &["02:00-03:00"])]),
            "2024-10-05",
            "2024-10-07",
        );
        let open = at(&cal, "2024-10-06 02:00");
        assert_eq!(bt.between(open - HOUR, open + 2 * HOUR), HOUR / 2);
    }

    #[test]
    fn overnight_shifts_overlaps_holidays_and_versions() {
        let mut s = spec(
            "Europe/London",
            &[("fri", &["22:00-06:00"]), ("sat", &["05:00-07:00"])],
        );
        let (cal, bt) = compiled(&s, "2024-06-01", "2024-06-30");
        let fri = at(&cal, "2024-06-07 20:00");
        // fri 22:00 → sat 06:00 united with sat 05:00-07:00: 9 h, not 10.
        assert_eq!(bt.between(fri, fri + 24 * HOUR), 9 * HOUR);
        // A holiday on the Saturday cuts the overnight tail and the Saturday interval.
        s.holidays = calendar::Holidays::Dates(vec!["2024-06-08".into()]);
        let (_, bt) = compiled(&s, "2024-06-01", "2024-06-30");
        assert_eq!(bt.between(fri, fri + 24 * HOUR), 2 * HOUR);
        // A version from 2024-06-10 closes Fridays.
        s.holidays = calendar::Holidays::default();
        s.versions = vec![calendar::Version {
            from: "2024-06-10".into(),
            week: [("sat".to_owned(), vec!["05:00-07:00".to_owned()])].into(),
        }];
        let (cal, bt) = compiled(&s, "2024-06-01", "2024-06-30");
        let next_fri = at(&cal, "2024-06-14 20:00");
        assert_eq!(bt.between(next_fri, next_fri + 24 * HOUR), 2 * HOUR);
        assert_eq!(bt.between(fri, fri + 24 * HOUR), 9 * HOUR);
    }

    #[test]
    fn due_instants_and_additivity() {
        let weekdays: Vec<(&str, &[&str])> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| (*d, &["09:00-17:00"][..]))
            .collect();
        let (cal, bt) = compiled(
            &spec("America/New_York", &weekdays),
            "2024-06-01",
            "2024-07-31",
        );
        let saturday = at(&cal, "2024-06-08 12:00");
        // Created on a Saturday, 1 h target: due Monday 10:00; 0 h: Monday 09:00.
        assert_eq!(bt.due(saturday, HOUR), Some(at(&cal, "2024-06-10 10:00")));
        assert_eq!(bt.due(saturday, 0), Some(at(&cal, "2024-06-10 09:00")));
        let inside = at(&cal, "2024-06-10 16:30");
        assert_eq!(bt.due(inside, 0), Some(inside));
        // 8 h from Monday 16:30: 30 min Monday, 7.5 h Tuesday → Tuesday 16:30.
        assert_eq!(bt.due(inside, 8 * HOUR), Some(at(&cal, "2024-06-11 16:30")));
        // The end of an interval, not the start of the next.
        assert_eq!(
            bt.due(at(&cal, "2024-06-10 09:00"), 8 * HOUR),
            Some(at(&cal, "2024-06-10 17:00"))
        );
        let (a, b, c) = (saturday, inside, at(&cal, "2024-06-20 11:11"));
        assert_eq!(bt.between(a, c), bt.between(a, b) + bt.between(b, c));
        assert_eq!(bt.between(c, a), 0);
        // Past the horizon there is no due instant.
        assert_eq!(bt.due(saturday, 10_000 * HOUR), None);
    }

    #[test]
    fn bad_calendars_name_the_key() {
        let err = |s: CalendarSpec| {
            s.check("calendars.x")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err(spec("Mars/Olympus", &[])).contains("calendars.x.tz"));
        assert!(err(spec("UTC", &[("funday", ALL_DAY)])).contains("calendars.x.week.funday"));
        assert!(err(spec("UTC", &[("mon", &["9-17"])])).contains("calendars.x.week.mon[0]"));
        let mut s = spec("UTC", &[]);
        s.holidays = calendar::Holidays::Dates(vec!["2024-13-01".into()]);
        assert!(err(s.clone()).contains("calendars.x.holidays[0]"));
        s.holidays = calendar::Holidays::default();
        s.versions = vec![
            calendar::Version {
                from: "2024-06-10".into(),
                week: Default::default(),
            },
            calendar::Version {
                from: "2024-06-01".into(),
                week: Default::default(),
            },
        ];
        assert!(err(s).contains("calendars.x.versions[1].from"));
    }

    #[test]
    fn until_by_day_bucket_equals_a_search_of_every_interval() {
        // Intervals of irregular lengths and gaps (several per day, days without any,
        // intervals across midnight), probed at and around every boundary.
        let mut intervals = Vec::new();
        let mut t = 1_704_067_200_000_000i64; // 2024-01-01 UTC
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as i64
        };
        for _ in 0..2_000 {
            t += next() % (40 * HOUR) + 1;
            let end = t + next() % (9 * HOUR) + 1;
            intervals.push((t, end));
            t = end;
        }
        let bt = BusinessTime::new(&intervals);
        let naive = |t: i64| -> i64 { intervals.iter().map(|&(a, b)| (b.min(t) - a).max(0)).sum() };
        for &(a, b) in intervals.iter().step_by(7) {
            for probe in [a - 1, a, a + 1, (a + b) / 2, b - 1, b, b + 1, a - 30 * HOUR] {
                assert_eq!(bt.until(probe), naive(probe), "{probe}");
            }
        }
        let last = intervals.last().map_or(0, |i| i.1);
        assert_eq!(bt.until(last + 1_000 * HOUR), naive(last));
        assert_eq!(bt.until(i64::MIN + 1), 0);
        assert_eq!(BusinessTime::new(&[]).until(5), 0);
    }
}
