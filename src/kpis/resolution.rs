//! Resolution paths: who resolved the contact (self-service, AI, a human), escalations, and
//! the QA verdicts on AI resolutions.

use super::prelude::*;
use super::row::resolved_without_human;
use super::sample::{additive_state, CellValues};
use super::{ratio, KpiDef, Need, Row};
use crate::ingest::HandledBy;
use Need::Column;

additive_state! {
    /// Resolution counts of one day × group cell.
    ResolutionCounters {
        /// Resolved contacts (resolved_at not null).
        resolved: u64,
        /// resolved_without_human (§3.7).
        resolved_without_human: u64,
        /// handled_by = self_service.
        self_service: u64,
        /// handled_by = self_service, resolved, not escalated.
        self_service_resolved: u64,
        /// handled_by = ai.
        ai: u64,
        /// handled_by = ai, resolved, not escalated.
        ai_resolved: u64,
        /// handled_by = ai and escalated.
        ai_escalated: u64,
        /// AI-resolved contacts with a QA verdict.
        accuracy_reviewed: u64,
        /// … whose verdict is correct.
        accuracy_correct: u64,
    }
}

impl ResolutionCounters {
    /// Counts one contact.
    #[inline]
    pub fn fold(&mut self, _values: &mut CellValues, row: &Row) {
        let (resolved, escalated) = (row.resolved, row.escalated);
        if resolved {
            self.resolved += 1;
            self.resolved_without_human +=
                u64::from(resolved_without_human(row.contacts(), row.i, row.path));
        }
        match row.handled_by {
            HandledBy::SelfService => {
                self.self_service += 1;
                self.self_service_resolved += u64::from(resolved && !escalated);
            }
            HandledBy::Ai => {
                self.ai += 1;
                self.ai_resolved += u64::from(resolved && !escalated);
                self.ai_escalated += u64::from(escalated);
                let verdict = row
                    .contacts()
                    .resolution_correct
                    .as_ref()
                    .map_or(-1, |r| r[row.i]);
                if resolved && !escalated && verdict != -1 {
                    self.accuracy_reviewed += 1;
                    self.accuracy_correct += u64::from(verdict == 1);
                }
            }
            _ => {}
        }
    }
}

const HANDLED: Need = Column("handled_by");
const RESOLVED: Need = Column("resolved_at");

/// Resolution KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "deflection_rate",
        name: "Deflection rate",
        definition: "resolved_without_human / contacts",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[HANDLED, RESOLVED],
        reads: Days,
        display: Display::headline(1, "deflection").in_demo(),
        band: Some(Band::new(
            Edges::HigherIsBetter {
                healthy_min: 0.50,
                watch_min: 0.35,
            },
            "support enablement",
        )),
        source: "seed 001 (watch edge: project default)",
        compute: |c| {
            ratio(
                c.state.resolution.resolved_without_human as f64,
                c.state.volume.contacts as f64,
            )
        },
    },
    KpiDef {
        id: "self_service_resolution_rate",
        name: "Self-service resolution rate",
        definition:
            "(handled_by = self_service, resolved, not escalated) / (handled_by = self_service)",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[HANDLED, RESOLVED],
        reads: Days,
        display: Display::scorecard(1, "self-service resolution"),
        band: Some(Band::new(
            Edges::HigherIsBetter {
                healthy_min: 0.72,
                watch_min: 0.60,
            },
            "support enablement",
        )),
        source: "seed 000",
        compute: |c| {
            ratio(
                c.state.resolution.self_service_resolved as f64,
                c.state.resolution.self_service as f64,
            )
        },
    },
    KpiDef {
        id: "ai_resolution_rate",
        name: "AI resolution rate",
        definition: "(handled_by = ai, resolved, not escalated) / (handled_by = ai)",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[HANDLED, RESOLVED],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 003",
        compute: |c| {
            ratio(
                c.state.resolution.ai_resolved as f64,
                c.state.resolution.ai as f64,
            )
        },
    },
    KpiDef {
        id: "escalation_rate",
        name: "Escalation rate",
        definition: "(handled_by = ai and escalated) / (handled_by = ai)",
        unit: Unit::Rate,
        direction: Direction::Range,
        needs: &[HANDLED, Column("escalated")],
        reads: Days,
        display: Display::OTHER,
        band: Some(Band::new(
            Edges::Range {
                healthy_min: 0.20,
                healthy_max: 0.40,
                watch_max: 0.50,
                watch_min: None,
            },
            "support enablement",
        )),
        source: "seed 001",
        compute: |c| {
            ratio(
                c.state.resolution.ai_escalated as f64,
                c.state.resolution.ai as f64,
            )
        },
    },
    KpiDef {
        id: "resolution_accuracy",
        name: "AI resolution accuracy",
        definition: "resolution_correct = true / reviewed AI-resolved contacts",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[HANDLED, RESOLVED, Column("resolution_correct")],
        reads: Days,
        display: Display::OTHER,
        band: Some(Band::new(
            Edges::HigherIsBetter {
                healthy_min: 0.90,
                watch_min: 0.85,
            },
            "support enablement",
        )),
        source: "seed 001",
        compute: |c| {
            ratio(
                c.state.resolution.accuracy_correct as f64,
                c.state.resolution.accuracy_reviewed as f64,
            )
        },
    },
];
