//! Why a run went the way it did, from the timeline, cause before symptom: images that could
//! not be pulled, executables that could not start, the probe streaks that got a container
//! killed, failed hooks, OOM kills, crash loops, each container's last exit with its log
//! tail, and the pod's path through its phases and kubectl STATUS values.
//!
//! Repeated events are folded into one line with their count, as kubectl folds them, so a
//! thirty-times back-off reads as one cause and not thirty lines.

use std::time::Duration;

use crate::events::{ContainerState, Entry, Event, ExecutionKind, Timeline, signal_name};
use crate::kubelet::EndReason;
use crate::report::kubectl;
use crate::report::probes::{self, field_name, plural, short_message};
use crate::runner::{PodView, SpecReport};
use crate::spec::duration::format_secs;
use crate::spec::model::Container;

/// How many log lines of the last exited instance the explanation quotes.
const EXPLAIN_LOG_LINES: usize = 3;

/// Spec time for a reader: `0s` for the first instant (not `0ms` for 0.4 ms), else as specs
/// write durations.
fn t(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        return "0s".to_owned();
    }
    format_secs(d.as_secs_f64())
}

/// The cause lines of a report, most decisive first, each without indentation; log tails
/// are indented lines starting with `| ` under their exit line.
/// With several pods each pod's causes come in turn, each line starting `pod NAME: `.
pub fn causes(r: &SpecReport) -> Vec<String> {
    let (items, _) = super::checklist::checklist(r);
    // Requests through a Service belong to the run, not to one pod: they come first.
    let mut out = super::explain_traffic::traffic_causes(r);
    for v in r.views() {
        for line in pod_causes(&v, &items) {
            // Quoted log lines stay under the exit line they belong to.
            if line.starts_with("  ") {
                out.push(line);
            } else {
                out.push(format!("{}{line}", v.prefix));
            }
        }
    }
    out.extend(end_line(r, &items));
    out
}

/// The causes of one pod; `items` is the report's checklist (its keys carry the prefix).
fn pod_causes(v: &PodView<'_>, items: &[super::checklist::Checked]) -> Vec<String> {
    let tl = &v.outcome.timeline;
    let mut decisive = Vec::new();
    let mut exits = Vec::new();
    for c in v.pod.init_containers.iter().chain(&v.pod.containers) {
        container_causes(v, c, &mut decisive, &mut exits);
    }
    let mut out = decisive;
    out.extend(host_listener_hints(tl));
    out.extend(exits);
    out.extend(pod_lines(tl, cares_about_ready(v)));
    out.extend(candidates(v, items));
    out
}

/// The hint for a server that runs on the host while the pod has a loopback of its own.
fn host_listener_hints(tl: &Timeline) -> Vec<String> {
    tl.entries
        .iter()
        .filter_map(|e| match e {
            crate::events::Entry::HostListener { port, .. } => Some(format!(
                "probes got \"connection refused\" on 127.0.0.1:{port} inside the pod, while something listens on 127.0.0.1:{port} on the host: in `pod` isolation the pod has its own network namespace, so its loopback is not the host's; run the server as a container of the pod, or use `--isolation none` (or `run.isolation = \"none\"`) to share the host's loopback"
            )),
            _ => None,
        })
        .collect()
}

fn events_of<'a>(tl: &'a Timeline, container: &'a str) -> impl Iterator<Item = &'a Event> {
    tl.events()
        .filter(move |e| e.container.as_deref() == Some(container))
}

/// `(x3, first at 1.0s, last at 9.0s)` or `at 1.0s`.
fn folded(times: &[Duration]) -> String {
    match times {
        [] => String::new(),
        [one] => format!("at {}", t(*one)),
        [first, .., last] => format!(
            "x{}, first at {}, last at {}",
            times.len(),
            t(*first),
            t(*last)
        ),
    }
}

