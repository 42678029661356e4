//! Readers that turn one Arrow column (a list of chunks) into the flat vectors the engine
//! works on. They check types (`SchemaError`) and values (`BadValue`, which the table turns
//! into a `DataError` naming the row id). Nulls become sentinels so the hot loops work on
//! plain slices: `NULL_TS` for timestamps, NaN for floats, `NULL_CODE` for coded strings.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, LargeStringArray, PrimitiveArray};
use arrow_schema::{DataType, TimeUnit};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::error::BadValue;

/// Timestamp sentinel for null (microseconds since the Unix epoch, UTC).
pub const NULL_TS: i64 = i64::MIN;
/// Code sentinel for a null string.
pub const NULL_CODE: u32 = u32::MAX;

use crate::time::MICROS_PER_DAY;

/// Why a column could not be read: a type problem (schema) or a bad value (data).
#[derive(Debug)]
pub enum ReadError {
    /// The column's Arrow type is not accepted; the message says what was expected.
    Type(String),
    /// A value breaks a rule.
    Value(BadValue),
}

/// Result of a column read.
pub type ReadResult<T> = std::result::Result<T, ReadError>;

fn type_error(expected: &str, found: &DataType) -> ReadError {
    ReadError::Type(format!("expected {expected}, found Arrow type {found}"))
}

/// Total length of a chunked column.
pub fn chunked_len(chunks: &[ArrayRef]) -> usize {
    chunks.iter().map(|c| c.len()).sum()
}

/// Renders a microsecond timestamp for messages.
pub fn render_ts(micros: i64) -> String {
    if micros == NULL_TS {
        return "null".to_owned();
    }
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
        None => format!("{micros} µs"),
    }
}

fn scale_to_micros(value: i64, unit: &TimeUnit) -> i64 {
    not_null_ts(match unit {
        TimeUnit::Second => value.saturating_mul(1_000_000),
        TimeUnit::Millisecond => value.saturating_mul(1_000),
        TimeUnit::Microsecond => value,
        // Floor, so an instant never moves to a later microsecond (or day).
        TimeUnit::Nanosecond => value.div_euclid(1_000),
    })
}

/// A present timestamp kept off the null sentinel: a value that is (or saturates to)
/// `i64::MIN` µs moves one microsecond later, so it stays a value, far outside the
/// plausible range, and the range check reports it instead of it reading as null.
fn not_null_ts(micros: i64) -> i64 {
    micros.max(NULL_TS + 1)
}

fn push_timestamps<T: arrow_array::ArrowPrimitiveType<Native = i64>>(
    array: &dyn Array,
    unit: &TimeUnit,
    out: &mut Vec<i64>,
) {
    let values: &PrimitiveArray<T> = array.as_primitive();
    if values.null_count() == 0 {
        out.extend(values.values().iter().map(|&v| scale_to_micros(v, unit)));
    } else {
        out.extend(values.iter().map(|v| match v {
            Some(v) => scale_to_micros(v, unit),
            None => NULL_TS,
        }));
    }
}

/// Reads a timestamp column into UTC microseconds (`NULL_TS` for null). Any unit; a tz-aware
/// column already holds UTC instants and a naive one is read as UTC, so both keep their
/// stored values. With `allow_dates`, date32/date64 are taken as UTC midnights.
pub fn read_timestamps(chunks: &[ArrayRef], allow_dates: bool) -> ReadResult<Vec<i64>> {
    let mut out = Vec::with_capacity(chunked_len(chunks));
    for chunk in chunks {
        match chunk.data_type() {
            DataType::Timestamp(unit, _) => match unit {
                TimeUnit::Second => push_timestamps::<TimestampSecondType>(chunk, unit, &mut out),
                TimeUnit::Millisecond => {
                    push_timestamps::<TimestampMillisecondType>(chunk, unit, &mut out)
                }
                TimeUnit::Microsecond => {
                    push_timestamps::<TimestampMicrosecondType>(chunk, unit, &mut out)
                }
                TimeUnit::Nanosecond => {
                    push_timestamps::<TimestampNanosecondType>(chunk, unit, &mut out)
                }
            },
            DataType::Date32 if allow_dates => {
                let days: &PrimitiveArray<Date32Type> = chunk.as_primitive();
                out.extend(days.iter().map(|d| match d {
                    Some(d) => not_null_ts(i64::from(d).saturating_mul(MICROS_PER_DAY)),
                    None => NULL_TS,
                }));
            }
            DataType::Date64 if allow_dates => {
                let millis: &PrimitiveArray<Date64Type> = chunk.as_primitive();
                out.extend(millis.iter().map(|d| match d {
                    Some(d) => not_null_ts(d.saturating_mul(1_000)),
                    None => NULL_TS,
                }));
            }
            DataType::Null => out.extend(std::iter::repeat_n(NULL_TS, chunk.len())),
            other => {
                let expected = if allow_dates {
                    "a timestamp or date"
                } else {
                    "a timestamp"
                };
                return Err(type_error(expected, other));
            }
        }
    }
    Ok(out)
}

