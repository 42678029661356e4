//! The KPI catalogue: the one place where a KPI is defined. Its id, name, formula text, unit,
//! direction, required inputs, default band, owner, source and the function computing it
//! from a cell's merged states live here; the scorecard, the docs, the Python catalogue and
//! the tests all read this table. Adding a KPI means adding one entry (and its tests).

use serde::Serialize;

use crate::aggregate::state::{
    CellValues, ContactState, DayTotals, PeriodCustomerState, Quantiled, RepurchaseState, Sample,
};

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
    /// At least one of these contacts columns.
    AnyColumn(&'static [&'static str]),
    /// The sessions table.
    Sessions,
    /// A non-empty group_by.
    GroupBy,
    /// A cost: the contacts.cost column or a unit-cost model in the config.
    Cost,
}

impl Need {
    /// The need as text, for `requires` in the catalogue and skip reasons.
    pub fn describe(&self) -> String {
        match self {
            Need::Column(c) => format!("contacts.{c}"),
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

/// Default band edges (SPEC §6). A value exactly on an edge takes the better band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum BandRule {
    /// healthy ≥ healthy_min; watch ≥ watch_min; else intervention.
    HigherIsBetter {
        /// Lowest healthy value.
        healthy_min: f64,
        /// Lowest watch value.
        watch_min: f64,
    },
    /// healthy ≤ healthy_max; watch ≤ watch_max; else intervention.
    LowerIsBetter {
        /// Highest healthy value.
        healthy_max: f64,
        /// Highest watch value.
        watch_max: f64,
    },
    /// healthy in [healthy_min, healthy_max]; watch below it or up to watch_max; else
    /// intervention.
    Range {
        /// Lowest healthy value.
        healthy_min: f64,
        /// Highest healthy value.
        healthy_max: f64,
        /// Highest watch value.
        watch_max: f64,
    },
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
}

/// A ratio: value = num / den, null when den = 0.
pub fn ratio(num: f64, den: f64) -> Measure {
    Measure {
        value: (den != 0.0).then(|| num / den),
        numerator: Some(num),
        denominator: Some(den),
    }
}

/// A count or a sum: numerator = value, no denominator.
pub fn total(x: f64) -> Measure {
    Measure {
        value: Some(x),
        numerator: Some(x),
        denominator: None,
    }
}

/// A mean: numerator = sum, denominator = count.
pub fn mean(sum: f64, count: u64) -> Measure {
    ratio(sum, count as f64)
}

/// A quantile: numerator null, denominator = number of inputs.
pub fn quantile_of(values: &mut Sample, q: f64) -> Measure {
    Measure {
        value: values.quantile(q),
        numerator: None,
        denominator: Some(values.len() as f64),
    }
}

/// A cell's quantile inputs, gathered from its days' lists into scratch lists the first
/// time a KPI asks for them. A list no evaluated KPI reads is never copied: a baseline
/// window holds a month of values per period, and only the banded KPIs and the rules
/// read baselines.
pub struct CellSamples<'a> {
    scratch: &'a mut CellValues,
    parts: &'a [&'a CellValues],
    gathered: [bool; Quantiled::ALL.len()],
}

impl<'a> CellSamples<'a> {
    /// The values of `parts` (the cell's days), to be gathered into `scratch` on demand.
    pub fn new(scratch: &'a mut CellValues, parts: &'a [&'a CellValues]) -> Self {
        CellSamples {
            scratch,
            parts,
            gathered: [false; Quantiled::ALL.len()],
        }
    }

    /// The cell's list `which` (reordered by quantile computations).
    pub fn get(&mut self, which: Quantiled) -> &mut Sample {
        let k = which as usize;
        if !self.gathered[k] {
            self.gathered[k] = true;
            self.scratch
                .sample_mut(which)
                .refill(self.parts.iter().map(|p| p.sample(which)));
        }
        self.scratch.sample_mut(which)
    }

    /// The q-quantile of list `which` (see [`quantile_of`]).
    pub fn quantile(&mut self, which: Quantiled, q: f64) -> Measure {
        quantile_of(self.get(which), q)
    }
}

/// Everything known about one period × group cell, merged from the daily states.
pub struct Cell<'a> {
    /// Contact counts and sums of the cell.
    pub state: &'a ContactState,
    /// Quantile inputs of the cell, gathered on first use.
    pub values: CellSamples<'a>,
    /// Order and traffic totals of the period (all groups).
    pub totals: &'a DayTotals,
    /// Contacts of the period over all groups.
    pub period_contacts: u64,
    /// Customer-level order totals of the period.
    pub customers: &'a PeriodCustomerState,
    /// Repurchase cohort of the cell.
    pub repurchase: &'a RepurchaseState,
    /// The cell's state over the baseline window before the period, when it has any days.
    pub baseline: Option<&'a ContactState>,
    /// Contacts open at the period end.
    pub backlog_open: u64,
    /// Sum of their ages at the period end, µs.
    pub backlog_age_micros: i128,
    /// (max, min) daily contacts over the observed days of the period.
    pub daily_peak_trough: Option<(u64, u64)>,
    /// Length of the period in days.
    pub period_days: f64,
    /// CLV lifespan in days.
    pub lifespan_days: f64,
}

