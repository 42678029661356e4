//! KPI families: each family file owns its per-cell counters, the per-contact fold that
//! fills them and its catalogue entries (id, formula text, unit, direction, band, owner,
//! and the function computing the value from a cell). [`catalog`] assembles the families
//! in output order; nothing else lists KPIs.
//!
//! Adding a KPI: a counter and a fold line in its family's counters, an entry in its
//! family's `KPIS`, and a test. A new per-contact join fact is one line in the
//! `join_outputs!` declaration of `joins.rs`.

use serde::{Deserialize, Serialize};

use self::sample::{CellValues, Sample, SettledRanks};
use crate::bands::Band;

pub mod backlog;
pub mod catalog;
pub mod cell;
pub mod cost;
pub mod customers;
pub mod quality;
pub mod recovery;
pub mod reopens;
pub mod repeats;
pub mod resolution;
pub mod row;
pub mod sample;
mod sketch_wire;
pub mod sla;
pub mod slices;
pub mod speed;
pub mod volume;

/// What every family file needs to declare its catalogue entries.
mod prelude {
    pub use super::Direction::{self, HigherIsBetter, LowerIsBetter, Neutral};
    pub use super::Reads::{Backlog, Customers, Days};
    pub use super::{Display, Unit};
    pub use crate::bands::{Band, Edges};
}

pub use catalog::{catalog_info, find, KpiInfo, CATALOG};
pub use cell::{Cell, CellSamples};
pub use row::{FoldContext, IntentFlags, Row};

/// Declares the per-day × group contact state as the families' counters side by side, with
/// `add` (merging two states) and `fold` (one contact into its cell) running every family.
macro_rules! contact_state {
    ($($(#[$fmeta:meta])* $family:ident : $counters:ty),* $(,)?) => {
        /// Counts and sums of the contacts of one day × group cell, one block per family.
        /// Every field adds, so any set of days or customer partitions combines by addition.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct ContactState { $($(#[$fmeta])* pub $family: $counters),* }

        impl ContactState {
            /// Adds another state field by field.
            pub fn add(&mut self, other: &Self) { $(self.$family.add(&other.$family);)* }

            /// The families' counter layouts, in order (see `additive_state!`).
            pub fn layout() -> String {
                [$(<$counters>::LAYOUT),*].join("; ")
            }

            /// Folds one contact into this cell (its quantile inputs into `values`).
            #[inline]
            pub fn fold(&mut self, values: &mut CellValues, row: &Row) {
                $(self.$family.fold(values, row);)*
            }
        }
    };
}

contact_state! {
    /// Contacts and their intent mix.
    volume: volume::VolumeCounters,
    /// Resolution paths: self-service, AI, escalations, QA.
    resolution: resolution::ResolutionCounters,
    /// Orders after contacts: recovery and attributed revenue.
    recovery: recovery::RecoveryCounters,
    /// Repeat contacts and recontacts after resolution.
    repeats: repeats::RepeatCounters,
    /// Handle time (response and resolution times are quantile inputs).
    speed: speed::SpeedCounters,
    /// Backlog inflow and outflow.
    backlog: backlog::BacklogCounters,
    /// Ratings: CSAT, NPS, CES.
    quality: quality::QualityCounters,
    /// Support cost.
    cost: cost::CostCounters,
    /// SLA verdicts.
    sla: sla::SlaCounters,
    /// Reopens and one-touch resolutions.
    reopens: reopens::ReopenCounters,
}

/// Unit of a KPI value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// A count of rows.
    Count,
    /// A fraction in [0, 1].
    Rate,
    /// A ratio that may exceed 1.
    Ratio,
    /// Money, in the currency of the inputs.
    Currency,
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// A score on its own scale (CSAT 1–5, NPS −100..100, CES 1–7).
    Score,
}

impl Unit {
    /// The unit's name as in the output table.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Rate => "rate",
            Unit::Ratio => "ratio",
            Unit::Currency => "currency",
            Unit::Minutes => "minutes",
            Unit::Hours => "hours",
            Unit::Score => "score",
        }
    }
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher values are better.
    HigherIsBetter,
    /// Lower values are better.
    LowerIsBetter,
    /// A healthy range; both sides are worse.
    Range,
    /// Context only (volumes, money totals).
    Neutral,
}

