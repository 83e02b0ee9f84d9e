//! Log expectations: lines a container's output must or must not contain.
//!
//! Every captured line has the spec time at which its first byte was read, and a `within`
//! window is checked against it. Only a line older than the capture's kept read times
//! falls back to the lifetime of the instance that wrote it (from the status snapshots):
//! such a line counts when its instance was running at some moment of the window.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::events::{ContainerState, Timeline};
use crate::kubelet::pod_worker::InstanceLog;
use crate::spec::duration::{TimeWindow, format_secs};

use super::model::{Expectations, LogExpectation};

/// How many of an instance's last lines a failure quotes.
const TAIL_LINES: usize = 5;

/// When one instance ran: its start and, once it exited, its end (spec time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lifetime {
    started: Duration,
    finished: Option<Duration>,
}

impl Lifetime {
    fn overlaps(&self, w: TimeWindow) -> bool {
        w.to.is_none_or(|to| self.started <= to)
            && w.from
                .is_none_or(|from| self.finished.is_none_or(|end| end >= from))
    }
}

impl std::fmt::Display for Lifetime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = self
            .finished
            .map(|t| format_secs(t.as_secs_f64()))
            .unwrap_or_default();
        write!(f, "{}..{end}", format_secs(self.started.as_secs_f64()))
    }
}

/// The lifetime of every (container, restart count) instance the statuses show.
fn lifetimes(timeline: &Timeline) -> BTreeMap<(String, u32), Lifetime> {
    let mut out = BTreeMap::new();
    for (_, st) in timeline.statuses() {
        for cs in st
            .init_container_statuses
            .iter()
            .chain(&st.container_statuses)
        {
            // While a container waits to restart its count has not gone up yet, so its
            // lastState is the instance with the same count; otherwise the one before.
            let last_rc = match cs.state {
                ContainerState::Waiting { .. } => Some(cs.restart_count),
                _ => cs.restart_count.checked_sub(1),
            };
            let entries = [
                (Some(cs.restart_count), Some(&cs.state)),
                (last_rc, cs.last_state.as_ref()),
            ];
            for (rc, state) in entries {
                let (Some(rc), Some(state)) = (rc, state) else {
                    continue;
                };
                let life = match state {
                    ContainerState::Running { started_at } => Lifetime {
                        started: *started_at,
                        finished: None,
                    },
                    ContainerState::Terminated {
                        started_at,
                        finished_at,
                        ..
                    } => Lifetime {
                        started: *started_at,
                        finished: Some(*finished_at),
                    },
                    ContainerState::Waiting { .. } => continue,
                };
                let slot = out.entry((cs.name.clone(), rc)).or_insert(life);
                // A later snapshot may add the end of an instance seen running before.
                if slot.finished.is_none() {
                    slot.finished = life.finished;
                }
            }
        }
    }
    out
}

/// Checks every `[[expect.logs]]` item against the captured output.
pub(super) fn check_logs(
    exp: &Expectations,
    timeline: &Timeline,
    logs: &[InstanceLog],
    failures: &mut Vec<String>,
) {
    if exp.logs.is_empty() {
        return;
    }
    let lives = lifetimes(timeline);
    for (i, item) in exp.logs.iter().enumerate() {
        if let Some(f) = check_one(item, logs, &lives) {
            failures.push(format!("logs[{i}]: {f}"));
        }
    }
}

/// What the item asks for, readable: `a line of app containing "x" (restart 1, ...)`.
fn describe(item: &LogExpectation) -> String {
    let what = match (&item.contains, &item.regex) {
        (Some(c), _) => format!("containing {c:?}"),
        (None, Some(r)) => format!("matching /{}/", r.0.as_str()),
        (None, None) => "(no pattern)".to_owned(),
    };
    let mut scope = Vec::new();
    if let Some(r) = item.restart {
        scope.push(format!("restart {r}"));
    }
    if let Some(w) = item.within {
        scope.push(format!("written within {w}"));
    }
    let scope = if scope.is_empty() {
        String::new()
    } else {
        format!(" ({})", scope.join(", "))
    };
    let article = if item.absent { "no line" } else { "a line" };
    format!("expected {article} of {} {what}{scope}", item.container)
}

