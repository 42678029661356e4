//! Partial states for scale-out (Dask, Spark, or any split of the customers).
//!
//! Every join of SPEC §3 stays inside one customer, so for customer-disjoint slices of the
//! inputs the per-day × group states, the customer cohorts, the baseline backlog and the
//! slice counts all add up. A partial state is that view state for one slice, with its
//! quantile inputs as DDSketches, serialized with postcard behind a magic tag and a format
//! version. [`merge`] places every slice's days on the global calendar by date, adds them,
//! and evaluates the scorecard exactly as a local view would.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::aggregate::breakdown::Breakdown;
use crate::aggregate::daily::Daily;
use crate::error::{Error, Result};
use crate::ingest::{TableAudit, TableInput};
use crate::kpis::customers::{PeriodCustomerState, RepurchaseState};
use crate::kpis::sample::{CellValues, DayTotals};
use crate::kpis::ContactState;
use crate::limits::{self, Limits, ViewShape};
use crate::scorecard::{
    baseline_windows, build_view, distinct_sorted_keys, finish, partial_extension,
    read_calendar_tables, Grid, KeyColumns, Options, Prepared, Scorecard, Settings, ViewState,
};
#[cfg(test)]
use crate::time::parse_instant;
use crate::time::Calendar;

/// Leading bytes of every partial state.
const MAGIC: &[u8; 8] = b"SKPARTL\0";
/// Version of the encoding; a merge reads only its own version. 3: the contact state is
/// laid out by KPI family.
pub const FORMAT_VERSION: u32 = 3;

/// The partial state of a slice of customers.
impl Prepared {
    /// The partial state of this slice of customers for a view (see [`crate::partial`]).
    pub fn partial(&self, view: &Options) -> Result<Vec<u8>> {
        let options = self.view_options(view);
        let settings = options.settings()?;
        let view = build_view(self, &options, &settings, partial_extension(&settings))?;
        let slices = self.slice_fingerprint()?.into_iter().collect();
        encode(view, &options, slices)
    }
}

/// A fingerprint of the states' field layouts (FNV-1a of their declarations): a partial
/// state whose KPI families counted other fields is refused, not misread, even when the
/// format version was not bumped for a new counter.
fn state_layout_fingerprint() -> u64 {
    let layout = [
        ContactState::layout(),
        DayTotals::LAYOUT.to_owned(),
        RepurchaseState::LAYOUT.to_owned(),
        PeriodCustomerState::LAYOUT.to_owned(),
        format!(
            "{} quantile lists",
            crate::kpis::sample::Quantiled::ALL.len()
        ),
    ]
    .join("\n");
    layout.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Bytes before the encoded state: magic, format version, layout fingerprint.
const HEADER_LEN: usize = MAGIC.len() + 4 + 8;

/// A slice's view state, as serialized.
#[derive(Serialize, Deserialize)]
struct PartialState {
    /// The library version that wrote it (for messages).
    library_version: String,
    /// The options, as JSON (every partial of a merge must carry the same).
    options_json: String,
    /// The as_of used.
    as_of: Option<i64>,
    /// Group-by columns, one row per group, as an Arrow IPC stream (empty without group_by).
    group_keys_ipc: Vec<u8>,
    /// Number of groups.
    n_groups: usize,
    /// Contacts columns present (our names).
    contact_columns: BTreeSet<String>,
    /// Whether any cost is known.
    has_cost: bool,
    /// Row audits of contacts and orders.
    audits: Vec<TableAudit>,
    /// Fingerprints of the slices the state holds (a hash of each one's contact and order
    /// ids; none for a slice without rows): a merge refuses a slice it already holds,
    /// which it would count twice.
    slices: Vec<u64>,
    /// The states, if the slice has rows.
    grid: Option<PartialGrid>,
}

/// The dated states of a slice.
#[derive(Serialize, Deserialize)]
struct PartialGrid {
    first: i64,
    last: i64,
    as_of: i64,
    /// Local date of day 0, as days since 1970-01-01.
    first_date: i64,
    /// First day of each period, plus the end.
    period_first_day: Vec<usize>,
    states: Vec<ContactState>,
    values: Vec<CellValues>,
    totals: Vec<DayTotals>,
    repurchase: Vec<RepurchaseState>,
    per_period: Vec<PeriodCustomerState>,
    baseline_windows: Vec<(i64, i64)>,
    baseline_backlog: Vec<(u64, i128)>,
    breakdowns: BTreeMap<String, Breakdown>,
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn encode_keys(keys: &[(String, ArrayRef)]) -> Result<Vec<u8>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let arrow_error =
        |e: arrow_schema::ArrowError| Error::arrow("writing the partial state's group keys", e);
    let schema = Arc::new(Schema::new(
        keys.iter()
            .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        keys.iter().map(|(_, a)| a.clone()).collect(),
    )
    .map_err(arrow_error)?;
    let mut out = Vec::new();
    let mut writer =
        arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema).map_err(arrow_error)?;
    writer.write(&batch).map_err(arrow_error)?;
    writer.finish().map_err(arrow_error)?;
    drop(writer);
    Ok(out)
}

fn decode_keys(bytes: &[u8], which: usize) -> Result<Vec<(String, ArrayRef)>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let bad = |e: arrow_schema::ArrowError| {
        Error::config(
            &format!("states[{which}]"),
            format!("corrupt group keys: {e}"),
        )
    };
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).map_err(bad)?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(bad)?;
    let batch = arrow_select::concat::concat_batches(&schema, &batches).map_err(bad)?;
    Ok(schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, a)| (f.name().clone(), a.clone()))
        .collect())
}

