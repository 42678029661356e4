//! The per-contact view (`enrich`): one row per contact with its join results.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt32Array,
};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ingest::{HandledBy, OnInvalid, TableInput, NULL_TS};
use crate::kpis::row::{matures, resolved_without_human};
use crate::kpis::IntentFlags;

use super::options::{Options, Settings, MICROS_PER_HOUR, MICROS_PER_MINUTE};
use super::output::batch;
use super::prepare::Joined;

/// Rows per batch of the per-contact view: fixed, so the batches do not depend on the
/// thread count; each batch is built on its own thread.
pub(super) const ENRICH_BATCH_ROWS: usize = 1 << 20;

pub(super) fn enrich_prepared(
    contacts: &TableInput,
    options: &Options,
    settings: &Settings,
    joined: &Joined,
) -> Result<Vec<RecordBatch>> {
    let c = &joined.data.contacts;
    let flags = IntentFlags::new(c, &settings.config.taxonomy);
    if options.on_invalid == OnInvalid::Raise {
        // Input rows are the kept rows: the batches go out as they are, one chunk each.
        return (0..c.len.div_ceil(ENRICH_BATCH_ROWS).max(1))
            .into_par_iter()
            .map(|b| {
                let rows = b * ENRICH_BATCH_ROWS..((b + 1) * ENRICH_BATCH_ROWS).min(c.len);
                batch(
                    enrich_columns(settings, joined, &flags, rows),
                    "enrich_contacts",
                )
            })
            .collect();
    }
    let columns = enrich_columns(settings, joined, &flags, 0..c.len);
    // One row per input contact: dropped rows get nulls and their reason.
    let reasons = &joined.data.contact_drop_reasons;
    let input_rows = contacts.num_rows();
    let mut kept_index: Vec<Option<u32>> = vec![None; input_rows];
    for i in 0..c.len {
        kept_index[c.source_row(i)] = Some(i as u32);
    }
    let take = UInt32Array::from(kept_index);
    let mut expanded = Vec::with_capacity(columns.len() + 1);
    for (name, array) in columns {
        let taken = arrow_select::take::take(array.as_ref(), &take, None)
            .map_err(|e| Error::arrow("building the per-contact table", e))?;
        expanded.push((name, taken));
    }
    let reason: StringArray = (0..input_rows)
        .map(|row| reasons.get(row).and_then(|r| r.as_deref()))
        .collect();
    expanded.push(("dropped_reason".into(), Arc::new(reason)));
    Ok(vec![batch(expanded, "enrich_contacts")?])
}

/// The per-contact view's columns for `rows` of the kept contacts.
pub(super) fn enrich_columns(
    settings: &Settings,
    joined: &Joined,
    flags: &IntentFlags,
    rows: std::ops::Range<usize>,
) -> Vec<(String, ArrayRef)> {
    let c = &joined.data.contacts;
    let j = &joined.joins;
    let w = settings.windows;
    let as_of = joined.as_of.unwrap_or(i64::MIN);
    let n = rows.len();
    let first = rows.start;
    // Whole columns at once, not row by row through builders: flags are packed 64 rows
    // per word and numbers written straight into their buffers.
    let flags_of = |f: &dyn Fn(usize) -> bool| {
        BooleanArray::new(BooleanBuffer::collect_bool(n, |k| f(first + k)), None)
    };
    let paths: Vec<HandledBy> = rows.clone().map(|i| c.path(i)).collect();
    let path: StringArray = paths.iter().map(|p| p.name()).collect();
    let without_human = flags_of(&|i| resolved_without_human(c, i, paths[i - first]));
    let recovered = flags_of(&|i| j.recovered[i]);
    let recovery_mature = flags_of(&|i| matures(c.created_at[i], w.recovery, as_of));
    let delays = &j.next_order_delay[rows.clone()];
    let hours = Float64Array::new(
        delays.iter().map(|&d| d as f64 / MICROS_PER_HOUR).collect(),
        Some(NullBuffer::new(BooleanBuffer::collect_bool(n, |k| {
            delays[k] != NULL_TS
        }))),
    );
    let attributed_orders: Int64Array = j.attributed_orders[rows.clone()]
        .iter()
        .map(|&v| i64::from(v))
        .collect();
    let attributed_revenue = Float64Array::from(j.attributed_revenue[rows.clone()].to_vec());
    let repeat = flags_of(&|i| j.repeat[i]);
    let repeat_mature = flags_of(&|i| matures(c.created_at[i], w.repeat, as_of));
    let recontacts = &j.recontact[rows.clone()];
    let recontact = BooleanArray::new(
        BooleanBuffer::collect_bool(n, |k| recontacts[k] == 1),
        Some(NullBuffer::new(BooleanBuffer::collect_bool(n, |k| {
            recontacts[k] != -1
        }))),
    );
    let recontact_mature = flags_of(&|i| {
        let resolved_at = c.resolved_at.as_ref().map_or(NULL_TS, |r| r[i]);
        resolved_at != NULL_TS && matures(resolved_at, w.recontact, as_of)
    });
    let preventable = flags_of(&|i| flags.is_preventable(c, i));
    let mut columns: Vec<(String, ArrayRef)> = vec![
        ("path".into(), Arc::new(path)),
        ("resolved_without_human".into(), Arc::new(without_human)),
        ("recovered_7d".into(), Arc::new(recovered)),
        ("recovery_mature".into(), Arc::new(recovery_mature)),
        ("hours_to_next_order".into(), Arc::new(hours)),
        ("attributed_orders".into(), Arc::new(attributed_orders)),
        ("attributed_revenue".into(), Arc::new(attributed_revenue)),
        ("repeat_14d".into(), Arc::new(repeat)),
        ("repeat_mature".into(), Arc::new(repeat_mature)),
        ("recontact_48h".into(), Arc::new(recontact)),
        ("recontact_mature".into(), Arc::new(recontact_mature)),
        ("preventable".into(), Arc::new(preventable)),
    ];
    columns.extend(business_columns(&joined.business, c, rows));
    columns
}