fn check_one(
    item: &LogExpectation,
    logs: &[InstanceLog],
    lives: &BTreeMap<(String, u32), Lifetime>,
) -> Option<String> {
    let Some(pattern) = item.pattern() else {
        return Some(format!(
            "{}: set exactly one of `contains` or `regex`",
            describe(item)
        ));
    };
    let mine: Vec<&InstanceLog> = logs
        .iter()
        .filter(|l| l.container == item.container)
        .filter(|l| item.restart.is_none_or(|r| r == l.restart_count))
        .collect();
    let life = |l: &InstanceLog| lives.get(&(l.container.clone(), l.restart_count)).copied();
    // Where a line has the time it was read, the window is checked against that time;
    // a line without one (older than the kept read times) counts when its instance ran
    // at some moment of the window. An instance with neither is not searched.
    let placed = |l: &InstanceLog, n: usize| match item.within {
        None => true,
        Some(w) => match l.line_times.get(n).copied().flatten() {
            Some(t) => w.contains(t),
            None => life(l).is_some_and(|lt| lt.overlaps(w)),
        },
    };
    let (searched, unplaced): (Vec<&InstanceLog>, Vec<&InstanceLog>) = match item.within {
        None => (mine.clone(), Vec::new()),
        Some(w) => {
            let timed = |l: &InstanceLog| l.line_times.iter().any(Option::is_some);
            let (known, unknown): (Vec<&InstanceLog>, Vec<&InstanceLog>) =
                mine.iter().partition(|l| life(l).is_some() || timed(l));
            let inside = known
                .into_iter()
                .filter(|l| {
                    life(l).is_some_and(|lt| lt.overlaps(w))
                        || l.line_times.iter().flatten().any(|t| w.contains(*t))
                })
                .collect();
            (inside, unknown)
        }
    };
    let hit = searched.iter().find_map(|l| {
        l.text
            .lines()
            .enumerate()
            .find(|(n, line)| pattern.matches(line) && placed(l, *n))
            .map(|(n, line)| (*l, n + 1, line))
    });
    match (item.absent, hit) {
        (true, None) | (false, Some(_)) => None,
        (true, Some((l, n, line))) => {
            let at = l
                .line_times
                .get(n - 1)
                .copied()
                .flatten()
                .map(|t| format!(", written at {}", format_secs(t.as_secs_f64())))
                .unwrap_or_default();
            Some(format!(
                "{}; found in restart {} (line {n}{at}): {line:?}",
                describe(item),
                l.restart_count
            ))
        }
        (false, None) => {
            let instances: Vec<String> = mine
                .iter()
                .map(|l| match life(l) {
                    Some(lt) => format!("restart {} ran {lt}", l.restart_count),
                    None => format!("restart {} (never in a status)", l.restart_count),
                })
                .collect();
            let mut why = format!(
                "not found in {} instance(s) searched; instances of {}: [{}]",
                searched.len(),
                item.container,
                instances.join(", ")
            );
            if !unplaced.is_empty() {
                why.push_str(&format!(
                    "; {} instance(s) never appeared in a status, so their time is unknown and they were not searched",
                    unplaced.len()
                ));
            }
            // The most recent instance searched (or of the container) shows what it did say.
            if let Some(l) = searched.last().or(mine.last()) {
                why.push_str(&format!(
                    "; log tail of restart {}: {}",
                    l.restart_count,
                    tail(&l.text)
                ));
            }
            Some(format!("{}: {why}", describe(item)))
        }
    }
}

/// The last few lines, quoted and joined on one line.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return "(no output)".to_owned();
    }
    lines[lines.len().saturating_sub(TAIL_LINES)..]
        .iter()
        .map(|l| format!("{l:?}"))
        .collect::<Vec<_>>()
        .join(" | ")
}
