//! The per-customer time joins of SPEC §3. Contacts and orders are grouped by customer
//! (a radix partition on the dense customer codes), sorted by time inside each customer, and
//! each customer is then joined with two-pointer walks: no hashing in the hot loop, and
//! customers are independent, so they run in parallel.

use rayon::prelude::*;

use crate::ingest::{Contacts, Orders, NULL_CODE, NULL_TS};
mod index;
mod partition;
mod slots;

use self::index::customer_blocks;
pub use self::index::{CustomerIndex, JoinColumns};
use self::slots::DisjointSlots;

/// Join windows in microseconds (all parameters, SPEC §3).
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// recovered_7d / attribution window.
    pub recovery: i64,
    /// repeat_14d window.
    pub repeat: i64,
    /// recontact_48h window.
    pub recontact: i64,
}

/// A join output's value compared with another bit for bit (a float's sign of zero too).
trait SameBits: Copy {
    fn same_bits(self, other: Self) -> bool;
}

macro_rules! same_bits_by_eq {
    ($($ty:ty),*) => {
        $(impl SameBits for $ty {
            fn same_bits(self, other: Self) -> bool {
                self == other
            }
        })*
    };
}
same_bits_by_eq!(bool, i8, u32, i64);

impl SameBits for f64 {
    fn same_bits(self, other: Self) -> bool {
        self.to_bits() == other.to_bits()
    }
}

