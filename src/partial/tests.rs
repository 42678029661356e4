//! Partial states: round trips, merges equal to local cards, and hostile bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow_schema::DataType;

use super::format::{decode, state_layout_fingerprint, PartialState, HEADER_LEN, MAGIC};
use super::wire::{check_ipc_framing, decode_keys, encode_keys};
use super::*;
use crate::error::Error;
use crate::kpis::ContactState;
use crate::scorecard::prepare;

/// Monday 2024-01-01 00:00 UTC, µs.
const BASE: i64 = 1_704_067_200_000_000;
const HOUR: i64 = 3_600_000_000;

fn table(name: &'static str, columns: Vec<(&str, ArrayRef)>) -> TableInput {
    TableInput::from_columns(name, columns).expect("valid columns")
}

/// Contacts `(id, channel, at)` (each its own customer, with an order an hour later),
/// prepared with `options`.
fn prepared_of(rows: &[(i64, &str, i64)], options: &Options) -> crate::scorecard::Prepared {
    let ts = |t: Vec<i64>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(t).with_timezone("UTC"))
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let at: Vec<i64> = rows.iter().map(|r| r.2).collect();
    let contacts = table(
        "contacts",
        vec![
            ("contact_id", Arc::new(Int64Array::from(ids.clone()))),
            ("customer_id", Arc::new(Int64Array::from(ids.clone()))),
            ("created_at", ts(at.clone())),
            (
                "channel",
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
            ),
        ],
    );
    let orders = table(
        "orders",
        vec![
            ("order_id", Arc::new(Int64Array::from(ids.clone()))),
            ("customer_id", Arc::new(Int64Array::from(ids))),
            ("created_at", ts(at.iter().map(|t| t + HOUR).collect())),
            (
                "revenue",
                Arc::new(arrow_array::Float64Array::from(
                    rows.iter().map(|r| r.0 as f64 * 2.5).collect::<Vec<_>>(),
                )),
            ),
        ],
    );
    prepare(contacts, orders, None, None, options.clone()).expect("prepares")
}

/// The state of one contact (id `id`, channel `channel`) at `at`, with `options`.
fn state_of(id: i64, channel: &str, at: i64, options: &Options) -> Vec<u8> {
    prepared_of(&[(id, channel, at)], options)
        .partial(options)
        .expect("a state")
}

/// The (kpi, group, period) → value of a card's long table.
fn values_of(card: &Scorecard) -> BTreeMap<(String, String, i64), Option<f64>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, TimestampMicrosecondType};
    use arrow_array::Array;
    let column = |name: &str| card.table.column_by_name(name).expect("a column").clone();
    let kpi = column("kpi");
    let channel = arrow_cast::cast(&column("channel"), &DataType::Utf8).expect("text");
    let period = column("period_start");
    let value = column("value");
    (0..card.table.num_rows())
        .map(|i| {
            let key = (
                kpi.as_string::<i32>().value(i).to_owned(),
                channel.as_string::<i32>().value(i).to_owned(),
                period.as_primitive::<TimestampMicrosecondType>().value(i),
            );
            let v = value.as_primitive::<Float64Type>();
            (key, v.is_valid(i).then(|| v.value(i)))
        })
        .collect()
}

#[test]
fn absorbed_slices_give_the_card_of_all_their_rows() {
    // Two customer-disjoint slices over three weeks and two channels, merged, against
    // the local card of all rows: every count and sum KPI alike (quantiles travel as
    // sketches and are compared in tests/test_partial.py).
    let options = grouped(BASE + 21 * 24 * HOUR);
    let rows: Vec<(i64, &str, i64)> = (0..24)
        .map(|i| (i, ["chat", "email"][i as usize % 2], BASE + i * 20 * HOUR))
        .collect();
    let (even, odd): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.0 % 2 == 0);
    let a = prepared_of(&even, &options).partial(&options).expect("a");
    let b = prepared_of(&odd, &options).partial(&options).expect("b");
    let merged = values_of(&merge(&[&a, &b], None, None).expect("merges"));
    let local = values_of(
        &prepared_of(&rows, &options)
            .scorecard(&options)
            .expect("card"),
    );
    assert_eq!(merged.len(), local.len());
    let exact = [
        "contacts",
        "orders",
        "tickets_per_order",
        "recovery_rate_7d",
        "recovered_revenue",
    ];
    let mut compared = 0;
    for (key, value) in &local {
        if exact.contains(&key.0.as_str()) {
            let other = merged.get(key).copied().flatten();
            match (value, other) {
                (Some(x), Some(y)) => {
                    assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{key:?}")
                }
                (x, y) => assert_eq!(*x, y, "{key:?}"),
            }
            compared += 1;
        }
    }
    assert!(compared >= 5 * 4, "{compared}");
}

