//! What a KPI's formula reads: one period × group cell's merged states.

use super::customers::{PeriodCustomerState, RepurchaseState};
use super::sample::{CellValues, DayTotals, Quantiled, Sample, SettledRanks};
use super::{quantile_of, ContactState, Measure};

/// A cell's quantile inputs, gathered from its days' lists into scratch lists the first
/// time a KPI asks for them. A list no evaluated KPI reads is never copied: a baseline
/// window holds a month of values per period, and only the banded KPIs and the rules
/// read baselines.
pub struct CellSamples<'a> {
    scratch: &'a mut CellValues,
    parts: &'a [&'a CellValues],
    gathered: [bool; Quantiled::ALL.len()],
    /// Per list, the ranks earlier quantiles of this cell selected (a list's median and
    /// 90th percentile share the work).
    settled: [SettledRanks; Quantiled::ALL.len()],
    /// The normal quantile of the intervals (SPEC §10.1).
    z: f64,
}

impl<'a> CellSamples<'a> {
    /// The values of `parts` (the cell's days), to be gathered into `scratch` on demand;
    /// quantile intervals at `z`.
    pub fn new(scratch: &'a mut CellValues, parts: &'a [&'a CellValues], z: f64) -> Self {
        CellSamples {
            scratch,
            parts,
            gathered: [false; Quantiled::ALL.len()],
            settled: [SettledRanks::default(); Quantiled::ALL.len()],
            z,
        }
    }

    /// The cell's list `which`, gathered on first use. Private: only the quantiles reorder
    /// it, so the settled ranks stay true.
    fn get(&mut self, which: Quantiled) -> &mut Sample {
        let k = which as usize;
        if !self.gathered[k] {
            self.gathered[k] = true;
            self.settled[k] = SettledRanks::default();
            self.scratch
                .sample_mut(which)
                .refill(self.parts.iter().map(|p| p.sample(which)));
        }
        self.scratch.sample_mut(which)
    }

    /// The q-quantile of list `which` (see [`quantile_of`]).
    pub fn quantile(&mut self, which: Quantiled, q: f64) -> Measure {
        let z = self.z;
        let k = which as usize;
        self.get(which);
        quantile_of(self.scratch.sample_mut(which), &mut self.settled[k], q, z)
    }
}

/// Everything known about one period × group cell, merged from the daily states.
pub struct Cell<'a> {
    /// Contact counts and sums of the cell.
    pub state: &'a ContactState,
    /// The normal quantile of the configured confidence (SPEC §10.1).
    pub z: f64,
    /// The configured confidence (the mean intervals' Student-t quantile).
    pub confidence: f64,
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
    /// Contacts open at the period end with a business calendar.
    pub business_backlog_open: u64,
    /// Sum of their business ages at the period end, µs (SPEC §9.2).
    pub business_backlog_age_micros: i128,
    /// (max, min) daily contacts over the observed days of the period.
    pub daily_peak_trough: Option<(u64, u64)>,
    /// Length of the period in days.
    pub period_days: f64,
    /// CLV lifespan in days.
    pub lifespan_days: f64,
}
