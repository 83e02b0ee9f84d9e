//! The Service proxy, as kube-proxy in iptables mode behaves (pkg/proxy/iptables/proxier.go),
//! moved into userspace on loopback:
//!
//! - Every pod in `pod` isolation gets, for every Service port, a listener on
//!   ClusterIP:port inside its own network namespace (sockets from its sandbox), as every
//!   node's KUBE-SERVICES chain matches the ClusterIP for every pod on it.
//! - A new connection goes to one of the Service's ready endpoints, chosen at random with
//!   equal chances (the KUBE-SVC chain's `-m statistic --mode random --probability 1/n`
//!   rules), and reaches that pod through *its* sandbox's socket at 127.0.0.1:targetPort
//!   (a named targetPort resolves through the pod's container ports, as the EndpointSlice
//!   controller does; a pod without that port is not an endpoint of the port). Bytes are
//!   copied both ways until either side closes, like a conntrack entry that outlives the
//!   endpoint's removal: connections already open keep their pod.
//! - A Service port with no ready endpoint rejects new connections with ECONNREFUSED, as
//!   the "has no endpoints" `-j REJECT` rule (icmp-port-unreachable) does. podcheck gets a
//!   real ECONNREFUSED by listening only while the port has ready endpoints: the kernel
//!   then answers the SYN with a RST. (Accepting and resetting would show the client
//!   ECONNRESET after a completed connect, which no cluster shows.) The socket stays bound
//!   in between, so a port that comes back costs a listen(), not a new socket.
//! - The proxy sees each endpoint change `cluster.endpoint_propagation` after the endpoints
//!   controller made it (watch delay plus kube-proxy's sync), so a terminating pod still
//!   gets new connections for that long.
//!
//! Limits: TCP only; no session affinity, no topology or traffic policies; a ready endpoint
//! whose port has no listener yields a connection that is accepted and then reset (in a
//! cluster the DNAT'd SYN would be refused); a container that listens on the same port on
//! 0.0.0.0 keeps the proxy's listener for that port out of its pod (in a cluster the DNAT
//! happens before any socket).

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::events::EndpointConditions;
use crate::runtime::netns::PodNetwork;
use crate::spec::model::{ContainerPort, IntOrString, Pod, Service};

use super::addresses::{ClusterAddresses, service_namespace};

/// A pod the proxy can send connections to (and whose namespace gets the listeners).
#[derive(Debug, Clone)]
pub struct ProxyPod {
    /// metadata.name.
    pub name: String,
    /// The pod's network namespace (None in isolation `none`: no listeners, no endpoint).
    pub network: Option<Arc<PodNetwork>>,
    /// Every container port of the pod, for named targetPorts.
    pub ports: Vec<ContainerPort>,
}

impl ProxyPod {
    /// The proxy's record of pod `name` with spec `pod`.
    pub fn new(name: &str, pod: &Pod, network: Option<Arc<PodNetwork>>) -> Self {
        ProxyPod {
            name: name.to_owned(),
            network,
            ports: pod
                .init_containers
                .iter()
                .chain(&pod.containers)
                .flat_map(|c| c.ports.iter().cloned())
                .collect(),
        }
    }

    /// The pod's port for a Service port's targetPort, if it has one.
    fn target(&self, target: &IntOrString) -> Option<u16> {
        match target {
            IntOrString::Int(n) => u16::try_from(*n).ok(),
            IntOrString::String(name) => self
                .ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok()),
        }
    }
}

/// One Service port as the proxy programs it.
#[derive(Debug, Clone)]
struct PortRule {
    port: u16,
    name: Option<String>,
    target: IntOrString,
}

#[derive(Debug, Clone)]
struct ServiceRules {
    name: String,
    cluster_ip: Ipv4Addr,
    ports: Vec<PortRule>,
}

/// An endpoint change as the proxy will see it: at `visible_at` (spec time).
#[derive(Debug, Clone, Copy)]
struct Change {
    visible_at: Duration,
    service: usize,
    pod: usize,
    ready: bool,
}

