//! The rule driver: prepared rules, what they read, hotspots and the facts of a cell.

use crate::config::Config;
use crate::diagnostics::{rule_kpi_reads, PreparedRule, RuleKind};
use crate::kpis::{Reads, CATALOG};

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

/// Whether any computed KPI reads the states of `pass`.
pub(super) fn pass_needed(computed: &[bool], pass: Reads) -> bool {
    CATALOG
        .iter()
        .zip(computed)
        .any(|(kpi, &on)| on && kpi.reads == pass)
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
