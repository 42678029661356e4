//! Memory budget of a scorecard view. The states are dense: one per local day × group, one
//! per period × group × KPI in the results, one count per dimension value × period × group
//! for the slice rules. A few rows spread over a century, or a few hundred groups over
//! years, ask for gigabytes; this module sizes a view before anything is allocated and
//! turns an oversized one into a `ConfigError` that says what to change.

use crate::error::{Error, Result};
use crate::ingest::TableAudit;
use crate::kpis::customers::RepurchaseState;
use crate::kpis::sample::{CellValues, DayTotals};
use crate::kpis::ContactState;
use crate::kpis::{Measure, CATALOG};
use crate::time::Calendar;
use serde::{Deserialize, Serialize};

/// Resource limits: the `[limits]` section of the config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most memory a view's day grid, results and slice counts may take, MB. Unset: 512 MB
    /// plus 64 KB per input row, at most half the machine's memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_grid_mb: Option<f64>,
}

impl Limits {
    /// A budget, when given, is a finite number of MB, not negative.
    pub fn check(&self) -> Result<()> {
        if let Some(mb) = self.max_grid_mb {
            if !(mb.is_finite() && mb >= 0.0) {
                return Err(Error::config(
                    "limits.max_grid_mb",
                    "must be a finite number of MB, not negative",
                ));
            }
        }
        Ok(())
    }
}

/// The budget every view gets whatever its input, bytes.
const FLOOR_BYTES: u128 = 512 << 20;
/// The budget added per input row (contacts and orders), bytes. Many groups make the
/// grid and the output larger than the rows (20,000 agents over a month from 40,000
/// contacts take about 1 GB), which is fine; what the budget stops is a grid out of all
/// proportion to its input (100 rows asking for 4.7 GB is 47 MB a row).
const BYTES_PER_ROW: u128 = 64 << 10;
/// Rough size of one output row (period, group keys, KPI id, value, numerator,
/// denominator, unit) across the long table, the bands table and their pandas copies.
const OUTPUT_ROW_BYTES: u128 = 160;

/// The shape of a view: what its dense tables are sized by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewShape {
    /// Local days of the grid.
    pub days: usize,
    /// Periods of the grid.
    pub periods: usize,
    /// Groups (1 without group_by).
    pub groups: usize,
    /// Distinct values over every dimension the slice rules read.
    pub slice_values: usize,
}

impl ViewShape {
    /// The shape of a view over `calendar` with `groups` groups and `slice_values` values.
    pub fn new(calendar: &Calendar, groups: usize, slice_values: usize) -> ViewShape {
        ViewShape {
            days: calendar.n_days(),
            periods: calendar.n_periods(),
            groups,
            slice_values,
        }
    }

    /// Bytes the view's dense tables take, estimated from the sizes of their cells.
    pub fn bytes(&self) -> u128 {
        let (days, periods, groups, values) = (
            self.days as u128,
            self.periods as u128,
            self.groups as u128,
            self.slice_values as u128,
        );
        let day_cell = (size_of::<ContactState>() + size_of::<CellValues>()) as u128;
        let kpis = CATALOG.len() as u128;
        // Per period × group: the cohorts, the backlog, each KPI's current and baseline
        // value, and the output rows.
        let period_cell = size_of::<RepurchaseState>() as u128
            + 24
            + kpis * 2 * size_of::<Measure>() as u128
            + kpis * OUTPUT_ROW_BYTES;
        // Slice counts: contacts and preventable per period × group, orders and sessions
        // per period.
        let slice_cell = 16 * groups + 16;
        days.saturating_mul(groups.saturating_mul(day_cell) + size_of::<DayTotals>() as u128)
            .saturating_add(periods.saturating_mul(groups).saturating_mul(period_cell))
            .saturating_add(values.saturating_mul(periods).saturating_mul(slice_cell))
    }
}

/// Contacts and orders rows read, from the row audits: the input the budget grows with.
pub fn input_rows(audits: &[TableAudit]) -> u128 {
    audits
        .iter()
        .filter(|a| a.table == "contacts" || a.table == "orders")
        .map(|a| a.rows_read as u128)
        .sum()
}

/// The most memory a view's dense tables may take, bytes: `limits.max_grid_mb` when set,
/// else 512 MB plus 64 KB per input row, and never more than half the machine's memory
/// (an allocation past that fails or swaps whatever the input).
pub fn budget_bytes(limits: &Limits, input_rows: u128) -> u128 {
    if let Some(mb) = limits.max_grid_mb {
        return (mb * 1_048_576.0) as u128;
    }
    let relative = FLOOR_BYTES.saturating_add(BYTES_PER_ROW.saturating_mul(input_rows));
    match physical_memory_bytes() {
        Some(total) => relative.min((total / 2).max(FLOOR_BYTES)),
        None => relative,
    }
}

/// Total memory of the machine, from /proc/meminfo (None elsewhere or unreadable).
fn physical_memory_bytes() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Checks a view's shape against the budget; the error names the sizes and what to change.
pub fn check(shape: &ViewShape, limits: &Limits, input_rows: u128) -> Result<()> {
    let need = shape.bytes();
    let budget = budget_bytes(limits, input_rows);
    if need <= budget {
        return Ok(());
    }
    let mb = |b: u128| b.div_ceil(1 << 20);
    let source = if limits.max_grid_mb.is_some() {
        "limits.max_grid_mb".to_owned()
    } else {
        format!("the default for {input_rows} input rows")
    };
    Err(Error::config(
        "limits.max_grid_mb",
        format!(
            "this scorecard would need about {} MB ({} days x {} groups, {} periods, {} \
             dimension values for the slice rules), over the limit of {} MB ({source}). \
             Narrow the date range (an explicit as_of, or filter out rows far from the \
             rest), group by fewer values, use a coarser by=, switch off the slice rules \
             on high-cardinality dimensions, or raise limits.max_grid_mb",
            mb(need),
            shape.days,
            shape.groups,
            shape.periods,
            shape.slice_values,
            mb(budget),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with_limit(mb: Option<f64>) -> Limits {
        Limits { max_grid_mb: mb }
    }

    #[test]
    fn a_century_of_days_for_a_hundred_groups_is_refused_with_what_to_change() {
        let shape = ViewShape {
            days: 36_525,
            periods: 5_218,
            groups: 100,
            slice_values: 0,
        };
        // The case: 100 rows, measured at 4.7 GB before this check existed.
        assert!(shape.bytes() > 2 << 30, "{}", shape.bytes());
        let err = check(&shape, &config_with_limit(None), 100).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("limits.max_grid_mb:"), "{text}");
        assert!(text.contains("36525 days x 100 groups"), "{text}");
        assert!(text.contains("as_of"), "{text}");
    }

    #[test]
    fn the_budget_grows_with_the_input_and_the_setting_overrides_it() {
        let shape = ViewShape {
            days: 3 * 365,
            periods: 157,
            groups: 500,
            slice_values: 0,
        };
        let config = config_with_limit(None);
        // Too big for a hundred rows, fine for the million rows such a grid summarises.
        assert!(check(&shape, &config, 100).is_err());
        let big_input = 1_000_000;
        if budget_bytes(&config, big_input) >= shape.bytes() {
            assert!(check(&shape, &config, big_input).is_ok());
        }
        assert!(check(&shape, &config_with_limit(Some(1e6)), 100).is_ok());
        assert!(check(&ViewShape::default(), &config_with_limit(Some(0.0)), 0).is_ok());
    }
}
