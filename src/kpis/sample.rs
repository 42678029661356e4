//! Mergeable partial states. A contact state (`kpis::ContactState`) holds, for one local
//! day × group cell, only counts and sums, so any set of days (a period, a 30-day baseline window) or any set of
//! customer partitions combines by addition. Quantile inputs are kept as value lists
//! ([`CellValues`]), which combine by concatenation, or, in partial states that travel
//! between machines, as DDSketches, which combine by merging bins.

use serde::{Deserialize, Serialize};
use sketches_ddsketch::{Config as SketchConfig, DDSketch};

/// Declares a struct of additive fields with `add` (field-wise +=).
macro_rules! additive_state {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }
        impl $name {
            /// Adds another state field by field.
            pub fn add(&mut self, other: &Self) { $(self.$field += other.$field;)* }

            /// The fields and their types, as written in the declaration (partial states
            /// carry a fingerprint of the layouts they encode).
            pub const LAYOUT: &'static str =
                concat!(stringify!($name), " { ", $(stringify!($field), ": ", stringify!($ty), ", ",)* "}");
        }
    };
}
pub(crate) use additive_state;

additive_state! {
    /// Order-side and traffic totals of one local day (not split by contact group, §8.4).
    DayTotals {
        /// Orders.
        orders: u64,
        /// Order revenue.
        revenue: f64,
        /// Sessions.
        sessions: f64,
    }
}

/// Relative accuracy of the quantile sketches: a sketched quantile is within 0.5% of the
/// exact one (the documented promise is 1%, which leaves room for interpolation).
pub const SKETCH_RELATIVE_ACCURACY: f64 = 0.005;
/// Bins per sketch: 1e-9 to 1e6 (minutes or hours) at 0.5% is about 3,450 bins, so no
/// bin is ever collapsed for the values the KPIs measure.
const SKETCH_MAX_BINS: u32 = 4096;
/// Smaller positive values count as 0 (a microsecond is 1.7e-8 minutes).
const SKETCH_MIN_VALUE: f64 = 1e-9;

pub(super) fn new_sketch() -> DDSketch {
    DDSketch::new(SketchConfig::new(
        SKETCH_RELATIVE_ACCURACY,
        SKETCH_MAX_BINS,
        SKETCH_MIN_VALUE,
    ))
}

/// The inputs of one quantile: every value (exact), or a DDSketch of them (partial
/// states). Both merge; an empty exact list is the identity of either.
///
/// Decoding (implemented beside the wire layout, in the sketch_wire module) checks a sketch
/// before the sketch crate sees it: partial states are untrusted bytes.
#[derive(Clone, Serialize)]
pub enum Sample {
    /// Every value.
    Exact(Vec<f64>),
    /// A sketch of the values (relative error ≤ [`SKETCH_RELATIVE_ACCURACY`]).
    Sketched(Box<DDSketch>),
}

impl Default for Sample {
    fn default() -> Self {
        Sample::Exact(Vec::new())
    }
}

impl std::fmt::Debug for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sample::Exact(v) => write!(f, "Exact({} values)", v.len()),
            Sample::Sketched(s) => write!(f, "Sketched({} values)", s.count()),
        }
    }
}

