//! Bands (SPEC §6): a KPI's healthy / watch / intervention regions and their owner. The
//! one band model: the catalogue's defaults and the config's overrides are [`Band`]s, the
//! engine classifies values with [`Band::level_of`], and the report, plots and docs draw
//! and describe the [`Band::regions`] exported from here. A value exactly on an edge takes
//! the better band.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Where a value stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Within target.
    Healthy,
    /// Drifting: look at it.
    Watch,
    /// Act now.
    Intervention,
}

impl Level {
    /// The band's name in the output.
    pub fn name(self) -> &'static str {
        match self {
            Level::Healthy => "healthy",
            Level::Watch => "watch",
            Level::Intervention => "intervention",
        }
    }
}

/// The edges of a band, by shape.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Edges {
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
    /// healthy in [healthy_min, healthy_max]; watch up to watch_max above it and, below it,
    /// down to watch_min (every value below when there is none); else intervention.
    Range {
        /// Lowest healthy value.
        healthy_min: f64,
        /// Highest healthy value.
        healthy_max: f64,
        /// Highest watch value.
        watch_max: f64,
        /// Lowest watch value, if values far below the healthy range need intervention.
        #[serde(skip_serializing_if = "Option::is_none")]
        watch_min: Option<f64>,
    },
}

/// A KPI's band: its edges and the owner of the decision (SPEC §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BandFields", into = "BandFields")]
pub struct Band {
    /// The edges.
    pub edges: Edges,
    /// Decision owner.
    pub owner: Cow<'static, str>,
    /// The smallest sample a value is banded on (SPEC §10.2); below it the band is
    /// `insufficient`.
    pub min_sample: u64,
}

/// The default `min_sample` of a band (SPEC §10.2).
pub const DEFAULT_MIN_SAMPLE: u64 = 30;

/// The band value of a cell whose sample is below the band's `min_sample` (SPEC §10.2).
pub const INSUFFICIENT: &str = "insufficient";

/// One value range of a band. An end is None when unbounded; it belongs to the range when
/// `includes_*` says so (an edge belongs to the better of its two ranges).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Region {
    /// The band of the values in the range.
    pub band: Level,
    /// Lower end.
    pub low: Option<f64>,
    /// Upper end.
    pub high: Option<f64>,
    /// Whether `low` is in the range.
    pub includes_low: bool,
    /// Whether `high` is in the range.
    pub includes_high: bool,
}

