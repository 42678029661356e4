//! Aggregation: per-contact results folded into mergeable per-day × group states, then
//! rolled into periods (SPEC §2, §5).

pub mod state;
