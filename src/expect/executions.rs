//! `[[expect.executions]]`: what the runtime did — process starts and exits, signals, hook
//! runs and probe attempts — as an ordered sequence, like `[[expect.events]]` (other
//! executions may come in between).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::events::{Execution, ExecutionKind, Timeline, parse_signal, signal_name};
use crate::spec::duration::{TimeWindow, format_secs};

use super::values::TextMatch;

/// The kinds an item can name.
pub const KINDS: [&str; 5] = ["start", "exit", "signal", "hook", "probe"];
/// Hook names.
pub const HOOKS: [&str; 2] = ["postStart", "preStop"];
/// Probe names.
pub const PROBES: [&str; 3] = ["liveness", "readiness", "startup"];
/// Results of hooks and probes.
pub const RESULTS: [&str; 7] = [
    "succeeded",
    "failed",
    "success",
    "warning",
    "failure",
    "unknown",
    "error",
];

/// One item of the ordered execution sequence.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutionExpectation {
    /// The pod this is about (`pod = "web-0"`): optional with one pod, required with several.
    pub pod: Option<String>,

    /// start, exit, signal, hook or probe.
    pub execution: String,
    /// The container.
    pub container: Option<String>,
    /// The container instance (its restart count).
    pub instance: Option<u32>,
    /// For `exit`: the exit code.
    #[serde(rename = "exitCode")]
    pub exit_code: Option<i32>,
    /// For `exit` (the signal that ended it) and `signal` (the one sent): `SIGTERM`,
    /// `TERM` or `15`.
    pub signal: Option<String>,
    /// For `hook`: postStart or preStop.
    pub hook: Option<String>,
    /// For `probe`: liveness, readiness or startup.
    pub probe: Option<String>,
    /// For `hook` (succeeded, failed) and `probe` (success, warning, failure, unknown,
    /// error).
    pub result: Option<String>,
    /// For `probe`: the prober's output.
    pub output: Option<TextMatch>,
    /// For `hook` and `probe`: how long it ran, in spec time.
    pub duration: Option<TimeWindow>,
    /// Window of spec time since pod creation.
    pub at: Option<TimeWindow>,
    /// Window of spec time since the previous matched item.
    pub after_previous: Option<TimeWindow>,
}

impl fmt::Display for ExecutionExpectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = vec![self.execution.clone()];
        let mut field = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{name}={v}"));
            }
        };
        field("container", self.container.clone());
        field("instance", self.instance.map(|i| i.to_string()));
        field("hook", self.hook.clone());
        field("probe", self.probe.clone());
        field("result", self.result.clone());
        field("exitCode", self.exit_code.map(|c| c.to_string()));
        field("signal", self.signal.clone());
        field("output", self.output.as_ref().map(|o| o.to_string()));
        field("duration", self.duration.map(|d| d.to_string()));
        field("at", self.at.map(|w| w.to_string()));
        if let Some(w) = self.after_previous {
            parts.push(format!("{w} after the previous"));
        }
        f.write_str(&parts.join(" "))
    }
}

impl ExecutionExpectation {
    /// Whether `x` is the execution this item describes (windows aside).
    pub fn matches(&self, x: &Execution) -> bool {
        let signal = self.signal.as_deref().and_then(parse_signal);
        let base = self.execution == x.what.name()
            && self.container.as_ref().is_none_or(|c| *c == x.container)
            && self.instance.is_none_or(|i| i == x.instance);
        base && match &x.what {
            ExecutionKind::Start => true,
            ExecutionKind::Exit {
                exit_code,
                signal: s,
                ..
            } => {
                self.exit_code.is_none_or(|c| c == *exit_code)
                    && (self.signal.is_none() || signal == *s)
            }
            ExecutionKind::Signal { signal: s } => self.signal.is_none() || signal == Some(*s),
            ExecutionKind::Hook {
                hook,
                result,
                duration,
                ..
            } => {
                self.hook.as_deref().is_none_or(|h| h == *hook)
                    && self.result.as_deref().is_none_or(|r| r == *result)
                    && self.duration.is_none_or(|w| w.contains(*duration))
            }
            ExecutionKind::Probe {
                probe,
                result,
                output,
                duration,
                ..
            } => {
                self.probe.as_deref().is_none_or(|p| p == *probe)
                    && self.result.as_deref().is_none_or(|r| r == *result)
                    && self.output.as_ref().is_none_or(|o| o.matches(output))
                    && self.duration.is_none_or(|w| w.contains(*duration))
            }
        }
    }
}

/// A short description of an execution, for failure messages.
pub fn describe(x: &Execution) -> String {
    let who = format!("{}#{}", x.container, x.instance);
    let what = match &x.what {
        ExecutionKind::Start => "started".to_owned(),
        ExecutionKind::Exit {
            exit_code, signal, ..
        } => match signal {
            Some(s) => format!("exited {exit_code} ({})", signal_name(*s)),
            None => format!("exited {exit_code}"),
        },
        ExecutionKind::Signal { signal } => format!("was sent {}", signal_name(*signal)),
        ExecutionKind::Hook { hook, result, .. } => format!("{hook} {result}"),
        ExecutionKind::Probe { probe, result, .. } => format!("{probe} probe {result}"),
    };
    format!("{who} {what} at {}", format_secs(x.at.as_secs_f64()))
}

