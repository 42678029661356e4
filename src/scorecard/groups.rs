//! Group codes of the contacts for `group_by`, and the sorted distinct group keys.

use std::collections::BTreeSet;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, UInt32Array};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{DataType, SortOptions};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::business::BusinessFacts;
use crate::error::{Error, Result};
use crate::ingest::coded::read_coded;
use crate::ingest::{Contacts, TableInput, NULL_CODE};
use crate::kpis::{Need, CATALOG};

/// Up to this many distinct values of a one-column `group_by`, each thread keeps its own
/// table of first rows while numbering the groups in parallel.
pub(super) const PARALLEL_GROUP_SLOTS: usize = 1 << 16;

/// Group codes of the contacts over the `group_by` columns, and each group's key values
/// (one row per group). Groups are numbered in the sort order of their keys (nulls last),
/// so the output order depends neither on row order nor on how customers were partitioned.
pub(super) struct Groups {
    pub(super) code: Vec<u32>,
    pub(super) keys: Vec<(String, ArrayRef)>,
    pub(super) n_groups: usize,
}

pub(super) fn group_contacts(
    contacts: &TableInput,
    group_by: &[String],
    rows: &Contacts,
) -> Result<Groups> {
    let n = rows.len;
    if group_by.is_empty() {
        return Ok(Groups {
            code: vec![0; n],
            keys: Vec::new(),
            n_groups: 1,
        });
    }
    let mut per_column = Vec::with_capacity(group_by.len());
    // Each column is read once (an on-demand table reads it from its file) and kept until
    // the groups' key values are taken out of it.
    let mut column_chunks = Vec::with_capacity(group_by.len());
    for column in group_by {
        let Some(chunks) = contacts.column(column)? else {
            return Err(Error::config(
                "group_by",
                format!("{column:?} is not a column of contacts"),
            ));
        };
        let codes = match integer_codes(&chunks) {
            Some(codes) => codes,
            None => {
                read_coded(&chunks, true)
                    .map_err(|_| {
                        Error::schema("contacts", column, "cannot group by this column's type")
                    })?
                    .codes
            }
        };
        per_column.push(codes);
        column_chunks.push(chunks);
    }
    let mut representative = Vec::new();
    let mut code = if let [codes] = per_column.as_slice() {
        // One column (the common case): a table indexed by its value code, no hashing.
        let n_values = codes
            .iter()
            .filter(|&&c| c != NULL_CODE)
            .max()
            .map_or(0, |&c| c + 1) as usize;
        // Null keys take the slot after the values.
        let slot_of = |i: usize| -> usize {
            match codes[rows.source_row(i)] {
                NULL_CODE => n_values,
                c => c as usize,
            }
        };
        let (groups, first_rows) =
            number_by_first_appearance(n, n_values + 1, slot_of, PARALLEL_GROUP_SLOTS);
        representative.extend(first_rows.into_iter().map(|i| rows.source_row(i) as u32));
        groups
    } else {
        let mut index: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
        let mut key = Vec::with_capacity(group_by.len());
        let mut code = Vec::with_capacity(n);
        for i in 0..n {
            // Group columns are read from the input, so index them by input position.
            let row = rows.source_row(i);
            key.clear();
            key.extend(per_column.iter().map(|codes| codes[row]));
            let g = match index.get(&key) {
                Some(&g) => g,
                None => {
                    let g = representative.len() as u32;
                    index.insert(key.clone(), g);
                    representative.push(row as u32);
                    g
                }
            };
            code.push(g);
        }
        code
    };
    let mut keys = Vec::with_capacity(group_by.len());
    for (column, chunks) in group_by.iter().zip(column_chunks) {
        let taken = contacts.take_chunk_rows(column, &chunks, &representative)?;
        keys.push((column.clone(), plain_key_column(taken, column)?));
    }
    let (sorted_code, keys) = distinct_sorted_keys(&keys)?;
    code.par_iter_mut()
        .for_each(|c| *c = sorted_code[*c as usize]);
    Ok(Groups {
        code,
        n_groups: keys.first().map_or(0, |(_, a)| a.len()),
        keys,
    })
}

