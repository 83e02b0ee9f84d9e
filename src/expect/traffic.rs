//! `[[expect.traffic]]`: how many of the generated requests may fail, and how slow the ok
//! ones may be, over a window of send times.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::events::{Request, RequestOutcome};
use crate::spec::duration::{SpecDuration, TimeWindow, format_secs};

/// A request's send time to the millisecond (`6.05s`): requests come tens of ms apart, so
/// the tenths `format_secs` keeps would make neighbours look alike.
pub fn send_time(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}s")
}

/// What the requests of the load generators must show.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrafficExpectation {
    /// The traffic item (`[[traffic]]` name); default: every item's requests.
    pub traffic: Option<String>,
    /// Only requests the proxy sent to this endpoint pod count (default: all).
    pub pod: Option<String>,
    /// Only requests sent in this window of spec time count (default: all).
    pub within: Option<TimeWindow>,
    /// At least this many requests (ok or not) were sent.
    pub requests_at_least: Option<u64>,
    /// At most this many requests were sent (0 with `pod`: the proxy sent it none).
    pub requests_at_most: Option<u64>,
    /// Exactly this many requests failed (refused, reset, timed out or HTTP 400+).
    pub failed: Option<u64>,
    /// At most this many failed.
    pub failed_at_most: Option<u64>,
    /// At least this many failed (a spec that shows drops).
    pub failed_at_least: Option<u64>,
    /// At least this many succeeded.
    pub ok_at_least: Option<u64>,
    /// Every ok request took at most this long, in spec time.
    pub latency_at_most: Option<SpecDuration>,
}

impl TrafficExpectation {
    /// Whether the item states anything to check.
    pub fn has_condition(&self) -> bool {
        self.failed.is_some()
            || self.requests_at_least.is_some()
            || self.requests_at_most.is_some()
            || self.failed_at_most.is_some()
            || self.failed_at_least.is_some()
            || self.ok_at_least.is_some()
            || self.latency_at_most.is_some()
    }
}

/// How many failed requests an explanation lists one by one.
const LISTED: usize = 8;

/// Checks every item against the run's requests; one failure text per item that does not
/// hold, saying which requests failed, when and how.
pub fn check(items: &[TrafficExpectation], requests: &[&Request]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, want) in items.iter().enumerate() {
        let mine: Vec<&Request> = requests
            .iter()
            .copied()
            .filter(|r| want.traffic.as_ref().is_none_or(|t| *t == r.traffic))
            .filter(|r| want.within.is_none_or(|w| w.contains(r.at)))
            .filter(|r| want.pod.is_none() || r.pod == want.pod)
            .collect();
        let failed: Vec<&Request> = mine
            .iter()
            .copied()
            .filter(|r| r.outcome.failed())
            .collect();
        let ok = mine.len() - failed.len();
        let n = failed.len() as u64;
        let mut broken = Vec::new();
        if want.failed.is_some_and(|f| n != f) {
            broken.push(format!("failed = {}", want.failed.unwrap_or_default()));
        }
        if want.failed_at_most.is_some_and(|f| n > f) {
            broken.push(format!(
                "failed_at_most = {}",
                want.failed_at_most.unwrap_or_default()
            ));
        }
        if want.failed_at_least.is_some_and(|f| n < f) {
            broken.push(format!(
                "failed_at_least = {}",
                want.failed_at_least.unwrap_or_default()
            ));
        }
        let sent = mine.len() as u64;
        if want.requests_at_least.is_some_and(|f| sent < f) {
            broken.push(format!(
                "requests_at_least = {}",
                want.requests_at_least.unwrap_or_default()
            ));
        }
        if want.requests_at_most.is_some_and(|f| sent > f) {
            broken.push(format!(
                "requests_at_most = {}",
                want.requests_at_most.unwrap_or_default()
            ));
        }
        if want.ok_at_least.is_some_and(|f| (ok as u64) < f) {
            broken.push(format!(
                "ok_at_least = {}",
                want.ok_at_least.unwrap_or_default()
            ));
        }
        let label = format!(
            "traffic[{i}] ({}{}{})",
            want.traffic.as_deref().unwrap_or("all traffic"),
            want.pod
                .as_ref()
                .map(|p| format!(", sent to {p}"))
                .unwrap_or_default(),
            want.within
                .map(|w| format!(", sent within {w}"))
                .unwrap_or_default()
        );
        if !broken.is_empty() {
            let mut text = format!(
                "{label}: expected {}; {n} of {} requests failed ({ok} ok)",
                broken.join(" and "),
                mine.len()
            );
            if !failed.is_empty() {
                text.push_str(&format!(": {}", by_outcome(&failed)));
                text.push_str(&format!("; {}", listed(&failed)));
            } else if want.requests_at_most.is_some() && !mine.is_empty() {
                let all: Vec<&Request> = mine.clone();
                text.push_str(&format!("; sent: {}", listed(&all)));
            }
            out.push(text);
        }
        if let Some(limit) = want.latency_at_most {
            let slow: Vec<&Request> = mine
                .iter()
                .copied()
                .filter(|r| !r.outcome.failed() && r.latency > limit.0)
                .collect();
            if !slow.is_empty() {
                let worst = slow.iter().map(|r| r.latency).max().unwrap_or_default();
                let shown: Vec<String> = slow.iter().take(LISTED).map(|r| describe(r)).collect();
                out.push(format!(
                    "{label}: expected every ok request to take at most {limit}; {} took longer (the slowest {}): {}{}",
                    slow.len(),
                    format_secs(worst.as_secs_f64()),
                    shown.join(", "),
                    more(slow.len())
                ));
            }
        }
    }
    out
}