/// Whether two values are equal up to floating-point rounding (1e-9 relative): a ratio
/// computed as 9 / 50 must sit exactly on an edge written as 0.18.
pub fn nearly_equal(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

impl Region {
    fn new(band: Level, low: Option<f64>, high: Option<f64>) -> Self {
        Region {
            band,
            low,
            high,
            includes_low: false,
            includes_high: false,
        }
    }

    /// Whether `value` lies in the range (an included end up to rounding).
    fn contains(&self, value: f64) -> bool {
        let above_low = self.low.is_none_or(|low| {
            value > low || (self.includes_low && (value == low || nearly_equal(value, low)))
        });
        let below_high = self.high.is_none_or(|high| {
            value < high || (self.includes_high && (value == high || nearly_equal(value, high)))
        });
        above_low && below_high
    }
}

impl Band {
    /// A band with a fixed owner (the catalogue's defaults).
    pub const fn new(edges: Edges, owner: &'static str) -> Band {
        Band {
            edges,
            owner: Cow::Borrowed(owner),
            min_sample: DEFAULT_MIN_SAMPLE,
        }
    }

    /// The value ranges of the band in ascending order, every real value in exactly one
    /// (an edge in the better band's).
    pub fn regions(&self) -> Vec<Region> {
        use Level::{Healthy, Intervention, Watch};
        // Each edge is (value, whether it belongs to the range below it).
        let mut out = Vec::with_capacity(5);
        let mut push = |band, low: Option<f64>, high: Option<f64>, low_in: bool, high_in: bool| {
            let mut r = Region::new(band, low, high);
            r.includes_low = low_in && low.is_some();
            r.includes_high = high_in && high.is_some();
            out.push(r);
        };
        match self.edges {
            Edges::HigherIsBetter {
                healthy_min,
                watch_min,
            } => {
                push(Intervention, None, Some(watch_min), false, false);
                push(Watch, Some(watch_min), Some(healthy_min), true, false);
                push(Healthy, Some(healthy_min), None, true, false);
            }
            Edges::LowerIsBetter {
                healthy_max,
                watch_max,
            } => {
                push(Healthy, None, Some(healthy_max), false, true);
                push(Watch, Some(healthy_max), Some(watch_max), false, true);
                push(Intervention, Some(watch_max), None, false, false);
            }
            Edges::Range {
                healthy_min,
                healthy_max,
                watch_max,
                watch_min,
            } => {
                if let Some(watch_min) = watch_min {
                    push(Intervention, None, Some(watch_min), false, false);
                    push(Watch, Some(watch_min), Some(healthy_min), true, false);
                } else {
                    push(Watch, None, Some(healthy_min), false, false);
                }
                push(Healthy, Some(healthy_min), Some(healthy_max), true, true);
                push(Watch, Some(healthy_max), Some(watch_max), false, true);
                push(Intervention, Some(watch_max), None, false, false);
            }
        }
        out
    }

    /// The band of `value`: the region holding it, the better band's on an edge (up to
    /// rounding). A value no region holds (NaN) is an intervention.
    pub fn level_of(&self, value: f64) -> Level {
        level_in(&self.regions(), value)
    }

    /// Whether a value from `sample` observations is banded: a value without a sample
    /// (counts, sums) always is; one from fewer than `min_sample` is not (SPEC §10.2).
    pub fn enough(&self, sample: Option<f64>) -> bool {
        sample.is_none_or(|n| n >= self.min_sample as f64)
    }

    /// Checks the edges: finite, and watch beyond healthy.
    fn check(&self) -> Result<(), String> {
        let (edges, ordered) = match self.edges {
            Edges::HigherIsBetter {
                healthy_min,
                watch_min,
            } => (vec![healthy_min, watch_min], watch_min <= healthy_min),
            Edges::LowerIsBetter {
                healthy_max,
                watch_max,
            } => (vec![healthy_max, watch_max], healthy_max <= watch_max),
            Edges::Range {
                healthy_min,
                healthy_max,
                watch_max,
                watch_min,
            } => (
                vec![
                    healthy_min,
                    healthy_max,
                    watch_max,
                    watch_min.unwrap_or(0.0),
                ],
                healthy_min <= healthy_max
                    && healthy_max <= watch_max
                    && watch_min.is_none_or(|w| w <= healthy_min),
            ),
        };
        if edges.iter().any(|e| !e.is_finite()) {
            return Err("band edges must be finite numbers".into());
        }
        if !ordered {
            return Err("band edges are out of order (watch must lie beyond healthy)".into());
        }
        Ok(())
    }
}

/// Whether the whole interval lies in the region holding `value` (SPEC §10.2's
/// band_certain): a range band's two watch regions are two regions, so an interval
/// spanning the healthy range between them is not certain.
pub fn interval_in_band(regions: &[Region], value: f64, (low, high): (f64, f64)) -> bool {
    let level = level_in(regions, value);
    regions
        .iter()
        .find(|r| r.band == level && r.contains(value))
        .is_some_and(|r| r.contains(low) && r.contains(high))
}

/// [`Band::level_of`] with the band's regions computed once (for many values).
pub fn level_in(regions: &[Region], value: f64) -> Level {
    [Level::Healthy, Level::Watch, Level::Intervention]
        .into_iter()
        .find(|&level| regions.iter().any(|r| r.band == level && r.contains(value)))
        .unwrap_or(Level::Intervention)
}

/// A band as written in a config (`[bands.<kpi>]`): the shape, its edges and the owner.
/// Every edge a shape does not use is refused rather than ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BandFields {
    shape: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    healthy_min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    healthy_max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    watch_min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    watch_max: Option<f64>,
    owner: String,
    #[serde(default = "default_min_sample")]
    min_sample: u64,
}

fn default_min_sample() -> u64 {
    DEFAULT_MIN_SAMPLE
}

impl TryFrom<BandFields> for Band {
    type Error = String;