/// Codes of an integer column by value, in order of first appearance (`NULL_CODE` where
/// null): equal values get equal codes without writing every value out as text, as the
/// general coding does. None for other types (and for UInt64, which may not fit an i64).
pub(super) fn integer_codes(chunks: &[ArrayRef]) -> Option<Vec<u32>> {
    let integer = |t: &DataType| {
        matches!(
            t,
            DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
        )
    };
    if chunks.is_empty() || !chunks.iter().all(|c| integer(c.data_type())) {
        return None;
    }
    let wide: Vec<ArrayRef> = chunks
        .iter()
        .map(|chunk| arrow_cast::cast(chunk.as_ref(), &DataType::Int64).ok())
        .collect::<Option<_>>()?;
    let mut values = Vec::with_capacity(wide.len());
    for chunk in &wide {
        values.push(chunk.as_primitive_opt::<Int64Type>()?);
    }
    let n: usize = values.iter().map(|v| v.len()).sum();
    let (min, max) = values
        .iter()
        .flat_map(|v| v.iter().flatten())
        .fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let mut codes = Vec::with_capacity(n);
    let mut next = 0u32;
    // Values spanning no more than a few times the rows (ids, small counts): a table indexed
    // by value, not a hash map (at 100k groups, hashing was half the grouping).
    let span = (max as i128 - min as i128 + 1).max(0) as u128;
    if span <= 4 * n as u128 + 1024 {
        let mut code_of = vec![NULL_CODE; span as usize];
        for v in &values {
            codes.extend(v.iter().map(|v| match v {
                None => NULL_CODE,
                Some(v) => {
                    let slot = &mut code_of[(v - min) as usize];
                    if *slot == NULL_CODE {
                        *slot = next;
                        next += 1;
                    }
                    *slot
                }
            }));
        }
        return Some(codes);
    }
    let mut index: FxHashMap<i64, u32> = FxHashMap::default();
    for v in &values {
        codes.extend(v.iter().map(|v| match v {
            None => NULL_CODE,
            Some(v) => *index.entry(v).or_insert_with(|| {
                next += 1;
                next - 1
            }),
        }));
    }
    Some(codes)
}

/// Numbers the distinct slots of rows `0..n` (each row's slot in `0..n_slots`) in order of
/// first appearance: each row's number, and the first row of each number. With at most
/// `parallel_max_slots` slots, each thread finds first rows in a table of its own and the
/// rows are numbered in parallel; with more, one pass does it without tables per thread.
pub(super) fn number_by_first_appearance(
    n: usize,
    n_slots: usize,
    slot_of: impl Fn(usize) -> usize + Sync,
    parallel_max_slots: usize,
) -> (Vec<u32>, Vec<usize>) {
    let first_of_slot = if n_slots <= parallel_max_slots {
        (0..n)
            .into_par_iter()
            .with_min_len(1 << 16)
            .fold(
                || vec![usize::MAX; n_slots],
                |mut first, i| {
                    let slot = slot_of(i);
                    first[slot] = first[slot].min(i);
                    first
                },
            )
            .reduce(
                || vec![usize::MAX; n_slots],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x = (*x).min(y);
                    }
                    a
                },
            )
    } else {
        let mut first = vec![usize::MAX; n_slots];
        for i in 0..n {
            let slot = slot_of(i);
            if first[slot] == usize::MAX {
                first[slot] = i;
            }
        }
        first
    };
    let mut seen: Vec<(usize, usize)> = first_of_slot
        .iter()
        .enumerate()
        .filter(|(_, &first)| first != usize::MAX)
        .map(|(slot, &first)| (first, slot))
        .collect();
    seen.sort_unstable();
    let mut number_of_slot = vec![u32::MAX; n_slots];
    for (number, &(_, slot)) in seen.iter().enumerate() {
        number_of_slot[slot] = number as u32;
    }
    let mut numbers = Vec::with_capacity(n);
    (0..n)
        .into_par_iter()
        .map(|i| number_of_slot[slot_of(i)])
        .collect_into_vec(&mut numbers);
    (numbers, seen.into_iter().map(|(first, _)| first).collect())
}

