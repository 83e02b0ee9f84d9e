//! Every expectation of a spec with its outcome: met (and when), failed (and why), or not
//! checked (an ordered item after the first one that failed), so a timeout says which
//! expectation the run still waited for.
//!
//! The checker reports only failures, each prefixed with the expectation it is about
//! (`events[1]: …`, `states[0] at 2s: …`, `final.phase: …`); this module lists the spec's
//! expectations and pairs each with the failures carrying its prefix.

use std::time::Duration;

use crate::expect::model::{ContainerFinal, FinalState};
use crate::expect::settle::is_about;
use crate::runner::{PodView, SpecReport};
use crate::spec::duration::format_secs;

/// What became of one expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It held; the text says when, where that is known.
    Met(Option<Duration>),
    /// It did not hold: the checker's explanations.
    Failed(Vec<String>),
    /// An ordered item after one that failed (matching stopped there), or an item a run
    /// stopped on a failure could not judge.
    NotChecked,
}

/// One expectation of the spec and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The spec path of the expectation: `events[1]`, `final`, `statuses`.
    pub key: String,
    /// What it expects, readable.
    pub label: String,
    /// Met, failed or not checked.
    pub outcome: Outcome,
}

/// The checklist of a report: every expectation in spec order, then any failure that
/// belongs to none (a timeout, an interruption). With several pods each pod's items come
/// in turn, their keys and failures starting `pod NAME: `.
pub fn checklist(r: &SpecReport) -> (Vec<Checked>, Vec<String>) {
    let views = r.views();
    if let [one] = views.as_slice() {
        return checklist_of(one, &r.verdict.failures);
    }
    let mut items = Vec::new();
    let mut unclaimed = Vec::new();
    for v in &views {
        let (its, un) = checklist_of(v, &v.verdict.failures);
        items.extend(its.into_iter().map(|mut c| {
            c.key = format!("{}{}", v.prefix, c.key);
            c.outcome = match c.outcome {
                Outcome::Failed(list) => Outcome::Failed(
                    list.into_iter()
                        .map(|f| format!("{}{f}", v.prefix))
                        .collect(),
                ),
                other => other,
            };
            c
        }));
        unclaimed.extend(un.into_iter().map(|f| format!("{}{f}", v.prefix)));
    }
    // What belongs to no pod: the run's own failures (a timeout, an interruption).
    unclaimed.extend(
        r.verdict
            .failures
            .iter()
            .filter(|f| !views.iter().any(|v| f.starts_with(&v.prefix)))
            .cloned(),
    );
    (items, unclaimed)
}

