//! Repeats: contacts that come back (SPEC §3.4–3.5) and first contact resolution.

use super::prelude::*;
use super::sample::{additive_state, CellValues};
use super::{ratio, KpiDef, Need, Row};

additive_state! {
    /// Repeat and recontact counts of one day × group cell (mature contacts only).
    RepeatCounters {
        /// Mature (repeat window) contacts with a customer.
        repeat_mature: u64,
        /// … with repeat_14d.
        repeated: u64,
        /// Mature (recontact window) resolved contacts with a customer.
        recontact_mature: u64,
        /// … with recontact_48h.
        recontacted: u64,
        /// … resolved first time (touches ≤ 1 or null, not recontacted).
        first_contact_resolved: u64,
    }
}

impl RepeatCounters {
    /// Counts one contact.
    #[inline]
    pub fn fold(&mut self, _values: &mut CellValues, row: &Row) {
        let (i, j) = (row.i, row.joins());
        if row.repeat_mature() {
            self.repeat_mature += 1;
            self.repeated += u64::from(j.repeat[i]);
        }
        if row.recontact_mature() {
            self.recontact_mature += 1;
            if j.recontact[i] == 1 {
                self.recontacted += 1;
            } else {
                let touches = row.float(&row.contacts().touches);
                self.first_contact_resolved += u64::from(touches.is_nan() || touches <= 1.0);
            }
        }
    }
}

const RESOLVED: Need = Need::Column("resolved_at");

/// Repeat KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "fcr_rate",
        name: "First contact resolution",
        definition: "resolved, touches <= 1 (null touches allowed), not recontact_48h / mature resolved contacts with a customer_id",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[RESOLVED],
        reads: Days,
        display: Display::headline(2, "FCR").in_demo(),
        band: Some(Band::new(
            Edges::HigherIsBetter { healthy_min: 0.75, watch_min: 0.65 },
            "support operations",
        )),
        source: "seed 001 (watch edge: project default)",
        compute: |c| ratio(c.state.repeats.first_contact_resolved as f64, c.state.repeats.recontact_mature as f64),
    },
    KpiDef {
        id: "repeat_contact_rate_14d",
        name: "14-day repeat contact rate",
        definition: "repeat_14d / mature contacts with a customer_id",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[],
        reads: Days,
        display: Display::scorecard(3, "repeat contact 14d").in_demo(),
        band: Some(Band::new(
            Edges::LowerIsBetter { healthy_max: 0.12, watch_max: 0.20 },
            "support operations",
        )),
        source: "seed 000",
        compute: |c| ratio(c.state.repeats.repeated as f64, c.state.repeats.repeat_mature as f64),
    },
    KpiDef {
        id: "recontact_rate_48h",
        name: "48-hour recontact rate",
        definition: "recontact_48h / mature resolved contacts with a customer_id",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Days,
        display: Display::OTHER,
        band: Some(Band::new(
            Edges::LowerIsBetter { healthy_max: 0.10, watch_max: 0.15 },
            "support operations",
        )),
        source: "seed 001 (project default edges)",
        compute: |c| ratio(c.state.repeats.recontacted as f64, c.state.repeats.recontact_mature as f64),
    },
];
