//! Ingestion: Arrow tables in, validated flat columns out (SPEC §1).

pub mod columns;
pub mod scales;
pub mod tables;

pub use columns::{IdColumn, NULL_CODE, NULL_TS};
pub use scales::{Scale, Scales};
pub use tables::{
    read_events, read_joinable, read_sessions, ColumnLoader, Contacts, Event, HandledBy, Joinable,
    OnInvalid, Orders, Path, SessionTime, Sessions, TableAudit, TableInput, ANONYMOUS,
};
