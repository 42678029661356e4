//! The rule schema (SPEC §7): a rule as the configuration states it, the default rules,
//! and the checks a rule passes when the configuration is loaded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::expr::parse_condition;
use crate::error::{Error, Result};

/// Kind of diagnostic rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Fires when every condition in `when` holds.
    Conditions,
    /// Fires for each value of a dimension whose contact share is ≥ `min_ratio` × its order
    /// share, with at least `min_contacts` contacts.
    Hotspot,
}

/// One diagnostic rule (SPEC §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Set false to switch a default rule off.
    pub enabled: bool,
    /// Rule kind.
    pub kind: RuleKind,
    /// What the user sees.
    pub symptom: String,
    /// Likely cause.
    pub likely_cause: String,
    /// First corrective action.
    pub action: String,
    /// The metric that shows whether the action worked.
    pub validation_metric: String,
    /// Decision owner.
    pub owner: String,
    /// Conditions (kind = conditions), e.g. "delta(deflection_rate) >= 0.02".
    #[serde(default)]
    pub when: Vec<String>,
    /// Dimensions to scan (kind = hotspot).
    #[serde(default)]
    pub dimensions: Vec<String>,
    /// Minimum contacts of a value (kind = hotspot).
    #[serde(default)]
    pub min_contacts: f64,
    /// Minimum contact share / order share (kind = hotspot).
    #[serde(default)]
    pub min_ratio: f64,
}

fn rule(
    symptom: &str,
    likely_cause: &str,
    action: &str,
    validation_metric: &str,
    owner: &str,
    when: &[&str],
) -> RuleSpec {
    RuleSpec {
        enabled: true,
        kind: RuleKind::Conditions,
        symptom: symptom.to_owned(),
        likely_cause: likely_cause.to_owned(),
        action: action.to_owned(),
        validation_metric: validation_metric.to_owned(),
        owner: owner.to_owned(),
        when: when.iter().map(|s| (*s).to_owned()).collect(),
        dimensions: Vec::new(),
        min_contacts: 0.0,
        min_ratio: 0.0,
    }
}

