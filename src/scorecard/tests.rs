use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray,
};

use super::groups::{integer_codes, number_by_first_appearance};
use super::*;
use crate::error::Error;

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
// Monday 2024-01-01 00:00 UTC.
const T0: i64 = 1_704_067_200_000_000;

#[test]
fn integer_group_columns_are_coded_by_value_across_chunks_and_widths() {
    // An Int32 chunk then an Int64 chunk: equal values share a code whatever the chunk's
    // width, nulls get NULL_CODE, codes follow first appearance; text and UInt64 columns
    // go to the general (text) coding.
    let int32: ArrayRef = Arc::new(arrow_array::Int32Array::from(vec![
        Some(7),
        None,
        Some(-3),
        Some(7),
    ]));
    let int64: ArrayRef = Arc::new(Int64Array::from(vec![
        Some(-3),
        Some(5_000_000_000),
        None,
        Some(7),
    ]));
    let null = crate::ingest::NULL_CODE;
    assert_eq!(
        integer_codes(&[int32, int64]),
        Some(vec![0, null, 1, 0, 1, 2, null, 0])
    );
    let text: ArrayRef = Arc::new(arrow_array::StringArray::from(vec!["7"]));
    let wide: ArrayRef = Arc::new(arrow_array::UInt64Array::from(vec![u64::MAX]));
    assert_eq!(integer_codes(&[text]), None);
    assert_eq!(integer_codes(&[wide]), None);
}

#[test]
fn groups_are_numbered_by_first_appearance_in_parallel_and_in_one_pass() {
    // 300k rows (several parallel pieces) over 7 slots, slot 5 first seen late and
    // slot 6 never: every path must give the numbering of one ordered pass.
    let n = 300_000;
    let slot_of = |i: usize| match i {
        250_001 => 5,
        i => (i * 7919 % 1009) % 5,
    };
    let mut expected_first: Vec<usize> = Vec::new();
    let mut number_of_slot = [u32::MAX; 7];
    let expected: Vec<u32> = (0..n)
        .map(|i| {
            let slot = slot_of(i);
            if number_of_slot[slot] == u32::MAX {
                number_of_slot[slot] = expected_first.len() as u32;
                expected_first.push(i);
            }
            number_of_slot[slot]
        })
        .collect();
    assert_eq!(expected_first.len(), 6);
    for parallel_max_slots in [0, 7] {
        let (numbers, first) = number_by_first_appearance(n, 7, slot_of, parallel_max_slots);
        assert_eq!(
            numbers, expected,
            "parallel up to {parallel_max_slots} slots"
        );
        assert_eq!(
            first, expected_first,
            "parallel up to {parallel_max_slots} slots"
        );
    }
}

fn ts(values: &[i64]) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values.to_vec()).with_timezone("UTC"))
}

fn table(name: &'static str, columns: Vec<(&str, ArrayRef)>) -> TableInput {
    TableInput::from_columns(name, columns).expect("valid columns")
}

fn contacts(ids: &[i64], customers: &[Option<i64>], created: &[i64]) -> TableInput {
    table(
        "contacts",
        vec![
            ("contact_id", Arc::new(Int64Array::from(ids.to_vec()))),
            (
                "customer_id",
                Arc::new(Int64Array::from(customers.to_vec())),
            ),
            ("created_at", ts(created)),
        ],
    )
}

fn orders(customers: &[Option<i64>], created: &[i64], revenue: &[f64]) -> TableInput {
    let ids: Vec<i64> = (0..customers.len() as i64).collect();
    table(
        "orders",
        vec![
            ("order_id", Arc::new(Int64Array::from(ids))),
            (
                "customer_id",
                Arc::new(Int64Array::from(customers.to_vec())),
            ),
            ("created_at", ts(created)),
            ("revenue", Arc::new(Float64Array::from(revenue.to_vec()))),
        ],
    )
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
    batch.column(batch.schema().index_of(name).expect("column exists"))
}

#[test]
fn tie_goes_to_the_greatest_id_and_window_edges_hold() {
    // Contacts 9 and 10 of customer 1 tie at T0+1h; an order at +1h+7d exactly (counts)
    // and one at the same instant as contact 11 (strictly after nothing new).
    let c = contacts(
        &[9, 10, 11],
        &[Some(1), Some(1), None],
        &[T0 + HOUR, T0 + HOUR, T0 + 2 * HOUR],
    );
    let o = orders(
        &[Some(1), None],
        &[T0 + HOUR + 7 * DAY, T0 + 3 * HOUR],
        &[50.0, 9.0],
    );
    let batches = enrich(&c, &o, &Options::default()).expect("enrich works");
    assert_eq!(batches.len(), 1, "three rows make one batch");
    let out = &batches[0];
    let revenue = column(out, "attributed_revenue").as_primitive::<Float64Type>();
    assert_eq!(revenue.values().to_vec(), vec![0.0, 50.0, 0.0]);
    let hours = column(out, "hours_to_next_order").as_primitive::<Float64Type>();
    assert_eq!(hours.value(0), 168.0);
    assert!(hours.is_null(2), "anonymous contacts never join");
    let recovered = column(out, "recovered_7d").as_boolean();
    assert!(recovered.value(0) && recovered.value(1) && !recovered.value(2));
}

#[test]
fn weekly_recovery_counts_only_mature_contacts() {
    // Customer 1 at T0 recovers at T0+1d; customer 2 at T0+6d is immature at as_of
    // (= the latest created_at, T0+8d): 6d + 7d > 8d.
    let c = contacts(&[1, 2], &[Some(1), Some(2)], &[T0, T0 + 6 * DAY]);
    let o = orders(
        &[Some(1), Some(3)],
        &[T0 + DAY, T0 + 8 * DAY],
        &[10.0, 20.0],
    );
    let card = scorecard(&c, &o, None, None, &Options::default()).expect("scorecard works");
    let t = &card.table;
    let kpi = column(t, "kpi").as_string::<i32>();
    let value = column(t, "value").as_primitive::<Float64Type>();
    let den = column(t, "denominator").as_primitive::<Float64Type>();
    let row = (0..t.num_rows())
        .find(|&i| kpi.value(i) == "recovery_rate_7d")
        .expect("recovery row");
    assert_eq!((value.value(row), den.value(row)), (1.0, 1.0));
    assert_eq!(card.as_of, Some(T0 + 8 * DAY));
    // Two weeks: T0's week and the week holding as_of.
    let starts =
        column(t, "period_start").as_primitive::<arrow_array::types::TimestampMicrosecondType>();
    assert_eq!(starts.value(t.num_rows() - 1), T0 + 7 * DAY);
}

#[test]
fn bad_values_are_typed_errors_not_panics() {
    let c = contacts(&[1, 1], &[Some(1), Some(1)], &[T0, T0]);
    let o = orders(&[Some(1)], &[T0], &[1.0]);
    match scorecard(&c, &o, None, None, &Options::default()) {
        Err(Error::Data {
            table, column, row, ..
        }) => {
            assert_eq!(
                (table.as_str(), column.as_str()),
                ("contacts", "contact_id")
            );
            assert_eq!(row.position, 1);
        }
        other => panic!("expected a DataError, got {:?}", other.map(|c| c.as_of)),
    }
    let options = Options {
        tz: "Mars/Olympus".to_owned(),
        ..Options::default()
    };
    let c = contacts(&[1], &[Some(1)], &[T0]);
    assert!(matches!(
        scorecard(&c, &o, None, None, &options),
        Err(Error::Config { .. })
    ));
}
