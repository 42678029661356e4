//! How sure a number is (SPEC §10): the `statistics` config section and the intervals of
//! §10.1. The normal quantile comes from `statrs` (a well-kept implementation, rather than
//! a hand-written approximation); the interval formulas are the SPEC's.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::beta::beta_reg;
use statrs::function::erf::erfc;

use crate::error::{Error, Result};

/// The `[statistics]` section.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Statistics {
    /// Confidence of the intervals (and 1 − α of the tests), in (0, 1).
    pub confidence: f64,
}

impl Default for Statistics {
    fn default() -> Self {
        Statistics { confidence: 0.95 }
    }
}

impl Statistics {
    /// Checks the section (a ConfigError naming `statistics.confidence`).
    pub fn check(&self) -> Result<()> {
        let inside = self.confidence > 0.0 && self.confidence < 1.0;
        if !inside {
            return Err(Error::config(
                "statistics.confidence",
                format!(
                    "must be between 0 and 1 (exclusive), not {}",
                    self.confidence
                ),
            ));
        }
        Ok(())
    }

    /// z: the standard normal quantile at 1 − (1 − confidence)/2.
    pub fn z(&self) -> f64 {
        let tail = (1.0 - self.confidence) / 2.0;
        Normal::standard().inverse_cdf(1.0 - tail)
    }
}

/// A mean's Student-t interval and the sample standard deviation behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSpread {
    /// (low, high).
    pub interval: (f64, f64),
    /// Sample standard deviation, n − 1 divisor.
    pub sd: f64,
}

/// The Student-t interval of a mean from its count, sum and sum of squares (SPEC §10.1):
/// mean ± t · s/√n, t at 1 − α/2 with n − 1 degrees of freedom, s with the n − 1 divisor;
/// None when n < 2.
pub fn t_interval(sum: f64, sum_sq: f64, n: f64, confidence: f64) -> Option<MeanSpread> {
    if n.is_nan() || n < 2.0 {
        return None;
    }
    let mean = sum / n;
    // Σx² − n·mean², never below 0 (rounding on nearly equal values).
    let variance = ((sum_sq - sum * mean) / (n - 1.0)).max(0.0);
    let t = t_quantile(1.0 - (1.0 - confidence) / 2.0, n - 1.0)?;
    let half = t * (variance / n).sqrt();
    Some(MeanSpread {
        interval: (mean - half, mean + half),
        sd: variance.sqrt(),
    })
}

/// A change between two samples (SPEC §10.3): the difference now − before, its interval
/// at the configured confidence, and the two-sided p-value of "no change".
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change {
    /// now − before.
    pub difference: f64,
    /// Interval of the difference (None when it cannot be formed).
    pub interval: Option<(f64, f64)>,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// The change between two proportions k1/n1 (now) and k2/n2 (before): the two-proportion
/// z-test with pooled variance (SPEC §10.3) and Newcombe's hybrid score interval of the
/// difference (built from the two Wilson intervals, so it stays inside [−1, 1] on small
/// samples, where the Wald interval does not). None when a side is empty or the pooled
/// proportion is 0 or 1.
pub fn proportion_change(
    (k1, n1): (f64, f64),
    (k2, n2): (f64, f64),
    confidence: f64,
) -> Option<Change> {
    let p_value = proportion_p_value((k1, n1), (k2, n2))?;
    let (p1, p2) = (k1 / n1, k2 / n2);
    let z = z_of(confidence);
    let interval = wilson(k1, n1, z)
        .zip(wilson(k2, n2, z))
        .map(|((l1, u1), (l2, u2))| {
            let d = p1 - p2;
            (
                d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
                d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
            )
        });
    Some(Change {
        difference: p1 - p2,
        interval,
        p_value,
    })
}

/// The two-sided p-value of the two-proportion z-test with pooled variance (SPEC §10.3),
/// without the interval [`proportion_change`] adds (the bands table and the hotspot scans
/// need only this). None when a side is empty or the pooled proportion is 0 or 1.
pub fn proportion_p_value((k1, n1): (f64, f64), (k2, n2): (f64, f64)) -> Option<f64> {
    if !(n1 > 0.0 && n2 > 0.0) {
        return None;
    }
    let pooled = (k1 + k2) / (n1 + n2);
    if !(pooled > 0.0 && pooled < 1.0) {
        return None;
    }
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let z_stat = (k1 / n1 - k2 / n2) / se;
    Some(erfc(z_stat.abs() / std::f64::consts::SQRT_2))
}

/// One side of a comparison of means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSample {
    /// Count.
    pub n: f64,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation, n − 1 divisor.
    pub sd: f64,
}

