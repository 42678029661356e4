//! The output tables: the long KPI table, the bands and the fired diagnostics.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{Field, Schema};
use rayon::prelude::*;

use crate::bands::{interval_in_band, level_in, Band, Region, INSUFFICIENT};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::{Event, TableAudit};
use crate::kpis::{KpiDef, Measure, CATALOG};
use crate::time::Calendar;

use super::cells::CellResults;
use crate::diagnostics::{Finding, PreparedRule};

pub(super) fn batch(columns: Vec<(String, ArrayRef)>, what: &str) -> Result<RecordBatch> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(name, array.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .map_err(|e| Error::arrow(format!("building the {what} table"), e))
}

/// The scorecard as computed by the core.
pub struct Scorecard {
    /// The long table (see docs/semantics.md).
    pub table: RecordBatch,
    /// Bands per period × group × banded KPI.
    pub bands: RecordBatch,
    /// Fired diagnostic rules.
    pub diagnostics: RecordBatch,
    /// KPI id -> why it was left out.
    pub skipped: Vec<(String, String)>,
    /// The as_of used, UTC µs (None for empty inputs).
    pub as_of: Option<i64>,
    /// Rows read, used and dropped per table.
    pub row_audit: Vec<TableAudit>,
}

/// One row of the bands table: a banded KPI of one cell.
struct BandRow<'a> {
    band: &'a Band,
    regions: &'a [Region],
    current: &'a Measure,
    baseline: &'a Measure,
    /// A peak overlaps the period (a band change is expected, seed 001).
    expected: bool,
}

impl BandRow<'_> {
    /// The band on evidence (SPEC §10.2: `insufficient` below the band's min_sample).
    fn level(&self) -> Option<&'static str> {
        self.current.value.map(|v| {
            if self.enough() {
                level_in(self.regions, v).name()
            } else {
                INSUFFICIENT
            }
        })
    }

    fn enough(&self) -> bool {
        self.band.enough(self.current.sample)
    }

    /// The whole interval lies in the value's band region (never on too little evidence).
    fn certain(&self) -> Option<bool> {
        self.current
            .value
            .zip(self.current.interval)
            .map(|(v, interval)| self.enough() && interval_in_band(self.regions, v, interval))
    }
}

/// Builds some columns of the rows of a range of cells, in one pass over them.
type BuildColumns<'a> = Box<dyn Fn(Range<usize>) -> Vec<ArrayRef> + Send + Sync + 'a>;
/// Named columns built together.
struct ColumnsOf<'a> {
    names: &'static [&'static str],
    build: BuildColumns<'a>,
    /// Built over ranges of cells in parallel, then concatenated.
    split: bool,
}

/// One column, built in one piece (a text column split would be copied again to join).
fn one<'a>(
    name: &'static [&'static str],
    build: impl Fn(Range<usize>) -> ArrayRef + Send + Sync + 'a,
) -> ColumnsOf<'a> {
    ColumnsOf {
        names: name,
        build: Box::new(move |cells| vec![build(cells)]),
        split: false,
    }
}

/// The columns read off the cells' measures, in one pass, split over ranges of cells (at
/// 100k groups the measures are 135 MB: a pass per column read them 7 times, and one
/// thread reading them alone was the table's longest task).
fn measured<'a>(
    names: &'static [&'static str],
    build: impl Fn(Range<usize>) -> Vec<ArrayRef> + Send + Sync + 'a,
) -> ColumnsOf<'a> {
    ColumnsOf {
        names,
        build: Box::new(build),
        split: true,
    }
}

