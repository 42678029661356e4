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
    last_cpu: Option<f64>,
    /// (phase, wall seconds, process CPU seconds when known).
    laps: Option<Vec<(&'static str, f64, Option<f64>)>>,
}

/// CPU seconds (user + system) of the whole process so far, where `/proc` tells it.
/// Traced phases print their CPU use over wall time: how many cores a phase kept busy
/// (pyarrow's reader threads included) shows which phases leave a core idle.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces):
    // utime and stime are the 12th and 13th of them, in clock ticks (100 per second on
    // Linux for the ABI's USER_HZ).
    let after_name = &stat[stat.rfind(')')? + 2..];
    let mut fields = after_name.split(' ').skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
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
            last_cpu: if enabled { process_cpu_seconds() } else { None },
            laps: enabled.then(Vec::new),
        }
    }

    /// Ends the current phase; stops the run if it was interrupted.
    pub fn lap(&mut self, phase: &'static str) -> Result<()> {
        if let Some(laps) = &mut self.laps {
            let now = Instant::now();
            let cpu = process_cpu_seconds();
            let used = cpu.zip(self.last_cpu).map(|(now, before)| now - before);
            laps.push((phase, (now - self.last).as_secs_f64(), used));
            self.last = now;
            self.last_cpu = cpu;
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
                .map(|(phase, secs, cpu)| match cpu {
                    // Cores busy over the phase, when the phase is long enough for the
                    // 10 ms CPU clock to say.
                    Some(cpu) if *secs >= 0.05 => format!("{phase}={secs:.3}({:.1})", cpu / secs),
                    _ => format!("{phase}={secs:.3}"),
                })
                .collect();
            eprintln!(
                "supportkpi {}: total={total:.3}s {}",
                self.what,
                parts.join(" ")
            );
        }
    }
}
