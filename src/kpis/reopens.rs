//! First and final resolution, reopens and one-touch (SPEC §9.4).

use super::prelude::*;
use super::sample::{additive_state, CellValues, Quantiled};
use super::{ratio, KpiDef, Need, Row};
use crate::ingest::NULL_TS;

const MICROS_PER_HOUR: f64 = crate::time::MICROS_PER_HOUR as f64;

additive_state! {
    /// Reopen and one-touch counts of one day × group cell.
    ReopenCounters {
        /// Resolved contacts with a reopens value.
        reopens_rated: u64,
        /// … reopened at least once.
        reopened: u64,
        /// Resolved contacts with a touches value.
        touches_rated: u64,
        /// … with at most one touch.
        one_touch: u64,
    }
}

impl ReopenCounters {
    /// Counts one contact; its first resolution time goes to the cell's list.
    #[inline]
    pub fn fold(&mut self, values: &mut CellValues, row: &Row) {
        let c = row.contacts();
        let first = c.first_resolved_at.as_ref().map_or(NULL_TS, |f| f[row.i]);
        let resolved_first = if first != NULL_TS {
            first
        } else {
            row.resolved_at
        };
        if resolved_first != NULL_TS {
            let hours = (resolved_first - row.created) as f64 / MICROS_PER_HOUR;
            values.push(Quantiled::FirstResolutionHours, hours);
        }
        if !row.resolved {
            return;
        }
        let reopens = row.float(&c.reopens);
        if !reopens.is_nan() {
            self.reopens_rated += 1;
            self.reopened += u64::from(reopens >= 1.0);
        }
        let touches = row.float(&c.touches);
        if !touches.is_nan() {
            self.touches_rated += 1;
            self.one_touch += u64::from(touches <= 1.0);
        }
    }
}

const RESOLVED: Need = Need::Column("resolved_at");

/// Reopen KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "first_resolution_time_median",
        name: "First resolution time (median)",
        definition: "median of first_resolved_at - created_at (resolved_at when first_resolved_at is null), hours",
        unit: Unit::Hours,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "SPEC §9.4",
        compute: |c| c.values.quantile(Quantiled::FirstResolutionHours, 0.5),
    },
    KpiDef {
        id: "reopen_rate",
        name: "Reopen rate",
        definition: "resolved contacts with reopens >= 1 / resolved contacts with a reopens value",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[RESOLVED, Need::Column("reopens")],
        reads: Days,
        display: Display::OTHER,
        band: Some(Band::new(
            Edges::LowerIsBetter { healthy_max: 0.10, watch_max: 0.15 },
            "support operations",
        )),
        source: "SPEC §9.4",
        compute: |c| ratio(c.state.reopens.reopened as f64, c.state.reopens.reopens_rated as f64),
    },
    KpiDef {
        id: "one_touch_rate",
        name: "One-touch resolution rate",
        definition: "resolved contacts with touches <= 1 / resolved contacts with a touches value",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[RESOLVED, Need::Column("touches")],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "SPEC §9.4",
        compute: |c| ratio(c.state.reopens.one_touch as f64, c.state.reopens.touches_rated as f64),
    },
];
