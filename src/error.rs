//! The one error type of the core. Every variant maps to one Python exception class in the
//! bindings (`SchemaError`, `DataError`, `ConfigError`, base `SupportKpiError`).

use std::fmt;

/// What went wrong, with enough context for the user to find the offending input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A missing required column or a column of the wrong type.
    #[error("{table}.{column}: {message}")]
    Schema {
        /// Input table: contacts, orders or sessions.
        table: String,
        /// Column name as the library knows it (after renaming).
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A value that breaks a rule of the input contract (SPEC §1, §8).
    #[error("{table}.{column}: {message}; first offending row: {row}")]
    Data {
        /// Input table.
        table: String,
        /// Column name as the library knows it.
        column: String,
        /// What is wrong.
        message: String,
        /// The first offending row: position and id (boxed to keep `Result` small).
        row: Box<RowRef>,
    },
    /// A bad argument or configuration value.
    #[error("{key}: {message}")]
    Config {
        /// The argument or configuration key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The run was interrupted (Ctrl-C) at a phase boundary.
    #[error("interrupted")]
    Interrupted,
    /// Arrow failed: reading an input, or building an output table.
    #[error("{context}: {message}")]
    Arrow {
        /// What was being done, e.g. "reading contacts" or "building the scorecard table".
        context: String,
        /// Arrow's message.
        message: String,
    },
}

/// A reference to one input row: its 0-based position and, when known, its id.
#[derive(Debug, Clone, PartialEq)]
pub struct RowRef {
    /// 0-based position in the input table (across all chunks).
    pub position: usize,
    /// The row's id column value (contact_id / order_id), rendered.
    pub id: Option<String>,
    /// The offending value(s), rendered.
    pub detail: String,
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}", self.position)?;
        if let Some(id) = &self.id {
            write!(f, " (id {id})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

impl Error {
    /// A schema error for `table.column`.
    pub fn schema(table: &str, column: &str, message: impl Into<String>) -> Self {
        Error::Schema {
            table: table.to_owned(),
            column: column.to_owned(),
            message: message.into(),
        }
    }

    /// An Arrow failure while doing `context` ("reading contacts", "building the bands
    /// table"): the one constructor, so every message says what was being done.
    pub fn arrow(context: impl Into<String>, error: impl fmt::Display) -> Self {
        Error::Arrow {
            context: context.into(),
            message: error.to_string(),
        }
    }

    /// A configuration error for `key`.
    pub fn config(key: &str, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// Result alias of the core.
pub type Result<T> = std::result::Result<T, Error>;

/// A bad value found while reading one column, before the table attaches its name and the
/// row id (the column reader knows neither).
#[derive(Debug, Clone, PartialEq)]
pub struct BadValue {
    /// 0-based row position.
    pub position: usize,
    /// What is wrong, e.g. "csat outside [1, 5]".
    pub message: String,
    /// The offending value, rendered.
    pub detail: String,
}
