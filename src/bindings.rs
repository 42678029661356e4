//! The PyO3 binding module `supportkpi._supportkpi`: converts at the edge and nothing else.
//! Arrow streams come in through the PyCapsule interface (`__arrow_c_stream__`), are read
//! while holding the GIL (the producer may be Python code), and all heavy work then runs in
//! [`run_detached`], which releases the GIL and turns a panic into a Python exception.
//! Parquet sources are the exception to reading up front: the engine's threads ask for
//! one column at a time while they work (see [`table_arg`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, RecordBatch};
use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use pyo3_arrow::{PyRecordBatchReader, PySchema, PyTable};

use crate::bands::Band;
use crate::config::Config;
use crate::error::Error;
use crate::ingest::parquet::read_parquet_column;
use crate::ingest::{ColumnLoader, TableInput};
use crate::kpis::catalog_info;
use crate::partial::{combine, merge, options_of, FORMAT_VERSION};
use crate::scorecard::{prepare, Options, Prepared, Scorecard};
use crate::trace::interrupt_on;

/// The extension's own allocator (Python's and pyarrow's are untouched). The engine's
/// columns are tens to hundreds of MB each; the system allocator maps and unmaps every
/// such block, so each new column pays page faults again, while jemalloc reuses freed
/// extents. Initial-exec TLS is off because the extension is loaded with dlopen.
#[cfg(all(unix, not(target_os = "emscripten")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once at its start (`_RJEM_MALLOC_CONF` in the environment
/// still overrides them). By default every block of 8 MB or more lives in an arena that
/// hands freed pages back to the kernel at once, so the next such block (a Parquet row
/// group's column is 8 MB at 2^20 rows; so are a view's per-day lists) faults every page
/// in again: 4.7 GB of page faults in `prepare` at 10M contacts / 20M orders, for 2.3 GB
/// of peak RSS. Up to 64 MB, blocks now go to the ordinary arenas, which keep freed
/// pages for reuse (and return them after the usual ten-second decay); larger ones (whole
/// columns) are still returned at once, which bounds what is kept. Measured at 10M (4
/// alternating runs): the job 6.62-6.96 s -> 5.86-6.20 s, page faults in `prepare` 1.16M
/// -> 0.87M, peak RSS 2.47 -> 2.60-2.64 GB. With no threshold at all the job was
/// 5.79-6.28 s but peak RSS 2.93-2.99 GB.
#[cfg(all(unix, not(target_os = "emscripten")))]
#[export_name = "_rjem_malloc_conf"]
static JEMALLOC_CONF: JemallocConf = JemallocConf(c"oversize_threshold:67108864".as_ptr());

/// A C string pointer jemalloc reads as its `malloc_conf` symbol.
#[cfg(all(unix, not(target_os = "emscripten")))]
#[repr(transparent)]
struct JemallocConf(*const std::ffi::c_char);

// SAFETY: it points at a static, immutable C string.
#[cfg(all(unix, not(target_os = "emscripten")))]
unsafe impl Sync for JemallocConf {}

