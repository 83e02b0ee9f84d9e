//! State expectations: `[expect.final]` and `[[expect.states]]` against the status snapshots.

use std::time::Duration;

use crate::events::{ContainerState, ContainerStatus, Event, PodStatus, Timeline};
use crate::spec::duration::{TimeWindow, format_secs};

use super::model::{ContainerFinal, EventRef, Expectations, FinalState, StateExpectation};

/// When condition `kind` of the status in effect at `t` last changed status: the first
/// snapshot of the run of snapshots up to `t` in which it has that status (the status
/// manager keeps lastTransitionTime while the status stays the same, and sets it anew when
/// the condition appears or its status changes).
pub(super) fn condition_since(timeline: &Timeline, t: Duration, kind: &str) -> Option<Duration> {
    let mut since = None;
    let mut last: Option<bool> = None;
    for (at, st) in timeline.statuses().take_while(|(at, _)| *at <= t) {
        let now = st
            .conditions
            .iter()
            .find(|c| c.kind == kind)
            .map(|c| c.status);
        if now.is_some() && now != last {
            since = Some(at);
        }
        if now.is_none() {
            since = None;
        }
        last = now;
    }
    since
}

/// Whether the pod was a ready endpoint at `t`.
pub(super) fn endpoint_at(timeline: &Timeline, t: Duration) -> bool {
    timeline
        .endpoint_changes()
        .take_while(|(at, _)| *at <= t)
        .last()
        .is_some_and(|(_, r)| r)
}

/// The time of the event a state item counts from, or why there is none.
fn event_origin(r: &EventRef, events: &[&Event]) -> Result<Duration, String> {
    let m = r.matcher();
    let nth = r.nth.unwrap_or(1).max(1);
    let hits: Vec<Duration> = events
        .iter()
        .filter(|e| m.matches(e))
        .map(|e| e.at)
        .collect();
    let idx = usize::try_from(nth - 1).unwrap_or(usize::MAX);
    hits.get(idx).copied().ok_or_else(|| {
        if hits.is_empty() {
            format!("after_event: {m} was not seen, so the window has no origin")
        } else {
            let at: Vec<String> = hits.iter().map(|t| format_secs(t.as_secs_f64())).collect();
            format!(
                "after_event: {m} was seen {} time(s) (at {}), but nth = {nth} was asked for",
                hits.len(),
                at.join(", ")
            )
        }
    })
}

/// How a state item's window is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One instant.
    At,
    /// Every status in effect during the window.
    During,
    /// Some status in effect during the window.
    Within,
}

/// Whether every `at` and `during` state's window has closed by `now` (the latest time the
/// timeline holds): no status recorded later can fall inside one, so their verdicts are
/// final. A window with no end, or measured from an event not seen yet, stays open.
pub(super) fn windows_closed(exp: &Expectations, events: &[&Event], now: Duration) -> bool {
    exp.states
        .iter()
        .all(|st| st.within.is_some() || window_closed(st, events, now))
}

/// Whether state item `st`'s window (of any mode) has closed by `now`.
pub(super) fn window_closed(st: &StateExpectation, events: &[&Event], now: Duration) -> bool {
    let end = match (st.at, st.during, st.within) {
        (Some(at), None, None) => Some(at.0),
        (None, Some(w), None) | (None, None, Some(w)) => w.to,
        _ => None,
    };
    let origin = match &st.after_event {
        None => Some(Duration::ZERO),
        Some(r) => event_origin(r, events).ok(),
    };
    matches!((origin, end), (Some(o), Some(e)) if o.saturating_add(e) < now)
}

/// The status snapshots and endpoint changes of a timeline, each in time order, for finding
/// what was in effect at an instant by binary search (a window is checked at every change
/// inside it, and the run asks after every entry).
struct History<'a> {
    statuses: Vec<(Duration, &'a PodStatus)>,
    endpoints: Vec<(Duration, bool)>,
}

impl<'a> History<'a> {
    fn of(timeline: &'a Timeline) -> Self {
        History {
            statuses: timeline.statuses().collect(),
            endpoints: timeline.endpoint_changes().collect(),
        }
    }

