//! Partial states for scale-out (Dask, Spark, or any split of the customers).
//!
//! Every join of SPEC §3 stays inside one customer, so for customer-disjoint slices of the
//! inputs the per-day × group states, the customer cohorts, the baseline backlog and the
//! slice counts all add up. A partial state is that view state for one slice, with its
//! quantile inputs as DDSketches, serialized with postcard behind a magic tag and a format
//! version. [`merge`] places every slice's days on the global calendar by date, adds them,
//! and evaluates the scorecard exactly as a local view would.

use crate::error::Result;
use crate::ingest::TableInput;
use crate::scorecard::{
    build_view, finish, partial_extension, read_calendar_tables, CellSpan, Options, Prepared,
    Scorecard,
};
#[cfg(test)]
use crate::time::parse_instant;

mod absorb;
mod format;
mod wire;

use self::absorb::merged_view;
pub use self::format::FORMAT_VERSION;
use self::format::{decode, encode};
/// The partial state of a slice of customers.
impl Prepared {
    /// The partial state of this slice of customers for a view (see [`crate::partial`]).
    pub fn partial(&self, view: &Options) -> Result<Vec<u8>> {
        let options = self.view_options(view);
        let settings = options.settings()?;
        let view = build_view(
            self,
            &options,
            &settings,
            partial_extension(&settings),
            CellSpan::Day,
        )?;
        let slices = self.slice_fingerprint()?.into_iter().collect();
        encode(view, &options, slices)
    }
}

/// The options a partial state was computed with.
pub fn options_of(state: &[u8]) -> Result<Options> {
    Options::from_json(&decode(state, 0)?.options_json)
}

/// Merges partial states into one partial state (for tree reductions: merging is
/// associative and commutative).
pub fn combine(states: &[&[u8]]) -> Result<Vec<u8>> {
    let (view, options, _, slices) = merged_view(states, true)?;
    encode(view, &options, slices)
}

/// Merges partial states into the scorecard; sessions and events are given here.
pub fn merge(
    states: &[&[u8]],
    sessions_table: Option<&TableInput>,
    events_table: Option<&TableInput>,
) -> Result<Scorecard> {
    let (mut view, options, settings, _) = merged_view(states, false)?;
    let (sessions, events, audits) =
        read_calendar_tables(sessions_table, events_table, &options, &settings)?;
    view.audits.extend(audits);
    let sessions = sessions_table.zip(sessions.as_ref());
    finish(view, &options, &settings, sessions, &events)
}

#[cfg(test)]
mod tests;
