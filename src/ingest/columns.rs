//! Readers that turn one Arrow column (a list of chunks) into the flat vectors the engine
//! works on. They check types (`SchemaError`) and values (`BadValue`, which the table turns
//! into a `DataError` naming the row id). Nulls become sentinels so the hot loops work on
//! plain slices: `NULL_TS` for timestamps, NaN for floats, `NULL_CODE` for coded strings.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, PrimitiveArray};
use arrow_schema::{DataType, TimeUnit};

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

pub(super) fn type_error(expected: &str, found: &DataType) -> ReadError {
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

pub(super) fn scale_to_micros(value: i64, unit: &TimeUnit) -> i64 {
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
pub(super) fn not_null_ts(micros: i64) -> i64 {
    micros.max(NULL_TS + 1)
}

pub(super) fn push_timestamps<T: arrow_array::ArrowPrimitiveType<Native = i64>>(
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

pub(super) fn push_numbers<T>(array: &dyn Array, out: &mut Vec<f64>)
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

/// Keeps the elements where `keep` is true.
pub fn compact<T: Copy>(values: Vec<T>, keep: &[bool]) -> Vec<T> {
    values
        .into_iter()
        .zip(keep)
        .filter_map(|(v, &k)| k.then_some(v))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ingest::coded::{read_coded, read_coded_in_pieces};
    use crate::ingest::ids::{read_ids, IdColumn};
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
