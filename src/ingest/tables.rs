//! The three input tables (SPEC §1) read into flat columns, validated, with customer ids
//! interned into dense codes shared by contacts and orders.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use rustc_hash::FxHashMap;

use super::columns::{
    read_bools, read_coded, read_ids, read_numbers, read_timestamps, render_ts, CodedStrings,
    IdColumn, ReadError, NULL_CODE, NULL_TS,
};
use crate::config::Scales;
use crate::error::{BadValue, Error, Result, RowRef};

/// Customer code sentinel for anonymous rows (null customer_id).
pub const ANONYMOUS: u32 = u32::MAX;

/// One input table as Arrow batches, with the user's renaming (`ours -> theirs`).
pub struct TableInput {
    /// Table name for messages: contacts, orders or sessions.
    pub name: &'static str,
    /// The schema of the stream.
    pub schema: SchemaRef,
    /// All batches, in order.
    pub batches: Vec<RecordBatch>,
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
            batches,
            rename,
        }
    }

    /// Number of rows over all batches.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }

    /// The user's name for our column `ours`.
    pub fn source_name<'a>(&'a self, ours: &'a str) -> &'a str {
        self.rename.get(ours).map_or(ours, |s| s.as_str())
    }

    /// Whether the column is present.
    pub fn has(&self, ours: &str) -> bool {
        self.schema.index_of(self.source_name(ours)).is_ok()
    }

    /// Every renaming must point at a real column: a typo in `columns=` would otherwise
    /// silently drop an optional input.
    pub fn check_rename(&self) -> Result<()> {
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

    /// The chunks of a column if present.
    pub fn column(&self, ours: &str) -> Option<Vec<ArrayRef>> {
        let index = self.schema.index_of(self.source_name(ours)).ok()?;
        Some(
            self.batches
                .iter()
                .map(|b| b.column(index).clone())
                .collect(),
        )
    }

    /// The chunks of a required column, or a `SchemaError` listing what is there.
    pub fn require(&self, ours: &str) -> Result<Vec<ArrayRef>> {
        self.column(ours).ok_or_else(|| {
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

    /// The whole column concatenated into one array (for taking group values back out).
    pub fn concat_column(&self, ours: &str) -> Result<Option<ArrayRef>> {
        let Some(chunks) = self.column(ours) else {
            return Ok(None);
        };
        if chunks.len() == 1 {
            return Ok(Some(chunks[0].clone()));
        }
        if chunks.is_empty() {
            let index = self
                .schema
                .index_of(self.source_name(ours))
                .map_err(|e| Error::schema(self.name, ours, e.to_string()))?;
            let field = self.schema.field(index);
            return Ok(Some(arrow_array::new_empty_array(field.data_type())));
        }
        let refs: Vec<&dyn Array> = chunks.iter().map(|a| a.as_ref()).collect();
        arrow_select::concat::concat(&refs)
            .map(Some)
            .map_err(|e| Error::schema(self.name, ours, e.to_string()))
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
    ids: Option<&IdColumn>,
    read: impl FnOnce(&[ArrayRef]) -> std::result::Result<T, ReadError>,
) -> Result<Option<T>> {
    match table.column(column) {
        None => Ok(None),
        Some(chunks) => read(&chunks)
            .map(Some)
            .map_err(|e| read_failure(table.name, column, ids, e)),
    }
}

fn required<T>(
    table: &TableInput,
    column: &str,
    ids: Option<&IdColumn>,
    read: impl FnOnce(&[ArrayRef]) -> std::result::Result<T, ReadError>,
) -> Result<T> {
    let chunks = table.require(column)?;
    read(&chunks).map_err(|e| read_failure(table.name, column, ids, e))
}

/// Checks every row with `is_bad`; the first failure becomes a `DataError`.
fn check_rows(
    table: &str,
    column: &str,
    ids: &IdColumn,
    len: usize,
    message: &str,
    is_bad: impl Fn(usize) -> Option<String>,
) -> Result<()> {
    for row in 0..len {
        if let Some(detail) = is_bad(row) {
            return Err(bad_value(
                table,
                column,
                Some(ids),
                BadValue {
                    position: row,
                    message: message.to_owned(),
                    detail,
                },
            ));
        }
    }
    Ok(())
}

fn check_unique_ids(table: &str, column: &str, ids: &IdColumn) -> Result<()> {
    if let Some(row) = ids.first_duplicate_or_null() {
        let message = if ids.is_null(row) {
            "ids must not be null"
        } else {
            "duplicate id: ids must be unique per row"
        };
        return Err(bad_value(
            table,
            column,
            Some(ids),
            BadValue {
                position: row,
                message: message.to_owned(),
                detail: String::new(),
            },
        ));
    }
    Ok(())
}

fn check_no_null_ts(table: &str, column: &str, ids: &IdColumn, ts: &[i64]) -> Result<()> {
    check_rows(table, column, ids, ts.len(), "must not be null", |i| {
        (ts[i] == NULL_TS).then(String::new)
    })
}

/// Rejects values outside [lo, hi] (NaN included: a NaN score is not a score).
fn check_range(
    table: &str,
    column: &str,
    ids: &IdColumn,
    values: &[f64],
    nan_rows: Option<usize>,
    lo: f64,
    hi: f64,
) -> Result<()> {
    if let Some(row) = nan_rows {
        return Err(bad_value(
            table,
            column,
            Some(ids),
            BadValue {
                position: row,
                message: format!("value outside the scale [{lo}, {hi}]"),
                detail: format!("{column}={}", values[row]),
            },
        ));
    }
    check_rows(
        table,
        column,
        ids,
        values.len(),
        &format!("value outside the scale [{lo}, {hi}]"),
        |i| {
            let v = values[i];
            (!v.is_nan() && (v < lo || v > hi)).then(|| format!("{column}={v}"))
        },
    )
}

fn check_finite(
    table: &str,
    column: &str,
    ids: &IdColumn,
    values: &[f64],
    nan_row: Option<usize>,
) -> Result<()> {
    if let Some(row) = nan_row {
        return Err(bad_value(
            table,
            column,
            Some(ids),
            BadValue {
                position: row,
                message: "value must be finite (NaN or infinity found)".to_owned(),
                detail: format!("{column}={}", values[row]),
            },
        ));
    }
    Ok(())
}

fn check_not_before(
    table: &str,
    column: &str,
    ids: &IdColumn,
    later: &[i64],
    created: &[i64],
) -> Result<()> {
    check_rows(
        table,
        column,
        ids,
        later.len(),
        &format!("{column} is before created_at"),
        |i| {
            (later[i] != NULL_TS && later[i] < created[i]).then(|| {
                format!(
                    "{column}={}, created_at={}",
                    render_ts(later[i]),
                    render_ts(created[i])
                )
            })
        },
    )
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
    /// contact_id (unique, non-null).
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
    /// Dense customer code, `ANONYMOUS` for null.
    pub customer: Vec<u32>,
    /// created_at, UTC µs.
    pub created_at: Vec<i64>,
    /// revenue (finite, non-null).
    pub revenue: Vec<f64>,
    /// refund + discount + appeasement + cogs of each order (absent or null = 0), or None
    /// when none of those columns is present.
    pub deductions: Option<Vec<f64>>,
}

/// Site sessions as (timestamp or local date, count) rows.
pub struct Sessions {
    /// When each row happened: UTC µs of a session start, or a local calendar date.
    pub when: SessionTime,
    /// Sessions counted by each row (1 for one-row-per-session input).
    pub count: Vec<f64>,
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
    Int(FxHashMap<i64, u32>),
    Text(FxHashMap<&'a str, u32>),
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
}

fn read_customer_ids(table: &TableInput) -> Result<IdColumn> {
    required(table, "customer_id", None, read_ids)
}

/// Reads and validates contacts and orders, interning customer ids across both.
pub fn read_joinable(
    contacts: &TableInput,
    orders: &TableInput,
    scales: &Scales,
) -> Result<Joinable> {
    contacts.check_rename()?;
    orders.check_rename()?;
    let contact_customers = read_customer_ids(contacts)?;
    let order_customers = read_customer_ids(orders)?;
    let (contacts_n, orders_n) = (contacts.num_rows(), orders.num_rows());
    // Ids compare as given: integer ids never equal text ids, so a mix would silently join
    // nothing. Empty or all-null columns carry no kind and match either.
    let contact_kind_known =
        contacts_n > 0 && !(0..contacts_n).all(|i| contact_customers.is_null(i));
    let order_kind_known = orders_n > 0 && !(0..orders_n).all(|i| order_customers.is_null(i));
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
        CustomerInterner::Int(FxHashMap::default())
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
    let contacts = read_contacts(contacts, contact_codes, scales)?;
    let orders = read_orders(orders, order_codes)?;
    Ok(Joinable {
        contacts,
        orders,
        customers,
    })
}

const HANDLED_BY_VALUES: [&str; 3] = ["self_service", "ai", "human"];

fn read_contacts(table: &TableInput, customer: Vec<u32>, scales: &Scales) -> Result<Contacts> {
    let name = table.name;
    let contact_id = required(table, "contact_id", None, read_ids)?;
    check_unique_ids(name, "contact_id", &contact_id)?;
    let ids = &contact_id;
    let created_at = required(table, "created_at", Some(ids), |c| {
        read_timestamps(c, false)
    })?;
    check_no_null_ts(name, "created_at", ids, &created_at)?;
    let len = created_at.len();

    let intent = optional(table, "intent", Some(ids), |c| read_coded(c, false))?;
    let handled_by = match optional(table, "handled_by", Some(ids), |c| read_coded(c, false))? {
        None => None,
        Some(coded) => Some(decode_handled_by(name, ids, &coded)?),
    };
    let escalated = optional(table, "escalated", Some(ids), read_bools)?;
    let first_response_at = optional(table, "first_response_at", Some(ids), |c| {
        read_timestamps(c, false)
    })?;
    if let Some(frt) = &first_response_at {
        check_not_before(name, "first_response_at", ids, frt, &created_at)?;
    }
    let resolved_at = optional(table, "resolved_at", Some(ids), |c| {
        read_timestamps(c, false)
    })?;
    if let Some(resolved) = &resolved_at {
        check_not_before(name, "resolved_at", ids, resolved, &created_at)?;
    }
    let handle_seconds = read_checked_numbers(table, "handle_seconds", ids, |v| {
        (v < 0.0).then_some("handle_seconds must not be negative")
    })?;
    let touches = read_checked_numbers(table, "touches", ids, |v| {
        (v < 0.0).then_some("touches must not be negative")
    })?;
    let csat = read_scale(table, "csat", ids, scales.csat.min, scales.csat.max)?;
    let nps = read_scale(table, "nps", ids, scales.nps.min, scales.nps.max)?;
    let ces = read_scale(table, "ces", ids, scales.ces.min, scales.ces.max)?;
    let cost = read_finite(table, "cost", ids)?;
    let resolution_correct = optional(table, "resolution_correct", Some(ids), read_bools)?;
    let preventable = optional(table, "preventable", Some(ids), read_bools)?;
    Ok(Contacts {
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
    })
}

fn decode_handled_by(table: &str, ids: &IdColumn, coded: &CodedStrings) -> Result<Vec<HandledBy>> {
    let mut by_code = Vec::with_capacity(coded.values.len());
    for (code, value) in coded.values.iter().enumerate() {
        let decoded = match value.as_str() {
            "self_service" => HandledBy::SelfService,
            "ai" => HandledBy::Ai,
            "human" => HandledBy::Human,
            _ => {
                let row = coded
                    .codes
                    .iter()
                    .position(|&c| c == code as u32)
                    .unwrap_or(0);
                return Err(bad_value(
                    table,
                    "handled_by",
                    Some(ids),
                    BadValue {
                        position: row,
                        message: format!(
                            "handled_by must be one of {} or null",
                            HANDLED_BY_VALUES.join(", ")
                        ),
                        detail: format!("handled_by={value:?}"),
                    },
                ));
            }
        };
        by_code.push(decoded);
    }
    Ok(coded
        .codes
        .iter()
        .map(|&c| {
            if c == NULL_CODE {
                HandledBy::Unknown
            } else {
                by_code[c as usize]
            }
        })
        .collect())
}

/// A numeric column that must be finite where non-null, with an extra per-value rule.
fn read_checked_numbers(
    table: &TableInput,
    column: &str,
    ids: &IdColumn,
    rule: impl Fn(f64) -> Option<&'static str>,
) -> Result<Option<Vec<f64>>> {
    let Some((values, non_finite)) = optional(table, column, Some(ids), read_numbers)? else {
        return Ok(None);
    };
    check_finite(table.name, column, ids, &values, non_finite)?;
    for (row, &v) in values.iter().enumerate() {
        if let Some(message) = rule(v) {
            return Err(bad_value(
                table.name,
                column,
                Some(ids),
                BadValue {
                    position: row,
                    message: message.to_owned(),
                    detail: format!("{column}={v}"),
                },
            ));
        }
    }
    Ok(Some(values))
}

fn read_finite(table: &TableInput, column: &str, ids: &IdColumn) -> Result<Option<Vec<f64>>> {
    read_checked_numbers(table, column, ids, |_| None)
}

fn read_scale(
    table: &TableInput,
    column: &str,
    ids: &IdColumn,
    lo: f64,
    hi: f64,
) -> Result<Option<Vec<f64>>> {
    let Some((values, non_finite)) = optional(table, column, Some(ids), read_numbers)? else {
        return Ok(None);
    };
    check_range(table.name, column, ids, &values, non_finite, lo, hi)?;
    Ok(Some(values))
}

const DEDUCTION_COLUMNS: [&str; 4] = ["refund", "discount", "appeasement", "cogs"];

fn read_orders(table: &TableInput, customer: Vec<u32>) -> Result<Orders> {
    let name = table.name;
    let order_id = required(table, "order_id", None, read_ids)?;
    check_unique_ids(name, "order_id", &order_id)?;
    let ids = &order_id;
    let created_at = required(table, "created_at", Some(ids), |c| {
        read_timestamps(c, false)
    })?;
    check_no_null_ts(name, "created_at", ids, &created_at)?;
    let (revenue, non_finite) = required(table, "revenue", Some(ids), read_numbers)?;
    check_finite(name, "revenue", ids, &revenue, non_finite)?;
    check_rows(
        name,
        "revenue",
        ids,
        revenue.len(),
        "must not be null",
        |i| revenue[i].is_nan().then(String::new),
    )?;
    let mut deductions: Option<Vec<f64>> = None;
    for column in DEDUCTION_COLUMNS {
        if let Some(values) = read_finite(table, column, ids)? {
            let total = deductions.get_or_insert_with(|| vec![0.0; values.len()]);
            for (t, v) in total.iter_mut().zip(&values) {
                if !v.is_nan() {
                    *t += v;
                }
            }
        }
    }
    Ok(Orders {
        len: created_at.len(),
        customer,
        created_at,
        revenue,
        deductions,
    })
}

/// Reads sessions: pre-counted rows (a `sessions` column with `date` or `started_at`) or one
/// row per session (`started_at`).
pub fn read_sessions(table: &TableInput) -> Result<Sessions> {
    table.check_rename()?;
    let name = table.name;
    let n = table.num_rows();
    let count = match optional(table, "sessions", None, read_numbers)? {
        Some((values, non_finite)) => {
            if let Some(row) = non_finite {
                return Err(bad_value(
                    name,
                    "sessions",
                    None,
                    BadValue {
                        position: row,
                        message: "session counts must be finite".to_owned(),
                        detail: format!("sessions={}", values[row]),
                    },
                ));
            }
            if let Some(row) = values.iter().position(|v| *v < 0.0) {
                return Err(bad_value(
                    name,
                    "sessions",
                    None,
                    BadValue {
                        position: row,
                        message: "session counts must not be negative".to_owned(),
                        detail: format!("sessions={}", values[row]),
                    },
                ));
            }
            // A null count adds nothing.
            values
                .into_iter()
                .map(|v| if v.is_nan() { 0.0 } else { v })
                .collect()
        }
        None => vec![1.0; n],
    };
    let when = if table.has("date") {
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
            const MICROS_PER_DAY: i64 = 86_400_000_000;
            SessionTime::LocalDate(
                values
                    .into_iter()
                    .map(|v| {
                        if v == NULL_TS {
                            NULL_TS
                        } else {
                            v.div_euclid(MICROS_PER_DAY)
                        }
                    })
                    .collect(),
            )
        } else {
            SessionTime::Instant(values)
        }
    } else {
        let values = required(table, "started_at", None, |c| read_timestamps(c, false))?;
        SessionTime::Instant(values)
    };
    let times_null = match &when {
        SessionTime::Instant(v) | SessionTime::LocalDate(v) => v.iter().position(|&t| t == NULL_TS),
    };
    if let Some(row) = times_null {
        let column = if table.has("date") {
            "date"
        } else {
            "started_at"
        };
        return Err(bad_value(
            name,
            column,
            None,
            BadValue {
                position: row,
                message: "must not be null".to_owned(),
                detail: String::new(),
            },
        ));
    }
    Ok(Sessions { when, count })
}

/// Shared, reference-counted input for group columns (values are taken back out for the
/// output).
pub type SharedArray = Arc<dyn Array>;

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
pub fn read_events(table: &TableInput) -> Result<Vec<Event>> {
    table.check_rename()?;
    let name = table.name;
    let names = required(table, "name", None, |c| read_coded(c, true))?;
    let kinds = required(table, "kind", None, |c| read_coded(c, false))?;
    let starts = required(table, "start", None, |c| read_timestamps(c, true))?;
    let ends = required(table, "end", None, |c| read_timestamps(c, true))?;
    let mut events = Vec::with_capacity(starts.len());
    let bad = |column: &str, position: usize, message: &str, detail: String| {
        bad_value(
            name,
            column,
            None,
            BadValue {
                position,
                message: message.to_owned(),
                detail,
            },
        )
    };
    for row in 0..starts.len() {
        let kind = match kinds.codes[row] {
            NULL_CODE => String::new(),
            code => kinds.values[code as usize].clone(),
        };
        if !matches!(kind.as_str(), "promo" | "launch" | "peak") {
            return Err(bad(
                "kind",
                row,
                "kind must be one of promo, launch, peak",
                format!("kind={kind:?}"),
            ));
        }
        let (start, end) = (starts[row], ends[row]);
        if start == NULL_TS || end == NULL_TS {
            return Err(bad(
                "start",
                row,
                "start and end must not be null",
                String::new(),
            ));
        }
        if end < start {
            return Err(bad(
                "end",
                row,
                "end is before start",
                format!("start={}, end={}", render_ts(start), render_ts(end)),
            ));
        }
        let event_name = match names.codes[row] {
            NULL_CODE => String::new(),
            code => names.values[code as usize].clone(),
        };
        events.push(Event {
            name: event_name,
            kind,
            start,
            end,
        });
    }
    Ok(events)
}