    /// The status in effect at `t` (the last one written at or before it).
    fn status_at(&self, t: Duration) -> Option<&'a PodStatus> {
        let n = self.statuses.partition_point(|(at, _)| *at <= t);
        n.checked_sub(1).map(|i| self.statuses[i].1)
    }

    /// Whether the pod was a ready endpoint at `t`.
    fn endpoint_at(&self, t: Duration) -> bool {
        let n = self.endpoints.partition_point(|(at, _)| *at <= t);
        n.checked_sub(1).is_some_and(|i| self.endpoints[i].1)
    }
}

/// Whether state item `st`'s window has begun by `now`: its origin is known and its start
/// is not later than `now`, so the state at its start is on the timeline.
pub(super) fn window_started(st: &StateExpectation, events: &[&Event], now: Duration) -> bool {
    let from = match (st.at, st.during, st.within) {
        (Some(at), None, None) => at.0,
        (None, Some(w), None) | (None, None, Some(w)) => w.from.unwrap_or_default(),
        _ => return false,
    };
    let origin = match &st.after_event {
        None => Some(Duration::ZERO),
        Some(r) => event_origin(r, events).ok(),
    };
    origin.is_some_and(|o| o.saturating_add(from) <= now)
}

/// `states`: each at its instant, throughout its window, or at some instant of it.
pub(super) fn check_states(
    exp: &Expectations,
    timeline: &Timeline,
    events: &[&Event],
    failures: &mut Vec<String>,
) {
    check_states_where(exp, timeline, events, failures, &|_| true);
}

/// [`check_states`] for the items whose index `only` accepts.
pub(super) fn check_states_where(
    exp: &Expectations,
    timeline: &Timeline,
    events: &[&Event],
    failures: &mut Vec<String>,
    only: &dyn Fn(usize) -> bool,
) {
    let history = History::of(timeline);
    for (i, st) in exp.states.iter().enumerate() {
        if !only(i) {
            continue;
        }
        let (mode, window) = match (st.at, st.during, st.within) {
            (Some(at), None, None) => (
                Mode::At,
                TimeWindow {
                    from: Some(at.0),
                    to: Some(at.0),
                },
            ),
            (None, Some(w), None) => (Mode::During, w),
            (None, None, Some(w)) => (Mode::Within, w),
            _ => {
                failures.push(format!(
                    "states[{i}]: needs exactly one of `at`, `during` or `within`"
                ));
                continue;
            }
        };
        let (origin, origin_note) = match &st.after_event {
            None => (Duration::ZERO, String::new()),
            Some(r) => match event_origin(r, events) {
                Ok(t) => (
                    t,
                    format!(
                        " after {} (at {})",
                        r.matcher(),
                        format_secs(t.as_secs_f64())
                    ),
                ),
                Err(why) => {
                    failures.push(format!("states[{i}]: {why}"));
                    continue;
                }
            },
        };
        let from = origin.saturating_add(window.from.unwrap_or_default());
        let to = window
            .to
            .map_or(Duration::MAX, |t| origin.saturating_add(t));
        let instants: Vec<Duration> = if mode == Mode::At {
            vec![from]
        } else {
            // The state only changes with a status or an endpoint change, so the window's
            // start and every change inside it cover every state in effect.
            let changes = history
                .statuses
                .iter()
                .map(|(t, _)| *t)
                .chain(history.endpoints.iter().map(|(t, _)| *t))
                .filter(|t| *t > from && *t <= to);
            std::iter::once(from).chain(changes).collect()
        };
        let want = st.as_state();
        let found_at = |t: Duration| -> Option<Vec<String>> {
            let mut found = Vec::new();
            match history.status_at(t) {
                // Before the pod exists a window has nothing to check yet.
                None if mode != Mode::At => return None,
                None => found.push("no pod status had been written yet".to_owned()),
                Some(s) => {
                    let since = |kind: &str| condition_since(timeline, t, kind);
                    check_final(&want, s, history.endpoint_at(t), &since, &mut found)
                }
            }
            Some(
                found
                    .iter()
                    .map(|f| f.trim_start_matches("final.").to_owned())
                    .collect(),
            )
        };
        match mode {
            Mode::At | Mode::During => {
                for t in instants {
                    let Some(found) = found_at(t).filter(|f| !f.is_empty()) else {
                        continue;
                    };
                    let at = format_secs(t.as_secs_f64());
                    let when = if mode == Mode::During {
                        format!("during {window}{origin_note}, at {at}")
                    } else if st.after_event.is_some() {
                        format!("at {}{origin_note}, that is at {at}", window_start(window))
                    } else {
                        format!("at {at}")
                    };
                    failures.push(format!("states[{i}] {when}: {}", found.join("; ")));
                    break;
                }
            }
            Mode::Within => {
                let checked: Vec<(Duration, Vec<String>)> = instants
                    .iter()
                    .filter_map(|t| found_at(*t).map(|f| (*t, f)))
                    .collect();
                if checked.iter().any(|(_, f)| f.is_empty()) {
                    continue;
                }
                // The instant that came closest (fewest mismatches, the latest on a tie)
                // says most about why the state was never reached.
                let closest = checked.iter().fold(
                    None,
                    |best: Option<&(Duration, Vec<String>)>, c| match best {
                        Some(b) if b.1.len() < c.1.len() => Some(b),
                        _ => Some(c),
                    },
                );
                let why = match closest {
                    None => "no pod status was in effect during the window".to_owned(),
                    Some((t, f)) => format!(
                        "never held; closest at {}: {}",
                        format_secs(t.as_secs_f64()),
                        f.join("; ")
                    ),
                };
                failures.push(format!("states[{i}] within {window}{origin_note}: {why}"));
            }
        }
    }
}