    fn try_from(f: BandFields) -> Result<Band, String> {
        let shape = f.shape.as_str();
        let fields = [
            ("healthy_min", f.healthy_min),
            ("healthy_max", f.healthy_max),
            ("watch_min", f.watch_min),
            ("watch_max", f.watch_max),
        ];
        let (required, optional): (&[&str], &[&str]) = match shape {
            "higher_is_better" => (&["healthy_min", "watch_min"], &[]),
            "lower_is_better" => (&["healthy_max", "watch_max"], &[]),
            "range" => (&["healthy_min", "healthy_max", "watch_max"], &["watch_min"]),
            other => {
                return Err(format!(
                    "unknown band shape {other:?}: expected higher_is_better, \
                     lower_is_better or range"
                ))
            }
        };
        for (name, value) in fields {
            let used = required.contains(&name) || optional.contains(&name);
            match value {
                None if required.contains(&name) => {
                    return Err(format!("a {shape} band needs {name}"))
                }
                Some(_) if !used => {
                    return Err(format!(
                        "a {shape} band has no {name} (it uses {}); a band that changes \
                         shape starts from its owner only",
                        [required, optional].concat().join(", ")
                    ))
                }
                _ => {}
            }
        }
        // Every required edge is present (checked above); 0.0 is never read.
        let edge = |v: Option<f64>| v.unwrap_or(0.0);
        let edges = match shape {
            "higher_is_better" => Edges::HigherIsBetter {
                healthy_min: edge(f.healthy_min),
                watch_min: edge(f.watch_min),
            },
            "lower_is_better" => Edges::LowerIsBetter {
                healthy_max: edge(f.healthy_max),
                watch_max: edge(f.watch_max),
            },
            _ => Edges::Range {
                healthy_min: edge(f.healthy_min),
                healthy_max: edge(f.healthy_max),
                watch_max: edge(f.watch_max),
                watch_min: f.watch_min,
            },
        };
        let band = Band {
            edges,
            owner: Cow::Owned(f.owner),
            min_sample: f.min_sample,
        };
        band.check()?;
        Ok(band)
    }
}

