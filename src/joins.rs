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
    /// Issue key (intent code; 0 for all without an intent column; NULL_CODE for null) of
    /// `contact_rows`, in the same order.
    pub contact_keys: Vec<u32>,
    /// resolved_at (or NULL_TS) of `contact_rows`, in the same order.
    pub contact_resolved: Vec<i64>,
    /// revenue of `order_rows`, in the same order.
    pub order_revenue: Vec<f64>,
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

/// One contact as the per-customer walks read it, scattered once into customer order so
/// that the walks read contiguous memory instead of chasing row indices.
#[derive(Debug, Clone, Copy)]
struct ContactEntry {
    time: i64,
    resolved: i64,
    row: u32,
    key: u32,
}

/// One order as the walks read it.
#[derive(Debug, Clone, Copy)]
struct OrderEntry {
    time: i64,
    revenue: f64,
    row: u32,
}

/// Scatters one entry per non-anonymous row into its customer's bucket (a stable counting
/// sort: rows keep input order within a customer). The reads are sequential; each row is
/// written once.
fn scatter_by_customer<T: Copy + Default>(
    customer: &[u32],
    customers: usize,
    entry: impl Fn(usize) -> T,
) -> (Vec<T>, Vec<usize>) {
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
    let mut entries = vec![T::default(); offsets[customers]];
    for (row, &c) in customer.iter().enumerate() {
        if c != ANONYMOUS {
            entries[fill[c as usize]] = entry(row);
            fill[c as usize] += 1;
        }
    }
    (entries, offsets)
}

impl Default for ContactEntry {
    fn default() -> Self {
        ContactEntry {
            time: 0,
            resolved: NULL_TS,
            row: 0,
            key: NULL_CODE,
        }
    }
}

impl Default for OrderEntry {
    fn default() -> Self {
        OrderEntry {
            time: 0,
            revenue: 0.0,
            row: 0,
        }
    }
}

/// Sorts each customer's slice of `entries` with `sort`, customers in parallel blocks.
fn sort_within_customers<T: Send>(
    entries: &mut [T],
    offsets: &[usize],
    sort: impl Fn(&mut [T]) + Sync,
) {
    let blocks = customer_blocks(offsets, 1 << 16);
    let block_offsets: Vec<usize> = blocks.iter().map(|&c| offsets[c]).collect();
    split_at_offsets(entries, &block_offsets)
        .into_par_iter()
        .zip(blocks.par_windows(2))
        .for_each(|(piece, w)| {
            let base = offsets[w[0]];
            for c in w[0]..w[1] {
                let rows = &mut piece[offsets[c] - base..offsets[c + 1] - base];
                if rows.len() > 1 {
                    sort(rows);
                }
            }
        });
}

impl CustomerIndex {
    /// Builds the index: contacts sorted by (created_at, contact_id) so that the last of a
    /// tie is the greatest id (SPEC §3.3, §8.6); orders by created_at.
    pub fn build(contacts: &Contacts, orders: &Orders, customers: usize) -> Self {
        let keys = contacts.intent.as_ref().map(|intent| &intent.codes);
        let resolved = contacts.resolved_at.as_deref();
        let ((mut contact_entries, contact_offsets), (mut order_entries, order_offsets)) =
            rayon::join(
                || {
                    scatter_by_customer(&contacts.customer, customers, |row| ContactEntry {
                        time: contacts.created_at[row],
                        resolved: resolved.map_or(NULL_TS, |r| r[row]),
                        row: row as u32,
                        // Without an intent column every contact shares one issue key.
                        key: keys.map_or(0, |k| k[row]),
                    })
                },
                || {
                    scatter_by_customer(&orders.customer, customers, |row| OrderEntry {
                        time: orders.created_at[row],
                        revenue: orders.revenue[row],
                        row: row as u32,
                    })
                },
            );
        // Input in time order (the usual export) is already sorted here; the sorts then
        // only confirm it. Ties on time compare ids, the only random access left.
        sort_within_customers(&mut contact_entries, &contact_offsets, |rows| {
            rows.sort_unstable_by(|a, b| {
                a.time
                    .cmp(&b.time)
                    .then_with(|| contacts.contact_id.cmp_rows(a.row as usize, b.row as usize))
            })
        });
        sort_within_customers(&mut order_entries, &order_offsets, |rows| {
            rows.sort_unstable_by_key(|o| (o.time, o.row))
        });
        let contact_rows = contact_entries.par_iter().map(|e| e.row).collect();
        let contact_times = contact_entries.par_iter().map(|e| e.time).collect();
        let contact_keys = contact_entries.par_iter().map(|e| e.key).collect();
        let contact_resolved = contact_entries.par_iter().map(|e| e.resolved).collect();
        drop(contact_entries);
        let order_rows = order_entries.par_iter().map(|e| e.row).collect();
        let order_times = order_entries.par_iter().map(|e| e.time).collect();
        let order_revenue = order_entries.par_iter().map(|e| e.revenue).collect();
        drop(order_entries);
        CustomerIndex {
            contact_rows,
            contact_offsets,
            order_rows,
            order_offsets,
            contact_times,
            order_times,
            contact_keys,
            contact_resolved,
            order_revenue,
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
                    {
                        let (c0, c1) = (index.contact_offsets[c], index.contact_offsets[c + 1]);
                        let (o0, o1) = (index.order_offsets[c], index.order_offsets[c + 1]);
                        CustomerRows {
                            contact_times: &index.contact_times[c0..c1],
                            contact_keys: &index.contact_keys[c0..c1],
                            contact_resolved: &index.contact_resolved[c0..c1],
                            orders: &index.order_rows[o0..o1],
                            order_times: &index.order_times[o0..o1],
                            order_revenue: &index.order_revenue[o0..o1],
                        }
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