/// An input a KPI needs beyond the required columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A contacts column.
    Column(&'static str),
    /// An orders column.
    OrderColumn(&'static str),
    /// At least one of these contacts columns.
    AnyColumn(&'static [&'static str]),
    /// The sessions table.
    Sessions,
    /// A non-empty group_by.
    GroupBy,
    /// A cost: the contacts.cost column or a unit-cost model in the config.
    Cost,
    /// A business calendar in the config (SPEC §9.1).
    Calendars,
    /// SLA policies in the config (SPEC §9.3).
    Sla,
}

impl Need {
    /// The need as text, for `requires` in the catalogue and skip reasons.
    pub fn describe(&self) -> String {
        match self {
            Need::Column(c) => format!("contacts.{c}"),
            Need::OrderColumn(c) => format!("orders.{c}"),
            Need::AnyColumn(cs) => format!(
                "one of {}",
                cs.iter()
                    .map(|c| format!("contacts.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Need::Sessions => "sessions".to_owned(),
            Need::GroupBy => "group_by".to_owned(),
            Need::Cost => "contacts.cost or a cost_model".to_owned(),
            Need::Calendars => "a business calendar (config calendars.default)".to_owned(),
            Need::Sla => "SLA policies (config sla)".to_owned(),
        }
    }
}

/// The pass of a scorecard view that a KPI's states come from. Every view builds the
/// per-day states; the other passes run only when a KPI the view computes reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// The per-day contact, order and traffic states (and the quantile lists).
    Days,
    /// The per-day states plus the open backlog at period ends and over baseline windows.
    Backlog,
    /// The per-customer cohort pass: repurchase cohorts, retention and CLV.
    Customers,
}

/// The report section a KPI is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The four headline KPIs (seed 001), which also lead the catalogue.
    Headline,
    /// Seed 000's weekly support-conversion scorecard.
    SupportConversion,
    /// SPEC §9's business-time and SLA KPIs, together, as a helpdesk's SLA page shows them
    /// (present only when calendars are configured).
    ServiceLevels,
    /// Every other KPI, in catalogue order.
    Other,
}

/// How the report, the terminal view and the demo show a KPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Display {
    /// Section.
    pub section: Section,
    /// Position within the section (headline: seed 001's order; scorecard: seed 000's).
    pub rank: u8,
    /// Name for narrow tables ("" = the name).
    pub short_name: &'static str,
    /// One of the command line demo's columns.
    pub demo: bool,
}

impl Display {
    /// Shown with the other KPIs, under its name.
    pub const OTHER: Display = Display::other("");

    /// A headline KPI at `rank`.
    pub const fn headline(rank: u8, short_name: &'static str) -> Display {
        Display {
            section: Section::Headline,
            rank,
            short_name,
            demo: false,
        }
    }

    /// A KPI of the support-conversion scorecard at `rank`.
    pub const fn scorecard(rank: u8, short_name: &'static str) -> Display {
        Display {
            section: Section::SupportConversion,
            rank,
            short_name,
            demo: false,
        }
    }

    /// A service-level KPI (SPEC §9) at `rank`; the report charts the first four.
    pub const fn service_levels(rank: u8, short_name: &'static str) -> Display {
        Display {
            section: Section::ServiceLevels,
            rank,
            short_name,
            demo: false,
        }
    }

    /// Shown with the other KPIs, with a short name.
    pub const fn other(short_name: &'static str) -> Display {
        Display {
            section: Section::Other,
            rank: 0,
            short_name,
            demo: false,
        }
    }