impl From<Band> for BandFields {
    fn from(band: Band) -> BandFields {
        let mut f = BandFields {
            shape: String::new(),
            healthy_min: None,
            healthy_max: None,
            watch_min: None,
            watch_max: None,
            owner: band.owner.into_owned(),
            min_sample: band.min_sample,
        };
        match band.edges {
            Edges::HigherIsBetter {
                healthy_min,
                watch_min,
            } => {
                f.shape = "higher_is_better".into();
                (f.healthy_min, f.watch_min) = (Some(healthy_min), Some(watch_min));
            }
            Edges::LowerIsBetter {
                healthy_max,
                watch_max,
            } => {
                f.shape = "lower_is_better".into();
                (f.healthy_max, f.watch_max) = (Some(healthy_max), Some(watch_max));
            }
            Edges::Range {
                healthy_min,
                healthy_max,
                watch_max,
                watch_min,
            } => {
                f.shape = "range".into();
                (f.healthy_min, f.healthy_max) = (Some(healthy_min), Some(healthy_max));
                (f.watch_max, f.watch_min) = (Some(watch_max), watch_min);
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(edges: Edges) -> Band {
        Band::new(edges, "owner")
    }

    #[test]
    fn edges_take_the_better_band() {
        let csat = band(Edges::HigherIsBetter {
            healthy_min: 4.3,
            watch_min: 4.0,
        });
        assert_eq!(csat.level_of(4.3), Level::Healthy);
        assert_eq!(csat.level_of(4.0), Level::Watch);
        assert_eq!(csat.level_of(3.99), Level::Intervention);
        let repeat = band(Edges::LowerIsBetter {
            healthy_max: 0.12,
            watch_max: 0.20,
        });
        assert_eq!(repeat.level_of(0.12), Level::Healthy);
        assert_eq!(repeat.level_of(0.20), Level::Watch);
        assert_eq!(repeat.level_of(0.2001), Level::Intervention);
        let escalation = band(Edges::Range {
            healthy_min: 0.20,
            healthy_max: 0.40,
            watch_max: 0.50,
            watch_min: None,
        });
        assert_eq!(escalation.level_of(0.20), Level::Healthy);
        assert_eq!(escalation.level_of(0.40), Level::Healthy);
        assert_eq!(escalation.level_of(0.19), Level::Watch);
        assert_eq!(escalation.level_of(-5.0), Level::Watch);
        assert_eq!(escalation.level_of(0.50), Level::Watch);
        assert_eq!(escalation.level_of(0.51), Level::Intervention);
        // A computed ratio on an edge: 9 / 50 is the edge 0.18; 0.026 / 0.02 is 1.3.
        let recovery = band(Edges::HigherIsBetter {
            healthy_min: 0.18,
            watch_min: 0.10,
        });
        assert_eq!(recovery.level_of(9.0 / 50.0), Level::Healthy);
        assert!(nearly_equal(0.026 / 0.02, 1.3));
        assert!(!nearly_equal(0.1799, 0.18));
        assert_eq!(recovery.level_of(f64::NAN), Level::Intervention);
    }

    #[test]
    fn a_range_band_honours_its_watch_min() {
        let escalation = band(Edges::Range {
            healthy_min: 0.20,
            healthy_max: 0.40,
            watch_max: 0.50,
            watch_min: Some(0.10),
        });
        assert_eq!(escalation.level_of(0.10), Level::Watch);
        assert_eq!(escalation.level_of(0.15), Level::Watch);
        assert_eq!(escalation.level_of(0.0999), Level::Intervention);
    }

    #[test]
    fn regions_cover_every_value_once_and_agree_with_the_classification() {
        let bands = [
            band(Edges::HigherIsBetter {
                healthy_min: 4.3,
                watch_min: 4.0,
            }),
            band(Edges::LowerIsBetter {
                healthy_max: 0.1,
                watch_max: 0.15,
            }),
            band(Edges::Range {
                healthy_min: 0.2,
                healthy_max: 0.4,
                watch_max: 0.5,
                watch_min: None,
            }),
            band(Edges::Range {
                healthy_min: 0.2,
                healthy_max: 0.4,
                watch_max: 0.5,
                watch_min: Some(0.05),
            }),
        ];
        for b in &bands {
            let regions = b.regions();
            for w in regions.windows(2) {
                assert_eq!(w[0].high, w[1].low, "{b:?}");
                // Exactly one of two neighbours holds the shared edge.
                assert!(w[0].includes_high != w[1].includes_low, "{b:?}");
            }
            for k in -100..=700 {
                let x = f64::from(k) / 100.0;
                let holding: Vec<&Region> = regions.iter().filter(|r| r.contains(x)).collect();
                if holding.len() == 1 {
                    assert_eq!(holding[0].band, b.level_of(x), "{x} in {b:?}");
                } else {
                    // Only an edge within rounding of two ranges: the better one wins.
                    assert_eq!(holding.len(), 2, "{x} in {b:?}");
                    let best = holding.iter().map(|r| r.band).min().unwrap_or(Level::Watch);
                    assert_eq!(best, b.level_of(x));
                }
            }
        }
    }

    fn parse(json: &str) -> Result<Band, String> {
        serde_json::from_str::<Band>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_band_option_its_shape_does_not_use_is_refused() {
        let err = parse(
            r#"{"shape": "higher_is_better", "healthy_min": 1, "watch_min": 0,
                "watch_max": 2, "owner": "x"}"#,
        )
        .err()
        .unwrap_or_default();
        assert!(err.contains("has no watch_max"), "{err}");
        let err = parse(r#"{"shape": "range", "healthy_min": 1, "owner": "x"}"#)
            .err()
            .unwrap_or_default();
        assert!(err.contains("needs healthy_max"), "{err}");
        let ok = parse(
            r#"{"shape": "range", "healthy_min": 0.2, "healthy_max": 0.4, "watch_max": 0.5,
                "watch_min": 0.1, "owner": "x"}"#,
        );
        assert!(ok.is_ok(), "{ok:?}");
        let round_trip = serde_json::to_value(ok.unwrap_or_else(|_| {
            band(Edges::Range {
                healthy_min: 0.0,
                healthy_max: 0.0,
                watch_max: 0.0,
                watch_min: None,
            })
        }))
        .unwrap_or_default();
        assert_eq!(round_trip["watch_min"], 0.1);
        assert_eq!(round_trip["owner"], "x");
    }
}