// The exceptions live in the public `supportkpi` namespace (tracebacks read
// `supportkpi.DataError`), with runnable examples in their docstrings.
create_exception!(
    supportkpi,
    SupportKpiError,
    PyValueError,
    "Base class of every supportkpi error (a ValueError).\n\n\
     Example:\n\
     \x20   >>> import supportkpi as sk\n\
     \x20   >>> [issubclass(e, sk.SupportKpiError) for e in (sk.SchemaError, sk.DataError, sk.ConfigError)]\n\
     \x20   [True, True, True]\n\
     \x20   >>> issubclass(sk.SupportKpiError, ValueError)\n\
     \x20   True\n"
);
create_exception!(
    supportkpi,
    SchemaError,
    SupportKpiError,
    "A required column is missing or a column has the wrong type.\n\n\
     Example:\n\
     \x20   >>> import pandas as pd, supportkpi as sk\n\
     \x20   >>> orders = pd.DataFrame({'order_id': [1], 'customer_id': [1],\n\
     \x20   ...     'created_at': [pd.Timestamp('2024-01-01', tz='UTC')], 'revenue': [9.0]})\n\
     \x20   >>> try:\n\
     \x20   ...     sk.scorecard(pd.DataFrame({'contact_id': [1]}), orders)\n\
     \x20   ... except sk.SchemaError as error:\n\
     \x20   ...     print(str(error)[:48])\n\
     \x20   contacts.customer_id: required column is missing\n"
);
create_exception!(
    supportkpi,
    DataError,
    SupportKpiError,
    "A value breaks the input contract (duplicate ids, out-of-range scores, ...).\n\n\
     Example:\n\
     \x20   >>> import pandas as pd, supportkpi as sk\n\
     \x20   >>> t = pd.Timestamp('2024-01-01', tz='UTC')\n\
     \x20   >>> contacts = pd.DataFrame({'contact_id': ['a', 'a'], 'customer_id': [1, 2],\n\
     \x20   ...     'created_at': [t, t]})\n\
     \x20   >>> orders = pd.DataFrame({'order_id': [1], 'customer_id': [1],\n\
     \x20   ...     'created_at': [t], 'revenue': [9.0]})\n\
     \x20   >>> try:\n\
     \x20   ...     sk.scorecard(contacts, orders)\n\
     \x20   ... except sk.DataError as error:\n\
     \x20   ...     print(error)\n\
     \x20   contacts.contact_id: duplicate id: ids must be unique per row; first offending row: row 1 (id \"a\")\n"
);
create_exception!(
    supportkpi,
    ConfigError,
    SupportKpiError,
    "A bad argument or configuration value; the message names the key.\n\n\
     Example:\n\
     \x20   >>> import supportkpi as sk\n\
     \x20   >>> try:\n\
     \x20   ...     sk.Config({'bands': {'csat_mean': {'healthy': 4.5}}})\n\
     \x20   ... except sk.ConfigError as error:\n\
     \x20   ...     print(str(error)[:39])\n\
     \x20   bands.csat_mean.healthy: unknown field\n"
);

/// Maps the core error variant by variant onto the exception tree.
fn to_py_err(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::Schema { .. } => SchemaError::new_err(message),
        Error::Data { .. } => DataError::new_err(message),
        Error::Config { .. } => ConfigError::new_err(message),
        Error::Arrow { .. } => SupportKpiError::new_err(message),
        Error::Interrupted => PyKeyboardInterrupt::new_err("supportkpi: interrupted"),
    }
}

/// Runs `work` without the GIL, on a worker thread, while this thread watches for Ctrl-C.
///
/// Every 50 ms the calling thread takes the GIL briefly to let Python run its signal
/// handlers (they run only on the main thread); on KeyboardInterrupt it raises the work's
/// interrupt flag, which stops the work at its next phase boundary (at most a second or two
/// on 10M rows), and the call raises KeyboardInterrupt. A panic (a bug: user data must never
/// cause one) surfaces as `SupportKpiError` instead of a `PanicException`, which
/// `except Exception` misses.
fn run_detached<T: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> crate::Result<T> + Send,
) -> PyResult<T> {
    let flag = Arc::new(AtomicBool::new(false));
    let (outcome, interrupt) = py.detach(|| {
        std::thread::scope(|scope| {
            let (done, finished) = mpsc::channel();
            let worker_flag = Arc::clone(&flag);
            scope.spawn(move || {
                let _scope = interrupt_on(worker_flag);
                let _ = done.send(catch_unwind(AssertUnwindSafe(work)));
            });
            let mut interrupt: Option<PyErr> = None;
            loop {
                match finished.recv_timeout(Duration::from_millis(50)) {
                    Ok(outcome) => return (Some(outcome), interrupt),
                    Err(RecvTimeoutError::Disconnected) => return (None, interrupt),
                    Err(RecvTimeoutError::Timeout) => {}
                }
                if interrupt.is_none() {
                    if let Err(error) = Python::attach(|py| py.check_signals()) {
                        flag.store(true, Ordering::Relaxed);
                        interrupt = Some(error);
                    }
                }
            }
        })
    });
    if let Some(error) = interrupt {
        return Err(error);
    }
    match outcome {
        Some(Ok(result)) => result.map_err(to_py_err),
        Some(Err(panic)) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(SupportKpiError::new_err(format!(
                "internal error (please report it with the input's schema): {detail}"
            )))
        }
        None => Err(SupportKpiError::new_err(
            "internal error: the worker thread ended without a result",
        )),
    }
}

