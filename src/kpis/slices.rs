//! KPIs on one value of a dimension (the `by(dim, value, kpi)` of the rule language): only
//! the slice's contact counts and, when their own tables carry the dimension, its orders
//! and sessions are known, and the value comes from the catalogue's own formula.

use super::customers::{PeriodCustomerState, RepurchaseState};
use super::sample::{CellValues, DayTotals};
use super::{find, Cell, CellSamples, ContactState};

/// A table whose counts a slice KPI reads; the dimension must be one of its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceTable {
    /// Contacts (and preventable contacts) of the cell.
    Contacts,
    /// Orders of the period.
    Orders,
    /// Sessions of the period.
    Sessions,
}

use SliceTable::{Contacts, Orders, Sessions};

/// A slice's value feeds the rules only; its interval is never read, so the cell takes the
/// default confidence's z (95%).
const Z: f64 = 1.959_963_984_540_054;

/// The KPIs a slice can compute, with the tables each reads. `sessions` is the slice's
/// session count (a rule input, not a catalogue KPI); the others are catalogue entries.
pub const SLICE_KPIS: &[(&str, &[SliceTable])] = &[
    ("contacts", &[Contacts]),
    ("orders", &[Orders]),
    ("sessions", &[Sessions]),
    ("tickets_per_order", &[Contacts, Orders]),
    ("preventable_contact_rate", &[Contacts, Sessions]),
    ("conversion_rate", &[Orders, Sessions]),
];

/// What is known about one slice (None: that table lacks the dimension).
#[derive(Debug, Clone, Copy, Default)]
pub struct SliceCounts {
    /// Contacts and preventable contacts of the value in the cell.
    pub contacts: Option<(u64, u64)>,
    /// Orders of the value in the period.
    pub orders: Option<u64>,
    /// Sessions of the value in the period.
    pub sessions: Option<f64>,
}

/// Slice KPI `id` on `counts`; None when it is not a slice KPI, a table it reads lacks the
/// dimension, or its denominator is empty.
pub fn slice_value(id: &str, counts: &SliceCounts) -> Option<f64> {
    let (_, tables) = SLICE_KPIS.iter().find(|(k, _)| *k == id)?;
    let has = |t: &SliceTable| match t {
        Contacts => counts.contacts.is_some(),
        Orders => counts.orders.is_some(),
        Sessions => counts.sessions.is_some(),
    };
    if !tables.iter().all(has) {
        return None;
    }
    if id == "sessions" {
        return counts.sessions;
    }
    let mut state = ContactState::default();
    let (contacts, preventable) = counts.contacts.unwrap_or_default();
    state.volume.contacts = contacts;
    state.volume.preventable = preventable;
    let totals = DayTotals {
        orders: counts.orders.unwrap_or_default(),
        revenue: 0.0,
        sessions: counts.sessions.unwrap_or_default(),
    };
    let mut scratch = CellValues::default();
    let mut cell = Cell {
        state: &state,
        z: Z,
        confidence: 0.95,
        values: CellSamples::new(&mut scratch, &[], Z),
        totals: &totals,
        period_contacts: contacts,
        customers: &PeriodCustomerState::default(),
        repurchase: &RepurchaseState::default(),
        baseline: None,
        backlog_open: 0,
        backlog_age_micros: 0,
        business_backlog_open: 0,
        business_backlog_age_micros: 0,
        daily_peak_trough: None,
        period_days: 1.0,
        lifespan_days: 0.0,
    };
    (find(id)?.compute)(&mut cell).value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_kpis_use_the_catalogue_formulas_and_need_their_tables() {
        let all = SliceCounts {
            contacts: Some((30, 6)),
            orders: Some(200),
            sessions: Some(4000.0),
        };
        assert_eq!(slice_value("contacts", &all), Some(30.0));
        assert_eq!(slice_value("orders", &all), Some(200.0));
        assert_eq!(slice_value("sessions", &all), Some(4000.0));
        assert_eq!(slice_value("tickets_per_order", &all), Some(0.15));
        assert_eq!(
            slice_value("preventable_contact_rate", &all),
            Some(6.0 / 4000.0)
        );
        assert_eq!(slice_value("conversion_rate", &all), Some(0.05));
        assert_eq!(slice_value("csat_mean", &all), None);
        let no_orders = SliceCounts {
            orders: None,
            ..all
        };
        assert_eq!(slice_value("tickets_per_order", &no_orders), None);
        assert_eq!(slice_value("contacts", &no_orders), Some(30.0));
        let no_orders_at_all = SliceCounts {
            orders: Some(0),
            ..all
        };
        assert_eq!(slice_value("tickets_per_order", &no_orders_at_all), None);
        for (id, _) in SLICE_KPIS {
            assert!(*id == "sessions" || find(id).is_some(), "{id}");
        }
    }
}
