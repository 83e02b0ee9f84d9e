//! The verdict of a spec run: PASS/FAIL, the expected sequence beside what was observed,
//! and on failure the timeline and each container's log tail.

use std::fmt::Write;

use crate::events::{Entry, ExecutionKind, signal_name};
use crate::kubelet::EndReason;
use crate::runner::SpecReport;
use crate::spec::duration::format_secs;

/// How many log lines of each container instance a failure shows.
const LOG_TAIL_LINES: usize = 20;

/// Renders the verdict block for one spec.
pub fn render(label: &str, r: &SpecReport) -> String {
    let mut s = String::new();
    let end = match r.outcome.end {
        EndReason::PodFinished => "pod finished",
        EndReason::DurationReached => "run.duration reached",
        EndReason::Decided => "expectations decided",
        EndReason::TimedOut => "timed out",
        EndReason::Interrupted => "interrupted",
    };
    let at = format_secs(r.outcome.ended_at.as_secs_f64());
    if r.passed() {
        let _ = writeln!(s, "PASS {label}: {} ({end} at {at})", r.title);
        return s;
    }
    let _ = writeln!(s, "FAIL {label}: {} ({end} at {at})", r.title);
    for n in &r.notes {
        let _ = writeln!(s, "  {n}");
    }
    for f in &r.verdict.failures {
        let _ = writeln!(s, "  - {f}");
    }
    if !r.verdict.sequence.is_empty() {
        let _ = writeln!(s, "  expected events, in order:");
        let mut failed_once = false;
        for item in &r.verdict.sequence {
            let mark = match item.matched_at {
                Some(t) => format!("ok   at {:>7}", format_secs(t.as_secs_f64())),
                None if !failed_once => {
                    failed_once = true;
                    "FAIL           ".to_owned()
                }
                None => "  (not checked)".to_owned(),
            };
            let _ = writeln!(s, "    {mark}  {}", item.label);
        }
    }
    s.push_str(&timeline_text(r));
    for log in &r.outcome.logs {
        let lines: Vec<&str> = log.text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        let _ = writeln!(
            s,
            "  log of {} (restart {}), last {} line(s):",
            log.container,
            log.restart_count,
            tail.len()
        );
        for l in tail {
            let _ = writeln!(s, "    | {l}");
        }
    }
    s
}

/// The observed events, one per line with spec times.
pub fn timeline_text(r: &SpecReport) -> String {
    let mut s = String::from("  observed events:\n");
    for entry in &r.outcome.timeline.entries {
        match entry {
            Entry::Event(ev) => {
                let _ = writeln!(
                    s,
                    "    {:>7}  {:<7} {:<20} {:<12} {}",
                    format_secs(ev.at.as_secs_f64()),
                    ev.event_type.as_str(),
                    ev.reason,
                    ev.container.as_deref().unwrap_or("-"),
                    ev.message
                );
            }
            Entry::Endpoint { at, ready } => {
                let what = if *ready { "joined" } else { "left" };
                let _ = writeln!(
                    s,
                    "    {:>7}  (endpoints: the pod {what} its Service's ready endpoints)",
                    format_secs(at.as_secs_f64())
                );
            }
            Entry::Execution(x) => {
                // Probe attempts are many and their failures already have events.
                let line = match &x.what {
                    ExecutionKind::Start => format!("{}#{} started", x.container, x.instance),
                    ExecutionKind::Exit {
                        exit_code,
                        signal,
                        reason,
                    } => format!(
                        "{}#{} exited {exit_code} ({reason}{})",
                        x.container,
                        x.instance,
                        signal
                            .map(|s| format!(", {}", signal_name(s)))
                            .unwrap_or_default()
                    ),
                    ExecutionKind::Signal { signal } => format!(
                        "{}#{} was sent {}",
                        x.container,
                        x.instance,
                        signal_name(*signal)
                    ),
                    ExecutionKind::Hook {
                        hook,
                        result,
                        duration,
                        ..
                    } => format!(
                        "{}#{} {hook} hook {result} after {}",
                        x.container,
                        x.instance,
                        format_secs(duration.as_secs_f64())
                    ),
                    ExecutionKind::Probe { .. } => continue,
                };
                let _ = writeln!(s, "    {:>7}  ({line})", format_secs(x.at.as_secs_f64()));
            }
            Entry::Status { .. } => {}
        }
    }
    s
}