/// The default diagnostic rules (SPEC §7; seed 000's table and seed 001). The rules that
/// read a change of a proportion or a mean also require it to be significant (SPEC
/// §10.3); changes of counts and unrelated ratios (backlog, tickets per order, breaches)
/// have no test and are read as before.
pub fn default_rules() -> BTreeMap<String, RuleSpec> {
    let mut rules = BTreeMap::new();
    rules.insert(
        "deflection_up_conversion_down".to_owned(),
        rule(
            "deflection up while conversion falls",
            "self-service content unclear for buying-stage questions",
            "rewrite high-intent help modules and add route-back CTAs",
            "recovery_rate_7d of assisted contacts",
            "support enablement",
            &[
                "delta(deflection_rate) >= 0.02",
                "significant(delta(deflection_rate))",
                // Without sessions, the recovery rate stands in for conversion (SPEC §7).
                "delta(conversion_rate|recovery_rate_7d) <= -0.01",
                "significant(delta(conversion_rate|recovery_rate_7d))",
            ],
        ),
    );
    rules.insert(
        "repeats_up_volume_flat".to_owned(),
        rule(
            "repeat contacts up while volume is flat",
            "issue not resolved end-to-end",
            "enforce root-cause tags and escalation ownership",
            "repeat_contact_rate_14d",
            "support operations",
            &[
                "abs(pct_change(contacts)) <= 0.05",
                "delta(repeat_contact_rate_14d) >= 0.02",
                "significant(delta(repeat_contact_rate_14d))",
            ],
        ),
    );
    rules.insert(
        "wismo_after_launch".to_owned(),
        rule(
            "WISMO contacts spike after a launch",
            "ETA communication weak in post-purchase flow",
            "improve shipment status visibility and proactive updates",
            "wismo_share",
            "CX + ecommerce ops",
            &[
                "event_ended_within(launch, 14d)",
                "ratio_to_baseline(wismo_share) >= 1.25",
                "significant(ratio_to_baseline(wismo_share))",
            ],
        ),
    );
    rules.insert(
        "backlog_after_promo".to_owned(),
        rule(
            "backlog grows after a promotion",
            "returns and discount logic confusion",
            "add campaign-specific policy explainers and scripts",
            "policy_contact_share",
            "support operations",
            &[
                "event_ended_within(promo, 14d)",
                "ratio_to_baseline(backlog_open) >= 1.5",
            ],
        ),
    );
    rules.insert(
        "mobile_contacts_despite_web".to_owned(),
        rule(
            "mobile contact rate high while web conversion holds",
            "app/web parity gap in key flows",
            "map parity defects and prioritize high-impact fixes",
            "preventable_contact_rate on mobile",
            "product + checkout owner",
            &[
                "ratio(by(device, mobile, preventable_contact_rate), by(device, desktop, preventable_contact_rate)) >= 1.3",
                "delta(by(device, desktop, conversion_rate)) >= 0",
            ],
        ),
    );
    rules.insert(
        "csat_below_floor".to_owned(),
        rule(
            "CSAT below the 4.0 floor",
            "quality, speed or accuracy gap",
            "review all sub-4 responses from the past 7 days and name the root cause",
            "csat_mean",
            "support lead",
            &["csat_mean < 4.0"],
        ),
    );
    rules.insert(
        "ai_quality_gap".to_owned(),
        rule(
            "AI CSAT trails human CSAT",
            "AI answers weaker than human ones",
            "review knowledge and data connections of the AI agent",
            "csat_ai_human_gap",
            "support lead",
            &["csat_ai_human_gap > 0.3"],
        ),
    );
    rules.insert(
        "escalations_high".to_owned(),
        rule(
            "AI escalations above 40%",
            "knowledge gaps",
            "find escalation categories and close the knowledge gaps",
            "escalation_rate by intent",
            "support enablement",
            &["escalation_rate > 0.4"],
        ),
    );
    rules.insert(
        "tickets_per_order_rising".to_owned(),
        rule(
            "tickets per order rising against baseline",
            "something upstream is getting worse",
            "check volume by intent and the journey steps behind it",
            "tickets_per_order",
            "CX + ecommerce ops",
            &["ratio_to_baseline(tickets_per_order) >= 1.10"],
        ),
    );
    // SPEC §9.3 (issue #18): breaches rising while volume is flat point at capacity.
    rules.insert(
        "sla_breaches_volume_flat".to_owned(),
        rule(
            "SLA breaches rising while volume is flat",
            "staffing or routing",
            "check staffing against the queue and the routing of the breached policies",
            "sla_first_response_rate",
            "support operations",
            &[
                "abs(pct_change(contacts)) <= 0.05",
                "pct_change(sla_first_response_breaches) >= 0.25",
                "sla_first_response_breaches >= 5",
            ],
        ),
    );
    let mut hotspot = rule(
        "a friction hotspot draws contacts out of proportion to its orders",
        "a repeated friction pattern in that template/campaign/device",
        "fix the flow behind it",
        "contacts per order in that group",
        "product + checkout owner",
        &[],
    );
    hotspot.kind = RuleKind::Hotspot;
    hotspot.dimensions = vec!["template".into(), "campaign".into(), "device".into()];
    hotspot.min_contacts = 30.0;
    hotspot.min_ratio = 2.0;
    rules.insert("friction_hotspot".to_owned(), hotspot);
    rules
}

/// A condition as quoted in a message: whole up to 120 characters, else its start and
/// end (a hostile condition can be megabytes long).
fn shortened(text: &str) -> String {
    const KEEP: usize = 60;
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 2 * KEEP {
        return text.to_owned();
    }
    let head: String = chars[..KEEP].iter().collect();
    let tail: String = chars[chars.len() - KEEP..].iter().collect();
    format!("{head}…{tail}")
}

/// Checks a rule when the config is loaded.
pub fn check_rule(id: &str, rule: &RuleSpec) -> Result<()> {
    match rule.kind {
        RuleKind::Conditions => {
            if rule.enabled && rule.when.is_empty() {
                return Err(Error::config(
                    &format!("rules.{id}.when"),
                    "a conditions rule needs at least one condition",
                ));
            }
            for (i, text) in rule.when.iter().enumerate() {
                parse_condition(text).map_err(|e| {
                    Error::config(
                        &format!("rules.{id}.when[{i}]"),
                        format!("{:?}: {e}", shortened(text)),
                    )
                })?;
            }
        }
        RuleKind::Hotspot => {
            if rule.enabled && rule.dimensions.is_empty() {
                return Err(Error::config(
                    &format!("rules.{id}.dimensions"),
                    "a hotspot rule needs at least one dimension",
                ));
            }
            if !(rule.min_ratio.is_finite() && rule.min_ratio > 0.0) {
                return Err(Error::config(
                    &format!("rules.{id}.min_ratio"),
                    "must be > 0",
                ));
            }
            if !(rule.min_contacts.is_finite() && rule.min_contacts >= 0.0) {
                return Err(Error::config(
                    &format!("rules.{id}.min_contacts"),
                    "must be ≥ 0",
                ));
            }
        }
    }
    Ok(())
}
