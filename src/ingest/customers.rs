//! Customer ids of contacts and orders interned into one dense code space (a direct index
//! for compact integer ranges, a hash map otherwise).

use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::Array;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::ids::IdColumn;

/// Customer code sentinel for anonymous rows (null customer_id).
pub const ANONYMOUS: u32 = u32::MAX;

/// Interns customer ids of both tables into one dense code space.
pub(super) enum CustomerInterner<'a> {
    /// Integer ids in a compact range (the common case of sequential database ids).
    Dense(DenseIds),
    /// Other integer ids, numbered in order of first appearance (contacts, then orders).
    Int(FxHashMap<i64, u32>),
    /// Text ids, numbered in order of first appearance.
    Text(FxHashMap<&'a str, u32>),
}

/// Codes for integer ids in a compact range: a bitmap of the ids present and, per 64-id
/// word, the number of ids present before it. An id's code is its rank among the ids
/// present (codes follow id order). Marking and lookups run in parallel, and the tables
/// (one bit per id in the range, 4 bytes per 64) stay small enough for the cache.
pub(super) struct DenseIds {
    min: i64,
    words: Vec<u64>,
    ranks: Vec<u32>,
}

impl DenseIds {
    pub(super) fn new(columns: &[&IdColumn], min: i64, span: usize) -> Self {
        let marks: Vec<AtomicU64> = (0..span.div_ceil(64)).map(|_| AtomicU64::new(0)).collect();
        for column in columns {
            let IdColumn::Int { values, valid } = column else {
                continue;
            };
            values.par_iter().enumerate().for_each(|(i, &v)| {
                if valid.as_ref().is_none_or(|valid| valid[i]) {
                    let k = (v - min) as usize;
                    marks[k / 64].fetch_or(1 << (k % 64), Ordering::Relaxed);
                }
            });
        }
        let words: Vec<u64> = marks.into_iter().map(AtomicU64::into_inner).collect();
        let mut ranks = Vec::with_capacity(words.len());
        let mut before = 0u32;
        for w in &words {
            ranks.push(before);
            before += w.count_ones();
        }
        DenseIds { min, words, ranks }
    }

    /// Number of distinct ids.
    pub(super) fn len(&self) -> u32 {
        match (self.ranks.last(), self.words.last()) {
            (Some(r), Some(w)) => r + w.count_ones(),
            _ => 0,
        }
    }

    /// The code of an id that was marked.
    pub(super) fn code(&self, v: i64) -> u32 {
        let k = (v - self.min) as usize;
        let below = self.words[k / 64] & ((1u64 << (k % 64)) - 1);
        self.ranks[k / 64] + below.count_ones()
    }
}

/// The compact range [min, max] of several integer id columns, if it is small enough for
/// a direct-address table (a few slots per row).
pub(super) fn compact_id_range(columns: &[&IdColumn]) -> Option<(i64, usize)> {
    let mut rows = 0usize;
    let mut bounds: Option<(i64, i64)> = None;
    for column in columns {
        let IdColumn::Int { values, valid } = column else {
            return None;
        };
        rows += values.len();
        let column_bounds = values
            .par_iter()
            .enumerate()
            .filter(|&(i, _)| valid.as_ref().is_none_or(|valid| valid[i]))
            .map(|(_, &v)| (v, v))
            .reduce_with(|(lo1, hi1), (lo2, hi2)| (lo1.min(lo2), hi1.max(hi2)));
        bounds = match (bounds, column_bounds) {
            (Some((lo1, hi1)), Some((lo2, hi2))) => Some((lo1.min(lo2), hi1.max(hi2))),
            (a, b) => a.or(b),
        };
    }
    let (lo, hi) = bounds?;
    let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
    (span <= (4 * rows + 4096) as u128).then_some((lo, span as usize))
}

pub(super) fn intern_customers<'a>(
    interner: &mut CustomerInterner<'a>,
    ids: &'a IdColumn,
    next_code: &mut u32,
) -> Vec<u32> {
    let n = match ids {
        IdColumn::Int { values, .. } => values.len(),
        IdColumn::Text(strings) => strings.len(),
    };
    let mut codes = Vec::with_capacity(n);
    match (interner, ids) {
        (CustomerInterner::Dense(dense), IdColumn::Int { values, valid }) => {
            *next_code = dense.len();
            values
                .par_iter()
                .enumerate()
                .map(|(i, &v)| {
                    if valid.as_ref().is_some_and(|valid| !valid[i]) {
                        ANONYMOUS
                    } else {
                        dense.code(v)
                    }
                })
                .collect_into_vec(&mut codes);
        }
        (CustomerInterner::Int(map), IdColumn::Int { values, valid }) => {
            for (i, v) in values.iter().enumerate() {
                if valid.as_ref().is_some_and(|valid| !valid[i]) {
                    codes.push(ANONYMOUS);
                    continue;
                }
                let code = *map.entry(*v).or_insert_with(|| {
                    *next_code += 1;
                    *next_code - 1
                });
                codes.push(code);
            }
        }
        (CustomerInterner::Text(map), IdColumn::Text(strings)) => {
            for v in strings.iter() {
                match v {
                    None => codes.push(ANONYMOUS),
                    Some(v) => {
                        let code = *map.entry(v).or_insert_with(|| {
                            *next_code += 1;
                            *next_code - 1
                        });
                        codes.push(code);
                    }
                }
            }
        }
        // Kinds were checked to match before interning.
        _ => codes.resize(n, ANONYMOUS),
    }
    codes
}