fn grouped(as_of: i64) -> Options {
    Options {
        group_by: vec!["channel".into()],
        as_of: Some(as_of),
        ..Options::default()
    }
}

fn reencoded(state: &PartialState) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&state_layout_fingerprint().to_le_bytes());
    out.extend_from_slice(&postcard::to_stdvec(state).expect("encodes"));
    out
}

fn config_error(result: Result<Scorecard>) -> String {
    match result {
        Err(Error::Config { key, message }) => format!("{key}: {message}"),
        Err(other) => panic!("expected a config error, got {other}"),
        Ok(_) => panic!("expected a config error, got a scorecard"),
    }
}

#[test]
fn slices_spread_over_a_century_with_many_groups_are_sized_before_the_merge_allocates() {
    // 120 slices of one group each, alternately in 2000 and 2099: merged, 36,500 days
    // × 120 groups (about 2.5 GB of states; 28 GB was asked of the crafted
    // case), from 240 rows.
    let early = parse_instant("2000-01-03", "t").expect("date");
    let late = parse_instant("2099-06-01", "t").expect("date");
    // as_of in 2000 keeps each slice's own grid short (rows after as_of are allowed).
    let options = grouped(early + 30 * 24 * HOUR);
    let states: Vec<Vec<u8>> = (0..120)
        .map(|i| {
            let at = if i % 2 == 0 { early } else { late };
            state_of(i, &format!("g{i}"), at, &options)
        })
        .collect();
    let refs: Vec<&[u8]> = states.iter().map(Vec::as_slice).collect();
    let message = config_error(merge(&refs, None, None));
    assert!(message.starts_with("limits.max_grid_mb:"), "{message}");
    assert!(message.contains("x 120 groups"), "{message}");
    // Slices of the same decade merge fine.
    assert!(combine(&[refs[0], refs[2], refs[4]]).is_ok());
}

#[test]
fn a_states_options_cannot_raise_the_merge_limit() {
    let early = parse_instant("2000-01-03", "t").expect("date");
    let late = parse_instant("2099-06-01", "t").expect("date");
    let mut options = grouped(early + 30 * 24 * HOUR);
    options.config = serde_json::json!({"limits": {"max_grid_mb": 1e9}});
    let states: Vec<Vec<u8>> = (0..300)
        .map(|i| {
            state_of(
                i,
                &format!("g{i}"),
                if i % 2 == 0 { early } else { late },
                &options,
            )
        })
        .collect();
    let refs: Vec<&[u8]> = states.iter().map(Vec::as_slice).collect();
    let message = config_error(merge(&refs, None, None));
    assert!(message.contains("the default for"), "{message}");
}

#[test]
fn audits_that_do_not_add_up_are_corrupt() {
    let options = grouped(BASE + 100 * HOUR);
    let bytes = state_of(1, "a", BASE, &options);
    let mut state = decode(&bytes, 0).expect("decodes");
    // rows_used above rows_read would report -6 dropped rows after a merge.
    state.audits[0].rows_used += 6;
    let message = config_error(merge(&[&reencoded(&state)], None, None));
    assert!(message.contains("does not add up"), "{message}");
    let mut state = decode(&bytes, 0).expect("decodes");
    let twice = state.audits[0].clone();
    state.audits.push(twice);
    let message = config_error(merge(&[&reencoded(&state)], None, None));
    assert!(message.contains("two audits"), "{message}");
}

