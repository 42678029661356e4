//! Arbitrary Arrow input through ingestion, joins, aggregation, partial states and merge.
//!
//! The fuzzer's bytes choose the schema of contacts and orders (which columns exist and
//! with which Arrow type, right or wrong), their values (nulls, ties on a coarse time grid,
//! extremes such as i64::MIN/MAX, NaN, ±inf, 1970 and 2200, odd strings), how the rows are
//! chunked into batches, and the options (period, zone, grouping, on_invalid, as_of). Any
//! outcome but a panic is fine: Ok, or a typed error. A merge of corrupted state bytes is
//! fuzzed too.
//!
//! Run: `cargo +nightly fuzz run scorecard -- -max_total_time=1800` (see fuzz/README.md).
#![no_main]

use std::collections::HashMap;
use std::sync::Arc;

use arbitrary::{Result, Unstructured};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, StringDictionaryBuilder,
    UInt64Builder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch, TimestampMicrosecondArray, TimestampMillisecondArray};
use arrow_schema::{Field, Schema};
use libfuzzer_sys::fuzz_target;
use supportkpi::{combine, merge, prepare, OnInvalid, Options, TableInput};

/// Monday 2024-01-01 00:00 UTC, µs.
const BASE: i64 = 1_704_067_200_000_000;
const HOUR: i64 = 3_600_000_000;

fn timestamp(u: &mut Unstructured) -> Result<Option<i64>> {
    Ok(match u.int_in_range(0..=19)? {
        0 => None,
        1 => Some(*u.choose(&[
            i64::MIN,
            i64::MAX,
            0,
            -1,
            7_258_118_400_000_000, // 2200-01-01
            4_102_444_800_000_000, // 2100-01-01
            946_684_800_000_000,   // 2000-01-01
        ])?),
        2 => Some(u.arbitrary()?),
        // A coarse grid over ~3 months: ties and exact window edges are common.
        _ => Some(BASE + i64::from(u.int_in_range(0u16..=180)?) * 12 * HOUR),
    })
}

fn later(u: &mut Unstructured, created: Option<i64>) -> Result<Option<i64>> {
    Ok(match (u.int_in_range(0..=5)?, created) {
        (0, _) | (_, None) => None,
        (1, _) => timestamp(u)?,
        (_, Some(t)) => Some(t.saturating_add(i64::from(u.int_in_range(0u8..=100)?) * HOUR)),
    })
}

