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

            /// # Safety
            /// As [`DisjointSlots::write`]: each row is written by one thread only.
            unsafe fn write(&self, row: usize, r: &JoinRow) {
                // SAFETY: forwarded from the caller; empty outputs are not written.
                unsafe { $(if self.$name.len > 0 { self.$name.write(row, r.$name); })* }
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

/// Contact and order rows grouped by customer, each group sorted by time: what the joins
/// and the customer cohorts of every view walk.
pub struct CustomerIndex {
    /// Contact rows grouped by customer code; anonymous rows are left out.
    pub contact_rows: Vec<u32>,
    /// `contact_rows[contact_offsets[c]..contact_offsets[c + 1]]` are customer c's contacts.
    pub contact_offsets: Vec<usize>,
    /// Offsets per customer into the customer-sorted order arrays.
    pub order_offsets: Vec<usize>,
    /// created_at of `contact_rows`, in the same order (contiguous per customer, so the
    /// per-customer walks read memory in order).
    pub contact_times: Vec<i64>,
    /// created_at of the orders, customer-sorted.
    pub order_times: Vec<i64>,
}

/// What only the joins read, in the index's customer-sorted order; dropped after them.
pub struct JoinColumns {
    /// Issue key (intent code; 0 for all without an intent column; NULL_CODE for null).
    pub contact_keys: Vec<u32>,
    /// resolved_at (or NULL_TS).
    pub contact_resolved: Vec<i64>,
    /// Order rows; anonymous rows are left out.
    pub order_rows: Vec<u32>,
    /// revenue of `order_rows`.
    pub order_revenue: Vec<f64>,
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

/// Where each row goes when rows are grouped by customer code, input order kept within a
/// customer and anonymous rows left out: a parallel counting sort. Each of a few row
/// chunks counts its customers, and the counts become per-chunk write cursors, so every
/// chunk can then place its rows without locks.
struct CustomerPlacement {
    /// Per chunk, per customer: the next slot for that chunk's rows of the customer.
    cursors: Vec<Vec<u32>>,
    /// `offsets[c]..offsets[c + 1]` are customer c's slots.
    offsets: Vec<usize>,
    chunk_len: usize,
}

impl CustomerPlacement {
    fn plan(customer: &[u32], customers: usize) -> Self {
        // Few chunks: each holds one cursor per customer.
        let n_chunks = rayon::current_num_threads().clamp(1, 8);
        let chunk_len = customer.len().div_ceil(n_chunks).max(1);
        let mut cursors: Vec<Vec<u32>> = customer
            .par_chunks(chunk_len)
            .map(|chunk| {
                let mut counts = vec![0u32; customers];
                for &c in chunk {
                    if c != ANONYMOUS {
                        counts[c as usize] += 1;
                    }
                }
                counts
            })
            .collect();
        let mut offsets = vec![0usize; customers + 1];
        let mut next = 0usize;
        for c in 0..customers {
            offsets[c] = next;
            for chunk in cursors.iter_mut() {
                let count = chunk[c] as usize;
                // Row positions fit u32 (rows are u32 throughout).
                chunk[c] = next as u32;
                next += count;
            }
        }
        offsets[customers] = next;
        CustomerPlacement {
            cursors,
            offsets,
            chunk_len,
        }
    }

    /// Number of slots (non-anonymous rows).
    fn len(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// The rows in their slots: each customer's rows together, in input order.
    fn rows(mut self, customer: &[u32]) -> Vec<u32> {
        let mut rows = vec![0u32; self.len()];
        let slots = DisjointSlots::new(&mut rows);
        let chunk_len = self.chunk_len;
        customer
            .par_chunks(chunk_len)
            .zip(self.cursors.par_iter_mut())
            .enumerate()
            .for_each(|(k, (chunk, cursor))| {
                let first_row = k * chunk_len;
                for (i, &c) in chunk.iter().enumerate() {
                    if c != ANONYMOUS {
                        let at = &mut cursor[c as usize];
                        // SAFETY: the cursors of different chunks and customers cover
                        // disjoint ranges, and each cursor moves forward by one per write.
                        unsafe { slots.write(*at as usize, (first_row + i) as u32) };
                        *at += 1;
                    }
                }
            });
        rows
    }
}

/// Rows grouped by customer code (see [`CustomerPlacement`]), and each customer's offsets.
#[cfg(test)]
fn rows_by_customer(customer: &[u32], customers: usize) -> (Vec<u32>, Vec<usize>) {
    let plan = CustomerPlacement::plan(customer, customers);
    let offsets = plan.offsets.clone();
    (plan.rows(customer), offsets)
}

/// `values[row]` for each of `rows`, in parallel.
fn gather<T: Copy + Send + Sync>(values: &[T], rows: &[u32]) -> Vec<T> {
    rows.par_iter().map(|&row| values[row as usize]).collect()
}

/// Columns laid out in customer order, sorted by time within each customer: the rows'
/// ids, their times, and what else the joins read, moved together.
struct CustomerRuns<'a> {
    rows: &'a mut [u32],
    times: &'a mut [i64],
    /// Further per-row columns that follow the same order.
    extra: Vec<RunColumn<'a>>,
}

/// A column that moves with its rows when a customer's run is sorted.
enum RunColumn<'a> {
    U32(&'a mut [u32]),
    I64(&'a mut [i64]),
    F64(&'a mut [f64]),
}

impl RunColumn<'_> {
    fn split_off_front(&mut self, n: usize) -> Self {
        fn cut<'b, T>(values: &mut &'b mut [T], n: usize) -> &'b mut [T] {
            let (head, tail) = std::mem::take(values).split_at_mut(n);
            *values = tail;
            head
        }
        match self {
            RunColumn::U32(v) => RunColumn::U32(cut(v, n)),
            RunColumn::I64(v) => RunColumn::I64(cut(v, n)),
            RunColumn::F64(v) => RunColumn::F64(cut(v, n)),
        }
    }

    /// Reorders `range` so that position k takes the value at `range.start + order[k]`,
    /// copying the old values through `scratch` (reused from run to run).
    fn permute(&mut self, range: std::ops::Range<usize>, order: &[u32], scratch: &mut Vec<u64>) {
        fn apply<T: Copy>(
            values: &mut [T],
            order: &[u32],
            scratch: &mut Vec<u64>,
            bits: fn(T) -> u64,
            back: fn(u64) -> T,
        ) {
            scratch.clear();
            scratch.extend(values.iter().map(|&v| bits(v)));
            for (v, &k) in values.iter_mut().zip(order) {
                *v = back(scratch[k as usize]);
            }
        }
        match self {
            RunColumn::U32(v) => apply(&mut v[range], order, scratch, u64::from, |b| b as u32),
            RunColumn::I64(v) => apply(&mut v[range], order, scratch, |x| x as u64, |b| b as i64),
            RunColumn::F64(v) => apply(&mut v[range], order, scratch, f64::to_bits, f64::from_bits),
        }
    }
}

impl<'a> CustomerRuns<'a> {
    /// Splits into consecutive pieces at the given offsets (non-decreasing, from 0).
    fn split(mut self, offsets: &[usize]) -> Vec<CustomerRuns<'a>> {
        let mut pieces = Vec::with_capacity(offsets.len().saturating_sub(1));
        for w in offsets.windows(2) {
            let n = w[1] - w[0];
            let (rows, rest) = std::mem::take(&mut self.rows).split_at_mut(n);
            self.rows = rest;
            let (times, rest) = std::mem::take(&mut self.times).split_at_mut(n);
            self.times = rest;
            let extra = self
                .extra
                .iter_mut()
                .map(|c| c.split_off_front(n))
                .collect();
            pieces.push(CustomerRuns { rows, times, extra });
        }
        pieces
    }

    /// Sorts each customer's run by (time, `tie` of the rows), customers in parallel
    /// blocks. Input in time order (the usual export) is already sorted: then a run is
    /// only read, in order, to confirm it.
    fn sort(self, offsets: &[usize], tie: impl Fn(u32, u32) -> std::cmp::Ordering + Sync) {
        let blocks = customer_blocks(offsets, 1 << 16);
        let block_offsets: Vec<usize> = blocks.iter().map(|&c| offsets[c]).collect();
        self.split(&block_offsets)
            .into_par_iter()
            .zip(blocks.par_windows(2))
            .for_each(|(mut piece, w)| {
                let base = offsets[w[0]];
                let (mut order, mut scratch): (Vec<u32>, Vec<u64>) = (Vec::new(), Vec::new());
                for c in w[0]..w[1] {
                    let range = offsets[c] - base..offsets[c + 1] - base;
                    let key = |k: usize| (piece.times[k], piece.rows[k]);
                    let before =
                        |a: (i64, u32), b: (i64, u32)| a.0.cmp(&b.0).then_with(|| tie(a.1, b.1));
                    let sorted = range
                        .clone()
                        .skip(1)
                        .all(|k| before(key(k - 1), key(k)).is_le());
                    if sorted {
                        continue;
                    }
                    order.clear();
                    order.extend(0..range.len() as u32);
                    let start = range.start;
                    order.sort_unstable_by(|&a, &b| {
                        before(key(start + a as usize), key(start + b as usize))
                    });
                    RunColumn::U32(&mut *piece.rows).permute(range.clone(), &order, &mut scratch);
                    RunColumn::I64(&mut *piece.times).permute(range.clone(), &order, &mut scratch);
                    for column in &mut piece.extra {
                        column.permute(range.clone(), &order, &mut scratch);
                    }
                }
            });
    }
}

