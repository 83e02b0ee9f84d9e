//! The verdict of a spec run: PASS/FAIL, the expected sequence beside what was observed,
//! and on failure the timeline and each container's log tail.

use std::fmt::Write;
use std::time::Duration;

use crate::events::{Entry, ExecutionKind, signal_name};
use crate::kubelet::EndReason;
use crate::runner::SpecReport;
use crate::spec::duration::format_secs;

use super::{checklist, explain};

/// How many log lines of each container instance a failure shows.
const LOG_TAIL_LINES: usize = 20;

/// The end of the header line: `pod finished at 1.0s`.
pub fn end_text(r: &SpecReport) -> String {
    let end = match r.end {
        EndReason::PodFinished if !r.other_pods.is_empty() => "every pod finished",
        EndReason::PodFinished => "pod finished",
        EndReason::DurationReached => "run.duration reached",
        EndReason::Decided if r.verdict.stopped_early.is_some() => "failed for good",
        EndReason::Decided => "expectations decided",
        EndReason::TimedOut => "timed out",
        EndReason::Interrupted => "interrupted",
    };
    format!("{end} at {}", format_secs(r.ended_at.as_secs_f64()))
}

/// Renders the verdict block for one spec: one line on a pass; on a failure the cause
/// first (`why:`), then every expectation as failed, met or not checked, the run's notes,
/// the observed events and each container's log tail.
pub fn render(label: &str, r: &SpecReport) -> String {
    let mut s = String::new();
    if r.passed() {
        let _ = writeln!(s, "PASS {label}: {} ({})", r.title, end_text(r));
        return s;
    }
    let _ = writeln!(s, "FAIL {label}: {} ({})", r.title, end_text(r));
    s.push_str(&explanation(r));
    for n in &r.notes {
        let _ = writeln!(s, "  {n}");
    }
    s.push_str(&timeline_text(r));
    s.push_str(&logs_text(r));
    s
}

/// The failure explanation alone: the causes, then the checklist of expectations. This is
/// the text of a JUnit failure.
pub fn explanation(r: &SpecReport) -> String {
    let mut s = String::from("  why:\n");
    for line in explain::causes(r) {
        let _ = writeln!(s, "    {line}");
    }
    let (items, unclaimed) = checklist::checklist(r);
    s.push_str(&checklist::render(&items, &unclaimed));
    s
}

/// The cause lines of a rendered failure: the text between `why:` and `expectations:`
/// (empty when there is none).
pub fn why_section(text: &str) -> &str {
    let Some(start) = text.find("\n  why:\n") else {
        return "";
    };
    let rest = &text[start..];
    let end = rest.find("\n  expectations:").unwrap_or(rest.len());
    &rest[..end]
}

/// The first cause line of a rendered failure (the line after `why:`), else its first line:
/// what a CI page shows next to a failed spec's name.
pub fn first_cause(text: &str) -> &str {
    why_section(text)
        .lines()
        .nth(2)
        .or_else(|| text.lines().next())
        .unwrap_or_default()
        .trim()
}

/// Each container instance's log tail.
pub fn logs_text(r: &SpecReport) -> String {
    let mut s = String::new();
    let several = !r.other_pods.is_empty();
    let logs = r.pods().into_iter().flat_map(|(pod, _, o)| {
        o.logs.iter().map(move |l| {
            (
                if several {
                    format!("pod {pod}, ")
                } else {
                    String::new()
                },
                l,
            )
        })
    });
    for (pod, log) in logs {
        let lines: Vec<&str> = log.text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        let _ = writeln!(
            s,
            "  log of {pod}{} (restart {}), last {} line(s):",
            log.container,
            log.restart_count,
            tail.len()
        );
        for l in tail {
            let _ = writeln!(s, "    | {}", super::terminal_safe(l));
        }
    }
    s
}

/// The observed events, one per line with spec times; an event repeated with nothing shown
/// in between is folded into one line with its count, as kubectl counts repeats.
pub fn timeline_text(r: &SpecReport) -> String {
    if r.other_pods.is_empty() {
        return pod_timeline_text("  observed events:\n", &r.outcome.timeline);
    }
    r.pods()
        .into_iter()
        .map(|(name, _, o)| {
            pod_timeline_text(&format!("  observed events of pod {name}:\n"), &o.timeline)
        })
        .collect()
}

/// [`timeline_text`] of one pod's timeline under `header`.
fn pod_timeline_text(header: &str, timeline: &crate::events::Timeline) -> String {
    let mut s = String::from(header);
    // The event line being folded: its text, first time, last time and count.
    let mut pending: Option<(String, Duration, Duration, u32)> = None;
    let flush = |s: &mut String, p: &mut Option<(String, Duration, Duration, u32)>| {
        if let Some((text, first, last, n)) = p.take() {
            let more = if n > 1 {
                format!(" (x{n}, last at {})", format_secs(last.as_secs_f64()))
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "    {:>7}  {text}{more}",
                format_secs(first.as_secs_f64())
            );
        }
    };
    for entry in &timeline.entries {
        match entry {
            Entry::Event(ev) => {
                let text = format!(
                    "{:<7} {:<20} {:<12} {}",
                    ev.event_type.as_str(),
                    ev.reason,
                    ev.container.as_deref().unwrap_or("-"),
                    ev.message
                );
                match &mut pending {
                    Some((t, _, last, n)) if *t == text => {
                        *last = ev.at;
                        *n += 1;
                    }
                    _ => {
                        flush(&mut s, &mut pending);
                        pending = Some((text, ev.at, ev.at, 1));
                    }
                }
            }
            Entry::Endpoint { at, ready } => {
                flush(&mut s, &mut pending);
                let what = if *ready { "joined" } else { "left" };
                let _ = writeln!(
                    s,
                    "    {:>7}  (endpoints: the pod {what} the ready endpoints)",
                    format_secs(at.as_secs_f64())
                );
            }
            Entry::ServiceEndpoint {
                at,
                service,
                endpoint,
            } => {
                flush(&mut s, &mut pending);
                let what = match endpoint {
                    None => "removed".to_owned(),
                    Some(c) => format!(
                        "ready={} serving={} terminating={}",
                        c.ready, c.serving, c.terminating
                    ),
                };
                let _ = writeln!(
                    s,
                    "    {:>7}  (service {service}: endpoint {what})",
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
                flush(&mut s, &mut pending);
                let _ = writeln!(s, "    {:>7}  ({line})", format_secs(x.at.as_secs_f64()));
            }
            Entry::Status { .. } | Entry::HostListener { .. } | Entry::Request(_) => {}
        }
    }
    flush(&mut s, &mut pending);
    s
}

#[cfg(test)]
mod tests {
    use super::first_cause;

    #[test]
    fn the_first_cause_is_the_line_after_why() {
        let text = "FAIL x.toml: t (run.duration reached at 7.0s)\n  why:\n    app: liveness failed\n    more\n  expectations: 1 failed\n";
        assert_eq!(first_cause(text), "app: liveness failed");
        assert_eq!(first_cause("only a line"), "only a line");
        assert_eq!(first_cause(""), "");
    }
}