/// Serializes a view state built from one slice of the customers.
pub(crate) fn encode(view: ViewState, options: &Options, slices: Vec<u64>) -> Result<Vec<u8>> {
    let options_json = serde_json::to_string(options)
        .map_err(|e| Error::config("options", format!("cannot serialize: {e}")))?;
    let grid = view.grid.map(|g| PartialGrid {
        first: g.first,
        last: g.last,
        as_of: g.as_of,
        first_date: (g.calendar.first_date - epoch()).num_days(),
        period_first_day: g.calendar.period_first_day.clone(),
        states: g.daily.states,
        values: g.daily.values.iter().map(CellValues::sketched).collect(),
        totals: g.daily.totals,
        repurchase: g.repurchase,
        per_period: g.per_period,
        baseline_windows: g.baseline_windows,
        baseline_backlog: g.baseline_backlog,
        breakdowns: g.breakdowns,
    });
    let state = PartialState {
        library_version: env!("CARGO_PKG_VERSION").to_owned(),
        options_json,
        as_of: view.as_of,
        group_keys_ipc: encode_keys(&view.group_keys)?,
        n_groups: view.n_groups,
        contact_columns: view.contact_columns,
        has_cost: view.has_cost,
        audits: view.audits,
        slices,
        grid,
    };
    let mut out = Vec::with_capacity(1 << 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&state_layout_fingerprint().to_le_bytes());
    let body = postcard::to_stdvec(&state)
        .map_err(|e| Error::config("options", format!("cannot serialize the state: {e}")))?;
    out.extend_from_slice(&body);
    Ok(out)
}