fn push_numbers<T>(array: &dyn Array, out: &mut Vec<f64>)
where
    T: arrow_array::ArrowPrimitiveType,
    T::Native: num_to_f64::ToF64,
{
    use num_to_f64::ToF64;
    let values: &PrimitiveArray<T> = array.as_primitive();
    if values.null_count() == 0 {
        out.extend(values.values().iter().map(|v| v.to_f64()));
    } else {
        out.extend(values.iter().map(|v| v.map_or(f64::NAN, |v| v.to_f64())));
    }
}

mod num_to_f64 {
    /// Lossless-enough conversion of Arrow numeric natives to f64.
    pub trait ToF64: Copy {
        fn to_f64(self) -> f64;
    }
    macro_rules! impl_to_f64 {
        ($($t:ty),*) => {$(impl ToF64 for $t { fn to_f64(self) -> f64 { self as f64 } })*};
    }
    impl_to_f64!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);
    impl ToF64 for half::f16 {
        fn to_f64(self) -> f64 {
            f64::from(self)
        }
    }
}

/// Reads an integer or float column into f64, null as NaN. Also returns the positions where
/// the input itself held a NaN or infinity (as opposed to a null), so callers can reject
/// them where the contract says so.
pub fn read_numbers(chunks: &[ArrayRef]) -> ReadResult<(Vec<f64>, Vec<usize>)> {
    let mut out = Vec::with_capacity(chunked_len(chunks));
    let mut non_finite = Vec::new();
    for chunk in chunks {
        let start = out.len();
        match chunk.data_type() {
            DataType::Int8 => push_numbers::<Int8Type>(chunk, &mut out),
            DataType::Int16 => push_numbers::<Int16Type>(chunk, &mut out),
            DataType::Int32 => push_numbers::<Int32Type>(chunk, &mut out),
            DataType::Int64 => push_numbers::<Int64Type>(chunk, &mut out),
            DataType::UInt8 => push_numbers::<UInt8Type>(chunk, &mut out),
            DataType::UInt16 => push_numbers::<UInt16Type>(chunk, &mut out),
            DataType::UInt32 => push_numbers::<UInt32Type>(chunk, &mut out),
            DataType::UInt64 => push_numbers::<UInt64Type>(chunk, &mut out),
            DataType::Float16 => push_numbers::<Float16Type>(chunk, &mut out),
            DataType::Float32 => push_numbers::<Float32Type>(chunk, &mut out),
            DataType::Float64 => push_numbers::<Float64Type>(chunk, &mut out),
            DataType::Null => out.extend(std::iter::repeat_n(f64::NAN, chunk.len())),
            other => return Err(type_error("a number", other)),
        }
        if matches!(
            chunk.data_type(),
            DataType::Float16 | DataType::Float32 | DataType::Float64
        ) {
            // A non-finite value at a valid (non-null) slot is a real NaN/inf in the input.
            non_finite.extend(
                (0..chunk.len())
                    .filter(|&i| chunk.is_valid(i) && !out[start + i].is_finite())
                    .map(|i| start + i),
            );
        }
    }
    Ok((out, non_finite))
}

/// Reads a boolean column: 1 true, 0 false, -1 null.
pub fn read_bools(chunks: &[ArrayRef]) -> ReadResult<Vec<i8>> {
    let mut out = Vec::with_capacity(chunked_len(chunks));
    for chunk in chunks {
        match chunk.data_type() {
            DataType::Boolean => {
                let values = chunk.as_boolean();
                out.extend(values.iter().map(|v| match v {
                    Some(true) => 1,
                    Some(false) => 0,
                    None => -1,
                }));
            }
            DataType::Null => out.extend(std::iter::repeat_n(-1, chunk.len())),
            other => return Err(type_error("a boolean", other)),
        }
    }
    Ok(out)
}

