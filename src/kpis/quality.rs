//! Quality: ratings (CSAT, NPS, CES) overall and by resolution path.

use super::prelude::*;
use super::row::IntentClass;
use super::sample::{additive_state, CellValues};
use super::{mean_with_interval, ratio, KpiDef, Measure, Need, Row};
use crate::ingest::HandledBy;
use Need::Column;

additive_state! {
    /// Rating counts and sums of one day × group cell.
    QualityCounters {
        /// Sum of csat.
        csat_sum: f64,
        /// Sum of csat² (the mean's interval, SPEC §10.1).
        csat_sum_sq: f64,
        /// Rated contacts.
        csat_count: u64,
        /// csat ≥ 4.
        csat_satisfied: u64,
        /// csat ≤ 2.
        csat_negative: u64,
        /// csat ≤ 2 with a checkout_shipping intent.
        csat_negative_checkout_shipping: u64,
        /// Sum of csat on the ai path.
        csat_ai_sum: f64,
        /// Sum of csat² on the ai path.
        csat_ai_sum_sq: f64,
        /// Rated contacts on the ai path.
        csat_ai_count: u64,
        /// Sum of csat on the human path.
        csat_human_sum: f64,
        /// Sum of csat² on the human path.
        csat_human_sum_sq: f64,
        /// Rated contacts on the human path.
        csat_human_count: u64,
        /// nps ≥ 9.
        nps_promoters: u64,
        /// nps ≤ 6.
        nps_detractors: u64,
        /// nps rated.
        nps_rated: u64,
        /// Sum of ces.
        ces_sum: f64,
        /// Sum of ces².
        ces_sum_sq: f64,
        /// ces rated.
        ces_count: u64,
    }
}

impl QualityCounters {
    /// Counts one contact's ratings.
    #[inline]
    pub fn fold(&mut self, _values: &mut CellValues, row: &Row) {
        let c = row.contacts();
        let scales = row.scales();
        let csat = row.float(&c.csat);
        if !csat.is_nan() {
            self.csat_sum += csat;
            self.csat_sum_sq += csat * csat;
            self.csat_count += 1;
            // Satisfied = the top two points of the scale, negative = the bottom two.
            self.csat_satisfied += u64::from(csat >= scales.csat.max - 1.0);
            if csat <= scales.csat.min + 1.0 {
                self.csat_negative += 1;
                self.csat_negative_checkout_shipping +=
                    u64::from(row.intent_is(IntentClass::CheckoutShipping));
            }
            match row.path {
                HandledBy::Ai => {
                    self.csat_ai_sum += csat;
                    self.csat_ai_sum_sq += csat * csat;
                    self.csat_ai_count += 1;
                }
                HandledBy::Human => {
                    self.csat_human_sum += csat;
                    self.csat_human_sum_sq += csat * csat;
                    self.csat_human_count += 1;
                }
                _ => {}
            }
        }
        let nps = row.float(&c.nps);
        if !nps.is_nan() {
            // 9–10 promoters and 0–6 detractors on the 0–10 scale, kept relative to its top.
            self.nps_rated += 1;
            self.nps_promoters += u64::from(nps >= scales.nps.max - 1.0);
            self.nps_detractors += u64::from(nps <= scales.nps.max - 4.0);
        }
        let ces = row.float(&c.ces);
        if !ces.is_nan() {
            self.ces_sum += ces;
            self.ces_sum_sq += ces * ces;
            self.ces_count += 1;
        }
    }
}

const HANDLED: Need = Column("handled_by");
const CSAT: Need = Column("csat");
const INTENT: Need = Column("intent");

fn csat_by_path(sum: f64, count: u64) -> Option<f64> {
    (count > 0).then(|| sum / count as f64)
}

