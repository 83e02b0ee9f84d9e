//! The order spec trials start in: the longest first. The trial pool runs N at once and
//! takes trials in order, so a long spec that happens to sort last (say
//! `restart/long-backoff-…`) starts when the pool has nearly drained and ends the suite late
//! on its own; starting the longest first (the longest-processing-time rule of scheduling)
//! lets the short ones fill in around it.
//!
//! A spec's length is not known before it runs; its text names it well enough. The latest
//! time a spec mentions (an expectation window's end, `at`, `delete_pod_at`, `start_at`,
//! `run.duration`) is about when its run is decided, and the time scale turns that into real
//! seconds. `timeout` values are left out: they bound a run (or a probe), they do not say
//! how long it lasts. A wrong estimate only costs order, never a verdict.

use crate::spec::duration::SpecDuration;

/// The real seconds a spec file is likely to run: the latest spec time its text mentions
/// times `scale` (real seconds per spec second). 0 for a text that does not parse.
pub(super) fn expected_secs(text: &str, scale: f64) -> f64 {
    let Ok(value) = toml::from_str::<toml::Value>(text) else {
        return 0.0;
    };
    let mut latest = 0.0_f64;
    latest_time(&value, &mut latest);
    let secs = latest * scale;
    if secs.is_finite() { secs.max(0.0) } else { 0.0 }
}

/// The greatest duration among the strings under `v`, skipping `timeout` keys; a window
/// `"A..B"` counts by both ends.
fn latest_time(v: &toml::Value, latest: &mut f64) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                if k != "timeout" {
                    latest_time(v, latest);
                }
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| latest_time(v, latest)),
        toml::Value::String(s) => {
            for end in s.split("..") {
                if let Ok(d) = SpecDuration::parse(end.trim()) {
                    *latest = latest.max(d.secs_f64());
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_time_named_counts_times_the_scale() {
        let spec = r#"
[run]
time_scale = 0.5
duration = "10s"
timeout = "300s"

[[expect.events]]
reason = "Killing"
at = "12s..14s"

[[expect.never]]
reason = "Started"
within = "2s.."
"#;
        assert_eq!(expected_secs(spec, 0.5), 7.0);
    }

    #[test]
    fn timeouts_and_other_strings_are_not_lengths() {
        let spec = r#"
name = "3s of nothing"
[run]
timeout = "120s"
[[pod.containers]]
name = "app"
command = ["sleep", "5s"]
[pod.containers.readinessProbe]
exec = { command = ["true"] }
"#;
        // `sleep 5s` is an argument, but it reads as a time; a guess may be off that way.
        assert_eq!(expected_secs(spec, 1.0), 5.0);
        assert_eq!(expected_secs("name = \"x\"", 1.0), 0.0);
        assert_eq!(expected_secs("not toml [", 1.0), 0.0);
        assert_eq!(
            expected_secs("[run]\nduration = \"10s\"", f64::INFINITY),
            0.0
        );
    }
}