impl Sample {
    /// Adds one value.
    pub fn push(&mut self, value: f64) {
        match self {
            Sample::Exact(values) => values.push(value),
            Sample::Sketched(sketch) => sketch.add(value),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Sample::Exact(values) => values.len(),
            Sample::Sketched(sketch) => sketch.count(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same values as a sketch (an empty list stays an empty list).
    pub fn sketched(&self) -> Sample {
        match self {
            Sample::Exact(values) if values.is_empty() => Sample::default(),
            Sample::Exact(values) => {
                let mut sketch = new_sketch();
                for &v in values {
                    sketch.add(v);
                }
                Sample::Sketched(Box::new(sketch))
            }
            Sample::Sketched(_) => self.clone(),
        }
    }

    /// The values of all `parts`, in order; exact lists are allocated once at their final
    /// size (these lists hold a value per contact, so growing them by doubling would
    /// copy and fault in far more memory than they keep).
    pub fn concat<'a>(parts: impl Iterator<Item = &'a Sample> + Clone) -> Sample {
        let exact_len = parts
            .clone()
            .map(|p| match p {
                Sample::Exact(values) => values.len(),
                Sample::Sketched(_) => 0,
            })
            .sum();
        let mut out = Sample::Exact(Vec::with_capacity(exact_len));
        for part in parts {
            out.extend(part);
        }
        out
    }

    /// An empty exact list with room for `n` values. Room never used costs address space
    /// only (untouched pages are not resident), while growing by doubling would copy the
    /// values and fault in fresh pages at every step.
    pub fn with_capacity(n: usize) -> Sample {
        Sample::Exact(Vec::with_capacity(n))
    }

    /// The values of all `parts`, in order, reusing the first non-empty part's list (it
    /// grows once to the final size) instead of copying every part into a new list.
    pub fn concat_owned(parts: impl Iterator<Item = Sample>) -> Sample {
        let mut parts = parts.filter(|p| !p.is_empty());
        let Some(mut out) = parts.next() else {
            return Sample::default();
        };
        let rest: Vec<Sample> = parts.collect();
        if let Sample::Exact(values) = &mut out {
            let more: usize = rest
                .iter()
                .map(|p| match p {
                    Sample::Exact(v) => v.len(),
                    Sample::Sketched(_) => 0,
                })
                .sum();
            values.reserve_exact(more);
        }
        for part in &rest {
            out.extend(part);
        }
        out
    }

    /// Replaces the values with those of all `parts`, in order, reusing this list's
    /// memory (a scratch list refilled per cell allocates and faults in nothing new).
    pub fn refill<'a>(&mut self, parts: impl Iterator<Item = &'a Sample> + Clone) {
        let all_exact = parts.clone().all(|p| matches!(p, Sample::Exact(_)));
        match self {
            Sample::Exact(values) if all_exact => {
                values.clear();
                // Grown once to the final size, not by doubling (each step would copy).
                values.reserve(parts.clone().map(Sample::len).sum());
                for part in parts {
                    if let Sample::Exact(part) = part {
                        values.extend_from_slice(part);
                    }
                }
            }
            _ => *self = Sample::concat(parts),
        }
    }

    /// Adds another sample's values (a sketch absorbs exact values).
    pub fn extend(&mut self, other: &Sample) {
        match (&mut *self, other) {
            (Sample::Exact(mine), Sample::Exact(theirs)) => mine.extend_from_slice(theirs),
            (Sample::Sketched(mine), Sample::Exact(theirs)) => {
                for &v in theirs {
                    mine.add(v);
                }
            }
            (Sample::Sketched(mine), Sample::Sketched(theirs)) => merge_sketch(mine, theirs),
            (Sample::Exact(mine), Sample::Sketched(theirs)) => {
                let mut sketch = theirs.clone();
                for &v in mine.iter() {
                    sketch.add(v);
                }
                *self = Sample::Sketched(sketch);
            }
        }
    }

    /// The value of 1-based rank `rank` among the sorted values, x(rank): exact for a list
    /// (reorders it); read from a sketch within its relative accuracy. None when empty or
    /// the rank is out of 1..=n.
    pub fn at_rank(&mut self, rank: usize) -> Option<f64> {
        let n = self.len();
        if rank == 0 || rank > n {
            return None;
        }
        match self {
            Sample::Exact(values) => Some(SettledRanks::default().value_at(values, rank - 1)),
            Sample::Sketched(sketch) => sketch_rank(sketch, rank - 1),
        }
    }

    /// The q-quantile with numpy's linear interpolation: exact for a list; for a sketch,
    /// the two neighbouring ranks are read from the sketch (each within the relative
    /// accuracy of the true value, non-negative inputs) and interpolated the same way, so
    /// the result is within the same relative accuracy of the exact quantile.
    pub fn quantile(&mut self, q: f64) -> Option<f64> {
        match self {
            Sample::Exact(_) => {
                self.quantile_and_ranks(q, None, &mut SettledRanks::default())
                    .0
            }
            Sample::Sketched(sketch) => {
                let n = sketch.count();
                if n == 0 {
                    return None;
                }
                let at_rank = |rank: usize| sketch_rank(sketch, rank);
                let (lower, fraction) = linear_position(n, q);
                let low = at_rank(lower)?;
                if fraction == 0.0 {
                    return Some(low);
                }
                let high = at_rank(lower + 1)?;
                Some(lerp(low, high, fraction))
            }
        }
    }
}

/// Most settled positions one list remembers. Past it, selections stay exact: a position
/// not remembered only leaves a wider range for the next selection to work in.
const SETTLED_MAX: usize = 16;

/// Positions of an exact list that already hold their order statistic, with everything
/// before each ≤ it and everything after ≥ it (in `f64::total_cmp` order): what earlier
/// selections on the list left behind. A further rank is selected only between its two
/// nearest settled positions. A median with its interval ranks and interpolation
/// neighbour, then the 90th percentile of the same list, cost about two passes over it
/// instead of seven (a quickselect over the whole list per rank, plus a scan for each
/// neighbour).
#[derive(Debug, Clone, Copy, Default)]
pub struct SettledRanks {
    at: [usize; SETTLED_MAX],
    len: usize,
}

impl SettledRanks {
    /// The value of 0-based `rank` (< `values.len()`), selecting it between the nearest
    /// settled positions and remembering it. `values` must be the list these positions
    /// were settled on, reordered by nothing else since.
    fn value_at(&mut self, values: &mut [f64], rank: usize) -> f64 {
        let settled = &self.at[..self.len];
        let i = settled.partition_point(|&p| p < rank);
        if settled.get(i) == Some(&rank) {
            return values[rank];
        }
        // values[lo..hi] holds exactly the order statistics lo..hi, in some order.
        let lo = if i == 0 { 0 } else { settled[i - 1] + 1 };
        let hi = settled.get(i).copied().unwrap_or(values.len());
        values[lo..hi].select_nth_unstable_by(rank - lo, f64::total_cmp);
        if self.len < SETTLED_MAX {
            self.at.copy_within(i..self.len, i + 1);
            self.at[i] = rank;
            self.len += 1;
        }
        values[rank]
    }
}

impl Sample {
    /// The q-quantile (as [`Sample::quantile`]) and the values at the 1-based `ranks` of
    /// its interval (as [`Sample::at_rank`]; None when either is out of 1..=n). An exact
    /// list is selected through `settled`, which must start empty for a freshly filled
    /// list and be passed again for every later quantile of the same list.
    pub fn quantile_and_ranks(
        &mut self,
        q: f64,
        ranks: Option<(usize, usize)>,
        settled: &mut SettledRanks,
    ) -> (Option<f64>, Option<(f64, f64)>) {
        let Sample::Exact(values) = self else {
            let interval = ranks.and_then(|(l, u)| Some((self.at_rank(l)?, self.at_rank(u)?)));
            return (self.quantile(q), interval);
        };
        let n = values.len();
        if n == 0 {
            return (None, None);
        }
        let valid = |r: usize| (1..=n).contains(&r);
        let ranks = ranks.filter(|&(l, u)| valid(l) && valid(u));
        // The outer ranks first, the one leaving the smaller side for the other first;
        // the quantile's own ranks then lie mostly between them.
        // Each value is read as it is selected: a rank not remembered (the list full)
        // may move again in a later selection.
        let interval = ranks.map(|(l, u)| {
            if n - l < u {
                let low = settled.value_at(values, l - 1);
                (low, settled.value_at(values, u - 1))
            } else {
                let high = settled.value_at(values, u - 1);
                (settled.value_at(values, l - 1), high)
            }
        });
        let (lower, fraction) = linear_position(n, q);
        let low = settled.value_at(values, lower);
        let value = if fraction == 0.0 || lower + 1 >= n {
            low
        } else {
            lerp(low, settled.value_at(values, lower + 1), fraction)
        };
        (Some(value), interval)
    }
}

/// The value at 0-based `rank` of a sketch's n values (within its relative accuracy).
fn sketch_rank(sketch: &DDSketch, rank: usize) -> Option<f64> {
    let n = sketch.count();
    if rank == 0 {
        sketch.min()
    } else if rank + 1 >= n {
        sketch.max()
    } else {
        // The sketch reads rank floor(q (n - 1)); aim at the middle of the rank so
        // rounding cannot land on the one below.
        let q = (rank as f64 + 0.5) / (n - 1) as f64;
        sketch.quantile(q).ok().flatten()
    }
}

/// Merges two sketches built by [`new_sketch`] (same configuration, so it cannot fail;
/// a failure would mean a foreign sketch and is ignored rather than panicking).
fn merge_sketch(mine: &mut DDSketch, theirs: &DDSketch) {
    let _ = mine.merge(theirs);
}

/// Declares the quantile input lists once: the [`Quantiled`] names and [`CellValues`], one
/// list per name (a new list is one line here).
macro_rules! quantiled {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {
        /// One of a cell's quantile input lists.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Quantiled {
            $($(#[$meta])* $name,)*
        }

        impl Quantiled {
            /// Every list, in order.
            pub const ALL: [Quantiled; [$(Quantiled::$name),*].len()] = [$(Quantiled::$name),*];
        }
    };
}

quantiled! {
    /// First response times, minutes.
    FrtMinutes,
    /// … on the ai path.
    FrtAiMinutes,
    /// … on the human path.
    FrtHumanMinutes,
    /// Resolution times, hours.
    ResolutionHours,
    /// hours_to_next_order of recovered mature contacts.
    RecoveryHours,
    /// First response times in business minutes (SPEC §9.2).
    FrtBusinessMinutes,
    /// Resolution times in business hours.
    ResolutionBusinessHours,
    /// First resolution times (first_resolved_at, else resolved_at), hours (SPEC §9.4).
    FirstResolutionHours,
}

/// Number of quantile lists.
const LISTS: usize = Quantiled::ALL.len();

/// Quantile inputs of a cell, one list per [`Quantiled`]: exact lists while computing
/// locally, sketches in partial states.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CellValues {
    lists: [Sample; LISTS],
}

impl CellValues {
    /// Adds a value to list `which`.
    #[inline]
    pub fn push(&mut self, which: Quantiled, value: f64) {
        self.lists[which as usize].push(value);
    }

