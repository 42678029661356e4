//! The three input tables (SPEC §1) read into flat columns, validated, with customer ids
//! interned into dense codes shared by contacts and orders.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::columns::{
    chunked_len, compact, read_bools, read_coded, read_ids, read_numbers, read_timestamps,
    render_ts, CodedStrings, IdColumn, ReadError, NULL_CODE, NULL_TS,
};
use super::scales::Scales;
use crate::error::{BadValue, Error, Result, RowRef};
use crate::time::MICROS_PER_DAY;

/// Customer code sentinel for anonymous rows (null customer_id).
pub const ANONYMOUS: u32 = u32::MAX;

/// Reads one column of a table that is read on demand: the column's chunks, or why the read
/// failed. The binding implements it over a Parquet file (see [`TableInput::on_demand`]).
pub type ColumnLoader =
    Arc<dyn Fn(&str) -> std::result::Result<Vec<ArrayRef>, String> + Send + Sync>;

/// Where a table's columns come from.
#[derive(Clone)]
enum Columns {
    /// Batches in memory, in order.
    Batches(Vec<RecordBatch>),
    /// A file read one column at a time, when the column is needed. Nothing is kept: the
    /// engine holds its own compact copy of what it read, so the file's Arrow data never
    /// sits in memory whole next to it.
    OnDemand { rows: usize, load: ColumnLoader },
}

/// One input table as Arrow batches (or a file read on demand), with the user's renaming
/// (`ours -> theirs`). Cloning is cheap: the arrays are shared.
#[derive(Clone)]
pub struct TableInput {
    /// Table name for messages: contacts, orders or sessions.
    pub name: &'static str,
    /// The schema of the stream.
    pub schema: SchemaRef,
    columns: Columns,
    /// Our column name -> the user's column name.
    pub rename: HashMap<String, String>,
}

impl TableInput {
    /// A table from batches.
    pub fn new(
        name: &'static str,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        rename: HashMap<String, String>,
    ) -> Self {
        TableInput {
            name,
            schema,
            columns: Columns::Batches(batches),
            rename,
        }
    }

