//! The per-customer time joins of SPEC §3. Contacts and orders are bucketed by customer
//! (a counting sort on the dense customer codes), sorted by time inside each customer, and
//! each customer is then joined with two-pointer walks: no hashing in the hot loop, and
//! customers are independent, so they run in parallel.

use rayon::prelude::*;

use crate::ingest::{Contacts, Orders, ANONYMOUS, NULL_CODE, NULL_TS};

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

/// Per-contact join results, in input row order.
#[derive(Debug, Clone, Default)]
pub struct ContactJoins {
    /// recovered_7d (SPEC §3.1), regardless of maturity.
    pub recovered: Vec<bool>,
    /// µs from the contact to the first order within the window, `NULL_TS` if none (§3.2).
    pub next_order_delay: Vec<i64>,
    /// Number of orders attributed to the contact (§3.3).
    pub attributed_orders: Vec<u32>,
    /// Sum of revenue of attributed orders.
    pub attributed_revenue: Vec<f64>,
    /// Sum of refund+discount+appeasement+cogs of attributed orders.
    pub attributed_deductions: Vec<f64>,
    /// repeat_14d (§3.4), regardless of maturity.
    pub repeat: Vec<bool>,
    /// recontact_48h (§3.5): 1, 0, or -1 for unresolved contacts.
    pub recontact: Vec<i8>,
}

/// Contact and order row indices grouped by customer, each group sorted by time.
pub struct CustomerIndex {
    /// Contact rows grouped by customer code; anonymous rows are left out.
    pub contact_rows: Vec<u32>,
    /// `contact_rows[contact_offsets[c]..contact_offsets[c + 1]]` are customer c's contacts.
    pub contact_offsets: Vec<usize>,
    /// Order rows grouped by customer code; anonymous rows are left out.
    pub order_rows: Vec<u32>,
    /// Offsets into `order_rows` per customer.
    pub order_offsets: Vec<usize>,
    /// created_at of `contact_rows`, in the same order (contiguous per customer, so the
    /// per-customer walks read memory in order).
    pub contact_times: Vec<i64>,
    /// created_at of `order_rows`, in the same order.
    pub order_times: Vec<i64>,
}

/// Counting sort of rows by customer code; anonymous rows are dropped from the index.
fn bucket_by_customer(customer: &[u32], customers: usize) -> (Vec<u32>, Vec<usize>) {
    let mut offsets = vec![0usize; customers + 1];
    for &c in customer {
        if c != ANONYMOUS {
            offsets[c as usize + 1] += 1;
        }
    }
    for i in 0..customers {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut rows = vec![0u32; offsets[customers]];
    for (row, &c) in customer.iter().enumerate() {
        if c != ANONYMOUS {
            rows[fill[c as usize]] = row as u32;
            fill[c as usize] += 1;
        }
    }
    (rows, offsets)
}

/// Splits `data` into consecutive mutable pieces at the given offsets (which must be
/// non-decreasing and end at `data.len()`).
fn split_at_offsets<'a, T>(mut data: &'a mut [T], offsets: &[usize]) -> Vec<&'a mut [T]> {
    let mut pieces = Vec::with_capacity(offsets.len().saturating_sub(1));
    for w in offsets.windows(2) {
        let (head, tail) = data.split_at_mut(w[1] - w[0]);
        pieces.push(head);
        data = tail;
    }
    pieces
}

/// Customer blocks for parallel work: about `target` rows each, on customer boundaries.
fn customer_blocks(offsets: &[usize], target: usize) -> Vec<usize> {
    let customers = offsets.len() - 1;
    let mut blocks = vec![0usize];
    let mut last_rows = 0usize;
    for (c, &offset) in offsets.iter().enumerate().skip(1) {
        if offset - last_rows >= target || c == customers {
            blocks.push(c);
            last_rows = offset;
        }
    }
    if customers == 0 {
        blocks.push(0);
    }
    blocks
}

