//! Cost: support cost per contact, per resolution and against revenue.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::prelude::*;
use super::sample::{additive_state, CellValues};
use super::{mean_with_interval, ratio, KpiDef, Measure, Need, Row};

/// Where total cost comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    /// The `cost` column when present, else the model when it has prices.
    Auto,
    /// The `cost` column only.
    Column,
    /// The unit-cost model only.
    Model,
}

/// Unit-cost model (the `[cost_model]` section of the config): a price per contact by path, plus an optional price per handle minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostModel {
    /// Which cost to use.
    pub source: CostSource,
    /// Price per contact by path: keys self_service, ai, human, unknown.
    pub per_contact: BTreeMap<String, f64>,
    /// Price per handle minute (handle_seconds / 60), added to the per-contact price.
    pub per_handle_minute: f64,
}

impl Default for CostModel {
    /// No prices: cost comes from the `cost` column when there is one.
    fn default() -> Self {
        CostModel {
            source: CostSource::Auto,
            per_contact: BTreeMap::new(),
            per_handle_minute: 0.0,
        }
    }
}

impl CostModel {
    /// Prices are known paths, finite and not negative; "model" needs a price.
    pub fn check(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        for (path, price) in &self.per_contact {
            if !matches!(path.as_str(), "self_service" | "ai" | "human" | "unknown") {
                return Err(Error::config(
                    &format!("cost_model.per_contact.{path}"),
                    "expected one of self_service, ai, human, unknown",
                ));
            }
            if !(price.is_finite() && *price >= 0.0) {
                return Err(Error::config(
                    &format!("cost_model.per_contact.{path}"),
                    "prices must be finite and not negative",
                ));
            }
        }
        if !(self.per_handle_minute.is_finite() && self.per_handle_minute >= 0.0) {
            return Err(Error::config(
                "cost_model.per_handle_minute",
                "must be finite and not negative",
            ));
        }
        if self.source == CostSource::Model && !self.has_prices() {
            return Err(Error::config(
                "cost_model.source",
                "\"model\" needs prices in cost_model.per_contact or per_handle_minute",
            ));
        }
        Ok(())
    }

    /// Whether the model has any price.
    pub fn has_prices(&self) -> bool {
        self.per_contact.values().any(|v| *v != 0.0) || self.per_handle_minute != 0.0
    }
}

additive_state! {
    /// Cost of one day × group cell.
    CostCounters {
        /// Sum of cost (the column, null = 0, or the unit-cost model).
        total: f64,
        /// Sum of cost² (the per-contact mean's interval, SPEC §10.1).
        total_sq: f64,
    }
}

impl CostCounters {
    /// Adds one contact's cost.
    #[inline]
    pub fn fold(&mut self, _values: &mut CellValues, row: &Row) {
        self.total += row.cost;
        self.total_sq += row.cost * row.cost;
    }
}

const COST: Need = Need::Cost;
const RESOLVED: Need = Need::Column("resolved_at");

/// Cost KPIs, in output order.
pub static KPIS: &[KpiDef] = &[
    KpiDef {
        id: "cost_per_contact",
        name: "Cost per contact",
        definition: "total cost / contacts",
        unit: Unit::Currency,
        direction: LowerIsBetter,
        needs: &[COST],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 003",
        compute: |c| {
            let k = &c.state.cost;
            mean_with_interval(k.total, k.total_sq, c.state.volume.contacts, c.confidence)
        },
    },
    KpiDef {
        id: "cost_per_resolved_contact",
        name: "Cost per resolved contact",
        definition: "total cost / resolved contacts",
        unit: Unit::Currency,
        direction: LowerIsBetter,
        needs: &[COST, RESOLVED],
        reads: Days,
        display: Display::other("cost/resolved").in_demo(),
        band: None,
        source: "seed 000",
        compute: |c| ratio(c.state.cost.total, c.state.resolution.resolved as f64),
    },
    KpiDef {
        id: "cost_per_resolved_vs_baseline",
        name: "Cost per resolved contact vs baseline",
        definition:
            "cost_per_resolved_contact / its baseline over the preceding baseline window - 1",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[COST, RESOLVED],
        reads: Days,
        display: Display::scorecard(4, "cost/resolved vs base"),
        band: Some(Band::new(
            Edges::LowerIsBetter {
                healthy_max: 0.10,
                watch_max: 0.20,
            },
            "finance + support",
        )),
        source: "seed 000",
        compute: |c| {
            let current = (c.state.resolution.resolved > 0)
                .then(|| c.state.cost.total / c.state.resolution.resolved as f64);
            let baseline = c
                .baseline
                .filter(|b| b.resolution.resolved > 0)
                .map(|b| b.cost.total / b.resolution.resolved as f64);
            Measure {
                value: current
                    .zip(baseline)
                    .filter(|(_, b)| *b != 0.0)
                    .map(|(cur, b)| cur / b - 1.0),
                numerator: current,
                denominator: baseline,
                // The sample is the period's resolved contacts, not the baseline cost.
                sample: Some(c.state.resolution.resolved as f64),
                ..Measure::default()
            }
        },
    },
    KpiDef {
        id: "support_cost_to_revenue",
        name: "Support cost to revenue",
        definition: "total cost / order revenue (revenue of the whole period)",
        unit: Unit::Ratio,
        direction: LowerIsBetter,
        needs: &[COST],
        reads: Days,
        display: Display::OTHER,
        band: None,
        source: "seed 002",
        compute: |c| ratio(c.state.cost.total, c.totals.revenue),
    },
];
