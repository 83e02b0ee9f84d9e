//! Each Service's endpoints over the run, pod by pod, as the EndpointSlice controller
//! changed them: the summary `podcheck run` prints after the pods when a spec has Services.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::events::{EndpointConditions, Entry};
use crate::runner::SpecReport;
use crate::spec::duration::format_secs;

/// `ready`, `not ready (serving)`, `terminating (serving)`, …: one endpoint's conditions.
fn state(c: &EndpointConditions) -> String {
    match (c.ready, c.serving, c.terminating) {
        (true, _, false) => "ready".into(),
        (true, _, true) => "ready (terminating, publishNotReadyAddresses)".into(),
        (false, true, true) => "terminating (serving)".into(),
        (false, false, true) => "terminating".into(),
        (false, _, false) => "not ready".into(),
    }
}

/// The summary, or an empty string when no Service changed endpoints.
pub fn describe_services(r: &SpecReport) -> String {
    // service → pod → [(at, state)]
    let mut by_service: BTreeMap<&str, BTreeMap<&str, Vec<String>>> = BTreeMap::new();
    for (pod, _, outcome) in r.pods() {
        for e in &outcome.timeline.entries {
            if let Entry::ServiceEndpoint {
                at,
                service,
                endpoint,
            } = e
            {
                let what = endpoint
                    .as_ref()
                    .map_or_else(|| "removed".to_owned(), state);
                by_service
                    .entry(service.as_str())
                    .or_default()
                    .entry(pod)
                    .or_default()
                    .push(format!("{what} at {}", format_secs(at.as_secs_f64())));
            }
        }
    }
    let mut s = String::new();
    for (service, pods) in by_service {
        let _ = writeln!(s, "\nService {service}: endpoints by pod");
        let width = pods.keys().map(|p| p.len()).max().unwrap_or(0);
        for (pod, steps) in pods {
            let _ = writeln!(s, "  {pod:<width$}  {}", steps.join(" → "));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_read_as_endpointslice_states() {
        let c = |ready, serving, terminating| EndpointConditions {
            ready,
            serving,
            terminating,
        };
        assert_eq!(state(&c(true, true, false)), "ready");
        assert_eq!(state(&c(false, false, false)), "not ready");
        assert_eq!(state(&c(false, true, true)), "terminating (serving)");
        assert_eq!(state(&c(false, false, true)), "terminating");
    }
}
