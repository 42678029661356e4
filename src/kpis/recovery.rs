//! Recovery: orders placed after a contact (SPEC §3.1–3.3) and the revenue attributed to it.

use super::prelude::*;
use super::sample::{additive_state, CellValues, Quantiled};
use super::{ratio, total, KpiDef, Need, Row};
use crate::ingest::HandledBy;

/// Durations in hours are µs divided once (docs/semantics.md, "Time").
const MICROS_PER_HOUR: f64 = crate::time::MICROS_PER_HOUR as f64;

additive_state! {
    /// Recovery counts and sums of one day × group cell (mature contacts only, SPEC §2).
    RecoveryCounters {
        /// Mature (recovery window) contacts with a customer.
        recovery_mature: u64,
        /// … recovered.
        recovered: u64,
        /// … recovered, with an attributed order later refunded.
        recovered_refunded: u64,
        /// Attributed revenue of recovery-mature contacts.
        recovered_revenue: f64,
        /// … of those on the ai or human path.
        recovered_revenue_assisted: f64,
        /// … of those on the self_service path.
        recovered_revenue_self_service: f64,
        /// Attributed revenue minus deductions of recovery-mature contacts.
        recovered_net_revenue: f64,
        /// Cost of recovery-mature contacts.
        recovery_mature_cost: f64,
    }
}

impl RecoveryCounters {
    /// Counts one contact; forward-looking KPIs count mature contacts only (SPEC §2).
    #[inline]
    pub fn fold(&mut self, values: &mut CellValues, row: &Row) {
        if !row.recovery_mature() {
            return;
        }
        let (i, j) = (row.i, row.joins());
        if row.known_customer {
            self.recovery_mature += 1;
            if j.recovered[i] {
                self.recovered += 1;
                self.recovered_refunded += u64::from(j.attributed_refunded.get(i) == Some(&true));
                let hours = j.next_order_delay[i] as f64 / MICROS_PER_HOUR;
                values.push(Quantiled::RecoveryHours, hours);
            }
        }
        let revenue = j.attributed_revenue[i];
        self.recovered_revenue += revenue;
        match row.path {
            HandledBy::Ai | HandledBy::Human => self.recovered_revenue_assisted += revenue,
            HandledBy::SelfService => self.recovered_revenue_self_service += revenue,
            HandledBy::Unknown => {}
        }
        self.recovered_net_revenue += revenue - j.attributed_deductions.get(i).unwrap_or(&0.0);
        self.recovery_mature_cost += row.cost;
    }
}

const HANDLED: Need = Need::Column("handled_by");
const COST: Need = Need::Cost;

/// Recovery KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "recovery_rate_7d",
        name: "7-day recovery rate",
        definition: "recovered_7d / mature contacts with a customer_id",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[],
        reads: Days,
        display: Display::scorecard(2, "recovery 7d").in_demo(),
        band: Some(Band::new(
            Edges::HigherIsBetter { healthy_min: 0.18, watch_min: 0.10 },
            "growth + lifecycle",
        )),
        source: "seed 000",
        compute: |c| ratio(c.state.recovery.recovered as f64, c.state.recovery.recovery_mature as f64),
    },
    KpiDef {
        id: "recovered_refund_rate",
        name: "Refunded share of recoveries",
        definition: "recovered mature contacts with an attributed order whose refund > 0 / recovered mature contacts",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[Need::OrderColumn("refund")],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "project (the worked example of docs/architecture.md)",
        compute: |c| ratio(c.state.recovery.recovered_refunded as f64, c.state.recovery.recovered as f64),
    },
    KpiDef {
        id: "recovery_hours_median",
        name: "Median hours to recovery",
        definition: "median hours_to_next_order over mature recovered contacts",
        unit: Unit::Hours,
        direction: LowerIsBetter,
        needs: &[],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 000",
        compute: |c| c.values.quantile(Quantiled::RecoveryHours, 0.5),
    },
    KpiDef {
        id: "recovered_revenue",
        name: "Recovered revenue",
        definition: "sum attributed_revenue over mature contacts",
        unit: Unit::Currency,
        direction: HigherIsBetter,
        needs: &[],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 000",
        compute: |c| total(c.state.recovery.recovered_revenue),
    },
    KpiDef {
        id: "recovered_revenue_assisted",
        name: "Recovered revenue (assisted)",
        definition: "recovered_revenue of contacts on the ai or human path",
        unit: Unit::Currency,
        direction: HigherIsBetter,
        needs: &[HANDLED],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 000",
        compute: |c| total(c.state.recovery.recovered_revenue_assisted),
    },
    KpiDef {
        id: "recovered_revenue_self_service",
        name: "Recovered revenue (self-service)",
        definition: "recovered_revenue of contacts on the self_service path",
        unit: Unit::Currency,
        direction: HigherIsBetter,
        needs: &[HANDLED],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 000",
        compute: |c| total(c.state.recovery.recovered_revenue_self_service),
    },
    KpiDef {
        id: "recovered_margin",
        name: "Recovered margin",
        definition: "attributed revenue - refund - discount - appeasement - cogs of attributed orders, minus support cost, over mature contacts",
        unit: Unit::Currency,
        direction: HigherIsBetter,
        needs: &[COST],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 000",
        compute: |c| total(c.state.recovery.recovered_net_revenue - c.state.recovery.recovery_mature_cost),
    },
];
