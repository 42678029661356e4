//! Mergeable partial states. A [`ContactState`] holds, for one local day × group cell, only
//! counts and sums, so any set of days (a period, a 30-day baseline window) or any set of
//! customer partitions combines by addition. Quantile inputs are kept as value lists
//! ([`CellValues`]), which combine by concatenation.

/// Declares a struct of additive fields with `add` (field-wise +=).
macro_rules! additive_state {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }
        impl $name {
            /// Adds another state field by field.
            pub fn add(&mut self, other: &Self) { $(self.$field += other.$field;)* }
        }
    };
}

additive_state! {
    /// Counts and sums of the contacts created in one day × group cell.
    ContactState {
        /// Contacts.
        contacts: u64,
        /// Preventable contacts (§4).
        preventable: u64,
        /// Resolved contacts (resolved_at not null).
        resolved: u64,
        /// resolved_without_human (§3.7).
        resolved_without_human: u64,
        /// handled_by = self_service.
        self_service: u64,
        /// handled_by = self_service, resolved, not escalated.
        self_service_resolved: u64,
        /// handled_by = ai.
        ai: u64,
        /// handled_by = ai, resolved, not escalated.
        ai_resolved: u64,
        /// handled_by = ai and escalated.
        ai_escalated: u64,
        /// AI-resolved contacts with a QA verdict.
        accuracy_reviewed: u64,
        /// … whose verdict is correct.
        accuracy_correct: u64,
        /// Mature (recovery window) contacts with a customer.
        recovery_mature: u64,
        /// … recovered.
        recovered: u64,
        /// Attributed revenue of recovery-mature contacts.
        recovered_revenue: f64,
        /// … of those on the ai or human path.
        recovered_revenue_assisted: f64,
        /// … of those on the self_service path.
        recovered_revenue_self_service: f64,
        /// Attributed revenue minus deductions of recovery-mature contacts.
        recovered_net_revenue: f64,
        /// Cost of recovery-mature contacts.
        recovery_mature_cost: f64,
        /// Mature (repeat window) contacts with a customer.
        repeat_mature: u64,
        /// … with repeat_14d.
        repeated: u64,
        /// Mature (recontact window) resolved contacts with a customer.
        recontact_mature: u64,
        /// … with recontact_48h.
        recontacted: u64,
        /// … resolved first time (touches ≤ 1 or null, not recontacted).
        first_contact_resolved: u64,
        /// Sum of handle_seconds of resolved human-path contacts.
        aht_seconds: f64,
        /// Count of those.
        aht_count: u64,
        /// Sum of csat.
        csat_sum: f64,
        /// Rated contacts.
        csat_count: u64,
        /// csat ≥ 4.
        csat_satisfied: u64,
        /// csat ≤ 2.
        csat_negative: u64,
        /// csat ≤ 2 with a checkout_shipping intent.
        csat_negative_checkout_shipping: u64,
        /// Sum of csat on the ai path.
        csat_ai_sum: f64,
        /// Rated contacts on the ai path.
        csat_ai_count: u64,
        /// Sum of csat on the human path.
        csat_human_sum: f64,
        /// Rated contacts on the human path.
        csat_human_count: u64,
        /// nps ≥ 9.
        nps_promoters: u64,
        /// nps ≤ 6.
        nps_detractors: u64,
        /// nps rated.
        nps_rated: u64,
        /// Sum of ces.
        ces_sum: f64,
        /// ces rated.
        ces_count: u64,
        /// Sum of cost (null = 0).
        cost: f64,
        /// intent = order_tracking.
        wismo: u64,
        /// Policy-taxonomy intents.
        policy: u64,
        /// Contacts created this day (backlog inflow).
        opened: u64,
        /// Sum of their created_at (µs).
        opened_created_sum: i128,
        /// Contacts resolved this day (backlog outflow; bucketed by resolved day).
        closed: u64,
        /// Sum of the created_at (µs) of those.
        closed_created_sum: i128,
    }
}

