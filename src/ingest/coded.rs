//! Text columns read as dictionary codes: each distinct value once, a u32 code per row
//! (any string or dictionary type; other types rendered as text when asked).

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, LargeStringArray};
use arrow_schema::DataType;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::columns::{chunked_len, type_error, ReadError, ReadResult, NULL_CODE};

pub(super) fn is_string_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_string_type(values),
        _ => false,
    }
}

/// Casts any string-typed chunk (plain, large, view, dictionary) to one large string array.
pub(super) fn as_large_strings(chunk: &ArrayRef) -> ReadResult<LargeStringArray> {
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
pub(super) const CODED_PIECE_ROWS: usize = 1 << 20;

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

pub(super) fn read_coded_in_pieces(
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
pub(super) fn code_piece(piece: &ArrayRef, out: &mut [u32]) -> ReadResult<Vec<String>> {
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
