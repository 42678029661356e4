//! The rule driver: the configured rules prepared for evaluation, what they read of a
//! view (KPIs, at the baseline or not; slice dimensions), and the hotspot scan.

use std::collections::BTreeMap;

use super::expr::{parse_condition, Condition, Evidence, Expr};
use super::spec::{RuleKind, RuleSpec};
use crate::aggregate::breakdown::Breakdown;
use crate::error::{Error, Result};

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
            Expr::Kpi(_) | Expr::EventEndedWithin { .. } => {}
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

pub(crate) fn hotspots(
    rule: &PreparedRule,
    p: usize,
    g: usize,
    breakdowns: &BTreeMap<String, Breakdown>,
    cell_contacts: u64,
    period_orders: u64,
) -> Vec<BTreeMap<String, Evidence>> {
    let mut found = Vec::new();
    if cell_contacts == 0 || period_orders == 0 {
        return found;
    }
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
            let contact_share = contacts as f64 / cell_contacts as f64;
            let order_share = orders as f64 / period_orders as f64;
            if (contacts as f64) >= rule.spec.min_contacts
                && contacts > 0
                && contact_share >= rule.spec.min_ratio * order_share
            {
                let mut evidence = BTreeMap::new();
                evidence.insert("dimension".to_owned(), Evidence::Text(dim.clone()));
                evidence.insert("value".to_owned(), Evidence::Text(name.clone()));
                evidence.insert("contacts".to_owned(), Evidence::Number(contacts as f64));
                evidence.insert("contact_share".to_owned(), Evidence::Number(contact_share));
                evidence.insert("orders".to_owned(), Evidence::Number(orders as f64));
                evidence.insert("order_share".to_owned(), Evidence::Number(order_share));
                if orders > 0 {
                    evidence.insert(
                        "contacts_per_order".to_owned(),
                        Evidence::Number(contacts as f64 / orders as f64),
                    );
                }
                found.push(evidence);
            }
        }
    }
    found
}