    /// A table of one batch from named columns, without renaming (tests, benches and fuzz
    /// targets build their inputs this way). Columns of unequal length are an error.
    pub fn from_columns(name: &'static str, columns: Vec<(&str, ArrayRef)>) -> Result<Self> {
        let schema = Arc::new(arrow_schema::Schema::new(
            columns
                .iter()
                .map(|(n, a)| arrow_schema::Field::new(*n, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        let batch = RecordBatch::try_new(
            schema.clone(),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .map_err(|e| Error::arrow(format!("building {name}"), e))?;
        Ok(TableInput::new(name, schema, vec![batch], HashMap::new()))
    }

    /// A table of `rows` rows whose columns `load` reads when they are needed (each time
    /// they are needed: a view grouping by a column reads it again).
    pub fn on_demand(
        name: &'static str,
        schema: SchemaRef,
        rows: usize,
        load: ColumnLoader,
        rename: HashMap<String, String>,
    ) -> Self {
        TableInput {
            name,
            schema,
            columns: Columns::OnDemand { rows, load },
            rename,
        }
    }

    /// Number of rows over all batches.
    pub fn num_rows(&self) -> usize {
        match &self.columns {
            Columns::Batches(batches) => batches.iter().map(|b| b.num_rows()).sum(),
            Columns::OnDemand { rows, .. } => *rows,
        }
    }

    /// The user's name for our column `ours`.
    pub fn source_name<'a>(&'a self, ours: &'a str) -> &'a str {
        self.rename.get(ours).map_or(ours, |s| s.as_str())
    }

    /// Whether the column is present.
    pub fn has(&self, ours: &str) -> bool {
        self.schema.index_of(self.source_name(ours)).is_ok()
    }

    /// Column names must be unique (a second column of one name, from a CSV header or a
    /// hand-built Arrow schema, would be silently ignored), and every renaming must point
    /// at a real column (a typo in `columns=` would otherwise silently drop an optional
    /// input).
    pub fn check_columns(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for field in self.schema.fields() {
            if !seen.insert(field.name().as_str()) {
                return Err(Error::schema(
                    self.name,
                    field.name(),
                    format!(
                        "the table has two columns named {:?}; rename or drop one",
                        field.name()
                    ),
                ));
            }
        }
        let mut pairs: Vec<_> = self.rename.iter().collect();
        pairs.sort();
        for (ours, theirs) in pairs {
            if self.schema.index_of(theirs).is_err() {
                return Err(Error::schema(
                    self.name,
                    ours,
                    format!(
                        "columns= maps it to {theirs:?}, which is not a column of {}; columns: {}",
                        self.name,
                        self.column_list()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn column_list(&self) -> String {
        let names: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        names.join(", ")
    }

    /// The chunks of a column if present (read from the file for an on-demand table).
    pub fn column(&self, ours: &str) -> Result<Option<Vec<ArrayRef>>> {
        let theirs = self.source_name(ours);
        let Ok(index) = self.schema.index_of(theirs) else {
            return Ok(None);
        };
        match &self.columns {
            Columns::Batches(batches) => Ok(Some(
                batches.iter().map(|b| b.column(index).clone()).collect(),
            )),
            Columns::OnDemand { rows, load } => {
                let failed = |message: String| {
                    Error::arrow(format!("reading {} column {theirs:?}", self.name), message)
                };
                let chunks = load(theirs).map_err(failed)?;
                let read = chunked_len(&chunks);
                if read != *rows {
                    // The file changed after it was opened: its rows no longer line up with
                    // the rows already read.
                    return Err(failed(format!(
                        "{read} rows where the table had {rows}; did the file change?"
                    )));
                }
                Ok(Some(chunks))
            }
        }
    }

    /// The chunks of a required column, or a `SchemaError` listing what is there.
    pub fn require(&self, ours: &str) -> Result<Vec<ArrayRef>> {
        self.column(ours)?.ok_or_else(|| {
            let mapped = match self.rename.get(ours) {
                Some(theirs) => format!(" (mapped from {theirs:?})"),
                None => String::new(),
            };
            Error::schema(
                self.name,
                ours,
                format!(
                    "required column{mapped} is missing; columns present: {}; map your \
                     names with columns={{\"{ours}\": \"<your column>\"}}",
                    self.column_list()
                ),
            )
        })
    }

    /// The values of a column read as `chunks` at input positions `rows`, as one array of
    /// the column's type. Only the taken rows are copied (the chunks are not joined first).
    pub fn take_chunk_rows(
        &self,
        ours: &str,
        chunks: &[ArrayRef],
        rows: &[u32],
    ) -> Result<ArrayRef> {
        let starts: Vec<usize> = chunks
            .iter()
            .scan(0usize, |next, chunk| {
                let start = *next;
                *next += chunk.len();
                Some(start)
            })
            .collect();
        let mut pieces = Vec::with_capacity(rows.len());
        for &row in rows {
            let row = row as usize;
            // The last chunk starting at or before the row holds it (empty chunks before
            // it share its start).
            let k = starts.partition_point(|&start| start <= row);
            let Some(k) = k
                .checked_sub(1)
                .filter(|&k| row < starts[k] + chunks[k].len())
            else {
                return Err(Error::schema(
                    self.name,
                    ours,
                    format!(
                        "row {row} is beyond the column's {} rows",
                        chunked_len(chunks)
                    ),
                ));
            };
            pieces.push(chunks[k].slice(row - starts[k], 1));
        }
        self.concat_chunks(ours, &pieces)
    }

    /// A column's chunks (from [`TableInput::column`]) as one array, for taking values back
    /// out by row.
    pub fn concat_chunks(&self, ours: &str, chunks: &[ArrayRef]) -> Result<ArrayRef> {
        match chunks {
            [one] => Ok(one.clone()),
            [] => {
                let index = self
                    .schema
                    .index_of(self.source_name(ours))
                    .map_err(|e| Error::schema(self.name, ours, e.to_string()))?;
                let field = self.schema.field(index);
                Ok(arrow_array::new_empty_array(field.data_type()))
            }
            _ => {
                let refs: Vec<&dyn Array> = chunks.iter().map(|a| a.as_ref()).collect();
                arrow_select::concat::concat(&refs)
                    .map_err(|e| Error::schema(self.name, ours, e.to_string()))
            }
        }
    }
}

/// What to do with rows that break the input contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnInvalid {
    /// Raise a `DataError` naming the first offending row.
    #[default]
    Raise,
    /// Drop offending rows and count them per reason in the row audit.
    Drop,
}

/// Rows read, used and dropped (by reason) of one table.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct TableAudit {
    /// Table name.
    pub table: String,
    /// Rows in the input.
    pub rows_read: usize,
    /// Rows the computation used.
    pub rows_used: usize,
    /// Rows dropped, by reason ("column: message"); each dropped row counts once, under the
    /// first rule it broke.
    pub dropped: std::collections::BTreeMap<String, u64>,
}

/// Rows per block of [`bad_rows`]: a block is scanned by a plain loop.
const CHECK_BLOCK_ROWS: usize = 1 << 15;

/// The rows where `is_bad` returns something, in row order (only the first with
/// `first_only`). Fixed blocks of rows are scanned in parallel, each by a plain loop: a
/// per-row parallel find costs several times the compare it guards, and a load of 10M
/// rows runs a dozen checks.
fn bad_rows<T: Send>(
    rows: usize,
    first_only: bool,
    is_bad: impl Fn(usize) -> Option<T> + Sync,
) -> Vec<(usize, T)> {
    let block_rows = |b: usize| b * CHECK_BLOCK_ROWS..((b + 1) * CHECK_BLOCK_ROWS).min(rows);
    let blocks = 0..rows.div_ceil(CHECK_BLOCK_ROWS);
    let bad_in = |b: usize| block_rows(b).filter_map(|row| is_bad(row).map(|found| (row, found)));
    if first_only {
        blocks
            .into_par_iter()
            .find_map_first(|b| bad_in(b).next())
            .into_iter()
            .collect()
    } else {
        blocks
            .into_par_iter()
            .flat_map_iter(|b| bad_in(b).collect::<Vec<_>>())
            .collect()
    }
}

/// Collects bad rows of one table: the first one becomes a `DataError` (raise), or every one
/// is marked for dropping with its reason (drop).
struct RowIssues<'a> {
    table: &'static str,
    ids: Option<&'a IdColumn>,
    mode: OnInvalid,
    /// Per row: index into `reasons` of the first rule it broke, or u32::MAX.
    reason_of_row: Vec<u32>,
    reasons: Vec<(String, u64)>,
}

impl<'a> RowIssues<'a> {
    fn new(table: &'static str, ids: Option<&'a IdColumn>, rows: usize, mode: OnInvalid) -> Self {
        RowIssues {
            table,
            ids,
            mode,
            reason_of_row: if mode == OnInvalid::Drop {
                vec![u32::MAX; rows]
            } else {
                Vec::new()
            },
            reasons: Vec::new(),
        }
    }

    /// Reports a bad row.
    fn flag(
        &mut self,
        column: &str,
        message: &str,
        row: usize,
        detail: impl FnOnce() -> String,
    ) -> Result<()> {
        match self.mode {
            OnInvalid::Raise => Err(bad_value(
                self.table,
                column,
                self.ids,
                BadValue {
                    position: row,
                    message: message.to_owned(),
                    detail: detail(),
                },
            )),
            OnInvalid::Drop => {
                if self.reason_of_row[row] == u32::MAX {
                    let reason = format!("{column}: {message}");
                    let k = match self.reasons.iter().position(|(r, _)| *r == reason) {
                        Some(k) => k,
                        None => {
                            self.reasons.push((reason, 0));
                            self.reasons.len() - 1
                        }
                    };
                    self.reasons[k].1 += 1;
                    self.reason_of_row[row] = k as u32;
                }
                Ok(())
            }
        }
    }

    /// Checks every row with `is_bad` (which returns the offending value, rendered); the
    /// bad ones are flagged in row order, so the error raised names the first bad row, as a
    /// serial scan would.
    fn check(
        &mut self,
        column: &str,
        message: &str,
        rows: usize,
        is_bad: impl Fn(usize) -> Option<String> + Sync,
    ) -> Result<()> {
        for (row, detail) in bad_rows(rows, self.mode == OnInvalid::Raise, is_bad) {
            self.flag(column, message, row, || detail)?;
        }
        Ok(())
    }

    /// Flags rows whose own id could not be read, naming the raw id value instead.
    fn flag_unreadable_ids(
        &mut self,
        column: &str,
        message: &str,
        rows: &[(usize, String)],
    ) -> Result<()> {
        for (row, raw) in rows {
            if self.mode == OnInvalid::Raise {
                return Err(Error::Data {
                    table: self.table.to_owned(),
                    column: column.to_owned(),
                    message: message.to_owned(),
                    row: Box::new(RowRef {
                        position: *row,
                        id: Some(raw.clone()),
                        detail: String::new(),
                    }),
                });
            }
            self.flag(column, message, *row, String::new)?;
        }
        Ok(())
    }

    /// Flags each listed row.
    fn flag_rows(&mut self, column: &str, message: &str, rows: &[usize]) -> Result<()> {
        for &row in rows {
            self.flag(column, message, row, String::new)?;
        }
        Ok(())
    }

    /// Rows whose id is null or repeats an earlier row's (the first occurrence is kept).
    fn check_ids(&mut self, column: &str, ids: &IdColumn) -> Result<()> {
        let (nulls, duplicates) = ids.nulls_and_duplicates(self.mode == OnInvalid::Raise);
        self.flag_rows(column, "ids must not be null", &nulls)?;
        self.flag_rows(
            column,
            "duplicate id: ids must be unique per row",
            &duplicates,
        )
    }

    /// Non-finite floats where the contract wants finite numbers.
    fn check_finite(&mut self, column: &str, values: &[f64], non_finite: &[usize]) -> Result<()> {
        for &row in non_finite {
            self.flag(
                column,
                "value must be finite (NaN or infinity found)",
                row,
                || format!("{column}={}", values[row]),
            )?;
        }
        Ok(())
    }

    /// Values outside [lo, hi] (NaN included: a NaN score is not a score).
    fn check_scale(
        &mut self,
        column: &str,
        values: &[f64],
        non_finite: &[usize],
        lo: f64,
        hi: f64,
    ) -> Result<()> {
        let message = format!("value outside the scale [{lo}, {hi}]");
        for &row in non_finite {
            self.flag(column, &message, row, || {
                format!("{column}={}", values[row])
            })?;
        }
        self.check(column, &message, values.len(), |i| {
            let v = values[i];
            (!v.is_nan() && (v < lo || v > hi)).then(|| format!("{column}={v}"))
        })
    }

    fn check_not_null_ts(&mut self, column: &str, ts: &[i64]) -> Result<()> {
        self.check(column, "must not be null", ts.len(), |i| {
            (ts[i] == NULL_TS).then(String::new)
        })
    }

    /// Flags timestamps outside the plausible range [earliest, latest) (nulls pass).
    fn check_plausible(&mut self, column: &str, ts: &[i64], range: (i64, i64)) -> Result<()> {
        let (earliest, latest) = range;
        let message = format!(
            "outside the plausible range {} to {} (config timestamps.earliest / latest)",
            render_ts(earliest),
            render_ts(latest)
        );
        self.check(column, &message, ts.len(), |i| {
            let t = ts[i];
            (t != NULL_TS && (t < earliest || t >= latest))
                .then(|| format!("{column}={}", render_ts(t)))
        })
    }

    fn check_not_before(&mut self, column: &str, later: &[i64], created: &[i64]) -> Result<()> {
        let message = format!("{column} is before created_at");
        self.check(column, &message, later.len(), |i| {
            (later[i] != NULL_TS && created[i] != NULL_TS && later[i] < created[i]).then(|| {
                format!(
                    "{column}={}, created_at={}",
                    render_ts(later[i]),
                    render_ts(created[i])
                )
            })
        })
    }

    /// The keep mask (None when nothing is dropped), the audit, and each row's reason.
    fn finish(self, rows: usize) -> (Option<Vec<bool>>, TableAudit, Vec<Option<String>>) {
        let dropped: u64 = self.reasons.iter().map(|(_, n)| n).sum();
        let audit = TableAudit {
            table: self.table.to_owned(),
            rows_read: rows,
            rows_used: rows - dropped as usize,
            dropped: self.reasons.iter().cloned().collect(),
        };
        if dropped == 0 {
            return (None, audit, Vec::new());
        }
        let keep = self.reason_of_row.iter().map(|&r| r == u32::MAX).collect();
        let reason_of_row = self
            .reason_of_row
            .iter()
            .map(|&r| (r != u32::MAX).then(|| self.reasons[r as usize].0.clone()))
            .collect();
        (Some(keep), audit, reason_of_row)
    }
}

/// Turns a column read failure into the user-facing error, with the row id for data errors.
fn read_failure(table: &str, column: &str, ids: Option<&IdColumn>, err: ReadError) -> Error {
    match err {
        ReadError::Type(message) => Error::schema(table, column, message),
        ReadError::Value(bad) => bad_value(table, column, ids, bad),
    }
}

fn bad_value(table: &str, column: &str, ids: Option<&IdColumn>, bad: BadValue) -> Error {
    Error::Data {
        table: table.to_owned(),
        column: column.to_owned(),
        message: bad.message,
        row: Box::new(RowRef {
            position: bad.position,
            id: ids.map(|ids| ids.render(bad.position)),
            detail: bad.detail,
        }),
    }
}

/// Reads a column that may be absent with `read`, mapping failures to typed errors.
fn optional<T>(
    table: &TableInput,
    column: &str,
    read: impl FnOnce(&[ArrayRef]) -> std::result::Result<T, ReadError>,
) -> Result<Option<T>> {
    match table.column(column)? {
        None => Ok(None),
        Some(chunks) => read(&chunks)
            .map(Some)
            .map_err(|e| read_failure(table.name, column, None, e)),
    }
}

fn required<T>(
    table: &TableInput,
    column: &str,
    read: impl FnOnce(&[ArrayRef]) -> std::result::Result<T, ReadError>,
) -> Result<T> {
    let chunks = table.require(column)?;
    read(&chunks).map_err(|e| read_failure(table.name, column, None, e))
}

fn compact_opt<T: Copy>(values: Option<Vec<T>>, keep: &[bool]) -> Option<Vec<T>> {
    values.map(|v| compact(v, keep))
}

fn positions(rows: &[(usize, String)]) -> Vec<usize> {
    rows.iter().map(|(row, _)| *row).collect()
}

fn source_rows(keep: &[bool]) -> Vec<u32> {
    keep.iter()
        .enumerate()
        .filter_map(|(i, &k)| k.then_some(i as u32))
        .collect()
}

/// First-line handling of a contact (SPEC §1 handled_by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HandledBy {
    /// null
    Unknown = 0,
    /// self_service
    SelfService = 1,
    /// ai
    Ai = 2,
    /// human
    Human = 3,
}

/// The path of a contact (SPEC §3.6): the same codes as [`HandledBy`], with escalated
/// self-service/AI contacts moved to human.
pub type Path = HandledBy;

impl HandledBy {
    /// The SPEC's name, or None for unknown.
    pub fn name(self) -> Option<&'static str> {
        match self {
            HandledBy::Unknown => None,
            HandledBy::SelfService => Some("self_service"),
            HandledBy::Ai => Some("ai"),
            HandledBy::Human => Some("human"),
        }
    }
}

/// Contacts, one entry per row in input order.
pub struct Contacts {
    /// Number of rows.
    pub len: usize,
    /// contact_id (unique, non-null). Empty once the customer index is built (see
    /// [`Joinable::release_index_keys`]).
    pub contact_id: IdColumn,
    /// Dense customer code, `ANONYMOUS` for null.
    pub customer: Vec<u32>,
    /// created_at, UTC µs.
    pub created_at: Vec<i64>,
    /// intent codes (absent column = None).
    pub intent: Option<CodedStrings>,
    /// handled_by (absent = None).
    pub handled_by: Option<Vec<HandledBy>>,
    /// escalated: 1 true, 0 false, -1 null (absent = None).
    pub escalated: Option<Vec<i8>>,
    /// first_response_at, UTC µs or NULL_TS.
    pub first_response_at: Option<Vec<i64>>,
    /// resolved_at, UTC µs or NULL_TS.
    pub resolved_at: Option<Vec<i64>>,
    /// handle_seconds, NaN for null.
    pub handle_seconds: Option<Vec<f64>>,
    /// touches, NaN for null.
    pub touches: Option<Vec<f64>>,
    /// csat, NaN for null.
    pub csat: Option<Vec<f64>>,
    /// nps, NaN for null.
    pub nps: Option<Vec<f64>>,
    /// ces, NaN for null.
    pub ces: Option<Vec<f64>>,
    /// cost, NaN for null.
    pub cost: Option<Vec<f64>>,
    /// resolution_correct: 1, 0, -1 null.
    pub resolution_correct: Option<Vec<i8>>,
    /// preventable override column: 1, 0, -1 null.
    pub preventable: Option<Vec<i8>>,
    /// Input position of each row when invalid rows were dropped (None: row i is input i).
    pub source_rows: Option<Vec<u32>>,
}

impl Contacts {
    /// The path of row `i` (SPEC §3.6); Unknown when handled_by is null or absent.
    pub fn path(&self, i: usize) -> Path {
        let Some(handled_by) = &self.handled_by else {
            return HandledBy::Unknown;
        };
        let escalated = self.escalated.as_ref().is_some_and(|e| e[i] == 1);
        match handled_by[i] {
            HandledBy::Unknown => HandledBy::Unknown,
            HandledBy::Human => HandledBy::Human,
            _ if escalated => HandledBy::Human,
            other => other,
        }
    }

    /// Whether row `i` is resolved (resolved_at present and non-null).
    pub fn is_resolved(&self, i: usize) -> bool {
        self.resolved_at.as_ref().is_some_and(|r| r[i] != NULL_TS)
    }

    /// Whether row `i` was escalated (null reads false, SPEC §8.11).
    pub fn is_escalated(&self, i: usize) -> bool {
        self.escalated.as_ref().is_some_and(|e| e[i] == 1)
    }
}

/// Orders, one entry per row in input order.
pub struct Orders {
    /// Number of rows.
    pub len: usize,
    /// Dense customer code, `ANONYMOUS` for null. Empty once the customer index is built
    /// (see [`Joinable::release_index_keys`]).
    pub customer: Vec<u32>,
    /// created_at, UTC µs.
    pub created_at: Vec<i64>,
    /// revenue (finite, non-null).
    pub revenue: Vec<f64>,
    /// refund + discount + appeasement + cogs of each order (absent or null = 0), or None
    /// when none of those columns is present.
    pub deductions: Option<Vec<f64>>,
    /// refund > 0 of each order, or None when orders carry no refund column.
    pub refunded: Option<Vec<bool>>,
    /// Input position of each row when invalid rows were dropped.
    pub source_rows: Option<Vec<u32>>,
}

/// Site sessions as (timestamp or local date, count) rows.
pub struct Sessions {
    /// When each row happened: UTC µs of a session start, or a local calendar date.
    pub when: SessionTime,
    /// Sessions counted by each row (1 for one-row-per-session input).
    pub count: Vec<f64>,
    /// Input position of each row when invalid rows were dropped.
    pub source_rows: Option<Vec<u32>>,
}

impl Sessions {
    /// The input position of row `i`.
    pub fn source_row(&self, i: usize) -> usize {
        self.source_rows.as_ref().map_or(i, |rows| rows[i] as usize)
    }
}

/// How sessions rows are placed in time.
pub enum SessionTime {
    /// Session start instants (UTC µs).
    Instant(Vec<i64>),
    /// Calendar dates (days since 1970-01-01), read as local dates in `tz` (SPEC §8.14).
    LocalDate(Vec<i64>),
}

/// Interns customer ids of both tables into one dense code space.
enum CustomerInterner<'a> {
    /// Integer ids in a compact range (the common case of sequential database ids).
    Dense(DenseIds),
    /// Other integer ids, numbered in order of first appearance (contacts, then orders).
    Int(FxHashMap<i64, u32>),
    /// Text ids, numbered in order of first appearance.
    Text(FxHashMap<&'a str, u32>),
}

/// Codes for integer ids in a compact range: a bitmap of the ids present and, per 64-id
/// word, the number of ids present before it. An id's code is its rank among the ids
/// present (codes follow id order). Marking and lookups run in parallel, and the tables
/// (one bit per id in the range, 4 bytes per 64) stay small enough for the cache.
struct DenseIds {
    min: i64,
    words: Vec<u64>,
    ranks: Vec<u32>,
}

impl DenseIds {
    fn new(columns: &[&IdColumn], min: i64, span: usize) -> Self {
        let marks: Vec<AtomicU64> = (0..span.div_ceil(64)).map(|_| AtomicU64::new(0)).collect();
        for column in columns {
            let IdColumn::Int { values, valid } = column else {
                continue;
            };
            values.par_iter().enumerate().for_each(|(i, &v)| {
                if valid.as_ref().is_none_or(|valid| valid[i]) {
                    let k = (v - min) as usize;
                    marks[k / 64].fetch_or(1 << (k % 64), Ordering::Relaxed);
                }
            });
        }
        let words: Vec<u64> = marks.into_iter().map(AtomicU64::into_inner).collect();
        let mut ranks = Vec::with_capacity(words.len());
        let mut before = 0u32;
        for w in &words {
            ranks.push(before);
            before += w.count_ones();
        }
        DenseIds { min, words, ranks }
    }

    /// Number of distinct ids.
    fn len(&self) -> u32 {
        match (self.ranks.last(), self.words.last()) {
            (Some(r), Some(w)) => r + w.count_ones(),
            _ => 0,
        }
    }

    /// The code of an id that was marked.
    fn code(&self, v: i64) -> u32 {
        let k = (v - self.min) as usize;
        let below = self.words[k / 64] & ((1u64 << (k % 64)) - 1);
        self.ranks[k / 64] + below.count_ones()
    }
}

/// The compact range [min, max] of several integer id columns, if it is small enough for
/// a direct-address table (a few slots per row).
fn compact_id_range(columns: &[&IdColumn]) -> Option<(i64, usize)> {
    let mut rows = 0usize;
    let mut bounds: Option<(i64, i64)> = None;
    for column in columns {
        let IdColumn::Int { values, valid } = column else {
            return None;
        };
        rows += values.len();
        let column_bounds = values
            .par_iter()
            .enumerate()
            .filter(|&(i, _)| valid.as_ref().is_none_or(|valid| valid[i]))
            .map(|(_, &v)| (v, v))
            .reduce_with(|(lo1, hi1), (lo2, hi2)| (lo1.min(lo2), hi1.max(hi2)));
        bounds = match (bounds, column_bounds) {
            (Some((lo1, hi1)), Some((lo2, hi2))) => Some((lo1.min(lo2), hi1.max(hi2))),
            (a, b) => a.or(b),
        };
    }
    let (lo, hi) = bounds?;
    let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
    (span <= (4 * rows + 4096) as u128).then_some((lo, span as usize))
}

fn intern_customers<'a>(
    interner: &mut CustomerInterner<'a>,
    ids: &'a IdColumn,
    next_code: &mut u32,
) -> Vec<u32> {
    let n = match ids {
        IdColumn::Int { values, .. } => values.len(),
        IdColumn::Text(strings) => strings.len(),
    };
    let mut codes = Vec::with_capacity(n);
    match (interner, ids) {
        (CustomerInterner::Dense(dense), IdColumn::Int { values, valid }) => {
            *next_code = dense.len();
            values
                .par_iter()
                .enumerate()
                .map(|(i, &v)| {
                    if valid.as_ref().is_some_and(|valid| !valid[i]) {
                        ANONYMOUS
                    } else {
                        dense.code(v)
                    }
                })
                .collect_into_vec(&mut codes);
        }
        (CustomerInterner::Int(map), IdColumn::Int { values, valid }) => {
            for (i, v) in values.iter().enumerate() {
                if valid.as_ref().is_some_and(|valid| !valid[i]) {
                    codes.push(ANONYMOUS);
                    continue;
                }
                let code = *map.entry(*v).or_insert_with(|| {
                    *next_code += 1;
                    *next_code - 1
                });
                codes.push(code);
            }
        }
        (CustomerInterner::Text(map), IdColumn::Text(strings)) => {
            for v in strings.iter() {
                match v {
                    None => codes.push(ANONYMOUS),
                    Some(v) => {
                        let code = *map.entry(v).or_insert_with(|| {
                            *next_code += 1;
                            *next_code - 1
                        });
                        codes.push(code);
                    }
                }
            }
        }
        // Kinds were checked to match before interning.
        _ => codes.resize(n, ANONYMOUS),
    }
    codes
}

/// Both tables with shared customer codes.
pub struct Joinable {
    /// Contacts.
    pub contacts: Contacts,
    /// Orders.
    pub orders: Orders,
    /// Number of distinct non-null customers over both tables.
    pub customers: usize,
    /// Rows read, used and dropped of contacts and orders.
    pub audits: Vec<TableAudit>,
    /// Per input contact row, why it was dropped (empty when none was).
    pub contact_drop_reasons: Vec<Option<String>>,
}

impl Joinable {
    /// Frees what only the customer index reads: contact ids (its tie-break) and the
    /// orders' customer codes (the index's offsets hold them). Views and enrich never read
    /// them, and at 10M contacts / 20M orders they are 160 MB of every later view's peak.
    pub fn release_index_keys(&mut self) {
        self.contacts.contact_id = IdColumn::Int {
            values: Vec::new(),
            valid: None,
        };
        self.orders.customer = Vec::new();
    }
}

/// Reads and validates contacts and orders, interning customer ids across both.
pub fn read_joinable(
    contacts: &TableInput,
    orders: &TableInput,
    scales: &Scales,
    time_range: (i64, i64),
    on_invalid: OnInvalid,
) -> Result<Joinable> {
    let mut timer = crate::trace::PhaseTimer::from_env("ingest");
    contacts.check_columns()?;
    orders.check_columns()?;
    let (contact_ids, order_ids) = rayon::join(
        || required(contacts, "customer_id", read_ids),
        || required(orders, "customer_id", read_ids),
    );
    let (contact_customers, contact_overflow) = contact_ids?;
    let (order_customers, order_overflow) = order_ids?;
    timer.lap("customer_ids")?;
    let (contacts_n, orders_n) = (contacts.num_rows(), orders.num_rows());
    // Ids compare as given: integer ids never equal text ids, so a mix would silently join
    // nothing. Empty or all-null columns carry no kind and match either.
    let contact_kind_known = (0..contacts_n).any(|i| !contact_customers.is_null(i));
    let order_kind_known = (0..orders_n).any(|i| !order_customers.is_null(i));
    if contact_kind_known && order_kind_known && contact_customers.kind() != order_customers.kind()
    {
        return Err(Error::schema(
            "orders",
            "customer_id",
            format!(
                "customer_id is {} in contacts but {} in orders; ids compare as given, so \
                 cast one side to match",
                contact_customers.kind(),
                order_customers.kind()
            ),
        ));
    }
    let text_kind = matches!(
        (contact_kind_known, &contact_customers, &order_customers),
        (true, IdColumn::Text(_), _) | (false, _, IdColumn::Text(_))
    );
    let mut interner = if text_kind {
        CustomerInterner::Text(FxHashMap::default())
    } else {
        match compact_id_range(&[&contact_customers, &order_customers]) {
            Some((min, span)) => CustomerInterner::Dense(DenseIds::new(
                &[&contact_customers, &order_customers],
                min,
                span,
            )),
            None => CustomerInterner::Int(FxHashMap::default()),
        }
    };
    let mut next_code = 0u32;
    let contact_codes = if contact_kind_known {
        intern_customers(&mut interner, &contact_customers, &mut next_code)
    } else {
        vec![ANONYMOUS; contacts_n]
    };
    let order_codes = if order_kind_known {
        intern_customers(&mut interner, &order_customers, &mut next_code)
    } else {
        vec![ANONYMOUS; orders_n]
    };
    let customers = next_code as usize;
    drop(interner);
    timer.lap("intern")?;
    // The two tables are independent: read them side by side. Errors still come in a
    // fixed order (contacts first), whatever finishes first.
    let (contact_result, order_result) = rayon::join(
        || {
            read_contacts(
                contacts,
                contact_codes,
                &positions(&contact_overflow),
                scales,
                time_range,
                on_invalid,
            )
        },
        || {
            read_orders(
                orders,
                order_codes,
                &positions(&order_overflow),
                time_range,
                on_invalid,
            )
        },
    );
    let (contacts, contact_audit, contact_drop_reasons) = contact_result?;
    let (orders, order_audit) = order_result?;
    timer.lap("tables")?;
    Ok(Joinable {
        contacts,
        orders,
        customers,
        audits: vec![contact_audit, order_audit],
        contact_drop_reasons,
    })
}

const HANDLED_BY_VALUES: [&str; 3] = ["self_service", "ai", "human"];
const ID_OVERFLOW: &str = "id does not fit a signed 64-bit integer";

fn read_contacts(
    table: &TableInput,
    customer: Vec<u32>,
    customer_overflow: &[usize],
    scales: &Scales,
    time_range: (i64, i64),
    on_invalid: OnInvalid,
) -> Result<(Contacts, TableAudit, Vec<Option<String>>)> {
    let name = table.name;
    let (contact_id, id_overflow) = required(table, "contact_id", read_ids)?;
    let len = contact_id.len();
    let ids = &contact_id;
    let mut timer = crate::trace::PhaseTimer::from_env("contacts");
    let mut issues = RowIssues::new(name, Some(ids), len, on_invalid);
    issues.flag_unreadable_ids("contact_id", ID_OVERFLOW, &id_overflow)?;
    issues.check_ids("contact_id", ids)?;
    timer.lap("ids")?;
    issues.flag_rows("customer_id", ID_OVERFLOW, customer_overflow)?;
    // The other columns are independent: read them side by side, then check them in a
    // fixed order, so the first error reported does not depend on which read ends first.
    let ((created_at, (intent, handled_by)), ((escalated, times), numbers)) = rayon::join(
        || {
            rayon::join(
                || required(table, "created_at", |c| read_timestamps(c, false)),
                || {
                    rayon::join(
                        || optional(table, "intent", |c| read_coded(c, false)),
                        || optional(table, "handled_by", |c| read_coded(c, false)),
                    )
                },
            )
        },
        || {
            rayon::join(
                || {
                    rayon::join(
                        || optional(table, "escalated", read_bools),
                        || {
                            ["first_response_at", "resolved_at"]
                                .par_iter()
                                .map(|&column| {
                                    optional(table, column, |c| read_timestamps(c, false))
                                })
                                .collect::<Vec<_>>()
                        },
                    )
                },
                || {
                    CONTACT_NUMBERS
                        .par_iter()
                        .map(|&column| optional(table, column, read_numbers))
                        .collect::<Vec<_>>()
                },
            )
        },
    );
    timer.lap("read")?;
    let created_at = created_at?;
    issues.check_not_null_ts("created_at", &created_at)?;
    issues.check_plausible("created_at", &created_at, time_range)?;
    let intent = intent?;
    let handled_by = match handled_by? {
        None => None,
        Some(coded) => Some(decode_handled_by(&mut issues, &coded)?),
    };
    let escalated = escalated?;
    let [first_response_at, resolved_at] = <[_; 2]>::try_from(times)
        .unwrap_or_else(|_| unreachable!("two timestamp columns were read"));
    let first_response_at = first_response_at?;
    if let Some(frt) = &first_response_at {
        issues.check_plausible("first_response_at", frt, time_range)?;
        issues.check_not_before("first_response_at", frt, &created_at)?;
    }
    let resolved_at = resolved_at?;
    if let Some(resolved) = &resolved_at {
        issues.check_plausible("resolved_at", resolved, time_range)?;
        issues.check_not_before("resolved_at", resolved, &created_at)?;
    }
    let [handle_seconds, touches, csat, nps, ces, cost] = <[_; 6]>::try_from(numbers)
        .unwrap_or_else(|_| unreachable!("six numeric columns were read"));
    let handle_seconds = check_numbers(&mut issues, "handle_seconds", handle_seconds?, |v| {
        (v < 0.0).then_some("handle_seconds must not be negative")
    })?;
    let touches = check_numbers(&mut issues, "touches", touches?, |v| {
        (v < 0.0).then_some("touches must not be negative")
    })?;
    let csat = check_scale(&mut issues, "csat", csat?, scales.csat.min, scales.csat.max)?;
    let nps = check_scale(&mut issues, "nps", nps?, scales.nps.min, scales.nps.max)?;
    let ces = check_scale(&mut issues, "ces", ces?, scales.ces.min, scales.ces.max)?;
    let cost = check_numbers(&mut issues, "cost", cost?, |_| None)?;
    timer.lap("checks")?;
    let resolution_correct = optional(table, "resolution_correct", read_bools)?;
    let preventable = optional(table, "preventable", read_bools)?;
    let (keep, audit, reasons) = issues.finish(len);
    let contacts = Contacts {
        len,
        contact_id,
        customer,
        created_at,
        intent,
        handled_by,
        escalated,
        first_response_at,
        resolved_at,
        handle_seconds,
        touches,
        csat,
        nps,
        ces,
        cost,
        resolution_correct,
        preventable,
        source_rows: None,
    };
    Ok(match keep {
        None => (contacts, audit, reasons),
        Some(keep) => (contacts.compact(&keep), audit, reasons),
    })
}

impl Contacts {
    /// Keeps the rows where `keep` is true, remembering their input positions.
    fn compact(self, keep: &[bool]) -> Contacts {
        let intent = self.intent.map(|coded| CodedStrings {
            codes: compact(coded.codes, keep),
            values: coded.values,
        });
        let source_rows = source_rows(keep);
        Contacts {
            len: source_rows.len(),
            contact_id: self.contact_id.compact(keep),
            customer: compact(self.customer, keep),
            created_at: compact(self.created_at, keep),
            intent,
            handled_by: compact_opt(self.handled_by, keep),
            escalated: compact_opt(self.escalated, keep),
            first_response_at: compact_opt(self.first_response_at, keep),
            resolved_at: compact_opt(self.resolved_at, keep),
            handle_seconds: compact_opt(self.handle_seconds, keep),
            touches: compact_opt(self.touches, keep),
            csat: compact_opt(self.csat, keep),
            nps: compact_opt(self.nps, keep),
            ces: compact_opt(self.ces, keep),
            cost: compact_opt(self.cost, keep),
            resolution_correct: compact_opt(self.resolution_correct, keep),
            preventable: compact_opt(self.preventable, keep),
            source_rows: Some(source_rows),
        }
    }

    /// The input position of row `i`.
    pub fn source_row(&self, i: usize) -> usize {
        self.source_rows.as_ref().map_or(i, |rows| rows[i] as usize)
    }
}

impl Orders {
    /// The input position of row `i`.
    pub fn source_row(&self, i: usize) -> usize {
        self.source_rows.as_ref().map_or(i, |rows| rows[i] as usize)
    }
}

fn decode_handled_by(issues: &mut RowIssues, coded: &CodedStrings) -> Result<Vec<HandledBy>> {
    let by_code: Vec<Option<HandledBy>> = coded
        .values
        .iter()
        .map(|value| match value.as_str() {
            "self_service" => Some(HandledBy::SelfService),
            "ai" => Some(HandledBy::Ai),
            "human" => Some(HandledBy::Human),
            _ => None,
        })
        .collect();
    let message = format!(
        "handled_by must be one of {} or null",
        HANDLED_BY_VALUES.join(", ")
    );
    let codes = &coded.codes;
    issues.check("handled_by", &message, codes.len(), |row| {
        let c = codes[row];
        (c != NULL_CODE && by_code[c as usize].is_none())
            .then(|| format!("handled_by={:?}", coded.values[c as usize]))
    })?;
    Ok(codes
        .par_iter()
        .map(|&c| match c {
            NULL_CODE => HandledBy::Unknown,
            c => by_code[c as usize].unwrap_or(HandledBy::Unknown),
        })
        .collect())
}

/// The numeric contact columns, in the order their checks run.
const CONTACT_NUMBERS: [&str; 6] = ["handle_seconds", "touches", "csat", "nps", "ces", "cost"];

/// A numeric column that must be finite where non-null, with an extra per-value rule.
fn read_checked_numbers(
    table: &TableInput,
    issues: &mut RowIssues,
    column: &str,
    rule: impl Fn(f64) -> Option<&'static str> + Sync,
) -> Result<Option<Vec<f64>>> {
    check_numbers(issues, column, optional(table, column, read_numbers)?, rule)
}

/// Checks a numeric column read with `read_numbers` (see [`read_checked_numbers`]).
fn check_numbers(
    issues: &mut RowIssues,
    column: &str,
    read: Option<(Vec<f64>, Vec<usize>)>,
    rule: impl Fn(f64) -> Option<&'static str> + Sync,
) -> Result<Option<Vec<f64>>> {
    let Some((mut values, non_finite)) = read else {
        return Ok(None);
    };
    issues.check_finite(column, &values, &non_finite)?;
    // Checked in parallel, flagged in row order: the error names the first broken row
    // (see `RowIssues::check`).
    let broken = bad_rows(values.len(), issues.mode == OnInvalid::Raise, |row| {
        rule(values[row])
    });
    for (row, message) in broken {
        let v = values[row];
        issues.flag(column, message, row, || format!("{column}={v}"))?;
    }
    // Dropped rows go away; in raise mode there are none left to null out.
    for row in non_finite {
        values[row] = f64::NAN;
    }
    Ok(Some(values))
}

/// Checks a score column read with `read_numbers` against its scale.
fn check_scale(
    issues: &mut RowIssues,
    column: &str,
    read: Option<(Vec<f64>, Vec<usize>)>,
    lo: f64,
    hi: f64,
) -> Result<Option<Vec<f64>>> {
    let Some((values, non_finite)) = read else {
        return Ok(None);
    };
    issues.check_scale(column, &values, &non_finite, lo, hi)?;
    Ok(Some(values))
}

const DEDUCTION_COLUMNS: [&str; 4] = ["refund", "discount", "appeasement", "cogs"];

fn read_orders(
    table: &TableInput,
    customer: Vec<u32>,
    customer_overflow: &[usize],
    time_range: (i64, i64),
    on_invalid: OnInvalid,
) -> Result<(Orders, TableAudit)> {
    let name = table.name;
    // Independent columns, read side by side and checked in a fixed order.
    let (order_id, (created_at, revenue)) = rayon::join(
        || required(table, "order_id", read_ids),
        || {
            rayon::join(
                || required(table, "created_at", |c| read_timestamps(c, false)),
                || required(table, "revenue", read_numbers),
            )
        },
    );
    let (order_id, id_overflow) = order_id?;
    let len = order_id.len();
    let mut issues = RowIssues::new(name, Some(&order_id), len, on_invalid);
    issues.flag_unreadable_ids("order_id", ID_OVERFLOW, &id_overflow)?;
    issues.check_ids("order_id", &order_id)?;
    issues.flag_rows("customer_id", ID_OVERFLOW, customer_overflow)?;
    let created_at = created_at?;
    issues.check_not_null_ts("created_at", &created_at)?;
    issues.check_plausible("created_at", &created_at, time_range)?;
    let (revenue, non_finite) = revenue?;
    issues.check_finite("revenue", &revenue, &non_finite)?;
    issues.check("revenue", "must not be null", revenue.len(), |i| {
        revenue[i].is_nan().then(String::new)
    })?;
    let mut deductions: Option<Vec<f64>> = None;
    let mut refunded: Option<Vec<bool>> = None;
    for column in DEDUCTION_COLUMNS {
        if let Some(values) = read_checked_numbers(table, &mut issues, column, |_| None)? {
            if column == "refund" {
                refunded = Some(values.iter().map(|&v| v > 0.0).collect());
            }
            let total = deductions.get_or_insert_with(|| vec![0.0; values.len()]);
            for (t, v) in total.iter_mut().zip(&values) {
                if !v.is_nan() {
                    *t += v;
                }
            }
        }
    }
    let (keep, audit, _) = issues.finish(len);
    let orders = Orders {
        len,
        customer,
        created_at,
        revenue,
        deductions,
        refunded,
        source_rows: None,
    };
    Ok(match keep {
        None => (orders, audit),
        Some(keep) => {
            let source_rows = source_rows(&keep);
            (
                Orders {
                    len: source_rows.len(),
                    customer: compact(orders.customer, &keep),
                    created_at: compact(orders.created_at, &keep),
                    revenue: compact(orders.revenue, &keep),
                    deductions: compact_opt(orders.deductions, &keep),
                    refunded: compact_opt(orders.refunded, &keep),
                    source_rows: Some(source_rows),
                },
                audit,
            )
        }
    })
}

/// Reads sessions: pre-counted rows (a `sessions` column with `date` or `started_at`) or one
/// row per session (`started_at`).
///
/// Times outside `time_range` (the config's plausible range, as for contacts) are bad
/// rows: a session a century away would stretch nothing, but must not pass as used.
pub fn read_sessions(
    table: &TableInput,
    on_invalid: OnInvalid,
    time_range: (i64, i64),
) -> Result<(Sessions, TableAudit)> {
    table.check_columns()?;
    let name = table.name;
    let n = table.num_rows();
    let mut issues = RowIssues::new(name, None, n, on_invalid);
    let count = match optional(table, "sessions", read_numbers)? {
        Some((values, non_finite)) => {
            issues.check_finite("sessions", &values, &non_finite)?;
            issues.check("sessions", "session counts must not be negative", n, |i| {
                (values[i] < 0.0).then(|| format!("sessions={}", values[i]))
            })?;
            // A null count adds nothing.
            values
                .into_iter()
                .map(|v| if v.is_finite() { v } else { 0.0 })
                .collect()
        }
        None => vec![1.0; n],
    };
    let (when, column) = if table.has("date") {
        let chunks = table.require("date")?;
        let is_date = chunks.iter().any(|c| {
            matches!(
                c.data_type(),
                arrow_schema::DataType::Date32 | arrow_schema::DataType::Date64
            )
        });
        let values =
            read_timestamps(&chunks, true).map_err(|e| read_failure(name, "date", None, e))?;
        if is_date {
            let days = values
                .into_iter()
                .map(|v| {
                    if v == NULL_TS {
                        NULL_TS
                    } else {
                        v.div_euclid(MICROS_PER_DAY)
                    }
                })
                .collect();
            (SessionTime::LocalDate(days), "date")
        } else {
            (SessionTime::Instant(values), "date")
        }
    } else {
        let values = required(table, "started_at", |c| read_timestamps(c, false))?;
        (SessionTime::Instant(values), "started_at")
    };
    match &when {
        SessionTime::Instant(v) => {
            issues.check_not_null_ts(column, v)?;
            issues.check_plausible(column, v, time_range)?;
        }
        SessionTime::LocalDate(days) => {
            issues.check_not_null_ts(column, days)?;
            // A local date is plausible when its midnight UTC is (the range is in days).
            let midnights: Vec<i64> = days
                .iter()
                .map(|&d| {
                    if d == NULL_TS {
                        NULL_TS
                    } else {
                        d.saturating_mul(MICROS_PER_DAY)
                    }
                })
                .collect();
            issues.check_plausible(column, &midnights, time_range)?;
        }
    }
    let (keep, audit, _) = issues.finish(n);
    let sessions = Sessions {
        when,
        count,
        source_rows: None,
    };
    Ok(match keep {
        None => (sessions, audit),
        Some(keep) => (
            Sessions {
                when: match sessions.when {
                    SessionTime::Instant(v) => SessionTime::Instant(compact(v, &keep)),
                    SessionTime::LocalDate(v) => SessionTime::LocalDate(compact(v, &keep)),
                },
                count: compact(sessions.count, &keep),
                source_rows: Some(source_rows(&keep)),
            },
            audit,
        ),
    })
}

/// A calendar event (SPEC §1 events).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Name.
    pub name: String,
    /// promo, launch or peak.
    pub kind: String,
    /// Start, UTC µs.
    pub start: i64,
    /// End, UTC µs (≥ start).
    pub end: i64,
}

/// Reads events: `name`, `kind` (promo / launch / peak), `start`, `end`.
///
/// `start` and `end` outside `time_range` (the config's plausible range) are bad rows.
pub fn read_events(
    table: &TableInput,
    on_invalid: OnInvalid,
    time_range: (i64, i64),
) -> Result<(Vec<Event>, TableAudit)> {
    table.check_columns()?;
    let names = required(table, "name", |c| read_coded(c, true))?;
    let kinds = required(table, "kind", |c| read_coded(c, false))?;
    let starts = required(table, "start", |c| read_timestamps(c, true))?;
    let ends = required(table, "end", |c| read_timestamps(c, true))?;
    let n = starts.len();
    let mut issues = RowIssues::new(table.name, None, n, on_invalid);
    let text = |coded: &CodedStrings, row: usize| match coded.codes[row] {
        NULL_CODE => String::new(),
        code => coded.values[code as usize].clone(),
    };
    issues.check(
        "kind",
        "kind must be one of promo, launch, peak",
        n,
        |row| {
            let kind = text(&kinds, row);
            (!matches!(kind.as_str(), "promo" | "launch" | "peak"))
                .then(|| format!("kind={kind:?}"))
        },
    )?;
    issues.check_not_null_ts("start", &starts)?;
    issues.check_not_null_ts("end", &ends)?;
    issues.check_plausible("start", &starts, time_range)?;
    issues.check_plausible("end", &ends, time_range)?;
    issues.check("end", "end is before start", n, |row| {
        let (start, end) = (starts[row], ends[row]);
        (start != NULL_TS && end != NULL_TS && end < start)
            .then(|| format!("start={}, end={}", render_ts(start), render_ts(end)))
    })?;
    let (keep, audit, _) = issues.finish(n);
    let events = (0..n)
        .filter(|&row| keep.as_ref().is_none_or(|k| k[row]))
        .map(|row| Event {
            name: text(&names, row),
            kind: text(&kinds, row),
            start: starts[row],
            end: ends[row],
        })
        .collect();
    Ok((events, audit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    #[test]
    fn chunk_rows_are_taken_across_empty_and_full_chunks() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "channel",
            DataType::Utf8,
            true,
        )]));
        let chunk =
            |values: &[Option<&str>]| -> ArrayRef { Arc::new(StringArray::from(values.to_vec())) };
        let chunks = vec![
            chunk(&[]),
            chunk(&[Some("a"), Some("b")]),
            chunk(&[]),
            chunk(&[None, Some("d")]),
            chunk(&[Some("e")]),
        ];
        let table = TableInput::new("contacts", schema, Vec::new(), HashMap::new());
        let taken = table
            .take_chunk_rows("channel", &chunks, &[4, 0, 2, 3, 1])
            .unwrap();
        let taken = taken.as_any().downcast_ref::<StringArray>().unwrap();
        let got: Vec<Option<&str>> = taken.iter().collect();
        assert_eq!(got, vec![Some("e"), Some("a"), None, Some("d"), Some("b")]);
        // No rows: an empty array of the column's type.
        let none = table.take_chunk_rows("channel", &chunks, &[]).unwrap();
        assert_eq!((none.len(), none.data_type()), (0, &DataType::Utf8));
        // A row past the end is an error, not a panic.
        assert!(table.take_chunk_rows("channel", &chunks, &[5]).is_err());
        let ints: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![7, 8]))];
        let taken = table.take_chunk_rows("channel", &ints, &[1]).unwrap();
        assert_eq!(
            taken
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .value(0),
            8
        );
    }
}
