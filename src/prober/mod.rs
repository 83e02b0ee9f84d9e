//! Probe handlers as the kubelet runs them (pkg/probe and kubelet/prober/prober.go): exec,
//! httpGet, tcpSocket and grpc, one attempt each, with the kubelet's results and messages.
//! The probe *worker* (periods, thresholds, gating) lives in the kubelet module.

use std::path::PathBuf;
use std::time::Duration;

use crate::spec::model::{
    ContainerPort, ExecAction, GrpcAction, HttpGetAction, Probe, TcpSocketAction,
};

pub mod exec;
pub mod grpc;
pub mod http;
pub mod port;
pub mod quote;
pub mod tcp;
pub mod tls;

/// The Kubernetes minor version podcheck emulates; used in `kube-probe/<v>` user agents.
pub const KUBE_VERSION: &str = "1.35";

/// The low-level outcome of one probe attempt (pkg/probe `Result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeResult {
    /// Healthy.
    Success,
    /// Healthy, with a warning event (an HTTP redirect that was not followed).
    Warning,
    /// Unhealthy.
    Failure,
    /// Undecided (counts as failure, without an event).
    Unknown,
}

/// One probe attempt's result and the text the kubelet puts in its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// Success, warning, failure or unknown.
    pub result: ProbeResult,
    /// The output / failure text (after `Liveness probe failed: `).
    pub output: String,
}

impl ProbeOutcome {
    /// A success with output.
    pub fn success(output: impl Into<String>) -> Self {
        ProbeOutcome {
            result: ProbeResult::Success,
            output: output.into(),
        }
    }

    /// A failure with its message.
    pub fn failure(output: impl Into<String>) -> Self {
        ProbeOutcome {
            result: ProbeResult::Failure,
            output: output.into(),
        }
    }
}

/// A probe attempt that returned a Go error next to its result (pkg/probe handlers return
/// `(result, output, err)`): the kubelet retries it and then reports `<Type> probe errored
/// and resulted in <result> state: <err>`, throwing the result away (prober.go, worker.go).
/// The result is `unknown` when the probe could not run at all (a named port that does not
/// exist, an exec that cannot start) and `failure` when an HTTP body read broke off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProbeError {
    /// The result the handler returned with its error.
    pub result: ProbeResult,
    /// Go's error text.
    pub message: String,
}

impl ProbeError {
    /// An error with result `unknown`: the probe could not be run.
    pub fn unknown(message: impl Into<String>) -> Self {
        ProbeError {
            result: ProbeResult::Unknown,
            message: message.into(),
        }
    }

    /// An error with result `failure` (http.go: `return probe.Failure, "", err`).
    pub fn failure(message: impl Into<String>) -> Self {
        ProbeError {
            result: ProbeResult::Failure,
            message: message.into(),
        }
    }

    /// The result's name as `probe.Result` prints it (pkg/probe/probe.go).
    pub fn state(&self) -> &'static str {
        match self.result {
            ProbeResult::Success => "success",
            ProbeResult::Warning => "warning",
            ProbeResult::Failure => "failure",
            ProbeResult::Unknown => "unknown",
        }
    }
}

/// What a probe attempt needs to know about its container.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    /// The pod IP the probe targets when the handler sets no host (loopback here).
    pub pod_ip: String,
    /// The container's declared ports, for named ports.
    pub ports: Vec<ContainerPort>,
    /// The container's environment, for exec probes (they run "inside" the container).
    pub env: Vec<(String, String)>,
    /// The container spec's own `env` entries, literal: all an exec probe's `$(VAR)` can name.
    pub spec_env: Vec<(String, String)>,
    /// The container's working directory, for exec probes.
    pub cwd: PathBuf,
    /// The probe timeout as the kubelet would print it (spec time), e.g. `1s`.
    pub timeout_display: String,
    /// The pod's network namespace, when the pod has one: sockets and exec probes go there.
    pub network: Option<std::sync::Arc<crate::runtime::netns::PodNetwork>>,
    /// The running container, whose namespaces an exec enters.
    pub container: Option<std::sync::Arc<crate::runtime::process::ContainerHandle>>,
}

#[cfg(test)]
impl ProbeContext {
    /// A context for handler tests: loopback, no network namespace, the temp dir as cwd.
    pub(crate) fn for_test(ports: Vec<ContainerPort>) -> Self {
        ProbeContext {
            pod_ip: "127.0.0.1".into(),
            ports,
            env: Vec::new(),
            spec_env: Vec::new(),
            cwd: std::env::temp_dir(),
            timeout_display: "1s".into(),
            network: None,
            container: None,
        }
    }
}

tokio::task_local! {
    /// The network namespace the current probe or hook dials into.
    static NETWORK: Option<std::sync::Arc<crate::runtime::netns::PodNetwork>>;
}

/// An unconnected TCP socket for `addr`: from the pod's network namespace when the running
/// probe has one, else an ordinary host socket.
pub(crate) fn new_socket(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpSocket> {
    let net = NETWORK.try_with(Clone::clone).ok().flatten();
    match net {
        Some(n) => {
            let s = n.socket(addr.is_ipv6())?;
            s.set_nonblocking(true)?;
            Ok(tokio::net::TcpSocket::from_std_stream(s))
        }
        None if addr.is_ipv6() => tokio::net::TcpSocket::new_v6(),
        None => tokio::net::TcpSocket::new_v4(),
    }
}

/// Runs `f` with the context's network namespace as the one probes dial into.
pub async fn in_pod_network<F: std::future::Future>(ctx: &ProbeContext, f: F) -> F::Output {
    NETWORK.scope(ctx.network.clone(), f).await
}

/// Which handler a probe uses.
#[derive(Debug, Clone)]
pub enum Handler {
    /// Run a command.
    Exec(ExecAction),
    /// HTTP GET.
    HttpGet(HttpGetAction),
    /// TCP connect.
    TcpSocket(TcpSocketAction),
    /// gRPC health check.
    Grpc(GrpcAction),
}

impl Handler {
    /// The handler's field name: exec, httpGet, tcpSocket or grpc.
    pub fn name(&self) -> &'static str {
        match self {
            Handler::Exec(_) => "exec",
            Handler::HttpGet(_) => "httpGet",
            Handler::TcpSocket(_) => "tcpSocket",
            Handler::Grpc(_) => "grpc",
        }
    }

    /// The handler of a probe (validation guarantees exactly one).
    pub fn of(p: &Probe) -> Option<Handler> {
        if let Some(e) = &p.exec {
            Some(Handler::Exec(e.clone()))
        } else if let Some(h) = &p.http_get {
            Some(Handler::HttpGet(h.clone()))
        } else if let Some(t) = &p.tcp_socket {
            Some(Handler::TcpSocket(t.clone()))
        } else {
            p.grpc.as_ref().map(|g| Handler::Grpc(g.clone()))
        }
    }
}

/// Runs one probe attempt with a real-time `timeout`.
pub async fn probe(
    handler: &Handler,
    ctx: &ProbeContext,
    timeout: Duration,
) -> Result<ProbeOutcome, ProbeError> {
    in_pod_network(ctx, async {
        match handler {
            Handler::Exec(a) => exec::probe(a, ctx, timeout).await,
            Handler::HttpGet(a) => http::probe(a, ctx, timeout).await,
            Handler::TcpSocket(a) => tcp::probe(a, ctx, timeout).await,
            Handler::Grpc(a) => grpc::probe(a, ctx, timeout).await,
        }
    })
    .await
}