fn is_string_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_string_type(values),
        _ => false,
    }
}

/// Casts any string-typed chunk (plain, large, view, dictionary) to one large string array.
fn as_large_strings(chunk: &ArrayRef) -> ReadResult<LargeStringArray> {
    let cast = arrow_cast::cast(chunk, &DataType::LargeUtf8)
        .map_err(|e| ReadError::Type(format!("cannot read as text: {e}")))?;
    Ok(cast.as_string::<i64>().clone())
}

/// A string column reduced to dense codes: `codes[row]` indexes `values` (`NULL_CODE` for
/// null). Low-cardinality columns (intent, channel, handled_by) are hashed once per row and
/// compared as integers afterwards.
#[derive(Debug, Clone, Default)]
pub struct CodedStrings {
    /// One code per row.
    pub codes: Vec<u32>,
    /// Distinct values in order of first appearance.
    pub values: Vec<String>,
}

/// Rows per piece when coding a string column in parallel: large enough that each piece's
/// own small hash map and its merge cost nothing next to the rows, small enough that a
/// single-chunk column still splits across the threads.
const CODED_PIECE_ROWS: usize = 1 << 20;

/// Reads a string column into codes. With `any_type`, non-string columns (integers,
/// booleans, dates…) are grouped by their text rendering: used for `group_by` keys, whose
/// output keeps the original values anyway.
///
/// Pieces of the column are coded in parallel, each into its own slice of the output with
/// codes of its own; the pieces' distinct values are then merged in piece order (so codes
/// keep the order of first appearance over the whole column) and each slice is recoded in
/// place.
pub fn read_coded(chunks: &[ArrayRef], any_type: bool) -> ReadResult<CodedStrings> {
    read_coded_in_pieces(chunks, any_type, CODED_PIECE_ROWS)
}

fn read_coded_in_pieces(
    chunks: &[ArrayRef],
    any_type: bool,
    piece_rows: usize,
) -> ReadResult<CodedStrings> {
    for chunk in chunks {
        let data_type = chunk.data_type();
        if !any_type && !matches!(data_type, DataType::Null) && !is_string_type(data_type) {
            return Err(type_error("text", data_type));
        }
    }
    let pieces: Vec<ArrayRef> = chunks
        .iter()
        .flat_map(|chunk| {
            (0..chunk.len().div_ceil(piece_rows)).map(move |p| {
                let offset = p * piece_rows;
                chunk.slice(offset, piece_rows.min(chunk.len() - offset))
            })
        })
        .collect();
    let mut codes = vec![NULL_CODE; chunked_len(chunks)];
    let mut slices = Vec::with_capacity(pieces.len());
    let mut rest = codes.as_mut_slice();
    for piece in &pieces {
        let (head, tail) = rest.split_at_mut(piece.len());
        slices.push(head);
        rest = tail;
    }
    let local_values: Vec<Vec<String>> = pieces
        .par_iter()
        .zip(slices.par_iter_mut())
        .map(|(piece, out)| code_piece(piece, out))
        .collect::<ReadResult<_>>()?;
    let mut values = Vec::new();
    let mut index: FxHashMap<&str, u32> = FxHashMap::default();
    // Local code → column code, per piece; None where they are the same.
    let recodes: Vec<Option<Vec<u32>>> = local_values
        .iter()
        .map(|local| {
            let recode: Vec<u32> = local
                .iter()
                .map(|text| {
                    *index.entry(text.as_str()).or_insert_with(|| {
                        values.push(text.clone());
                        values.len() as u32 - 1
                    })
                })
                .collect();
            let same = recode.iter().enumerate().all(|(i, &c)| c == i as u32);
            (!same).then_some(recode)
        })
        .collect();
    drop(index);
    slices
        .into_par_iter()
        .zip(recodes.par_iter())
        .for_each(|(out, recode)| {
            if let Some(recode) = recode {
                for code in out.iter_mut().filter(|c| **c != NULL_CODE) {
                    *code = recode[*code as usize];
                }
            }
        });
    Ok(CodedStrings { codes, values })
}

