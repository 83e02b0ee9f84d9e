//! Whether a verdict reached at a compressed time scale would hold at real time. The scale
//! shrinks every kubelet timer, but not the real latency of starting processes, running
//! exec probes and hooks or answering requests; an operation that needed a large part of
//! the scaled timer it raced with may have passed or failed only because of the scale.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::events::{ExecutionKind, Timeline};
use crate::spec::duration::format_secs;
use crate::spec::model::{Container, Pod, Probe, api_seconds};

/// The share of a timer an operation may use before the verdict is called unreliable.
const CLOSE_SHARE: f64 = 0.5;

/// The kubelet's PLEG relist period: a timer every spec has.
const RELIST: Duration = Duration::from_secs(1);

fn probes(c: &Container) -> [(&'static str, Option<&Probe>); 3] {
    [
        ("liveness", c.liveness_probe.as_ref()),
        ("readiness", c.readiness_probe.as_ref()),
        ("startup", c.startup_probe.as_ref()),
    ]
}

/// The shortest timer of a pod, in spec time: the relist period, probe timeouts, periods
/// and initial delays, sleep hooks.
pub fn shortest_timer(pod: &Pod) -> Duration {
    let mut shortest = RELIST;
    for c in pod.init_containers.iter().chain(&pod.containers) {
        for (_, p) in probes(c) {
            let Some(p) = p else { continue };
            shortest = shortest
                .min(api_seconds(p.timeout_seconds, 1))
                .min(api_seconds(p.period_seconds, 10));
            if let Some(d) = p.initial_delay_seconds.filter(|d| *d > 0) {
                shortest = shortest.min(api_seconds(Some(d), 1));
            }
        }
        let hooks = c
            .lifecycle
            .iter()
            .flat_map(|l| [&l.post_start, &l.pre_stop]);
        for h in hooks.flatten() {
            if let Some(s) = h.sleep.as_ref().filter(|s| s.seconds > 0) {
                shortest = shortest.min(api_seconds(Some(s.seconds), 1));
            }
        }
    }
    shortest
}

/// Notes on operations whose real latency took a large share of the scaled timer they
/// raced with (none at scale 1 or slower): which operation, its real and spec duration, the
/// timer.
pub fn compression_notes(pod: &Pod, timeline: &Timeline, scale: f64) -> Vec<String> {
    if scale >= 1.0 {
        return Vec::new();
    }
    let containers: BTreeMap<&str, &Container> = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .map(|c| (c.name.as_str(), c))
        .collect();
    // Unlike a probe field, a grace period of 0 is 0 (negative is 1), and every stop gets
    // the kubelet's 2 s minimum.
    let grace = Duration::from_secs(
        u64::try_from(pod.termination_grace_period_seconds.unwrap_or(30)).unwrap_or(1),
    )
    .max(Duration::from_secs(2));
    // The worst case per (container, operation), with its timer.
    let mut worst: BTreeMap<(String, String), (Duration, Duration, String)> = BTreeMap::new();
    for x in timeline.executions() {
        let Some(c) = containers.get(x.container.as_str()) else {
            continue;
        };
        let (what, took, timer, timer_name) = match &x.what {
            ExecutionKind::Probe {
                probe, duration, ..
            } => {
                let Some(p) = probes(c)
                    .into_iter()
                    .find(|(k, _)| k == probe)
                    .and_then(|(_, p)| p)
                else {
                    continue;
                };
                let t = api_seconds(p.timeout_seconds, 1);
                (
                    format!("a {probe} probe attempt"),
                    *duration,
                    t,
                    "its timeoutSeconds",
                )
            }
            // Sleep hooks are scaled with everything else; exec and HTTP hooks are not.
            ExecutionKind::Hook {
                hook,
                handler,
                duration,
                ..
            } if *hook == "preStop" && *handler != "sleep" => (
                format!("the {hook} hook"),
                *duration,
                grace,
                "the grace period",
            ),
            _ => continue,
        };
        if took.as_secs_f64() < CLOSE_SHARE * timer.as_secs_f64() {
            continue;
        }
        let key = (x.container.clone(), what.clone());
        let entry = worst
            .entry(key)
            .or_insert((took, timer, timer_name.to_owned()));
        if took > entry.0 {
            *entry = (took, timer, timer_name.to_owned());
        }
    }
    worst
        .into_iter()
        .map(|((container, what), (took, timer, timer_name))| {
            format!(
                "time scale {scale}: the verdict may not hold at real time: {what} of container {container} took {:.0} ms of real time ({} of spec time) against {timer_name} of {}; real process and network latency are not compressed by the scale (rerun with --time-scale 1, or set time_scale = \"auto\")",
                took.as_secs_f64() * scale * 1000.0,
                format_secs(took.as_secs_f64()),
                format_secs(timer.as_secs_f64())
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Entry, Execution};

    fn pod(src: &str) -> Pod {
        toml::from_str(src).expect("pod")
    }

    fn probe_run(at: f64, took: f64) -> Entry {
        Entry::Execution(Execution {
            at: Duration::from_secs_f64(at),
            container: "app".into(),
            instance: 0,
            what: ExecutionKind::Probe {
                probe: "liveness",
                handler: "exec",
                result: "failure",
                output: String::new(),
                duration: Duration::from_secs_f64(took),
            },
        })
    }

    const POD: &str = "[[containers]]\nname = \"app\"\nlivenessProbe = { exec = { command = [\"true\"] }, timeoutSeconds = 2 }\n";

    #[test]
    fn a_probe_that_used_most_of_its_scaled_timeout_is_reported() {
        let t = Timeline {
            entries: vec![
                probe_run(1.0, 0.1),
                probe_run(2.0, 1.5),
                probe_run(3.0, 1.2),
            ],
        };
        let notes = compression_notes(&pod(POD), &t, 0.1);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("a liveness probe attempt of container app took 150 ms of real time (1.5s of spec time) against its timeoutSeconds of 2s"),
            "{notes:?}"
        );
        // At real time the same numbers are the app's own: nothing to say.
        assert!(compression_notes(&pod(POD), &t, 1.0).is_empty());
    }

    #[test]
    fn the_shortest_timer_is_at_most_the_relist_period() {
        assert_eq!(shortest_timer(&pod(POD)), Duration::from_secs(1));
        let sleepy = "[[containers]]\nname = \"app\"\nlifecycle = { preStop = { sleep = { seconds = 5 } } }\n";
        assert_eq!(shortest_timer(&pod(sleepy)), Duration::from_secs(1));
    }
}