/// Reads a whole Arrow stream into batches (holding the GIL: the producer may need it).
fn read_table(
    name: &'static str,
    stream: PyRecordBatchReader,
    options: &Options,
) -> PyResult<TableInput> {
    let reader = stream.into_reader()?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<RecordBatch>, _>>()
        .map_err(|e| to_py_err(Error::arrow(format!("reading {name}"), e)))?;
    Ok(TableInput::new(
        name,
        schema,
        batches,
        options.rename_for(name),
    ))
}

fn parse_options(options_json: &str) -> PyResult<Options> {
    Options::from_json(options_json).map_err(to_py_err)
}

/// What `compute_scorecard` hands back: the long table, the bands, the fired diagnostics,
/// skipped KPIs with reasons, as_of.
/// A computed scorecard as Python sees it: the three tables (pyarrow), what was skipped,
/// the as_of, the row audit and the options of the view, in one object (the Python
/// `Scorecard` is built from it in one place).
#[pyclass(frozen, get_all, module = "supportkpi._supportkpi")]
struct ScorecardResult {
    /// The long table.
    table: Py<PyAny>,
    /// The bands table.
    bands: Py<PyAny>,
    /// The diagnostics table.
    diagnostics: Py<PyAny>,
    /// (KPI id, reason) of the KPIs left out.
    skipped: Vec<(String, String)>,
    /// The as_of used (UTC µs), None for empty inputs.
    as_of: Option<i64>,
    /// Rows read, used and dropped per table (JSON).
    row_audit_json: String,
    /// The options of the view (JSON): by, tz, group_by, the config document, ...
    options_json: String,
}

