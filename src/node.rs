//! The node: every pod of one spec, each with its own pod worker and sandbox, run together
//! on one clock in one task. The run may stop early once every pod's expectations are
//! decided; a pod whose `start_at` has not come by then is never created.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::Clock;
use crate::cluster::endpoints::{EndpointsController, PodMeta};
use crate::cluster::proxy::{ProxyPod, ServiceProxy};
use crate::events::{Entry, Timeline};
use crate::expect::{self, Decision, Expectations};
use crate::kubelet::pod_worker::RunError;
use crate::kubelet::{EndReason, Observer, PodConfig, RunOutcome, run_pod};

/// One pod to run: its configuration (with `start_at` on the shared clock) and the
/// expectations about it alone.
pub struct NodePod {
    /// The pod worker's configuration; its `clock` is set by [`run_pods`].
    pub cfg: PodConfig,
    /// The items of the spec's expectations about this pod.
    pub expect: Expectations,
}

/// The cluster around the pods: Services, the proxy's settings and the load generators.
#[derive(Debug, Clone, Copy)]
pub struct NodeCluster<'a> {
    /// `[services.NAME]`.
    pub services: &'a std::collections::BTreeMap<String, crate::spec::model::Service>,
    /// `[cluster]`.
    pub settings: &'a crate::spec::traffic::ClusterSettings,
    /// `[[traffic]]`.
    pub traffic: &'a [crate::spec::traffic::Traffic],
}

/// What a run of several pods produced.
#[derive(Debug)]
pub struct NodeRun {
    /// Each pod's outcome, in the given order.
    pub outcomes: Vec<RunOutcome>,
    /// The load generators' requests (`Entry::Request`), in send order.
    pub traffic: Timeline,
    /// Each pod's first expectation to fail for good and when, in the given order.
    pub first_failures: Vec<Option<(String, Duration)>>,
}