/// The change between two means (now, before): Welch's t-test with the Welch–Satterthwaite
/// degrees of freedom (SPEC §10.3) and the matching interval of the difference. None when
/// a side has fewer than 2 values or both standard deviations are 0.
pub fn mean_change(now: MeanSample, before: MeanSample, confidence: f64) -> Option<Change> {
    let welch = Welch::of(now, before)?;
    let half = t_quantile(1.0 - (1.0 - confidence) / 2.0, welch.df).map(|t| t * welch.se);
    Some(Change {
        difference: welch.difference,
        interval: half.map(|h| (welch.difference - h, welch.difference + h)),
        p_value: welch.p_value()?,
    })
}

/// The two-sided p-value of Welch's t-test (SPEC §10.3), without the interval
/// [`mean_change`] adds (the bands table needs only this: the t quantile of the interval is
/// the costly part).
pub fn mean_p_value(now: MeanSample, before: MeanSample) -> Option<f64> {
    Welch::of(now, before)?.p_value()
}

/// Welch's statistic: the difference, its standard error and the Welch–Satterthwaite
/// degrees of freedom.
struct Welch {
    difference: f64,
    se: f64,
    df: f64,
}

impl Welch {
    /// None when a side has fewer than 2 values or both standard deviations are 0.
    fn of(now: MeanSample, before: MeanSample) -> Option<Welch> {
        if !(now.n >= 2.0 && before.n >= 2.0) {
            return None;
        }
        let (v1, v2) = (now.sd * now.sd / now.n, before.sd * before.sd / before.n);
        let se2 = v1 + v2;
        if !(se2 > 0.0 && se2.is_finite()) {
            return None;
        }
        Some(Welch {
            difference: now.mean - before.mean,
            se: se2.sqrt(),
            df: se2 * se2 / (v1 * v1 / (now.n - 1.0) + v2 * v2 / (before.n - 1.0)),
        })
    }

    fn p_value(&self) -> Option<f64> {
        t_two_sided_p(self.difference / self.se, self.df)
    }
}

/// Above this many degrees of freedom the t-test's p-value is the normal one: statrs'
/// regularized incomplete beta loses accuracy for larger parameters (1e-8 at 1e9, wrong at
/// 1e12 against scipy), while the normal p-value differs from the t one by under 2e-8 there.
const T_NORMAL_MIN_DF: f64 = 1e7;

/// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).
fn t_two_sided_p(t: f64, df: f64) -> Option<f64> {
    if !(t.is_finite() && df > 0.0) {
        return None;
    }
    if df > T_NORMAL_MIN_DF {
        return Some(erfc(t.abs() / std::f64::consts::SQRT_2));
    }
    Some(beta_reg(df / 2.0, 0.5, df / (df + t * t)))
}

/// Benjamini–Hochberg adjusted p-values, in the input order: the smallest m/j · p(j) over
/// the ranks j at or above each p-value's own, capped at 1.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![1.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p_values[i] * m as f64 / (rank + 1) as f64);
        adjusted[i] = running.min(1.0);
    }
    adjusted
}

fn z_of(confidence: f64) -> f64 {
    Statistics { confidence }.z()
}

/// Above this many degrees of freedom the Student-t quantile is read from its expansion in
/// the normal quantile: statrs' `inverse_cdf` loses accuracy there (2e-10 at 1e4, 7e-6 at
/// 1e5 against scipy) and does not return at all for 1e9 and more, which a count from an
/// untrusted partial state can reach; the expansion's error at 1e3 is about 2e-12.
const T_EXPANSION_MIN_DF: f64 = 1e3;

/// The Student-t quantile at probability `p` with `df` degrees of freedom: statrs up to
/// [`T_EXPANSION_MIN_DF`], then the Cornish–Fisher expansion in z (Abramowitz & Stegun
/// 26.7.5; its next term is about 2e-12 at 1e3 degrees of freedom for 95%).
fn t_quantile(p: f64, df: f64) -> Option<f64> {
    if df <= T_EXPANSION_MIN_DF {
        return Some(StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(p));
    }
    let z = Normal::standard().inverse_cdf(p);
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    let g1 = (z3 + z) / 4.0;
    let g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
    let g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
    Some(z + g1 / df + g2 / (df * df) + g3 / (df * df * df))
}

