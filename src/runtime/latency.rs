//! How long this machine takes to start a process, right now: what `time_scale = "auto"`
//! keeps every scaled timer well above (process starts are not compressed by the scale).

use std::time::{Duration, Instant};

/// How many starts are timed; the slowest counts, so a loaded machine is not hidden by one
/// lucky start.
const SAMPLES: usize = 3;
/// Assumed when no process can be started to measure (the run will say why it fails).
const FALLBACK: Duration = Duration::from_millis(10);

/// The slowest of a few fork/exec/wait round trips of `true`.
pub fn process_start() -> Duration {
    let mut slowest = None;
    for _ in 0..SAMPLES {
        let began = Instant::now();
        let ok = std::process::Command::new("true")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return FALLBACK;
        }
        let took = began.elapsed();
        slowest = Some(slowest.map_or(took, |s: Duration| s.max(took)));
    }
    slowest.unwrap_or(FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measurement_is_positive_and_bounded() {
        let d = process_start();
        assert!(d > Duration::ZERO);
        // Not a speed assertion: a start that takes a minute means the measurement broke.
        assert!(d < Duration::from_secs(60), "{d:?}");
    }
}