    /// Appends another cell's values.
    pub fn extend(&mut self, other: &Self) {
        for (mine, theirs) in self.lists.iter_mut().zip(&other.lists) {
            mine.extend(theirs);
        }
    }

    /// One of the lists.
    pub fn sample(&self, which: Quantiled) -> &Sample {
        &self.lists[which as usize]
    }

    /// One of the lists, to reorder or refill.
    pub fn sample_mut(&mut self, which: Quantiled) -> &mut Sample {
        &mut self.lists[which as usize]
    }

    /// Empty exact lists with room for `n` values each (see [`Sample::with_capacity`]).
    pub fn with_capacity(n: usize) -> CellValues {
        CellValues {
            lists: std::array::from_fn(|_| Sample::with_capacity(n)),
        }
    }

    /// The values of all `parts`, in order, moving lists rather than copying them (see
    /// [`Sample::concat_owned`]).
    pub fn concat_owned(mut parts: Vec<CellValues>) -> CellValues {
        CellValues {
            lists: std::array::from_fn(|k| {
                Sample::concat_owned(parts.iter_mut().map(|p| std::mem::take(&mut p.lists[k])))
            }),
        }
    }

    /// The same values as sketches.
    pub fn sketched(&self) -> CellValues {
        CellValues {
            lists: std::array::from_fn(|k| self.lists[k].sketched()),
        }
    }
}

/// numpy's lerp: exact at both ends, symmetric around t = 0.5.
fn lerp(low: f64, high: f64, fraction: f64) -> f64 {
    let diff = high - low;
    if fraction >= 0.5 {
        high - diff * (1.0 - fraction)
    } else {
        low + diff * fraction
    }
}

/// numpy's "linear" method over n sorted values: the 0-based rank at or below position
/// q (n − 1), and how far past it the position lies.
fn linear_position(n: usize, q: f64) -> (usize, f64) {
    let position = q * n.saturating_sub(1) as f64;
    let lower = position.floor() as usize;
    (lower, position - lower as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        // numpy.quantile([1, 2, 3, 4], 0.5) = 2.5; 0.9 -> 3.7
        let mut v = Sample::Exact(vec![4.0, 1.0, 3.0, 2.0]);
        assert_eq!(v.quantile(0.5), Some(2.5));
        let got = v.quantile(0.9).unwrap_or(f64::NAN);
        assert!((got - 3.7).abs() < 1e-12, "{got}");
        assert_eq!(Sample::Exact(vec![7.0]).quantile(0.9), Some(7.0));
        assert_eq!(Sample::default().quantile(0.5), None);
    }

    #[test]
    fn quantiles_of_one_list_sharing_settled_ranks_match_a_sorted_copy() {
        // Against numpy's linear method on a fully sorted copy, written out here: lists
        // with ties, -0.0 and +0.0, sizes 1 to 300; up to 40 quantiles in a row on one
        // list (past the 16 positions it remembers), each with interval ranks.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in (1..=60).chain([97, 128, 300]) {
            let values: Vec<f64> = (0..n)
                .map(|_| match next() % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => 5.0,
                    _ => (next() % 1000) as f64 / 8.0,
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let linear = |q: f64| {
                let position = q * (n - 1) as f64;
                let lower = position.floor() as usize;
                let fraction = position - lower as f64;
                if fraction == 0.0 || lower + 1 >= n {
                    sorted[lower]
                } else {
                    lerp(sorted[lower], sorted[lower + 1], fraction)
                }
            };
            let mut sample = Sample::Exact(values);
            let mut settled = SettledRanks::default();
            for k in 0..40 {
                let q = (next() % 1001) as f64 / 1000.0;
                let l = 1 + (next() as usize) % n;
                let u = l + (next() as usize) % (n - l + 1);
                let ranks = if k % 5 == 4 { None } else { Some((l, u)) };
                let (value, interval) = sample.quantile_and_ranks(q, ranks, &mut settled);
                let want = linear(q);
                assert_eq!(value.map(f64::to_bits), Some(want.to_bits()), "n={n} q={q}");
                let want_interval = ranks.map(|(l, u)| (sorted[l - 1], sorted[u - 1]));
                assert_eq!(
                    interval.map(|(a, b)| (a.to_bits(), b.to_bits())),
                    want_interval.map(|(a, b)| (a.to_bits(), b.to_bits())),
                    "n={n} ranks={ranks:?}"
                );
            }
            // Out-of-range ranks give no interval, as at_rank does.
            let out = sample.quantile_and_ranks(0.5, Some((0, n)), &mut settled);
            assert_eq!(out.1, None);
        }
        let mut empty = Sample::default();
        let none = empty.quantile_and_ranks(0.5, Some((1, 1)), &mut SettledRanks::default());
        assert_eq!(none, (None, None));
    }

    #[test]
    fn sketched_quantiles_stay_within_the_relative_accuracy() {
        // Log-normal-ish spread over five decades, as response times are.
        let values: Vec<f64> = (1..=20_001)
            .map(|i| (f64::from(i) * 0.61803).fract() * 5.0)
            .map(|x| 10f64.powf(x - 1.0))
            .collect();
        let mut exact = Sample::Exact(values.clone());
        let mut sketched = Sample::Exact(values[..7_000].to_vec()).sketched();
        // Merged from three parts, one of them still exact.
        sketched.extend(&Sample::Exact(values[7_000..15_000].to_vec()).sketched());
        sketched.extend(&Sample::Exact(values[15_000..].to_vec()));
        assert_eq!(sketched.len(), values.len());
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
            let e = exact.quantile(q).unwrap_or(f64::NAN);
            let s = sketched.quantile(q).unwrap_or(f64::NAN);
            assert!(
                (s - e).abs() <= SKETCH_RELATIVE_ACCURACY * e.abs() + 1e-12,
                "q={q}: exact {e}, sketched {s}"
            );
        }
        // Small samples interpolate between ranks like numpy.
        let mut small = Sample::Exact(vec![4.0, 1.0, 3.0, 2.0]).sketched();
        let got = small.quantile(0.5).unwrap_or(f64::NAN);
        assert!((got - 2.5).abs() <= 2.5 * SKETCH_RELATIVE_ACCURACY, "{got}");
        assert_eq!(Sample::default().sketched().quantile(0.5), None);
    }
}