const MICROS_PER_HOUR: f64 = crate::time::MICROS_PER_HOUR as f64;

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
    /// One of the four headline KPIs (seed 001).
    pub headline: bool,
    /// Default band edges (SPEC §6), if any.
    pub band: Option<BandRule>,
    /// Decision owner (SPEC §6), if any.
    pub owner: Option<&'static str>,
    /// Where the definition comes from.
    pub source: &'static str,
    /// Computes the KPI for a cell.
    pub compute: fn(&mut Cell) -> Measure,
}

use Direction::{HigherIsBetter, LowerIsBetter, Neutral};
use Need::{Column, GroupBy, Sessions};
use Reads::{Backlog, Customers, Days};

const HANDLED: Need = Column("handled_by");
const RESOLVED: Need = Column("resolved_at");
const CSAT: Need = Column("csat");
const COST: Need = Need::Cost;
const INTENT: Need = Column("intent");
const FRT: Need = Column("first_response_at");

fn csat_by_path(sum: f64, count: u64) -> Option<f64> {
    (count > 0).then(|| sum / count as f64)
}

/// The catalogue, in output order: headline KPIs first (seed 001 order), then volume,
/// resolution, conversion, quality, cost and customer KPIs.
pub static CATALOG: &[KpiDef] = &[
    KpiDef {
        id: "csat_mean",
        name: "CSAT (mean)",
        definition: "mean csat over rated contacts",
        unit: Unit::Score,
        direction: HigherIsBetter,
        needs: &[CSAT],
        reads: Days,
        headline: true,
        band: Some(BandRule::HigherIsBetter { healthy_min: 4.3, watch_min: 4.0 }),
        owner: Some("support lead"),
        source: "seed 001",
        compute: |c| mean(c.state.csat_sum, c.state.csat_count),
    },
    KpiDef {
        id: "deflection_rate",
        name: "Deflection rate",
        definition: "resolved_without_human / contacts",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[HANDLED, RESOLVED],
        reads: Days,
        headline: true,
        band: Some(BandRule::HigherIsBetter { healthy_min: 0.50, watch_min: 0.35 }),
        owner: Some("support enablement"),
        source: "seed 001 (watch edge: project default)",
        compute: |c| ratio(c.state.resolved_without_human as f64, c.state.contacts as f64),
    },
    KpiDef {
        id: "fcr_rate",
        name: "First contact resolution",
        definition: "resolved, touches <= 1 (null touches allowed), not recontact_48h / mature resolved contacts with a customer_id",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[RESOLVED],
        reads: Days,
        headline: true,
        band: Some(BandRule::HigherIsBetter { healthy_min: 0.75, watch_min: 0.65 }),
        owner: Some("support operations"),
        source: "seed 001 (watch edge: project default)",
        compute: |c| ratio(c.state.first_contact_resolved as f64, c.state.recontact_mature as f64),
    },
    KpiDef {
        id: "tickets_per_order",
        name: "Tickets per order",
        definition: "contacts / orders (orders of the whole period)",
        unit: Unit::Ratio,
        direction: LowerIsBetter,
        needs: &[],
        reads: Days,
        headline: true,
        band: Some(BandRule::LowerIsBetter { healthy_max: 0.10, watch_max: 0.15 }),
        owner: Some("CX + ecommerce ops"),
        source: "seed 001",
        compute: |c| ratio(c.state.contacts as f64, c.totals.orders as f64),
    },
    KpiDef {
        id: "contacts",
        name: "Contacts",
        definition: "count of contacts",
        unit: Unit::Count,
        direction: Neutral,
        needs: &[],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 002",
        compute: |c| total(c.state.contacts as f64),
    },
    KpiDef {
        id: "orders",
        name: "Orders",
        definition: "count of orders (whole period)",
        unit: Unit::Count,
        direction: Neutral,
        needs: &[],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 001",
        compute: |c| total(c.totals.orders as f64),
    },
    KpiDef {
        id: "volume_share",
        name: "Volume share",
        definition: "contacts in the group / contacts in the period",
        unit: Unit::Rate,
        direction: Neutral,
        needs: &[GroupBy],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 002",
        compute: |c| ratio(c.state.contacts as f64, c.period_contacts as f64),
    },
    KpiDef {
        id: "peak_to_trough",
        name: "Peak to trough",
        definition: "max daily contacts / min daily contacts within the period (days with 0 contacts count)",
        unit: Unit::Ratio,
        direction: LowerIsBetter,
        needs: &[],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 001",
        compute: |c| match c.daily_peak_trough {
            Some((max, min)) => ratio(max as f64, min as f64),
            None => Measure::default(),
        },
    },
    KpiDef {
        id: "wismo_share",
        name: "WISMO share",
        definition: "order_tracking contacts / contacts",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[INTENT],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 000",
        compute: |c| ratio(c.state.wismo as f64, c.state.contacts as f64),
    },
    KpiDef {
        id: "policy_contact_share",
        name: "Policy contact share",
        definition: "policy-taxonomy contacts / contacts",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[INTENT],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 000",
        compute: |c| ratio(c.state.policy as f64, c.state.contacts as f64),
    },
    KpiDef {
        id: "preventable_contact_rate",
        name: "Preventable contact rate",
        definition: "preventable contacts / sessions (sessions of the whole period)",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[Sessions, Need::AnyColumn(&["intent", "preventable"])],
        reads: Days,
        headline: false,
        band: Some(BandRule::LowerIsBetter { healthy_max: 0.018, watch_max: 0.028 }),
        owner: Some("CX + ecommerce ops"),
        source: "seed 000",
        compute: |c| ratio(c.state.preventable as f64, c.totals.sessions),
    },
    KpiDef {
        id: "conversion_rate",
        name: "Conversion rate",
        definition: "orders / sessions (whole period)",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[Sessions],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 000",
        compute: |c| ratio(c.totals.orders as f64, c.totals.sessions),
    },
    KpiDef {
        id: "self_service_resolution_rate",
        name: "Self-service resolution rate",
        definition: "(handled_by = self_service, resolved, not escalated) / (handled_by = self_service)",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[HANDLED, RESOLVED],
        reads: Days,
        headline: false,
        band: Some(BandRule::HigherIsBetter { healthy_min: 0.72, watch_min: 0.60 }),
        owner: Some("support enablement"),
        source: "seed 000",
        compute: |c| ratio(c.state.self_service_resolved as f64, c.state.self_service as f64),
    },
    KpiDef {
        id: "ai_resolution_rate",
        name: "AI resolution rate",
        definition: "(handled_by = ai, resolved, not escalated) / (handled_by = ai)",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[HANDLED, RESOLVED],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 003",
        compute: |c| ratio(c.state.ai_resolved as f64, c.state.ai as f64),
    },
    KpiDef {
        id: "escalation_rate",
        name: "Escalation rate",
        definition: "(handled_by = ai and escalated) / (handled_by = ai)",
        unit: Unit::Rate,
        direction: Direction::Range,
        needs: &[HANDLED, Column("escalated")],
        reads: Days,
        headline: false,
        band: Some(BandRule::Range { healthy_min: 0.20, healthy_max: 0.40, watch_max: 0.50 }),
        owner: Some("support enablement"),
        source: "seed 001",
        compute: |c| ratio(c.state.ai_escalated as f64, c.state.ai as f64),
    },
    KpiDef {
        id: "resolution_accuracy",
        name: "AI resolution accuracy",
        definition: "resolution_correct = true / reviewed AI-resolved contacts",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[HANDLED, RESOLVED, Column("resolution_correct")],
        reads: Days,
        headline: false,
        band: Some(BandRule::HigherIsBetter { healthy_min: 0.90, watch_min: 0.85 }),
        owner: Some("support enablement"),
        source: "seed 001",
        compute: |c| ratio(c.state.accuracy_correct as f64, c.state.accuracy_reviewed as f64),
    },
    KpiDef {
        id: "recovery_rate_7d",
        name: "7-day recovery rate",
        definition: "recovered_7d / mature contacts with a customer_id",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[],
        reads: Days,
        headline: false,
        band: Some(BandRule::HigherIsBetter { healthy_min: 0.18, watch_min: 0.10 }),
        owner: Some("growth + lifecycle"),
        source: "seed 000",
        compute: |c| ratio(c.state.recovered as f64, c.state.recovery_mature as f64),
    },
    KpiDef {
        id: "recovery_hours_median",
        name: "Median hours to recovery",
        definition: "median hours_to_next_order over mature recovered contacts",
        unit: Unit::Hours,
        direction: LowerIsBetter,
        needs: &[],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 000",
        compute: |c| c.values.quantile(Quantiled::RecoveryHours, 0.5),
    },
    KpiDef {
        id: "recovered_revenue",
        name: "Recovered revenue",
        definition: "sum attributed_revenue over mature contacts",
        unit: Unit::Currency,
        direction: HigherIsBetter,
        needs: &[],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 000",
        compute: |c| total(c.state.recovered_revenue),
    },
    KpiDef {
        id: "recovered_revenue_assisted",
        name: "Recovered revenue (assisted)",
        definition: "recovered_revenue of contacts on the ai or human path",
        unit: Unit::Currency,
        direction: HigherIsBetter,
        needs: &[HANDLED],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 000",
        compute: |c| total(c.state.recovered_revenue_assisted),
    },
    KpiDef {
        id: "recovered_revenue_self_service",
        name: "Recovered revenue (self-service)",
        definition: "recovered_revenue of contacts on the self_service path",
        unit: Unit::Currency,
        direction: HigherIsBetter,
        needs: &[HANDLED],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 000",
        compute: |c| total(c.state.recovered_revenue_self_service),
    },
    KpiDef {
        id: "recovered_margin",
        name: "Recovered margin",
        definition: "attributed revenue - refund - discount - appeasement - cogs of attributed orders, minus support cost, over mature contacts",
        unit: Unit::Currency,
        direction: HigherIsBetter,
        needs: &[COST],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 000",
        compute: |c| total(c.state.recovered_net_revenue - c.state.recovery_mature_cost),
    },
    KpiDef {
        id: "repeat_contact_rate_14d",
        name: "14-day repeat contact rate",
        definition: "repeat_14d / mature contacts with a customer_id",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[],
        reads: Days,
        headline: false,
        band: Some(BandRule::LowerIsBetter { healthy_max: 0.12, watch_max: 0.20 }),
        owner: Some("support operations"),
        source: "seed 000",
        compute: |c| ratio(c.state.repeated as f64, c.state.repeat_mature as f64),
    },
    KpiDef {
        id: "recontact_rate_48h",
        name: "48-hour recontact rate",
        definition: "recontact_48h / mature resolved contacts with a customer_id",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Days,
        headline: false,
        band: Some(BandRule::LowerIsBetter { healthy_max: 0.10, watch_max: 0.15 }),
        owner: Some("support operations"),
        source: "seed 001 (project default edges)",
        compute: |c| ratio(c.state.recontacted as f64, c.state.recontact_mature as f64),
    },
    KpiDef {
        id: "frt_median",
        name: "First response time (median)",
        definition: "median of first_response_at - created_at, minutes",
        unit: Unit::Minutes,
        direction: LowerIsBetter,
        needs: &[FRT],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 002",
        compute: |c| c.values.quantile(Quantiled::FrtMinutes, 0.5),
    },
    KpiDef {
        id: "frt_p90",
        name: "First response time (p90)",
        definition: "90th percentile of first_response_at - created_at, minutes",
        unit: Unit::Minutes,
        direction: LowerIsBetter,
        needs: &[FRT],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 003",
        compute: |c| c.values.quantile(Quantiled::FrtMinutes, 0.9),
    },
    KpiDef {
        id: "frt_median_ai",
        name: "First response time, AI path (median)",
        definition: "frt_median over contacts on the ai path",
        unit: Unit::Minutes,
        direction: LowerIsBetter,
        needs: &[FRT, HANDLED],
        reads: Days,
        headline: false,
        band: Some(BandRule::LowerIsBetter { healthy_max: 5.0, watch_max: 15.0 }),
        owner: Some("support enablement"),
        source: "seed 001",
        compute: |c| c.values.quantile(Quantiled::FrtAiMinutes, 0.5),
    },
    KpiDef {
        id: "frt_median_human",
        name: "First response time, human path (median)",
        definition: "frt_median over contacts on the human path",
        unit: Unit::Minutes,
        direction: LowerIsBetter,
        needs: &[FRT, HANDLED],
        reads: Days,
        headline: false,
        band: Some(BandRule::LowerIsBetter { healthy_max: 240.0, watch_max: 480.0 }),
        owner: Some("support lead"),
        source: "seed 001",
        compute: |c| c.values.quantile(Quantiled::FrtHumanMinutes, 0.5),
    },
    KpiDef {
        id: "resolution_time_median",
        name: "Resolution time (median)",
        definition: "median of resolved_at - created_at, hours",
        unit: Unit::Hours,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 002",
        compute: |c| c.values.quantile(Quantiled::ResolutionHours, 0.5),
    },
    KpiDef {
        id: "resolution_time_p90",
        name: "Resolution time (p90)",
        definition: "90th percentile of resolved_at - created_at, hours",
        unit: Unit::Hours,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 003",
        compute: |c| c.values.quantile(Quantiled::ResolutionHours, 0.9),
    },
    KpiDef {
        id: "aht_minutes",
        name: "Average handle time",
        definition: "mean handle_seconds / 60 over resolved human-path contacts",
        unit: Unit::Minutes,
        direction: LowerIsBetter,
        needs: &[Column("handle_seconds"), HANDLED, RESOLVED],
        reads: Days,
        headline: false,
        band: Some(BandRule::LowerIsBetter { healthy_max: 15.0, watch_max: 20.0 }),
        owner: Some("support lead"),
        source: "seed 001",
        compute: |c| mean(c.state.aht_seconds / 60.0, c.state.aht_count),
    },
    KpiDef {
        id: "backlog_open",
        name: "Open backlog",
        definition: "contacts with created_at < period end and resolved_at null or >= period end",
        unit: Unit::Count,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Backlog,
        headline: false,
        band: None,
        owner: None,
        source: "seed 001",
        compute: |c| total(c.backlog_open as f64),
    },
    KpiDef {
        id: "backlog_age_hours",
        name: "Backlog age",
        definition: "mean age at period end of the open contacts, hours",
        unit: Unit::Hours,
        direction: LowerIsBetter,
        needs: &[RESOLVED],
        reads: Backlog,
        headline: false,
        band: Some(BandRule::LowerIsBetter { healthy_max: 4.0, watch_max: 8.0 }),
        owner: Some("support operations"),
        source: "seed 001",
        compute: |c| mean(c.backlog_age_micros as f64 / MICROS_PER_HOUR, c.backlog_open),
    },
    KpiDef {
        id: "csat_satisfied_rate",
        name: "CSAT satisfied share",
        definition: "rated contacts with csat >= 4 / rated contacts",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[CSAT],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 002",
        compute: |c| ratio(c.state.csat_satisfied as f64, c.state.csat_count as f64),
    },
    KpiDef {
        id: "csat_ai",
        name: "CSAT, AI path",
        definition: "mean csat over contacts on the ai path",
        unit: Unit::Score,
        direction: HigherIsBetter,
        needs: &[CSAT, HANDLED],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 001",
        compute: |c| mean(c.state.csat_ai_sum, c.state.csat_ai_count),
    },
    KpiDef {
        id: "csat_human",
        name: "CSAT, human path",
        definition: "mean csat over contacts on the human path (escalated AI contacts included)",
        unit: Unit::Score,
        direction: HigherIsBetter,
        needs: &[CSAT, HANDLED],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 001",
        compute: |c| mean(c.state.csat_human_sum, c.state.csat_human_count),
    },
    KpiDef {
        id: "csat_ai_human_gap",
        name: "CSAT gap, AI vs human",
        definition: "abs(csat_ai - csat_human)",
        unit: Unit::Score,
        direction: LowerIsBetter,
        needs: &[CSAT, HANDLED],
        reads: Days,
        headline: false,
        band: Some(BandRule::LowerIsBetter { healthy_max: 0.3, watch_max: 0.5 }),
        owner: Some("support lead"),
        source: "seed 001",
        compute: |c| {
            let ai = csat_by_path(c.state.csat_ai_sum, c.state.csat_ai_count);
            let human = csat_by_path(c.state.csat_human_sum, c.state.csat_human_count);
            Measure {
                value: ai.zip(human).map(|(a, h)| (a - h).abs()),
                numerator: None,
                denominator: None,
            }
        },
    },
    KpiDef {
        id: "negative_csat_checkout_shipping_share",
        name: "Negative CSAT from checkout/shipping",
        definition: "negative (csat <= 2) contacts with a checkout_shipping intent / negative contacts",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[CSAT, INTENT],
        reads: Days,
        headline: false,
        band: Some(BandRule::LowerIsBetter { healthy_max: 0.08, watch_max: 0.14 }),
        owner: Some("product + checkout owner"),
        source: "seed 000",
        compute: |c| ratio(c.state.csat_negative_checkout_shipping as f64, c.state.csat_negative as f64),
    },
    KpiDef {
        id: "nps",
        name: "Net promoter score",
        definition: "100 x (promoters (>= 9) - detractors (<= 6)) / rated; numerator = promoters - detractors",
        unit: Unit::Score,
        direction: HigherIsBetter,
        needs: &[Column("nps")],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 002",
        compute: |c| {
            let net = c.state.nps_promoters as f64 - c.state.nps_detractors as f64;
            let rated = c.state.nps_rated as f64;
            Measure {
                value: (rated > 0.0).then(|| 100.0 * net / rated),
                numerator: Some(net),
                denominator: Some(rated),
            }
        },
    },
    KpiDef {
        id: "ces_mean",
        name: "Customer effort score (mean)",
        definition: "mean ces over rated contacts",
        unit: Unit::Score,
        direction: HigherIsBetter,
        needs: &[Column("ces")],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 002",
        compute: |c| mean(c.state.ces_sum, c.state.ces_count),
    },
    KpiDef {
        id: "cost_per_contact",
        name: "Cost per contact",
        definition: "total cost / contacts",
        unit: Unit::Currency,
        direction: LowerIsBetter,
        needs: &[COST],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 003",
        compute: |c| ratio(c.state.cost, c.state.contacts as f64),
    },
    KpiDef {
        id: "cost_per_resolved_contact",
        name: "Cost per resolved contact",
        definition: "total cost / resolved contacts",
        unit: Unit::Currency,
        direction: LowerIsBetter,
        needs: &[COST, RESOLVED],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 000",
        compute: |c| ratio(c.state.cost, c.state.resolved as f64),
    },
    KpiDef {
        id: "cost_per_resolved_vs_baseline",
        name: "Cost per resolved contact vs baseline",
        definition: "cost_per_resolved_contact / its baseline over the preceding baseline window - 1",
        unit: Unit::Rate,
        direction: LowerIsBetter,
        needs: &[COST, RESOLVED],
        reads: Days,
        headline: false,
        band: Some(BandRule::LowerIsBetter { healthy_max: 0.10, watch_max: 0.20 }),
        owner: Some("finance + support"),
        source: "seed 000",
        compute: |c| {
            let current = (c.state.resolved > 0).then(|| c.state.cost / c.state.resolved as f64);
            let baseline = c
                .baseline
                .filter(|b| b.resolved > 0)
                .map(|b| b.cost / b.resolved as f64);
            Measure {
                value: current
                    .zip(baseline)
                    .filter(|(_, b)| *b != 0.0)
                    .map(|(cur, b)| cur / b - 1.0),
                numerator: current,
                denominator: baseline,
            }
        },
    },
    KpiDef {
        id: "support_cost_to_revenue",
        name: "Support cost to revenue",
        definition: "total cost / order revenue (revenue of the whole period)",
        unit: Unit::Ratio,
        direction: LowerIsBetter,
        needs: &[COST],
        reads: Days,
        headline: false,
        band: None,
        owner: None,
        source: "seed 002",
        compute: |c| ratio(c.state.cost, c.totals.revenue),
    },
    KpiDef {
        id: "repurchase_rate_90d",
        name: "90-day repurchase rate of contacting customers",
        definition: "customers with a contact in the period who order within 90 d after their first contact in it / such mature customers",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[],
        reads: Customers,
        headline: false,
        band: None,
        owner: None,
        source: "seed 001",
        compute: |c| ratio(c.repurchase.repurchased as f64, c.repurchase.mature as f64),
    },
    KpiDef {
        id: "repurchase_rate_90d_satisfied",
        name: "90-day repurchase rate, satisfied (csat >= 4)",
        definition: "repurchase_rate_90d of customers whose first contact in the period was rated csat >= 4",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[CSAT],
        reads: Customers,
        headline: false,
        band: None,
        owner: None,
        source: "seed 001",
        compute: |c| ratio(c.repurchase.satisfied_repurchased as f64, c.repurchase.satisfied_mature as f64),
    },
    KpiDef {
        id: "repurchase_rate_90d_unsatisfied",
        name: "90-day repurchase rate, unsatisfied (csat < 4)",
        definition: "repurchase_rate_90d of customers whose first contact in the period was rated csat < 4",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[CSAT],
        reads: Customers,
        headline: false,
        band: None,
        owner: None,
        source: "seed 001",
        compute: |c| ratio(c.repurchase.unsatisfied_repurchased as f64, c.repurchase.unsatisfied_mature as f64),
    },
    KpiDef {
        id: "repurchase_rate_90d_unrated",
        name: "90-day repurchase rate, unrated",
        definition: "repurchase_rate_90d of customers whose first contact in the period has no csat",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[CSAT],
        reads: Customers,
        headline: false,
        band: None,
        owner: None,
        source: "seed 001",
        compute: |c| ratio(c.repurchase.unrated_repurchased as f64, c.repurchase.unrated_mature as f64),
    },
    KpiDef {
        id: "repurchase_rate_90d_no_contact",
        name: "90-day repurchase rate of non-contacting customers",
        definition: "customers with an order and no contact in the period who order again within 90 d after their first order in it / such mature customers",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[],
        reads: Customers,
        headline: false,
        band: None,
        owner: None,
        source: "seed 001",
        compute: |c| ratio(c.customers.no_contact_repurchased as f64, c.customers.no_contact_mature as f64),
    },
    KpiDef {
        id: "retention_rate",
        name: "Customer retention rate",
        definition: "customers ordering in the previous period who order again in this one / customers ordering in the previous period",
        unit: Unit::Rate,
        direction: HigherIsBetter,
        needs: &[],
        reads: Customers,
        headline: false,
        band: None,
        owner: None,
        source: "seed 002",
        compute: |c| ratio(c.customers.retained as f64, c.customers.retention_base as f64),
    },
    KpiDef {
        id: "clv_simple",
        name: "Customer lifetime value (simple)",
        definition: "average order value x orders per customer x (lifespan days / period days)",
        unit: Unit::Currency,
        direction: HigherIsBetter,
        needs: &[],
        reads: Customers,
        headline: false,
        band: None,
        owner: None,
        source: "seed 002",
        compute: |c| {
            let orders = c.totals.orders as f64;
            let customers = c.customers.ordering_customers as f64;
            let value = (orders > 0.0 && customers > 0.0).then(|| {
                let average_order_value = c.totals.revenue / orders;
                let orders_per_customer = c.customers.orders_with_customer as f64 / customers;
                average_order_value * orders_per_customer * (c.lifespan_days / c.period_days)
            });
            Measure { value, numerator: None, denominator: None }
        },
    },
];

