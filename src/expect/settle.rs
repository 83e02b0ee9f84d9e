//! When a run may stop before its end. Either every expectation has held and nothing later
//! can undo it (the run passes at once), or one has failed and nothing later can mend it
//! (the run fails soon after, as a test runner's assertion does, instead of running on to
//! `run.duration` or `run.timeout`; a short tail shows what came next). A run stopped on
//! a failure cannot judge what waits for the end of the run (`final`, open windows, counts
//! still below their bound): those items are reported as not judged rather than as failed
//! or met.

use std::time::Duration;

use crate::events::{Event, Timeline};

use super::check::{Verdict, match_sequence};
use super::model::Expectations;
use super::state::{
    check_states, check_states_where, window_closed, window_started, windows_closed,
};

/// Where a run stands against its expectations at a pod time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Something can still change the verdict.
    Open,
    /// Everything held, for good.
    Passed,
    /// An expectation failed for good; the key names it (`never[0]`, `events[2]`).
    Failed(String),
}

impl Decision {
    /// Whether the run may stop.
    pub fn is_final(&self) -> bool {
        !matches!(self, Decision::Open)
    }
}

/// How long a run goes on after an expectation failed for good at pod time `at`: as long
/// again as it had run, at least 1 s and at most 10 s of pod time. The verdict is known,
/// but the report should show what came next: the state an assertion made too early
/// missed, the exit after an event that must not happen.
pub fn failure_tail(at: Duration) -> Duration {
    at.clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// One pod's stop condition over a run: asks [`decide`] until the expectations are decided
/// and remembers when they were.
#[derive(Debug)]
pub struct Settle<'a> {
    exp: &'a Expectations,
    decision: Decision,
    failed_at: Option<Duration>,
}

impl<'a> Settle<'a> {
    /// The stop condition of expectations `exp`.
    pub fn new(exp: &'a Expectations) -> Self {
        Settle {
            exp,
            decision: Decision::Open,
            failed_at: None,
        }
    }

    /// The pod time at which the run may stop, once known: now when everything passed
    /// for good, the end of the [`failure_tail`] when something failed for good.
    pub fn stop_at(&mut self, timeline: &Timeline, now: Duration) -> Option<Duration> {
        if !self.decision.is_final() {
            self.decision = decide(self.exp, timeline, now);
            if matches!(self.decision, Decision::Failed(_)) {
                self.failed_at = Some(now);
            }
        }
        match self.decision {
            Decision::Open => None,
            Decision::Passed => Some(now),
            Decision::Failed(_) => self.failed_at.map(|at| at.saturating_add(failure_tail(at))),
        }
    }

    /// Where the expectations stood when last asked.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// The expectation that failed for good and the pod time it did, if one did.
    pub fn first_failure(&self) -> Option<(String, Duration)> {
        match (&self.decision, self.failed_at) {
            (Decision::Failed(key), Some(at)) => Some((key.clone(), at)),
            _ => None,
        }
    }
}

/// Why a run stopped before its end and what it could not judge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EarlyStop {
    /// The expectation that had failed for good (empty for a pod stopped because another
    /// pod's expectation failed).
    pub failed: String,
    /// The pod time it failed for good (the run stopped a tail later).
    pub failed_at: Option<Duration>,
    /// Expectations the shortened run could not judge, in spec order.
    pub not_judged: Vec<String>,
}

/// Whether `failure` (a checker message) is about expectation `key`: `states[1]` does not
/// claim a failure of `states[10]`.
pub fn is_about(key: &str, failure: &str) -> bool {
    failure
        .strip_prefix(key)
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| matches!(c, ':' | ' ' | '.'))
}

