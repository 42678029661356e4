//! The valid ranges of input values: the score scales of the rating columns (CSAT, NPS,
//! CES; the `[scales]` section of the config) and the plausible range of timestamps (the
//! `[timestamps]` section). A value outside is invalid input.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::time::parse_instant;

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

impl Scales {
    /// Every scale has finite min < max.
    pub fn check(&self) -> Result<()> {
        for (name, scale) in [("csat", self.csat), ("nps", self.nps), ("ces", self.ces)] {
            if !(scale.min.is_finite() && scale.max.is_finite() && scale.min < scale.max) {
                return Err(Error::config(
                    &format!("scales.{name}"),
                    "needs finite min < max",
                ));
            }
        }
        Ok(())
    }
}

/// The plausible range of input timestamps: a created_at, first_response_at or resolved_at
/// outside it is invalid (a DataError, or dropped with `on_invalid="drop"`). Exports put
/// 1970-01-01 (a zero epoch) or 2200 / 9999 (a "never" sentinel) into timestamp columns;
/// one such row would otherwise stretch the day grid over centuries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampRange {
    /// Earliest valid instant, inclusive (RFC 3339 or YYYY-MM-DD, UTC).
    pub earliest: String,
    /// Latest valid instant, exclusive.
    pub latest: String,
}

impl TimestampRange {
    /// [earliest, latest) as UTC µs.
    pub fn bounds(&self) -> Result<(i64, i64)> {
        let earliest = parse_instant(&self.earliest, "timestamps.earliest")?;
        let latest = parse_instant(&self.latest, "timestamps.latest")?;
        if latest <= earliest {
            return Err(Error::config(
                "timestamps.latest",
                "must be after timestamps.earliest",
            ));
        }
        Ok((earliest, latest))
    }
}

impl Default for TimestampRange {
    /// 2000-01-01 to 2100-01-01.
    fn default() -> Self {
        TimestampRange {
            earliest: "2000-01-01".into(),
            latest: "2100-01-01".into(),
        }
    }
}

/// What values are checked against, from the config.
pub struct ValueChecks<'a> {
    /// The score scales.
    pub scales: &'a Scales,
    /// The plausible range of timestamps, [earliest, latest) UTC µs.
    pub time_range: (i64, i64),
    /// The configured business calendars' names (empty: none configured).
    pub calendars: Vec<String>,
}
