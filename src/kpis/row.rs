//! The facts of one contact that the families' folds read, computed once per contact.

use super::cost::{CostModel, CostSource};
use crate::business::BusinessFacts;
use crate::ingest::{Contacts, HandledBy, Scales, ANONYMOUS, NULL_CODE, NULL_TS};
use crate::joins::ContactJoins;
use crate::taxonomy::{Taxonomy, WISMO_INTENT};

/// start + window ≤ as_of (SPEC §2).
pub fn matures(start: i64, window: i64, as_of: i64) -> bool {
    start.saturating_add(window) <= as_of
}

/// resolved_at not null and path in (self_service, ai) (SPEC §3.7).
pub fn resolved_without_human(c: &Contacts, i: usize, path: HandledBy) -> bool {
    c.is_resolved(i) && matches!(path, HandledBy::SelfService | HandledBy::Ai)
}

/// A taxonomy class of intents (SPEC §4).
#[derive(Debug, Clone, Copy)]
pub enum IntentClass {
    /// Preventable by self-service or proactive messaging.
    Preventable,
    /// Policy questions (returns, warranty, …).
    Policy,
    /// Checkout and shipping issues.
    CheckoutShipping,
    /// Where is my order (`order_tracking`).
    Wismo,
}

/// Per-intent-code taxonomy flags, resolved once per distinct intent from the config.
pub struct IntentFlags {
    preventable: Vec<bool>,
    policy: Vec<bool>,
    checkout_shipping: Vec<bool>,
    wismo: Vec<bool>,
}

impl IntentFlags {
    /// Flags of the contacts' distinct intents under the config's taxonomy.
    pub fn new(contacts: &Contacts, taxonomy: &Taxonomy) -> Self {
        let values: &[String] = contacts.intent.as_ref().map_or(&[], |i| &i.values);
        let class = |v: &String| taxonomy.get(v);
        IntentFlags {
            preventable: values
                .iter()
                .map(|v| class(v).is_some_and(|c| c.preventable))
                .collect(),
            policy: values
                .iter()
                .map(|v| class(v).is_some_and(|c| c.policy))
                .collect(),
            checkout_shipping: values
                .iter()
                .map(|v| class(v).is_some_and(|c| c.checkout_shipping))
                .collect(),
            wismo: values.iter().map(|v| v == WISMO_INTENT).collect(),
        }
    }

    /// Whether contact `i`'s intent is in `class` (a null or absent intent is in none).
    pub fn is(&self, class: IntentClass, contacts: &Contacts, i: usize) -> bool {
        let flags = match class {
            IntentClass::Preventable => &self.preventable,
            IntentClass::Policy => &self.policy,
            IntentClass::CheckoutShipping => &self.checkout_shipping,
            IntentClass::Wismo => &self.wismo,
        };
        match contacts.intent.as_ref().map(|intent| intent.codes[i]) {
            Some(code) if code != NULL_CODE => flags[code as usize],
            _ => false,
        }
    }

    /// Preventable: the `preventable` column when present and non-null, else the taxonomy.
    pub fn is_preventable(&self, contacts: &Contacts, i: usize) -> bool {
        match contacts.preventable.as_ref().map(|p| p[i]) {
            Some(1) => true,
            Some(0) => false,
            _ => self.is(IntentClass::Preventable, contacts, i),
        }
    }
}

/// Everything the per-contact folds need besides the row.
pub struct FoldContext<'a> {
    /// Contacts.
    pub contacts: &'a Contacts,
    /// Their join results.
    pub joins: &'a ContactJoins,
    /// Their business time and SLA verdicts.
    pub business: &'a BusinessFacts,
    /// Taxonomy flags.
    pub flags: IntentFlags,
    /// The unit-cost model.
    pub cost_model: &'a CostModel,
    /// The score scales.
    pub scales: &'a Scales,
    /// Windows, µs.
    pub recovery_window: i64,
    /// Windows, µs.
    pub repeat_window: i64,
    /// Windows, µs.
    pub recontact_window: i64,
    /// End of observed data.
    pub as_of: i64,
}