impl CustomerIndex {
    /// Builds the index: contacts sorted by (created_at, contact_id) so that the last of a
    /// tie is the greatest id (SPEC §3.3, §8.6); orders by created_at.
    pub fn build(contacts: &Contacts, orders: &Orders, customers: usize) -> Self {
        let (mut contact_rows, contact_offsets) = bucket_by_customer(&contacts.customer, customers);
        let (mut order_rows, order_offsets) = bucket_by_customer(&orders.customer, customers);
        let blocks = customer_blocks(&contact_offsets, 1 << 16);
        let block_offsets: Vec<usize> = blocks.iter().map(|&c| contact_offsets[c]).collect();
        split_at_offsets(&mut contact_rows, &block_offsets)
            .into_par_iter()
            .zip(blocks.par_windows(2))
            .for_each(|(piece, w)| {
                let base = contact_offsets[w[0]];
                for c in w[0]..w[1] {
                    let rows = &mut piece[contact_offsets[c] - base..contact_offsets[c + 1] - base];
                    if rows.len() > 1 {
                        rows.sort_unstable_by(|&a, &b| {
                            let (a, b) = (a as usize, b as usize);
                            contacts.created_at[a]
                                .cmp(&contacts.created_at[b])
                                .then_with(|| contacts.contact_id.cmp_rows(a, b))
                        });
                    }
                }
            });
        let blocks = customer_blocks(&order_offsets, 1 << 16);
        let block_offsets: Vec<usize> = blocks.iter().map(|&c| order_offsets[c]).collect();
        split_at_offsets(&mut order_rows, &block_offsets)
            .into_par_iter()
            .zip(blocks.par_windows(2))
            .for_each(|(piece, w)| {
                let base = order_offsets[w[0]];
                for c in w[0]..w[1] {
                    let rows = &mut piece[order_offsets[c] - base..order_offsets[c + 1] - base];
                    if rows.len() > 1 {
                        rows.sort_unstable_by_key(|&r| (orders.created_at[r as usize], r));
                    }
                }
            });
        let contact_times = contact_rows
            .par_iter()
            .map(|&r| contacts.created_at[r as usize])
            .collect();
        let order_times = order_rows
            .par_iter()
            .map(|&r| orders.created_at[r as usize])
            .collect();
        CustomerIndex {
            contact_rows,
            contact_offsets,
            order_rows,
            order_offsets,
            contact_times,
            order_times,
        }
    }

    /// Customer c's contact times, in order.
    pub fn contact_times_of(&self, c: usize) -> &[i64] {
        &self.contact_times[self.contact_offsets[c]..self.contact_offsets[c + 1]]
    }

    /// Customer c's order times, in order.
    pub fn order_times_of(&self, c: usize) -> &[i64] {
        &self.order_times[self.order_offsets[c]..self.order_offsets[c + 1]]
    }

    /// Number of customers.
    pub fn customers(&self) -> usize {
        self.contact_offsets.len() - 1
    }

    /// Customer c's contact rows, in time order.
    pub fn contacts_of(&self, c: usize) -> &[u32] {
        &self.contact_rows[self.contact_offsets[c]..self.contact_offsets[c + 1]]
    }

    /// Customer c's order rows, in time order.
    pub fn orders_of(&self, c: usize) -> &[u32] {
        &self.order_rows[self.order_offsets[c]..self.order_offsets[c + 1]]
    }
}

/// Join results of one contact, in customer-sorted position space.
#[derive(Debug, Clone, Copy)]
struct JoinRow {
    recovered: bool,
    next_order_delay: i64,
    attributed_orders: u32,
    attributed_revenue: f64,
    attributed_deductions: f64,
    repeat: bool,
    recontact: i8,
}

impl Default for JoinRow {
    fn default() -> Self {
        JoinRow {
            recovered: false,
            next_order_delay: NULL_TS,
            attributed_orders: 0,
            attributed_revenue: 0.0,
            attributed_deductions: 0.0,
            repeat: false,
            recontact: -1,
        }
    }
}