fn container_causes(
    r: &PodView<'_>,
    c: &Container,
    decisive: &mut Vec<String>,
    exits: &mut Vec<String>,
) {
    let tl = &r.outcome.timeline;
    let name = c.name.as_str();
    // Images that could not be pulled: the first error says why, back-offs are folded.
    let pulls: Vec<&Event> = events_of(tl, name)
        .filter(|e| e.reason == "Failed" && e.message.starts_with("Failed to pull image"))
        .collect();
    if let Some(first) = pulls.first() {
        let times: Vec<Duration> = pulls.iter().map(|e| e.at).collect();
        let backoffs = events_of(tl, name)
            .filter(|e| e.message == "Error: ImagePullBackOff")
            .count();
        let backoff = if backoffs > 0 {
            format!(", then ImagePullBackOff x{backoffs}")
        } else {
            String::new()
        };
        decisive.push(format!(
            "{name}: ErrImagePull ({}{backoff}): {}; the container never started",
            folded(&times),
            first.message
        ));
    }
    // An image not on the node under imagePullPolicy Never: never pulled, tried each sync.
    let never: Vec<&Event> = events_of(tl, name)
        .filter(|e| e.reason == "ErrImageNeverPull")
        .collect();
    if let Some(first) = never.first() {
        let times: Vec<Duration> = never.iter().map(|e| e.at).collect();
        decisive.push(format!(
            "{name}: ErrImageNeverPull ({}): {}; the container never started",
            folded(&times),
            first.message
        ));
    }
    // Start errors (a missing executable, a bad working directory): `Error: <runtime error>`;
    // a container config that cannot be made (a missing ConfigMap key, runAsNonRoot).
    let starts: Vec<&Event> = events_of(tl, name)
        .filter(|e| {
            e.reason == "Failed"
                && e.message.starts_with("Error: ")
                && !matches!(
                    e.message.as_str(),
                    "Error: ErrImagePull" | "Error: ImagePullBackOff" | "Error: ErrImageNeverPull"
                )
        })
        .collect();
    if let Some(first) = starts.first() {
        let times: Vec<Duration> = starts.iter().map(|e| e.at).collect();
        let config = tl.statuses().any(|(_, st)| {
            st.init_container_statuses
                .iter()
                .chain(&st.container_statuses)
                .any(|c| {
                    c.name == name
                        && matches!(&c.state, ContainerState::Waiting { reason: Some(r), .. } if r == "CreateContainerConfigError")
                })
        });
        let what = if config {
            "CreateContainerConfigError"
        } else {
            "StartError"
        };
        decisive.push(format!(
            "{name}: could not start, {what} ({}): {}",
            folded(&times),
            first.message.trim_start_matches("Error: ")
        ));
    }
    probe_kills(r, c, decisive);
    hook_failures(tl, name, decisive);
    let backoffs: Vec<Duration> = events_of(tl, name)
        .filter(|e| e.reason == "BackOff" && e.message.starts_with("Back-off restarting"))
        .map(|e| e.at)
        .collect();
    if !backoffs.is_empty() {
        decisive.push(format!(
            "{name}: CrashLoopBackOff: back-off restarting the failed container ({})",
            folded(&backoffs)
        ));
    }
    probes_failing_at_end(r, c, decisive);
    exit_lines(r, name, decisive, exits);
}

/// Kills by a failing liveness or startup probe, with the streak that caused them.
fn probe_kills(r: &PodView<'_>, c: &Container, out: &mut Vec<String>) {
    let tl = &r.outcome.timeline;
    let name = c.name.as_str();
    for probe in ["startup", "liveness"] {
        let needle = format!("failed {probe} probe");
        let kills: Vec<Duration> = events_of(tl, name)
            .filter(|e| e.reason == "Killing" && e.message.contains(&needle))
            .map(|e| e.at)
            .collect();
        let Some(&first) = kills.first() else {
            continue;
        };
        let instance = instance_at(tl, name, first);
        let streak = probes::failing_streak_before(tl, name, instance, probe, first);
        let threshold = probe_spec(c, probe)
            .map(|p| p.failure_threshold.unwrap_or(3))
            .unwrap_or(3);
        let handler = handler_of(tl, name, probe);
        let message = streak
            .last()
            .map(|(m, _)| format!(" ({m})"))
            .unwrap_or_default();
        let more = if kills.len() > 1 {
            format!(
                " ({} kills in all, the last at {})",
                kills.len(),
                t(kills[kills.len() - 1])
            )
        } else {
            String::new()
        };
        out.push(format!(
            "{name}: {} {handler} failed {}/{threshold} times in a row{message} → killed at {}{more}",
            field_name(probe),
            streak.len(),
            t(first)
        ));
    }
}