impl FoldContext<'_> {
    /// Whether total cost comes from the `cost` column.
    fn cost_from_column(&self) -> bool {
        self.contacts.cost.is_some() && self.cost_model.source != CostSource::Model
    }

    /// Whether any cost is known (the column, or the unit-cost model).
    pub fn has_cost(contacts: &Contacts, model: &CostModel) -> bool {
        match model.source {
            CostSource::Column => contacts.cost.is_some(),
            CostSource::Model => model.has_prices(),
            CostSource::Auto => contacts.cost.is_some() || model.has_prices(),
        }
    }

    /// Cost of contact `i`: the column (null = 0), or the model's price for its path plus
    /// its handle minutes.
    pub fn cost(&self, i: usize, path: HandledBy) -> f64 {
        let c = self.contacts;
        if self.cost_from_column() {
            let cost = c.cost.as_ref().map_or(f64::NAN, |x| x[i]);
            return if cost.is_nan() { 0.0 } else { cost };
        }
        let model = self.cost_model;
        let key = path.name().unwrap_or("unknown");
        let per_contact = model.per_contact.get(key).copied().unwrap_or(0.0);
        let seconds = c.handle_seconds.as_ref().map_or(f64::NAN, |h| h[i]);
        let handling = if seconds.is_nan() {
            0.0
        } else {
            model.per_handle_minute * seconds / 60.0
        };
        per_contact + handling
    }

    /// The facts of contact `i`.
    #[inline]
    pub fn row(&self, i: usize) -> Row<'_> {
        let c = self.contacts;
        let path = c.path(i);
        Row {
            ctx: self,
            i,
            created: c.created_at[i],
            path,
            handled_by: c.handled_by.as_ref().map_or(HandledBy::Unknown, |h| h[i]),
            resolved: c.is_resolved(i),
            resolved_at: c.resolved_at.as_ref().map_or(NULL_TS, |r| r[i]),
            escalated: c.is_escalated(i),
            known_customer: c.customer[i] != ANONYMOUS,
            cost: self.cost(i, path),
        }
    }
}

/// One contact as the folds see it.
pub struct Row<'a> {
    ctx: &'a FoldContext<'a>,
    /// Input row.
    pub i: usize,
    /// created_at, µs.
    pub created: i64,
    /// Resolution path (SPEC §3.6: escalated AI contacts are human).
    pub path: HandledBy,
    /// handled_by as given.
    pub handled_by: HandledBy,
    /// resolved_at not null.
    pub resolved: bool,
    /// resolved_at, or `NULL_TS`.
    pub resolved_at: i64,
    /// escalated.
    pub escalated: bool,
    /// Has a customer_id.
    pub known_customer: bool,
    /// Support cost of the contact.
    pub cost: f64,
}

impl Row<'_> {
    /// The contacts table.
    pub fn contacts(&self) -> &Contacts {
        self.ctx.contacts
    }

    /// The join results of all contacts.
    pub fn joins(&self) -> &ContactJoins {
        self.ctx.joins
    }

    /// The business time and SLA verdicts of all contacts.
    pub fn business(&self) -> &BusinessFacts {
        self.ctx.business
    }

    /// The score scales.
    pub fn scales(&self) -> &Scales {
        self.ctx.scales
    }

    /// Whether the intent is in a taxonomy class.
    pub fn intent_is(&self, class: IntentClass) -> bool {
        self.ctx.flags.is(class, self.ctx.contacts, self.i)
    }

    /// Whether the contact is preventable (§4).
    pub fn preventable(&self) -> bool {
        self.ctx.flags.is_preventable(self.ctx.contacts, self.i)
    }

    /// A float column's value (NaN when null or absent).
    pub fn float(&self, column: &Option<Vec<f64>>) -> f64 {
        column.as_ref().map_or(f64::NAN, |x| x[self.i])
    }

    /// Whether the recovery window after the contact has passed (SPEC §2).
    pub fn recovery_mature(&self) -> bool {
        matures(self.created, self.ctx.recovery_window, self.ctx.as_of)
    }

    /// A contact with a customer whose repeat window has passed.
    pub fn repeat_mature(&self) -> bool {
        self.known_customer && matures(self.created, self.ctx.repeat_window, self.ctx.as_of)
    }

    /// A resolved contact with a customer whose recontact window has passed.
    pub fn recontact_mature(&self) -> bool {
        self.known_customer
            && self.resolved_at != NULL_TS
            && matures(self.resolved_at, self.ctx.recontact_window, self.ctx.as_of)
    }
}
