//! Aggregation: per-contact results folded into mergeable per-day × group states, then
//! rolled into periods (SPEC §2, §5); dimension breakdowns for the diagnostic rules.

pub mod breakdown;
pub mod daily;
