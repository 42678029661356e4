//! The rules fired in each period × group cell, read from the evaluated cells (the facts a
//! rule reads: KPI values now, before and at the baseline, slice counts and events).

use std::collections::{BTreeMap, HashMap};

use crate::aggregate::breakdown::Breakdown;
use crate::diagnostics::{fire, hotspots, Facts, Finding, PreparedRule, RuleKind, When};
use crate::ingest::Event;
use crate::kpis::slices::slice_value;
use crate::kpis::CATALOG;

use super::cells::CellResult;
use super::view::Grid;

/// Fires every rule on every cell.
pub(super) fn fire_rules(
    grid: &Grid,
    cells: &[(usize, usize)],
    results: &[CellResult],
    active: &[bool],
    rules: &[PreparedRule],
    events: &[Event],
    n_groups: usize,
) -> Vec<Finding> {
    let calendar = &grid.calendar;
    let active_index: HashMap<&'static str, usize> = CATALOG
        .iter()
        .enumerate()
        .filter(|(k, _)| active[*k])
        .map(|(k, kpi)| (kpi.id, k))
        .collect();
    let breakdowns = &grid.breakdowns;
    let contacts_k = active_index.get("contacts").copied();
    let orders_k = active_index.get("orders").copied();
    let mut findings = Vec::new();
    for &(p, g) in cells {
        let facts = CellFacts {
            p,
            g,
            n_groups,
            results,
            active: &active_index,
            breakdowns,
            events,
            period_end: calendar.period_end(p),
        };
        for (r, rule) in rules.iter().enumerate() {
            match rule.kind {
                RuleKind::Conditions => {
                    if let Some(evidence) = fire(&rule.conditions, &facts) {
                        findings.push(Finding {
                            p,
                            g,
                            rule: r,
                            evidence,
                        });
                    }
                }
                RuleKind::Hotspot => {
                    let cell = &results[p * n_groups + g].current;
                    let value = |k: Option<usize>| k.and_then(|k| cell[k].value).unwrap_or(0.0);
                    for evidence in hotspots(
                        rule,
                        p,
                        g,
                        breakdowns,
                        value(contacts_k) as u64,
                        value(orders_k) as u64,
                    ) {
                        findings.push(Finding {
                            p,
                            g,
                            rule: r,
                            evidence,
                        });
                    }
                }
            }
        }
    }
    findings
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
        slice_value(kpi, &breakdown.slice_counts(p, self.g, v))
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
