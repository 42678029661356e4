//! The three input tables (SPEC §1) read into flat columns, validated, with customer ids
//! interned into dense codes shared by contacts and orders.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::calendars::read_calendar_names;
use super::coded::{read_coded, CodedStrings};
use super::columns::{
    compact, read_bools, read_numbers, read_timestamps, render_ts, NULL_CODE, NULL_TS,
};
use super::ids::{read_ids, IdColumn};
use super::ranges::ValueChecks;
use crate::error::{Error, Result};

use super::customers::{compact_id_range, intern_customers, CustomerInterner, DenseIds, ANONYMOUS};
use super::input::{OnInvalid, TableAudit, TableInput};
use super::issues::{bad_rows, compact_opt, optional, positions, required, source_rows, RowIssues};

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
    /// The business calendar of each row (SPEC §9.1): an index into the configured
    /// calendar names; None when no calendar is configured.
    pub calendar: Option<Vec<u32>>,
    /// first_resolved_at, UTC µs or NULL_TS (SPEC §9.4).
    pub first_resolved_at: Option<Vec<i64>>,
    /// reopens, NaN for null.
    pub reopens: Option<Vec<f64>>,
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
    checks: &ValueChecks,
    on_invalid: OnInvalid,
) -> Result<Joinable> {
    let time_range = checks.time_range;
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
                checks,
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

pub(super) const HANDLED_BY_VALUES: [&str; 3] = ["self_service", "ai", "human"];
pub(super) const ID_OVERFLOW: &str = "id does not fit a signed 64-bit integer";

pub(super) fn read_contacts(
    table: &TableInput,
    customer: Vec<u32>,
    customer_overflow: &[usize],
    checks: &ValueChecks,
    on_invalid: OnInvalid,
) -> Result<(Contacts, TableAudit, Vec<Option<String>>)> {
    let (scales, time_range) = (checks.scales, checks.time_range);
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
    let (((created_at, (intent, handled_by)), ((escalated, times), numbers)), later) = rayon::join(
        || {
            rayon::join(
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
            )
        },
        // The columns checked after the others, read beside them all the same.
        || {
            rayon::join(
                || {
                    rayon::join(
                        || optional(table, "resolution_correct", read_bools),
                        || optional(table, "preventable", read_bools),
                    )
                },
                || {
                    rayon::join(
                        || {
                            rayon::join(
                                || {
                                    if checks.calendars.is_empty() {
                                        Ok(None)
                                    } else {
                                        optional(table, "calendar", |c| read_coded(c, false))
                                    }
                                },
                                || {
                                    optional(table, "first_resolved_at", |c| {
                                        read_timestamps(c, false)
                                    })
                                },
                            )
                        },
                        || optional(table, "reopens", read_numbers),
                    )
                },
            )
        },
    );
    let ((resolution_correct, preventable), ((calendar_column, first_resolved_at), reopens)) =
        later;
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
    let resolution_correct = resolution_correct?;
    let preventable = preventable?;
    let calendar = read_calendar_names(calendar_column?, &mut issues, &checks.calendars, len)?;
    let first_resolved_at = first_resolved_at?;
    if let Some(first) = &first_resolved_at {
        issues.check_plausible("first_resolved_at", first, time_range)?;
        issues.check_not_before("first_resolved_at", first, &created_at)?;
        if let Some(resolved) = &resolved_at {
            // A reopened contact that is open again has a first resolution and no
            // resolved_at; otherwise the first resolution cannot come after the last.
            issues.check(
                "first_resolved_at",
                "first_resolved_at is after resolved_at",
                len,
                |i| {
                    (first[i] != NULL_TS && resolved[i] != NULL_TS && first[i] > resolved[i]).then(
                        || {
                            format!(
                                "first_resolved_at={}, resolved_at={}",
                                render_ts(first[i]),
                                render_ts(resolved[i])
                            )
                        },
                    )
                },
            )?;
        }
    }
    let reopens = check_numbers(&mut issues, "reopens", reopens?, |v| {
        (v < 0.0 || v.fract() != 0.0 && !v.is_nan())
            .then_some("reopens must be a whole number, not negative")
    })?;
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
        calendar,
        first_resolved_at,
        reopens,
        source_rows: None,
    };
    Ok(match keep {
        None => (contacts, audit, reasons),
        Some(keep) => (contacts.compact(&keep), audit, reasons),
    })
}

impl Contacts {
    /// Keeps the rows where `keep` is true, remembering their input positions.
    pub(super) fn compact(self, keep: &[bool]) -> Contacts {
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
            calendar: compact_opt(self.calendar, keep),
            first_resolved_at: compact_opt(self.first_resolved_at, keep),
            reopens: compact_opt(self.reopens, keep),
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

pub(super) fn decode_handled_by(
    issues: &mut RowIssues,
    coded: &CodedStrings,
) -> Result<Vec<HandledBy>> {
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
pub(super) const CONTACT_NUMBERS: [&str; 6] =
    ["handle_seconds", "touches", "csat", "nps", "ces", "cost"];

/// A numeric column that must be finite where non-null, with an extra per-value rule.
pub(super) fn read_checked_numbers(
    table: &TableInput,
    issues: &mut RowIssues,
    column: &str,
    rule: impl Fn(f64) -> Option<&'static str> + Sync,
) -> Result<Option<Vec<f64>>> {
    check_numbers(issues, column, optional(table, column, read_numbers)?, rule)
}

/// Checks a numeric column read with `read_numbers` (see [`read_checked_numbers`]).
pub(super) fn check_numbers(
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
pub(super) fn check_scale(
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

pub(super) const DEDUCTION_COLUMNS: [&str; 4] = ["refund", "discount", "appeasement", "cogs"];

pub(super) fn read_orders(
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow_array::ArrayRef;

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
