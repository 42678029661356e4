//! The customer index: contact and order rows grouped by customer (a radix partition on
//! the dense customer codes, `partition.rs`) and sorted by time within each customer, with
//! the columns the joins read laid out in the same order.

use rayon::prelude::*;

use super::partition::{CustomerPartition, CustomerRecord};
use super::slots::DisjointSlots;
use crate::ingest::{Contacts, Orders, NULL_TS};

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
pub(super) fn customer_blocks(offsets: &[usize], target: usize) -> Vec<usize> {
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

/// A contact moved into customer order with what the joins read of it.
#[derive(Clone, Copy)]
struct ContactRecord {
    customer: u32,
    row: u32,
    key: u32,
    time: i64,
    resolved: i64,
}

impl CustomerRecord for ContactRecord {
    fn customer(&self) -> u32 {
        self.customer
    }
}

/// An order moved into customer order with what the joins read of it.
#[derive(Clone, Copy)]
struct OrderRecord {
    customer: u32,
    row: u32,
    time: i64,
    revenue: f64,
}

impl CustomerRecord for OrderRecord {
    fn customer(&self) -> u32 {
        self.customer
    }
}

/// Columns laid out in customer order, sorted by time within each customer: the rows'
/// ids, their times, and what else the joins read, moved together.
pub(super) struct CustomerRuns<'a> {
    rows: &'a mut [u32],
    times: &'a mut [i64],
    /// Further per-row columns that follow the same order.
    extra: Vec<RunColumn<'a>>,
}

/// A column that moves with its rows when a customer's run is sorted.
pub(super) enum RunColumn<'a> {
    U32(&'a mut [u32]),
    I64(&'a mut [i64]),
    F64(&'a mut [f64]),
}

impl RunColumn<'_> {
    pub(super) fn split_off_front(&mut self, n: usize) -> Self {
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
    pub(super) fn permute(
        &mut self,
        range: std::ops::Range<usize>,
        order: &[u32],
        scratch: &mut Vec<u64>,
    ) {
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
    pub(super) fn split(mut self, offsets: &[usize]) -> Vec<CustomerRuns<'a>> {
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
    pub(super) fn sort(
        self,
        offsets: &[usize],
        tie: impl Fn(u32, u32) -> std::cmp::Ordering + Sync,
    ) {
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
        // Each table is grouped with the columns the joins read, one after the other: the
        // second reuses the first's freed staging memory.
        let contact_plan = CustomerPartition::plan(&contacts.customer, customers);
        let n = contact_plan.len();
        let mut contact_rows = vec![0u32; n];
        let mut contact_times = vec![0i64; n];
        let mut contact_keys = vec![0u32; n];
        let mut contact_resolved = vec![0i64; n];
        let contact_offsets = {
            let rows = DisjointSlots::new(&mut contact_rows);
            let times = DisjointSlots::new(&mut contact_times);
            let keys = DisjointSlots::new(&mut contact_keys);
            let resolved = DisjointSlots::new(&mut contact_resolved);
            let intent = contacts.intent.as_ref().map(|intent| &intent.codes[..]);
            let resolved_at = contacts.resolved_at.as_deref();
            contact_plan.place(
                &contacts.customer,
                |i| ContactRecord {
                    customer: contacts.customer[i],
                    row: i as u32,
                    // Without an intent column every contact shares one issue key.
                    key: intent.map_or(0, |codes| codes[i]),
                    time: contacts.created_at[i],
                    resolved: resolved_at.map_or(NULL_TS, |at| at[i]),
                },
                |slot, r| {
                    // SAFETY: `place` hands out each slot once.
                    unsafe {
                        rows.write(slot, r.row);
                        times.write(slot, r.time);
                        keys.write(slot, r.key);
                        resolved.write(slot, r.resolved);
                    }
                },
            )
        };
        let _ = timer.lap("contacts");
        let order_plan = CustomerPartition::plan(&orders.customer, customers);
        let n = order_plan.len();
        let mut order_rows = vec![0u32; n];
        let mut order_times = vec![0i64; n];
        let mut order_revenue = vec![0f64; n];
        let order_offsets = {
            let rows = DisjointSlots::new(&mut order_rows);
            let times = DisjointSlots::new(&mut order_times);
            let revenue = DisjointSlots::new(&mut order_revenue);
            order_plan.place(
                &orders.customer,
                |i| OrderRecord {
                    customer: orders.customer[i],
                    row: i as u32,
                    time: orders.created_at[i],
                    revenue: orders.revenue[i],
                },
                |slot, r| {
                    // SAFETY: `place` hands out each slot once.
                    unsafe {
                        rows.write(slot, r.row);
                        times.write(slot, r.time);
                        revenue.write(slot, r.revenue);
                    }
                },
            )
        };
        let _ = timer.lap("orders");
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