    /// Also a column of the demo.
    pub const fn in_demo(self) -> Display {
        Display { demo: true, ..self }
    }
}

/// A KPI value with the numerator and denominator behind it (SPEC §8.17).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Measure {
    /// The value; None when its denominator is empty.
    pub value: Option<f64>,
    /// Numerator (ratios), sum (means), or the value (counts and sums).
    pub numerator: Option<f64>,
    /// Denominator (ratios), count (means, quantiles).
    pub denominator: Option<f64>,
    /// (ci_low, ci_high) at the configured confidence (SPEC §10.1); None for KPIs
    /// without one (counts, sums, unrelated ratios) and for empty samples.
    pub interval: Option<(f64, f64)>,
    /// The sample behind the value (SPEC §10.2's n, which `min_sample` is checked
    /// against): the denominator of a ratio, the count of a mean or a quantile; None for
    /// counts and sums.
    pub sample: Option<f64>,
    /// How a change of this value is tested (SPEC §10.3).
    pub test: ChangeTest,
}

/// How a change of a KPI between two samples is tested (SPEC §10.3).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum ChangeTest {
    /// Not tested: counts, sums, unrelated ratios, quantiles, scores without a spread.
    #[default]
    Untested,
    /// A proportion: numerator successes counted within denominator trials (the
    /// two-proportion z-test).
    Proportion,
    /// A mean of `denominator` values with this sample standard deviation (Welch's t-test).
    Mean {
        /// Sample standard deviation, n − 1 divisor.
        sd: f64,
    },
}

/// A ratio: value = num / den, null when den = 0.
pub fn ratio(num: f64, den: f64) -> Measure {
    Measure {
        value: (den != 0.0).then(|| num / den),
        numerator: Some(num),
        denominator: Some(den),
        sample: Some(den),
        ..Measure::default()
    }
}

/// A count or a sum: numerator = value, no denominator.
pub fn total(x: f64) -> Measure {
    Measure {
        value: Some(x),
        numerator: Some(x),
        ..Measure::default()
    }
}

/// A mean: numerator = sum, denominator = count.
pub fn mean(sum: f64, count: u64) -> Measure {
    ratio(sum, count as f64)
}

/// A mean with its Student-t interval at `confidence` from the sum of squares (SPEC
/// §10.1), tested by Welch's t-test (§10.3): numerator = sum, denominator = count.
pub fn mean_with_interval(sum: f64, sum_sq: f64, count: u64, confidence: f64) -> Measure {
    let n = count as f64;
    let spread = crate::statistics::t_interval(sum, sum_sq, n, confidence);
    Measure {
        interval: spread.map(|s| s.interval),
        test: spread.map_or(ChangeTest::Untested, |s| ChangeTest::Mean { sd: s.sd }),
        ..ratio(sum, n)
    }
}

/// A quantile: numerator null, denominator = number of inputs; the interval is the
/// values at the order-statistic ranks of SPEC §10.1 at `z`.
pub fn quantile_of(values: &mut Sample, settled: &mut SettledRanks, q: f64, z: f64) -> Measure {
    let n = values.len();
    let ranks = crate::statistics::quantile_ranks(n, q, z);
    let (value, interval) = values.quantile_and_ranks(q, ranks, settled);
    Measure {
        value,
        denominator: Some(n as f64),
        interval,
        sample: Some(n as f64),
        ..Measure::default()
    }
}

impl Measure {
    /// No value (what `Measure::default()` gives), as a constant to borrow.
    pub const EMPTY: Measure = Measure {
        value: None,
        numerator: None,
        denominator: None,
        interval: None,
        sample: None,
        test: ChangeTest::Untested,
    };

    /// This measure with the Wilson interval of its numerator within its denominator when
    /// it is a proportion: both whole numbers, 0 ≤ k ≤ n (SPEC §10.1). Rates that are not
    /// counted within their denominator (a change against a baseline) get none.
    pub fn with_proportion_interval(mut self, z: f64) -> Measure {
        if let (Some((k, n)), None) = (self.counted(), self.interval) {
            self.interval = crate::statistics::wilson(k, n, z);
            self.test = ChangeTest::Proportion;
        }
        self
    }