/// Runs every join of SPEC §3 and returns per-contact results in input order.
pub fn join_contacts(
    contacts: &Contacts,
    orders: &Orders,
    index: &CustomerIndex,
    windows: Windows,
) -> ContactJoins {
    let n_sorted = index.contact_rows.len();
    let mut sorted_rows = vec![JoinRow::default(); n_sorted];
    let blocks = customer_blocks(&index.contact_offsets, 1 << 14);
    let block_offsets: Vec<usize> = blocks.iter().map(|&c| index.contact_offsets[c]).collect();
    split_at_offsets(&mut sorted_rows, &block_offsets)
        .into_par_iter()
        .zip(blocks.par_windows(2))
        .for_each(|(piece, w)| {
            let base = index.contact_offsets[w[0]];
            let mut scratch = Vec::new();
            for c in w[0]..w[1] {
                let out = &mut piece
                    [index.contact_offsets[c] - base..index.contact_offsets[c + 1] - base];
                join_one_customer(
                    contacts,
                    orders,
                    CustomerRows {
                        contacts: index.contacts_of(c),
                        contact_times: index.contact_times_of(c),
                        orders: index.orders_of(c),
                        order_times: index.order_times_of(c),
                    },
                    windows,
                    out,
                    &mut scratch,
                );
            }
        });

    // Scatter back to input order; anonymous contacts keep the defaults (SPEC §8.9), with
    // recontact false rather than null when they are resolved (§8.10 makes null mean
    // "unresolved").
    let n = contacts.len;
    let mut joins = ContactJoins {
        recovered: vec![false; n],
        next_order_delay: vec![NULL_TS; n],
        attributed_orders: vec![0; n],
        attributed_revenue: vec![0.0; n],
        attributed_deductions: vec![0.0; n],
        repeat: vec![false; n],
        recontact: (0..n)
            .map(|i| if contacts.is_resolved(i) { 0 } else { -1 })
            .collect(),
    };
    for (pos, &row) in index.contact_rows.iter().enumerate() {
        let r = sorted_rows[pos];
        let i = row as usize;
        joins.recovered[i] = r.recovered;
        joins.next_order_delay[i] = r.next_order_delay;
        joins.attributed_orders[i] = r.attributed_orders;
        joins.attributed_revenue[i] = r.attributed_revenue;
        joins.attributed_deductions[i] = r.attributed_deductions;
        joins.repeat[i] = r.repeat;
        joins.recontact[i] = r.recontact;
    }
    joins
}

/// One customer's rows, in time order, with their times laid out contiguously.
struct CustomerRows<'a> {
    contacts: &'a [u32],
    contact_times: &'a [i64],
    orders: &'a [u32],
    order_times: &'a [i64],
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
    for (&order, &t) in rows.orders.iter().zip(order_time) {
        let o = order as usize;
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
            slot.attributed_revenue += orders.revenue[o];
            if let Some(d) = &orders.deductions {
                slot.attributed_deductions += d[o];
            }
        }
    }

    // §3.4–3.5: the same issue key in time order. Key = intent code (null never matches), or
    // one shared key when the intent column is absent.
    scratch.clear();
    for (k, &row) in rows.contacts.iter().enumerate() {
        let key = match &contacts.intent {
            Some(intent) => intent.codes[row as usize],
            None => 0,
        };
        if key != NULL_CODE {
            scratch.push((key, created[k], k as u32));
        }
    }
    scratch.sort_unstable();
    let resolved = contacts.resolved_at.as_deref();
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
            if let Some(resolved) = resolved {
                let r = resolved[rows.contacts[k as usize] as usize];
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
    if let Some(resolved) = resolved {
        for (k, &row) in rows.contacts.iter().enumerate() {
            if out[k].recontact == -1 && resolved[row as usize] != NULL_TS {
                out[k].recontact = 0;
            }
        }
    }
}