/// Where the expectations stand given the timeline up to pod time `now`.
pub fn decide(exp: &Expectations, timeline: &Timeline, now: Duration) -> Decision {
    // Only these can be decided before the end of the run; without them (no expectations,
    // or only a final state, logs, statuses, endpoints) it is asked after every entry, so
    // it must cost nothing.
    if exp.events.is_empty()
        && exp.executions.is_empty()
        && exp.states.is_empty()
        && exp.never.is_empty()
        && exp.never_executions.is_empty()
        && exp.counts.is_empty()
    {
        return Decision::Open;
    }
    let events: Vec<&Event> = timeline.events().collect();
    let now = now.max(timeline.latest());
    if passed_for_good(exp, timeline, &events, now) {
        return Decision::Passed;
    }
    match failed_for_good(exp, timeline, &events, now) {
        Some(key) => Decision::Failed(key),
        None => Decision::Open,
    }
}

/// Every ordered item matched, every windowed state is settled and nothing else waits for
/// the end of the run.
fn passed_for_good(
    exp: &Expectations,
    timeline: &Timeline,
    events: &[&Event],
    now: Duration,
) -> bool {
    // A `within` state is eventual (it holds once, whatever comes later), as Chainsaw's
    // assert: the run may end as soon as it has held. An `at` or `during` state is final
    // once its window has closed.
    if (exp.events.is_empty() && exp.executions.is_empty() && exp.states.is_empty())
        || !exp.never.is_empty()
        || !exp.never_executions.is_empty()
        || !exp.counts.is_empty()
        || !exp.finals.is_empty()
        || !exp.statuses.is_empty()
        || !exp.pod_statuses.is_empty()
        || !exp.endpoints.is_empty()
        || !exp.logs.is_empty()
    {
        return false;
    }
    // A `within` state has held only at an instant the timeline has reached.
    if !windows_closed(exp, events, now)
        || !exp
            .states
            .iter()
            .all(|st| st.within.is_none() || window_started(st, events, now))
    {
        return false;
    }
    let mut unmet = Vec::new();
    check_states(exp, timeline, events, &mut unmet);
    unmet.is_empty()
        && match_sequence(exp, events, None).1.is_none()
        && super::executions::check(&exp.executions, timeline, None)
            .iter()
            .all(Option::is_some)
}

/// The first expectation (in spec order) that failed and cannot hold whatever is recorded
/// after `now`: a `never` event or execution seen, a count above its bound or short of it
/// with its window closed, an ordered event or execution whose window closed without it, an
/// `at` or `during` state broken at an instant already recorded, a `within` state whose
/// window closed without it holding.
fn failed_for_good(
    exp: &Expectations,
    timeline: &Timeline,
    events: &[&Event],
    now: Duration,
) -> Option<String> {
    if let Some(miss) = match_sequence(exp, events, None).1
        && sequence_miss_is_final(exp, miss, now)
    {
        return Some(format!("events[{}]", miss.index));
    }
    if let Some((i, true)) = executions_miss(exp, timeline, now) {
        return Some(format!("executions[{i}]"));
    }
    for (i, n) in exp.never.iter().enumerate() {
        let m = n.matcher();
        if events
            .iter()
            .any(|ev| m.matches(ev) && n.within.is_none_or(|w| w.contains(ev.at)))
        {
            return Some(format!("never[{i}]"));
        }
    }
    for (i, x) in exp.never_executions.iter().enumerate() {
        if super::executions::forbidden(x, timeline).next().is_some() {
            return Some(format!("never_executions[{i}]"));
        }
    }
    for (i, c) in exp.counts.iter().enumerate() {
        let seen = count_seen(c, events);
        let above = c.exactly.is_some_and(|e| seen > e) || c.at_most.is_some_and(|e| seen > e);
        let closed = c.within.and_then(|w| w.to).is_some_and(|to| to < now);
        let short = c.exactly.is_some_and(|e| seen < e) || c.at_least.is_some_and(|e| seen < e);
        if above || (closed && short) {
            return Some(format!("counts[{i}]"));
        }
    }
    // Only the states that can be final now are checked (the run asks after every entry).
    let settles = |i: usize| state_settles(&exp.states[i], events, now);
    let mut failures = Vec::new();
    check_states_where(exp, timeline, events, &mut failures, &settles);
    (0..exp.states.len()).find_map(|i| {
        let key = format!("states[{i}]");
        (settles(i) && failures.iter().any(|f| is_about(&key, f))).then_some(key)
    })
}

