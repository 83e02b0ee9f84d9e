//! Checking a recorded timeline against a spec's expectations.

use std::time::Duration;

use crate::events::{Event, PodStatus, Timeline};
use crate::kubelet::pod_worker::InstanceLog;
use crate::spec::duration::{TimeWindow, format_secs};

use super::model::Expectations;
use super::state::{check_final, check_states, condition_since, endpoint_at};

/// The result of one ordered item.
#[derive(Debug, Clone)]
pub struct ItemResult {
    /// What was expected, readable.
    pub label: String,
    /// When it matched, if it did.
    pub matched_at: Option<Duration>,
}

/// The verdict of a run.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// The ordered event items with their match times.
    pub sequence: Vec<ItemResult>,
    /// Every expectation that did not hold, each with why.
    pub failures: Vec<String>,
    /// Set when the run stopped as soon as an expectation failed for good.
    pub stopped_early: Option<super::settle::EarlyStop>,
}

impl Verdict {
    /// Whether everything held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

fn times(ts: &[Duration]) -> String {
    ts.iter()
        .map(|t| format_secs(t.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first ordered event item that did not match, and where matching stood then.
#[derive(Debug, Clone, Copy)]
pub(super) struct Miss {
    /// The item's index in `events`.
    pub index: usize,
    /// When the previous item matched (zero for the first item).
    pub prev_at: Duration,
    /// Whether an event came right after the previous match (what strict order looks at).
    pub next_seen: bool,
}

/// Matches the ordered event items greedily; returns each item's match time and the first
/// item that did not match. (Each match is the earliest that fits, so a match found in a
/// timeline stays the match when later entries arrive.)
pub(super) fn match_sequence(
    exp: &Expectations,
    events: &[&Event],
    failures: Option<&mut Vec<String>>,
) -> (Vec<ItemResult>, Option<Miss>) {
    let mut miss = None;
    let mut out = Vec::new();
    let mut pos = 0;
    let mut prev_at = Duration::ZERO;
    let mut failed = false;
    let mut first_failure = None;
    for (i, item) in exp.events.iter().enumerate() {
        let m = item.matcher();
        let mut label = m.to_string();
        if let Some(w) = item.at {
            label.push_str(&format!(" at {w}"));
        }
        if let Some(w) = item.after_previous {
            label.push_str(&format!(" {w} after the previous"));
        }
        if failed {
            out.push(ItemResult {
                label,
                matched_at: None,
            });
            continue;
        }
        let fits = |ev: &Event| {
            item.at.is_none_or(|w| w.contains(ev.at))
                && item
                    .after_previous
                    .is_none_or(|w| w.contains(ev.at.saturating_sub(prev_at)))
        };
        // In strict order the item after a match must be the very next event.
        let strict = exp.strict_order && i > 0;
        let found = if strict {
            events
                .get(pos)
                .filter(|ev| m.matches(ev) && fits(ev))
                .map(|_| 0)
        } else {
            events[pos..]
                .iter()
                .position(|ev| m.matches(ev) && fits(ev))
        };
        match found {
            Some(off) => {
                let ev = events[pos + off];
                prev_at = ev.at;
                pos += off + 1;
                out.push(ItemResult {
                    label,
                    matched_at: Some(ev.at),
                });
            }
            None => {
                failed = true;
                miss = Some(Miss {
                    index: i,
                    prev_at,
                    next_seen: pos < events.len(),
                });
                let after: Vec<Duration> = events[pos..]
                    .iter()
                    .filter(|ev| m.matches(ev))
                    .map(|ev| ev.at)
                    .collect();
                let before: Vec<Duration> = events[..pos]
                    .iter()
                    .filter(|ev| m.matches(ev))
                    .map(|ev| ev.at)
                    .collect();
                let why = if strict
                    && events
                        .get(pos)
                        .is_some_and(|ev| !(m.matches(ev) && fits(ev)))
                    && !after.is_empty()
                {
                    let next = events[pos];
                    format!(
                        "strict_order: the next event was {} {} at {} instead (it was seen later, at {})",
                        next.reason,
                        next.container.as_deref().unwrap_or("-"),
                        format_secs(next.at.as_secs_f64()),
                        times(&after)
                    )
                } else if !after.is_empty() {
                    let window = describe_windows(item.at, item.after_previous, prev_at);
                    format!("seen at {}, but not {window}", times(&after))
                } else if !before.is_empty() {
                    format!(
                        "seen only before the previous item matched (at {})",
                        times(&before)
                    )
                } else {
                    "not seen".to_owned()
                };
                first_failure = Some(format!("events[{i}]: expected {label}: {why}"));
                out.push(ItemResult {
                    label,
                    matched_at: None,
                });
            }
        }
    }
    if let (Some(f), Some(list)) = (first_failure, failures) {
        list.push(f);
    }
    (out, miss)
}

fn describe_windows(at: Option<TimeWindow>, after: Option<TimeWindow>, prev: Duration) -> String {
    let mut parts = Vec::new();
    if let Some(w) = at {
        parts.push(format!("within {w} of pod creation"));
    }
    if let Some(w) = after {
        parts.push(format!(
            "within {w} after the previous item (at {})",
            format_secs(prev.as_secs_f64())
        ));
    }
    parts.join(" and ")
}

/// Checks every expectation against the timeline and the containers' output;
/// `status_column` maps a status to its kubectl STATUS value.
pub fn check(
    exp: &Expectations,
    timeline: &Timeline,
    logs: &[InstanceLog],
    status_column: &dyn Fn(&PodStatus) -> String,
) -> Verdict {
    let events: Vec<&Event> = timeline.events().collect();
    let mut failures = Vec::new();
    let (sequence, _) = match_sequence(exp, &events, Some(&mut failures));
    super::executions::check(&exp.executions, timeline, Some(&mut failures));
    super::executions::check_never(&exp.never_executions, timeline, &mut failures);
    for (i, n) in exp.never.iter().enumerate() {
        let m = n.matcher();
        let hits: Vec<&&Event> = events
            .iter()
            .filter(|ev| m.matches(ev) && n.within.is_none_or(|w| w.contains(ev.at)))
            .collect();
        if let Some(first) = hits.first() {
            failures.push(format!(
                "never[{i}]: {m} must not occur{}, but it did {} time(s), first at {}: {:?}",
                n.within.map(|w| format!(" within {w}")).unwrap_or_default(),
                hits.len(),
                format_secs(first.at.as_secs_f64()),
                first.message
            ));
        }
    }
    for (i, c) in exp.counts.iter().enumerate() {
        let m = c.matcher();
        let hits: Vec<Duration> = events
            .iter()
            .filter(|ev| m.matches(ev) && c.within.is_none_or(|w| w.contains(ev.at)))
            .map(|ev| ev.at)
            .collect();
        let n = u32::try_from(hits.len()).unwrap_or(u32::MAX);
        let mut wanted = Vec::new();
        if c.exactly.is_some_and(|e| n != e) {
            wanted.push(format!("exactly {}", c.exactly.unwrap_or_default()));
        }
        if c.at_least.is_some_and(|e| n < e) {
            wanted.push(format!("at least {}", c.at_least.unwrap_or_default()));
        }
        if c.at_most.is_some_and(|e| n > e) {
            wanted.push(format!("at most {}", c.at_most.unwrap_or_default()));
        }
        if !wanted.is_empty() {
            let at = if hits.is_empty() {
                String::new()
            } else {
                format!(" (at {})", times(&hits))
            };
            failures.push(format!(
                "counts[{i}]: {m}: seen {n} time(s){at}, expected {}",
                wanted.join(" and ")
            ));
        }
    }
    if !exp.statuses.is_empty() {
        let mut seen: Vec<String> = Vec::new();
        for (_, st) in timeline.statuses() {
            let col = status_column(st);
            if seen.last() != Some(&col) {
                seen.push(col);
            }
        }
        let mut it = seen.iter();
        let missing = exp.statuses.iter().find(|want| !it.any(|s| s == *want));
        if let Some(m) = missing {
            failures.push(format!(
                "statuses: expected the STATUS column to pass through [{}] in order; {m:?} was not seen in order; observed [{}]",
                exp.statuses.join(", "),
                seen.join(", ")
            ));
        }
    }
    check_endpoints(exp, timeline, &mut failures);
    check_states(exp, timeline, &events, &mut failures);
    super::logs::check_logs(exp, timeline, logs, &mut failures);
    for f in &exp.finals {
        match timeline.last_status() {
            None => failures.push("final: no pod status was recorded".into()),
            Some(st) => {
                let since = |kind: &str| condition_since(timeline, Duration::MAX, kind);
                let endpoint = endpoint_at(timeline, Duration::MAX);
                check_final(f, st, endpoint, &since, &mut failures)
            }
        }
    }
    Verdict {
        sequence,
        failures,
        stopped_early: None,
    }
}

/// Endpoint membership changes, in order, with their windows: the pod's own membership
/// (items without `service`) and, per Service, its EndpointSlice endpoint, each in order.
fn check_endpoints(exp: &Expectations, timeline: &Timeline, failures: &mut Vec<String>) {
    let own: Vec<usize> = (0..exp.endpoints.len())
        .filter(|i| exp.endpoints[*i].service.is_none())
        .collect();
    check_endpoint_items(exp, &own, None, timeline, failures);
    let mut services: Vec<&str> = exp
        .endpoints
        .iter()
        .filter_map(|e| e.service.as_deref())
        .collect();
    services.sort_unstable();
    services.dedup();
    for svc in services {
        let items: Vec<usize> = (0..exp.endpoints.len())
            .filter(|i| exp.endpoints[*i].service.as_deref() == Some(svc))
            .collect();
        check_endpoint_items(exp, &items, Some(svc), timeline, failures);
    }
}

/// The items `items` of `exp.endpoints` in order against the pod's own endpoint changes or
/// those in Service `service`.
fn check_endpoint_items(
    exp: &Expectations,
    items: &[usize],
    service: Option<&str>,
    timeline: &Timeline,
    failures: &mut Vec<String>,
) {
    type Change = (Duration, Option<crate::events::EndpointConditions>);
    let changes: Vec<Change> = match service {
        None => timeline
            .endpoint_changes()
            .map(|(at, ready)| {
                let c = crate::events::EndpointConditions {
                    ready,
                    serving: ready,
                    terminating: false,
                };
                (at, Some(c))
            })
            .collect(),
        Some(s) => timeline.service_endpoints(s).collect(),
    };
    let mut pos = 0;
    let mut prev = Duration::ZERO;
    for &i in items {
        let want = &exp.endpoints[i];
        let fits = |(at, ep): &Change| {
            let ready = ep.is_some_and(|c| c.ready);
            ready == want.ready
                && want.present.is_none_or(|p| p == ep.is_some())
                && want
                    .serving
                    .is_none_or(|v| ep.is_some_and(|c| c.serving == v))
                && want
                    .terminating
                    .is_none_or(|v| ep.is_some_and(|c| c.terminating == v))
                && want.at.is_none_or(|w| w.contains(*at))
                && want
                    .after_previous
                    .is_none_or(|w| w.contains(at.saturating_sub(prev)))
        };
        match changes[pos..].iter().position(fits) {
            Some(off) => {
                prev = changes[pos + off].0;
                pos += off + 1;
            }
            None => {
                let observed: Vec<String> = changes
                    .iter()
                    .map(|(t, ep)| {
                        let what = match (service, ep) {
                            (None, Some(c)) if c.ready => "joined".to_owned(),
                            (None, _) => "left".to_owned(),
                            (Some(_), None) => "removed".to_owned(),
                            (Some(_), Some(c)) => format!(
                                "ready={} serving={} terminating={}",
                                c.ready, c.serving, c.terminating
                            ),
                        };
                        format!("{what} at {}", format_secs(t.as_secs_f64()))
                    })
                    .collect();
                let window = describe_windows(want.at, want.after_previous, prev);
                let window = if window.is_empty() {
                    String::new()
                } else {
                    format!(" {window}")
                };
                let expected = match service {
                    None => format!(
                        "the pod {} the ready endpoints",
                        if want.ready { "joining" } else { "leaving" }
                    ),
                    Some(s) => {
                        let mut parts = vec![format!("ready={}", want.ready)];
                        if let Some(v) = want.serving {
                            parts.push(format!("serving={v}"));
                        }
                        if let Some(v) = want.terminating {
                            parts.push(format!("terminating={v}"));
                        }
                        if want.present == Some(false) {
                            parts = vec!["removed".into()];
                        }
                        format!(
                            "the pod's endpoint in service {s} to become {}",
                            parts.join(" ")
                        )
                    }
                };
                failures.push(format!(
                    "endpoints[{i}]: expected {expected}{window}; observed [{}]",
                    observed.join(", ")
                ));
                return;
            }
        }
    }
}
