//! Rows grouped by customer code, carrying the values the joins read: a two-pass radix
//! partition (issue 21).
//!
//! A direct counting sort on 4.5M customer codes writes each row to a random slot and then
//! gathers every column through the row ids, so every row costs several cache and TLB
//! misses (at 10M contacts / 20M orders, 1.4 s of `prepare`). Here the first pass moves
//! whole records (customer code, row and values) into at most 512 buckets of consecutive
//! customers: each bucket is written in order, so the writes stream. The second pass sorts
//! each bucket by customer with a counting sort small enough for the cache, and writes
//! each record's values into the output columns within the bucket's own range. Both passes
//! are stable, so a customer's rows keep their input order.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::slots::DisjointSlots;
use crate::ingest::ANONYMOUS;

/// A row moved by the partition: its customer code and the values it carries.
pub(super) trait CustomerRecord: Copy + Send + Sync {
    /// The row's customer code (never [`ANONYMOUS`]: those rows are left out).
    fn customer(&self) -> u32;
}

/// At most 2^BUCKET_BITS buckets: the first pass writes that many streams, few enough for
/// the TLB; at 4.5M customers a bucket holds 16,384 customers (128 KB of counters, in the
/// L2 cache) and about 20,000 contacts. 9 bits measured faster than 7, 8, 11 and 13 at
/// 10M contacts on this benchmark's machine.
const BUCKET_BITS: u32 = 9;

/// Where the first pass puts each row: per row chunk, per bucket, the next staging slot.
pub(super) struct CustomerPartition {
    /// A customer's bucket is `code >> shift`.
    shift: u32,
    customers: usize,
    chunk_len: usize,
    /// `cursors[chunk][bucket]`: the next staging slot of that chunk's rows of the bucket.
    cursors: Vec<Vec<usize>>,
    /// Bucket b's records are `staging[bucket_starts[b]..bucket_starts[b + 1]]`.
    bucket_starts: Vec<usize>,
}

impl CustomerPartition {
    /// Counts each chunk's rows per bucket (a sequential read of the codes).
    pub(super) fn plan(customer: &[u32], customers: usize) -> Self {
        let bits = usize::BITS - customers.leading_zeros();
        let shift = bits.saturating_sub(BUCKET_BITS);
        let buckets = customers.div_ceil(1 << shift);
        // Several chunks per thread balance the pool; each holds one cursor per bucket.
        let n_chunks = (4 * rayon::current_num_threads()).clamp(1, 64);
        let chunk_len = customer.len().div_ceil(n_chunks).max(1);
        let mut cursors: Vec<Vec<usize>> = customer
            .par_chunks(chunk_len)
            .map(|chunk| {
                let mut counts = vec![0usize; buckets];
                for &c in chunk {
                    if c != ANONYMOUS {
                        counts[(c >> shift) as usize] += 1;
                    }
                }
                counts
            })
            .collect();
        let mut bucket_starts = Vec::with_capacity(buckets + 1);
        let mut next = 0usize;
        for b in 0..buckets {
            bucket_starts.push(next);
            for chunk in cursors.iter_mut() {
                let count = chunk[b];
                chunk[b] = next;
                next += count;
            }
        }
        bucket_starts.push(next);
        CustomerPartition {
            shift,
            customers,
            chunk_len,
            cursors,
            bucket_starts,
        }
    }

    /// Number of rows placed (the non-anonymous ones).
    pub(super) fn len(&self) -> usize {
        self.bucket_starts.last().copied().unwrap_or(0)
    }