#[test]
fn trailing_bytes_and_duplicate_slices_are_refused() {
    let options = grouped(BASE + 100 * HOUR);
    let a = state_of(1, "a", BASE, &options);
    let b = state_of(2, "b", BASE, &options);
    let mut longer = a.clone();
    longer.push(0);
    assert!(config_error(merge(&[&longer], None, None)).contains("1 bytes after its end"));
    assert!(config_error(merge(&[&a, &a], None, None)).contains("hold the same slice"));
    let ab = combine(&[&a, &b]).expect("combines");
    assert!(config_error(merge(&[&ab, &b], None, None)).contains("hold the same slice"));
    assert!(merge(&[&ab], None, None).is_ok());
}

#[test]
fn a_state_of_another_counter_layout_is_refused() {
    // A KPI family that gains a counter changes the layout without a format bump.
    let options = grouped(BASE + 100 * HOUR);
    let a = state_of(1, "a", BASE, &options);
    assert!(ContactState::layout().contains("recovered: u64"));
    for k in MAGIC.len() + 4..HEADER_LEN {
        let mut other = a.clone();
        other[k] ^= 1;
        let message = config_error(merge(&[&other], None, None));
        assert!(message.contains("KPI states differ"), "{message}");
    }
    assert!(merge(&[&a], None, None).is_ok());
}

const EDIT_VALUES: [u8; 256] = {
    let mut all = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        all[i] = i as u8;
        i += 1;
    }
    all
};

#[test]
fn every_single_byte_edit_of_the_group_keys_is_read_or_refused() {
    // The fuzzer's first find: one byte of a buffer offset set to 0x81 made the IPC
    // reader slice past the message body and panic; then a short validity buffer and
    // an offsets buffer of a partial item did. Every position, every value, over key
    // columns of each layout (text, integers, floats, booleans, dates, timestamps),
    // with nulls.
    let columns: Vec<(String, ArrayRef)> = vec![
        (
            "channel".into(),
            Arc::new(StringArray::from(vec![Some("a"), None, Some("bc")])),
        ),
        (
            "tier".into(),
            Arc::new(arrow_array::Int32Array::from(vec![Some(1), Some(2), None])),
        ),
        (
            "score".into(),
            Arc::new(arrow_array::Float64Array::from(vec![
                None,
                Some(0.5),
                Some(2.0),
            ])),
        ),
        (
            "vip".into(),
            Arc::new(arrow_array::BooleanArray::from(vec![
                Some(true),
                None,
                Some(false),
            ])),
        ),
        (
            "day".into(),
            Arc::new(arrow_array::Date32Array::from(vec![
                Some(19_000),
                Some(19_001),
                None,
            ])),
        ),
        (
            "seen".into(),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(BASE), None, Some(BASE + HOUR)])
                    .with_timezone("UTC"),
            ),
        ),
    ];
    let keys = encode_keys(&columns).expect("encodes");
    assert_eq!(decode_keys(&keys, 0).expect("decodes").len(), columns.len());
    for at in 0..keys.len() {
        for value in EDIT_VALUES {
            let mut edited = keys.clone();
            edited[at] = value;
            if check_ipc_framing(&edited).is_ok() {
                let _ = decode_keys(&edited, 0);
            }
        }
    }
}

#[test]
fn ipc_streams_are_walked_before_they_are_read() {
    let options = grouped(BASE + 100 * HOUR);
    let state = decode(&state_of(1, "a", BASE, &options), 0).expect("decodes");
    let keys = state.group_keys_ipc.clone();
    assert!(check_ipc_framing(&keys).is_ok());
    assert!(check_ipc_framing(&[]).is_ok());
    // A first message declaring 2 GB of metadata in a 100-byte stream.
    let mut huge = vec![0xff, 0xff, 0xff, 0xff];
    huge.extend_from_slice(&0x7fff_fff0_i32.to_le_bytes());
    huge.extend_from_slice(&[0; 92]);
    let err = check_ipc_framing(&huge).unwrap_err();
    assert!(err.contains("past the end"), "{err}");
    assert!(check_ipc_framing(&keys[..keys.len() - 8]).is_err());
    let mut negative = vec![0xff; 4];
    negative.extend_from_slice(&(-5_i32).to_le_bytes());
    assert!(check_ipc_framing(&negative).is_err());
    // Through decode: a ConfigError, nothing allocated for the claim.
    let mut crafted = state;
    crafted.group_keys_ipc = huge;
    let message = config_error(merge(&[&reencoded(&crafted)], None, None));
    assert!(message.contains("corrupt group keys"), "{message}");
}
