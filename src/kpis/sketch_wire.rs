//! Checked decoding of the DDSketches inside partial states. The sketch crate trusts its
//! serialized fields: a crafted `bin_limit` or key range makes it allocate gigabytes, and
//! bins that disagree with the keys make it index out of bounds. Partial states cross
//! networks and disks, so a sketch is read into this mirror of the crate's serde layout,
//! checked against the invariants a sketch built by this library always has, and only then
//! turned into a `DDSketch` (by the same serde encoding, so no field is re-derived).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sketches_ddsketch::DDSketch;

use super::sample::{new_sketch, Sample};

/// Most values one sketch may claim: far above any slice (2^48 contacts), far below what
/// adding a few thousand sketches' counts could overflow.
const MAX_SKETCH_COUNT: u64 = 1 << 48;
/// Keys of real values: for the library's accuracy a key moves by one per 1% of value, so
/// every finite positive f64 maps within ±2^17; the margin keeps key arithmetic in i32.
const MAX_KEY: i32 = 1 << 20;

/// `sketches_ddsketch::Config`, field for field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct WireConfig {
    max_num_bins: u32,
    gamma: f64,
    gamma_ln: f64,
    min_value: f64,
    offset: i32,
}

/// `sketches_ddsketch::Store`, field for field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct WireStore {
    bins: Vec<u64>,
    count: u64,
    min_key: i32,
    max_key: i32,
    offset: i32,
    bin_limit: usize,
    is_collapsed: bool,
}

/// `sketches_ddsketch::DDSketch`, field for field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireSketch {
    config: WireConfig,
    store: WireStore,
    negative_store: WireStore,
    min: f64,
    max: f64,
    sum: f64,
    zero_count: u64,
}

/// `Sample` as serialized.
#[derive(Deserialize)]
pub enum WireSample {
    Exact(Vec<f64>),
    Sketched(WireSketch),
}

/// An empty sketch as this library builds them, as serialized (computed once).
fn reference() -> Result<&'static WireSketch, String> {
    static REFERENCE: OnceLock<Result<WireSketch, String>> = OnceLock::new();
    REFERENCE
        .get_or_init(|| transcode(&new_sketch()))
        .as_ref()
        .map_err(Clone::clone)
}

fn transcode<T: Serialize, U: for<'de> Deserialize<'de>>(value: &T) -> Result<U, String> {
    let bytes = postcard::to_stdvec(value).map_err(|e| e.to_string())?;
    postcard::from_bytes(&bytes).map_err(|e| e.to_string())
}

impl WireStore {
    /// The invariants the store's code relies on: bins within the bin limit, keys within
    /// the bins, the count equal to the bins' sum; an empty store exactly as created.
    fn check(&self, empty: &WireStore) -> Result<(), String> {
        if self.bin_limit != empty.bin_limit {
            return Err(format!("sketch bin limit {}", self.bin_limit));
        }
        if self.bins.is_empty() {
            return if self.count == 0
                && self.min_key == empty.min_key
                && self.max_key == empty.max_key
            {
                Ok(())
            } else {
                Err("sketch store without bins claims values".to_owned())
            };
        }
        if self.bins.len() > self.bin_limit {
            return Err(format!("sketch store with {} bins", self.bins.len()));
        }
        let in_range = |k: i32| (-MAX_KEY..=MAX_KEY).contains(&k);
        if !(in_range(self.min_key) && in_range(self.max_key) && in_range(self.offset)) {
            return Err("sketch keys out of range".to_owned());
        }
        let last_key = i64::from(self.offset) + self.bins.len() as i64 - 1;
        if !(self.offset <= self.min_key
            && self.min_key <= self.max_key
            && i64::from(self.max_key) <= last_key)
        {
            return Err("sketch keys outside its bins".to_owned());
        }
        let sum = self
            .bins
            .iter()
            .try_fold(0u64, |acc, &b| acc.checked_add(b))
            .ok_or("sketch bin counts overflow")?;
        if sum != self.count || self.count > MAX_SKETCH_COUNT {
            return Err("sketch count disagrees with its bins".to_owned());
        }
        Ok(())
    }
}

