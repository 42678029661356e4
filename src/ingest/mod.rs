//! Ingestion: Arrow tables in, validated flat columns out (SPEC §1).
//!
//! `input` (a table as given, the row audit) → `columns` (typed column readers) → `issues`
//! (row validation) → `customers` (dense customer codes) → `tables` (contacts and orders,
//! ready to join) and `sessions` (the optional sessions and events tables).

mod calendars;
pub mod coded;
pub mod columns;
mod customers;
pub mod ids;
mod input;
mod issues;
pub mod parquet;
pub mod ranges;
mod sessions;
pub mod tables;

pub use columns::{NULL_CODE, NULL_TS};
pub use customers::ANONYMOUS;
pub use input::{ColumnLoader, OnInvalid, TableAudit, TableInput};
pub use ranges::{Scales, TimestampRange, ValueChecks};
pub use sessions::{read_events, read_sessions, Event, SessionTime, Sessions};
pub use tables::{read_joinable, Contacts, HandledBy, Joinable, Orders};