fn window_start(w: TimeWindow) -> String {
    format_secs(w.from.unwrap_or_default().as_secs_f64())
}

/// Checks a state (`final` or a `states` item) against a status and the endpoint
/// membership in effect at the same moment.
pub(super) fn check_final(
    f: &FinalState,
    st: &PodStatus,
    endpoint: bool,
    since: &dyn Fn(&str) -> Option<Duration>,
    failures: &mut Vec<String>,
) {
    if let Some(want) = f.endpoint
        && want != endpoint
    {
        failures.push(format!(
            "final.endpoint: expected {want}, observed {endpoint}"
        ));
    }
    if let Some(p) = &f.phase
        && p != st.phase.as_str()
    {
        failures.push(format!(
            "final.phase: expected {p}, observed {}",
            st.phase.as_str()
        ));
    }
    if let Some(r) = &f.reason
        && Some(r) != st.reason.as_ref()
    {
        failures.push(format!(
            "final.reason: expected {r}, observed {}",
            st.reason.as_deref().unwrap_or("<none>")
        ));
    }
    for (kind, want) in &f.conditions {
        let cond = st.conditions.iter().find(|c| c.kind == kind.as_str());
        // A condition the pod does not have yet is not True, and has no reason or message.
        let got = cond.is_some_and(|c| c.status);
        if let Some(w) = want.status
            && got != w
        {
            failures.push(format!(
                "final.conditions.{kind}: expected {w}, observed {got}"
            ));
        }
        let reason = cond.and_then(|c| c.reason.as_deref());
        if let Some(r) = &want.reason
            && Some(r.as_str()) != reason
        {
            failures.push(format!(
                "final.conditions.{kind}.reason: expected {r}, observed {}",
                reason.unwrap_or("<none>")
            ));
        }
        let message = cond.and_then(|c| c.message.as_deref()).unwrap_or_default();
        if let Some(m) = &want.message
            && !m.matches(message)
        {
            failures.push(format!(
                "final.conditions.{kind}.message: expected {m}, observed {message:?}"
            ));
        }
        if let Some(w) = want.last_transition_time {
            let at = cond.and(since(kind));
            if !at.is_some_and(|t| w.contains(t)) {
                let observed = at.map_or("<no such condition>".to_owned(), |t| {
                    format_secs(t.as_secs_f64())
                });
                failures.push(format!(
                    "final.conditions.{kind}.lastTransitionTime: expected within {w}, observed {observed}"
                ));
            }
        }
    }
    for (name, want) in &f.containers {
        match st.container(name) {
            None => failures.push(format!(
                "final.containers.{name}: no status for this container"
            )),
            Some(cs) => check_container(name, want, cs, failures),
        }
    }
}

