//! Probe summaries computed from the timeline's probe executions: how many attempts, how
//! many succeeded, the failures grouped by message, and the streak the probe ended on.
//!
//! The describe block and the failure explanation both read these, so a PASS whose liveness
//! probe got 404s and killed the container shows it as plainly as a FAIL does.

use std::time::Duration;

use crate::events::{ExecutionKind, Timeline};
use crate::spec::duration::format_secs;

/// How long a failure message may be before it is cut in summaries.
const MESSAGE_MAX_CHARS: usize = 100;

/// One kind of non-success, with how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureGroup {
    /// `failure`, `unknown` or `error`.
    pub result: &'static str,
    /// The prober's message, first line, shortened; `no output` when it was empty.
    pub message: String,
    /// Attempts with this result and message.
    pub count: u32,
}

/// The run of equal outcomes a probe ended on, as the kubelet's worker counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streak {
    /// Whether the run is of successes (success or warning) or of failures.
    pub success: bool,
    /// How many attempts in a row.
    pub count: u32,
    /// Spec time of the first attempt of the run.
    pub since: Duration,
}

/// What one probe of one container did over the whole run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSummary {
    /// Container name.
    pub container: String,
    /// `startup`, `liveness` or `readiness`.
    pub probe: &'static str,
    /// `exec`, `httpGet`, `tcpSocket` or `grpc`.
    pub handler: &'static str,
    /// Every attempt, of every instance.
    pub attempts: u32,
    /// Attempts that counted as success (`success` or `warning`).
    pub successes: u32,
    /// Non-successes grouped by result and message, in first-seen order.
    pub failures: Vec<FailureGroup>,
    /// The streak of the last instance that ran this probe (errored attempts, which the
    /// kubelet throws away, neither extend nor break it).
    pub streak: Option<Streak>,
    /// The container instance of the last attempt.
    pub last_instance: u32,
    /// How often the kubelet killed the container because this probe failed.
    pub kills: u32,
}

impl ProbeSummary {
    /// The attempts that were not successes.
    pub fn failed(&self) -> u32 {
        self.attempts - self.successes
    }

    /// One line: `7 attempts: 5 succeeded, 2 failed; ended on 2 failures in a row`.
    pub fn counts_line(&self) -> String {
        let mut s = format!(
            "{} attempt{}: {} succeeded, {} failed",
            self.attempts,
            plural(self.attempts),
            self.successes,
            self.failed()
        );
        if self.kills > 0 {
            s.push_str(&format!(
                "; killed the container {} time{}",
                self.kills,
                plural(self.kills)
            ));
        }
        if let Some(st) = self.streak {
            let what = match (st.success, st.count) {
                (true, 1) => "success",
                (true, _) => "successes",
                (false, 1) => "failure",
                (false, _) => "failures",
            };
            s.push_str(&format!(
                "; ended on {} {what} in a row (since {})",
                st.count,
                format_secs(st.since.as_secs_f64())
            ));
        }
        s
    }
}

/// `s` unless `n` is 1.
pub(crate) fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The API field name of a probe kind: `livenessProbe`.
pub fn field_name(probe: &str) -> String {
    format!("{probe}Probe")
}

/// A prober message fit for one summary line.
pub(crate) fn short_message(output: &str) -> String {
    let line = output.trim().lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return "no output".to_owned();
    }
    if line.chars().count() <= MESSAGE_MAX_CHARS {
        return line.to_owned();
    }
    let cut: String = line.chars().take(MESSAGE_MAX_CHARS).collect();
    format!("{cut}…")
}