/// The business-time and SLA columns (SPEC §9.2, §9.3): present when calendars (durations)
/// or SLA policies (the rest) are configured.
fn business_columns(
    b: &crate::business::BusinessFacts,
    contacts: &crate::ingest::Contacts,
    rows: std::ops::Range<usize>,
) -> Vec<(String, ArrayRef)> {
    use crate::business::facts::{Target, NO_VERDICT};
    let n = rows.len();
    let valid =
        |values: &[i64]| NullBuffer::new(BooleanBuffer::collect_bool(n, |k| values[k] != NULL_TS));
    let scaled = |values: &[i64], per: f64| -> ArrayRef {
        Arc::new(Float64Array::new(
            values.iter().map(|&v| v as f64 / per).collect(),
            Some(valid(values)),
        ))
    };
    let instants = |values: &[i64]| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::new(values.iter().copied().collect(), Some(valid(values)))
                .with_timezone("UTC"),
        )
    };
    let verdicts = |values: &[i8]| -> ArrayRef {
        Arc::new(BooleanArray::new(
            BooleanBuffer::collect_bool(n, |k| values[k] == 1),
            Some(NullBuffer::new(BooleanBuffer::collect_bool(n, |k| {
                values[k] != NO_VERDICT
            }))),
        ))
    };
    let mut out: Vec<(String, ArrayRef)> = Vec::new();
    if !b.calendars.is_empty() {
        out.push((
            "first_response_business_minutes".into(),
            scaled(&b.first_response[rows.clone()], MICROS_PER_MINUTE),
        ));
        out.push((
            "resolution_business_hours".into(),
            scaled(&b.resolution[rows.clone()], MICROS_PER_HOUR),
        ));
    }
    if !b.policies.is_empty() {
        let names: StringArray = b.policy[rows.clone()]
            .iter()
            .map(|&p| b.policies.get(p as usize).map(|p| p.name.as_str()))
            .collect();
        out.push(("sla_policy".into(), Arc::new(names)));
        let due = |target: Target| -> Vec<i64> {
            rows.clone()
                .into_par_iter()
                .map(|i| b.due(contacts, i, target).flatten().unwrap_or(NULL_TS))
                .collect()
        };
        out.push((
            "sla_first_response_due_at".into(),
            instants(&due(Target::FirstResponse)),
        ));
        out.push((
            "sla_first_response_met".into(),
            verdicts(&b.first_response_met[rows.clone()]),
        ));
        out.push((
            "sla_resolution_due_at".into(),
            instants(&due(Target::Resolution)),
        ));
        out.push((
            "sla_resolution_met".into(),
            verdicts(&b.resolution_met[rows]),
        ));
    }
    out
}