/// The container instance (restart count) running at `at`: that of its last execution.
fn instance_at(tl: &Timeline, name: &str, at: Duration) -> u32 {
    tl.executions()
        .filter(|x| x.container == name && x.at <= at)
        .last()
        .map_or(0, |x| x.instance)
}

fn handler_of(tl: &Timeline, name: &str, probe: &str) -> &'static str {
    tl.executions()
        .find_map(|x| match &x.what {
            ExecutionKind::Probe {
                probe: p, handler, ..
            } if x.container == name && *p == probe => Some(*handler),
            _ => None,
        })
        .unwrap_or("")
}

fn probe_spec<'a>(c: &'a Container, probe: &str) -> Option<&'a crate::spec::model::Probe> {
    match probe {
        "startup" => c.startup_probe.as_ref(),
        "liveness" => c.liveness_probe.as_ref(),
        _ => c.readiness_probe.as_ref(),
    }
}

fn hook_failures(tl: &Timeline, name: &str, out: &mut Vec<String>) {
    for x in tl.executions().filter(|x| x.container == name) {
        if let ExecutionKind::Hook {
            hook,
            handler,
            result: "failed",
            detail,
            duration,
        } = &x.what
        {
            let then = if *hook == "postStart" {
                " → killed"
            } else {
                ""
            };
            out.push(format!(
                "{name}#{}: {hook} {handler} hook failed after {}{}{then}",
                x.instance,
                t(*duration),
                detail
                    .as_deref()
                    .map(|d| format!(": {}", short_message(d)))
                    .unwrap_or_default()
            ));
        }
    }
}

/// A readiness (or startup) probe whose last instance ended failing: why Ready stayed False.
fn probes_failing_at_end(r: &PodView<'_>, c: &Container, out: &mut Vec<String>) {
    let tl = &r.outcome.timeline;
    for p in probes::summarize(tl)
        .into_iter()
        .filter(|p| p.container == c.name && p.probe != "liveness")
    {
        let Some(st) = p.streak.filter(|s| !s.success) else {
            continue;
        };
        let message = p
            .failures
            .last()
            .map(|g| format!(", last with {}", g.message))
            .unwrap_or_default();
        let never = if p.successes == 0 {
            ", never succeeded"
        } else {
            ""
        };
        let effect = if p.probe == "readiness" {
            "; the container was not ready at the end"
        } else {
            "; the container had not started at the end"
        };
        out.push(format!(
            "{}: {} {} failed {} time{} in a row since {}{message} ({} attempt{} in all{never}){effect}",
            c.name,
            field_name(p.probe),
            p.handler,
            st.count,
            plural(st.count),
            t(st.since),
            p.attempts,
            plural(p.attempts),
        ));
    }
}