fn to_pyarrow(py: Python<'_>, batch: RecordBatch) -> PyResult<Bound<'_, PyAny>> {
    batches_to_pyarrow(py, vec![batch])
}

/// One pyarrow.Table of several batches (chunks), without copying.
fn batches_to_pyarrow(py: Python<'_>, batches: Vec<RecordBatch>) -> PyResult<Bound<'_, PyAny>> {
    let Some(first) = batches.first() else {
        return Err(PyValueError::new_err("no batches to return"));
    };
    let schema = first.schema();
    PyTable::try_new(batches, schema)?.into_pyarrow(py)
}

/// A table argument: an Arrow stream (read whole, here), or a file read one column at a
/// time while the work runs: an object with `schema` (Arrow), `num_rows` and
/// `read_column(name)` returning an Arrow stream of that one column, as
/// `supportkpi._arrow.ParquetColumns` is.
fn table_arg(
    name: &'static str,
    table: &Bound<'_, PyAny>,
    options: &Options,
) -> PyResult<TableInput> {
    let py = table.py();
    if !table.hasattr(intern!(py, "read_column"))? {
        return read_table(name, table.extract()?, options);
    }
    let schema: PySchema = table.getattr(intern!(py, "schema"))?.extract()?;
    let schema = schema.into_inner();
    let rows: usize = table.getattr(intern!(py, "num_rows"))?.extract()?;
    // Parquet files the engine decodes itself, in its own pool (`parquet_files`); a column
    // it cannot give as the schema says is read through `read_column` (pyarrow) instead.
    let parquet_files: Option<Vec<PathBuf>> = if table.hasattr(intern!(py, "parquet_files"))? {
        Some(table.getattr(intern!(py, "parquet_files"))?.extract()?)
    } else {
        None
    };
    let source = table.clone().unbind();
    let expected = Arc::clone(&schema);
    let load: ColumnLoader = Arc::new(move |column: &str| {
        if let (Some(files), Ok(field)) = (&parquet_files, expected.field_with_name(column)) {
            // The engine holds rows read earlier: the files must not have changed since.
            Python::attach(|py| {
                source
                    .bind(py)
                    .call_method0(intern!(py, "check_unchanged"))
                    .map(drop)
                    .map_err(|error| error.to_string())
            })?;
            if let Ok(chunks) = read_parquet_column(files, column, field.data_type()) {
                return Ok(chunks);
            }
        }
        // Called from the engine's threads without the GIL: take it to ask for the column.
        // The read itself (pyarrow) releases it again, so columns read side by side.
        Python::attach(|py| {
            let read = || -> PyResult<Vec<ArrayRef>> {
                let stream: PyRecordBatchReader = source
                    .bind(py)
                    .call_method1(intern!(py, "read_column"), (column,))?
                    .extract()?;
                let mut chunks = Vec::new();
                for batch in stream.into_reader()? {
                    let batch = batch.map_err(|e| PyValueError::new_err(e.to_string()))?;
                    if batch.num_columns() != 1 {
                        return Err(PyValueError::new_err(format!(
                            "read_column returned {} columns, expected 1",
                            batch.num_columns()
                        )));
                    }
                    chunks.push(batch.column(0).clone());
                }
                Ok(chunks)
            };
            read().map_err(|error| error.to_string())
        })
    });
    Ok(TableInput::on_demand(
        name,
        schema,
        rows,
        load,
        options.rename_for(name),
    ))
}

fn optional_arg(
    name: &'static str,
    table: Option<&Bound<'_, PyAny>>,
    options: &Options,
) -> PyResult<Option<TableInput>> {
    table.map(|t| table_arg(name, t, options)).transpose()
}

fn read_optional(
    name: &'static str,
    stream: Option<PyRecordBatchReader>,
    options: &Options,
) -> PyResult<Option<TableInput>> {
    stream.map(|s| read_table(name, s, options)).transpose()
}

fn scorecard_result(
    py: Python<'_>,
    card: Scorecard,
    options: &Options,
) -> PyResult<ScorecardResult> {
    let json = |what: &str, value: serde_json::Result<String>| {
        value.map_err(|e| SupportKpiError::new_err(format!("{what}: {e}")))
    };
    Ok(ScorecardResult {
        table: to_pyarrow(py, card.table)?.unbind(),
        bands: to_pyarrow(py, card.bands)?.unbind(),
        diagnostics: to_pyarrow(py, card.diagnostics)?.unbind(),
        skipped: card.skipped,
        as_of: card.as_of,
        row_audit_json: json("row audit", serde_json::to_string(&card.row_audit))?,
        options_json: json("options", serde_json::to_string(options))?,
    })
}

/// Inputs read, validated and joined once; scorecard views and the per-contact view are
/// computed from it without re-reading or re-joining.
#[pyclass(frozen, module = "supportkpi._supportkpi")]
struct PreparedInputs {
    inner: Arc<Prepared>,
}

#[pymethods]
impl PreparedInputs {
    /// A scorecard view; `view_json` carries by, tz, group_by, baseline and cohort options.
    fn scorecard(&self, py: Python<'_>, view_json: &str) -> PyResult<ScorecardResult> {
        let view = parse_options(view_json)?;
        let options = self.inner.view_options(&view);
        let inner = Arc::clone(&self.inner);
        let card = run_detached(py, move || inner.scorecard(&view))?;
        scorecard_result(py, card, &options)
    }

    /// Several views in one call, in order; `views_json` is a list of what `scorecard`
    /// takes. A view without group_by beside a grouped one with the same other options
    /// shares its passes (see `Prepared::scorecards`).
    fn scorecards(&self, py: Python<'_>, views_json: &str) -> PyResult<Vec<ScorecardResult>> {
        let items: Vec<serde_json::Value> = serde_json::from_str(views_json)
            .map_err(|e| SupportKpiError::new_err(format!("views: {e}")))?;
        let views = items
            .iter()
            .map(|item| parse_options(&item.to_string()))
            .collect::<PyResult<Vec<Options>>>()?;
        let inner = Arc::clone(&self.inner);
        let for_run = views.clone();
        let cards = run_detached(py, move || inner.scorecards(&for_run))?;
        cards
            .into_iter()
            .zip(&views)
            .map(|(card, view)| scorecard_result(py, card, &self.inner.view_options(view)))
            .collect()
    }

    /// The partial state of this slice of customers for a view, as bytes (see
    /// `supportkpi.partial`).
    fn partial<'py>(&self, py: Python<'py>, view_json: &str) -> PyResult<Bound<'py, PyBytes>> {
        let view = parse_options(view_json)?;
        let inner = Arc::clone(&self.inner);
        let bytes = run_detached(py, move || inner.partial(&view))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The per-contact view as a pyarrow.Table, in input order.
    fn enrich<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = Arc::clone(&self.inner);
        let batches = run_detached(py, move || inner.enrich())?;
        batches_to_pyarrow(py, batches)
    }

    /// The as_of used (UTC µs), None for empty inputs.
    #[getter]
    fn as_of(&self) -> Option<i64> {
        self.inner.as_of()
    }
}