impl CustomerIndex {
    /// Builds the index: contacts sorted by (created_at, contact_id) so that the last of a
    /// tie is the greatest id (SPEC §3.3, §8.6); orders by created_at.
    pub fn build(contacts: &Contacts, orders: &Orders, customers: usize) -> (Self, JoinColumns) {
        // Laps for SUPPORTKPI_TRACE only: an interrupt is seen at the caller's next lap.
        let mut timer = crate::trace::PhaseTimer::from_env("index");
        let (contact_plan, order_plan) = rayon::join(
            || CustomerPlacement::plan(&contacts.customer, customers),
            || CustomerPlacement::plan(&orders.customer, customers),
        );
        let _ = timer.lap("plan");
        let (contact_offsets, order_offsets) =
            (contact_plan.offsets.clone(), order_plan.offsets.clone());
        let (mut contact_rows, mut order_rows) = rayon::join(
            || contact_plan.rows(&contacts.customer),
            || order_plan.rows(&orders.customer),
        );
        let _ = timer.lap("scatter");
        // The columns the joins read, gathered into customer order, then sorted with their
        // rows. Writing them while placing the rows was measured slower (random writes to
        // fresh pages); a gather writes in order, and its loads are independent, so the
        // CPU overlaps their cache misses. Sorting the gathered times reads them in order,
        // where sorting row ids would read created_at at random.
        let mut contact_times = gather(&contacts.created_at, &contact_rows);
        let mut contact_keys = match &contacts.intent {
            Some(intent) => gather(&intent.codes, &contact_rows),
            // Without an intent column every contact shares one issue key.
            None => vec![0; contact_rows.len()],
        };
        let mut contact_resolved = match &contacts.resolved_at {
            Some(resolved) => gather(resolved, &contact_rows),
            None => vec![NULL_TS; contact_rows.len()],
        };
        let mut order_times = gather(&orders.created_at, &order_rows);
        let mut order_revenue = gather(&orders.revenue, &order_rows);
        let _ = timer.lap("gather");
        // Contacts by (created_at, contact_id), so that the last of a tie is the greatest
        // id (SPEC §3.3, §8.6); orders by (created_at, row).
        rayon::join(
            || {
                CustomerRuns {
                    rows: &mut contact_rows,
                    times: &mut contact_times,
                    extra: vec![
                        RunColumn::U32(&mut contact_keys),
                        RunColumn::I64(&mut contact_resolved),
                    ],
                }
                .sort(&contact_offsets, |a, b| {
                    contacts.contact_id.cmp_rows(a as usize, b as usize)
                })
            },
            || {
                CustomerRuns {
                    rows: &mut order_rows,
                    times: &mut order_times,
                    extra: vec![RunColumn::F64(&mut order_revenue)],
                }
                .sort(&order_offsets, |a, b| a.cmp(&b))
            },
        );
        let _ = timer.lap("sort");
        let index = CustomerIndex {
            contact_rows,
            contact_offsets,
            order_offsets,
            contact_times,
            order_times,
        };
        let columns = JoinColumns {
            contact_keys,
            contact_resolved,
            order_rows,
            order_revenue,
        };
        (index, columns)
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

/// Writes to distinct positions of one slice from several threads.
struct DisjointSlots<'a, T> {
    ptr: *mut T,
    len: usize,
    _slice: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: the slots only hand out writes, and callers promise distinct positions.
unsafe impl<T: Send> Sync for DisjointSlots<'_, T> {}

impl<'a, T> DisjointSlots<'a, T> {
    fn new(slice: &'a mut [T]) -> Self {
        DisjointSlots {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            _slice: std::marker::PhantomData,
        }
    }

    /// Writes `value` at `i` (bounds-checked).
    ///
    /// # Safety
    /// No other write to `i` may happen concurrently, and `T` must not need dropping
    /// (the old value is overwritten, not dropped).
    unsafe fn write(&self, i: usize, value: T) {
        assert!(i < self.len, "slot {i} out of {}", self.len);
        // SAFETY: in bounds (checked above); exclusive per the caller's promise.
        unsafe { self.ptr.add(i).write(value) }
    }
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

    #[test]
    fn rows_by_customer_is_a_stable_grouping_without_anonymous_rows() {
        // Enough rows for several chunks on any thread count.
        let customers = 37usize;
        let customer: Vec<u32> = (0..10_007u32)
            .map(|i| {
                if i % 11 == 0 {
                    ANONYMOUS
                } else {
                    (i.wrapping_mul(2_654_435_761) >> 7) % customers as u32
                }
            })
            .collect();
        let (rows, offsets) = rows_by_customer(&customer, customers);
        let mut expected_rows = Vec::new();
        let mut expected_offsets = vec![0usize];
        for c in 0..customers as u32 {
            expected_rows.extend((0..customer.len() as u32).filter(|&r| customer[r as usize] == c));
            expected_offsets.push(expected_rows.len());
        }
        assert_eq!(offsets, expected_offsets);
        assert_eq!(rows, expected_rows);
    }

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
            &config.scales,
            config.timestamps.bounds().unwrap(),
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