/// The Wilson score interval of `k` successes in `n` trials (SPEC §10.1); None when n = 0.
pub fn wilson(k: f64, n: f64, z: f64) -> Option<(f64, f64)> {
    // n > 0 written so a NaN n has no interval either.
    if n.is_nan() || n <= 0.0 || !k.is_finite() {
        return None;
    }
    let z2 = z * z;
    let centre = k + z2 / 2.0;
    let half = z * (k * (n - k) / n + z2 / 4.0).max(0.0).sqrt();
    let den = n + z2;
    Some(((centre - half) / den, (centre + half) / den))
}

/// The NPS interval: nps ± 100 · z · √((p + d − (p − d)²)/n), with promoter share p and
/// detractor share d over n rated (SPEC §10.1); None when n = 0.
pub fn nps(promoters: f64, detractors: f64, n: f64, z: f64) -> Option<(f64, f64)> {
    if n.is_nan() || n <= 0.0 {
        return None;
    }
    let (p, d) = (promoters / n, detractors / n);
    let score = 100.0 * (p - d);
    let half = 100.0 * z * ((p + d - (p - d) * (p - d)).max(0.0) / n).sqrt();
    Some((score - half, score + half))
}

/// The order-statistic ranks (1-based) bounding the q-quantile of n sorted values (SPEC
/// §10.1): l = floor(nq − z√(nq(1−q))), u = ceil(nq + z√(nq(1−q))), clamped to [1, n];
/// None when n = 0.
pub fn quantile_ranks(n: usize, q: f64, z: f64) -> Option<(usize, usize)> {
    if n == 0 {
        return None;
    }
    let nf = n as f64;
    let spread = z * (nf * q * (1.0 - q)).max(0.0).sqrt();
    let clamp = |r: f64| -> usize { r.clamp(1.0, nf) as usize };
    Some((
        clamp((nf * q - spread).floor()),
        clamp((nf * q + spread).ceil()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn z_of_the_usual_confidences() {
        let z = |c: f64| Statistics { confidence: c }.z();
        assert!((z(0.95) - 1.959_963_984_540_054).abs() < 1e-9);
        assert!((z(0.90) - 1.644_853_626_951_472_2).abs() < 1e-9);
        assert!(Statistics { confidence: 1.0 }.check().is_err());
        assert!(Statistics {
            confidence: f64::NAN
        }
        .check()
        .is_err());
    }

    #[test]
    fn wilson_by_hand() {
        // k = 3 of n = 10 at z = 2: (3 + 2 ± 2·√(2.1 + 1)) / 14.
        let (lo, hi) = wilson(3.0, 10.0, 2.0).unwrap_or((f64::NAN, f64::NAN));
        let half = 2.0 * 3.1f64.sqrt();
        assert!(close(lo, (5.0 - half) / 14.0) && close(hi, (5.0 + half) / 14.0));
        assert_eq!(wilson(0.0, 0.0, 2.0), None);
        let (lo, hi) = wilson(0.0, 5.0, 1.96).unwrap_or((f64::NAN, f64::NAN));
        assert!(close(lo, 0.0) && hi > 0.0);
    }

    #[test]
    fn t_interval_by_hand() {
        // 1, 2, 3, 4, 5: mean 3, s² = 2.5, n = 5; t(0.975, 4) = 2.776445105197793.
        let (lo, hi) =
            t_interval(15.0, 55.0, 5.0, 0.95).map_or((f64::NAN, f64::NAN), |s| s.interval);
        let half = 2.776_445_105_197_793 * (2.5f64 / 5.0).sqrt();
        assert!((lo - (3.0 - half)).abs() < 1e-9 && (hi - (3.0 + half)).abs() < 1e-9);
        assert_eq!(t_interval(4.0, 16.0, 1.0, 0.95), None);
        // equal values: a zero-width interval
        assert_eq!(
            t_interval(8.0, 32.0, 2.0, 0.95).map(|s| (s.interval, s.sd)),
            Some(((4.0, 4.0), 0.0))
        );
    }

    #[test]
    fn t_quantile_against_scipy_and_for_huge_degrees_of_freedom() {
        // scipy.stats.t.ppf(0.975, df) for df = 10, 100 (statrs), 1e3 and 1e5 (expansion).
        for (df, scipy) in [
            (10.0, 2.228_138_851_986_274),
            (100.0, 1.983_971_518_523_551_8),
            (1e3, 1.962_339_080_826_408_3),
            (1e5, 1.959_987_707_534_609_5),
        ] {
            let t = t_quantile(0.975, df).unwrap_or(f64::NAN);
            assert!((t - scipy).abs() < 1e-11, "{df}: {t} vs {scipy}");
        }
        // an untrusted count: returns, and is z
        let z = Normal::standard().inverse_cdf(0.975);
        assert!((t_quantile(0.975, 1e18).unwrap_or(f64::NAN) - z).abs() < 1e-12);
        assert!(t_interval(1.0, 2.0, 1e15, 0.95).is_some());
    }

    #[test]
    fn nps_by_hand() {
        // 50 promoters, 20 detractors of 100: 30 ± 100·z·√((0.7 − 0.09)/100).
        let (lo, hi) = nps(50.0, 20.0, 100.0, 2.0).unwrap_or((f64::NAN, f64::NAN));
        let half = 200.0 * (0.61f64 / 100.0).sqrt();
        assert!(close(lo, 30.0 - half) && close(hi, 30.0 + half));
        assert_eq!(nps(0.0, 0.0, 0.0, 2.0), None);
    }

    #[test]
    fn quantile_ranks_by_hand() {
        // n = 100, median, z = 2: 50 ∓ 2·5 → ranks 40 and 60.
        assert_eq!(quantile_ranks(100, 0.5, 2.0), Some((40, 60)));
        // clamped to [1, n]
        assert_eq!(quantile_ranks(3, 0.9, 1.96), Some((1, 3)));
        assert_eq!(quantile_ranks(0, 0.5, 1.96), None);
    }

    #[test]
    fn changes_by_hand() {
        // 30 of 100 against 20 of 100: pooled 0.25, se = √(0.25·0.75·0.02) = 0.0612372,
        // z = 1.6329932, p = erfc(z/√2) = 0.1024704 (math.erfc; statrs agrees to 5e-12).
        let c = proportion_change((30.0, 100.0), (20.0, 100.0), 0.95);
        let c = c.unwrap_or(Change {
            difference: f64::NAN,
            interval: None,
            p_value: f64::NAN,
        });
        assert!(close(c.difference, 0.1));
        assert!(
            (c.p_value - 0.102_470_434_859_749_4).abs() < 1e-10,
            "{}",
            c.p_value
        );
        let (lo, hi) = c.interval.unwrap_or((f64::NAN, f64::NAN));
        assert!(lo < 0.0 && hi > 0.1 && hi < 0.3);
        // pooled 0 or 1, or an empty side: no test
        assert_eq!(proportion_change((0.0, 10.0), (0.0, 5.0), 0.95), None);
        assert_eq!(proportion_change((10.0, 10.0), (5.0, 5.0), 0.95), None);
        assert_eq!(proportion_change((1.0, 10.0), (0.0, 0.0), 0.95), None);
        // Welch with equal n and sd is Student's: means 5 and 4, sd 1, n 10 each:
        // t = 1/√0.2 = 2.2360680, df = 18, p = 0.0382496 (scipy.stats.ttest_ind_from_stats).
        let side = |mean: f64| MeanSample {
            n: 10.0,
            mean,
            sd: 1.0,
        };
        let c = mean_change(side(5.0), side(4.0), 0.95).map_or(f64::NAN, |c| c.p_value);
        assert!((c - 0.038_249_614_516_113_85).abs() < 1e-9, "{c}");
        let flat = MeanSample {
            sd: 0.0,
            ..side(4.0)
        };
        assert_eq!(mean_change(flat, flat, 0.95), None);
        assert_eq!(
            mean_change(
                MeanSample {
                    n: 1.0,
                    ..side(5.0)
                },
                side(4.0),
                0.95
            ),
            None
        );
    }

    #[test]
    fn benjamini_hochberg_by_hand() {
        // m = 4: sorted 0.01, 0.02, 0.03, 0.5 → 0.04, 0.04, 0.04, 0.5 (each the running
        // minimum of m/j · p(j) from the top), returned in the input order.
        let adjusted = benjamini_hochberg(&[0.03, 0.5, 0.01, 0.02]);
        for (a, b) in adjusted.iter().zip([0.04, 0.5, 0.04, 0.04]) {
            assert!(close(*a, b), "{adjusted:?}");
        }
        assert!(benjamini_hochberg(&[]).is_empty());
        assert_eq!(benjamini_hochberg(&[0.9, 0.95]), vec![0.95, 0.95]);
    }
}
