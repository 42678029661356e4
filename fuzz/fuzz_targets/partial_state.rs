//! The partial-state decoder on hostile bytes: `merge` and `combine` take states that
//! crossed a network or a disk, so any bytes must give Ok or a typed error, never a panic,
//! an abort or a runaway allocation.
//!
//! A valid state (contacts with groups, quantile sketches and a slice dimension) is built
//! once; the fuzzer's bytes are either a whole state (when they start with the magic tag)
//! or a list of edits to that valid state: set, insert or delete a byte, or write a run of
//! 0xff (a huge varint length or count) at an offset. The edited state is merged alone,
//! beside the valid one, and combined.
//!
//! Run: `cargo +nightly fuzz run partial_state -- -max_total_time=1800` (fuzz/README.md).
#![no_main]

use std::sync::{Arc, OnceLock};

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use libfuzzer_sys::fuzz_target;
use supportkpi::{combine, merge, prepare, Options, TableInput};

/// Monday 2024-01-01 00:00 UTC, µs.
const BASE: i64 = 1_704_067_200_000_000;
const HOUR: i64 = 3_600_000_000;

fn table(name: &'static str, columns: Vec<(&str, ArrayRef)>) -> TableInput {
    TableInput::from_columns(name, columns).expect("valid columns")
}

fn timestamps(values: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

/// A valid state with everything a state can carry: groups, sketches, a breakdown.
fn valid_state() -> &'static Vec<u8> {
    static STATE: OnceLock<Vec<u8>> = OnceLock::new();
    STATE.get_or_init(|| {
        let n = 40i64;
        let created: Vec<i64> = (0..n).map(|i| BASE + i * 9 * HOUR).collect();
        let contacts = table(
            "contacts",
            vec![
                (
                    "contact_id",
                    Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())),
                ),
                (
                    "customer_id",
                    Arc::new(Int64Array::from((0..n).map(|i| i % 7).collect::<Vec<_>>())),
                ),
                ("created_at", timestamps(created.clone())),
                (
                    "first_response_at",
                    timestamps(created.iter().map(|t| t + HOUR).collect()),
                ),
                (
                    "resolved_at",
                    timestamps(created.iter().map(|t| t + 5 * HOUR).collect()),
                ),
                (
                    "csat",
                    Arc::new(Float64Array::from(
                        (0..n).map(|i| (i % 5 + 1) as f64).collect::<Vec<_>>(),
                    )),
                ),
                (
                    "channel",
                    Arc::new(StringArray::from(
                        (0..n)
                            .map(|i| ["email", "chat", "phone"][i as usize % 3])
                            .collect::<Vec<_>>(),
                    )),
                ),
                (
                    "device",
                    Arc::new(StringArray::from(
                        (0..n)
                            .map(|i| ["ios", "web"][i as usize % 2])
                            .collect::<Vec<_>>(),
                    )),
                ),
            ],
        );
        let orders = table(
            "orders",
            vec![
                (
                    "order_id",
                    Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())),
                ),
                (
                    "customer_id",
                    Arc::new(Int64Array::from((0..n).map(|i| i % 9).collect::<Vec<_>>())),
                ),
                (
                    "created_at",
                    timestamps(created.iter().map(|t| t + 30 * HOUR).collect()),
                ),
                (
                    "revenue",
                    Arc::new(Float64Array::from(
                        (0..n).map(|i| i as f64 * 3.5).collect::<Vec<_>>(),
                    )),
                ),
                (
                    "device",
                    Arc::new(StringArray::from(
                        (0..n)
                            .map(|i| ["ios", "web"][i as usize % 2])
                            .collect::<Vec<_>>(),
                    )),
                ),
            ],
        );
        let options = Options {
            by: "week".into(),
            group_by: vec!["channel".into()],
            ..Options::default()
        };
        let prepared = prepare(contacts, orders, None, None, options.clone()).expect("prepares");
        prepared.partial(&options).expect("a state")
    })
}

/// The valid state with the fuzzer's edits applied.
fn edited(data: &[u8]) -> Vec<u8> {
    let mut state = valid_state().clone();
    for edit in data.chunks_exact(4) {
        if state.is_empty() {
            break;
        }
        let at = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % state.len();
        match edit[2] % 4 {
            0 => state[at] = edit[3],
            1 => state.insert(at, edit[3]),
            2 => {
                state.remove(at);
            }
            _ => {
                let end = (at + usize::from(edit[3] % 10)).min(state.len());
                state[at..end].fill(0xff);
            }
        }
    }
    state
}

fuzz_target!(|data: &[u8]| {
    let state = if data.starts_with(b"SKPARTL\0") {
        data.to_vec()
    } else {
        edited(data)
    };
    let valid = valid_state().as_slice();
    // Any outcome but a panic or an abort is fine.
    let _ = merge(&[state.as_slice()], None, None);
    let _ = merge(&[valid, state.as_slice()], None, None);
    let _ = combine(&[state.as_slice(), valid]);
});