/// Quality KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "csat_mean",
        name: "CSAT (mean)",
        definition: "mean csat over rated contacts",
        unit: Unit::Score,
        direction: HigherIsBetter,
        needs: &[CSAT],
        reads: Days,
        display: Display::headline(0, "CSAT").in_demo(),
        band: Some(Band::new(
            Edges::HigherIsBetter { healthy_min: 4.3, watch_min: 4.0 },
            "support lead",
        )),
        source: "seed 001",
        compute: |c| {
            let q = &c.state.quality;
            mean_with_interval(q.csat_sum, q.csat_sum_sq, q.csat_count, c.confidence)
        },
    },
    KpiDef {
        id: "csat_satisfied_rate",
        name: "CSAT satisfied share",
        definition: "rated contacts with csat >= 4 / rated contacts",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[CSAT],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 002",
        compute: |c| ratio(c.state.quality.csat_satisfied as f64, c.state.quality.csat_count as f64),
    },
    KpiDef {
        id: "csat_ai",
        name: "CSAT, AI path",
        definition: "mean csat over contacts on the ai path",
        unit: Unit::Score,
        direction: HigherIsBetter,
        needs: &[CSAT, HANDLED],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 001",
        compute: |c| {
            let q = &c.state.quality;
            mean_with_interval(q.csat_ai_sum, q.csat_ai_sum_sq, q.csat_ai_count, c.confidence)
        },
    },
    KpiDef {
        id: "csat_human",
        name: "CSAT, human path",
        definition: "mean csat over contacts on the human path (escalated AI contacts included)",
        unit: Unit::Score,
        direction: HigherIsBetter,
        needs: &[CSAT, HANDLED],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 001",
        compute: |c| {
            let q = &c.state.quality;
            let (sum, sum_sq) = (q.csat_human_sum, q.csat_human_sum_sq);
            mean_with_interval(sum, sum_sq, q.csat_human_count, c.confidence)
        },
    },
    KpiDef {
        id: "csat_ai_human_gap",
        name: "CSAT gap, AI vs human",
        definition: "abs(csat_ai - csat_human)",
        unit: Unit::Score,
        direction: LowerIsBetter,
        needs: &[CSAT, HANDLED],
        reads: Days,
        display: Display::OTHER,
        band: Some(Band::new(
            Edges::LowerIsBetter { healthy_max: 0.3, watch_max: 0.5 },
            "support lead",
        )),
        source: "seed 001",
        compute: |c| {
            let q = &c.state.quality;
            let ai = csat_by_path(q.csat_ai_sum, q.csat_ai_count);
            let human = csat_by_path(q.csat_human_sum, q.csat_human_count);
            Measure {
                value: ai.zip(human).map(|(a, h)| (a - h).abs()),
                // The gap is as sure as its smaller side.
                sample: Some(q.csat_ai_count.min(q.csat_human_count) as f64),
                ..Measure::default()
            }
        },
    },
    KpiDef {
        id: "negative_csat_checkout_shipping_share",
        name: "Negative CSAT from checkout/shipping",
        definition: "negative (csat <= 2) contacts with a checkout_shipping intent / negative contacts",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[CSAT, INTENT],
        reads: Days,
        display: Display::scorecard(5, "neg. CSAT checkout/ship"),
        band: Some(Band::new(
            Edges::LowerIsBetter { healthy_max: 0.08, watch_max: 0.14 },
            "product + checkout owner",
        )),
        source: "seed 000",
        compute: |c| ratio(c.state.quality.csat_negative_checkout_shipping as f64, c.state.quality.csat_negative as f64),
    },
    KpiDef {
        id: "nps",
        name: "Net promoter score",
        definition: "100 x (promoters (>= 9) - detractors (<= 6)) / rated; numerator = promoters - detractors",
        unit: Unit::Score,
        direction: HigherIsBetter,
        needs: &[Column("nps")],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 002",
        compute: |c| {
            let net = c.state.quality.nps_promoters as f64 - c.state.quality.nps_detractors as f64;
            let rated = c.state.quality.nps_rated as f64;
            let q = &c.state.quality;
            Measure {
                value: (rated > 0.0).then(|| 100.0 * net / rated),
                numerator: Some(net),
                denominator: Some(rated),
                interval: crate::statistics::nps(
                    q.nps_promoters as f64,
                    q.nps_detractors as f64,
                    rated,
                    c.z,
                ),
                sample: Some(rated),
                ..Measure::default()
            }
        },
    },
    KpiDef {
        id: "ces_mean",
        name: "Customer effort score (mean)",
        definition: "mean ces over rated contacts",
        unit: Unit::Score,
        direction: HigherIsBetter,
        needs: &[Column("ces")],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 002",
        compute: |c| {
            let q = &c.state.quality;
            mean_with_interval(q.ces_sum, q.ces_sum_sq, q.ces_count, c.confidence)
        },
    },
];