/// Whether a failure of state item `st` is final at `now`: an `at` or `during` state is
/// checked at instants the timeline has reached once its window has begun (a later status
/// cannot undo a mismatch already recorded); a `within` state only once its window closed.
fn state_settles(st: &super::model::StateExpectation, events: &[&Event], now: Duration) -> bool {
    if st.within.is_some() {
        window_closed(st, events, now)
    } else {
        window_started(st, events, now)
    }
}

/// The first ordered execution item that did not match, and whether its window has closed
/// (`at`, or `after_previous` from the previous item's match).
fn executions_miss(
    exp: &Expectations,
    timeline: &Timeline,
    now: Duration,
) -> Option<(usize, bool)> {
    let matched = super::executions::check(&exp.executions, timeline, None);
    let i = matched.iter().position(Option::is_none)?;
    let item = &exp.executions[i];
    let prev = i
        .checked_sub(1)
        .and_then(|p| matched[p])
        .unwrap_or_default();
    let at_closed = item.at.and_then(|w| w.to).is_some_and(|to| to < now);
    let after_closed = item
        .after_previous
        .and_then(|w| w.to)
        .is_some_and(|to| prev.saturating_add(to) < now);
    Some((i, at_closed || after_closed))
}

/// The key of every expectation of `exp`, in spec order.
fn every_key(exp: &Expectations) -> Vec<String> {
    let list = |name: &'static str, n: usize| (0..n).map(move |i| format!("{name}[{i}]"));
    let mut keys: Vec<String> = list("events", exp.events.len())
        .chain(list("executions", exp.executions.len()))
        .chain(list("never", exp.never.len()))
        .chain(list("never_executions", exp.never_executions.len()))
        .chain(list("counts", exp.counts.len()))
        .chain(list("endpoints", exp.endpoints.len()))
        .chain(list("states", exp.states.len()))
        .chain(list("logs", exp.logs.len()))
        .collect();
    if !exp.statuses.is_empty() {
        keys.push("statuses".into());
    }
    if !exp.finals.is_empty() {
        keys.push("final".into());
    }
    keys
}

/// How many of count item `c`'s events are in the timeline (inside its window).
fn count_seen(c: &super::model::CountExpectation, events: &[&Event]) -> u32 {
    let m = c.matcher();
    let seen = events
        .iter()
        .filter(|ev| m.matches(ev) && c.within.is_none_or(|w| w.contains(ev.at)))
        .count();
    u32::try_from(seen).unwrap_or(u32::MAX)
}

/// Whether the first unmatched ordered item can no longer match: its window has closed, or
/// in strict order another event already came right after the previous match. (The items
/// before it keep their matches, each the earliest that fits.)
fn sequence_miss_is_final(exp: &Expectations, miss: super::check::Miss, now: Duration) -> bool {
    let Some(item) = exp.events.get(miss.index) else {
        return false;
    };
    let at_closed = item.at.and_then(|w| w.to).is_some_and(|to| to < now);
    let after_closed = item
        .after_previous
        .and_then(|w| w.to)
        .is_some_and(|to| miss.prev_at.saturating_add(to) < now);
    let strict_broken = exp.strict_order && miss.index > 0 && miss.next_seen;
    at_closed || after_closed || strict_broken
}

/// Pod times at which to ask again whether the run is decided, since a quiet pod records
/// nothing then: just after each window measured from pod creation closes (an ordered
/// event's, a count's, a state's). A window measured from an event closes after a later
/// entry, which asks anyway.
pub fn recheck_times(exp: &Expectations) -> Vec<Duration> {
    let states = exp
        .states
        .iter()
        .filter(|st| st.after_event.is_none())
        .filter_map(|st| match (st.at, st.during, st.within) {
            (Some(at), None, None) => Some(at.0),
            (None, Some(w), None) | (None, None, Some(w)) => w.to,
            _ => None,
        });
    let events = exp.events.iter().filter_map(|e| e.at.and_then(|w| w.to));
    let counts = exp
        .counts
        .iter()
        .filter_map(|c| c.within.and_then(|w| w.to));
    states
        .chain(events)
        .chain(counts)
        .map(|end| end.saturating_add(Duration::from_millis(1)))
        .collect()
}

