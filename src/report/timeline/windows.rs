//! The expectations' windows: one band per expectation of the spec, from its own window
//! (`at`, `within`, `during`, `after_previous`) or, when it has none, the stretch it could
//! match in (an ordered item: after the previous one matched; the rest: the whole run),
//! coloured by its outcome in the checklist.

use std::time::Duration;

use crate::report::checklist::{self, Outcome};
use crate::runner::SpecReport;
use crate::spec::duration::TimeWindow;

/// Met, failed or not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Result {
    /// It held.
    Met,
    /// It did not.
    Failed,
    /// Matching stopped before it.
    NotChecked,
}

impl Result {
    /// The word in the hover text.
    pub fn word(self) -> &'static str {
        match self {
            Result::Met => "met",
            Result::Failed => "failed",
            Result::NotChecked => "not checked",
        }
    }
}

/// One expectation's band.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// `events[1]`, `final`, ...
    pub key: String,
    /// What it expects, readable.
    pub label: String,
    /// Start; None is the run's start.
    pub from: Option<Duration>,
    /// End; None is the run's end.
    pub to: Option<Duration>,
    /// The window is the spec's own (not implied by the item's kind).
    pub explicit: bool,
    /// The outcome.
    pub result: Result,
    /// When it matched, where known.
    pub matched_at: Option<Duration>,
    /// The checker's explanations when it failed.
    pub why: Vec<String>,
}

/// The bands of a report, in checklist order, then the log expectations.
pub fn bands(r: &SpecReport, end: Duration) -> Vec<Band> {
    let (items, _) = checklist::checklist(r);
    let mut out = Vec::new();
    let mut prev_event: Option<Duration> = None;
    let mut prev_exec: Option<Duration> = None;
    let mut prev_endpoint: Option<Duration> = None;
    for item in items {
        let (result, matched_at, why) = match item.outcome {
            Outcome::Met(t) => (Result::Met, t, Vec::new()),
            Outcome::Failed(why) => (Result::Failed, None, why),
            Outcome::NotChecked => (Result::NotChecked, None, Vec::new()),
        };
        let index = |prefix: &str| {
            item.key
                .strip_prefix(prefix)
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<usize>().ok())
        };
        let (window, explicit) = if let Some(i) = index("events[") {
            let e = r.expect.events.get(i);
            let w = ordered(
                e.and_then(|e| e.at),
                e.and_then(|e| e.after_previous),
                prev_event,
            );
            prev_event = matched_at.or(prev_event);
            w
        } else if let Some(i) = index("executions[") {
            let e = r.expect.executions.get(i);
            let w = ordered(
                e.and_then(|e| e.at),
                e.and_then(|e| e.after_previous),
                prev_exec,
            );
            prev_exec = matched_at.or(prev_exec);
            w
        } else if let Some(i) = index("endpoints[") {
            let e = r.expect.endpoints.get(i);
            let w = ordered(
                e.and_then(|e| e.at),
                e.and_then(|e| e.after_previous),
                prev_endpoint,
            );
            // The checker does not report endpoint match times; the band is still drawn.
            prev_endpoint = matched_at.or(prev_endpoint);
            w
        } else if let Some(i) = index("never_executions[") {
            given(r.expect.never_executions.get(i).and_then(|x| x.at))
        } else if let Some(i) = index("never[") {
            given(r.expect.never.get(i).and_then(|n| n.within))
        } else if let Some(i) = index("counts[") {
            given(r.expect.counts.get(i).and_then(|c| c.within))
        } else if let Some(i) = index("states[") {
            match r.expect.states.get(i) {
                Some(st) => match (st.at, st.during, st.within) {
                    (Some(at), _, _) => (point(at.0), true),
                    (None, Some(w), _) => (w, true),
                    // `within` counts from after_event when that is set: its origin is a
                    // match the picture does not recompute, so only a plain window is drawn.
                    (None, None, Some(w)) if st.after_event.is_none() => (w, true),
                    _ => (TimeWindow::default(), false),
                },
                None => (TimeWindow::default(), false),
            }
        } else if item.key == "final" {
            (point(end), false)
        } else {
            (TimeWindow::default(), false)
        };
        out.push(Band {
            key: item.key,
            label: item.label,
            from: window.from,
            to: window.to,
            explicit,
            result,
            matched_at,
            why,
        });
    }
    for (i, l) in r.expect.logs.iter().enumerate() {
        let key = format!("logs[{i}]");
        let why: Vec<String> = r
            .verdict
            .failures
            .iter()
            .filter(|f| f.starts_with(&format!("{key}:")))
            .cloned()
            .collect();
        let what = l
            .pattern()
            .map(|p| format!("{p}"))
            .unwrap_or_else(|| "a line".to_owned());
        let label = format!(
            "{}{} in the log of {}",
            if l.absent { "no line " } else { "" },
            what,
            l.container
        );
        out.push(Band {
            key,
            label,
            from: l.within.and_then(|w| w.from),
            to: l.within.and_then(|w| w.to),
            explicit: l.within.is_some(),
            result: if why.is_empty() {
                Result::Met
            } else {
                Result::Failed
            },
            matched_at: None,
            why,
        });
    }
    out
}

