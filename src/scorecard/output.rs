//! The output tables: the long KPI table, the bands and the fired diagnostics.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array};
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
    kpi: &'static str,
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

/// Builds one column in one pass over the rows.
type BuildColumn<'a> = Box<dyn Fn() -> ArrayRef + Send + Sync + 'a>;
/// A named column; a table's columns are built in parallel.
type ColumnOf<'a> = (&'static str, BuildColumn<'a>);

fn build_columns(columns: Vec<ColumnOf<'_>>) -> Vec<(String, ArrayRef)> {
    columns
        .into_par_iter()
        .map(|(name, build)| (name.to_owned(), build()))
        .collect()
}

fn float_column(rows: usize, values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    let mut column = Float64Builder::with_capacity(rows);
    for v in values {
        column.append_option(v);
    }
    Arc::new(column.finish())
}

fn text_column<'s>(rows: usize, values: impl Iterator<Item = Option<&'s str>>) -> ArrayRef {
    let mut column = StringBuilder::with_capacity(rows, rows * 16);
    for v in values {
        column.append_option(v);
    }
    Arc::new(column.finish())
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

    /// The key columns of `cells`, each repeated `per_cell` times, then `columns`; all
    /// built in parallel.
    fn columns_of_cells(
        &self,
        calendar: &Calendar,
        (cells, per_cell): (&[(usize, usize)], usize),
        columns: Vec<ColumnOf<'_>>,
    ) -> Result<Vec<(String, ArrayRef)>> {
        let (keys, values) = rayon::join(
            || {
                let keys: Vec<(usize, usize)> = cells
                    .iter()
                    .flat_map(|&cell| std::iter::repeat_n(cell, per_cell))
                    .collect();
                self.key_columns(calendar, &keys)
            },
            || build_columns(columns),
        );
        let mut all = keys?;
        all.extend(values);
        Ok(all)
    }

    pub(super) fn kpi_table(
        &self,
        calendar: &Calendar,
        cells: &[(usize, usize)],
        results: &CellResults,
        active: &[bool],
    ) -> Result<RecordBatch> {
        // Columns are filled straight from the cells, row order = cells × shown KPIs, each
        // column in its own pass and the passes in parallel (no per-row list of measures).
        let shown: Vec<usize> = (0..CATALOG.len()).filter(|&k| active[k]).collect();
        let rows = cells.len() * shown.len();
        let shown = &shown;
        let measures = move || {
            (0..cells.len())
                .flat_map(move |cell| shown.iter().map(move |&k| results.current(cell, k)))
        };
        let kpis = move || {
            cells
                .iter()
                .flat_map(move |_| shown.iter().map(|&k| CATALOG[k]))
        };
        let floats = move |f: fn(&Measure) -> Option<f64>| -> BuildColumn<'_> {
            Box::new(move || float_column(rows, measures().map(f)))
        };
        let columns = self.columns_of_cells(
            calendar,
            (cells, shown.len()),
            vec![
                (
                    "kpi",
                    Box::new(move || text_column(rows, kpis().map(|k| Some(k.id)))),
                ),
                ("value", floats(|m| m.value)),
                ("numerator", floats(|m| m.numerator)),
                ("denominator", floats(|m| m.denominator)),
                (
                    "unit",
                    Box::new(move || text_column(rows, kpis().map(|k| Some(k.unit.name())))),
                ),
                // SPEC §10.1, after the columns the long table always had.
                ("ci_low", floats(|m| m.interval.map(|i| i.0))),
                ("ci_high", floats(|m| m.interval.map(|i| i.1))),
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
        let n_rows = cells.len() * banded.len();
        let (banded, peak) = (&banded, &peak);
        let rows = move || {
            cells.iter().enumerate().flat_map(move |(cell, &(p, _))| {
                banded.iter().map(move |(k, def, band, regions)| BandRow {
                    kpi: def.id,
                    band,
                    regions,
                    current: results.current(cell, *k),
                    baseline: results.baseline(cell, *k),
                    expected: peak[p],
                })
            })
        };
        let floats = move |f: fn(&BandRow) -> Option<f64>| -> BuildColumn<'_> {
            Box::new(move || float_column(n_rows, rows().map(|r| f(&r))))
        };
        let columns = self.columns_of_cells(
            calendar,
            (cells, banded.len()),
            vec![
                (
                    "kpi",
                    Box::new(move || text_column(n_rows, rows().map(|r| Some(r.kpi)))),
                ),
                ("value", floats(|r| r.current.value)),
                (
                    "band",
                    Box::new(move || text_column(n_rows, rows().map(|r| r.level()))),
                ),
                (
                    "owner",
                    Box::new(move || {
                        text_column(n_rows, rows().map(|r| Some(r.band.owner.as_ref())))
                    }),
                ),
                ("baseline", floats(|r| r.baseline.value)),
                (
                    "delta_vs_baseline",
                    floats(|r| r.current.value.zip(r.baseline.value).map(|(v, b)| v - b)),
                ),
                (
                    "expected",
                    Box::new(move || bool_column(n_rows, rows().map(|r| Some(r.expected)))),
                ),
                // SPEC §10.2 and §10.3, after the columns the bands table always had.
                ("n", floats(|r| r.current.sample)),
                ("ci_low", floats(|r| r.current.interval.map(|i| i.0))),
                ("ci_high", floats(|r| r.current.interval.map(|i| i.1))),
                (
                    "band_certain",
                    Box::new(move || bool_column(n_rows, rows().map(|r| r.certain()))),
                ),
                ("p_value", floats(|r| r.current.p_value_against(r.baseline))),
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