/// Named key columns, one row per group.
pub(crate) type KeyColumns = Vec<(String, ArrayRef)>;

/// A group key column in its plain type (dictionaries decoded, string views and large
/// strings as strings), so keys from different partitions compare and concatenate.
pub(crate) fn plain_key_column(array: ArrayRef, column: &str) -> Result<ArrayRef> {
    let target = match array.data_type() {
        DataType::Dictionary(_, value) => value.as_ref().clone(),
        other => other.clone(),
    };
    let target = match target {
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        other => other,
    };
    if &target == array.data_type() {
        return Ok(array);
    }
    arrow_cast::cast(array.as_ref(), &target)
        .map_err(|e| Error::schema("contacts", column, format!("cannot group by it: {e}")))
}

/// The distinct rows of some key columns in sorted order (ascending, nulls last), and the
/// position of every input row among them.
pub(crate) fn distinct_sorted_keys(keys: &[(String, ArrayRef)]) -> Result<(Vec<u32>, KeyColumns)> {
    let arrow_error = |e: arrow_schema::ArrowError| Error::arrow("sorting the group_by keys", e);
    let fields = keys
        .iter()
        .map(|(_, a)| {
            SortField::new_with_options(
                a.data_type().clone(),
                SortOptions {
                    descending: false,
                    nulls_first: false,
                },
            )
        })
        .collect();
    let converter = RowConverter::new(fields).map_err(arrow_error)?;
    let arrays: Vec<ArrayRef> = keys.iter().map(|(_, a)| a.clone()).collect();
    let rows = converter.convert_columns(&arrays).map_err(arrow_error)?;
    let mut order: Vec<usize> = (0..rows.num_rows()).collect();
    order.sort_by(|&a, &b| rows.row(a).cmp(&rows.row(b)));
    let mut code = vec![0u32; rows.num_rows()];
    let mut firsts: Vec<u32> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        if k == 0 || rows.row(order[k - 1]) != rows.row(i) {
            firsts.push(i as u32);
        }
        code[i] = (firsts.len() - 1) as u32;
    }
    let take_rows = UInt32Array::from(firsts);
    let mut distinct = Vec::with_capacity(keys.len());
    for (name, array) in keys {
        let taken =
            arrow_select::take::take(array.as_ref(), &take_rows, None).map_err(arrow_error)?;
        distinct.push((name.clone(), taken));
    }
    Ok((code, distinct))
}

/// Marks, among the present inputs, that business calendars are configured.
pub(super) const CALENDARS_CONFIGURED: &str = "config.calendars";
/// Marks that SLA policies are configured.
pub(super) const SLA_CONFIGURED: &str = "config.sla";

/// The inputs that the catalogue's KPIs ask for and the run has: contacts columns by our
/// name, orders columns as `orders.<name>`, and the business-time config sections.
pub(super) fn present_columns(
    contacts: &TableInput,
    orders: &TableInput,
    business: &BusinessFacts,
) -> BTreeSet<String> {
    let mut present = BTreeSet::new();
    if !business.calendars.is_empty() {
        present.insert(CALENDARS_CONFIGURED.to_owned());
    }
    if !business.policies.is_empty() {
        present.insert(SLA_CONFIGURED.to_owned());
    }
    for kpi in CATALOG.iter() {
        for need in kpi.needs {
            let names: &[&str] = match need {
                Need::Column(c) => std::slice::from_ref(c),
                Need::AnyColumn(cs) => cs,
                Need::OrderColumn(c) => {
                    if orders.has(c) {
                        present.insert(format!("orders.{c}"));
                    }
                    &[]
                }
                _ => &[],
            };
            for name in names {
                if contacts.has(name) {
                    present.insert((*name).to_owned());
                }
            }
        }
    }
    present
}
