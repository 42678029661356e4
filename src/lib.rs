//! supportkpi: joins ecommerce support contacts with orders and computes the
//! support-conversion scorecard (SPEC.md).
//!
//! Data flows one way, and the modules follow it: `ingest` (Arrow in, validated) →
//! `joins` (per-customer time joins) → `aggregate` (per-day × group states, whose counters
//! and formulas the `kpis` families own) → `scorecard` (periods, baselines, bands,
//! diagnostics, the output tables); `partial` carries a view's states between machines.
//! See docs/architecture.md. The `python` feature adds the thin PyO3 binding module;
//! everything else is plain Rust that `cargo test` exercises alone.
//!
//! The public API is what the bindings, the benchmarks and the fuzz targets need; every
//! module is internal to the crate.
#![deny(missing_docs)]

pub(crate) mod aggregate;
pub(crate) mod bands;
pub(crate) mod business;
pub(crate) mod config;
pub(crate) mod diagnostics;
pub(crate) mod error;
pub(crate) mod ingest;
pub(crate) mod joins;
pub(crate) mod kpis;
pub(crate) mod limits;
pub(crate) mod partial;
pub(crate) mod scorecard;
pub(crate) mod statistics;
pub(crate) mod taxonomy;
pub(crate) mod time;
pub(crate) mod trace;

#[cfg(feature = "python")]
mod bindings;

pub use config::Config;
pub use error::{Error, Result};
pub use ingest::parquet::{read_parquet_column, ParquetReadError};
pub use ingest::{ColumnLoader, OnInvalid, TableAudit, TableInput};
pub use kpis::{catalog_info, KpiInfo};
pub use partial::{combine, merge, options_of, FORMAT_VERSION};
pub use scorecard::{enrich, prepare, scorecard, Options, Prepared, Scorecard};
pub use trace::{interrupt_on, InterruptScope};

/// The stages the kernel benchmarks time on their own (benches/kernels.rs): reading and
/// validating the tables, the per-customer index and the joins.
pub mod kernels {
    pub use crate::ingest::{read_joinable, Joinable, ValueChecks};
    pub use crate::joins::{join_contacts, ContactJoins, CustomerIndex, JoinColumns, Windows};
}