/// An ordered item's window: its `at`, else `after_previous` from the previous match, else
/// anywhere after the previous match.
fn ordered(
    at: Option<TimeWindow>,
    after_previous: Option<TimeWindow>,
    prev: Option<Duration>,
) -> (TimeWindow, bool) {
    if let Some(w) = at {
        return (w, true);
    }
    let origin = prev.unwrap_or_default();
    if let Some(w) = after_previous {
        return (
            TimeWindow {
                from: Some(origin.saturating_add(w.from.unwrap_or_default())),
                to: w.to.map(|t| origin.saturating_add(t)),
            },
            true,
        );
    }
    (
        TimeWindow {
            from: prev,
            to: None,
        },
        false,
    )
}

fn given(w: Option<TimeWindow>) -> (TimeWindow, bool) {
    match w {
        Some(w) => (w, true),
        None => (TimeWindow::default(), false),
    }
}

fn point(t: Duration) -> TimeWindow {
    TimeWindow {
        from: Some(t),
        to: Some(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::check::ItemResult;
    use crate::report::explain::tests::startup_404_report;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn report(failures: Vec<String>, matched: [Option<f64>; 3]) -> SpecReport {
        let mut r = startup_404_report();
        r.expect = toml::from_str(
            r#"
[[events]]
reason = "Started"
at = "0s..1s"

[[events]]
reason = "Killing"
after_previous = "2s..4s"

[[events]]
reason = "Started"

[[counts]]
reason = "Unhealthy"
within = "1s..3s"
at_least = 3
"#,
        )
        .expect("expectations");
        r.verdict.sequence = ["Started", "Killing", "Started"]
            .iter()
            .zip(matched)
            .map(|(l, t)| ItemResult {
                label: (*l).into(),
                matched_at: t.map(secs),
            })
            .collect();
        r.verdict.failures = failures;
        r
    }

    #[test]
    fn windows_come_from_the_spec_or_from_the_previous_match() {
        let r = report(Vec::new(), [Some(0.0), Some(3.0), Some(3.02)]);
        let b = bands(&r, secs(5.0));
        type Row<'a> = (&'a str, Option<Duration>, Option<Duration>, bool, Result);
        let view: Vec<Row<'_>> = b
            .iter()
            .map(|b| (b.key.as_str(), b.from, b.to, b.explicit, b.result))
            .collect();
        assert_eq!(
            view,
            [
                (
                    "events[0]",
                    Some(secs(0.0)),
                    Some(secs(1.0)),
                    true,
                    Result::Met
                ),
                (
                    "events[1]",
                    Some(secs(2.0)),
                    Some(secs(4.0)),
                    true,
                    Result::Met
                ),
                ("events[2]", Some(secs(3.0)), None, false, Result::Met),
                (
                    "counts[0]",
                    Some(secs(1.0)),
                    Some(secs(3.0)),
                    true,
                    Result::Met
                ),
            ]
        );
        assert_eq!(b[1].matched_at, Some(secs(3.0)));
    }

    #[test]
    fn a_failed_item_is_red_and_the_ones_after_it_not_checked() {
        let r = report(
            vec![
                "events[1]: expected Killing: not seen".into(),
                "final.phase: expected Succeeded".into(),
            ],
            [Some(0.0), None, None],
        );
        let mut r = r;
        r.expect.finals = vec![Default::default()];
        let b = bands(&r, secs(5.0));
        let result = |k: &str| b.iter().find(|b| b.key == k).map(|b| b.result);
        assert_eq!(result("events[0]"), Some(Result::Met));
        assert_eq!(result("events[1]"), Some(Result::Failed));
        assert_eq!(result("events[2]"), Some(Result::NotChecked));
        let fin = b.iter().find(|b| b.key == "final").expect("final band");
        assert_eq!(
            (fin.from, fin.to, fin.result),
            (Some(secs(5.0)), Some(secs(5.0)), Result::Failed)
        );
        assert_eq!(fin.why, ["final.phase: expected Succeeded"]);
        let failed = b.iter().find(|b| b.key == "events[1]").expect("events[1]");
        assert_eq!(failed.why, ["events[1]: expected Killing: not seen"]);
    }
}
