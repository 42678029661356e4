//! Business time over a compiled calendar: B(a, b) and due instants by binary search on
//! the prefix sums of sorted, disjoint UTC intervals.

/// Width of the buckets of [`BusinessTime::bucket_first`]: one UTC day.
const BUCKET_MICROS: i64 = 86_400_000_000;

/// A calendar's business intervals over a horizon, with the business time before each.
#[derive(Debug, Clone, Default)]
pub struct BusinessTime {
    starts: Vec<i64>,
    ends: Vec<i64>,
    /// Business time (µs) before interval k.
    before: Vec<i64>,
    /// For each UTC day from the first interval's start, the index of the first interval
    /// starting on or after that day's start (one entry more than the days): `until` then
    /// searches only the intervals of one day instead of the whole horizon (decades when
    /// the origin is the plausible range's start), which costs most per contact.
    bucket_first: Vec<u32>,
}

impl BusinessTime {
    /// From sorted, disjoint, non-empty intervals [start, end) in UTC µs.
    pub fn new(intervals: &[(i64, i64)]) -> Self {
        let mut before = Vec::with_capacity(intervals.len());
        let mut total = 0i64;
        for &(a, b) in intervals {
            before.push(total);
            total += b - a;
        }
        let starts: Vec<i64> = intervals.iter().map(|i| i.0).collect();
        let bucket_first = match (starts.first(), intervals.last()) {
            (Some(&first), Some(&(_, last_end))) => {
                // Bounded by the compiled horizon (at most a few centuries of days).
                let days = (last_end - first) / BUCKET_MICROS + 2;
                let mut k = 0usize;
                (0..days)
                    .map(|d| {
                        let day_start = first + d * BUCKET_MICROS;
                        while k < starts.len() && starts[k] < day_start {
                            k += 1;
                        }
                        k as u32
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        BusinessTime {
            ends: intervals.iter().map(|i| i.1).collect(),
            starts,
            before,
            bucket_first,
        }
    }

    /// The number of intervals starting before `t`: a search within `t`'s day bucket.
    fn starting_before(&self, t: i64) -> usize {
        let Some(&first) = self.starts.first() else {
            return 0;
        };
        if t <= first {
            return 0;
        }
        let day = ((t - first) / BUCKET_MICROS) as usize;
        match (self.bucket_first.get(day), self.bucket_first.get(day + 1)) {
            // Every interval before `lo` starts before the day (so before t), every one
            // from `hi` on starts at or after the next day (so after t).
            (Some(&lo), Some(&hi)) => {
                let (lo, hi) = (lo as usize, hi as usize);
                lo + self.starts[lo..hi].partition_point(|&s| s < t)
            }
            _ => self.starts.len(),
        }
    }

    /// Business time in (-∞, t) (over the compiled horizon).
    pub fn until(&self, t: i64) -> i64 {
        let k = self.starting_before(t);
        match k.checked_sub(1) {
            None => 0,
            Some(j) => self.before[j] + (t.min(self.ends[j]) - self.starts[j]),
        }
    }

    /// B(a, b): business time in [a, b), µs; 0 when b ≤ a (SPEC §9.1). (The engine reads
    /// until(created_at) once per contact and subtracts; the tests use this form.)
    #[cfg(test)]
    pub fn between(&self, a: i64, b: i64) -> i64 {
        if b <= a {
            0
        } else {
            self.until(b) - self.until(a)
        }
    }

    /// The earliest instant d ≥ `a` with B(a, d) = `target` (SPEC §9.3); a target of 0 is
    /// the first business instant at or after `a`. None when the horizon ends first.
    #[cfg(test)]
    pub fn due(&self, a: i64, target: i64) -> Option<i64> {
        self.due_after(a, self.until(a), target)
    }

    /// [`Self::due`] when `until(a)` is already known (`until_a`).
    pub fn due_after(&self, a: i64, until_a: i64, target: i64) -> Option<i64> {
        if target <= 0 {
            let k = self.ends.partition_point(|&e| e <= a);
            return (k < self.starts.len()).then(|| self.starts[k].max(a));
        }
        let goal = until_a.checked_add(target)?;
        // The interval holding the goal-th microsecond: the last one starting below it.
        let j = self.before.partition_point(|&x| x < goal).checked_sub(1)?;
        let into = goal - self.before[j];
        (into <= self.ends[j] - self.starts[j]).then(|| self.starts[j] + into)
    }
}