/// Declares the per-contact join outputs once: the result columns ([`ContactJoins`], in
/// input row order), one contact's results while its customer is walked (`JoinRow`, with
/// each output's start value), and the slots the walks write them to (`JoinSlots`).
/// An output marked `if <condition on the orders>` is computed only when the condition
/// holds; otherwise its column is empty and readers take the start value.
macro_rules! join_outputs {
    ($($(#[$meta:meta])* $name:ident : $ty:ty = $start:expr $(, if $when:expr)?;)*) => {
        /// Per-contact join results, in input row order (an output computed only for some
        /// inputs is empty otherwise).
        #[derive(Debug, Clone, Default)]
        pub struct ContactJoins {
            $($(#[$meta])* pub $name: Vec<$ty>,)*
        }

        /// Join results of one contact, in customer-sorted position space.
        #[derive(Debug, Clone, Copy)]
        struct JoinRow {
            $($name: $ty,)*
        }

        impl Default for JoinRow {
            fn default() -> Self {
                JoinRow { $($name: $start,)* }
            }
        }

        impl ContactJoins {
            /// `n` contacts at their start values (outputs the orders cannot give, empty).
            fn start(n: usize, orders: &Orders) -> Self {
                let _ = orders;
                ContactJoins {
                    $($name: if true $(&& $when(orders))? { vec![$start; n] } else { Vec::new() },)*
                }
            }
        }

        /// The output columns of [`join_contacts`], written in input row order.
        struct JoinSlots<'a> {
            $($name: DisjointSlots<'a, $ty>,)*
        }

        impl<'a> JoinSlots<'a> {
            fn new(joins: &'a mut ContactJoins) -> Self {
                JoinSlots { $($name: DisjointSlots::new(&mut joins.$name),)* }
            }

            /// Writes the outputs of `r` that differ from their start value: the columns
            /// start filled with it (`recontact` with 0 for resolved rows, whose results
            /// are never the start value -1), and each write lands on a random input row,
            /// a cache miss per output, so the common no-match results are not written.
            ///
            /// # Safety
            /// As [`DisjointSlots::write`]: each row is written by one thread only.
            unsafe fn write(&self, row: usize, r: &JoinRow) {
                // SAFETY: forwarded from the caller; empty outputs are not written.
                unsafe {
                    $(if self.$name.len > 0 && !r.$name.same_bits($start) {
                        self.$name.write(row, r.$name);
                    })*
                }
            }
        }
    };
}

join_outputs! {
    /// recovered_7d (SPEC §3.1), regardless of maturity.
    recovered: bool = false;
    /// µs from the contact to the first order within the window, `NULL_TS` if none (§3.2).
    next_order_delay: i64 = NULL_TS;
    /// Number of orders attributed to the contact (§3.3).
    attributed_orders: u32 = 0;
    /// Sum of revenue of attributed orders.
    attributed_revenue: f64 = 0.0;
    /// Sum of refund+discount+appeasement+cogs of attributed orders (empty when orders
    /// carry none of those columns).
    attributed_deductions: f64 = 0.0, if |o: &Orders| o.deductions.is_some();
    /// An attributed order has refund > 0 (empty without a refund column).
    attributed_refunded: bool = false, if |o: &Orders| o.refunded.is_some();
    /// repeat_14d (§3.4), regardless of maturity.
    repeat: bool = false;
    /// recontact_48h (§3.5): 1, 0, or -1 for unresolved contacts.
    recontact: i8 = -1;
}

/// Runs every join of SPEC §3 and returns per-contact results in input order.
pub fn join_contacts(
    contacts: &Contacts,
    orders: &Orders,
    index: &CustomerIndex,
    columns: &JoinColumns,
    windows: Windows,
) -> ContactJoins {
    // Anonymous contacts keep the defaults (SPEC §8.9), with recontact false rather than
    // null when they are resolved (§8.10 makes null mean "unresolved").
    let n = contacts.len;
    let mut joins = ContactJoins::start(n, orders);
    if let Some(resolved) = &contacts.resolved_at {
        joins
            .recontact
            .par_iter_mut()
            .zip(resolved.par_iter())
            .for_each(|(r, &t)| *r = if t != NULL_TS { 0 } else { -1 });
    }
    // Each customer's results go straight to their input rows: `contact_rows` holds every
    // non-anonymous row exactly once, so the writes of different customers never meet.
    let out = JoinSlots::new(&mut joins);
    let blocks = customer_blocks(&index.contact_offsets, 1 << 14);
    blocks.par_windows(2).for_each(|w| {
        let mut scratch = Vec::new();
        let mut results: Vec<JoinRow> = Vec::new();
        for c in w[0]..w[1] {
            let (c0, c1) = (index.contact_offsets[c], index.contact_offsets[c + 1]);
            let (o0, o1) = (index.order_offsets[c], index.order_offsets[c + 1]);
            results.clear();
            results.resize(c1 - c0, JoinRow::default());
            join_one_customer(
                contacts,
                orders,
                CustomerRows {
                    contact_times: &index.contact_times[c0..c1],
                    contact_keys: &columns.contact_keys[c0..c1],
                    contact_resolved: &columns.contact_resolved[c0..c1],
                    orders: &columns.order_rows[o0..o1],
                    order_times: &index.order_times[o0..o1],
                    order_revenue: &columns.order_revenue[o0..o1],
                },
                windows,
                &mut results,
                &mut scratch,
            );
            for (r, &row) in results.iter().zip(&index.contact_rows[c0..c1]) {
                // SAFETY: `row` belongs to customer c only (see above).
                unsafe { out.write(row as usize, r) };
            }
        }
    });
    joins
}

/// One customer's rows, in time order, with what the walks read laid out contiguously.
struct CustomerRows<'a> {
    contact_times: &'a [i64],
    contact_keys: &'a [u32],
    contact_resolved: &'a [i64],
    orders: &'a [u32],
    order_times: &'a [i64],
    order_revenue: &'a [f64],
}

/// One customer's joins. `rows.contacts` are the customer's contacts in (created_at, id)
/// order, `out` the matching result slots; `rows.orders` the orders in time order.
fn join_one_customer(
    contacts: &Contacts,
    orders: &Orders,
    rows: CustomerRows,
    windows: Windows,
    out: &mut [JoinRow],
    scratch: &mut Vec<(u32, i64, u32)>,
) {
    let created = rows.contact_times;
    let order_time = rows.order_times;

    // §3.1–3.2: the first order strictly after the contact, if within the window.
    let mut j = 0usize;
    for (k, &t) in created.iter().enumerate() {
        while j < order_time.len() && order_time[j] <= t {
            j += 1;
        }
        if j < order_time.len() && order_time[j] - t <= windows.recovery {
            out[k].recovered = true;
            out[k].next_order_delay = order_time[j] - t;
        }
    }

    // §3.3: each order goes to the latest contact strictly before it (ties: the greatest id,
    // which the sort puts last); the window is checked against that contact only, since any
    // earlier contact is further away.
    let mut k = 0usize;
    for (j, (&order, &t)) in rows.orders.iter().zip(order_time).enumerate() {
        while k < created.len() && created[k] < t {
            k += 1;
        }
        if k == 0 {
            continue;
        }
        let last = k - 1;
        if t - created[last] <= windows.recovery {
            let slot = &mut out[last];
            slot.attributed_orders += 1;
            slot.attributed_revenue += rows.order_revenue[j];
            if let Some(d) = &orders.deductions {
                slot.attributed_deductions += d[order as usize];
            }
            slot.attributed_refunded |= orders.refunded.as_ref().is_some_and(|r| r[order as usize]);
        }
    }

    // §3.4–3.5: the same issue key in time order. Key = intent code (null never matches), or
    // one shared key when the intent column is absent.
    scratch.clear();
    for (k, &key) in rows.contact_keys.iter().enumerate() {
        if key != NULL_CODE {
            scratch.push((key, created[k], k as u32));
        }
    }
    scratch.sort_unstable();
    let has_resolved = contacts.resolved_at.is_some();
    let mut start = 0usize;
    while start < scratch.len() {
        let key = scratch[start].0;
        let mut end = start;
        while end < scratch.len() && scratch[end].0 == key {
            end += 1;
        }
        let group = &scratch[start..end];
        for &(_, t, k) in group {
            // First contact of the same key strictly after t.
            let next = group.partition_point(|&(_, t2, _)| t2 <= t);
            if next < group.len() && group[next].1 - t <= windows.repeat {
                out[k as usize].repeat = true;
            }
            if has_resolved {
                let r = rows.contact_resolved[k as usize];
                if r != NULL_TS {
                    let next = group.partition_point(|&(_, t2, _)| t2 <= r);
                    let hit = next < group.len() && group[next].1 - r <= windows.recontact;
                    out[k as usize].recontact = i8::from(hit);
                }
            }
        }
        start = end;
    }
    // Resolved contacts with a null key are resolved but never recontacted (§8.8).
    if has_resolved {
        for (k, &r) in rows.contact_resolved.iter().enumerate() {
            if out[k].recontact == -1 && r != NULL_TS {
                out[k].recontact = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ANONYMOUS;

    #[test]
    fn index_groups_and_sorts_rows_with_their_columns() {
        // Shuffled rows, time ties broken by contact_id (ids not in row order), anonymous
        // rows, null intents and resolutions: every column must follow its row.
        use crate::config::Config;
        use crate::ingest::{read_joinable, OnInvalid, TableInput};
        use arrow_array::{
            ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
        };
        use std::collections::HashMap;
        use std::sync::Arc;
        const T0: i64 = 1_704_067_200_000_000; // 2024-01-01
        const HOUR: i64 = 3_600_000_000;
        let n = 20_011usize;
        let mix = |i: usize, k: u64| (i as u64 + 1).wrapping_mul(k) >> 17;
        let customer = |i: usize, k: u64| (mix(i, k) % 13 != 0).then_some((mix(i, k) % 97) as i64);
        let batch = |columns: Vec<(&str, ArrayRef)>| RecordBatch::try_from_iter(columns).unwrap();
        let contacts = batch(vec![
            (
                "contact_id",
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| {
                    (mix(i, 11) % 1_000_000_007) as i64 * 20_011 + i as i64
                }))),
            ),
            (
                "customer_id",
                Arc::new(Int64Array::from_iter(
                    (0..n).map(|i| customer(i, 2_654_435_761)),
                )),
            ),
            // Few distinct times: many ties within a customer.
            (
                "created_at",
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        (0..n).map(|i| T0 + (mix(i, 40_503) % 50) as i64 * HOUR),
                    )
                    .with_timezone("UTC"),
                ),
            ),
            (
                "intent",
                Arc::new(StringArray::from_iter((0..n).map(|i| {
                    ["returns", "wismo", "other"]
                        .get((mix(i, 7) % 4) as usize)
                        .copied()
                }))),
            ),
            (
                "resolved_at",
                Arc::new(
                    TimestampMicrosecondArray::from_iter(
                        (0..n).map(|i| (mix(i, 5) % 3 != 0).then_some(T0 + 60 * HOUR + i as i64)),
                    )
                    .with_timezone("UTC"),
                ),
            ),
        ]);
        let m = 2 * n;
        let orders = batch(vec![
            (
                "order_id",
                Arc::new(Int64Array::from_iter_values(0..m as i64)),
            ),
            (
                "customer_id",
                Arc::new(Int64Array::from_iter((0..m).map(|i| customer(i, 40_503)))),
            ),
            (
                "created_at",
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        (0..m).map(|i| T0 + (mix(i, 2_654_435_761) % 70) as i64 * HOUR),
                    )
                    .with_timezone("UTC"),
                ),
            ),
            (
                "revenue",
                Arc::new(Float64Array::from_iter_values((0..m).map(|i| i as f64))),
            ),
        ]);
        let input =
            |name, b: RecordBatch| TableInput::new(name, b.schema(), vec![b], HashMap::new());
        let config = Config::default();
        let data = read_joinable(
            &input("contacts", contacts),
            &input("orders", orders),
            &config.value_checks().unwrap(),
            OnInvalid::Raise,
        )
        .unwrap();
        let (c, o) = (&data.contacts, &data.orders);
        let (index, columns) = CustomerIndex::build(c, o, data.customers);
        for code in 0..data.customers {
            let mut want: Vec<usize> = (0..c.len)
                .filter(|&r| c.customer[r] == code as u32)
                .collect();
            want.sort_by(|&a, &b| {
                c.created_at[a]
                    .cmp(&c.created_at[b])
                    .then_with(|| c.contact_id.cmp_rows(a, b))
            });
            let range = index.contact_offsets[code]..index.contact_offsets[code + 1];
            let rows: Vec<usize> = index.contact_rows[range.clone()]
                .iter()
                .map(|&r| r as usize)
                .collect();
            assert_eq!(rows, want, "contacts of customer {code}");
            for (k, &r) in range.zip(&want) {
                assert_eq!(index.contact_times[k], c.created_at[r]);
                assert_eq!(columns.contact_keys[k], c.intent.as_ref().unwrap().codes[r]);
                assert_eq!(
                    columns.contact_resolved[k],
                    c.resolved_at.as_ref().unwrap()[r]
                );
            }
            let mut want: Vec<usize> = (0..o.created_at.len())
                .filter(|&r| o.customer[r] == code as u32)
                .collect();
            want.sort_by_key(|&r| (o.created_at[r], r));
            let range = index.order_offsets[code]..index.order_offsets[code + 1];
            let rows: Vec<usize> = columns.order_rows[range.clone()]
                .iter()
                .map(|&r| r as usize)
                .collect();
            assert_eq!(rows, want, "orders of customer {code}");
            for (k, &r) in range.zip(&want) {
                assert_eq!(index.order_times[k], o.created_at[r]);
                assert_eq!(columns.order_revenue[k], o.revenue[r]);
            }
        }
        let anonymous = c.customer.iter().filter(|&&x| x == ANONYMOUS).count();
        assert!(anonymous > 0);
        assert_eq!(index.contact_rows.len(), c.len - anonymous);
    }
}
