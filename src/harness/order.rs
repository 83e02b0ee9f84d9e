//! The order spec trials start in: the longest first. The trial pool runs N at once and
//! takes trials in order, so a long spec that happens to sort last (say
//! `restart/long-backoff-…`) starts when the pool has nearly drained and ends the suite late
//! on its own; starting the longest first (the longest-processing-time rule of scheduling)
//! lets the short ones fill in around it.
//!
//! A spec's length is not known before it runs; its text names it well enough. The latest
//! time a spec mentions (an expectation window's end, `at`, `delete_pod_at`, `start_at`,
//! `run.duration`) is about when its run is decided, and the time scale turns that into real
//! seconds. `timeout` values are left out (they bound a run or a probe, they do not say how
//! long it lasts), and so are the pods' own fields. A wrong estimate only costs order, never
//! a verdict.

use crate::clock::TimeScale;
use crate::spec::duration::SpecDuration;

/// The real seconds a spec file is likely to run: the latest spec time its text mentions
/// times its time scale (none or `auto`: real time). 0 for a text that does not parse.
pub(super) fn expected_secs(text: &str, scale: Option<TimeScale>) -> f64 {
    let scale = match scale {
        Some(TimeScale::Fixed(s)) => s,
        Some(TimeScale::Auto) | None => 1.0,
    };
    let Ok(value) = toml::from_str::<toml::Value>(text) else {
        return 0.0;
    };
    let mut latest = 0.0_f64;
    latest_time(&value, &mut latest);
    let secs = latest * scale;
    if secs.is_finite() { secs.max(0.0) } else { 0.0 }
}

/// Keys whose values are not times on the spec's timeline: bounds on a run or a probe, and
/// the pod itself, whose strings are Kubernetes values (a CPU request `"100m"` reads as
/// 100 minutes).
const NOT_TIMES: [&str; 6] = [
    "timeout",
    "pod",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "resources",
];

/// The greatest duration among the strings under `v`, skipping [`NOT_TIMES`]; a window
/// `"A..B"` counts by both ends.
fn latest_time(v: &toml::Value, latest: &mut f64) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                if !NOT_TIMES.contains(&k.as_str()) {
                    latest_time(v, latest);
                }
            }
        }
        toml::Value::Array(a) => {
            // An ordered list (events, executions) whose items come `after_previous`: each
            // one's time is the previous one's plus its window's end.
            let mut chain = 0.0_f64;
            for v in a {
                latest_time(v, latest);
                let Some(t) = v.as_table() else { continue };
                if let Some(at) = t.get("at").and_then(window_end) {
                    chain = at;
                }
                if let Some(gap) = t.get("after_previous").and_then(window_end) {
                    chain += gap;
                }
                *latest = latest.max(chain);
            }
        }
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

/// The end of a window `"A..B"` (or the time `"A"`), in seconds.
fn window_end(v: &toml::Value) -> Option<f64> {
    let end = v.as_str()?.rsplit("..").next()?;
    SpecDuration::parse(end.trim())
        .ok()
        .map(SpecDuration::secs_f64)
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
        assert_eq!(expected_secs(spec, Some(TimeScale::Fixed(0.5))), 7.0);
    }

    #[test]
    fn items_after_the_previous_add_up() {
        let spec = r#"
[[expect.events]]
reason = "Started"
at = "0s..2s"
[[expect.events]]
reason = "Started"
after_previous = "9s..19s"
[[expect.events]]
reason = "Started"
after_previous = "19s..39s"
"#;
        assert_eq!(expected_secs(spec, Some(TimeScale::Fixed(0.1))), 6.0);
    }

    #[test]
    fn timeouts_and_the_pods_own_strings_are_not_lengths() {
        let spec = r#"
name = "3s of nothing"
[run]
timeout = "120s"
[[pod.containers]]
name = "app"
command = ["sleep", "5s"]
resources = { requests = { cpu = "100m" } }
[pods.web]
start_at = "4s"
[[pods.web.containers]]
name = "app"
command = ["sleep", "50s"]
"#;
        assert_eq!(expected_secs(spec, None), 4.0);
        assert_eq!(expected_secs("name = \"x\"", None), 0.0);
        assert_eq!(expected_secs("not toml [", Some(TimeScale::Auto)), 0.0);
        assert_eq!(
            expected_secs(
                "[run]\nduration = \"10s\"",
                Some(TimeScale::Fixed(f64::INFINITY))
            ),
            0.0
        );
    }
}