/// The executions item `item` (of `never_executions`) forbids, inside its `at` window.
pub fn forbidden<'a>(
    item: &'a ExecutionExpectation,
    timeline: &'a Timeline,
) -> impl Iterator<Item = &'a Execution> {
    timeline
        .executions()
        .filter(move |x| item.matches(x) && item.at.is_none_or(|w| w.contains(x.at)))
}

/// `never_executions`: each item that happened, with how often and its first occurrence.
pub fn check_never(
    items: &[ExecutionExpectation],
    timeline: &Timeline,
    failures: &mut Vec<String>,
) {
    for (i, item) in items.iter().enumerate() {
        let hits: Vec<&Execution> = forbidden(item, timeline).collect();
        if let Some(first) = hits.first() {
            failures.push(format!(
                "never_executions[{i}]: {item} must not happen, but it did {} time(s), first: {}",
                hits.len(),
                describe(first)
            ));
        }
    }
}

/// Matches the ordered items greedily. Returns each item's match time; the first item
/// that did not match is explained in `failures`.
pub fn check(
    items: &[ExecutionExpectation],
    timeline: &Timeline,
    failures: Option<&mut Vec<String>>,
) -> Vec<Option<Duration>> {
    let all: Vec<&Execution> = timeline.executions().collect();
    let mut pos = 0;
    let mut prev_at = Duration::ZERO;
    let mut out = Vec::with_capacity(items.len());
    let mut failure = None;
    for (i, item) in items.iter().enumerate() {
        if failure.is_some() {
            out.push(None);
            continue;
        }
        let fits = |x: &Execution| {
            item.at.is_none_or(|w| w.contains(x.at))
                && item
                    .after_previous
                    .is_none_or(|w| w.contains(x.at.saturating_sub(prev_at)))
        };
        match all[pos..].iter().position(|x| item.matches(x) && fits(x)) {
            Some(off) => {
                let x = all[pos + off];
                prev_at = x.at;
                pos += off + 1;
                out.push(Some(x.at));
            }
            None => {
                let later: Vec<String> = all[pos..]
                    .iter()
                    .filter(|x| item.matches(x))
                    .map(|x| format_secs(x.at.as_secs_f64()))
                    .collect();
                let why = if !later.is_empty() {
                    format!(
                        "seen at {}, but outside its window (the previous item matched at {})",
                        later.join(", "),
                        format_secs(prev_at.as_secs_f64())
                    )
                } else {
                    // The nearest candidates: same kind and container, after the previous.
                    let near: Vec<String> = all[pos..]
                        .iter()
                        .filter(|x| {
                            x.what.name() == item.execution
                                && item.container.as_ref().is_none_or(|c| *c == x.container)
                        })
                        .take(3)
                        .map(|x| describe(x))
                        .collect();
                    if near.is_empty() {
                        "not seen".to_owned()
                    } else {
                        format!("not seen; the nearest were: {}", near.join("; "))
                    }
                };
                failure = Some(format!("executions[{i}]: expected {item}: {why}"));
                out.push(None);
            }
        }
    }
    if let (Some(f), Some(list)) = (failure, failures) {
        list.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Entry;

    fn x(at: f64, what: ExecutionKind) -> Entry {
        Entry::Execution(Execution {
            at: Duration::from_secs_f64(at),
            container: "app".into(),
            instance: 0,
            what,
        })
    }

    fn item(src: &str) -> ExecutionExpectation {
        toml::from_str(src).expect("item")
    }

    fn timeline() -> Timeline {
        Timeline {
            entries: vec![
                x(0.1, ExecutionKind::Start),
                x(
                    2.0,
                    ExecutionKind::Signal {
                        signal: libc::SIGTERM,
                    },
                ),
                x(
                    4.0,
                    ExecutionKind::Signal {
                        signal: libc::SIGKILL,
                    },
                ),
                x(
                    4.01,
                    ExecutionKind::Exit {
                        exit_code: 137,
                        signal: Some(libc::SIGKILL),
                        reason: "Error".into(),
                    },
                ),
            ],
        }
    }

    #[test]
    fn items_match_in_order_with_windows_and_signal_names() {
        let items = [
            item("execution = \"signal\"\nsignal = \"TERM\"\nat = \"1s..3s\""),
            item(
                "execution = \"exit\"\nexitCode = 137\nsignal = \"SIGKILL\"\nafter_previous = \"1.5s..2.5s\"",
            ),
        ];
        let mut failures = Vec::new();
        let got = check(&items, &timeline(), Some(&mut failures));
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(Option::is_some));
    }

    #[test]
    fn a_miss_names_what_was_seen_instead() {
        let items = [item("execution = \"exit\"\nexitCode = 0")];
        let mut failures = Vec::new();
        check(&items, &timeline(), Some(&mut failures));
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].contains("the nearest were: app#0 exited 137 (SIGKILL) at 4.0s"),
            "{failures:?}"
        );
        let early = [item(
            "execution = \"signal\"\nsignal = \"KILL\"\nat = \"0s..3s\"",
        )];
        let mut failures = Vec::new();
        check(&early, &timeline(), Some(&mut failures));
        assert!(
            failures[0].contains("seen at 4s, but outside"),
            "{failures:?}"
        );
    }
}
