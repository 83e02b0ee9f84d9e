//! The causes of failed `[[traffic]]` requests: which endpoint pod failed them, how, and
//! whether the proxy was still sending to a pod whose endpoint had already stopped being
//! ready (the propagation delay of a rollout without a preStop pause).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::events::{Request, RequestOutcome};
use crate::expect::traffic::send_time;
use crate::runner::SpecReport;

fn span(first: Duration, last: Duration) -> String {
    if first == last {
        send_time(first)
    } else {
        format!("{}..{}", send_time(first), send_time(last))
    }
}

/// One cause line per (traffic item, endpoint pod, way of failing), in order of the first
/// failure.
pub fn traffic_causes(r: &SpecReport) -> Vec<String> {
    type Key<'a> = (&'a str, Option<&'a str>, &'static str);
    let mut groups: BTreeMap<Key<'_>, Vec<&Request>> = BTreeMap::new();
    for req in r.traffic.requests().filter(|q| q.outcome.failed()) {
        let how = match req.outcome {
            RequestOutcome::Refused => "were refused",
            RequestOutcome::Reset { .. } => "were reset",
            RequestOutcome::Timeout => "timed out",
            RequestOutcome::Status { .. } => "got an HTTP error status",
            RequestOutcome::Ok { .. } => continue,
        };
        groups
            .entry((req.traffic.as_str(), req.pod.as_deref(), how))
            .or_default()
            .push(req);
    }
    let mut lines: Vec<(Duration, String)> = groups
        .into_iter()
        .map(|((traffic, pod, how), reqs)| {
            let first = reqs.iter().map(|q| q.at).min().unwrap_or_default();
            let last = reqs.iter().map(|q| q.at).max().unwrap_or_default();
            let n = reqs.len();
            let service = reqs.first().map_or("", |q| q.service.as_str());
            let example = reqs
                .iter()
                .find_map(|q| match &q.outcome {
                    RequestOutcome::Reset { detail } => Some(format!(" ({detail})")),
                    RequestOutcome::Status { status } => Some(format!(" (HTTP {status})")),
                    _ => None,
                })
                .unwrap_or_default();
            let text = match pod {
                None => format!(
                    "traffic {traffic}: {n} request(s) sent at {} {how}: the proxy had no ready endpoint of Service {service} (kube-proxy's REJECT)",
                    span(first, last)
                ),
                Some(pod) => {
                    let lag = not_ready_since(r, pod, service, last).map(|(at, why)| {
                        format!(
                            "; {pod}'s endpoint in {service} was no longer ready from {} ({why}), but the proxy sees endpoint changes cluster.endpoint_propagation later and still sent it new connections",
                            send_time(at)
                        )
                    });
                    format!(
                        "traffic {traffic}: {n} request(s) sent to {pod} at {} {how}{example}{}",
                        span(first, last),
                        lag.unwrap_or_default()
                    )
                }
            };
            (first, text)
        })
        .collect();
    lines.sort();
    lines.into_iter().map(|(_, l)| l).collect()
}

/// When pod `pod`'s endpoint in `service` last stopped being ready at or before `by` (the
/// group's last failure: the first may race the change it is caused by), and why
/// (terminating, not serving, removed).
fn not_ready_since(
    r: &SpecReport,
    pod: &str,
    service: &str,
    by: Duration,
) -> Option<(Duration, &'static str)> {
    let (_, _, outcome) = r.pods().into_iter().find(|(n, _, _)| *n == pod)?;
    let mut since = None;
    for (at, ep) in outcome.timeline.service_endpoints(service) {
        if at > by {
            break;
        }
        since = match ep {
            Some(c) if c.ready => None,
            Some(c) if c.terminating => since.or(Some((at, "terminating"))),
            Some(_) => since.or(Some((at, "not serving"))),
            None => since.or(Some((at, "removed"))),
        };
    }
    since
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EndpointConditions, Entry};

    #[test]
    fn refusals_by_a_terminating_endpoint_name_the_proxys_lag() {
        let mut r = crate::report::explain::tests::startup_404_report();
        r.outcome.timeline.entries.push(Entry::ServiceEndpoint {
            at: Duration::from_secs(1),
            service: "web".into(),
            endpoint: Some(EndpointConditions {
                ready: false,
                serving: true,
                terminating: true,
            }),
        });
        let req = |seq, ms, pod: Option<&str>| Request {
            at: Duration::from_millis(ms),
            traffic: "web".into(),
            seq,
            service: "web".into(),
            port: 80,
            pod: pod.map(str::to_owned),
            outcome: RequestOutcome::Refused,
            latency: Duration::ZERO,
        };
        r.traffic.entries = vec![
            Entry::Request(Box::new(req(0, 1050, Some("web")))),
            Entry::Request(Box::new(req(1, 1500, Some("web")))),
            Entry::Request(Box::new(req(2, 3000, None))),
        ];
        let lines = traffic_causes(&r);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("traffic web: 2 request(s) sent to web at 1.05s..1.5s were refused; web's endpoint in web was no longer ready from 1s (terminating)"),
            "{lines:?}"
        );
        assert!(
            lines[1].contains("1 request(s) sent at 3s were refused: the proxy had no ready endpoint of Service web"),
            "{lines:?}"
        );
    }
}
