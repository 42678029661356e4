//! Volume: how many contacts, of which intents, against orders and traffic.

use super::prelude::*;
use super::row::IntentClass;
use super::sample::{additive_state, CellValues};
use super::{ratio, total, KpiDef, Measure, Need, Row};
use Need::{Column, GroupBy, Sessions};

additive_state! {
    /// Contact counts of one day × group cell.
    VolumeCounters {
        /// Contacts.
        contacts: u64,
        /// Preventable contacts (§4).
        preventable: u64,
        /// intent = order_tracking.
        wismo: u64,
        /// Policy-taxonomy intents.
        policy: u64,
    }
}

impl VolumeCounters {
    /// Counts one contact.
    #[inline]
    pub fn fold(&mut self, _values: &mut CellValues, row: &Row) {
        self.contacts += 1;
        self.preventable += u64::from(row.preventable());
        self.wismo += u64::from(row.intent_is(IntentClass::Wismo));
        self.policy += u64::from(row.intent_is(IntentClass::Policy));
    }
}

const INTENT: Need = Column("intent");

/// Volume KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "tickets_per_order",
        name: "Tickets per order",
        definition: "contacts / orders (orders of the whole period)",
        unit: Unit::Ratio,
        direction: LowerIsBetter,
        needs: &[],
        reads: Days,
        display: Display::headline(3, "tickets/order").in_demo(),
        band: Some(Band::new(
            Edges::LowerIsBetter {
                healthy_max: 0.10,
                watch_max: 0.15,
            },
            "CX + ecommerce ops",
        )),
        source: "seed 001",
        compute: |c| ratio(c.state.volume.contacts as f64, c.totals.orders as f64),
    },
    KpiDef {
        id: "contacts",
        name: "Contacts",
        definition: "count of contacts",
        unit: Unit::Count,
        direction: Neutral,
        needs: &[],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 002",
        compute: |c| total(c.state.volume.contacts as f64),
    },
    KpiDef {
        id: "orders",
        name: "Orders",
        definition: "count of orders (whole period)",
        unit: Unit::Count,
        direction: Neutral,
        needs: &[],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 001",
        compute: |c| total(c.totals.orders as f64),
    },
    KpiDef {
        id: "volume_share",
        name: "Volume share",
        definition: "contacts in the group / contacts in the period",
        unit: Unit::Rate,
        direction: Neutral,
        needs: &[GroupBy],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 002",
        compute: |c| ratio(c.state.volume.contacts as f64, c.period_contacts as f64),
    },
    KpiDef {
        id: "peak_to_trough",
        name: "Peak to trough",
        definition:
            "max daily contacts / min daily contacts within the period (days with 0 contacts count)",
        unit: Unit::Ratio,
        direction: LowerIsBetter,
        needs: &[],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 001",
        compute: |c| match c.daily_peak_trough {
            Some((max, min)) => ratio(max as f64, min as f64),
            None => Measure::default(),
        },
    },
    KpiDef {
        id: "wismo_share",
        name: "WISMO share",
        definition: "order_tracking contacts / contacts",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[INTENT],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 000",
        compute: |c| ratio(c.state.volume.wismo as f64, c.state.volume.contacts as f64),
    },
    KpiDef {
        id: "policy_contact_share",
        name: "Policy contact share",
        definition: "policy-taxonomy contacts / contacts",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[INTENT],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 000",
        compute: |c| ratio(c.state.volume.policy as f64, c.state.volume.contacts as f64),
    },
    KpiDef {
        id: "preventable_contact_rate",
        name: "Preventable contact rate",
        definition: "preventable contacts / sessions (sessions of the whole period)",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[Sessions, Need::AnyColumn(&["intent", "preventable"])],
        reads: Days,
        display: Display::scorecard(0, "preventable contacts").in_demo(),
        band: Some(Band::new(
            Edges::LowerIsBetter {
                healthy_max: 0.018,
                watch_max: 0.028,
            },
            "CX + ecommerce ops",
        )),
        source: "seed 000",
        compute: |c| ratio(c.state.volume.preventable as f64, c.totals.sessions),
    },
    KpiDef {
        id: "conversion_rate",
        name: "Conversion rate",
        definition: "orders / sessions (whole period)",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[Sessions],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 000",
        compute: |c| ratio(c.totals.orders as f64, c.totals.sessions),
    },
];
