//! The rules fired in each period × group cell, read from the evaluated cells (the facts a
//! rule reads: KPI values now, before and at the baseline, slice counts and events).

use std::collections::BTreeMap;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::aggregate::breakdown::Breakdown;
use crate::bands::Band;
use crate::config::Config;
use crate::diagnostics::{fire, hotspots, Facts, Finding, PreparedRule, RuleKind, When};
use crate::ingest::Event;
use crate::kpis::slices::slice_value;
use crate::kpis::{Change, Measure, CATALOG};

use super::cells::CellResults;
use super::view::Grid;

/// Fires every rule on every cell.
pub(super) fn fire_rules(
    grid: &Grid,
    (cells, results): (&[(usize, usize)], &CellResults),
    active: &[bool],
    rules: &[PreparedRule],
    events: &[Event],
    config: &Config,
) -> Vec<Finding> {
    let n_groups = grid.daily.n_groups;
    let calendar = &grid.calendar;
    // A rule reads a banded KPI only on enough evidence (SPEC §10.2).
    let bands: Vec<Option<&Band>> = CATALOG.iter().map(|k| config.bands.get(k.id)).collect();
    let confidence = config.statistics.confidence;
    let active_index: FxHashMap<&'static str, usize> = CATALOG
        .iter()
        .enumerate()
        .filter(|(k, _)| active[*k])
        .map(|(k, kpi)| (kpi.id, k))
        .collect();
    let breakdowns = &grid.breakdowns;
    let contacts_k = active_index.get("contacts").copied();
    let orders_k = active_index.get("orders").copied();
    // Cells in parallel, each cell's findings in rule order, cells in order.
    cells
        .par_iter()
        .flat_map_iter(|&(p, g)| {
            let mut findings = Vec::new();
            let facts = CellFacts {
                p,
                g,
                n_groups,
                results,
                active: &active_index,
                breakdowns,
                events,
                period_end: calendar.period_end(p),
                bands: &bands,
                confidence,
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
                        let cell = p * n_groups + g;
                        let value = |k: Option<usize>| {
                            k.and_then(|k| results.current(cell, k).value)
                                .unwrap_or(0.0)
                        };
                        for evidence in hotspots(
                            rule,
                            (p, g),
                            breakdowns,
                            (value(contacts_k) as u64, value(orders_k) as u64),
                            1.0 - confidence,
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
            findings
        })
        .collect()
}

/// Reads a pass-through of the diagnostics' view of the computed cells.
pub(super) struct CellFacts<'a> {
    pub(super) p: usize,
    pub(super) g: usize,
    pub(super) n_groups: usize,
    pub(super) results: &'a CellResults,
    pub(super) active: &'a FxHashMap<&'static str, usize>,
    pub(super) breakdowns: &'a BTreeMap<String, Breakdown>,
    pub(super) events: &'a [Event],
    pub(super) period_end: i64,
    /// Each catalogue KPI's band, if it has one.
    pub(super) bands: &'a [Option<&'a Band>],
    pub(super) confidence: f64,
}

impl CellFacts<'_> {
    /// KPI `k`'s measure in the cell for `when`.
    fn measure(&self, k: usize, when: When) -> Option<&Measure> {
        let cell = |p: usize| p * self.n_groups + self.g;
        match when {
            When::Current => Some(self.results.current(cell(self.p), k)),
            When::Previous => Some(self.results.current(cell(self.p.checked_sub(1)?), k)),
            When::Baseline => Some(self.results.baseline(cell(self.p), k)),
        }
    }
}

impl Facts for CellFacts<'_> {
    fn has_kpi(&self, id: &str) -> bool {
        self.active.contains_key(id)
    }

    fn kpi(&self, id: &str, when: When) -> Option<f64> {
        let k = *self.active.get(id)?;
        let measure = self.measure(k, when)?;
        // Too little evidence reads as no value: a rule never acts on it (SPEC §10.2).
        let enough = self.bands[k].is_none_or(|band| band.enough(measure.sample));
        measure.value.filter(|_| enough)
    }

    fn change(&self, id: &str, against: When) -> Option<Change> {
        let k = *self.active.get(id)?;
        let now = self.measure(k, When::Current)?;
        now.change_from(self.measure(k, against)?, self.confidence)
    }

    fn alpha(&self) -> f64 {
        1.0 - self.confidence
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