impl WireSketch {
    fn check(&self) -> Result<(), String> {
        let reference = reference()?;
        if self.config != reference.config {
            return Err("sketch built with another configuration".to_owned());
        }
        self.store.check(&reference.store)?;
        self.negative_store.check(&reference.negative_store)?;
        let total = self
            .store
            .count
            .checked_add(self.negative_store.count)
            .and_then(|n| n.checked_add(self.zero_count))
            .filter(|&n| n <= MAX_SKETCH_COUNT)
            .ok_or("sketch count out of range")?;
        if total > 0 && !(self.min.is_finite() && self.max.is_finite() && self.min <= self.max) {
            return Err("sketch minimum and maximum are not finite and ordered".to_owned());
        }
        if !self.sum.is_finite() {
            return Err("sketch sum is not finite".to_owned());
        }
        Ok(())
    }
}

impl TryFrom<WireSample> for Sample {
    type Error = String;

    fn try_from(wire: WireSample) -> Result<Self, String> {
        match wire {
            // States carry sketches; an exact list is only ever the empty one.
            WireSample::Exact(values) if values.is_empty() => Ok(Sample::Exact(values)),
            WireSample::Exact(_) => Err("a partial state carries values, not sketches".to_owned()),
            WireSample::Sketched(sketch) => {
                sketch.check()?;
                let sketch: DDSketch = transcode(&sketch)?;
                Ok(Sample::Sketched(Box::new(sketch)))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireSample::deserialize(deserializer)?;
        Sample::try_from(wire).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire_of(values: &[f64]) -> WireSketch {
        let mut sketch = new_sketch();
        for &v in values {
            sketch.add(v);
        }
        transcode(&sketch).expect("a sketch transcodes")
    }

    fn decode(wire: WireSketch) -> Result<Sample, String> {
        Sample::try_from(WireSample::Sketched(wire))
    }

    #[test]
    fn sketches_of_real_values_pass_and_keep_their_quantiles() {
        let values: Vec<f64> = (0..1000).map(|i| f64::from(i) * 0.37).collect();
        let mut decoded = decode(wire_of(&values)).expect("valid");
        let mut original = Sample::Exact(values.clone()).sketched();
        assert_eq!(decoded.quantile(0.5), original.quantile(0.5));
        assert_eq!(decoded.len(), 1000);
        for extreme in [f64::MIN_POSITIVE, 1e-300, 1e300, f64::MAX] {
            assert!(decode(wire_of(&[extreme, 1.0])).is_ok(), "{extreme}");
        }
        assert!(decode(wire_of(&[])).is_ok());
    }

    #[test]
    fn crafted_sketches_are_refused() {
        let good = wire_of(&[1.0, 2.0, 3.0]);
        let mut cases: Vec<(&str, WireSketch)> = Vec::new();
        let mut w = good.clone();
        w.store.bin_limit = usize::MAX;
        cases.push(("huge bin limit", w));
        let mut w = good.clone();
        w.config.max_num_bins = u32::MAX;
        cases.push(("other config", w));
        let mut w = good.clone();
        w.store.max_key = w.store.offset + w.store.bins.len() as i32 + 5;
        cases.push(("key past the bins", w));
        let mut w = good.clone();
        w.store.count += 1;
        cases.push(("count off its bins", w));
        let mut w = good.clone();
        w.store.min_key = i32::MIN;
        cases.push(("key out of range", w));
        let mut w = good.clone();
        w.min = f64::NAN;
        cases.push(("NaN minimum", w));
        let mut w = good.clone();
        w.negative_store.count = 3;
        cases.push(("empty store with a count", w));
        let mut w = good.clone();
        w.zero_count = u64::MAX;
        cases.push(("overflowing count", w));
        for (what, wire) in cases {
            assert!(decode(wire).is_err(), "{what} was accepted");
        }
        assert!(Sample::try_from(WireSample::Exact(vec![1.0])).is_err());
    }
}