/// Reads, validates and joins the inputs once (see `PreparedInputs`).
#[pyfunction]
#[pyo3(signature = (contacts, orders, sessions, events, options_json))]
fn prepare_inputs(
    py: Python<'_>,
    contacts: &Bound<'_, PyAny>,
    orders: &Bound<'_, PyAny>,
    sessions: Option<&Bound<'_, PyAny>>,
    events: Option<&Bound<'_, PyAny>>,
    options_json: &str,
) -> PyResult<PreparedInputs> {
    let options = parse_options(options_json)?;
    let contacts = table_arg("contacts", contacts, &options)?;
    let orders = table_arg("orders", orders, &options)?;
    let sessions = optional_arg("sessions", sessions, &options)?;
    let events = optional_arg("events", events, &options)?;
    let prepared = run_detached(py, move || {
        prepare(contacts, orders, sessions, events, options)
    })?;
    Ok(PreparedInputs {
        inner: Arc::new(prepared),
    })
}

/// Merges partial states into a scorecard (its options are those the states carry).
#[pyfunction]
#[pyo3(signature = (states, sessions, events))]
fn merge_states(
    py: Python<'_>,
    states: Vec<PyBackedBytes>,
    sessions: Option<PyRecordBatchReader>,
    events: Option<PyRecordBatchReader>,
) -> PyResult<ScorecardResult> {
    let slices: Vec<&[u8]> = states.iter().map(|b| b.as_ref()).collect();
    // The states carry the options, including the renaming of the sessions and events.
    let options = match slices.first() {
        Some(first) => options_of(first).map_err(to_py_err)?,
        None => Options::default(),
    };
    let sessions = read_optional("sessions", sessions, &options)?;
    let events = read_optional("events", events, &options)?;
    let card = run_detached(py, || merge(&slices, sessions.as_ref(), events.as_ref()))?;
    scorecard_result(py, card, &options)
}

/// Merges partial states into one partial state.
#[pyfunction]
fn combine_states<'py>(
    py: Python<'py>,
    states: Vec<PyBackedBytes>,
) -> PyResult<Bound<'py, PyBytes>> {
    let slices: Vec<&[u8]> = states.iter().map(|b| b.as_ref()).collect();
    let bytes = run_detached(py, || combine(&slices))?;
    Ok(PyBytes::new(py, &bytes))
}

/// The default configuration as JSON.
#[pyfunction]
fn config_default_json() -> PyResult<String> {
    Config::default().to_json().map_err(to_py_err)
}

/// Reads a (partial) configuration, merged into the defaults and checked; returns the whole
/// configuration as JSON. `format` is "json" or "toml".
#[pyfunction]
fn config_resolve(text: &str, format: &str) -> PyResult<String> {
    let config = match format {
        "toml" => Config::from_toml(text),
        "json" => Config::from_json(text),
        other => Err(Error::config("format", format!("unknown format {other:?}"))),
    };
    config.and_then(|c| c.to_json()).map_err(to_py_err)
}