/// Summaries of every probe that ran, by container in order of first attempt, then in the
/// kubelet's gating order (startup, liveness, readiness).
pub fn summarize(timeline: &Timeline) -> Vec<ProbeSummary> {
    let mut out: Vec<ProbeSummary> = Vec::new();
    for x in timeline.executions() {
        let ExecutionKind::Probe {
            probe,
            handler,
            result,
            output,
            ..
        } = &x.what
        else {
            continue;
        };
        let idx = match out
            .iter()
            .position(|p| p.container == x.container && p.probe == *probe)
        {
            Some(i) => i,
            None => {
                out.push(ProbeSummary {
                    container: x.container.clone(),
                    probe,
                    handler,
                    attempts: 0,
                    successes: 0,
                    failures: Vec::new(),
                    streak: None,
                    last_instance: x.instance,
                    kills: 0,
                });
                out.len() - 1
            }
        };
        let p = &mut out[idx];
        if p.last_instance != x.instance {
            // A new instance starts with fresh results (the kubelet makes a new worker).
            p.streak = None;
            p.last_instance = x.instance;
        }
        p.attempts += 1;
        let success = matches!(*result, "success" | "warning");
        if success {
            p.successes += 1;
        } else {
            let message = short_message(output);
            match p
                .failures
                .iter_mut()
                .find(|g| g.result == *result && g.message == message)
            {
                Some(g) => g.count += 1,
                None => p.failures.push(FailureGroup {
                    result,
                    message,
                    count: 1,
                }),
            }
        }
        if !matches!(*result, "unknown" | "error") {
            p.streak = match p.streak {
                Some(s) if s.success == success => Some(Streak {
                    count: s.count + 1,
                    ..s
                }),
                _ => Some(Streak {
                    success,
                    count: 1,
                    since: x.at,
                }),
            };
        }
    }
    for p in &mut out {
        let needle = format!("failed {} probe", p.probe);
        let kills = timeline.events().filter(|e| {
            e.reason == "Killing"
                && e.container.as_deref() == Some(p.container.as_str())
                && e.message.contains(&needle)
        });
        p.kills = u32::try_from(kills.count()).unwrap_or(u32::MAX);
    }
    let order = |p: &str| match p {
        "startup" => 0,
        "liveness" => 1,
        _ => 2,
    };
    // Stable: containers keep their first-attempt order.
    let containers: Vec<String> = out.iter().fold(Vec::new(), |mut v, p| {
        if !v.contains(&p.container) {
            v.push(p.container.clone());
        }
        v
    });
    out.sort_by_key(|p| {
        (
            containers.iter().position(|c| *c == p.container),
            order(p.probe),
        )
    });
    out
}

/// The failures of probe `probe` of `container`'s instance `instance` that came right
/// before `until` with no success in between: the streak that made the kubelet act.
pub fn failing_streak_before(
    timeline: &Timeline,
    container: &str,
    instance: u32,
    probe: &str,
    until: Duration,
) -> Vec<(String, Duration)> {
    let mut streak = Vec::new();
    for x in timeline.executions() {
        if x.at > until || x.container != container || x.instance != instance {
            continue;
        }
        if let ExecutionKind::Probe {
            probe: p,
            result,
            output,
            ..
        } = &x.what
            && *p == probe
        {
            match *result {
                "success" | "warning" => streak.clear(),
                "failure" => streak.push((short_message(output), x.at)),
                _ => {}
            }
        }
    }
    streak
}