/// Looks a KPI up by id.
pub fn find(id: &str) -> Option<&'static KpiDef> {
    CATALOG.iter().find(|k| k.id == id)
}

/// A catalogue entry as data (for Python and the docs).
#[derive(Debug, Serialize)]
pub struct KpiInfo {
    /// Id.
    pub id: &'static str,
    /// Name.
    pub name: &'static str,
    /// Formula in words.
    pub definition: &'static str,
    /// Unit name.
    pub unit: &'static str,
    /// Direction.
    pub direction: Direction,
    /// Optional inputs needed.
    pub requires: Vec<String>,
    /// Headline KPI.
    pub headline: bool,
    /// Default band.
    pub band: Option<BandRule>,
    /// Owner.
    pub owner: Option<&'static str>,
    /// Source.
    pub source: &'static str,
}

/// The whole catalogue as data.
pub fn catalog_info() -> Vec<KpiInfo> {
    CATALOG
        .iter()
        .map(|k| KpiInfo {
            id: k.id,
            name: k.name,
            definition: k.definition,
            unit: k.unit.name(),
            direction: k.direction,
            requires: k.needs.iter().map(Need::describe).collect(),
            headline: k.headline,
            band: k.band,
            owner: k.owner,
            source: k.source,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_headline_order_matches_seed_001() {
        let mut ids: Vec<&str> = CATALOG.iter().map(|k| k.id).collect();
        let headline: Vec<&str> = CATALOG
            .iter()
            .filter(|k| k.headline)
            .map(|k| k.id)
            .collect();
        assert_eq!(
            headline,
            [
                "csat_mean",
                "deflection_rate",
                "fcr_rate",
                "tickets_per_order"
            ]
        );
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before);
    }

    #[test]
    fn every_banded_kpi_has_an_owner() {
        for k in CATALOG {
            assert_eq!(k.band.is_some(), k.owner.is_some(), "{}", k.id);
        }
    }

    /// A state with every field set to its own positive value (through serde, so a field
    /// added later is covered too).
    fn filled<T: Serialize + serde::de::DeserializeOwned + Default>(first: u64) -> T {
        let mut value = serde_json::to_value(T::default()).expect("a state serializes");
        if let Some(fields) = value.as_object_mut() {
            for (k, (_, field)) in fields.iter_mut().enumerate() {
                *field = serde_json::json!(first + 3 * k as u64);
            }
        }
        serde_json::from_value(value).expect("every field takes an integer")
    }

    /// Every KPI on one cell whose customer-cohort and backlog states are either empty or
    /// filled, the per-day states fixed.
    fn measures(customers: bool, backlog: bool) -> Vec<String> {
        let state: ContactState = filled(2);
        let baseline: ContactState = filled(5);
        let totals: DayTotals = filled(1000);
        let (per_period, repurchase) = if customers {
            (
                filled::<PeriodCustomerState>(7),
                filled::<RepurchaseState>(11),
            )
        } else {
            Default::default()
        };
        let mut day = CellValues::default();
        for which in Quantiled::ALL {
            for x in [3.0, 1.0, 2.0] {
                day.sample_mut(which).push(x);
            }
        }
        let parts = [&day];
        CATALOG
            .iter()
            .map(|kpi| {
                let mut scratch = CellValues::default();
                let mut cell = Cell {
                    state: &state,
                    values: CellSamples::new(&mut scratch, &parts),
                    totals: &totals,
                    period_contacts: 10_000,
                    customers: &per_period,
                    repurchase: &repurchase,
                    baseline: Some(&baseline),
                    backlog_open: if backlog { 40 } else { 0 },
                    backlog_age_micros: if backlog { 9_000_000_000 } else { 0 },
                    daily_peak_trough: Some((90, 30)),
                    period_days: 7.0,
                    lifespan_days: 1095.0,
                };
                format!("{:?}", (kpi.compute)(&mut cell))
            })
            .collect()
    }

    #[test]
    fn each_kpi_reads_the_pass_it_declares_and_no_other() {
        // A view skips the cohort and backlog passes when no computed KPI declares them:
        // a KPI reading a pass it does not declare would silently come out as zero.
        let plain = measures(false, false);
        let with_customers = measures(true, false);
        let with_backlog = measures(false, true);
        for (k, kpi) in CATALOG.iter().enumerate() {
            let reads_customers = plain[k] != with_customers[k];
            let reads_backlog = plain[k] != with_backlog[k];
            assert_eq!(reads_customers, kpi.reads == Reads::Customers, "{}", kpi.id);
            assert_eq!(reads_backlog, kpi.reads == Reads::Backlog, "{}", kpi.id);
        }
    }

    #[test]
    fn ratio_of_empty_denominator_is_null_but_keeps_parts() {
        let m = ratio(0.0, 0.0);
        assert_eq!(m.value, None);
        assert_eq!(m.numerator, Some(0.0));
        assert_eq!(m.denominator, Some(0.0));
    }
}