/// Runs every pod concurrently on one clock and returns their outcomes in the given order.
/// `on_entry` sees every timeline entry with its pod's name (a request: the pod that served
/// it, or "" when none did). Every pod is torn down on every path (each pod worker kills
/// and reaps its own processes when it ends). While a traffic window is open the run goes
/// on, even when every expectation about the pods is decided; otherwise the run ends once
/// every pod has passed for good, or one has failed for good.
pub async fn run_pods(
    pods: Vec<NodePod>,
    cluster: NodeCluster<'_>,
    time_scale: f64,
    on_entry: &mut dyn FnMut(&str, &Entry),
    cancel: Option<watch::Receiver<bool>>,
) -> Result<NodeRun, RunError> {
    let services = cluster.services;
    let clock = Clock::start(time_scale);
    let (stop_tx, stop_rx) = watch::channel(false);
    let on_entry = RefCell::new(on_entry);
    let proxy = ServiceProxy::new(
        services,
        pods.iter()
            .map(|p| ProxyPod::new(&p.cfg.name, &p.cfg.pod, p.cfg.network.clone()))
            .collect(),
        clock,
        cluster.settings.propagation(),
    );
    let (proxy_stop_tx, proxy_stop_rx) = watch::channel(false);
    let proxy_task = tokio::spawn(proxy.clone().run(proxy_stop_rx));
    let has_traffic = !cluster.traffic.is_empty();
    // Every pod has the run's timeout, counted from the run's start.
    let timeout = pods.first().map_or(Duration::ZERO, |p| p.cfg.timeout);
    let traffic_done = Cell::new(!has_traffic);
    // A pod that expects nothing never holds the run up; when no pod expects anything the
    // run ends as one pod's would (its end, run.duration, or the timeout), or once the
    // traffic windows are over.
    let any_expectations = has_traffic || pods.iter().any(|p| !p.expect.is_empty());
    let decisions = RefCell::new(
        pods.iter()
            .map(|p| {
                if p.expect.is_empty() {
                    Decision::Passed
                } else {
                    Decision::Open
                }
            })
            .collect::<Vec<Decision>>(),
    );
    let decided_all = Cell::new(false);
    let (fail_stop_tx, fail_stop_rx) = watch::channel(None::<Duration>);
    let first_failures = RefCell::new(vec![None::<(String, Duration)>; pods.len()]);
    let interrupted = Cell::new(false);
    let names: Vec<String> = pods.iter().map(|p| p.cfg.name.clone()).collect();
    let metas: Vec<PodMeta> = pods
        .iter()
        .map(|p| PodMeta {
            name: p.cfg.name.clone(),
            namespace: p.cfg.namespace.clone(),
            labels: p.cfg.pod.labels.clone(),
        })
        .collect();
    let controller = RefCell::new(EndpointsController::new(services));
    // Each pod's endpoint entries with the index of the pod's timeline entry they follow.
    let endpoint_entries: RefCell<Vec<Vec<(usize, Entry)>>> =
        RefCell::new(vec![Vec::new(); names.len()]);
    let futs = pods.into_iter().enumerate().map(|(i, p)| {
        let on_entry = &on_entry;
        let decisions = &decisions;
        let fail_stop_tx = &fail_stop_tx;
        let first_failures = &first_failures;
        let decided_all = &decided_all;
        let stop_tx = &stop_tx;
        let mut stop_rx = stop_rx.clone();
        let name = names[i].clone();
        let meta = &metas[i];
        let controller = &controller;
        let endpoint_entries = &endpoint_entries;
        let proxy = &proxy;
        let traffic_done = &traffic_done;
        async move {
            let mut cfg = p.cfg;
            cfg.clock = Some(clock);
            if !cfg.start_at.is_zero() {
                let at = clock.instant_at(cfg.start_at);
                // The run's timeout also ends a wait for a pod that is not created yet.
                let hard_stop = crate::clock::deadline_in(cfg.timeout);
                let stopped = async {
                    while !*stop_rx.borrow() {
                        if stop_rx.changed().await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    }
                };
                // ... and so does run.duration.
                let run_end = cfg.duration.map(|d| clock.instant_at(d));
                let wake = run_end.map_or(at.min(hard_stop), |e| at.min(hard_stop).min(e));
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => {
                        if at > hard_stop {
                            return Ok(Err(EndReason::TimedOut));
                        }
                        if run_end.is_some_and(|e| at >= e) {
                            return Ok(Err(EndReason::DurationReached));
                        }
                    }
                    _ = stopped => return Ok(Err(EndReason::Interrupted)),
                }
            }
            // The run's timeout counts from the run's start, not from this pod's.
            cfg.timeout = cfg.timeout.saturating_sub(clock.real_elapsed());
            let exp = p.expect;
            let mut seen = 0usize;
            let mut forward = |e: &Entry| {
                (on_entry.borrow_mut())(&name, e);
                if let Entry::Status { at, status } = e {
                    for ep in controller.borrow_mut().on_status(meta, *at, status) {
                        if let Entry::ServiceEndpoint {
                            at,
                            service,
                            endpoint,
                        } = &ep
                        {
                            proxy.observe(*at, service, i, *endpoint);
                        }
                        (on_entry.borrow_mut())(&name, &ep);
                        endpoint_entries.borrow_mut()[i].push((seen, ep));
                    }
                }
                seen += 1;
            };
            let recheck_at = expect::recheck_times(&exp);
            let mut settle = expect::settle::Settle::new(&exp);
            let mut decided = |t: &Timeline, now: Duration| {
                if !any_expectations {
                    return None;
                }
                let stop_at = settle.stop_at(t, now);
                let mut all = decisions.borrow_mut();
                // A pod that expects nothing counts as passed from the start.
                if !exp.is_empty() {
                    all[i] = settle.decision().clone();
                    first_failures.borrow_mut()[i] = settle.first_failure();
                }
                // A failure for good ends every pod at the end of its tail, which this
                // pod may not live to see (it finished), nor a quiet pod ask about: the
                // tail watch below ends the run then.
                if matches!(all[i], Decision::Failed(_)) && fail_stop_tx.borrow().is_none() {
                    let _ = fail_stop_tx.send(stop_at);
                }
                if all.iter().all(|d| *d == Decision::Passed) && traffic_done.get() {
                    decided_all.set(true);
                    let _ = stop_tx.send(true);
                    return Some(now);
                }
                None
            };
            let observer = Observer {
                on_entry: &mut forward,
                decided: &mut decided,
                recheck_at,
                cancel: Some(stop_rx.clone()),
            };
            let out = run_pod(cfg, observer).await;
            if out.is_err() {
                // One pod that cannot run ends the others: the spec cannot be checked.
                let _ = stop_tx.send(true);
            }
            out.map(Ok)
        }
    });
    let requests: RefCell<Vec<crate::events::Request>> = RefCell::new(Vec::new());
    let traffic = async {
        if !has_traffic {
            return;
        }
        let hard_stop = crate::clock::deadline_in(timeout);
        let mut record = |r: crate::events::Request| {
            let pod = r.pod.clone().unwrap_or_default();
            let e = Entry::Request(Box::new(r));
            (on_entry.borrow_mut())(&pod, &e);
            if let Entry::Request(r) = e {
                requests.borrow_mut().push(*r);
            }
        };
        let finished = tokio::select! {
            _ = crate::cluster::traffic::run(cluster.traffic, &proxy, clock, stop_rx.clone(), &mut record) => true,
            // The pods time out on their own; the run must not count as decided then.
            _ = tokio::time::sleep_until(hard_stop) => false,
        };
        traffic_done.set(true);
        // The pods' expectations may all have been decided while requests were still due.
        // Traffic cut short (timeout, interruption, a pod that could not run) decides nothing.
        let settled = {
            let all = decisions.borrow();
            all.iter().all(|d| *d == Decision::Passed)
                || all.iter().any(|d| matches!(d, Decision::Failed(_)))
        };
        if finished && !*stop_rx.borrow() && settled {
            decided_all.set(true);
            let _ = stop_tx.send(true);
        }
    };
    // The end of the first failure's tail stops every pod (once the traffic is over: a
    // traffic window still open ends the run itself, see above).
    let tail_watch = async {
        let mut rx = fail_stop_rx;
        loop {
            let at = *rx.borrow();
            if let Some(at) = at {
                tokio::time::sleep_until(clock.instant_at(at)).await;
                if traffic_done.get() {
                    decided_all.set(true);
                    let _ = stop_tx.send(true);
                }
                break;
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
        std::future::pending::<std::convert::Infallible>().await
    };
    let all = futures_util::future::join(futures_util::future::join_all(futs), traffic);
    let all = async {
        tokio::select! {
            r = all => r.0,
            never = tail_watch => match never {},
        }
    };
    tokio::pin!(all);
    let user_cancel = async {
        match cancel {
            Some(mut c) => {
                while !*c.borrow() {
                    if c.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(user_cancel);
    let mut forwarded = false;
    let results = loop {
        tokio::select! {
            r = &mut all => break r,
            _ = &mut user_cancel, if !forwarded => {
                forwarded = true;
                interrupted.set(true);
                let _ = stop_tx.send(true);
            }
        }
    };
    let _ = proxy_stop_tx.send(true);
    let _ = proxy_task.await;
    // A pod never created ends where the pods that ran did (the stop), not after their
    // teardown.
    let ended_at = results
        .iter()
        .filter_map(|r| match r {
            Ok(Ok(o)) => Some(o.ended_at),
            _ => None,
        })
        .max()
        .unwrap_or_else(|| clock.now());
    let mut out = Vec::new();
    let mut endpoint_entries = endpoint_entries.take().into_iter();
    for r in results {
        let endpoints = endpoint_entries.next().unwrap_or_default();
        let outcome = match r? {
            Ok(mut o) => {
                // Pods stopped because the others were decided ended for that reason.
                if o.end == EndReason::Interrupted && !interrupted.get() && decided_all.get() {
                    o.end = EndReason::Decided;
                }
                merge_endpoints(&mut o.timeline, endpoints);
                o
            }
            // A pod never created: the run ended before its start_at.
            Err(why) => RunOutcome {
                timeline: Timeline::default(),
                logs: Vec::new(),
                end: match why {
                    EndReason::Interrupted if !interrupted.get() && decided_all.get() => {
                        EndReason::Decided
                    }
                    // Stopped because the other pods all ended for their own reasons.
                    EndReason::Interrupted if !interrupted.get() => EndReason::PodFinished,
                    other => other,
                },
                ended_at,
            },
        };
        out.push(outcome);
    }
    let mut requests = requests.take();
    requests.sort_by(|a, b| (a.at, &a.traffic, a.seq).cmp(&(b.at, &b.traffic, b.seq)));
    Ok(NodeRun {
        outcomes: out,
        first_failures: first_failures.take(),
        traffic: Timeline {
            entries: requests
                .into_iter()
                .map(|r| Entry::Request(Box::new(r)))
                .collect(),
        },
    })
}

/// Puts each endpoint entry right after the timeline entry (a status) that caused it.
fn merge_endpoints(timeline: &mut Timeline, endpoints: Vec<(usize, Entry)>) {
    if endpoints.is_empty() {
        return;
    }
    let mut pending = endpoints.into_iter().peekable();
    let old = std::mem::take(&mut timeline.entries);
    for (j, e) in old.into_iter().enumerate() {
        timeline.entries.push(e);
        while let Some((_, ep)) = pending.next_if(|(after, _)| *after == j) {
            timeline.entries.push(ep);
        }
    }
    timeline.entries.extend(pending.map(|(_, ep)| ep));
}

/// How long after the run began a pod was created, for its AGE column.
pub fn age(at: Duration, start_at: Duration) -> Duration {
    at.saturating_sub(start_at)
}

/// What the kubelets of a run know of the cluster: in pod isolation every Service with its
/// ClusterIP and the cluster DNS; in isolation `none` neither (nothing would answer at those
/// addresses on the host's loopback).
pub fn cluster_info(
    services: &std::collections::BTreeMap<String, crate::spec::model::Service>,
    pod_mode: bool,
) -> crate::kubelet::ClusterInfo {
    use crate::cluster::addresses::{
        CLUSTER_DNS_IP, CLUSTER_DOMAIN, ClusterAddresses, service_namespace,
    };
    use crate::kubelet::service_env::{ServiceLink, ServiceLinkPort};
    // The kubelet's --resolv-conf default; a node without one has an empty base.
    let host = std::fs::read_to_string("/etc/resolv.conf")
        .map(|t| crate::kubelet::pod_dns::parse_resolv_conf(&t))
        .unwrap_or_default();
    let mut info = crate::kubelet::ClusterInfo {
        services: Vec::new(),
        dns: crate::kubelet::pod_dns::DnsSettings {
            cluster_dns: Vec::new(),
            cluster_domain: CLUSTER_DOMAIN.to_owned(),
            host,
        },
    };
    if !pod_mode {
        return info;
    }
    info.dns.cluster_dns = vec![CLUSTER_DNS_IP.into()];
    let addresses = ClusterAddresses::allocate(services);
    for (name, s) in services {
        let ns = service_namespace(s);
        if let Some(ip) = addresses.cluster_ip(ns, name) {
            info.services.push(ServiceLink {
                namespace: ns.to_owned(),
                name: name.clone(),
                cluster_ip: ip,
                ports: s
                    .ports
                    .iter()
                    .map(|p| ServiceLinkPort {
                        name: p.name.clone().unwrap_or_default(),
                        port: p.port,
                        protocol: p.protocol.clone().unwrap_or_default(),
                    })
                    .collect(),
            });
        }
    }
    info
}

/// Starts the cluster DNS in the network namespace of every pod of `cfgs`, with the run's
/// Services (at their ClusterIPs) and the pods' namespaces in its zone.
pub fn start_cluster_dns(
    cfgs: &[PodConfig],
    services: &std::collections::BTreeMap<String, crate::spec::model::Service>,
) -> Result<crate::cluster::dns::ClusterDns, crate::cluster::dns::DnsError> {
    let networks: Vec<_> = cfgs.iter().filter_map(|c| c.network.clone()).collect();
    let namespaces: Vec<&str> = cfgs.iter().map(|c| c.namespace.as_str()).collect();
    // CoreDNS's SOA serial is the time of the last change it saw: here, the run's start.
    let serial = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let addresses = crate::cluster::addresses::ClusterAddresses::allocate(services);
    let zone = crate::cluster::dns::zone_for(services, &addresses, &namespaces, serial)?;
    crate::cluster::dns::ClusterDns::start(&networks, zone)
}