/// Codes one piece of a column into `out` (left `NULL_CODE` where null), with codes of its
/// own: the piece's distinct values in order of first appearance, which it returns.
fn code_piece(piece: &ArrayRef, out: &mut [u32]) -> ReadResult<Vec<String>> {
    let mut values: Vec<String> = Vec::new();
    if matches!(piece.data_type(), DataType::Null) {
        return Ok(values);
    }
    let mut index: FxHashMap<String, u32> = FxHashMap::default();
    let mut code_of = |text: &str| match index.get(text) {
        Some(&code) => code,
        None => {
            let code = values.len() as u32;
            index.insert(text.to_owned(), code);
            values.push(text.to_owned());
            code
        }
    };
    if let Some(dictionary) = piece.as_any_dictionary_opt() {
        // Hash each dictionary value once, on its first use (so codes keep the order of
        // first appearance, as for plain strings), not every row.
        let dictionary_values = as_large_strings(dictionary.values())?;
        if dictionary_values.is_empty() {
            // No values: every key is null (arrow's normalized_keys would panic).
            return Ok(values);
        }
        let keys = dictionary.normalized_keys();
        let nulls = piece.logical_nulls();
        let mut code_of_key = vec![None::<u32>; dictionary_values.len()];
        for (row, (&key, slot)) in keys.iter().zip(out.iter_mut()).enumerate() {
            if nulls.as_ref().is_some_and(|n| n.is_null(row)) || key >= dictionary_values.len() {
                continue;
            }
            *slot = match code_of_key[key] {
                Some(code) => code,
                None => {
                    let code = if dictionary_values.is_null(key) {
                        NULL_CODE
                    } else {
                        code_of(dictionary_values.value(key))
                    };
                    code_of_key[key] = Some(code);
                    code
                }
            };
        }
        return Ok(values);
    }
    let strings = as_large_strings(piece)?;
    for (value, slot) in strings.iter().zip(out.iter_mut()) {
        if let Some(text) = value {
            *slot = code_of(text);
        }
    }
    Ok(values)
}

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
enum SeenIds {
    Bitmap { min: i64, bits: Vec<u64> },
    Hashed(rustc_hash::FxHashSet<i64>),
}

impl SeenIds {
    /// Records `v`; false when it was already there.
    fn insert(&mut self, v: i64) -> bool {
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

/// Keeps the elements where `keep` is true.
pub fn compact<T: Copy>(values: Vec<T>, keep: &[bool]) -> Vec<T> {
    values
        .into_iter()
        .zip(keep)
        .filter_map(|(v, &k)| k.then_some(v))
        .collect()
}

/// Integer ids of one chunk, written into its slice of the column: the rows' validity
/// when the chunk has a null or an overflow (None when every id is valid: the common case
/// builds and faults in no list of `true`s), and the overflowing UInt64 ids with their
/// positions in the chunk.
type ChunkIds = (Option<Vec<bool>>, Vec<(usize, String)>);

fn chunk_ints<T>(array: &dyn Array, out: &mut [i64]) -> ChunkIds
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
fn read_id_chunk(chunk: &dyn Array, out: &mut [i64]) -> ReadResult<ChunkIds> {
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
const MAX_EXACT_FLOAT_ID: f64 = 9_007_199_254_740_992.0;

/// Float ids: what `pd.read_parquet` and `Table.to_pandas()` make of a nullable integer id
/// column (anonymous contacts, guest orders). Read as integers when every value is whole
/// and exactly representable; otherwise the first other value is a bad value at its row
/// (of the chunk; the caller adds the chunk's offset).
fn float_ids(chunk: &dyn Array, out: &mut [i64]) -> ReadResult<ChunkIds> {
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
fn blank_ids_as_null(ids: LargeStringArray) -> LargeStringArray {
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Int32Type;
    use arrow_array::{DictionaryArray, Int32Array, StringArray};

    #[test]
    fn dictionary_text_codes_like_the_same_plain_text() {
        // Unused ("z") and repeated ("b" twice) dictionary values, a null key and a key
        // pointing at a null value: codes must match the plain strings row for row.
        let values = StringArray::from(vec![Some("z"), Some("b"), None, Some("a"), Some("b")]);
        let keys = Int32Array::from(vec![Some(3), Some(1), None, Some(4), Some(2), Some(3)]);
        let dictionary: ArrayRef =
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap());
        let plain: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            Some("b"),
            None,
            Some("b"),
            None,
            Some("a"),
        ]));
        let from_dictionary = read_coded(&[dictionary], false).unwrap();
        let from_plain = read_coded(&[plain], false).unwrap();
        assert_eq!(from_dictionary.codes, from_plain.codes);
        assert_eq!(from_dictionary.values, vec!["a", "b"]);
        assert_eq!(from_plain.values, vec!["a", "b"]);
    }