/// Each container's last exit (how many it had, code, signal, reason, how long it ran) and
/// that instance's log tail. Unusual exits (OOM, a signal) count as decisive.
fn exit_lines(r: &PodView<'_>, name: &str, decisive: &mut Vec<String>, exits: &mut Vec<String>) {
    let tl = &r.outcome.timeline;
    let mut starts: Vec<(u32, Duration)> = Vec::new();
    let mut all = Vec::new();
    let mut signals: Vec<(u32, i32)> = Vec::new();
    for x in tl.executions().filter(|x| x.container == name) {
        match &x.what {
            ExecutionKind::Start => starts.push((x.instance, x.at)),
            ExecutionKind::Signal { signal } => signals.push((x.instance, *signal)),
            ExecutionKind::Exit { .. } => all.push(x),
            _ => {}
        }
    }
    let Some(last) = all.last() else {
        return;
    };
    let ExecutionKind::Exit {
        exit_code,
        signal,
        reason,
    } = &last.what
    else {
        return;
    };
    let ran = starts
        .iter()
        .find(|(i, _)| *i == last.instance)
        .map(|(_, at)| format!(" after running {}", t(last.at.saturating_sub(*at))))
        .unwrap_or_default();
    let sent: Vec<String> = signals
        .iter()
        .filter(|(i, _)| *i == last.instance)
        .map(|(_, s)| signal_name(*s))
        .collect();
    let sent = if sent.is_empty() {
        String::new()
    } else {
        format!(", after it was sent {}", sent.join(" then "))
    };
    let by = signal
        .map(|s| format!(", killed by {}", signal_name(s)))
        .unwrap_or_default();
    let count = if all.len() > 1 {
        format!("; {} exits in all", all.len())
    } else {
        String::new()
    };
    let line = format!(
        "{name}#{} exited {exit_code} ({reason}{by}) at {}{ran}{sent}{count}",
        last.instance,
        t(last.at)
    );
    let target = if reason == "OOMKilled" || (signal.is_some() && sent.is_empty()) {
        decisive
    } else {
        exits
    };
    target.push(line);
    let log = r
        .outcome
        .logs
        .iter()
        .find(|l| l.container == name && l.restart_count == last.instance);
    match log.map(|l| l.text.lines().collect::<Vec<_>>()) {
        Some(lines) if !lines.is_empty() => {
            let tail = &lines[lines.len().saturating_sub(EXPLAIN_LOG_LINES)..];
            target.push(format!(
                "  its log ends ({} of {} line{}):",
                tail.len(),
                lines.len(),
                plural(u32::try_from(lines.len()).unwrap_or(u32::MAX))
            ));
            target.extend(
                tail.iter()
                    .map(|l| format!("  | {}", super::terminal_safe(l))),
            );
        }
        _ => {
            if let Some(l) = target.last_mut() {
                l.push_str("; it wrote no output");
            }
        }
    }
}

/// Whether readiness is part of what the spec checks or configures, so that "never Ready"
/// is news and not noise (a run-to-completion pod is never Ready either).
fn cares_about_ready(r: &PodView<'_>) -> bool {
    let ready_key = |m: &std::collections::BTreeMap<
        String,
        crate::expect::values::ConditionMatch,
    >| { m.contains_key("Ready") || m.contains_key("ContainersReady") };
    let e = &r.expect;
    r.pod
        .init_containers
        .iter()
        .chain(&r.pod.containers)
        .any(|c| c.readiness_probe.is_some())
        || !e.endpoints.is_empty()
        || e.finals.iter().any(|f| ready_key(&f.conditions))
        || e.states.iter().any(|s| ready_key(&s.conditions))
}

/// How many changes a phase or STATUS path shows before eliding the middle.
const PATH_MAX_STEPS: usize = 7;

/// The pod's phases and kubectl STATUS values over time, each change once.
fn pod_lines(tl: &Timeline, ready_matters: bool) -> Vec<String> {
    let mut phases: Vec<(String, Duration)> = Vec::new();
    let mut statuses: Vec<(String, Duration)> = Vec::new();
    for (at, st) in tl.statuses() {
        let phase = match st.reason.as_deref() {
            Some(r) if !r.is_empty() => format!("{} ({r})", st.phase.as_str()),
            _ => st.phase.as_str().to_owned(),
        };
        if phases.last().is_none_or(|(p, _)| *p != phase) {
            phases.push((phase, at));
        }
        let col = kubectl::pod_row(st, Duration::ZERO).status;
        if statuses.last().is_none_or(|(s, _)| *s != col) {
            statuses.push((col, at));
        }
    }
    let path = |v: &[(String, Duration)]| {
        let steps: Vec<String> = v
            .iter()
            .map(|(s, at)| format!("{s} at {}", t(*at)))
            .collect();
        if steps.len() <= PATH_MAX_STEPS {
            return steps.join(" → ");
        }
        // A crash loop flips STATUS dozens of times: the start and the latest tell the story.
        let (head, tail) = (&steps[..3], &steps[steps.len() - 3..]);
        format!(
            "{} → … {} more … → {}",
            head.join(" → "),
            steps.len() - 6,
            tail.join(" → ")
        )
    };
    let mut out = Vec::new();
    if !phases.is_empty() {
        out.push(format!("pod phase: {}", path(&phases)));
        out.push(format!("kubectl STATUS: {}", path(&statuses)));
    }
    let ready: Vec<Duration> = tl
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Endpoint { at, ready: true } => Some(*at),
            _ => None,
        })
        .collect();
    if ready_matters && ready.is_empty() && tl.statuses().next().is_some() {
        out.push("the pod was never Ready (no Service would have sent it traffic)".into());
    }
    out
}

