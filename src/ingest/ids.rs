//! Id columns (contact_id, order_id, customer_id): integers kept as integers, text as
//! text; floats that hold whole numbers, dictionary-encoded integers and blank strings
//! read the way an export means them; duplicates found for the row audit.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};
use arrow_array::{Array, ArrayRef, LargeStringArray, PrimitiveArray};
use arrow_schema::DataType;
use rayon::prelude::*;

use super::coded::{as_large_strings, is_string_type};
use super::columns::{chunked_len, compact, type_error, ReadError, ReadResult};
use crate::error::BadValue;

/// An id column (contact_id, order_id, customer_id): integers or text, compared as given.
#[derive(Debug, Clone)]
pub enum IdColumn {
    /// Integer ids (any Arrow integer type), with a validity flag per row.
    Int {
        /// Values (0 where null).
        values: Vec<i64>,
        /// Validity; `None` when no value is null.
        valid: Option<Vec<bool>>,
    },
    /// Text ids, all chunks cast to one large string array.
    Text(Arc<LargeStringArray>),
}

impl IdColumn {
    /// Whether row `i` is null.
    pub fn is_null(&self, i: usize) -> bool {
        match self {
            IdColumn::Int { valid, .. } => valid.as_ref().is_some_and(|v| !v[i]),
            IdColumn::Text(strings) => strings.is_null(i),
        }
    }

    /// The id of row `i`, rendered for messages.
    pub fn render(&self, i: usize) -> String {
        if self.is_null(i) {
            return "null".to_owned();
        }
        match self {
            IdColumn::Int { values, .. } => values[i].to_string(),
            IdColumn::Text(strings) => format!("{:?}", strings.value(i)),
        }
    }