    #[test]
    fn pieces_coded_apart_keep_the_codes_of_one_pass() {
        // Pieces of 2 rows over chunks of 5: values first seen in later pieces, pieces
        // whose local codes differ from the column's, dictionary and plain chunks mixed,
        // nulls and an all-null chunk. Codes must be those of a single ordered pass.
        let plain = |v: Vec<Option<&str>>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        let dictionary_values = StringArray::from(vec![Some("d"), Some("a"), Some("e")]);
        let keys = Int32Array::from(vec![Some(2), None, Some(0), Some(1), Some(2)]);
        let chunks: Vec<ArrayRef> = vec![
            plain(vec![Some("b"), Some("a"), None, Some("c"), Some("b")]),
            Arc::new(
                DictionaryArray::<Int32Type>::try_new(keys, Arc::new(dictionary_values)).unwrap(),
            ),
            Arc::new(arrow_array::NullArray::new(3)),
            plain(vec![Some("c"), Some("f"), Some("a")]),
        ];
        let texts = [
            "b", "a", "", "c", "b", "e", "", "d", "a", "e", "", "", "", "c", "f", "a",
        ];
        let mut expected_values: Vec<&str> = Vec::new();
        let expected_codes: Vec<u32> = texts
            .iter()
            .map(|&t| match t {
                "" => NULL_CODE,
                t => match expected_values.iter().position(|&v| v == t) {
                    Some(code) => code as u32,
                    None => {
                        expected_values.push(t);
                        expected_values.len() as u32 - 1
                    }
                },
            })
            .collect();
        for piece_rows in [1, 2, 3, 100] {
            let coded = read_coded_in_pieces(&chunks, false, piece_rows).unwrap();
            assert_eq!(coded.codes, expected_codes, "pieces of {piece_rows}");
            assert_eq!(coded.values, expected_values, "pieces of {piece_rows}");
        }
    }

    #[test]
    fn dictionaries_without_values_read_as_nulls() {
        // Found by the fuzz smoke: arrow's normalized_keys panics on an empty dictionary.
        let empty_values = StringArray::from(Vec::<Option<&str>>::new());
        let keys = Int32Array::from(vec![None, None]);
        let all_null: ArrayRef =
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, Arc::new(empty_values)).unwrap());
        let zero_rows = all_null.slice(0, 0);
        let coded = read_coded(&[all_null, zero_rows], false).unwrap();
        assert_eq!(coded.codes, vec![NULL_CODE, NULL_CODE]);
        assert!(coded.values.is_empty());
    }

    #[test]
    fn integer_ids_keep_nulls_and_overflow_across_chunks() {
        // A clean first chunk takes the copy path with no validity list; the null of the
        // second, the overflow of the third and the all-null fourth must still mark the
        // right rows (and leave the first chunk's rows valid).
        use arrow_array::{Int64Array, NullArray, UInt64Array};
        let chunks: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![5, 7])),
            Arc::new(Int64Array::from(vec![Some(9), None])),
            Arc::new(UInt64Array::from(vec![3, u64::MAX])),
            Arc::new(NullArray::new(1)),
        ];
        let (ids, overflow) = read_ids(&chunks).unwrap();
        let IdColumn::Int { values, valid } = &ids else {
            panic!("integer ids expected");
        };
        assert_eq!(values, &vec![5, 7, 9, 0, 3, 0, 0]);
        assert_eq!(
            valid.as_deref(),
            Some(&[true, true, true, false, true, false, false][..])
        );
        assert_eq!(overflow, vec![(5, u64::MAX.to_string())]);
        // All clean: no validity list at all.
        let clean: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(UInt64Array::from(vec![3])),
        ];
        let (ids, overflow) = read_ids(&clean).unwrap();
        assert!(overflow.is_empty());
        assert!(matches!(ids, IdColumn::Int { ref values, valid: None } if values == &[1, 2, 3]));
    }
}