fn decode(bytes: &[u8], which: usize) -> Result<PartialState> {
    let key = format!("states[{which}]");
    if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Error::config(
            &key,
            "not a supportkpi partial state (make states with sk.partial)",
        ));
    }
    let mut version = [0u8; 4];
    version.copy_from_slice(&bytes[MAGIC.len()..MAGIC.len() + 4]);
    let version = u32::from_le_bytes(version);
    if version != FORMAT_VERSION {
        return Err(Error::config(
            &key,
            format!(
                "partial state format {version}; this supportkpi {} reads format \
                 {FORMAT_VERSION} (compute every partial with the same library version)",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    let mut fingerprint = [0u8; 8];
    fingerprint.copy_from_slice(&bytes[MAGIC.len() + 4..HEADER_LEN]);
    if u64::from_le_bytes(fingerprint) != state_layout_fingerprint() {
        return Err(Error::config(
            &key,
            format!(
                "partial state written by a supportkpi whose KPI states differ from this \
                 one's ({}; compute every partial with the same library version)",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    let (state, rest): (PartialState, &[u8]) = postcard::take_from_bytes(&bytes[HEADER_LEN..])
        .map_err(|e| Error::config(&key, format!("corrupt partial state: {e}")))?;
    if !rest.is_empty() {
        return Err(Error::config(
            &key,
            format!("corrupt partial state: {} bytes after its end", rest.len()),
        ));
    }
    if !shape_ok(&state) {
        return Err(Error::config(
            &key,
            "corrupt partial state: inconsistent sizes",
        ));
    }
    check_audits(&state.audits)
        .map_err(|e| Error::config(&key, format!("corrupt partial state: {e}")))?;
    check_ipc_framing(&state.group_keys_ipc)
        .map_err(|e| Error::config(&key, format!("corrupt group keys: {e}")))?;
    Ok(state)
}

/// Row audits add up: per table, the rows used and dropped are the rows read, and no table
/// appears twice (a crafted audit must not report negative drops after a merge).
fn check_audits(audits: &[TableAudit]) -> std::result::Result<(), String> {
    let mut tables = HashSet::new();
    for audit in audits {
        if !tables.insert(audit.table.as_str()) {
            return Err(format!("two audits of {:?}", audit.table));
        }
        let accounted = audit
            .dropped
            .values()
            .try_fold(audit.rows_used as u64, |sum, &n| sum.checked_add(n));
        if accounted != Some(audit.rows_read as u64) {
            return Err(format!(
                "the row audit of {:?} does not add up",
                audit.table
            ));
        }
    }
    Ok(())
}

/// How Arrow's reader slices one key column out of a record batch: how many buffers it
/// takes, and the width in bytes of the items of each (None: bits, or no items).
#[derive(Debug, Clone, Copy)]
struct KeyLayout {
    widths: &'static [Option<usize>],
}

/// The group keys' schema holds only the plain types a key column has (partial states
/// write keys as `plain_key_column` makes them), each with the parameters Arrow's reader
/// can turn into a type: the reader unwraps and panics on anything else. Returns each
/// column's layout.
fn check_key_schema(schema: arrow_ipc::Schema) -> std::result::Result<Vec<KeyLayout>, String> {
    use arrow_ipc::{DateUnit, Precision, TimeUnit, Type};
    const NULL: &[Option<usize>] = &[];
    const BITS: &[Option<usize>] = &[None, None];
    const W2: &[Option<usize>] = &[None, Some(2)];
    const W4: &[Option<usize>] = &[None, Some(4)];
    const W8: &[Option<usize>] = &[None, Some(8)];
    const W1: &[Option<usize>] = &[None, Some(1)];
    const TEXT: &[Option<usize>] = &[None, Some(4), Some(1)];
    const LARGE_TEXT: &[Option<usize>] = &[None, Some(8), Some(1)];
    let unsupported = || "a group key of a type partial states do not write".to_owned();
    let fields = schema.fields().ok_or("a schema without fields")?;
    let mut layouts = Vec::with_capacity(fields.len());
    for field in fields {
        if field.dictionary().is_some() || field.children().is_some_and(|c| !c.is_empty()) {
            return Err(unsupported());
        }
        let known_unit = |unit: TimeUnit| {
            matches!(
                unit,
                TimeUnit::SECOND
                    | TimeUnit::MILLISECOND
                    | TimeUnit::MICROSECOND
                    | TimeUnit::NANOSECOND
            )
        };
        let widths = match field.type_type() {
            Type::Null => Some(NULL),
            Type::Bool => Some(BITS),
            Type::Utf8 | Type::Binary => Some(TEXT),
            Type::LargeUtf8 | Type::LargeBinary => Some(LARGE_TEXT),
            Type::Int => field.type_as_int().and_then(|i| match i.bitWidth() {
                8 => Some(W1),
                16 => Some(W2),
                32 => Some(W4),
                64 => Some(W8),
                _ => None,
            }),
            Type::FloatingPoint => {
                field
                    .type_as_floating_point()
                    .and_then(|f| match f.precision() {
                        Precision::HALF => Some(W2),
                        Precision::SINGLE => Some(W4),
                        Precision::DOUBLE => Some(W8),
                        _ => None,
                    })
            }
            Type::Date => field.type_as_date().and_then(|d| match d.unit() {
                DateUnit::DAY => Some(W4),
                DateUnit::MILLISECOND => Some(W8),
                _ => None,
            }),
            Type::Timestamp => field
                .type_as_timestamp()
                .filter(|t| known_unit(t.unit()))
                .map(|_| W8),
            Type::Duration => field
                .type_as_duration()
                .filter(|d| known_unit(d.unit()))
                .map(|_| W8),
            Type::Time => field
                .type_as_time()
                .and_then(|t| match (t.bitWidth(), t.unit()) {
                    (32, TimeUnit::SECOND | TimeUnit::MILLISECOND) => Some(W4),
                    (64, TimeUnit::MICROSECOND | TimeUnit::NANOSECOND) => Some(W8),
                    _ => None,
                }),
            _ => None,
        };
        layouts.push(KeyLayout {
            widths: widths.ok_or_else(unsupported)?,
        });
    }
    Ok(layouts)
}

/// A record batch of group keys as Arrow's reader will slice it: one node per column,
/// the buffers each column type takes (none for Null, validity + offsets + values for
/// text and binary, validity + values otherwise), every buffer inside the body, and a
/// validity buffer long enough for its column wherever there are nulls (the reader
/// builds the validity bitmap before it validates anything, and panics on a short one).
fn check_key_batch(
    batch: arrow_ipc::RecordBatch,
    layouts: &[KeyLayout],
    body: usize,
) -> std::result::Result<(), String> {
    let nodes = batch.nodes().ok_or("a record batch without nodes")?;
    let buffers = batch.buffers().ok_or("a record batch without buffers")?;
    if nodes.len() != layouts.len() {
        return Err("a record batch whose columns differ from its schema".to_owned());
    }
    let mut next = 0usize;
    for (node, layout) in nodes.iter().zip(layouts) {
        let (length, nulls) = (node.length(), node.null_count());
        if !(0..=i64::from(i32::MAX)).contains(&length) || !(0..=length).contains(&nulls) {
            return Err("a column length out of range".to_owned());
        }
        for (k, width) in layout.widths.iter().enumerate() {
            if next >= buffers.len() {
                return Err("fewer buffers than columns need".to_owned());
            }
            let buffer = buffers.get(next);
            next += 1;
            let (offset, size) = (buffer.offset(), buffer.length());
            let end = usize::try_from(offset)
                .ok()
                .zip(usize::try_from(size).ok())
                .and_then(|(offset, size)| offset.checked_add(size));
            if end.is_none_or(|end| end > body) {
                return Err("a buffer outside its message body".to_owned());
            }
            if k == 0 && nulls > 0 && size.saturating_mul(8) < length {
                return Err("a validity buffer shorter than its column".to_owned());
            }
            // Typed views of a buffer (offsets, values) need whole items.
            if width.is_some_and(|w| size % w as i64 != 0) {
                return Err("a buffer of a partial item".to_owned());
            }
        }
    }
    if next != buffers.len() {
        return Err("more buffers than columns need".to_owned());
    }
    Ok(())
}

/// Walks the messages of an Arrow IPC stream without reading them: every declared
/// metadata and body length must fit in the bytes that are there, so the reader never
/// allocates for a length the stream only claims.
fn check_ipc_framing(bytes: &[u8]) -> std::result::Result<(), String> {
    const CONTINUATION: [u8; 4] = [0xff; 4];
    if bytes.is_empty() {
        // No group_by: no keys at all.
        return Ok(());
    }
    let mut at = 0usize;
    // The column layouts of the schema message, for the record batches after it.
    let mut layouts: Vec<KeyLayout> = Vec::new();
    let read_i32 = |at: usize| -> Option<i32> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    while at < bytes.len() {
        if bytes.get(at..at + 4) == Some(&CONTINUATION[..]) {
            at += 4;
        }
        let len = read_i32(at).ok_or("truncated message length")?;
        at += 4;
        if len == 0 {
            // End of stream.
            return if at == bytes.len() {
                Ok(())
            } else {
                Err("bytes after the end of the stream".to_owned())
            };
        }
        let len = usize::try_from(len).map_err(|_| "negative message length")?;
        let metadata = bytes
            .get(at..at.checked_add(len).ok_or("message length overflows")?)
            .ok_or("message length past the end of the stream")?;
        let message =
            arrow_ipc::root_as_message(metadata).map_err(|e| format!("unreadable message: {e}"))?;
        at += len;
        let body = usize::try_from(message.bodyLength()).map_err(|_| "negative body length")?;
        if let Some(schema) = message.header_as_schema() {
            layouts = check_key_schema(schema)?;
        } else if message.header_as_dictionary_batch().is_some() {
            return Err("dictionary batches in group keys".to_owned());
        } else if let Some(batch) = message.header_as_record_batch() {
            check_key_batch(batch, &layouts, body)?;
        }
        at = at
            .checked_add(body)
            .filter(|&end| end <= bytes.len())
            .ok_or("message body past the end of the stream")?;
    }
    Err("stream without its end marker".to_owned())
}

/// The options a partial state was computed with.
pub fn options_of(state: &[u8]) -> Result<Options> {
    Options::from_json(&decode(state, 0)?.options_json)
}

/// Whether every table of a decoded state has the size its grid and groups imply (a
/// corrupt or hand-made state must not index out of bounds).
fn shape_ok(state: &PartialState) -> bool {
    // Far more groups than any scorecard has; guards allocations sized by n_groups.
    const MAX_GROUPS: usize = 1 << 24;
    if state.n_groups > MAX_GROUPS {
        return false;
    }
    let Some(g) = &state.grid else {
        return true;
    };
    let n_groups = state.n_groups;
    let n_days = g.totals.len();
    let n_periods = g.period_first_day.len().saturating_sub(1);
    let sized = |len: usize, n: usize| n.checked_mul(n_groups) == Some(len);
    let days_ok = g.period_first_day.first() == Some(&0)
        && g.period_first_day.windows(2).all(|w| w[0] < w[1])
        && g.period_first_day.last() == Some(&n_days);
    let cells = n_periods * n_groups;
    let breakdowns_ok = g.breakdowns.values().all(|b| {
        let n_values = b.values.len();
        let table_ok = |t: &Option<Vec<Vec<u64>>>, len: usize| {
            t.as_ref()
                .is_none_or(|t| t.len() == n_values && t.iter().all(|v| v.len() == len))
        };
        let distinct = b.values.iter().collect::<HashSet<_>>().len() == n_values;
        distinct
            && b.n_groups == n_groups
            && b.n_periods == n_periods
            && table_ok(&b.contacts, cells)
            && table_ok(&b.preventable, cells)
            && table_ok(&b.orders, n_periods)
            // Sessions are added at the merge, never carried.
            && b.sessions.is_none()
    });
    g.first <= g.last
        && days_ok
        && sized(g.states.len(), n_days)
        && g.values.len() == g.states.len()
        && sized(g.repurchase.len(), n_periods)
        && g.per_period.len() == n_periods
        && g.baseline_windows.len() == n_periods
        && sized(g.baseline_backlog.len(), n_periods)
        && breakdowns_ok
}

/// Where one slice's groups land among the merged groups, and the merged group keys.
fn merge_groups(
    parts: &[PartialState],
    group_by: &[String],
) -> Result<(Vec<Vec<u32>>, KeyColumns)> {
    if group_by.is_empty() {
        return Ok((
            parts.iter().map(|p| vec![0; p.n_groups]).collect(),
            Vec::new(),
        ));
    }
    let decoded: Vec<Vec<(String, ArrayRef)>> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| decode_keys(&p.group_keys_ipc, i))
        .collect::<Result<_>>()?;
    let mut keys = Vec::with_capacity(group_by.len());
    for (c, name) in group_by.iter().enumerate() {
        let columns: Vec<&ArrayRef> = decoded
            .iter()
            .filter_map(|k| k.get(c))
            .map(|(_, a)| a)
            .collect();
        if columns.len() != decoded.len() {
            return Err(Error::config(
                "states",
                format!("corrupt partial state: group keys without the column {name:?}"),
            ));
        }
        let target = common_key_type(&columns, name)?;
        // Casts that cannot hold a value fail (safe = false) rather than turn it null.
        let strict = arrow_cast::CastOptions {
            safe: false,
            ..Default::default()
        };
        let cast: Vec<ArrayRef> = columns
            .iter()
            .map(|a| {
                arrow_cast::cast_with_options(a.as_ref(), &target, &strict).map_err(|e| {
                    Error::schema(
                        "contacts",
                        name,
                        format!("group_by values of the partitions do not fit {target}: {e}"),
                    )
                })
            })
            .collect::<Result<_>>()?;
        let refs: Vec<&dyn arrow_array::Array> = cast.iter().map(|a| a.as_ref()).collect();
        let all = arrow_select::concat::concat(&refs)
            .map_err(|e| Error::schema("contacts", name, e.to_string()))?;
        keys.push((name.clone(), all));
    }
    let (codes, distinct) = distinct_sorted_keys(&keys)?;
    let mut maps = Vec::with_capacity(parts.len());
    let mut at = 0;
    for (p, k) in parts.iter().zip(&decoded) {
        let n = k.first().map_or(0, |(_, a)| a.len());
        if n != p.n_groups {
            return Err(Error::config(
                "states",
                "corrupt partial state: group count",
            ));
        }
        maps.push(codes[at..at + n].to_vec());
        at += n;
    }
    Ok((maps, distinct))
}

/// The type the slices' key columns merge to without loss: their one type, ignoring
/// columns without a value (an all-null pandas partition is often float64); Int64 for
/// integers of several widths. Anything else (text in one slice, integers in another; 1.5
/// beside 1) is a SchemaError naming both types.
fn common_key_type(columns: &[&ArrayRef], name: &str) -> Result<DataType> {
    let mut types: Vec<&DataType> = columns
        .iter()
        .filter(|a| a.null_count() < a.len())
        .map(|a| a.data_type())
        .collect();
    types.dedup();
    let mut distinct: Vec<&DataType> = Vec::new();
    for t in types {
        if !distinct.contains(&t) {
            distinct.push(t);
        }
    }
    match distinct.as_slice() {
        [] => Ok(columns
            .first()
            .map_or(DataType::Null, |a| a.data_type().clone())),
        [one] => Ok((*one).clone()),
        many if many
            .iter()
            .all(|t| t.is_integer() && **t != DataType::UInt64) =>
        {
            Ok(DataType::Int64)
        }
        [a, b, ..] => Err(Error::schema(
            "contacts",
            name,
            format!(
                "the group_by column is {a} in one partition and {b} in another; give it one \
                 type in every partition (e.g. .astype(\"string\") before partitioning)"
            ),
        )),
    }
}

/// Row audits added up per table, in order of first appearance.
fn merge_audits(parts: &[PartialState]) -> Vec<TableAudit> {
    let mut merged: Vec<TableAudit> = Vec::new();
    for audit in parts.iter().flat_map(|p| &p.audits) {
        match merged.iter_mut().find(|m| m.table == audit.table) {
            Some(m) => {
                m.rows_read += audit.rows_read;
                m.rows_used += audit.rows_used;
                for (reason, n) in &audit.dropped {
                    *m.dropped.entry(reason.clone()).or_insert(0) += n;
                }
            }
            None => merged.push(audit.clone()),
        }
    }
    merged
}

/// Adds one slice's grid into the merged one.
fn absorb(
    grid: &mut Grid,
    part: &PartialGrid,
    group_map: &[u32],
    window_sums: &mut HashMap<(i64, i64), Vec<(u64, i128)>>,
) -> Result<()> {
    let calendar = &grid.calendar;
    let n_days = calendar.n_days();
    let n_groups = grid.daily.n_groups;
    let part_groups = group_map.len();
    let first_date = (calendar.first_date - epoch()).num_days();
    let offset = part
        .first_date
        .checked_sub(first_date)
        .and_then(|d| usize::try_from(d).ok())
        .ok_or_else(|| Error::config("states", "corrupt partial state: starts before the data"))?;
    for (d, totals) in part.totals.iter().enumerate() {
        let day = d + offset;
        if day >= n_days {
            // Only a slice's padding runs past the merged grid.
            break;
        }
        grid.daily.totals[day].add(totals);
        for (g, &to) in group_map.iter().enumerate() {
            let k = day * n_groups + to as usize;
            grid.daily.states[k].add(&part.states[d * part_groups + g]);
            grid.daily.values[k].extend(&part.values[d * part_groups + g]);
        }
    }
    let n_periods = part.period_first_day.len() - 1;
    let mut period_map: Vec<Option<usize>> = Vec::with_capacity(n_periods);
    for p in 0..n_periods {
        let day = offset + part.period_first_day[p];
        if day >= n_days {
            period_map.push(None);
            continue;
        }
        let to = calendar.period_of_day[day] as usize;
        if calendar.period_first_day[to] != day {
            return Err(Error::config(
                "states",
                "partial states have different period boundaries (same by= and tz= needed)",
            ));
        }
        period_map.push(Some(to));
    }
    let mut seen = HashSet::new();
    for (p, to) in period_map.iter().enumerate() {
        if let Some(to) = *to {
            grid.per_period[to].add(&part.per_period[p]);
            for (g, &gt) in group_map.iter().enumerate() {
                grid.repurchase[to * n_groups + gt as usize]
                    .add(&part.repurchase[p * part_groups + g]);
            }
        }
        // A fixed baseline range repeats one window for every period: count it once.
        let window = part.baseline_windows[p];
        if seen.insert(window) {
            let sums = window_sums
                .entry(window)
                .or_insert_with(|| vec![(0, 0); n_groups]);
            for (g, &gt) in group_map.iter().enumerate() {
                let (open, age) = part.baseline_backlog[p * part_groups + g];
                sums[gt as usize].0 += open;
                sums[gt as usize].1 += age;
            }
        }
    }
    for (dim, b) in &part.breakdowns {
        let merged = grid
            .breakdowns
            .entry(dim.clone())
            .or_insert_with(|| Breakdown::empty(n_groups, grid.calendar.n_periods()));
        merged.absorb(b, &period_map, group_map);
    }
    Ok(())
}

/// The view state of the union of the slices; `extend` lengthens the grid as a partial
/// state's is (for [`combine`]).
fn merged_view(states: &[&[u8]], extend: bool) -> Result<(ViewState, Options, Settings, Vec<u64>)> {
    if states.is_empty() {
        return Err(Error::config("states", "no partial states to merge"));
    }
    let parts: Vec<PartialState> = states
        .iter()
        .enumerate()
        .map(|(i, s)| decode(s, i))
        .collect::<Result<_>>()?;
    let options = Options::from_json(&parts[0].options_json)?;
    for (i, part) in parts.iter().enumerate().skip(1) {
        if Options::from_json(&part.options_json)? != options {
            return Err(Error::config(
                "states",
                format!(
                    "states[{i}] was computed with other options than states[0]; every \
                     partial of one merge needs the same options"
                ),
            ));
        }
        if part.contact_columns != parts[0].contact_columns {
            let differ: Vec<&String> = part
                .contact_columns
                .symmetric_difference(&parts[0].contact_columns)
                .collect();
            return Err(Error::schema(
                "contacts",
                differ.first().map_or("columns", |s| s.as_str()),
                format!(
                    "states[{i}] and states[0] were computed from contacts with different \
                     columns ({differ:?} in one only)"
                ),
            ));
        }
    }
    let mut held = HashMap::new();
    for (i, part) in parts.iter().enumerate() {
        if options.group_by.is_empty() && part.n_groups != 1 {
            return Err(Error::config(
                &format!("states[{i}]"),
                "corrupt partial state: groups without group_by",
            ));
        }
        for &slice in &part.slices {
            if let Some(j) = held.insert(slice, i) {
                return Err(Error::config(
                    "states",
                    format!(
                        "states[{j}] and states[{i}] hold the same slice of customers; merging \
                         it twice would count it twice"
                    ),
                ));
            }
        }
    }
    let as_ofs: BTreeSet<i64> = parts.iter().filter_map(|p| p.as_of).collect();
    if as_ofs.len() > 1 {
        return Err(Error::config(
            "as_of",
            format!(
                "partial states were computed with {} different as_of values; pass the \
                 same as_of= to every sk.partial call (supportkpi.dask and supportkpi.spark \
                 compute the global one first)",
                as_ofs.len()
            ),
        ));
    }
    let mut settings = options.settings()?;
    // A state's own options cannot raise the memory limit: they are data, not the
    // caller's configuration. The merge and everything after it use the default budget.
    settings.config.limits = Limits::default();
    let (group_maps, group_keys) = merge_groups(&parts, &options.group_by)?;
    let n_groups = if options.group_by.is_empty() {
        1
    } else {
        group_keys.first().map_or(0, |(_, a)| a.len())
    };
    let audits = merge_audits(&parts);
    let extension = if extend {
        partial_extension(&settings)
    } else {
        0
    };
    let grids: Vec<(&PartialGrid, &Vec<u32>)> = parts
        .iter()
        .zip(&group_maps)
        .filter_map(|(p, m)| p.grid.as_ref().map(|g| (g, m)))
        .collect();
    // Rows were checked against the plausible range; a state outside it is corrupt (and
    // would size the merged grid by it).
    let (earliest, latest) = settings.config.timestamps.bounds()?;
    if grids
        .iter()
        .any(|(g, _)| g.first < earliest || g.last > latest)
    {
        return Err(Error::config(
            "states",
            "corrupt partial state: data outside the plausible range of timestamps",
        ));
    }
    let grid = match grids.iter().map(|(g, _)| g.as_of).next() {
        None => None,
        Some(as_of) => {
            let first = grids.iter().map(|(g, _)| g.first).min().unwrap_or(as_of);
            let last = grids.iter().map(|(g, _)| g.last).max().unwrap_or(as_of);
            let calendar = Calendar::covering(
                settings.tz,
                settings.kind,
                first,
                last.saturating_add(extension),
            );
            let n_days = calendar.n_days();
            let n_periods = calendar.n_periods();
            // The merged grid spans every slice's days for the union of their groups: sized
            // before it is allocated, as a local view is.
            let slice_values = grids
                .iter()
                .flat_map(|(g, _)| g.breakdowns.iter())
                .flat_map(|(dim, b)| b.values.iter().map(move |v| (dim, v)))
                .collect::<HashSet<_>>()
                .len();
            let shape = ViewShape::new(&calendar, n_groups, slice_values);
            limits::check(&shape, &settings.config.limits, limits::input_rows(&audits))?;
            let mut grid = Grid {
                first,
                last,
                as_of,
                daily: Daily {
                    states: vec![ContactState::default(); n_days * n_groups],
                    values: vec![CellValues::default(); n_days * n_groups],
                    totals: vec![DayTotals::default(); n_days],
                    n_groups,
                },
                repurchase: vec![RepurchaseState::default(); n_periods * n_groups],
                per_period: vec![PeriodCustomerState::default(); n_periods],
                baseline_windows: baseline_windows(&calendar, &settings),
                baseline_backlog: Vec::new(),
                breakdowns: BTreeMap::new(),
                calendar,
            };
            let mut window_sums = HashMap::new();
            for (part, map) in &grids {
                absorb(&mut grid, part, map, &mut window_sums)?;
            }
            grid.baseline_backlog = grid
                .baseline_windows
                .iter()
                .flat_map(|w| match window_sums.get(w) {
                    Some(sums) => sums.clone(),
                    None => vec![(0, 0); n_groups],
                })
                .collect();
            Some(grid)
        }
    };
    let view = ViewState {
        group_keys,
        n_groups,
        contact_columns: parts[0].contact_columns.clone(),
        has_cost: parts[0].has_cost,
        audits,
        as_of: as_ofs.first().copied(),
        grid,
    };
    let mut slices: Vec<u64> = held.into_keys().collect();
    slices.sort_unstable();
    Ok((view, options, settings, slices))
}

/// Merges partial states into one partial state (for tree reductions: merging is
/// associative and commutative).
pub fn combine(states: &[&[u8]]) -> Result<Vec<u8>> {
    let (view, options, _, slices) = merged_view(states, true)?;
    encode(view, &options, slices)
}

/// Merges partial states into the scorecard; sessions and events are given here.
pub fn merge(
    states: &[&[u8]],
    sessions_table: Option<&TableInput>,
    events_table: Option<&TableInput>,
) -> Result<Scorecard> {
    let (mut view, options, settings, _) = merged_view(states, false)?;
    let (sessions, events, audits) =
        read_calendar_tables(sessions_table, events_table, &options, &settings)?;
    view.audits.extend(audits);
    let sessions = sessions_table.zip(sessions.as_ref());
    finish(view, &options, &settings, sessions, &events)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray, TimestampMicrosecondArray};

    use super::*;
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
}