fn check_container(
    name: &str,
    want: &ContainerFinal,
    cs: &ContainerStatus,
    failures: &mut Vec<String>,
) {
    let mut diff = |field: &str, ok: bool, want: String, got: String| {
        if !ok {
            failures.push(format!(
                "final.containers.{name}.{field}: expected {want}, observed {got}"
            ));
        }
    };
    let show = |o: Option<String>| o.unwrap_or_else(|| "<none>".into());
    let secs = |d: Option<Duration>| show(d.map(|d| format_secs(d.as_secs_f64())));
    if let Some(s) = &want.state {
        diff(
            "state",
            s == cs.state.kind(),
            s.clone(),
            cs.state.kind().to_owned(),
        );
    }
    if let Some(r) = &want.reason {
        let got = cs.state.reason();
        diff(
            "reason",
            Some(r.as_str()) == got,
            r.clone(),
            show(got.map(str::to_owned)),
        );
    }
    let (code, msg, started, finished) = match &cs.state {
        ContainerState::Terminated {
            exit_code,
            message,
            started_at,
            finished_at,
            ..
        } => (
            Some(*exit_code),
            message.clone(),
            Some(*started_at),
            Some(*finished_at),
        ),
        ContainerState::Running { started_at } => (None, None, Some(*started_at), None),
        ContainerState::Waiting { .. } => (None, None, None, None),
    };
    if let Some(e) = want.exit_code {
        let ok = code.is_some_and(|c| e.matches(i64::from(c)));
        diff(
            "exitCode",
            ok,
            e.to_string(),
            show(code.map(|c| c.to_string())),
        );
    }
    if let Some(m) = &want.message {
        let got = msg.unwrap_or_default();
        diff(
            "message",
            m.matches(&got),
            m.to_string(),
            format!("{got:?}"),
        );
    }
    if let Some(r) = want.restart_count {
        let got = cs.restart_count;
        diff(
            "restartCount",
            r.matches(i64::from(got)),
            r.to_string(),
            got.to_string(),
        );
    }
    if let Some(r) = want.ready {
        diff("ready", r == cs.ready, r.to_string(), cs.ready.to_string());
    }
    if let Some(s) = want.started {
        let got = cs.started;
        diff(
            "started",
            Some(s) == got,
            s.to_string(),
            show(got.map(|b| b.to_string())),
        );
    }
    if let Some(w) = want.started_at {
        let ok = started.is_some_and(|t| w.contains(t));
        diff("startedAt", ok, format!("within {w}"), secs(started));
    }
    if let Some(w) = want.finished_at {
        let ok = finished.is_some_and(|t| w.contains(t));
        diff("finishedAt", ok, format!("within {w}"), secs(finished));
    }
    let (last_reason, last_code, last_message) = match &cs.last_state {
        Some(ContainerState::Terminated {
            reason,
            exit_code,
            message,
            ..
        }) => (Some(reason.clone()), Some(*exit_code), message.clone()),
        _ => (None, None, None),
    };
    if let Some(r) = &want.last_reason {
        diff(
            "lastReason",
            Some(r) == last_reason.as_ref(),
            r.clone(),
            show(last_reason),
        );
    }
    if let Some(c) = want.last_exit_code {
        let ok = last_code.is_some_and(|v| c.matches(i64::from(v)));
        diff(
            "lastExitCode",
            ok,
            c.to_string(),
            show(last_code.map(|c| c.to_string())),
        );
    }
    if let Some(m) = &want.last_message {
        let got = last_message.unwrap_or_default();
        diff(
            "lastMessage",
            m.matches(&got),
            m.to_string(),
            format!("{got:?}"),
        );
    }
}