/// After a run stopped at pod time `at` because `failed` had failed for good (at its time;
/// None for a pod stopped by another pod's failure): takes out of
/// `verdict` the failures of expectations the shortened run could not judge, and records
/// them as not judged.
pub fn judge_early_stop(
    exp: &Expectations,
    timeline: &Timeline,
    at: Duration,
    failed: Option<(String, Duration)>,
    verdict: &mut Verdict,
) {
    let (failed, failed_at) = match failed {
        Some((key, t)) => (key, Some(t)),
        None => (String::new(), None),
    };
    let events: Vec<&Event> = timeline.events().collect();
    let at = at.max(timeline.latest());
    let mut open = Vec::new();
    if let Some(miss) = match_sequence(exp, &events, None).1
        && !sequence_miss_is_final(exp, miss, at)
    {
        open.push(format!("events[{}]", miss.index));
    }
    if let Some((i, false)) = executions_miss(exp, timeline, at) {
        open.push(format!("executions[{i}]"));
    }
    for (i, n) in exp.never.iter().enumerate() {
        let key = format!("never[{i}]");
        let closed = n.within.and_then(|w| w.to).is_some_and(|to| to < at);
        if !closed && !verdict.failures.iter().any(|f| is_about(&key, f)) {
            open.push(key);
        }
    }
    for (i, x) in exp.never_executions.iter().enumerate() {
        let closed = x.at.and_then(|w| w.to).is_some_and(|to| to < at);
        if !closed && super::executions::forbidden(x, timeline).next().is_none() {
            open.push(format!("never_executions[{i}]"));
        }
    }
    for (i, c) in exp.counts.iter().enumerate() {
        let only = Expectations {
            counts: vec![c.clone()],
            ..Expectations::default()
        };
        let closed = c.within.and_then(|w| w.to).is_some_and(|to| to < at);
        // Only a lower bound, reached: more events cannot undo it.
        let reached = c.exactly.is_none()
            && c.at_most.is_none()
            && c.at_least.is_some_and(|e| count_seen(c, &events) >= e);
        if !closed && !reached && failed_for_good(&only, timeline, &events, at).is_none() {
            open.push(format!("counts[{i}]"));
        }
    }
    if !exp.statuses.is_empty() && verdict.failures.iter().any(|f| is_about("statuses", f)) {
        open.push("statuses".into());
    }
    for i in 0..exp.endpoints.len() {
        let key = format!("endpoints[{i}]");
        if verdict.failures.iter().any(|f| is_about(&key, f)) {
            open.push(key);
        }
    }
    for (i, st) in exp.states.iter().enumerate() {
        let key = format!("states[{i}]");
        let failed = verdict.failures.iter().any(|f| is_about(&key, f));
        // Final: a closed window; a `within` state that held at a recorded instant; an
        // `at` or `during` state broken at one.
        let held_once = st.within.is_some() && !failed && window_started(st, &events, at);
        let broken = st.within.is_none() && failed && window_started(st, &events, at);
        if !window_closed(st, &events, at) && !held_once && !broken {
            open.push(key);
        }
    }
    if !exp.finals.is_empty() {
        open.push("final".into());
    }
    for (i, l) in exp.logs.iter().enumerate() {
        // A line that must appear may still come, and one that must not may still be
        // written: only a line seen is final, for or against.
        let key = format!("logs[{i}]");
        let failed = verdict.failures.iter().any(|f| is_about(&key, f));
        if l.absent != failed {
            open.push(key);
        }
    }
    if timeline.entries.is_empty() {
        // A pod the stop came before (its start_at was still to come): nothing about it
        // was seen, so nothing about it is judged.
        open = every_key(exp);
    }
    open.retain(|k| *k != failed);
    verdict
        .failures
        .retain(|f| !open.iter().any(|k| is_about(k, f)));
    verdict.stopped_early = Some(EarlyStop {
        failed,
        failed_at,
        not_judged: open,
    });
}

#[cfg(test)]
#[path = "settle_tests.rs"]
mod tests;
