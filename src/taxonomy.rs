//! The default intent taxonomy (SPEC §4): journey step and the three flags each intent
//! carries. An intent outside the table is its own issue key and not preventable (§8.8).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the taxonomy says about one intent (SPEC §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentSpec {
    /// Journey step.
    pub journey_step: String,
    /// Preventable demand.
    pub preventable: bool,
    /// A policy question.
    pub policy: bool,
    /// Checkout or shipping related.
    pub checkout_shipping: bool,
}

/// The taxonomy of a config: intent -> what it is (the `[taxonomy]` section).
pub type Taxonomy = BTreeMap<String, IntentSpec>;

/// The SPEC §4 taxonomy as a config section.
pub fn default_taxonomy() -> Taxonomy {
    DEFAULT_TAXONOMY
        .iter()
        .map(|(name, c)| {
            (
                (*name).to_owned(),
                IntentSpec {
                    journey_step: c.journey_step.to_owned(),
                    preventable: c.preventable,
                    policy: c.policy,
                    checkout_shipping: c.checkout_shipping,
                },
            )
        })
        .collect()
}

/// What the default taxonomy says about one intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntentClass {
    /// Journey step.
    pub journey_step: &'static str,
    /// Preventable demand.
    pub preventable: bool,
    /// A policy question (returns, promo rules).
    pub policy: bool,
    /// Checkout or shipping related.
    pub checkout_shipping: bool,
}

/// The intent counted as WISMO ("where is my order").
pub const WISMO_INTENT: &str = "order_tracking";

const fn class(
    journey_step: &'static str,
    preventable: bool,
    policy: bool,
    checkout_shipping: bool,
) -> IntentClass {
    IntentClass {
        journey_step,
        preventable,
        policy,
        checkout_shipping,
    }
}

/// The SPEC §4 table.
pub const DEFAULT_TAXONOMY: &[(&str, IntentClass)] = &[
    ("order_tracking", class("post_purchase", true, false, true)),
    ("shipping_info", class("checkout", true, false, true)),
    ("payment_issue", class("checkout", false, false, true)),
    ("promo_confusion", class("cart", true, true, true)),
    ("returns", class("post_purchase", true, true, false)),
    (
        "product_question",
        class("product_discovery", true, false, false),
    ),
    ("cancellation", class("post_purchase", false, false, false)),
    ("damaged_item", class("post_purchase", false, false, false)),
    ("account", class("account", false, false, false)),
    ("other", class("unknown", false, false, false)),
    ("unknown", class("unknown", false, false, false)),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The class of an intent in the default table; intents outside it are "unknown".
    fn classify(intent: &str) -> IntentClass {
        DEFAULT_TAXONOMY
            .iter()
            .find(|(name, _)| *name == intent)
            .map_or(class("unknown", false, false, false), |(_, c)| *c)
    }

    #[test]
    fn spec_table_rows() {
        assert!(classify("order_tracking").preventable);
        assert!(classify("promo_confusion").policy);
        assert!(!classify("returns").checkout_shipping);
        assert!(classify("payment_issue").checkout_shipping);
        assert_eq!(classify("something_new"), classify("other"));
    }
}
