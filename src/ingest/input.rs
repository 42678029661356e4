//! A table as the engine receives it (Arrow batches, or a Parquet file read column by
//! column on demand), how invalid rows are handled, and the per-table row audit.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;

use super::columns::chunked_len;
use crate::error::{Error, Result};

/// Reads one column of a table that is read on demand: the column's chunks, or why the read
/// failed. The binding implements it over a Parquet file (see [`TableInput::on_demand`]).
pub type ColumnLoader =
    Arc<dyn Fn(&str) -> std::result::Result<Vec<ArrayRef>, String> + Send + Sync>;

/// Where a table's columns come from.
#[derive(Clone)]
pub(super) enum Columns {
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

    pub(super) fn column_list(&self) -> String {
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
