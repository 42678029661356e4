//! Speed: first response, resolution and handle times.

use super::prelude::*;
use super::sample::{additive_state, CellValues, Quantiled};
use super::{mean_with_interval, KpiDef, Need, Row};
use crate::ingest::{HandledBy, NULL_TS};
use Need::Column;

/// Durations in hours and minutes are µs divided once (docs/semantics.md, "Time").
const MICROS_PER_HOUR: f64 = crate::time::MICROS_PER_HOUR as f64;
const MICROS_PER_MINUTE: f64 = crate::time::MICROS_PER_MINUTE as f64;

additive_state! {
    /// Handle-time sums of one day × group cell (response and resolution times are
    /// quantile inputs, in [`CellValues`]).
    SpeedCounters {
        /// Sum of handle_seconds of resolved human-path contacts.
        aht_seconds: f64,
        /// Count of those.
        aht_count: u64,
        /// Sum of their handle_seconds² (the mean's interval, SPEC §10.1).
        aht_seconds_sq: f64,
    }
}

impl SpeedCounters {
    /// Counts one contact and adds its response and resolution times to the cell's lists.
    #[inline]
    pub fn fold(&mut self, values: &mut CellValues, row: &Row) {
        let c = row.contacts();
        if row.resolved && row.path == HandledBy::Human {
            let seconds = row.float(&c.handle_seconds);
            if !seconds.is_nan() {
                self.aht_seconds += seconds;
                self.aht_seconds_sq += seconds * seconds;
                self.aht_count += 1;
            }
        }
        let first_response = c.first_response_at.as_ref().map_or(NULL_TS, |f| f[row.i]);
        if first_response != NULL_TS {
            let minutes = (first_response - row.created) as f64 / MICROS_PER_MINUTE;
            values.push(Quantiled::FrtMinutes, minutes);
            match row.path {
                HandledBy::Ai => values.push(Quantiled::FrtAiMinutes, minutes),
                HandledBy::Human => values.push(Quantiled::FrtHumanMinutes, minutes),
                _ => {}
            }
        }
        if row.resolved_at != NULL_TS {
            let hours = (row.resolved_at - row.created) as f64 / MICROS_PER_HOUR;
            values.push(Quantiled::ResolutionHours, hours);
        }
        // Business time (SPEC §9.2), when a calendar is configured.
        let b = row.business();
        if let Some(&frt) = b.first_response.get(row.i).filter(|&&v| v != NULL_TS) {
            values.push(
                Quantiled::FrtBusinessMinutes,
                frt as f64 / MICROS_PER_MINUTE,
            );
        }
        if let Some(&res) = b.resolution.get(row.i).filter(|&&v| v != NULL_TS) {
            values.push(
                Quantiled::ResolutionBusinessHours,
                res as f64 / MICROS_PER_HOUR,
            );
        }
    }
}

/// A quantile KPI of business time (SPEC §9.2).
const fn business(
    display: Display,
    id: &'static str,
    name: &'static str,
    definition: &'static str,
    unit: Unit,
    needs: &'static [Need],
    compute: fn(&mut super::Cell) -> super::Measure,
) -> KpiDef {
    KpiDef {
        id,
        name,
        definition,
        unit,
        direction: LowerIsBetter,
        needs,
        reads: Days,
        display,
        band: None,
        source: "SPEC §9.2",
        compute,
    }
}

const HANDLED: Need = Column("handled_by");
const RESOLVED: Need = Column("resolved_at");
const FRT: Need = Column("first_response_at");