/// Where a connection goes: the endpoint pod and its port.
#[derive(Debug, Clone)]
pub struct Backend {
    /// Index of the pod (as given to [`ServiceProxy::new`]).
    pub pod: usize,
    /// The pod's name.
    pub pod_name: String,
    /// 127.0.0.1:targetPort inside the pod.
    pub port: u16,
}

/// Why the proxy could not choose a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoBackend {
    /// No such Service or Service port.
    UnknownPort,
    /// The port has no ready endpoint in the proxy's view: REJECT.
    NoEndpoints,
}

struct Inner {
    clock: Clock,
    propagation: Duration,
    services: Vec<ServiceRules>,
    pods: Vec<ProxyPod>,
    changes: Mutex<Vec<Change>>,
    changed: Notify,
    rng: Mutex<u64>,
}

/// The Service proxy of a run: the delayed endpoint view, the choice of backends and the
/// listeners in every pod's network namespace.
#[derive(Clone)]
pub struct ServiceProxy {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ServiceProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceProxy")
            .field("services", &self.inner.services.len())
            .field("pods", &self.inner.pods.len())
            .finish()
    }
}

impl ServiceProxy {
    /// A proxy for `services` over `pods`, seeing endpoint changes `propagation` (spec
    /// time) after they happen, on `clock`.
    pub fn new(
        services: &std::collections::BTreeMap<String, Service>,
        pods: Vec<ProxyPod>,
        clock: Clock,
        propagation: Duration,
    ) -> Self {
        let addresses = ClusterAddresses::allocate(services);
        let services = services
            .iter()
            .filter_map(|(name, s)| {
                let ip = addresses.cluster_ip(service_namespace(s), name)?;
                Some(ServiceRules {
                    name: name.clone(),
                    cluster_ip: ip,
                    ports: s
                        .ports
                        .iter()
                        .filter_map(|p| {
                            Some(PortRule {
                                port: u16::try_from(p.port).ok()?,
                                name: p.name.clone(),
                                target: p.target_port.clone().unwrap_or(IntOrString::Int(p.port)),
                            })
                        })
                        .collect(),
                })
            })
            .collect();
        let seed = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(u64::from(std::process::id()));
            h.finish() | 1
        };
        ServiceProxy {
            inner: Arc::new(Inner {
                clock,
                propagation,
                services,
                pods,
                changes: Mutex::new(Vec::new()),
                changed: Notify::new(),
                rng: Mutex::new(seed),
            }),
        }
    }

    /// The ClusterIP of Service `name`.
    pub fn cluster_ip(&self, name: &str) -> Option<Ipv4Addr> {
        self.inner
            .services
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.cluster_ip)
    }

    /// The endpoints controller changed pod `pod`'s endpoint in Service `service` at spec
    /// time `at`; the proxy acts on it `propagation` later.
    pub fn observe(&self, at: Duration, service: &str, pod: usize, ep: Option<EndpointConditions>) {
        let Some(si) = self.inner.services.iter().position(|s| s.name == service) else {
            return;
        };
        let change = Change {
            visible_at: at.saturating_add(self.inner.propagation),
            service: si,
            pod,
            ready: ep.is_some_and(|c| c.ready),
        };
        lock(&self.inner.changes).push(change);
        self.inner.changed.notify_one();
    }

    /// The pods that are ready endpoints of service index `si` in the proxy's view at spec
    /// time `now`.
    fn ready_pods(&self, si: usize, now: Duration) -> Vec<usize> {
        let changes = lock(&self.inner.changes);
        let mut state: HashMap<usize, bool> = HashMap::new();
        for c in changes
            .iter()
            .filter(|c| c.service == si && c.visible_at <= now)
        {
            state.insert(c.pod, c.ready);
        }
        let mut ready: Vec<usize> = state
            .into_iter()
            .filter_map(|(p, r)| r.then_some(p))
            .collect();
        ready.sort_unstable();
        ready
    }

    /// The backends of a Service port right now: ready endpoints that have its targetPort.
    fn backends(&self, si: usize, rule: &PortRule) -> Vec<Backend> {
        let now = self.inner.clock.now();
        self.ready_pods(si, now)
            .into_iter()
            .filter_map(|p| {
                let pod = self.inner.pods.get(p)?;
                pod.network.as_ref()?;
                Some(Backend {
                    pod: p,
                    pod_name: pod.name.clone(),
                    port: pod.target(&rule.target)?,
                })
            })
            .collect()
    }

    fn rule(&self, service: &str, port: &IntOrString) -> Option<(usize, &PortRule)> {
        let si = self.inner.services.iter().position(|s| s.name == service)?;
        let svc = &self.inner.services[si];
        let rule = match port {
            IntOrString::Int(n) => svc.ports.iter().find(|p| i64::from(p.port) == *n),
            IntOrString::String(n) => svc.ports.iter().find(|p| p.name.as_deref() == Some(n)),
        }?;
        Some((si, rule))
    }

    /// The port of a Service that has exactly one.
    pub fn only_port(&self, service: &str) -> Option<u16> {
        match self
            .inner
            .services
            .iter()
            .find(|s| s.name == service)?
            .ports
            .as_slice()
        {
            [one] => Some(one.port),
            _ => None,
        }
    }

    /// The Service port number of `port` (a number or a port name) of Service `service`.
    pub fn port_number(&self, service: &str, port: &IntOrString) -> Option<u16> {
        self.rule(service, port).map(|(_, r)| r.port)
    }

    /// Chooses the backend of a new connection to Service `service` port `port`: one of
    /// its ready endpoints in the proxy's view, at random with equal chances.
    pub fn pick(&self, service: &str, port: &IntOrString) -> Result<Backend, NoBackend> {
        let (si, rule) = self.rule(service, port).ok_or(NoBackend::UnknownPort)?;
        let mut all = self.backends(si, rule);
        if all.is_empty() {
            return Err(NoBackend::NoEndpoints);
        }
        let i = (self.next_random() % all.len() as u64) as usize;
        Ok(all.swap_remove(i))
    }

    /// xorshift64*: the proxy's only randomness, the choice among equal endpoints.
    fn next_random(&self) -> u64 {
        let mut s = lock(&self.inner.rng);
        let mut x = *s;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *s = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Opens a connection to `backend` from inside its pod's network namespace.
    pub async fn connect(&self, backend: &Backend) -> io::Result<TcpStream> {
        let net = self
            .inner
            .pods
            .get(backend.pod)
            .and_then(|p| p.network.clone())
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let std = net.socket(false)?;
        std.set_nonblocking(true)?;
        let sock = tokio::net::TcpSocket::from_std_stream(std);
        sock.connect(SocketAddr::from((Ipv4Addr::LOCALHOST, backend.port)))
            .await
    }

    /// Runs the listeners until `stop` turns true: each pod's namespace has a listener on
    /// ClusterIP:port for every Service port that has a backend in the proxy's view, and
    /// none for a port that has none.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        // (pod, service, port rule) → its socket, listening or not.
        let mut open: HashMap<(usize, usize, usize), Slot> = HashMap::new();
        // Listeners that could not be opened, and when to try again: a sandbox that is slow
        // to hand out a socket under load must not leave a Service refusing for good.
        let mut failed: HashMap<(usize, usize, usize), tokio::time::Instant> = HashMap::new();
        loop {
            if *stop.borrow() {
                break;
            }
            self.reconcile(&mut open, &mut failed);
            let next = self
                .next_visible_change()
                .map(|t| self.inner.clock.instant_at(t));
            let retry = failed.values().min().copied();
            let wake_at = match (next, retry) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wake = async {
                match wake_at {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wake => {}
                _ = self.inner.changed.notified() => {}
                r = stop.changed() => if r.is_err() { break },
            }
        }
        for (_, slot) in open {
            if let Some(task) = slot.task {
                task.abort();
            }
        }
    }

    /// The earliest change the proxy has not acted on yet.
    fn next_visible_change(&self) -> Option<Duration> {
        let now = self.inner.clock.now();
        lock(&self.inner.changes)
            .iter()
            .map(|c| c.visible_at)
            .filter(|t| *t > now)
            .min()
    }

    fn reconcile(
        &self,
        open: &mut HashMap<(usize, usize, usize), Slot>,
        failed: &mut HashMap<(usize, usize, usize), tokio::time::Instant>,
    ) {
        let now = tokio::time::Instant::now();
        for (si, svc) in self.inner.services.iter().enumerate() {
            for (ri, rule) in svc.ports.iter().enumerate() {
                let wanted = !self.backends(si, rule).is_empty();
                for (pi, pod) in self.inner.pods.iter().enumerate() {
                    let Some(net) = &pod.network else { continue };
                    let key = (pi, si, ri);
                    if !wanted {
                        if let Some(slot) = open.get_mut(&key)
                            && let Some(task) = slot.task.take()
                        {
                            task.abort();
                            // Refused from now on, not once the aborted task is dropped;
                            // a socket that cannot stop listening is closed instead.
                            if unlisten(&slot.sock).is_err() {
                                open.remove(&key);
                            }
                        }
                        failed.remove(&key);
                        continue;
                    }
                    if open
                        .get(&key)
                        .is_some_and(|s| s.task.as_ref().is_some_and(|t| !t.is_finished()))
                        || failed.get(&key).is_some_and(|at| *at > now)
                    {
                        continue;
                    }
                    // The socket bound the first time is listened on again: no new socket
                    // from the sandbox per endpoint change (hundreds at once when many pods
                    // flip together, each a round trip to another process).
                    let reused = open.remove(&key).and_then(|slot| {
                        let l = start_listening(&slot.sock).ok()?;
                        Some((slot.sock, l))
                    });
                    let made = match reused {
                        Some(r) => Ok(r),
                        None => bind_in(net, svc.cluster_ip, rule.port)
                            .and_then(|sock| Ok((start_listening(&sock)?, sock)))
                            .map(|(l, sock)| (sock, l)),
                    };
                    match made {
                        Ok((sock, l)) => {
                            failed.remove(&key);
                            let proxy = self.clone();
                            let port = IntOrString::Int(i64::from(rule.port));
                            let name = svc.name.clone();
                            let task =
                                tokio::spawn(async move { proxy.accept_loop(l, name, port).await });
                            open.insert(
                                key,
                                Slot {
                                    sock,
                                    task: Some(task),
                                },
                            );
                        }
                        Err(e) => {
                            tracing::warn!(
                                pod = %pod.name,
                                service = %svc.name,
                                port = rule.port,
                                error = %e,
                                "the Service proxy could not listen in the pod's namespace"
                            );
                            failed.insert(key, now + LISTEN_RETRY);
                        }
                    }
                }
            }
        }
    }

    async fn accept_loop(self, listener: TcpListener, service: String, port: IntOrString) {
        loop {
            let client = match listener.accept().await {
                Ok((c, _)) => c,
                Err(_) => {
                    // fd exhaustion and the like: back off rather than spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let proxy = self.clone();
            let service = service.clone();
            let port = port.clone();
            tokio::spawn(async move { proxy.forward(client, &service, &port).await });
        }
    }

    /// One proxied connection: choose a backend, connect, copy until either side closes.
    async fn forward(&self, mut client: TcpStream, service: &str, port: &IntOrString) {
        let backend = match self.pick(service, port) {
            Ok(b) => b,
            // The view changed between the accept and now: the listener goes soon.
            Err(_) => return reset(client),
        };
        let mut upstream = match self.connect(&backend).await {
            Ok(u) => u,
            Err(_) => return reset(client),
        };
        match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
            Ok(_) => {}
            // A reset on one side is passed on as a reset to the other.
            Err(_) => {
                reset(upstream);
                reset(client);
            }
        }
    }
}

/// How long (real time) the proxy waits before it tries again to open a listener that failed.
const LISTEN_RETRY: Duration = Duration::from_millis(200);

/// A Service port's socket in one pod's namespace, bound to ClusterIP:port, and the accept
/// task while it listens.
struct Slot {
    sock: OwnedFd,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

mod sockets;
#[cfg(test)]
use sockets::listen;
pub use sockets::reset;
use sockets::{bind_in, start_listening, unlisten};

#[cfg(test)]
mod tests;
