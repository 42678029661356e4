//! supportkpi: joins ecommerce support contacts with orders and computes the
//! support-conversion scorecard (SPEC.md).
//!
//! Data flows one way, and the modules follow it:
//! [`ingest`] (Arrow in, validated) → [`joins`] (per-customer time joins) →
//! [`aggregate`] (mergeable per-day × group states, whose counters and formulas the
//! [`kpis`] families own) → [`scorecard`] (periods, KPI rows). The `python` feature adds the thin PyO3 binding module;
//! everything else is plain Rust that `cargo test` exercises alone.
#![deny(missing_docs)]

pub mod aggregate;
pub mod bands;
pub mod config;
pub mod diagnostics;
pub mod error;
pub mod ingest;
pub mod joins;
pub mod kpis;
pub mod limits;
pub mod partial;
pub mod scorecard;
pub mod taxonomy;
pub mod time;
pub mod trace;

#[cfg(feature = "python")]
mod bindings;

pub use error::{Error, Result};
