//! The catalogue: every family's KPIs in output order, headline KPIs first (seed 001
//! order), then the families in pipeline order. The scorecard, the docs, the Python
//! catalogue and the tests all read this list.

use std::sync::LazyLock;

use serde::Serialize;

use crate::bands::{Band, Edges, Region};

use super::{
    backlog, cost, customers, quality, recovery, reopens, repeats, resolution, sla, speed, volume,
    Direction, KpiDef, Need, Section,
};

/// The families, in output order.
const FAMILIES: [&[KpiDef]; 11] = [
    volume::KPIS,
    resolution::KPIS,
    recovery::KPIS,
    repeats::KPIS,
    speed::KPIS,
    sla::KPIS,
    reopens::KPIS,
    backlog::KPIS,
    quality::KPIS,
    cost::KPIS,
    customers::KPIS,
];

/// Every KPI in output order.
pub static CATALOG: LazyLock<Vec<&'static KpiDef>> = LazyLock::new(|| {
    let all = FAMILIES.iter().flat_map(|family| family.iter());
    let is_headline = |k: &&KpiDef| k.display.section == Section::Headline;
    let mut headline: Vec<&'static KpiDef> = all.clone().filter(is_headline).collect();
    headline.sort_by_key(|k| k.display.rank);
    headline.extend(all.filter(|k| !is_headline(k)));
    headline
});

/// Looks a KPI up by id.
pub fn find(id: &str) -> Option<&'static KpiDef> {
    CATALOG.iter().copied().find(|k| k.id == id)
}

/// A catalogue entry as data (for Python and the docs).
#[derive(Debug, Serialize)]
pub struct KpiInfo {
    /// Id.
    pub id: &'static str,
    /// Name.
    pub name: &'static str,
    /// Formula in words.
    pub definition: &'static str,
    /// Unit name.
    pub unit: &'static str,
    /// Direction.
    pub direction: Direction,
    /// Optional inputs needed.
    pub requires: Vec<String>,
    /// Headline KPI.
    pub headline: bool,
    /// Report section: headline, support_conversion, service_levels or other.
    pub section: Section,
    /// Position within the section.
    pub section_rank: u8,
    /// Name for narrow tables.
    pub short_name: &'static str,
    /// A column of the command line demo.
    pub demo: bool,
    /// Default band edges (shape and edges, as in a config).
    pub band: Option<Edges>,
    /// The value ranges of the default band, in ascending order.
    pub regions: Vec<Region>,
    /// Owner of the default band.
    pub owner: Option<String>,
    /// Source.
    pub source: &'static str,
}