    /// Kind name for messages ("integer" or "text").
    pub fn kind(&self) -> &'static str {
        match self {
            IdColumn::Int { .. } => "integer",
            IdColumn::Text(_) => "text",
        }
    }

    /// Natural order of two non-null ids: numeric for integers, lexicographic (bytes) for
    /// text (SPEC §8.6).
    pub fn cmp_rows(&self, a: usize, b: usize) -> std::cmp::Ordering {
        match self {
            IdColumn::Int { values, .. } => values[a].cmp(&values[b]),
            IdColumn::Text(strings) => strings.value(a).cmp(strings.value(b)),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            IdColumn::Int { values, .. } => values.len(),
            IdColumn::Text(strings) => strings.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows whose id is null, and rows whose id repeats an earlier row's (the first
    /// occurrence is not listed). `stop_at_first` returns after the first finding.
    pub fn nulls_and_duplicates(&self, stop_at_first: bool) -> (Vec<usize>, Vec<usize>) {
        let (mut nulls, mut duplicates) = (Vec::new(), Vec::new());
        match self {
            IdColumn::Int { values, valid } => {
                let is_null = |i: usize| valid.as_ref().is_some_and(|valid| !valid[i]);
                let bounds = (0..values.len())
                    .filter(|&i| !is_null(i))
                    .map(|i| values[i])
                    .fold(None, |b: Option<(i64, i64)>, v| {
                        Some(b.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
                    });
                // Ids in a compact range (sequential keys) are checked with a bitmap; others
                // with a hash set.
                let span = bounds.map(|(lo, hi)| i128::from(hi) - i128::from(lo) + 1);
                let mut seen = match (bounds, span) {
                    (Some((lo, _)), Some(span)) if span <= (8 * values.len() + 4096) as i128 => {
                        SeenIds::Bitmap {
                            min: lo,
                            bits: vec![0u64; (span as usize).div_ceil(64)],
                        }
                    }
                    _ => {
                        let mut set = rustc_hash::FxHashSet::default();
                        set.reserve(values.len());
                        SeenIds::Hashed(set)
                    }
                };
                for (i, &v) in values.iter().enumerate() {
                    if is_null(i) {
                        nulls.push(i);
                    } else if !seen.insert(v) {
                        duplicates.push(i);
                    } else {
                        continue;
                    }
                    if stop_at_first {
                        break;
                    }
                }
            }
            IdColumn::Text(strings) => {
                let mut seen = rustc_hash::FxHashSet::default();
                seen.reserve(strings.len());
                for i in 0..strings.len() {
                    if strings.is_null(i) {
                        nulls.push(i);
                    } else if !seen.insert(strings.value(i)) {
                        duplicates.push(i);
                    } else {
                        continue;
                    }
                    if stop_at_first {
                        break;
                    }
                }
            }
        }
        (nulls, duplicates)
    }

    /// Keeps the rows where `keep` is true.
    pub fn compact(self, keep: &[bool]) -> IdColumn {
        match self {
            IdColumn::Int { values, valid } => IdColumn::Int {
                values: compact(values, keep),
                valid: valid.map(|v| compact(v, keep)),
            },
            IdColumn::Text(strings) => {
                let mask = arrow_array::BooleanArray::from(keep.to_vec());
                match arrow_select::filter::filter(strings.as_ref(), &mask) {
                    Ok(kept) => IdColumn::Text(Arc::new(kept.as_string::<i64>().clone())),
                    // Same-length mask on a plain string array cannot fail; keep all if so.
                    Err(_) => IdColumn::Text(strings),
                }
            }
        }
    }
}

/// Integer ids seen so far.
pub(super) enum SeenIds {
    Bitmap { min: i64, bits: Vec<u64> },
    Hashed(rustc_hash::FxHashSet<i64>),
}

impl SeenIds {
    /// Records `v`; false when it was already there.
    pub(super) fn insert(&mut self, v: i64) -> bool {
        match self {
            SeenIds::Bitmap { min, bits } => {
                let k = (v - *min) as usize;
                let (word, bit) = (k / 64, 1u64 << (k % 64));
                let fresh = bits[word] & bit == 0;
                bits[word] |= bit;
                fresh
            }
            SeenIds::Hashed(set) => set.insert(v),
        }
    }
}

/// Integer ids of one chunk, written into its slice of the column: the rows' validity
/// when the chunk has a null or an overflow (None when every id is valid: the common case
/// builds and faults in no list of `true`s), and the overflowing UInt64 ids with their
/// positions in the chunk.
pub(super) type ChunkIds = (Option<Vec<bool>>, Vec<(usize, String)>);

pub(super) fn chunk_ints<T>(array: &dyn Array, out: &mut [i64]) -> ChunkIds
where
    T: arrow_array::ArrowPrimitiveType,
    T::Native: TryInto<i64> + std::fmt::Display,
{
    let ints: &PrimitiveArray<T> = array.as_primitive();
    if ints.null_count() == 0 {
        // Every id of the chunk must convert for the fast path; a UInt64 above i64::MAX
        // falls through to the row-by-row path, which reports it.
        let converted = out
            .iter_mut()
            .zip(ints.values().iter())
            .try_for_each(|(slot, &v)| v.try_into().map(|v| *slot = v).map_err(|_| ()));
        if converted.is_ok() {
            return (None, Vec::new());
        }
    }
    let mut valid = vec![false; out.len()];
    let mut overflow = Vec::new();
    for (k, v) in ints.iter().enumerate() {
        match v.map(|v| (v, v.try_into())) {
            Some((_, Ok(v))) => {
                out[k] = v;
                valid[k] = true;
            }
            // Only UInt64 above i64::MAX gets here; reported with its value, and null
            // meanwhile.
            Some((raw, Err(_))) => {
                overflow.push((k, raw.to_string()));
                out[k] = 0;
            }
            None => out[k] = 0,
        }
    }
    (Some(valid), overflow)
}

/// One chunk of an integer id column (see [`chunk_ints`]).
pub(super) fn read_id_chunk(chunk: &dyn Array, out: &mut [i64]) -> ReadResult<ChunkIds> {
    Ok(match chunk.data_type() {
        DataType::Int8 => chunk_ints::<Int8Type>(chunk, out),
        DataType::Int16 => chunk_ints::<Int16Type>(chunk, out),
        DataType::Int32 => chunk_ints::<Int32Type>(chunk, out),
        DataType::Int64 => chunk_ints::<Int64Type>(chunk, out),
        DataType::UInt8 => chunk_ints::<UInt8Type>(chunk, out),
        DataType::UInt16 => chunk_ints::<UInt16Type>(chunk, out),
        DataType::UInt32 => chunk_ints::<UInt32Type>(chunk, out),
        DataType::UInt64 => chunk_ints::<UInt64Type>(chunk, out),
        DataType::Null => (Some(vec![false; chunk.len()]), Vec::new()),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => float_ids(chunk, out)?,
        // A pandas categorical of integers: its values, row by row.
        DataType::Dictionary(_, values) if values.is_integer() => {
            let plain = arrow_cast::cast(chunk, &DataType::Int64)
                .map_err(|e| ReadError::Type(format!("cannot read integer ids: {e}")))?;
            chunk_ints::<Int64Type>(plain.as_ref(), out)
        }
        other => {
            return Err(ReadError::Type(format!(
                "ids must be integers or text, found Arrow type {other}"
            )))
        }
    })
}

/// The largest integer every smaller one of which a float holds exactly (2^53).
pub(super) const MAX_EXACT_FLOAT_ID: f64 = 9_007_199_254_740_992.0;

/// Float ids: what `pd.read_parquet` and `Table.to_pandas()` make of a nullable integer id
/// column (anonymous contacts, guest orders). Read as integers when every value is whole
/// and exactly representable; otherwise the first other value is a bad value at its row
/// (of the chunk; the caller adds the chunk's offset).
pub(super) fn float_ids(chunk: &dyn Array, out: &mut [i64]) -> ReadResult<ChunkIds> {
    let floats = arrow_cast::cast(chunk, &DataType::Float64)
        .map_err(|e| ReadError::Type(format!("cannot read float ids: {e}")))?;
    let floats = floats.as_primitive::<Float64Type>();
    let mut valid = vec![true; out.len()];
    for (k, v) in floats.iter().enumerate() {
        match v {
            Some(v) if v.fract() == 0.0 && v.abs() <= MAX_EXACT_FLOAT_ID => out[k] = v as i64,
            Some(v) => {
                return Err(ReadError::Value(BadValue {
                    position: k,
                    message: format!(
                        "float ids must be whole numbers of at most 2^53 (read as integers), \
                         found {v}; give the column an integer or text type"
                    ),
                    detail: format!("{v}"),
                }))
            }
            None => {
                out[k] = 0;
                valid[k] = false;
            }
        }
    }
    let any_null = valid.iter().any(|v| !v);
    Ok((any_null.then_some(valid), Vec::new()))
}

/// Text ids with empty strings as null: an export's blank id is a missing one, and
/// treating "" as an id would join every blank row as one customer.
pub(super) fn blank_ids_as_null(ids: LargeStringArray) -> LargeStringArray {
    let offsets = ids.value_offsets();
    let blank = |i: usize| offsets[i + 1] == offsets[i];
    if !(0..ids.len()).any(|i| ids.is_valid(i) && blank(i)) {
        return ids;
    }
    let validity: arrow_buffer::NullBuffer = (0..ids.len())
        .map(|i| ids.is_valid(i) && !blank(i))
        .collect::<Vec<bool>>()
        .into();
    let (offsets, values, _) = ids.into_parts();
    LargeStringArray::new(offsets, values, Some(validity))
}

/// Reads an id column: integers (any width) or text, plus the positions and values of
/// UInt64 ids above i64::MAX (null in the column; the caller reports them). Float ids
/// whose values are whole (a pandas integer column that met a missing value) read as
/// integers, a fractional one is a bad value; empty text ids are null.
pub fn read_ids(chunks: &[ArrayRef]) -> ReadResult<(IdColumn, Vec<(usize, String)>)> {
    let first_type = chunks
        .iter()
        .map(|c| c.data_type())
        .find(|t| !matches!(t, DataType::Null));
    let Some(first_type) = first_type else {
        // All-null (or empty) column: integer ids, all null.
        let n = chunked_len(chunks);
        let ids = IdColumn::Int {
            values: vec![0; n],
            valid: if n == 0 { None } else { Some(vec![false; n]) },
        };
        return Ok((ids, Vec::new()));
    };
    if is_string_type(first_type) {
        let mut parts: Vec<ArrayRef> = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            if !is_string_type(chunk.data_type()) && !matches!(chunk.data_type(), DataType::Null) {
                return Err(type_error("integer or text ids", chunk.data_type()));
            }
            parts.push(Arc::new(as_large_strings(chunk)?));
        }
        let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
        let joined = if refs.len() == 1 {
            parts[0].clone()
        } else if refs.is_empty() {
            Arc::new(LargeStringArray::from(Vec::<&str>::new()))
        } else {
            arrow_select::concat::concat(&refs)
                .map_err(|e| ReadError::Type(format!("cannot join chunks: {e}")))?
        };
        let ids = IdColumn::Text(Arc::new(blank_ids_as_null(
            joined.as_string::<i64>().clone(),
        )));
        return Ok((ids, Vec::new()));
    }
    // Each chunk fills its own slice of the column, in parallel (the copy of 10M-20M ids
    // was a serial step of every load); errors and overflows are then taken in chunk order.
    let mut values = vec![0i64; chunked_len(chunks)];
    let mut slices: Vec<&mut [i64]> = Vec::with_capacity(chunks.len());
    let mut rest = values.as_mut_slice();
    for chunk in chunks {
        let (slice, tail) = rest.split_at_mut(chunk.len());
        slices.push(slice);
        rest = tail;
    }
    let parts: Vec<ReadResult<ChunkIds>> = chunks
        .par_iter()
        .zip(slices)
        .map(|(chunk, out)| read_id_chunk(chunk.as_ref(), out))
        .collect();
    // The first bad value in row order: chunk positions count from their chunk's start.
    let mut start = 0;
    let parts = chunks
        .iter()
        .zip(parts)
        .map(|(chunk, part)| {
            let part = part.map_err(|e| match e {
                ReadError::Value(mut bad) => {
                    bad.position += start;
                    ReadError::Value(bad)
                }
                other => other,
            });
            start += chunk.len();
            part
        })
        .collect::<ReadResult<Vec<ChunkIds>>>()?;
    let any_null = parts.iter().any(|(valid, _)| valid.is_some());
    let mut valid = Vec::with_capacity(if any_null { values.len() } else { 0 });
    let mut overflow = Vec::new();
    let mut start = 0;
    for (chunk, (chunk_valid, chunk_overflow)) in chunks.iter().zip(parts) {
        if any_null {
            match chunk_valid {
                Some(v) => valid.extend_from_slice(&v),
                None => valid.resize(valid.len() + chunk.len(), true),
            }
        }
        overflow.extend(chunk_overflow.into_iter().map(|(k, raw)| (start + k, raw)));
        start += chunk.len();
    }
    let ids = IdColumn::Int {
        values,
        valid: any_null.then_some(valid),
    };
    Ok((ids, overflow))
}