fn timestamps(u: &mut Unstructured, values: &[Option<i64>]) -> Result<ArrayRef> {
    Ok(match u.int_in_range(0..=9)? {
        // Milliseconds: a unit conversion on the way in.
        0 => Arc::new(
            TimestampMillisecondArray::from(
                values
                    .iter()
                    .map(|v| v.map(|t| t / 1000))
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
        // Naive (read as UTC) or another zone.
        1 => Arc::new(TimestampMicrosecondArray::from(values.to_vec())),
        2 => Arc::new(
            TimestampMicrosecondArray::from(values.to_vec()).with_timezone("America/New_York"),
        ),
        // Wrong types.
        3 => Arc::new(
            values
                .iter()
                .map(|v| v.map(|t| t.to_string()))
                .collect::<arrow_array::StringArray>(),
        ),
        4 => Arc::new(arrow_array::Int64Array::from(values.to_vec())),
        _ => Arc::new(TimestampMicrosecondArray::from(values.to_vec()).with_timezone("UTC")),
    })
}

fn ids(u: &mut Unstructured, n: usize, customers: bool) -> Result<ArrayRef> {
    let pick = |u: &mut Unstructured| -> Result<Option<i64>> {
        Ok(match u.int_in_range(0..=15)? {
            0 if customers => None,
            1 => Some(*u.choose(&[i64::MIN, i64::MAX, 0, -1])?),
            2 => Some(u.arbitrary()?),
            _ => Some(i64::from(
                u.int_in_range(0u8..=if customers { 8 } else { 200 })?,
            )),
        })
    };
    let values: Vec<Option<i64>> = (0..n).map(|_| pick(u)).collect::<Result<_>>()?;
    Ok(match u.int_in_range(0..=7)? {
        0 | 1 => {
            let mut b = StringBuilder::new();
            for v in &values {
                b.append_option(v.map(|x| format!("c{x}")));
            }
            Arc::new(b.finish())
        }
        2 => {
            let mut b = StringDictionaryBuilder::<Int32Type>::new();
            for v in &values {
                b.append_option(v.map(|x| format!("c{x}")));
            }
            Arc::new(b.finish())
        }
        3 => {
            let mut b = UInt64Builder::new();
            for v in &values {
                b.append_option(v.map(|x| x as u64));
            }
            Arc::new(b.finish())
        }
        4 => {
            let mut b = Float64Builder::new();
            for v in &values {
                b.append_option(v.map(|x| x as f64));
            }
            Arc::new(b.finish())
        }
        _ => {
            let mut b = Int64Builder::new();
            for v in &values {
                b.append_option(*v);
            }
            Arc::new(b.finish())
        }
    })
}

fn numbers(u: &mut Unstructured, n: usize, typical: &[f64]) -> Result<ArrayRef> {
    let mut b = Float64Builder::new();
    for _ in 0..n {
        match u.int_in_range(0..=9)? {
            0 => b.append_null(),
            1 => b.append_value(*u.choose(&[
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                -0.0,
                f64::MAX,
                -1.0,
                1e-300,
            ])?),
            2 => b.append_value(u.arbitrary()?),
            _ => b.append_value(*u.choose(typical)?),
        }
    }
    Ok(if u.ratio(1, 12)? {
        // Wrong type.
        Arc::new(arrow_array::StringArray::from(vec!["x"; n]))
    } else {
        Arc::new(b.finish())
    })
}

fn strings(u: &mut Unstructured, n: usize, choices: &[&str]) -> Result<ArrayRef> {
    let mut values: Vec<Option<String>> = Vec::with_capacity(n);
    for _ in 0..n {
        values.push(match u.int_in_range(0..=9)? {
            0 => None,
            1 => Some(u.arbitrary::<String>()?),
            _ => Some((*u.choose(choices)?).to_owned()),
        });
    }
    Ok(if u.ratio(1, 4)? {
        let mut b = StringDictionaryBuilder::<Int32Type>::new();
        for v in &values {
            b.append_option(v.as_deref());
        }
        Arc::new(b.finish())
    } else {
        Arc::new(values.into_iter().collect::<arrow_array::StringArray>())
    })
}

fn booleans(u: &mut Unstructured, n: usize) -> Result<ArrayRef> {
    let mut b = BooleanBuilder::new();
    for _ in 0..n {
        match u.int_in_range(0..=2)? {
            0 => b.append_null(),
            1 => b.append_value(true),
            _ => b.append_value(false),
        }
    }
    Ok(Arc::new(b.finish()))
}

/// The columns as one table, cut into arbitrary batches (zero-length ones included).
fn table(
    u: &mut Unstructured,
    name: &'static str,
    columns: Vec<(&str, ArrayRef)>,
    n: usize,
) -> Result<TableInput> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(c, a)| Field::new(*c, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = columns.into_iter().map(|(_, a)| a).collect();
    let Ok(whole) = RecordBatch::try_new(schema.clone(), arrays) else {
        return Ok(TableInput::new(name, schema, Vec::new(), HashMap::new()));
    };
    let mut batches = Vec::new();
    let mut offset = 0;
    while offset < n {
        let len = usize::from(u.int_in_range(0u8..=8)?).min(n - offset);
        batches.push(whole.slice(offset, len));
        offset += len;
        if u.is_empty() && offset < n {
            batches.push(whole.slice(offset, n - offset));
            break;
        }
    }
    Ok(TableInput::new(name, schema, batches, HashMap::new()))
}

fn contacts(u: &mut Unstructured) -> Result<TableInput> {
    let n = usize::from(u.int_in_range(0u8..=24)?);
    let created: Vec<Option<i64>> = (0..n).map(|_| timestamp(u)).collect::<Result<_>>()?;
    let mut columns: Vec<(&str, ArrayRef)> = Vec::new();
    // Required columns are left out now and then (a SchemaError).
    if !u.ratio(1, 40)? {
        columns.push(("contact_id", ids(u, n, false)?));
    }
    if !u.ratio(1, 40)? {
        columns.push(("customer_id", ids(u, n, true)?));
    }
    if !u.ratio(1, 40)? {
        columns.push(("created_at", timestamps(u, &created)?));
    }
    let optional: [(&str, u8); 14] = [
        ("channel", 0),
        ("intent", 1),
        ("handled_by", 2),
        ("escalated", 3),
        ("first_response_at", 4),
        ("resolved_at", 4),
        ("handle_seconds", 5),
        ("touches", 6),
        ("csat", 7),
        ("nps", 8),
        ("ces", 9),
        ("cost", 10),
        ("resolution_correct", 3),
        ("preventable", 3),
    ];
    for (name, kind) in optional {
        if !u.arbitrary::<bool>()? {
            continue;
        }
        let array = match kind {
            0 => strings(u, n, &["email", "chat", "phone"])?,
            1 => strings(
                u,
                n,
                &["order_tracking", "returns", "checkout_payment", "other"],
            )?,
            2 => strings(u, n, &["self_service", "ai", "human"])?,
            3 => booleans(u, n)?,
            4 => {
                let values: Vec<Option<i64>> = created
                    .iter()
                    .map(|&c| later(u, c))
                    .collect::<Result<_>>()?;
                timestamps(u, &values)?
            }
            5 => numbers(u, n, &[0.0, 30.0, 600.0])?,
            6 => numbers(u, n, &[0.0, 1.0, 2.0, 3.0])?,
            7 => numbers(u, n, &[1.0, 2.0, 4.0, 5.0])?,
            8 => numbers(u, n, &[0.0, 6.0, 9.0, 10.0])?,
            9 => numbers(u, n, &[1.0, 4.0, 7.0])?,
            _ => numbers(u, n, &[0.5, 2.0, 12.0])?,
        };
        columns.push((name, array));
    }
    table(u, "contacts", columns, n)
}

fn orders(u: &mut Unstructured) -> Result<TableInput> {
    let n = usize::from(u.int_in_range(0u8..=24)?);
    let created: Vec<Option<i64>> = (0..n).map(|_| timestamp(u)).collect::<Result<_>>()?;
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        ("order_id", ids(u, n, false)?),
        ("customer_id", ids(u, n, true)?),
        ("created_at", timestamps(u, &created)?),
        ("revenue", numbers(u, n, &[0.0, 19.99, 60.0])?),
    ];
    if u.arbitrary::<bool>()? {
        columns.push(("refund", numbers(u, n, &[0.0, 5.0])?));
    }
    if u.arbitrary::<bool>()? {
        columns.push(("channel", strings(u, n, &["email", "web"])?));
    }
    table(u, "orders", columns, n)
}

fn options(u: &mut Unstructured) -> Result<Options> {
    let mut options = Options {
        by: (*u.choose(&["day", "week", "month"])?).to_owned(),
        tz: (*u.choose(&["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"])?)
            .to_owned(),
        on_invalid: if u.arbitrary()? {
            OnInvalid::Drop
        } else {
            OnInvalid::Raise
        },
        ..Options::default()
    };
    if u.ratio(1, 3)? {
        options.group_by = vec![(*u.choose(&["channel", "handled_by", "intent"])?).to_owned()];
    }
    if u.ratio(1, 4)? {
        options.as_of = timestamp(u)?;
    }
    Ok(options)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(contacts), Ok(orders), Ok(options)) =
        (contacts(&mut u), orders(&mut u), options(&mut u))
    else {
        return;
    };
    let Ok(prepared) = prepare(contacts, orders, None, None, options.clone()) else {
        return;
    };
    let _ = prepared.enrich();
    let _ = prepared.scorecard(&options);
    if let Ok(state) = prepared.partial(&options) {
        let _ = merge(&[&state, &state], None, None);
        if let Ok(combined) = combine(&[&state]) {
            let _ = merge(&[&combined], None, None);
        }
        // The rest of the input corrupts a copy of the state: a bad state is an error,
        // never a panic or a huge allocation.
        let mut corrupt = state.clone();
        let rest = u.take_rest();
        for (k, byte) in rest.chunks(3).filter(|c| c.len() == 3).enumerate().take(8) {
            let at = (usize::from(byte[0]) << 8 | usize::from(byte[1])) % corrupt.len();
            if k % 2 == 0 {
                corrupt[at] = byte[2];
            } else {
                corrupt.truncate(at.max(12));
            }
        }
        let _ = merge(&[&corrupt], None, None);
    }
});
