//! Score scales: the valid range of each rating column (CSAT, NPS, CES); a value outside is
//! invalid input. The `[scales]` section of the config.

use serde::{Deserialize, Serialize};

/// A score scale [min, max].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    /// Lowest valid score.
    pub min: f64,
    /// Highest valid score.
    pub max: f64,
}

/// CSAT, NPS and CES scales (values outside are a `DataError`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scales {
    /// CSAT (satisfied = the top two points, negative = the bottom two).
    pub csat: Scale,
    /// NPS (promoters ≥ max − 1, detractors ≤ max − 4 on 0–10).
    pub nps: Scale,
    /// CES (higher = easier).
    pub ces: Scale,
}

impl Default for Scales {
    fn default() -> Self {
        Scales {
            csat: Scale { min: 1.0, max: 5.0 },
            nps: Scale {
                min: 0.0,
                max: 10.0,
            },
            ces: Scale { min: 1.0, max: 7.0 },
        }
    }
}
