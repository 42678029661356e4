//! The output tables: the long KPI table, the bands and the fired diagnostics.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt32Array,
};
use arrow_schema::{Field, Schema};

use crate::bands::{interval_in_band, level_in, Band, Region, INSUFFICIENT};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::{Event, TableAudit};
use crate::kpis::{KpiDef, Measure, CATALOG};
use crate::time::Calendar;

use super::cells::CellResult;
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

/// The columns of the bands table, row by row.
#[derive(Default)]
struct BandRows {
    kpi: Vec<&'static str>,
    value: Vec<Option<f64>>,
    band: Vec<Option<&'static str>>,
    owner: Vec<String>,
    baseline: Vec<Option<f64>>,
    delta: Vec<Option<f64>>,
    expected: Vec<bool>,
    n: Vec<Option<f64>>,
    ci_low: Vec<Option<f64>>,
    ci_high: Vec<Option<f64>>,
    band_certain: Vec<Option<bool>>,
    p_value: Vec<Option<f64>>,
}

impl BandRows {
    /// One KPI of one cell: its band on evidence (SPEC §10.2: `insufficient` below the
    /// band's min_sample, never certain) and its change against the baseline (§10.3).
    fn push(
        &mut self,
        kpi: &'static str,
        band: &Band,
        regions: &[Region],
        (current, baseline): (&Measure, &Measure),
        expected: bool,
    ) {
        let v = current.value;
        let enough = band.enough(current.sample);
        self.kpi.push(kpi);
        self.value.push(v);
        self.band.push(v.map(|v| {
            if enough {
                level_in(regions, v).name()
            } else {
                INSUFFICIENT
            }
        }));
        self.owner.push(band.owner.to_string());
        self.baseline.push(baseline.value);
        self.delta.push(v.zip(baseline.value).map(|(v, b)| v - b));
        self.expected.push(expected);
        self.n.push(current.sample);
        self.ci_low.push(current.interval.map(|i| i.0));
        self.ci_high.push(current.interval.map(|i| i.1));
        self.band_certain.push(
            v.zip(current.interval)
                .map(|(v, interval)| enough && interval_in_band(regions, v, interval)),
        );
        self.p_value.push(current.p_value_against(baseline));
    }
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

    pub(super) fn kpi_table(
        &self,
        calendar: &Calendar,
        cells: &[(usize, usize)],
        results: &[CellResult],
        active: &[bool],
    ) -> Result<RecordBatch> {
        // Columns are filled straight from the cells, row order = cells × shown KPIs: no
        // per-row list of (KPI, measure) copies (at 100k groups that list alone was ~150 MB
        // of freshly touched memory).
        let shown: Vec<usize> = (0..CATALOG.len()).filter(|&k| active[k]).collect();
        let keys: Vec<(usize, usize)> = cells
            .iter()
            .flat_map(|&cell| std::iter::repeat_n(cell, shown.len()))
            .collect();
        let measures = || {
            results
                .iter()
                .flat_map(|r| shown.iter().map(move |&k| &r.current[k]))
        };
        let kpis = || cells.iter().flat_map(|_| shown.iter().map(|&k| CATALOG[k]));
        let mut columns = self.key_columns(calendar, &keys)?;
        let floats = |f: fn(&Measure) -> Option<f64>| -> ArrayRef {
            Arc::new(measures().map(f).collect::<Float64Array>())
        };
        columns.push((
            "kpi".into(),
            // (from_iter_values needs an exactly sized iterator, which flat_map is not)
            Arc::new(kpis().map(|k| Some(k.id)).collect::<StringArray>()),
        ));
        columns.push(("value".into(), floats(|m| m.value)));
        columns.push(("numerator".into(), floats(|m| m.numerator)));
        columns.push(("denominator".into(), floats(|m| m.denominator)));
        columns.push((
            "unit".into(),
            Arc::new(kpis().map(|k| Some(k.unit.name())).collect::<StringArray>()),
        ));
        // SPEC §10.1, after the columns the long table always had.
        columns.push(("ci_low".into(), floats(|m| m.interval.map(|i| i.0))));
        columns.push(("ci_high".into(), floats(|m| m.interval.map(|i| i.1))));
        batch(columns, "scorecard")
    }

    pub(super) fn bands_table(
        &self,
        calendar: &Calendar,
        cells: &[(usize, usize, &CellResult)],
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
        let mut keys = Vec::new();
        let mut rows = BandRows::default();
        for &(p, g, result) in cells {
            let (start, end) = (calendar.period_start(p), calendar.period_end(p));
            // A peak overlapping the period makes a band change expected (seed 001).
            let peak = events
                .iter()
                .any(|e| e.kind == "peak" && e.start < end && e.end >= start);
            for (k, def, rule, regions) in &banded {
                keys.push((p, g));
                rows.push(
                    def.id,
                    rule,
                    regions,
                    (&result.current[*k], &result.baseline[*k]),
                    peak,
                );
            }
        }
        let mut columns = self.key_columns(calendar, &keys)?;
        let floats = |v: Vec<Option<f64>>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
        columns.push((
            "kpi".into(),
            Arc::new(StringArray::from_iter_values(rows.kpi)),
        ));
        columns.push(("value".into(), floats(rows.value)));
        columns.push(("band".into(), Arc::new(StringArray::from(rows.band))));
        columns.push((
            "owner".into(),
            Arc::new(StringArray::from_iter_values(rows.owner)),
        ));
        columns.push(("baseline".into(), floats(rows.baseline)));
        columns.push(("delta_vs_baseline".into(), floats(rows.delta)));
        columns.push((
            "expected".into(),
            Arc::new(BooleanArray::from(rows.expected)),
        ));
        // SPEC §10.2 and §10.3, after the columns the bands table always had.
        columns.push(("n".into(), floats(rows.n)));
        columns.push(("ci_low".into(), floats(rows.ci_low)));
        columns.push(("ci_high".into(), floats(rows.ci_high)));
        columns.push((
            "band_certain".into(),
            Arc::new(BooleanArray::from(rows.band_certain)),
        ));
        columns.push(("p_value".into(), floats(rows.p_value)));
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