/// `refused ×3 (12.0s..12.4s), reset ×1 (12.5s)`: failures grouped by how they failed.
fn by_outcome(failed: &[&Request]) -> String {
    let mut groups: BTreeMap<&'static str, (usize, Duration, Duration)> = BTreeMap::new();
    for r in failed {
        let kind = match r.outcome {
            RequestOutcome::Ok { .. } => "ok",
            RequestOutcome::Status { .. } => "HTTP error status",
            RequestOutcome::Refused => "refused",
            RequestOutcome::Reset { .. } => "reset",
            RequestOutcome::Timeout => "timed out",
        };
        let g = groups.entry(kind).or_insert((0, r.at, r.at));
        g.0 += 1;
        g.1 = g.1.min(r.at);
        g.2 = g.2.max(r.at);
    }
    groups
        .into_iter()
        .map(|(kind, (n, first, last))| {
            let when = if first == last {
                send_time(first)
            } else {
                format!("{}..{}", send_time(first), send_time(last))
            };
            format!("{kind} ×{n} (sent {when})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first failed requests one by one.
fn listed(failed: &[&Request]) -> String {
    let shown: Vec<String> = failed.iter().take(LISTED).map(|r| describe(r)).collect();
    format!("{}{}", shown.join(", "), more(failed.len()))
}

fn more(n: usize) -> String {
    if n > LISTED {
        format!(", and {} more", n - LISTED)
    } else {
        String::new()
    }
}

/// `#52 sent at 12.05s to web-1: reset (...) after 3ms`.
fn describe(r: &Request) -> String {
    let to = match (&r.pod, &r.outcome) {
        (Some(p), _) => format!(" to {p}"),
        (None, RequestOutcome::Refused) => {
            format!(" (no ready endpoint of {} in the proxy's view)", r.service)
        }
        (None, _) => String::new(),
    };
    format!(
        "{}#{} sent at {}{to}: {} after {}",
        r.traffic,
        r.seq,
        send_time(r.at),
        r.outcome,
        format_secs(r.latency.as_secs_f64())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(seq: u64, at_ms: u64, pod: Option<&str>, outcome: RequestOutcome) -> Request {
        Request {
            at: Duration::from_millis(at_ms),
            traffic: "web".into(),
            seq,
            service: "web".into(),
            port: 80,
            pod: pod.map(str::to_owned),
            outcome,
            latency: Duration::from_millis(3),
        }
    }

    #[test]
    fn failures_are_counted_in_the_window_and_explained_one_by_one() {
        let ok = RequestOutcome::Ok { status: Some(200) };
        let rs = [
            req(0, 1000, Some("web-0"), ok.clone()),
            req(1, 2000, None, RequestOutcome::Refused),
            req(
                2,
                2500,
                Some("web-1"),
                RequestOutcome::Reset {
                    detail: "connection closed before message completed".into(),
                },
            ),
            req(3, 9000, None, RequestOutcome::Refused),
        ];
        let all: Vec<&Request> = rs.iter().collect();
        let exp = TrafficExpectation {
            failed: Some(0),
            within: Some(TimeWindow::parse("0s..5s").expect("window")),
            ..Default::default()
        };
        let f = check(std::slice::from_ref(&exp), &all);
        assert_eq!(f.len(), 1, "{f:?}");
        let t = &f[0];
        assert!(
            t.contains("expected failed = 0; 2 of 3 requests failed (1 ok)"),
            "{t}"
        );
        assert!(t.contains("refused ×1 (sent 2s)"), "{t}");
        assert!(
            t.contains("web#1 sent at 2s (no ready endpoint of web in the proxy's view): connection refused"),
            "{t}"
        );
        assert!(
            t.contains("web#2 sent at 2.5s to web-1: reset (connection closed"),
            "{t}"
        );
        let at_most = TrafficExpectation {
            failed_at_most: Some(3),
            failed_at_least: Some(3),
            ..Default::default()
        };
        assert!(check(std::slice::from_ref(&at_most), &all).is_empty());
        let slow = TrafficExpectation {
            latency_at_most: Some(SpecDuration(Duration::from_millis(2))),
            ..Default::default()
        };
        let f = check(std::slice::from_ref(&slow), &all);
        assert!(f[0].contains("1 took longer"), "{f:?}");
    }
}