/// Speed KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "frt_median",
        name: "First response time (median)",
        definition: "median of first_response_at - created_at, minutes",
        unit: Unit::Minutes,
        direction: LowerIsBetter,
        needs: &[FRT],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 002",
        compute: |c| c.values.quantile(Quantiled::FrtMinutes, 0.5),
    },
    KpiDef {
        id: "frt_p90",
        name: "First response time (p90)",
        definition: "90th percentile of first_response_at - created_at, minutes",
        unit: Unit::Minutes,
        direction: LowerIsBetter,
        needs: &[FRT],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 003",
        compute: |c| c.values.quantile(Quantiled::FrtMinutes, 0.9),
    },
    KpiDef {
        id: "frt_median_ai",
        name: "First response time, AI path (median)",
        definition: "frt_median over contacts on the ai path",
        unit: Unit::Minutes,
        direction: LowerIsBetter,
        needs: &[FRT, HANDLED],
        reads: Days,
        display: Display::OTHER,
        band: Some(Band::new(
            Edges::LowerIsBetter {
                healthy_max: 5.0,
                watch_max: 15.0,
            },
            "support enablement",
        )),
        source: "seed 001",
        compute: |c| c.values.quantile(Quantiled::FrtAiMinutes, 0.5),
    },
    KpiDef {
        id: "frt_median_human",
        name: "First response time, human path (median)",
        definition: "frt_median over contacts on the human path",
        unit: Unit::Minutes,
        direction: LowerIsBetter,
        needs: &[FRT, HANDLED],
        reads: Days,
        display: Display::OTHER,
        band: Some(Band::new(
            Edges::LowerIsBetter {
                healthy_max: 240.0,
                watch_max: 480.0,
            },
            "support lead",
        )),
        source: "seed 001",
        compute: |c| c.values.quantile(Quantiled::FrtHumanMinutes, 0.5),
    },
    KpiDef {
        id: "resolution_time_median",
        name: "Resolution time (median)",
        definition: "median of resolved_at - created_at, hours",
        unit: Unit::Hours,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 002",
        compute: |c| c.values.quantile(Quantiled::ResolutionHours, 0.5),
    },
    KpiDef {
        id: "resolution_time_p90",
        name: "Resolution time (p90)",
        definition: "90th percentile of resolved_at - created_at, hours",
        unit: Unit::Hours,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 003",
        compute: |c| c.values.quantile(Quantiled::ResolutionHours, 0.9),
    },
    KpiDef {
        id: "aht_minutes",
        name: "Average handle time",
        definition: "mean handle_seconds / 60 over resolved human-path contacts",
        unit: Unit::Minutes,
        direction: LowerIsBetter,
        needs: &[Column("handle_seconds"), HANDLED, RESOLVED],
        reads: Days,
        display: Display::OTHER,
        band: Some(Band::new(
            Edges::LowerIsBetter {
                healthy_max: 15.0,
                watch_max: 20.0,
            },
            "support lead",
        )),
        source: "seed 001",
        compute: |c| {
            let s = &c.state.speed;
            let (sum, sum_sq) = (s.aht_seconds / 60.0, s.aht_seconds_sq / 3600.0);
            mean_with_interval(sum, sum_sq, s.aht_count, c.confidence)
        },
    },
    business(
        Display::service_levels(3, "FRT business"),
        "frt_business_median",
        "First response time, business hours (median)",
        "median of B(created_at, first_response_at) in the contact's calendar, minutes",
        Unit::Minutes,
        &[FRT, Need::Calendars],
        |c| c.values.quantile(Quantiled::FrtBusinessMinutes, 0.5),
    ),
    business(
        Display::service_levels(5, "FRT business p90"),
        "frt_business_p90",
        "First response time, business hours (p90)",
        "90th percentile of B(created_at, first_response_at), minutes",
        Unit::Minutes,
        &[FRT, Need::Calendars],
        |c| c.values.quantile(Quantiled::FrtBusinessMinutes, 0.9),
    ),
    business(
        Display::service_levels(4, "resolution business"),
        "resolution_time_business_median",
        "Resolution time, business hours (median)",
        "median of B(created_at, resolved_at) in the contact's calendar, hours",
        Unit::Hours,
        &[RESOLVED, Need::Calendars],
        |c| c.values.quantile(Quantiled::ResolutionBusinessHours, 0.5),
    ),
    business(
        Display::service_levels(6, "resolution business p90"),
        "resolution_time_business_p90",
        "Resolution time, business hours (p90)",
        "90th percentile of B(created_at, resolved_at), hours",
        Unit::Hours,
        &[RESOLVED, Need::Calendars],
        |c| c.values.quantile(Quantiled::ResolutionBusinessHours, 0.9),
    ),
];
