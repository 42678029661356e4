//! Phase timings for performance work: with `SUPPORTKPI_TRACE=1` in the environment, each
//! pipeline prints how long its phases took to stderr. Off by default (one env lookup per
//! call).

use std::time::Instant;

/// Times consecutive phases.
pub struct PhaseTimer {
    what: &'static str,
    start: Instant,
    last: Instant,
    laps: Option<Vec<(&'static str, f64)>>,
}

impl PhaseTimer {
    /// A timer that records only when `SUPPORTKPI_TRACE` is set to a non-empty, non-"0" value.
    pub fn from_env(what: &'static str) -> Self {
        let enabled = std::env::var("SUPPORTKPI_TRACE").is_ok_and(|v| !v.is_empty() && v != "0");
        let now = Instant::now();
        PhaseTimer {
            what,
            start: now,
            last: now,
            laps: enabled.then(Vec::new),
        }
    }

    /// Ends the current phase.
    pub fn lap(&mut self, phase: &'static str) {
        if let Some(laps) = &mut self.laps {
            let now = Instant::now();
            laps.push((phase, (now - self.last).as_secs_f64()));
            self.last = now;
        }
    }
}

impl Drop for PhaseTimer {
    fn drop(&mut self) {
        if let Some(laps) = &self.laps {
            let total = self.start.elapsed().as_secs_f64();
            let parts: Vec<String> = laps
                .iter()
                .map(|(phase, secs)| format!("{phase}={:.3}", secs))
                .collect();
            eprintln!(
                "supportkpi {}: total={total:.3}s {}",
                self.what,
                parts.join(" ")
            );
        }
    }
}
