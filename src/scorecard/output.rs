//! The output tables: the long KPI table, the bands and the fired diagnostics.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt32Array,
};
use arrow_schema::{Field, Schema};

use crate::bands::{level_in, Band, Region};
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
        let mut keys = Vec::new();
        let mut rows: Vec<(&'static KpiDef, Measure)> = Vec::new();
        for (&(p, g), result) in cells.iter().zip(results) {
            for (k, kpi) in CATALOG.iter().enumerate() {
                if active[k] {
                    keys.push((p, g));
                    rows.push((kpi, result.current[k]));
                }
            }
        }
        let mut columns = self.key_columns(calendar, &keys)?;
        let floats = |f: fn(&Measure) -> Option<f64>| -> ArrayRef {
            Arc::new(Float64Array::from(
                rows.iter().map(|(_, m)| f(m)).collect::<Vec<_>>(),
            ))
        };
        columns.push((
            "kpi".into(),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(k, _)| k.id),
            )),
        ));
        columns.push(("value".into(), floats(|m| m.value)));
        columns.push(("numerator".into(), floats(|m| m.numerator)));
        columns.push(("denominator".into(), floats(|m| m.denominator)));
        columns.push((
            "unit".into(),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(k, _)| k.unit.name()),
            )),
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
        let (mut kpi, mut value, mut band, mut owner, mut baseline, mut delta, mut expected) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for &(p, g, result) in cells {
            let (start, end) = (calendar.period_start(p), calendar.period_end(p));
            // A peak overlapping the period makes a band change expected (seed 001).
            let peak = events
                .iter()
                .any(|e| e.kind == "peak" && e.start < end && e.end >= start);
            for (k, def, rule, regions) in &banded {
                let k = *k;
                let v = result.current[k].value;
                let b = result.baseline[k];
                keys.push((p, g));
                kpi.push(def.id);
                value.push(v);
                band.push(v.map(|v| level_in(regions, v).name()));
                owner.push(rule.owner.to_string());
                baseline.push(b);
                delta.push(v.zip(b).map(|(v, b)| v - b));
                expected.push(peak);
            }
        }
        let mut columns = self.key_columns(calendar, &keys)?;
        columns.push(("kpi".into(), Arc::new(StringArray::from_iter_values(kpi))));
        columns.push(("value".into(), Arc::new(Float64Array::from(value))));
        columns.push(("band".into(), Arc::new(StringArray::from(band))));
        columns.push((
            "owner".into(),
            Arc::new(StringArray::from_iter_values(owner)),
        ));
        columns.push(("baseline".into(), Arc::new(Float64Array::from(baseline))));
        columns.push((
            "delta_vs_baseline".into(),
            Arc::new(Float64Array::from(delta)),
        ));
        columns.push(("expected".into(), Arc::new(BooleanArray::from(expected))));
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
