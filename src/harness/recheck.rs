//! Rechecking a compressed failure at real time. A time scale below 1 shrinks every kubelet
//! timer but not the real latency of starting, killing and probing processes, so under load
//! a spec can fail at 0.1 that passes at real time, the kubelet's own pace. When a spec
//! fails at a compressed scale, the harness runs it once more at scale 1 and that run's
//! verdict is the spec's; the first failure is reported beside it, never hidden. A trial is
//! what is rechecked: a `must-fail/` spec that passed, or failed for another reason, at the
//! compressed scale is rerun the same way.

use std::sync::OnceLock;

/// Set by `podcheck test --no-recheck`.
static DISABLED: OnceLock<()> = OnceLock::new();

/// Turns the real-time recheck off for this suite (`podcheck test --no-recheck`; otherwise
/// `PODCHECK_RECHECK=0`).
pub fn disable() {
    let _ = DISABLED.set(());
}

/// Whether a failure at `scale` gets a real-time recheck: the scale is compressed and
/// neither the flag nor `PODCHECK_RECHECK=0` turned it off.
pub fn wanted(scale: f64, env: Option<&str>) -> bool {
    scale < 1.0 && DISABLED.get().is_none() && env.map(str::trim) != Some("0")
}

/// The line saying what the recheck found, for the suite's output and the JUnit log.
pub fn note(spec: &str, scale: f64, first_cause: &str, passed_at_real_time: bool) -> String {
    let then = if passed_at_real_time {
        "passed at real time, so the compressed verdict did not hold and the spec passes"
    } else {
        "failed at real time too"
    };
    format!(
        "podcheck: {spec} failed at time scale {scale} ({first_cause}) and was rerun at time scale 1: it {then}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_compressed_runs_are_rechecked_and_the_variable_turns_it_off() {
        assert!(wanted(0.1, None));
        assert!(wanted(0.5, Some("1")));
        assert!(!wanted(1.0, None));
        assert!(!wanted(2.0, None));
        assert!(!wanted(0.1, Some(" 0 ")));
    }

    #[test]
    fn the_note_says_both_verdicts() {
        let n = note("a/b.toml", 0.1, "app: killed", true);
        assert!(n.contains("failed at time scale 0.1 (app: killed)"), "{n}");
        assert!(n.contains("passed at real time"), "{n}");
        assert!(note("a", 0.25, "c", false).contains("failed at real time too"));
    }
}
