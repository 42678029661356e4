//! The rule driver: the configured rules prepared for evaluation, what they read of a
//! view (KPIs, at the baseline or not; slice dimensions), and the hotspot scan.

use std::collections::BTreeMap;

use super::expr::{parse_condition, Condition, Evidence, Expr};
use super::spec::{RuleKind, RuleSpec};
use crate::aggregate::breakdown::Breakdown;
use crate::error::{Error, Result};
use crate::statistics::{benjamini_hochberg, proportion_p_value};

/// A rule ready to evaluate.
pub(crate) struct PreparedRule {
    pub(crate) id: String,
    pub(crate) kind: RuleKind,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) spec: RuleSpec,
}

pub(crate) fn prepare_rules(rules: &BTreeMap<String, RuleSpec>) -> Result<Vec<PreparedRule>> {
    rules
        .iter()
        .filter(|(_, r)| r.enabled)
        .map(|(id, r)| {
            let conditions = r
                .when
                .iter()
                .map(|t| parse_condition(t).map_err(|e| Error::config(&format!("rules.{id}"), e)))
                .collect::<Result<Vec<_>>>()?;
            Ok(PreparedRule {
                id: id.clone(),
                kind: r.kind,
                conditions,
                spec: r.clone(),
            })
        })
        .collect()
}

/// Every KPI the rules' conditions read, with whether it is read at the baseline (inside
/// `ratio_to_baseline(...)`).
pub(crate) fn rule_kpi_reads(rules: &[PreparedRule]) -> Vec<(&str, bool)> {
    fn walk<'e>(expr: &'e Expr, at_baseline: bool, out: &mut Vec<(&'e str, bool)>) {
        match expr {
            Expr::Kpi(ids) => out.extend(ids.iter().map(|id| (id.as_str(), at_baseline))),
            Expr::RatioToBaseline(e) => walk(e, true, out),
            Expr::Delta(e) | Expr::PctChange(e) | Expr::Abs(e) => walk(e, at_baseline, out),
            Expr::Ratio(a, b) => {
                walk(a, at_baseline, out);
                walk(b, at_baseline, out);
            }
            // The change is tested against the previous period's measure or the baseline
            // window's, which must then be computed.
            Expr::Significant { ids, against } => out.extend(
                ids.iter()
                    .map(|id| (id.as_str(), *against == super::expr::When::Baseline)),
            ),
            Expr::By { .. } | Expr::EventEndedWithin { .. } => {}
        }
    }
    let mut read = Vec::new();
    for rule in rules {
        for c in &rule.conditions {
            walk(&c.expr, false, &mut read);
        }
    }
    read
}

pub(crate) fn rule_dimensions(rules: &[PreparedRule]) -> Vec<String> {
    fn walk(expr: &Expr, out: &mut Vec<String>) {
        match expr {
            Expr::By { dim, .. } => out.push(dim.clone()),
            Expr::Delta(e) | Expr::PctChange(e) | Expr::RatioToBaseline(e) | Expr::Abs(e) => {
                walk(e, out)
            }
            Expr::Ratio(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Expr::Kpi(_) | Expr::EventEndedWithin { .. } | Expr::Significant { .. } => {}
        }
    }
    let mut dims = Vec::new();
    for rule in rules {
        for c in &rule.conditions {
            walk(&c.expr, &mut dims);
        }
        if rule.kind == RuleKind::Hotspot {
            dims.extend(rule.spec.dimensions.iter().cloned());
        }
    }
    dims.sort();
    dims.dedup();
    dims
}

/// A fired rule.
pub(crate) struct Finding {
    pub(crate) p: usize,
    pub(crate) g: usize,
    pub(crate) rule: usize,
    pub(crate) evidence: BTreeMap<String, Evidence>,
}

/// One rule's hotspot scan of one period × group cell (SPEC §7, §10.3): each value of
/// each scanned dimension whose contact share is at least `min_ratio` × its order share,
/// with at least `min_contacts` contacts, and whose share of contacts differs from its
/// share of orders beyond chance: the two-proportion z-test of the value against the rest,
/// with Benjamini–Hochberg control at `alpha` across every value the scan tested. The
/// evidence shows both p-values.
pub(crate) fn hotspots(
    rule: &PreparedRule,
    (p, g): (usize, usize),
    breakdowns: &BTreeMap<String, Breakdown>,
    (cell_contacts, period_orders): (u64, u64),
    alpha: f64,
) -> Vec<BTreeMap<String, Evidence>> {
    struct Tested<'a> {
        dim: &'a str,
        value: &'a str,
        contacts: u64,
        orders: u64,
        p_value: f64,
    }
    if cell_contacts == 0 || period_orders == 0 {
        return Vec::new();
    }
    let (n_contacts, n_orders) = (cell_contacts as f64, period_orders as f64);
    let mut tested = Vec::new();
    for dim in &rule.spec.dimensions {
        let Some(b) = breakdowns.get(dim) else {
            continue;
        };
        if b.contacts.is_none() || b.orders.is_none() {
            continue;
        }
        for (v, name) in b.values.iter().enumerate() {
            let (Some(contacts), Some(orders)) = (b.contacts_at(p, g, v), b.orders_at(p, v)) else {
                continue;
            };
            // The value's share of the contacts against its share of the orders (the 2 × 2
            // table of the value and the rest); None when the test is undefined.
            let p_value =
                proportion_p_value((contacts as f64, n_contacts), (orders as f64, n_orders));
            if let Some(p_value) = p_value {
                tested.push(Tested {
                    dim,
                    value: name,
                    contacts,
                    orders,
                    p_value,
                });
            }
        }
    }
    let adjusted = benjamini_hochberg(&tested.iter().map(|t| t.p_value).collect::<Vec<_>>());
    let mut found = Vec::new();
    for (t, adjusted) in tested.iter().zip(adjusted) {
        let contact_share = t.contacts as f64 / n_contacts;
        let order_share = t.orders as f64 / n_orders;
        let out_of_proportion = (t.contacts as f64) >= rule.spec.min_contacts
            && t.contacts > 0
            && contact_share >= rule.spec.min_ratio * order_share;
        if !(out_of_proportion && adjusted < alpha) {
            continue;
        }
        let mut evidence = BTreeMap::new();
        let mut number = |key: &str, x: f64| {
            evidence.insert(key.to_owned(), Evidence::Number(x));
        };
        number("contacts", t.contacts as f64);
        number("contact_share", contact_share);
        number("orders", t.orders as f64);
        number("order_share", order_share);
        if t.orders > 0 {
            number("contacts_per_order", t.contacts as f64 / t.orders as f64);
        }
        number("p_value", t.p_value);
        number("adjusted_p_value", adjusted);
        evidence.insert("dimension".to_owned(), Evidence::Text(t.dim.to_owned()));
        evidence.insert("value".to_owned(), Evidence::Text(t.value.to_owned()));
        found.push(evidence);
    }
    found
}
