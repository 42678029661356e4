//! Phase boundaries. Each is where a long run can stop on request (Ctrl-C: the bindings
//! set an interrupt flag for the thread doing the work; see [`interrupt_on`]) and, with
//! `SUPPORTKPI_TRACE=1` in the environment, where the phase timings printed to stderr are
//! taken (off by default: one env lookup per call).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};

thread_local! {
    /// The interrupt flag of the work running on this thread, if any.
    static INTERRUPT: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Removes the thread's interrupt flag when dropped.
pub struct InterruptScope(());

impl Drop for InterruptScope {
    fn drop(&mut self) {
        INTERRUPT.with(|f| f.borrow_mut().take());
    }
}

/// Makes every phase boundary on this thread return [`Error::Interrupted`] once `flag` is
/// set, until the returned scope is dropped.
pub fn interrupt_on(flag: Arc<AtomicBool>) -> InterruptScope {
    INTERRUPT.with(|f| *f.borrow_mut() = Some(flag));
    InterruptScope(())
}

fn interrupted() -> bool {
    INTERRUPT.with(|f| {
        f.borrow()
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    })
}

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

    /// Ends the current phase; stops the run if it was interrupted.
    pub fn lap(&mut self, phase: &'static str) -> Result<()> {
        if let Some(laps) = &mut self.laps {
            let now = Instant::now();
            laps.push((phase, (now - self.last).as_secs_f64()));
            self.last = now;
        }
        if interrupted() {
            return Err(Error::Interrupted);
        }
        Ok(())
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