/// The whole catalogue as data.
pub fn catalog_info() -> Vec<KpiInfo> {
    CATALOG
        .iter()
        .map(|k| KpiInfo {
            id: k.id,
            name: k.name,
            definition: k.definition,
            unit: k.unit.name(),
            direction: k.direction,
            requires: k.needs.iter().map(Need::describe).collect(),
            headline: k.display.section == Section::Headline,
            section: k.display.section,
            section_rank: k.display.rank,
            short_name: if k.display.short_name.is_empty() {
                k.name
            } else {
                k.display.short_name
            },
            demo: k.display.demo,
            band: k.band.as_ref().map(|b| b.edges),
            regions: k.band.as_ref().map(Band::regions).unwrap_or_default(),
            owner: k.band.as_ref().map(|b| b.owner.to_string()),
            source: k.source,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpis::customers::{PeriodCustomerState, RepurchaseState};
    use crate::kpis::sample::{CellValues, DayTotals, Quantiled};
    use crate::kpis::{ratio, Cell, CellSamples, ContactState, Reads};

    /// The default confidence's z (95%).
    const Z: f64 = 1.959_963_984_540_054;

    #[test]
    fn ids_are_unique_and_headline_order_matches_seed_001() {
        let mut ids: Vec<&str> = CATALOG.iter().map(|k| k.id).collect();
        let headline: Vec<&str> = CATALOG
            .iter()
            .filter(|k| k.display.section == Section::Headline)
            .map(|k| k.id)
            .collect();
        assert_eq!(
            headline,
            [
                "csat_mean",
                "deflection_rate",
                "fcr_rate",
                "tickets_per_order"
            ]
        );
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before);
    }

    #[test]
    fn the_support_conversion_section_is_seed_000s_scorecard_in_order() {
        let mut section: Vec<&KpiDef> = CATALOG
            .iter()
            .copied()
            .filter(|k| k.display.section == Section::SupportConversion)
            .collect();
        section.sort_by_key(|k| k.display.rank);
        let ids: Vec<&str> = section.iter().map(|k| k.id).collect();
        assert_eq!(
            ids,
            [
                "preventable_contact_rate",
                "self_service_resolution_rate",
                "recovery_rate_7d",
                "repeat_contact_rate_14d",
                "cost_per_resolved_vs_baseline",
                "negative_csat_checkout_shipping_share",
            ]
        );
        let demo = CATALOG.iter().filter(|k| k.display.demo).count();
        assert_eq!(demo, 8);
    }

    #[test]
    fn every_banded_kpi_has_an_owner() {
        for k in CATALOG.iter() {
            assert!(
                k.band.as_ref().is_none_or(|b| !b.owner.is_empty()),
                "{}",
                k.id
            );
        }
    }

    /// Sets every number in `value` (nested family blocks too) to its own positive value.
    fn fill(value: &mut serde_json::Value, next: &mut u64) {
        match value {
            serde_json::Value::Object(fields) => {
                for (_, field) in fields.iter_mut() {
                    fill(field, next);
                }
            }
            number => {
                *number = serde_json::json!(*next);
                *next += 3;
            }
        }
    }

    /// A state with every field set to its own positive value (through serde, so a field
    /// added later is covered too).
    fn filled<T: Serialize + serde::de::DeserializeOwned + Default>(first: u64) -> T {
        let mut value = serde_json::to_value(T::default()).expect("a state serializes");
        let mut next = first;
        fill(&mut value, &mut next);
        serde_json::from_value(value).expect("every field takes an integer")
    }

    /// Every KPI on one cell whose customer-cohort and backlog states are either empty or
    /// filled, the per-day states fixed.
    fn measures(customers: bool, backlog: bool) -> Vec<String> {
        let state: ContactState = filled(2);
        let baseline: ContactState = filled(5);
        let totals: DayTotals = filled(1000);
        let (per_period, repurchase) = if customers {
            (
                filled::<PeriodCustomerState>(7),
                filled::<RepurchaseState>(11),
            )
        } else {
            Default::default()
        };
        let mut day = CellValues::default();
        for which in Quantiled::ALL {
            for x in [3.0, 1.0, 2.0] {
                day.sample_mut(which).push(x);
            }
        }
        let parts = [&day];
        CATALOG
            .iter()
            .map(|kpi| {
                let mut scratch = CellValues::default();
                let mut cell = Cell {
                    state: &state,
                    z: Z,
                    confidence: 0.95,
                    values: CellSamples::new(&mut scratch, &parts, Z),
                    totals: &totals,
                    period_contacts: 10_000,
                    customers: &per_period,
                    repurchase: &repurchase,
                    baseline: Some(&baseline),
                    backlog_open: if backlog { 40 } else { 0 },
                    backlog_age_micros: if backlog { 9_000_000_000 } else { 0 },
                    business_backlog_open: if backlog { 30 } else { 0 },
                    business_backlog_age_micros: if backlog { 4_000_000_000 } else { 0 },
                    daily_peak_trough: Some((90, 30)),
                    period_days: 7.0,
                    lifespan_days: 1095.0,
                };
                format!("{:?}", (kpi.compute)(&mut cell))
            })
            .collect()
    }

    #[test]
    fn each_kpi_reads_the_pass_it_declares_and_no_other() {
        // A view skips the cohort and backlog passes when no computed KPI declares them:
        // a KPI reading a pass it does not declare would silently come out as zero.
        let plain = measures(false, false);
        let with_customers = measures(true, false);
        let with_backlog = measures(false, true);
        for (k, kpi) in CATALOG.iter().enumerate() {
            let reads_customers = plain[k] != with_customers[k];
            let reads_backlog = plain[k] != with_backlog[k];
            assert_eq!(reads_customers, kpi.reads == Reads::Customers, "{}", kpi.id);
            assert_eq!(reads_backlog, kpi.reads == Reads::Backlog, "{}", kpi.id);
        }
    }

    #[test]
    fn ratio_of_empty_denominator_is_null_but_keeps_parts() {
        let m = ratio(0.0, 0.0);
        assert_eq!(m.value, None);
        assert_eq!(m.numerator, Some(0.0));
        assert_eq!(m.denominator, Some(0.0));
    }
}