    /// Places the rows: `record(row)` for each non-anonymous row, handed to `write(slot,
    /// record)` at its slot among the customer-grouped rows (slots `0..len()`, customers in
    /// code order, a customer's rows in input order). Every slot is written exactly once,
    /// from one thread. Returns the offsets per customer (`customers + 1` of them).
    pub(super) fn place<R: CustomerRecord>(
        mut self,
        customer: &[u32],
        record: impl Fn(usize) -> R + Sync,
        write: impl Fn(usize, R) + Sync,
    ) -> Vec<usize> {
        let len = self.len();
        let mut staging: Vec<R> = Vec::with_capacity(len);
        {
            let slots = DisjointSlots::new(&mut staging.spare_capacity_mut()[..len]);
            let (shift, chunk_len) = (self.shift, self.chunk_len);
            customer
                .par_chunks(chunk_len)
                .zip(self.cursors.par_iter_mut())
                .enumerate()
                .for_each(|(k, (chunk, cursor))| {
                    let first_row = k * chunk_len;
                    for (i, &c) in chunk.iter().enumerate() {
                        if c != ANONYMOUS {
                            let at = &mut cursor[(c >> shift) as usize];
                            // SAFETY: each chunk's cursors of a bucket cover a range of
                            // their own (from the counts), and move forward one per write.
                            unsafe { slots.write(*at, MaybeUninit::new(record(first_row + i))) };
                            *at += 1;
                        }
                    }
                });
        }
        // SAFETY: the counts cover every slot below `len`, and each counted row was written
        // once above, so all `len` records are initialised.
        unsafe { staging.set_len(len) };

        let mut offsets = vec![0usize; self.customers + 1];
        offsets[self.customers] = len;
        let width = 1usize << self.shift;
        let starts = &self.bucket_starts;
        let shift = self.shift;
        offsets[..self.customers]
            .par_chunks_mut(width)
            .enumerate()
            .for_each_init(Vec::new, |counts: &mut Vec<usize>, (b, bucket_offsets)| {
                let records = &staging[starts[b]..starts[b + 1]];
                let first_customer = b << shift;
                counts.clear();
                counts.resize(bucket_offsets.len(), 0);
                for r in records {
                    counts[r.customer() as usize - first_customer] += 1;
                }
                let mut next = starts[b];
                for (offset, count) in bucket_offsets.iter_mut().zip(counts.iter_mut()) {
                    *offset = next;
                    next += *count;
                    // From here on, the customer's next slot.
                    *count = *offset;
                }
                for r in records {
                    let at = &mut counts[r.customer() as usize - first_customer];
                    write(*at, *r);
                    *at += 1;
                }
            });
        offsets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    struct Row {
        customer: u32,
        row: u32,
    }

    impl CustomerRecord for Row {
        fn customer(&self) -> u32 {
            self.customer
        }
    }

    /// The rows grouped by customer, by the partition and by a plain stable filter.
    fn check(customer: &[u32], customers: usize) {
        let plan = CustomerPartition::plan(customer, customers);
        let mut rows = vec![u32::MAX; plan.len()];
        let slots = DisjointSlots::new(&mut rows);
        let offsets = plan.place(
            customer,
            |i| Row {
                customer: customer[i],
                row: i as u32,
            },
            // SAFETY: `place` writes each slot once.
            |slot, r| unsafe { slots.write(slot, r.row) },
        );
        let mut expected_rows = Vec::new();
        let mut expected_offsets = vec![0usize];
        for c in 0..customers as u32 {
            expected_rows.extend((0..customer.len() as u32).filter(|&r| customer[r as usize] == c));
            expected_offsets.push(expected_rows.len());
        }
        assert_eq!(offsets, expected_offsets, "{customers} customers");
        assert_eq!(rows, expected_rows, "{customers} customers");
    }

    #[test]
    fn rows_are_grouped_by_customer_stably_without_anonymous_rows() {
        // From one customer (one bucket) to more customers than 2^BUCKET_BITS (several per
        // bucket, and a last bucket cut short), with anonymous rows and unused codes.
        for customers in [0usize, 1, 2, 37, 2048, 2049, 5000, 70_001] {
            let customer: Vec<u32> = (0..30_011u32)
                .map(|i| {
                    if i % 11 == 0 || customers == 0 {
                        ANONYMOUS
                    } else {
                        (i.wrapping_mul(2_654_435_761) >> 7) % customers as u32
                    }
                })
                .collect();
            check(&customer, customers);
        }
        check(&[], 0);
        check(&[ANONYMOUS, ANONYMOUS], 3);
    }
}