/// Builds every group over fixed ranges of the `n_cells` cells, all in parallel, and
/// concatenates each column's ranges; the columns in the order of `order`.
fn build_columns(
    groups: Vec<ColumnsOf<'_>>,
    n_cells: usize,
    order: &[&str],
) -> Result<Vec<(String, ArrayRef)>> {
    let per_range = n_cells.div_ceil(rayon::current_num_threads() * 2).max(1);
    // At least one range, so that a table without cells still gets typed columns.
    let ranges: Vec<Range<usize>> = (0..n_cells.div_ceil(per_range).max(1))
        .map(|r| r * per_range..((r + 1) * per_range).min(n_cells))
        .collect();
    let all_cells = 0..n_cells;
    let whole = std::slice::from_ref(&all_cells);
    let ranges_of = |group: &ColumnsOf| if group.split { &ranges[..] } else { whole };
    let tasks: Vec<(&ColumnsOf, &Range<usize>)> = groups
        .iter()
        .flat_map(|group| ranges_of(group).iter().map(move |r| (group, r)))
        .collect();
    let parts: Vec<Vec<ArrayRef>> = tasks
        .into_par_iter()
        .map(|(group, cells)| (group.build)(cells.clone()))
        .collect();
    let mut parts = parts.into_iter();
    let mut built: Vec<(&str, ArrayRef)> = Vec::new();
    for group in &groups {
        let of_group: Vec<Vec<ArrayRef>> = parts.by_ref().take(ranges_of(group).len()).collect();
        for (c, &name) in group.names.iter().enumerate() {
            let column = match of_group.as_slice() {
                [whole] => Arc::clone(&whole[c]),
                pieces => {
                    let pieces: Vec<&dyn Array> = pieces.iter().map(|p| p[c].as_ref()).collect();
                    arrow_select::concat::concat(&pieces)
                        .map_err(|e| Error::arrow(format!("building the {name} column"), e))?
                }
            };
            built.push((name, column));
        }
    }
    debug_assert!(built.iter().all(|(name, _)| order.contains(name)));
    built.sort_by_key(|(name, _)| order.iter().position(|o| o == name));
    Ok(built
        .into_iter()
        .map(|(name, column)| (name.to_owned(), column))
        .collect())
}

/// Float columns filled in one pass, a value per column from each row.
fn float_columns<const N: usize>(
    rows: usize,
    values: impl Iterator<Item = [Option<f64>; N]>,
) -> Vec<ArrayRef> {
    let mut columns: [Float64Builder; N] =
        std::array::from_fn(|_| Float64Builder::with_capacity(rows));
    for row in values {
        for (column, v) in columns.iter_mut().zip(row) {
            column.append_option(v);
        }
    }
    columns
        .into_iter()
        .map(|mut column| Arc::new(column.finish()) as ArrayRef)
        .collect()
}

fn text_column<'s>(rows: usize, values: impl Iterator<Item = Option<&'s str>>) -> ArrayRef {
    let mut column = StringBuilder::with_capacity(rows, rows * 16);
    for v in values {
        column.append_option(v);
    }
    Arc::new(column.finish())
}

/// A text column of `block` repeated `times` times (a long table's kpi column: the same
/// names for every cell), copied a block at a time instead of row by row.
fn repeated_text(block: &[&str], times: usize) -> ArrayRef {
    let bytes = block.concat();
    let rows = block.len() * times;
    // Offsets are i32: past 2 GiB of text, the row-by-row builder takes over, as for every
    // other text column.
    if bytes.len().saturating_mul(times) > i32::MAX as usize {
        return text_column(
            rows,
            (0..times).flat_map(|_| block.iter().map(|name| Some(*name))),
        );
    }
    let mut values = Vec::with_capacity(bytes.len() * times);
    let mut offsets = Vec::with_capacity(rows + 1);
    offsets.push(0i32);
    let mut end = 0i32;
    for _ in 0..times {
        values.extend_from_slice(bytes.as_bytes());
        for name in block {
            end += name.len() as i32;
            offsets.push(end);
        }
    }
    Arc::new(StringArray::new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(values),
        None,
    ))
}

fn bool_column(rows: usize, values: impl Iterator<Item = Option<bool>>) -> ArrayRef {
    let mut column = BooleanBuilder::with_capacity(rows);
    for v in values {
        column.append_option(v);
    }
    Arc::new(column.finish())
}

/// Builds the output tables (shared key columns: period_start and the group columns).
pub(super) struct Output<'a> {
    pub(super) tz: chrono_tz::Tz,
    pub(super) group_keys: &'a [(String, ArrayRef)],
}