    /// (k, n) when the numerator counts successes within the denominator: both whole
    /// numbers, 0 ≤ k ≤ n.
    fn counted(&self) -> Option<(f64, f64)> {
        let (k, n) = (self.numerator?, self.denominator?);
        let whole = |x: f64| x.fract() == 0.0 && x >= 0.0;
        (whole(k) && whole(n) && k <= n).then_some((k, n))
    }

    /// The change from `before` to this measure, with its interval and two-sided p-value
    /// at `confidence` (SPEC §10.3); None when the KPI is not tested or a side is too small.
    pub fn change_from(&self, before: &Measure, confidence: f64) -> Option<Change> {
        use crate::statistics::{mean_change, proportion_change};
        match self.tested_with(before)? {
            Tested::Proportions(now, then) => proportion_change(now, then, confidence),
            Tested::Means(now, then) => mean_change(now, then, confidence),
        }
    }

    /// Only the p-value of [`Measure::change_from`] (the bands table's `p_value`).
    pub fn p_value_against(&self, before: &Measure) -> Option<f64> {
        use crate::statistics::{mean_p_value, proportion_p_value};
        match self.tested_with(before)? {
            Tested::Proportions(now, then) => proportion_p_value(now, then),
            Tested::Means(now, then) => mean_p_value(now, then),
        }
    }

    /// The two sides of the test this measure and `before` take, if any.
    fn tested_with(&self, before: &Measure) -> Option<Tested> {
        use crate::statistics::MeanSample;
        match (self.test, before.test) {
            (ChangeTest::Proportion, ChangeTest::Proportion) => {
                Some(Tested::Proportions(self.counted()?, before.counted()?))
            }
            (ChangeTest::Mean { sd }, ChangeTest::Mean { sd: sd_before }) => {
                let side = |m: &Measure, sd: f64| -> Option<MeanSample> {
                    Some(MeanSample {
                        n: m.denominator?,
                        mean: m.value?,
                        sd,
                    })
                };
                Some(Tested::Means(side(self, sd)?, side(before, sd_before)?))
            }
            _ => None,
        }
    }
}

/// The two sides of a change test: (k, n) of two proportions, or two means.
enum Tested {
    Proportions((f64, f64), (f64, f64)),
    Means(crate::statistics::MeanSample, crate::statistics::MeanSample),
}

pub use crate::statistics::Change;

/// One catalogue entry.
pub struct KpiDef {
    /// Stable id, used in the output table.
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    /// The formula, in words.
    pub definition: &'static str,
    /// Unit of the value.
    pub unit: Unit,
    /// Which way is better.
    pub direction: Direction,
    /// Optional inputs it needs.
    pub needs: &'static [Need],
    /// The view pass its states come from (a view skips a pass no computed KPI reads).
    pub reads: Reads,
    /// Where the report shows it, and its short name.
    pub display: Display,
    /// Default band and its owner (SPEC §6), if any.
    pub band: Option<Band>,
    /// Where the definition comes from.
    pub source: &'static str,
    /// Computes the KPI for a cell.
    pub compute: fn(&mut Cell) -> Measure,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_add_field_by_field_in_every_family() {
        let mut a = ContactState::default();
        a.volume.contacts = 2;
        a.cost.total = 1.5;
        let mut b = ContactState::default();
        b.volume.contacts = 3;
        b.cost.total = 2.0;
        b.backlog.opened_created_sum = 10;
        b.quality.nps_rated = 4;
        a.add(&b);
        assert_eq!(a.volume.contacts, 5);
        assert_eq!(a.cost.total, 3.5);
        assert_eq!(a.backlog.opened_created_sum, 10);
        assert_eq!(a.quality.nps_rated, 4);
    }
}