/// The checklist of one pod against `failures` (its verdict's, unprefixed).
fn checklist_of(v: &PodView<'_>, failures: &[String]) -> (Vec<Checked>, Vec<String>) {
    let exp = &*v.expect;
    let mut items = Vec::new();
    for (i, item) in v.verdict.sequence.iter().enumerate() {
        items.push(ordered(
            format!("events[{i}]"),
            &item.label,
            item.matched_at,
        ));
    }
    let exec_times = crate::expect::executions::check(&exp.executions, &v.outcome.timeline, None);
    for (i, (item, at)) in exp.executions.iter().zip(exec_times).enumerate() {
        items.push(ordered(format!("executions[{i}]"), &item.to_string(), at));
    }
    for (i, n) in exp.never.iter().enumerate() {
        let within = n.within.map(|w| format!(" within {w}")).unwrap_or_default();
        let label = format!("{} must not occur{within}", n.matcher());
        items.push(plain(format!("never[{i}]"), label));
    }
    for (i, x) in exp.never_executions.iter().enumerate() {
        let label = format!("{x} must not happen");
        items.push(plain(format!("never_executions[{i}]"), label));
    }
    for (i, c) in exp.counts.iter().enumerate() {
        let mut want = Vec::new();
        want.extend(c.exactly.map(|n| format!("exactly {n}")));
        want.extend(c.at_least.map(|n| format!("at least {n}")));
        want.extend(c.at_most.map(|n| format!("at most {n}")));
        let within = c.within.map(|w| format!(" within {w}")).unwrap_or_default();
        let label = format!("{}: {} time(s){within}", c.matcher(), want.join(" and "));
        items.push(plain(format!("counts[{i}]"), label));
    }
    if !exp.statuses.is_empty() {
        let label = format!(
            "the STATUS column passes through [{}]",
            exp.statuses.join(", ")
        );
        items.push(plain("statuses".into(), label));
    }
    for (i, e) in exp.endpoints.iter().enumerate() {
        let word = if e.ready { "joins" } else { "leaves" };
        let mut label = format!("the pod {word} the ready endpoints");
        label.extend(e.at.map(|w| format!(" at {w}")));
        label.extend(e.after_previous.map(|w| format!(" {w} after the previous")));
        // Only the first endpoint item that fails is reported; the ones after it are not
        // checked, which `ordered` with no time and the pass below take care of.
        items.push(Checked {
            key: format!("endpoints[{i}]"),
            label,
            outcome: Outcome::Met(None),
        });
    }
    for (i, st) in exp.states.iter().enumerate() {
        let mut when = match (st.at, st.during, st.within) {
            (Some(at), _, _) => format!("at {at}"),
            (None, Some(w), _) => format!("during {w}"),
            (None, None, Some(w)) => format!("within {w}"),
            (None, None, None) => String::new(),
        };
        if let Some(r) = &st.after_event {
            when.push_str(&format!(" after {}", r.matcher()));
        }
        let label = format!("{when}: {}", state_fields(&st.as_state()).join(", "));
        items.push(plain(format!("states[{i}]"), label));
    }
    if let Some(f) = exp.final_state() {
        items.push(plain("final".into(), state_fields(f).join(", ")));
    }
    for (i, t) in exp.traffic.iter().enumerate() {
        items.push(plain(format!("traffic[{i}]"), traffic_label(t)));
    }

    let mut unclaimed = Vec::new();
    for f in failures {
        match items.iter_mut().find(|c| is_about(&c.key, f)) {
            Some(c) => match &mut c.outcome {
                Outcome::Failed(list) => list.push(f.clone()),
                other => *other = Outcome::Failed(vec![f.clone()]),
            },
            None => unclaimed.push(f.clone()),
        }
    }
    // A run stopped on a failure did not get to judge what waits for its end.
    if let Some(stop) = &v.verdict.stopped_early {
        for c in items.iter_mut() {
            if stop.not_judged.contains(&c.key) && !matches!(c.outcome, Outcome::Failed(_)) {
                c.outcome = Outcome::NotChecked;
            }
        }
    }
    // Ordered lists stop at their first failure: what follows it was never looked at.
    for family in ["events[", "executions[", "endpoints["] {
        let mut after_failure = false;
        for c in items.iter_mut().filter(|c| c.key.starts_with(family)) {
            match c.outcome {
                Outcome::Failed(_) => after_failure = true,
                _ if after_failure => c.outcome = Outcome::NotChecked,
                _ => {}
            }
        }
    }
    (items, unclaimed)
}

/// `web: failed = 0, latency at most 200ms (sent within 5s..20s)`.
fn traffic_label(t: &crate::expect::traffic::TrafficExpectation) -> String {
    let mut want = Vec::new();
    want.extend(t.failed.map(|n| format!("failed = {n}")));
    want.extend(t.failed_at_most.map(|n| format!("failed at most {n}")));
    want.extend(t.failed_at_least.map(|n| format!("failed at least {n}")));
    want.extend(t.ok_at_least.map(|n| format!("ok at least {n}")));
    want.extend(
        t.requests_at_least
            .map(|n| format!("requests at least {n}")),
    );
    want.extend(t.requests_at_most.map(|n| format!("requests at most {n}")));
    want.extend(t.latency_at_most.map(|d| format!("latency at most {d}")));
    format!(
        "{}{}: {}{}",
        t.traffic.as_deref().unwrap_or("all traffic"),
        t.pod
            .as_ref()
            .map(|p| format!(" sent to {p}"))
            .unwrap_or_default(),
        want.join(", "),
        t.within
            .map(|w| format!(" (sent within {w})"))
            .unwrap_or_default()
    )
}

