//! SLAs (SPEC §9.3): the verdicts of each contact's policy, booked to its period and group.

use super::prelude::*;
use super::sample::{additive_state, CellValues};
use super::{ratio, total, KpiDef, Need, Row};
use crate::business::facts::{BREACHED, MET, NO_VERDICT};

additive_state! {
    /// SLA verdict counts of one day × group cell.
    SlaCounters {
        /// First responses at or before due.
        first_response_met: u64,
        /// First responses after due, or missing with due ≤ as_of.
        first_response_breached: u64,
        /// Resolutions at or before due.
        resolution_met: u64,
        /// Resolutions after due, or missing with due ≤ as_of.
        resolution_breached: u64,
        /// Contacts with a policy whose first-response or resolution verdict is pending.
        pending: u64,
    }
}

impl SlaCounters {
    /// Counts one contact's verdicts.
    #[inline]
    pub fn fold(&mut self, _values: &mut CellValues, row: &Row) {
        let b = row.business();
        let Some(policy) = b
            .policy
            .get(row.i)
            .and_then(|&p| b.policies.get(p as usize))
        else {
            return;
        };
        let count = |verdict: i8, met: &mut u64, breached: &mut u64| match verdict {
            MET => *met += 1,
            BREACHED => *breached += 1,
            _ => {}
        };
        let first = b.first_response_met[row.i];
        let resolution = b.resolution_met[row.i];
        count(
            first,
            &mut self.first_response_met,
            &mut self.first_response_breached,
        );
        count(
            resolution,
            &mut self.resolution_met,
            &mut self.resolution_breached,
        );
        let pending = (policy.first_response.is_some() && first == NO_VERDICT)
            || (policy.resolution.is_some() && resolution == NO_VERDICT);
        self.pending += u64::from(pending);
    }
}

const SLA: Need = Need::Sla;
const FRT: Need = Need::Column("first_response_at");
const RESOLVED: Need = Need::Column("resolved_at");

/// The SPEC §9.3 default band of the SLA rates.
const SLA_BAND: Band = Band::new(
    Edges::HigherIsBetter {
        healthy_min: 0.95,
        watch_min: 0.90,
    },
    "support operations",
);

/// SLA KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "sla_first_response_rate",
        name: "SLA first response attainment",
        definition:
            "first responses within the policy's target / contacts with a first-response verdict",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[SLA, FRT],
        reads: Days,
        display: Display::service_levels(1, "SLA first response"),
        band: Some(SLA_BAND),
        source: "SPEC §9.3",
        compute: |c| {
            let s = &c.state.sla;
            ratio(
                s.first_response_met as f64,
                (s.first_response_met + s.first_response_breached) as f64,
            )
        },
    },
    KpiDef {
        id: "sla_resolution_rate",
        name: "SLA resolution attainment",
        definition: "resolutions within the policy's target / contacts with a resolution verdict",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[SLA, RESOLVED],
        reads: Days,
        display: Display::service_levels(2, "SLA resolution"),
        band: Some(SLA_BAND),
        source: "SPEC §9.3",
        compute: |c| {
            let s = &c.state.sla;
            ratio(
                s.resolution_met as f64,
                (s.resolution_met + s.resolution_breached) as f64,
            )
        },
    },
    KpiDef {
        id: "sla_first_response_breaches",
        name: "SLA first response breaches",
        definition:
            "contacts whose first response came after due, or has not come and due <= as_of",
        unit: Unit::Count,
        direction: LowerIsBetter,
        needs: &[SLA, FRT],
        reads: Days,
        display: Display::service_levels(8, "SLA FR breaches"),
        band: None,
        source: "SPEC §9.3",
        compute: |c| total(c.state.sla.first_response_breached as f64),
    },
    KpiDef {
        id: "sla_resolution_breaches",
        name: "SLA resolution breaches",
        definition: "contacts resolved after due, or unresolved with due <= as_of",
        unit: Unit::Count,
        direction: LowerIsBetter,
        needs: &[SLA, RESOLVED],
        reads: Days,
        display: Display::service_levels(9, "SLA resolution breaches"),
        band: None,
        source: "SPEC §9.3",
        compute: |c| total(c.state.sla.resolution_breached as f64),
    },
    KpiDef {
        id: "sla_pending",
        name: "SLA verdicts pending",
        definition:
            "contacts with a policy whose first-response or resolution verdict is pending at as_of",
        unit: Unit::Count,
        direction: Neutral,
        needs: &[SLA],
        reads: Days,
        display: Display::service_levels(10, "SLA pending"),
        band: None,
        source: "SPEC §9.3",
        compute: |c| total(c.state.sla.pending as f64),
    },
];
