//! Bands (SPEC §6): healthy / watch / intervention from a KPI value and its edges. A value
//! exactly on an edge takes the better band.

use crate::kpis::BandRule;

/// A band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Band {
    /// Within target.
    Healthy,
    /// Drifting: look at it.
    Watch,
    /// Act now.
    Intervention,
}

impl Band {
    /// The band's name in the output.
    pub fn name(self) -> &'static str {
        match self {
            Band::Healthy => "healthy",
            Band::Watch => "watch",
            Band::Intervention => "intervention",
        }
    }
}

/// Whether two values are equal up to floating-point rounding (1e-9 relative): a ratio
/// computed as 9 / 50 must sit exactly on an edge written as 0.18.
pub fn nearly_equal(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The band of `value` under `rule`; a value on an edge (up to rounding) takes the better
/// band.
pub fn band_of(rule: BandRule, value: f64) -> Band {
    let at_least = |edge: f64| value >= edge || nearly_equal(value, edge);
    let at_most = |edge: f64| value <= edge || nearly_equal(value, edge);
    match rule {
        BandRule::HigherIsBetter {
            healthy_min,
            watch_min,
        } => {
            if at_least(healthy_min) {
                Band::Healthy
            } else if at_least(watch_min) {
                Band::Watch
            } else {
                Band::Intervention
            }
        }
        BandRule::LowerIsBetter {
            healthy_max,
            watch_max,
        } => {
            if at_most(healthy_max) {
                Band::Healthy
            } else if at_most(watch_max) {
                Band::Watch
            } else {
                Band::Intervention
            }
        }
        BandRule::Range {
            healthy_min,
            healthy_max,
            watch_max,
        } => {
            if at_least(healthy_min) && at_most(healthy_max) {
                Band::Healthy
            } else if value < healthy_min || at_most(watch_max) {
                Band::Watch
            } else {
                Band::Intervention
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_take_the_better_band() {
        let csat = BandRule::HigherIsBetter {
            healthy_min: 4.3,
            watch_min: 4.0,
        };
        assert_eq!(band_of(csat, 4.3), Band::Healthy);
        assert_eq!(band_of(csat, 4.0), Band::Watch);
        assert_eq!(band_of(csat, 3.99), Band::Intervention);
        let repeat = BandRule::LowerIsBetter {
            healthy_max: 0.12,
            watch_max: 0.20,
        };
        assert_eq!(band_of(repeat, 0.12), Band::Healthy);
        assert_eq!(band_of(repeat, 0.20), Band::Watch);
        assert_eq!(band_of(repeat, 0.2001), Band::Intervention);
        let escalation = BandRule::Range {
            healthy_min: 0.20,
            healthy_max: 0.40,
            watch_max: 0.50,
        };
        assert_eq!(band_of(escalation, 0.20), Band::Healthy);
        assert_eq!(band_of(escalation, 0.40), Band::Healthy);
        assert_eq!(band_of(escalation, 0.19), Band::Watch);
        assert_eq!(band_of(escalation, 0.50), Band::Watch);
        assert_eq!(band_of(escalation, 0.51), Band::Intervention);
        // A computed ratio on an edge: 9 / 50 is the edge 0.18; 0.026 / 0.02 is 1.3.
        let recovery = BandRule::HigherIsBetter {
            healthy_min: 0.18,
            watch_min: 0.10,
        };
        assert_eq!(band_of(recovery, 9.0 / 50.0), Band::Healthy);
        assert!(nearly_equal(0.026 / 0.02, 1.3));
        assert!(!nearly_equal(0.1799, 0.18));
    }
}
