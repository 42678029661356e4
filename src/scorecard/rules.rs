//! The rule driver: prepared rules, what they read, hotspots and the facts of a cell.

use std::collections::{BTreeMap, HashMap};

use crate::aggregate::breakdown::Breakdown;
use crate::catalog::{Reads, CATALOG};
use crate::config::{Config, RuleKind};
use crate::diagnostics::{parse_condition, Condition, Evidence, Expr, Facts, When};
use crate::error::{Error, Result};
use crate::ingest::Event;

use super::evaluate::CellResult;

/// Per catalogue entry, whether a view computes it: the KPIs it shows and every KPI a
/// diagnostic rule reads (rules fire the same whatever the card shows; hotspot rules read
/// the contact and order counts).
pub(super) fn computed_kpis(shown: &[bool], rules: &[PreparedRule]) -> Vec<bool> {
    let mut read: Vec<&str> = rule_kpi_reads(rules)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    if rules.iter().any(|rule| rule.kind == RuleKind::Hotspot) {
        read.extend(["contacts", "orders"]);
    }
    CATALOG
        .iter()
        .zip(shown)
        .map(|(kpi, &on)| on || read.contains(&kpi.id))
        .collect()
}

/// Every KPI the rules' conditions read, with whether it is read at the baseline (inside
/// `ratio_to_baseline(...)`).
pub(super) fn rule_kpi_reads(rules: &[PreparedRule]) -> Vec<(&str, bool)> {
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

/// Whether any computed KPI reads the states of `pass`.
pub(super) fn pass_needed(computed: &[bool], pass: Reads) -> bool {
    CATALOG
        .iter()
        .zip(computed)
        .any(|(kpi, &on)| on && kpi.reads == pass)
}

/// Reads a pass-through of the diagnostics' view of the computed cells.
pub(super) struct CellFacts<'a> {
    pub(super) p: usize,
    pub(super) g: usize,
    pub(super) n_groups: usize,
    pub(super) results: &'a [CellResult],
    pub(super) active: &'a HashMap<&'static str, usize>,
    pub(super) breakdowns: &'a BTreeMap<String, Breakdown>,
    pub(super) events: &'a [Event],
    pub(super) period_end: i64,
}

impl Facts for CellFacts<'_> {
    fn has_kpi(&self, id: &str) -> bool {
        self.active.contains_key(id)
    }

    fn kpi(&self, id: &str, when: When) -> Option<f64> {
        let k = *self.active.get(id)?;
        match when {
            When::Current => self.results[self.p * self.n_groups + self.g].current[k].value,
            When::Previous => {
                let p = self.p.checked_sub(1)?;
                self.results[p * self.n_groups + self.g].current[k].value
            }
            When::Baseline => self.results[self.p * self.n_groups + self.g].baseline[k],
        }
    }

    fn by(&self, dim: &str, value: &str, kpi: &str, when: When) -> Option<f64> {
        let breakdown = self.breakdowns.get(dim)?;
        let v = breakdown.value_code(value)?;
        let p = match when {
            When::Current => self.p,
            When::Previous => self.p.checked_sub(1)?,
            // Slices have no baseline window (documented).
            When::Baseline => return None,
        };
        breakdown.slice_kpi(kpi, p, self.g, v)
    }

    fn event_ended_within(&self, kind: &str, window: i64) -> Option<String> {
        self.events
            .iter()
            .filter(|e| {
                e.kind == kind && e.end <= self.period_end && e.end >= self.period_end - window
            })
            .max_by_key(|e| e.end)
            .map(|e| e.name.clone())
    }
}

/// A rule ready to evaluate.
pub(super) struct PreparedRule {
    pub(super) id: String,
    pub(super) kind: RuleKind,
    pub(super) conditions: Vec<Condition>,
    pub(super) spec: crate::config::RuleSpec,
}

pub(super) fn prepare_rules(config: &Config) -> Result<Vec<PreparedRule>> {
    config
        .rules
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

/// Which active KPIs anything reads at the baseline: those shown with a band (the bands
/// table shows their baseline) and those inside a rule's `ratio_to_baseline(...)`.
pub(super) fn baseline_reads(
    active: &[bool],
    shown: &[bool],
    config: &Config,
    rules: &[PreparedRule],
) -> Vec<bool> {
    let read: Vec<&str> = rule_kpi_reads(rules)
        .into_iter()
        .filter(|&(_, at_baseline)| at_baseline)
        .map(|(id, _)| id)
        .collect();
    CATALOG
        .iter()
        .zip(active.iter().zip(shown))
        .map(|(kpi, (&on, &show))| {
            on && ((show && config.bands.contains_key(kpi.id)) || read.contains(&kpi.id))
        })
        .collect()
}

pub(super) fn rule_dimensions(rules: &[PreparedRule]) -> Vec<String> {
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
pub(super) struct Finding {
    pub(super) p: usize,
    pub(super) g: usize,
    pub(super) rule: usize,
    pub(super) evidence: BTreeMap<String, Evidence>,
}

pub(super) fn hotspots(
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
