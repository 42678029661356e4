//! Diagnostic rules as data (SPEC §7): the condition language (`expr`), the rule schema
//! and defaults (`spec`), and the driver that prepares rules and scans hotspots (`driver`).
//! The scorecard supplies the facts of each period × group cell (`Facts`).

mod driver;
mod expr;
mod spec;

pub(crate) use driver::{
    hotspots, prepare_rules, rule_dimensions, rule_kpi_reads, Finding, PreparedRule,
};
pub(crate) use expr::{fire, Facts, When};
pub(crate) use spec::{check_rule, default_rules, RuleKind, RuleSpec};
