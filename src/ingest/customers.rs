//! Customer ids of contacts and orders interned into one dense code space (a direct index
//! for compact integer ranges, a hash map otherwise).

use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::Array;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::ids::IdColumn;

/// Customer code sentinel for anonymous rows (null customer_id).
pub const ANONYMOUS: u32 = u32::MAX;

/// Ids per parallel task in the dense-id passes: each task is a plain loop over its slice
/// (a per-id rayon item with a validity lookup cost 13 ns an id at 30M ids).
const ID_CHUNK: usize = 1 << 16;

/// `f(ids, valid)` on consecutive slices of the ids and their validity, in parallel.
fn for_each_valid_chunk(
    values: &[i64],
    valid: Option<&[bool]>,
    f: impl Fn(&[i64], Option<&[bool]>) + Sync,
) {
    chunk_results(values, valid, |ids, valid| f(ids, valid));
}

/// `f(ids, valid)` on consecutive slices of the ids and their validity, in parallel; the
/// results in slice order.
fn chunk_results<T: Send>(
    values: &[i64],
    valid: Option<&[bool]>,
    f: impl Fn(&[i64], Option<&[bool]>) -> T + Sync,
) -> Vec<T> {
    values
        .par_chunks(ID_CHUNK)
        .enumerate()
        .map(|(k, ids)| f(ids, valid.map(|valid| &valid[k * ID_CHUNK..][..ids.len()])))
        .collect()
}

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
            for_each_valid_chunk(values, valid.as_deref(), |ids, valid| {
                let mark = |v: i64| {
                    let k = (v - min) as usize;
                    let (word, bit) = (&marks[k / 64], 1u64 << (k % 64));
                    // A customer's later rows find their bit set: a plain load then skips
                    // the locked read-modify-write.
                    if word.load(Ordering::Relaxed) & bit == 0 {
                        word.fetch_or(bit, Ordering::Relaxed);
                    }
                };
                match valid {
                    None => ids.iter().for_each(|&v| mark(v)),
                    Some(valid) => ids
                        .iter()
                        .zip(valid)
                        .filter(|&(_, &ok)| ok)
                        .for_each(|(&v, _)| mark(v)),
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
        let column_bounds = chunk_results(values, valid.as_deref(), |ids, valid| {
            // Branch-free min and max (nulls hold 0 and are skipped by selection).
            let (mut lo, mut hi) = (i64::MAX, i64::MIN);
            match valid {
                None => ids.iter().for_each(|&v| {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }),
                Some(valid) => ids.iter().zip(valid).for_each(|(&v, &ok)| {
                    lo = if ok { lo.min(v) } else { lo };
                    hi = if ok { hi.max(v) } else { hi };
                }),
            }
            (lo <= hi).then_some((lo, hi))
        })
        .into_iter()
        .flatten()
        .reduce(|(lo1, hi1), (lo2, hi2)| (lo1.min(lo2), hi1.max(hi2)));
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
            // Zeroed pages come from the kernel untouched: the parallel loop below faults
            // them in, where a fill here would do it on one thread.
            codes = vec![0u32; n];
            codes
                .par_chunks_mut(ID_CHUNK)
                .zip(values.par_chunks(ID_CHUNK))
                .enumerate()
                .for_each(|(k, (out, ids))| match valid {
                    None => out
                        .iter_mut()
                        .zip(ids)
                        .for_each(|(code, &v)| *code = dense.code(v)),
                    Some(valid) => out
                        .iter_mut()
                        .zip(ids)
                        .zip(&valid[k * ID_CHUNK..])
                        .for_each(|((code, &v), &ok)| {
                            *code = if ok { dense.code(v) } else { ANONYMOUS }
                        }),
                });
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