/// An ordered item: met at its match time; not matched and not failed means not checked.
fn ordered(key: String, label: &str, at: Option<Duration>) -> Checked {
    Checked {
        key,
        label: label.to_owned(),
        outcome: match at {
            Some(t) => Outcome::Met(Some(t)),
            None => Outcome::NotChecked,
        },
    }
}

/// An item that is met unless a failure names it.
fn plain(key: String, label: String) -> Checked {
    Checked {
        key,
        label,
        outcome: Outcome::Met(None),
    }
}

/// `phase=Running`, `conditions.Ready=true`, `containers.app.restartCount=1`, ...
fn state_fields(f: &FinalState) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(f.phase.as_ref().map(|p| format!("phase={p}")));
    out.extend(f.reason.as_ref().map(|r| format!("reason={r}")));
    out.extend(f.endpoint.map(|e| format!("endpoint={e}")));
    for (k, v) in &f.conditions {
        out.push(format!("conditions.{k}={v}"));
    }
    for (name, c) in &f.containers {
        out.extend(
            container_fields(c)
                .into_iter()
                .map(|s| format!("containers.{name}.{s}")),
        );
    }
    out
}

fn container_fields(c: &ContainerFinal) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(c.state.as_ref().map(|v| format!("state={v}")));
    out.extend(c.reason.as_ref().map(|v| format!("reason={v}")));
    out.extend(c.exit_code.map(|v| format!("exitCode={v}")));
    out.extend(c.message.as_ref().map(|v| format!("message {v}")));
    out.extend(c.restart_count.map(|v| format!("restartCount={v}")));
    out.extend(c.ready.map(|v| format!("ready={v}")));
    out.extend(c.started.map(|v| format!("started={v}")));
    out.extend(c.last_reason.as_ref().map(|v| format!("lastReason={v}")));
    out.extend(c.last_exit_code.map(|v| format!("lastExitCode={v}")));
    out.extend(c.last_message.as_ref().map(|v| format!("lastMessage {v}")));
    out
}

/// The checklist as indented text: failures first, then met, then not checked.
pub fn render(items: &[Checked], unclaimed: &[String]) -> String {
    let failed = items
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
        .count()
        + unclaimed.len();
    let met = items
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Met(_)))
        .count();
    let unchecked = items.len() + unclaimed.len() - failed - met;
    let mut s = format!("  expectations: {failed} failed, {met} met");
    if unchecked > 0 {
        s.push_str(&format!(", {unchecked} not checked"));
    }
    s.push('\n');
    for f in unclaimed {
        s.push_str(&format!("  - {f}\n"));
    }
    for c in items {
        if let Outcome::Failed(list) = &c.outcome {
            for f in list {
                s.push_str(&format!("  - {f}\n"));
            }
        }
    }
    for c in items {
        match c.outcome {
            Outcome::Met(at) => {
                let at = at
                    .map(|t| format!(" (at {})", format_secs(t.as_secs_f64())))
                    .unwrap_or_default();
                s.push_str(&format!("    met          {}: {}{at}\n", c.key, c.label));
            }
            Outcome::NotChecked => {
                s.push_str(&format!("    not checked  {}: {}\n", c.key, c.label));
            }
            Outcome::Failed(_) => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchecked_items_follow_the_first_failure() {
        let items = vec![
            ordered(
                "events[0]".into(),
                "Started",
                Some(Duration::from_millis(8)),
            ),
            Checked {
                key: "events[1]".into(),
                label: "Killing".into(),
                outcome: Outcome::Failed(vec!["events[1]: expected Killing: not seen".into()]),
            },
            ordered("events[2]".into(), "Started", None),
        ];
        let text = render(&items, &["the run timed out".into()]);
        let want = "  expectations: 2 failed, 1 met, 1 not checked
  - the run timed out
  - events[1]: expected Killing: not seen
    met          events[0]: Started (at 8ms)
    not checked  events[2]: Started
";
        assert_eq!(text, want);
    }

    #[test]
    fn state_fields_spell_the_spec_keys() {
        let mut f = FinalState {
            phase: Some("Running".into()),
            ..FinalState::default()
        };
        f.conditions.insert(
            "Ready".into(),
            crate::expect::values::ConditionMatch::status(true),
        );
        assert_eq!(
            state_fields(&f),
            vec!["phase=Running", "conditions.Ready=true"]
        );
    }
}