impl Output<'_> {
    pub(super) fn key_columns(
        &self,
        calendar: &Calendar,
        keys: &[(usize, usize)],
    ) -> Result<Vec<(String, ArrayRef)>> {
        let tz_name: Arc<str> = Arc::from(self.tz.name());
        let period_start = TimestampMicrosecondArray::from(
            keys.iter()
                .map(|&(p, _)| calendar.period_start(p))
                .collect::<Vec<_>>(),
        )
        .with_timezone(tz_name);
        let mut columns: Vec<(String, ArrayRef)> =
            vec![("period_start".to_owned(), Arc::new(period_start))];
        let take_rows = UInt32Array::from(keys.iter().map(|&(_, g)| g as u32).collect::<Vec<_>>());
        for (column, values) in self.group_keys {
            let taken = arrow_select::take::take(values.as_ref(), &take_rows, None)
                .map_err(|e| Error::arrow("building the scorecard's group columns", e))?;
            columns.push((column.clone(), taken));
        }
        Ok(columns)
    }

    /// The key columns of `cells`, each repeated `per_cell` times, then `columns` in the
    /// order of `order`; all built in parallel.
    fn columns_of_cells(
        &self,
        calendar: &Calendar,
        (cells, per_cell): (&[(usize, usize)], usize),
        columns: Vec<ColumnsOf<'_>>,
        order: &[&str],
    ) -> Result<Vec<(String, ArrayRef)>> {
        let (keys, values) = rayon::join(
            || {
                let keys: Vec<(usize, usize)> = cells
                    .iter()
                    .flat_map(|&cell| std::iter::repeat_n(cell, per_cell))
                    .collect();
                self.key_columns(calendar, &keys)
            },
            || build_columns(columns, cells.len(), order),
        );
        let mut all = keys?;
        all.extend(values?);
        Ok(all)
    }

    pub(super) fn kpi_table(
        &self,
        calendar: &Calendar,
        cells: &[(usize, usize)],
        results: &CellResults,
        active: &[bool],
    ) -> Result<RecordBatch> {
        // Columns are filled straight from the cells, row order = cells × shown KPIs: the
        // measures' columns in one pass, the names in others, in parallel (no per-row list
        // of measures).
        let shown: Vec<usize> = (0..CATALOG.len()).filter(|&k| active[k]).collect();
        let shown = &shown;
        let rows = move |cells: &Range<usize>| cells.len() * shown.len();
        let measures = move |cells: Range<usize>| {
            cells.flat_map(move |cell| shown.iter().map(move |&k| results.current(cell, k)))
        };
        let ids: Vec<&str> = shown.iter().map(|&k| CATALOG[k].id).collect();
        let units: Vec<&str> = shown.iter().map(|&k| CATALOG[k].unit.name()).collect();
        let (ids, units) = (&ids, &units);
        let columns = self.columns_of_cells(
            calendar,
            (cells, shown.len()),
            vec![
                one(&["kpi"], move |c| repeated_text(ids, c.len())),
                one(&["unit"], move |c| repeated_text(units, c.len())),
                measured(
                    &["value", "numerator", "denominator", "ci_low", "ci_high"],
                    move |c| {
                        float_columns(
                            rows(&c),
                            measures(c).map(|m: &Measure| {
                                [
                                    m.value,
                                    m.numerator,
                                    m.denominator,
                                    m.interval.map(|i| i.0),
                                    m.interval.map(|i| i.1),
                                ]
                            }),
                        )
                    },
                ),
            ],
            // SPEC §10.1's columns after the columns the long table always had.
            &[
                "kpi",
                "value",
                "numerator",
                "denominator",
                "unit",
                "ci_low",
                "ci_high",
            ],
        )?;
        batch(columns, "scorecard")
    }

    pub(super) fn bands_table(
        &self,
        calendar: &Calendar,
        (cells, results): (&[(usize, usize)], &CellResults),
        config: &Config,
        active: &[bool],
        events: &[Event],
    ) -> Result<RecordBatch> {
        let banded: Vec<(usize, &'static KpiDef, &Band, Vec<Region>)> = CATALOG
            .iter()
            .copied()
            .enumerate()
            .filter(|(k, _)| active[*k])
            .filter_map(|(k, kpi)| {
                let band = config.bands.get(kpi.id)?;
                Some((k, kpi, band, band.regions()))
            })
            .collect();
        // A peak overlapping the period makes a band change expected (seed 001).
        let peak: Vec<bool> = (0..calendar.n_periods())
            .map(|p| {
                let (start, end) = (calendar.period_start(p), calendar.period_end(p));
                events
                    .iter()
                    .any(|e| e.kind == "peak" && e.start < end && e.end >= start)
            })
            .collect();
        let ids: Vec<&str> = banded.iter().map(|(_, def, ..)| def.id).collect();
        let owners: Vec<&str> = banded
            .iter()
            .map(|(_, _, band, _)| band.owner.as_ref())
            .collect();
        let (banded, peak, ids, owners) = (&banded, &peak, &ids, &owners);
        let n_rows = move |of: &Range<usize>| of.len() * banded.len();
        let rows = move |of: Range<usize>| {
            of.map(move |cell| (cell, cells[cell].0))
                .flat_map(move |(cell, p)| {
                    banded.iter().map(move |(k, _, band, regions)| BandRow {
                        band,
                        regions,
                        current: results.current(cell, *k),
                        baseline: results.baseline(cell, *k),
                        expected: peak[p],
                    })
                })
        };
        // The columns read off the measures, in one pass (see `measured`).
        const MEASURED: &[&str] = &[
            "value",
            "baseline",
            "delta_vs_baseline",
            "n",
            "ci_low",
            "ci_high",
            "p_value",
            "band",
            "band_certain",
        ];
        let measured_columns = move |of: Range<usize>| -> Vec<ArrayRef> {
            let n_rows = n_rows(&of);
            let mut band = StringBuilder::with_capacity(n_rows, n_rows * 8);
            let mut certain = BooleanBuilder::with_capacity(n_rows);
            let mut floats = float_columns(
                n_rows,
                rows(of).map(|r| {
                    band.append_option(r.level());
                    certain.append_option(r.certain());
                    let (now, then) = (r.current, r.baseline);
                    [
                        now.value,
                        then.value,
                        now.value.zip(then.value).map(|(v, b)| v - b),
                        now.sample,
                        now.interval.map(|i| i.0),
                        now.interval.map(|i| i.1),
                        now.p_value_against(then),
                    ]
                }),
            );
            floats.push(Arc::new(band.finish()));
            floats.push(Arc::new(certain.finish()));
            floats
        };
        let columns = self.columns_of_cells(
            calendar,
            (cells, banded.len()),
            vec![
                one(&["kpi"], move |of| repeated_text(ids, of.len())),
                one(&["owner"], move |of| repeated_text(owners, of.len())),
                one(&["expected"], move |of| {
                    bool_column(n_rows(&of), rows(of).map(|r| Some(r.expected)))
                }),
                measured(MEASURED, measured_columns),
            ],
            // SPEC §10.2 and §10.3's columns (n on) after the columns the bands table
            // always had.
            &[
                "kpi",
                "value",
                "band",
                "owner",
                "baseline",
                "delta_vs_baseline",
                "expected",
                "n",
                "ci_low",
                "ci_high",
                "band_certain",
                "p_value",
            ],
        )?;
        batch(columns, "bands")
    }

    pub(super) fn diagnostics_table(
        &self,
        calendar: &Calendar,
        findings: &[Finding],
        rules: &[PreparedRule],
    ) -> Result<RecordBatch> {
        let keys: Vec<(usize, usize)> = findings.iter().map(|f| (f.p, f.g)).collect();
        let mut columns = self.key_columns(calendar, &keys)?;
        let text = |f: fn(&PreparedRule) -> &str| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(
                findings.iter().map(|x| f(&rules[x.rule]).to_owned()),
            ))
        };
        columns.push(("rule".into(), text(|r| &r.id)));
        columns.push(("symptom".into(), text(|r| &r.spec.symptom)));
        columns.push(("likely_cause".into(), text(|r| &r.spec.likely_cause)));
        columns.push(("action".into(), text(|r| &r.spec.action)));
        columns.push((
            "validation_metric".into(),
            text(|r| &r.spec.validation_metric),
        ));
        columns.push(("owner".into(), text(|r| &r.spec.owner)));
        let evidence: Vec<String> = findings
            .iter()
            .map(|f| serde_json::to_string(&f.evidence).unwrap_or_else(|_| "{}".to_owned()))
            .collect();
        columns.push((
            "evidence".into(),
            Arc::new(StringArray::from_iter_values(evidence)),
        ));
        batch(columns, "diagnostics")
    }
}
