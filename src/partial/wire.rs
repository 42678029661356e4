//! Checks of partial-state bytes before anything is built from them (they are untrusted):
//! the group keys' Arrow IPC stream walked and its schema and batches checked, audits that
//! add up, sizes that agree.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};

use crate::error::{Error, Result};
use crate::ingest::TableAudit;

pub(super) fn encode_keys(keys: &[(String, ArrayRef)]) -> Result<Vec<u8>> {
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

pub(super) fn decode_keys(bytes: &[u8], which: usize) -> Result<Vec<(String, ArrayRef)>> {
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

/// Row audits add up: per table, the rows used and dropped are the rows read, and no table
/// appears twice (a crafted audit must not report negative drops after a merge).
pub(super) fn check_audits(audits: &[TableAudit]) -> std::result::Result<(), String> {
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
pub(super) struct KeyLayout {
    widths: &'static [Option<usize>],
}

/// The group keys' schema holds only the plain types a key column has (partial states
/// write keys as `plain_key_column` makes them), each with the parameters Arrow's reader
/// can turn into a type: the reader unwraps and panics on anything else. Returns each
/// column's layout.
pub(super) fn check_key_schema(
    schema: arrow_ipc::Schema,
) -> std::result::Result<Vec<KeyLayout>, String> {
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
pub(super) fn check_key_batch(
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
pub(super) fn check_ipc_framing(bytes: &[u8]) -> std::result::Result<(), String> {
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
