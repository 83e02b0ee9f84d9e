//! The endpoints controller: each Service's EndpointSlice endpoints follow its pods' Ready
//! conditions and deletion, as `podToEndpoint` in k8s.io/endpointslice computes them:
//! `serving` is the Ready condition, `terminating` a deletionTimestamp, and `ready` is
//! `publishNotReadyAddresses || (serving && !terminating)`. A pod is in the slice while it
//! has an IP (its sandbox is up: PodReadyToStartContainers) and its phase is not terminal
//! (`ShouldPodBeInEndpoints` with terminating endpoints included).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::events::{EndpointConditions, Entry, PodStatus};
use crate::spec::model::Service;

/// A pod as the controller sees it: name, namespace and labels.
#[derive(Debug, Clone)]
pub struct PodMeta {
    /// metadata.name.
    pub name: String,
    /// metadata.namespace.
    pub namespace: String,
    /// metadata.labels.
    pub labels: BTreeMap<String, String>,
}

/// The Services of a run and each pod's current endpoint in them.
#[derive(Debug, Default)]
pub struct EndpointsController {
    services: Vec<(String, String, Service)>,
    current: HashMap<(usize, String), EndpointConditions>,
}

impl EndpointsController {
    /// A controller for `services` (name → Service).
    pub fn new(services: &BTreeMap<String, Service>) -> Self {
        EndpointsController {
            services: services
                .iter()
                .map(|(n, s)| {
                    let ns = s.namespace.clone().unwrap_or_else(|| "default".into());
                    (n.clone(), ns, s.clone())
                })
                .collect(),
            current: HashMap::new(),
        }
    }

    /// The endpoint changes a new status of `pod` at `at` makes, one entry per Service whose
    /// slice changed.
    pub fn on_status(&mut self, pod: &PodMeta, at: Duration, status: &PodStatus) -> Vec<Entry> {
        let mut out = Vec::new();
        for (i, (name, ns, svc)) in self.services.iter().enumerate() {
            if !selects(svc, ns, pod) {
                continue;
            }
            let want = endpoint_of(svc, status);
            let key = (i, pod.name.clone());
            let have = self.current.get(&key).copied();
            if want == have {
                continue;
            }
            match want {
                Some(c) => self.current.insert(key, c),
                None => self.current.remove(&key),
            };
            out.push(Entry::ServiceEndpoint {
                at,
                service: name.clone(),
                endpoint: want,
            });
        }
        out
    }
}

/// Whether Service `svc` (in namespace `ns`) selects `pod`: a Service without a selector
/// has no controller-made endpoints.
pub fn selects(svc: &Service, ns: &str, pod: &PodMeta) -> bool {
    !svc.selector.is_empty()
        && ns == pod.namespace
        && svc
            .selector
            .iter()
            .all(|(k, v)| pod.labels.get(k) == Some(v))
}

/// The pod's endpoint in the Service's slice, or None when it is not in it.
fn endpoint_of(svc: &Service, status: &PodStatus) -> Option<EndpointConditions> {
    let has_ip = status.condition("PodReadyToStartContainers") == Some(true);
    if !has_ip || status.phase.is_terminal() {
        return None;
    }
    let serving = status.condition("Ready") == Some(true);
    let terminating = status.deleting;
    Some(EndpointConditions {
        ready: svc.publish_not_ready_addresses || (serving && !terminating),
        serving,
        terminating,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Condition, Phase};

    fn status(ready: bool, deleting: bool, phase: Phase) -> PodStatus {
        let cond = |kind: &'static str, status| Condition {
            kind: kind.into(),
            status,
            reason: None,
            message: None,
        };
        PodStatus {
            phase,
            reason: None,
            message: None,
            conditions: vec![
                cond("PodReadyToStartContainers", true),
                cond("Ready", ready),
            ],
            init_container_statuses: Vec::new(),
            container_statuses: Vec::new(),
            deleting,
        }
    }

    #[test]
    fn endpoints_follow_ready_and_deletion_as_endpointslices_do() {
        let mut svcs = BTreeMap::new();
        let mut svc = Service::default();
        svc.selector.insert("app".into(), "web".into());
        svcs.insert("web".to_owned(), svc.clone());
        svc.publish_not_ready_addresses = true;
        svcs.insert("all".to_owned(), svc);
        let mut c = EndpointsController::new(&svcs);
        let pod = PodMeta {
            name: "web-0".into(),
            namespace: "default".into(),
            labels: [("app".to_owned(), "web".to_owned())].into(),
        };
        let t = Duration::from_secs;
        let conds = |e: &Entry| match e {
            Entry::ServiceEndpoint {
                service, endpoint, ..
            } => (
                service.clone(),
                endpoint.map(|c| (c.ready, c.serving, c.terminating)),
            ),
            _ => panic!("not an endpoint"),
        };
        let got: Vec<_> = c
            .on_status(&pod, t(1), &status(false, false, Phase::Running))
            .iter()
            .map(conds)
            .collect();
        let s = |n: &str| n.to_owned();
        assert_eq!(
            got,
            [
                (s("all"), Some((true, false, false))),
                (s("web"), Some((false, false, false)))
            ]
        );
        let got: Vec<_> = c
            .on_status(&pod, t(2), &status(true, false, Phase::Running))
            .iter()
            .map(conds)
            .collect();
        assert_eq!(
            got,
            [
                (s("all"), Some((true, true, false))),
                (s("web"), Some((true, true, false)))
            ]
        );
        // Terminating but still Ready: serving, not ready (unless publishNotReadyAddresses).
        let got: Vec<_> = c
            .on_status(&pod, t(3), &status(true, true, Phase::Running))
            .iter()
            .map(conds)
            .collect();
        assert_eq!(
            got,
            [
                (s("all"), Some((true, true, true))),
                (s("web"), Some((false, true, true)))
            ]
        );
        assert!(
            c.on_status(&pod, t(4), &status(true, true, Phase::Running))
                .is_empty()
        );
        let got: Vec<_> = c
            .on_status(&pod, t(5), &status(false, true, Phase::Succeeded))
            .iter()
            .map(conds)
            .collect();
        assert_eq!(got, [(s("all"), None), (s("web"), None)]);
        let other = PodMeta {
            labels: BTreeMap::new(),
            ..pod
        };
        assert!(
            c.on_status(&other, t(6), &status(true, false, Phase::Running))
                .is_empty()
        );
    }
}