/// The probe summary lines of one container. They hold no tab, so they end the
/// container's column block and leave kubectl's own alignment as it is.
pub(crate) fn describe_block(text: &mut String, container: &str, probes: &[ProbeSummary]) {
    let mine: Vec<&ProbeSummary> = probes.iter().filter(|p| p.container == container).collect();
    if mine.is_empty() {
        return;
    }
    text.push_str("    Probes:\n");
    for p in mine {
        text.push_str(&format!(
            "      {} ({}): {}\n",
            p.probe,
            p.handler,
            p.counts_line()
        ));
        for g in &p.failures {
            text.push_str(&format!(
                "        {}x {}: {}\n",
                g.count, g.result, g.message
            ));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::events::{Entry, Execution};

    /// A probe attempt of `app` for the tests of this module and of `explain`.
    pub(crate) fn attempt(at: f64, instance: u32, probe: &'static str, result: &str) -> Entry {
        let result: &'static str = match result {
            "success" => "success",
            "failure" => "failure",
            _ => "unknown",
        };
        let output = match result {
            "success" => "ok 200\n",
            "failure" => "HTTP probe failed with statuscode: 404",
            _ => "dial tcp: lookup nowhere: no such host",
        };
        Entry::Execution(Execution {
            at: Duration::from_secs_f64(at),
            container: "app".into(),
            instance,
            what: ExecutionKind::Probe {
                probe,
                handler: "httpGet",
                result,
                output: output.into(),
                duration: Duration::from_millis(2),
            },
        })
    }

    #[test]
    fn counts_groups_and_streaks() {
        let timeline = Timeline {
            entries: vec![
                attempt(1.0, 0, "liveness", "success"),
                attempt(1.0, 0, "readiness", "failure"),
                attempt(2.0, 0, "liveness", "failure"),
                attempt(3.0, 0, "liveness", "unknown"),
                attempt(4.0, 0, "liveness", "failure"),
                attempt(6.0, 1, "liveness", "success"),
                attempt(7.0, 1, "liveness", "success"),
            ],
        };
        let s = summarize(&timeline);
        assert_eq!(s.len(), 2);
        let live = &s[0];
        assert_eq!(
            (live.probe, live.attempts, live.successes),
            ("liveness", 6, 3)
        );
        assert_eq!(
            live.failures,
            vec![
                FailureGroup {
                    result: "failure",
                    message: "HTTP probe failed with statuscode: 404".into(),
                    count: 2
                },
                FailureGroup {
                    result: "unknown",
                    message: "dial tcp: lookup nowhere: no such host".into(),
                    count: 1
                },
            ]
        );
        // The new instance's streak, not the old one's failures.
        assert_eq!(
            live.counts_line(),
            "6 attempts: 3 succeeded, 3 failed; ended on 2 successes in a row (since 6s)"
        );
        assert_eq!(s[1].probe, "readiness");
    }

    #[test]
    fn the_streak_before_a_kill_skips_errors_and_resets_on_success() {
        let timeline = Timeline {
            entries: vec![
                attempt(1.0, 0, "liveness", "failure"),
                attempt(2.0, 0, "liveness", "success"),
                attempt(3.0, 0, "liveness", "failure"),
                attempt(4.0, 0, "liveness", "unknown"),
                attempt(5.0, 0, "liveness", "failure"),
                attempt(6.0, 0, "liveness", "failure"),
            ],
        };
        let streak = failing_streak_before(&timeline, "app", 0, "liveness", Duration::from_secs(5));
        assert_eq!(streak.len(), 2);
        assert_eq!(streak[1].1, Duration::from_secs(5));
    }

    #[test]
    fn the_describe_block_shows_kills_and_failures_at_a_glance() {
        let mut timeline = Timeline {
            entries: vec![
                attempt(1.0, 0, "liveness", "failure"),
                attempt(2.0, 0, "liveness", "failure"),
            ],
        };
        timeline.entries.push(Entry::Event(crate::events::Event {
            at: Duration::from_secs(2),
            event_type: crate::events::EventType::Normal,
            reason: "Killing".into(),
            message: "Container app failed liveness probe, will be restarted".into(),
            container: Some("app".into()),
            field_path: None,
            source: "kubelet",
        }));
        timeline
            .entries
            .push(attempt(4.0, 1, "liveness", "success"));
        let mut text = String::new();
        describe_block(&mut text, "app", &summarize(&timeline));
        let want = "    Probes:
      liveness (httpGet): 3 attempts: 1 succeeded, 2 failed; killed the container 1 time; ended on 1 success in a row (since 4s)
        2x failure: HTTP probe failed with statuscode: 404
";
        assert_eq!(text, want);
        let mut none = String::new();
        describe_block(&mut none, "other", &summarize(&timeline));
        assert!(none.is_empty());
    }

    #[test]
    fn long_and_empty_messages_are_shortened() {
        assert_eq!(short_message("  \n"), "no output");
        assert_eq!(short_message("a\nb"), "a");
        assert!(short_message(&"x".repeat(300)).ends_with('…'));
    }
}