/// A whole configuration (JSON) as TOML.
#[pyfunction]
fn config_to_toml(config_json: &str) -> PyResult<String> {
    Config::from_json(config_json)
        .and_then(|c| c.to_toml())
        .map_err(to_py_err)
}

/// The KPI catalogue as JSON.
#[pyfunction]
fn kpi_catalog_json() -> PyResult<String> {
    serde_json::to_string(&catalog_info())
        .map_err(|e| SupportKpiError::new_err(format!("catalogue: {e}")))
}

/// The value ranges (JSON) of a band given as a config writes it (JSON; the owner may be
/// left out): what the report, plots and docs draw and describe.
#[pyfunction]
fn band_regions_json(band_json: &str) -> PyResult<String> {
    let band: serde_json::Value = serde_json::from_str(band_json)
        .map_err(|e| ConfigError::new_err(format!("band: not valid JSON: {e}")))?;
    let mut band = band;
    if let Some(fields) = band.as_object_mut() {
        fields
            .entry("owner")
            .or_insert_with(|| serde_json::Value::String(String::new()));
    }
    let band: Band =
        serde_json::from_value(band).map_err(|e| ConfigError::new_err(format!("band: {e}")))?;
    serde_json::to_string(&band.regions())
        .map_err(|e| SupportKpiError::new_err(format!("band regions: {e}")))
}

/// Columns of Parquet `files` as one pyarrow.Table, decoded in the engine's own thread pool
/// (row groups in parallel), each column of its type in `schema`; None when a column cannot
/// be given so (another codec or type), and the caller reads the files through pyarrow.
#[pyfunction]
fn read_parquet_table<'py>(
    py: Python<'py>,
    files: Vec<PathBuf>,
    schema: PySchema,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let schema = schema.into_inner();
    let wanted = Arc::clone(&schema);
    let batches = run_detached(py, move || {
        let mut columns = Vec::with_capacity(wanted.fields().len());
        for field in wanted.fields() {
            match read_parquet_column(&files, field.name(), field.data_type()) {
                Ok(chunks) => columns.push(chunks),
                Err(_) => return Ok(None),
            }
        }
        // Every column of the same files comes in the same chunks (row groups, then
        // batches); anything else is read through pyarrow.
        let n_chunks = columns.first().map_or(0, Vec::len);
        let mut batches = Vec::with_capacity(n_chunks);
        for k in 0..n_chunks {
            let Some(chunk) = columns.iter().map(|c| c.get(k).cloned()).collect() else {
                return Ok(None);
            };
            match RecordBatch::try_new(Arc::clone(&wanted), chunk) {
                Ok(batch) => batches.push(batch),
                Err(_) => return Ok(None),
            }
        }
        Ok(Some(batches))
    })?;
    match batches {
        Some(batches) if !batches.is_empty() => {
            Ok(Some(PyTable::try_new(batches, schema)?.into_pyarrow(py)?))
        }
        _ => Ok(None),
    }
}

/// The native module.
#[pymodule]
fn _supportkpi(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("SupportKpiError", py.get_type::<SupportKpiError>())?;
    m.add("SchemaError", py.get_type::<SchemaError>())?;
    m.add("DataError", py.get_type::<DataError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add_function(wrap_pyfunction!(prepare_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(merge_states, m)?)?;
    m.add_function(wrap_pyfunction!(combine_states, m)?)?;
    m.add("PARTIAL_FORMAT_VERSION", FORMAT_VERSION)?;
    m.add_class::<PreparedInputs>()?;
    m.add_class::<ScorecardResult>()?;
    m.add_function(wrap_pyfunction!(kpi_catalog_json, m)?)?;
    m.add_function(wrap_pyfunction!(band_regions_json, m)?)?;
    m.add_function(wrap_pyfunction!(config_default_json, m)?)?;
    m.add_function(wrap_pyfunction!(config_resolve, m)?)?;
    m.add_function(wrap_pyfunction!(config_to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(read_parquet_table, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