additive_state! {
    /// Order-side and traffic totals of one local day (not split by contact group, §8.4).
    DayTotals {
        /// Orders.
        orders: u64,
        /// Order revenue.
        revenue: f64,
        /// Sessions.
        sessions: f64,
    }
}

additive_state! {
    /// Customer-level counts of one period × group cell (repurchase cohorts).
    RepurchaseState {
        /// Mature customers with a contact in the cell.
        mature: u64,
        /// … who ordered within the window after their first contact.
        repurchased: u64,
        /// Mature, first contact rated csat ≥ 4.
        satisfied_mature: u64,
        /// … repurchased.
        satisfied_repurchased: u64,
        /// Mature, first contact rated csat < 4.
        unsatisfied_mature: u64,
        /// … repurchased.
        unsatisfied_repurchased: u64,
        /// Mature, first contact unrated.
        unrated_mature: u64,
        /// … repurchased.
        unrated_repurchased: u64,
    }
}

additive_state! {
    /// Customer-level order totals of one period (not split by contact group).
    PeriodCustomerState {
        /// Customers ordering in the previous period.
        retention_base: u64,
        /// … who order again in this one.
        retained: u64,
        /// Orders with a customer.
        orders_with_customer: u64,
        /// Distinct ordering customers.
        ordering_customers: u64,
        /// Mature customers with an order and no contact in the period.
        no_contact_mature: u64,
        /// … who ordered again within the window after their first order in it.
        no_contact_repurchased: u64,
    }
}

/// Quantile inputs of a cell, kept whole so quantiles are exact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellValues {
    /// First response times, minutes.
    pub frt_minutes: Vec<f64>,
    /// … on the ai path.
    pub frt_ai_minutes: Vec<f64>,
    /// … on the human path.
    pub frt_human_minutes: Vec<f64>,
    /// Resolution times, hours.
    pub resolution_hours: Vec<f64>,
    /// hours_to_next_order of recovered mature contacts.
    pub recovery_hours: Vec<f64>,
}

impl CellValues {
    /// Appends another cell's values.
    pub fn extend(&mut self, other: &Self) {
        self.frt_minutes.extend_from_slice(&other.frt_minutes);
        self.frt_ai_minutes.extend_from_slice(&other.frt_ai_minutes);
        self.frt_human_minutes
            .extend_from_slice(&other.frt_human_minutes);
        self.resolution_hours
            .extend_from_slice(&other.resolution_hours);
        self.recovery_hours.extend_from_slice(&other.recovery_hours);
    }
}

/// Exact quantile with linear interpolation between closest ranks (numpy's default
/// "linear" method); None when empty. Reorders `values`.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let position = q * (n - 1) as f64;
    let lower = position.floor() as usize;
    let fraction = position - lower as f64;
    let (_, &mut low, upper_part) = values.select_nth_unstable_by(lower, f64::total_cmp);
    if fraction == 0.0 || upper_part.is_empty() {
        return Some(low);
    }
    let high = upper_part
        .iter()
        .copied()
        .min_by(f64::total_cmp)
        .unwrap_or(low);
    // numpy's lerp: exact at both ends, symmetric around t = 0.5.
    let diff = high - low;
    Some(if fraction >= 0.5 {
        high - diff * (1.0 - fraction)
    } else {
        low + diff * fraction
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.quantile([1, 2, 3, 4], 0.5) = 2.5; 0.9 -> 3.7
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&mut v, 0.5), Some(2.5));
        let got = quantile(&mut v, 0.9).unwrap_or(f64::NAN);
        assert!((got - 3.7).abs() < 1e-12, "{got}");
        assert_eq!(quantile(&mut [7.0], 0.9), Some(7.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn states_add_field_by_field() {
        let mut a = ContactState {
            contacts: 2,
            cost: 1.5,
            ..Default::default()
        };
        let b = ContactState {
            contacts: 3,
            cost: 2.0,
            opened_created_sum: 10,
            ..Default::default()
        };
        a.add(&b);
        assert_eq!(a.contacts, 5);
        assert_eq!(a.cost, 3.5);
        assert_eq!(a.opened_created_sum, 10);
    }
}
