//! The scorecard pipeline: ingest → joins → per-day × group states → periods → KPI rows,
//! with baselines, bands and diagnostics read from the config. Also the per-contact view
//! (`enrich`), which stops after the joins.

mod cells;
mod enrich;
mod evaluate;
mod findings;
mod groups;
mod options;
mod output;
mod prepare;
mod reads;
#[cfg(test)]
mod tests;
mod view;

use crate::error::Result;
use crate::ingest::TableInput;

pub use self::enrich::enrich;
pub(crate) use self::evaluate::finish;
pub(crate) use self::groups::{distinct_sorted_keys, KeyColumns};
pub use self::options::{Options, Settings};
pub use self::output::Scorecard;
pub(crate) use self::prepare::read_calendar_tables;
pub use self::prepare::{prepare, Prepared};
pub(crate) use self::view::{baseline_windows, partial_extension, Grid, ViewState};

/// Computes the scorecard.
pub fn scorecard(
    contacts: &TableInput,
    orders: &TableInput,
    sessions_table: Option<&TableInput>,
    events_table: Option<&TableInput>,
    options: &Options,
) -> Result<Scorecard> {
    let prepared = prepare(
        contacts.clone(),
        orders.clone(),
        sessions_table.cloned(),
        events_table.cloned(),
        options.clone(),
    )?;
    prepared.scorecard(options)
}