/// For each ordered event item that failed: the events with its reason that were seen, so
/// a wrong message or window shows next to what really happened.
fn candidates(r: &PodView<'_>, items: &[super::checklist::Checked]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, want) in r.expect.events.iter().enumerate() {
        let key = format!("{}events[{i}]", r.prefix);
        let failed = items
            .iter()
            .any(|c| c.key == key && matches!(c.outcome, super::checklist::Outcome::Failed(_)));
        let Some(reason) = want.reason.as_deref().filter(|_| failed) else {
            continue;
        };
        let seen: Vec<String> = r
            .outcome
            .timeline
            .events()
            .filter(|e| e.reason == reason)
            .take(CANDIDATES_MAX)
            .map(|e| {
                format!(
                    "{:?} at {} ({})",
                    e.message,
                    t(e.at),
                    e.container.as_deref().unwrap_or("pod")
                )
            })
            .collect();
        if seen.is_empty() {
            out.push(format!(
                "events[{i}]: no {reason} event was recorded at all"
            ));
        } else {
            out.push(format!(
                "events[{i}]: the {reason} events seen were {}",
                seen.join(", ")
            ));
        }
    }
    out
}

/// How many same-reason events an unmatched item shows.
const CANDIDATES_MAX: usize = 3;

/// How the run ended, when that is part of the story (a timeout, an interruption, a stop
/// at the first failure for good).
fn end_line(r: &SpecReport, items: &[super::checklist::Checked]) -> Option<String> {
    let waiting: Vec<String> = items
        .iter()
        .filter(|c| !matches!(c.outcome, super::checklist::Outcome::Met(_)))
        // Only ordered items wait for something to happen; a final state is just wrong.
        .filter(|c| {
            let key = c.key.rsplit(": ").next().unwrap_or(&c.key);
            ["events[", "executions[", "endpoints["]
                .iter()
                .any(|f| key.starts_with(f))
        })
        .map(|c| format!("{} ({})", c.key, c.label))
        .collect();
    if let Some(stop) = &r.verdict.stopped_early {
        let when = stop
            .failed_at
            .map(|at| format!(" at {}", t(at)))
            .unwrap_or_default();
        let mut line = format!(
            "the run stopped early at {}, after {} failed for good{when}",
            t(r.ended_at),
            stop.failed
        );
        if !stop.not_judged.is_empty() {
            line.push_str(&format!(
                "; not judged, since they wait for a later time: {}",
                stop.not_judged.join(", ")
            ));
        }
        return Some(line);
    }
    let how = match r.end {
        EndReason::TimedOut => "the run timed out",
        EndReason::Interrupted => "the run was interrupted",
        EndReason::PodFinished if !waiting.is_empty() && !r.other_pods.is_empty() => {
            "every pod finished"
        }
        EndReason::PodFinished if !waiting.is_empty() => "the pod finished",
        EndReason::DurationReached if !waiting.is_empty() => "run.duration ended the run",
        _ => return None,
    };
    if waiting.is_empty() {
        return Some(format!("{how} at {}", t(r.ended_at)));
    }
    Some(format!(
        "{how} at {} while still waiting for {}",
        t(r.ended_at),
        waiting.join(", ")
    ))
}

#[cfg(test)]
#[path = "explain_tests.rs"]
pub(crate) mod tests;
