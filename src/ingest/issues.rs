//! Row validation shared by the table readers: invalid rows found in parallel blocks, reported
//! as a typed error naming table, column and a sample row, or dropped and counted.

use arrow_array::ArrayRef;
use rayon::prelude::*;

use super::columns::{compact, render_ts, ReadError, NULL_TS};
use super::ids::IdColumn;
use crate::error::{BadValue, Error, Result, RowRef};

use super::input::{OnInvalid, TableAudit, TableInput};

/// Rows per block of [`bad_rows`]: a block is scanned by a plain loop.
pub(super) const CHECK_BLOCK_ROWS: usize = 1 << 15;

/// The rows where `is_bad` returns something, in row order (only the first with
/// `first_only`). Fixed blocks of rows are scanned in parallel, each by a plain loop: a
/// per-row parallel find costs several times the compare it guards, and a load of 10M
/// rows runs a dozen checks.
pub(super) fn bad_rows<T: Send>(
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
pub(super) struct RowIssues<'a> {
    table: &'static str,
    ids: Option<&'a IdColumn>,
    pub(super) mode: OnInvalid,
    /// Per row: index into `reasons` of the first rule it broke, or u32::MAX.
    reason_of_row: Vec<u32>,
    reasons: Vec<(String, u64)>,
}

impl<'a> RowIssues<'a> {
    pub(super) fn new(
        table: &'static str,
        ids: Option<&'a IdColumn>,
        rows: usize,
        mode: OnInvalid,
    ) -> Self {
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
    pub(super) fn flag(
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
    pub(super) fn check(
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
    pub(super) fn flag_unreadable_ids(
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
    pub(super) fn flag_rows(&mut self, column: &str, message: &str, rows: &[usize]) -> Result<()> {
        for &row in rows {
            self.flag(column, message, row, String::new)?;
        }
        Ok(())
    }

    /// Rows whose id is null or repeats an earlier row's (the first occurrence is kept).
    pub(super) fn check_ids(&mut self, column: &str, ids: &IdColumn) -> Result<()> {
        let (nulls, duplicates) = ids.nulls_and_duplicates(self.mode == OnInvalid::Raise);
        self.flag_rows(column, "ids must not be null", &nulls)?;
        self.flag_rows(
            column,
            "duplicate id: ids must be unique per row",
            &duplicates,
        )
    }

    /// Non-finite floats where the contract wants finite numbers.
    pub(super) fn check_finite(
        &mut self,
        column: &str,
        values: &[f64],
        non_finite: &[usize],
    ) -> Result<()> {
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
    pub(super) fn check_scale(
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

    pub(super) fn check_not_null_ts(&mut self, column: &str, ts: &[i64]) -> Result<()> {
        self.check(column, "must not be null", ts.len(), |i| {
            (ts[i] == NULL_TS).then(String::new)
        })
    }

    /// Flags timestamps outside the plausible range [earliest, latest) (nulls pass).
    pub(super) fn check_plausible(
        &mut self,
        column: &str,
        ts: &[i64],
        range: (i64, i64),
    ) -> Result<()> {
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

    pub(super) fn check_not_before(
        &mut self,
        column: &str,
        later: &[i64],
        created: &[i64],
    ) -> Result<()> {
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
    pub(super) fn finish(
        self,
        rows: usize,
    ) -> (Option<Vec<bool>>, TableAudit, Vec<Option<String>>) {
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
pub(super) fn read_failure(
    table: &str,
    column: &str,
    ids: Option<&IdColumn>,
    err: ReadError,
) -> Error {
    match err {
        ReadError::Type(message) => Error::schema(table, column, message),
        ReadError::Value(bad) => bad_value(table, column, ids, bad),
    }
}

pub(super) fn bad_value(table: &str, column: &str, ids: Option<&IdColumn>, bad: BadValue) -> Error {
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
pub(super) fn optional<T>(
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

pub(super) fn required<T>(
    table: &TableInput,
    column: &str,
    read: impl FnOnce(&[ArrayRef]) -> std::result::Result<T, ReadError>,
) -> Result<T> {
    let chunks = table.require(column)?;
    read(&chunks).map_err(|e| read_failure(table.name, column, None, e))
}

pub(super) fn compact_opt<T: Copy>(values: Option<Vec<T>>, keep: &[bool]) -> Option<Vec<T>> {
    values.map(|v| compact(v, keep))
}

pub(super) fn positions(rows: &[(usize, String)]) -> Vec<usize> {
    rows.iter().map(|(row, _)| *row).collect()
}

pub(super) fn source_rows(keep: &[bool]) -> Vec<u32> {
    keep.iter()
        .enumerate()
        .filter_map(|(i, &k)| k.then_some(i as u32))
        .collect()
}
