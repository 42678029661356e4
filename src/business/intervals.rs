//! Business time over a compiled calendar: B(a, b) and due instants by binary search on
//! the prefix sums of sorted, disjoint UTC intervals.

/// A calendar's business intervals over a horizon, with the business time before each.
#[derive(Debug, Clone, Default)]
pub struct BusinessTime {
    starts: Vec<i64>,
    ends: Vec<i64>,
    /// Business time (µs) before interval k.
    before: Vec<i64>,
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
        BusinessTime {
            starts: intervals.iter().map(|i| i.0).collect(),
            ends: intervals.iter().map(|i| i.1).collect(),
            before,
        }
    }

    /// Business time in (-∞, t) (over the compiled horizon).
    pub fn until(&self, t: i64) -> i64 {
        let k = self.starts.partition_point(|&s| s < t);
        match k.checked_sub(1) {
            None => 0,
            Some(j) => self.before[j] + (t.min(self.ends[j]) - self.starts[j]),
        }
    }

    /// B(a, b): business time in [a, b), µs; 0 when b ≤ a (SPEC §9.1).
    pub fn between(&self, a: i64, b: i64) -> i64 {
        if b <= a {
            0
        } else {
            self.until(b) - self.until(a)
        }
    }

    /// The earliest instant d ≥ `a` with B(a, d) = `target` (SPEC §9.3); a target of 0 is
    /// the first business instant at or after `a`. None when the horizon ends first.
    pub fn due(&self, a: i64, target: i64) -> Option<i64> {
        if target <= 0 {
            let k = self.ends.partition_point(|&e| e <= a);
            return (k < self.starts.len()).then(|| self.starts[k].max(a));
        }
        let goal = self.until(a).checked_add(target)?;
        // The interval holding the goal-th microsecond: the last one starting below it.
        let j = self.before.partition_point(|&x| x < goal).checked_sub(1)?;
        let into = goal - self.before[j];
        (into <= self.ends[j] - self.starts[j]).then(|| self.starts[j] + into)
    }
}
