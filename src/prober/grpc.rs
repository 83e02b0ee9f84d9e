//! The gRPC probe as the kubelet runs it (pkg/probe/grpc/grpc.go): a blocking plaintext dial
//! bounded by the probe timeout, then one `grpc.health.v1.Health/Check` with the same
//! deadline. Every outcome is a success or a failure with the kubelet's text, never an error.
//!
//! grpc-go's `DialContext(WithBlock)` only returns once the channel is READY, i.e. after the
//! TCP connect *and* the server's HTTP/2 SETTINGS frame (its preface); a failed attempt is
//! retried after grpc-go's backoff until the deadline, and the kubelet then reports
//! `timeout: failed to connect service ... context deadline exceeded` — also for a refused
//! port or a peer that is not gRPC (pkg/probe/grpc/grpc_test.go expects exactly that).

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use tokio::time::{Instant, sleep_until, timeout_at};
use tonic::Code;
use tonic::codegen::http::Uri;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::{KUBE_VERSION, ProbeContext, ProbeError, ProbeOutcome};
use crate::spec::model::GrpcAction;

/// grpc-go's reconnect backoff (backoff.DefaultConfig): the first retry waits exactly 1 s.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Growth factor of grpc-go's backoff between failed connection attempts.
const BACKOFF_MULTIPLIER: f64 = 1.6;
/// Cap of grpc-go's backoff.
const BACKOFF_MAX: Duration = Duration::from_secs(120);
/// grpc-go's minConnectTimeout: a single connection attempt gets at least this long.
const MIN_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// The HTTP/2 frame type of SETTINGS, which a server's preface must start with.
const FRAME_SETTINGS: u8 = 0x4;
/// Length of an HTTP/2 frame header.
const FRAME_HEADER_LEN: usize = 9;

/// Runs one gRPC health probe against `ctx.pod_ip:a.port` within `timeout`.
pub async fn probe(
    a: &GrpcAction,
    ctx: &ProbeContext,
    timeout: Duration,
) -> Result<ProbeOutcome, ProbeError> {
    let start = Instant::now();
    // An absurd timeout that overflows Instant behaves like "no deadline in our lifetime".
    let deadline = crate::clock::instant_after(start, timeout);
    let host = ctx.pod_ip.trim_start_matches('[').trim_end_matches(']');
    let addr = join_host_port(host, a.port);
    let within = &ctx.timeout_display;

    let target = match parse_target(host, a.port) {
        Ok(target) => target,
        Err(e) => {
            return Ok(ProbeOutcome::failure(format!(
                "error: failed to connect service at \"{addr}\": {e}"
            )));
        }
    };
    let conn = match dial_blocking(target, deadline).await {
        Ok(Some(conn)) => conn,
        Ok(None) => {
            return Ok(ProbeOutcome::failure(format!(
                "timeout: failed to connect service \"{addr}\" within {within}: \
                 context deadline exceeded"
            )));
        }
        Err(e) => {
            return Ok(ProbeOutcome::failure(format!(
                "error: failed to connect service at \"{addr}\": {e}"
            )));
        }
    };

    let mut client = HealthClient::new(conn.channel.clone());
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: a.service.clone().unwrap_or_default(),
    });
    // grpc-go sends the context's remaining time as grpc-timeout; so do we.
    request.set_timeout(deadline.saturating_duration_since(Instant::now()));
    let rpc_timeout = || {
        ProbeOutcome::failure(format!(
            "timeout: health rpc did not complete within {within}"
        ))
    };
    let outcome = match timeout_at(deadline, client.check(request)).await {
        Err(_elapsed) => rpc_timeout(),
        // A server that enforces our grpc-timeout may answer a hair before our own timer
        // fires; grpc-go's client deadline wins that race, so report it the same way.
        Ok(Err(_)) if Instant::now() >= deadline => rpc_timeout(),
        Ok(Err(status)) => match status.code() {
            Code::Unimplemented => ProbeOutcome::failure(format!(
                "error: this server does not implement the grpc health protocol \
                 (grpc.health.v1.Health): {}",
                status.message()
            )),
            Code::DeadlineExceeded => rpc_timeout(),
            code => ProbeOutcome::failure(format!(
                "error: health rpc probe failed: rpc error: code = {} desc = {}",
                go_code_name(code),
                status.message()
            )),
        },
        Ok(Ok(response)) => {
            let status = response.into_inner().status;
            if status == ServingStatus::Serving as i32 {
                ProbeOutcome::success("service healthy")
            } else {
                ProbeOutcome::failure(format!(
                    "service unhealthy (responded with \"{}\")",
                    status_name(status)
                ))
            }
        }
    };
    // Close the client, then the connection and every task it spawned, before returning.
    drop(client);
    drop(conn);
    Ok(outcome)
}

/// `net.JoinHostPort`: brackets IPv6 hosts.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The socket address to dial; the pod IP is always an IP and validation bounds the port.
fn parse_target(host: &str, port: i64) -> Result<SocketAddr, String> {
    let ip: IpAddr = host
        .parse()
        .map_err(|_| format!("'{host}' is not an IP address"))?;
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("invalid port {port}"))?;
    Ok(SocketAddr::new(ip, port))
}

/// A READY connection: its channel, and the guard that ends its tasks when dropped.
struct Conn {
    /// The tonic channel over our own socket (dropped first: fields drop in order).
    channel: Channel,
    /// Aborts the connection and buffer tasks, closing the socket.
    _tasks: AbortOnDrop,
}

/// grpc-go's blocking dial: attempts until one reaches READY, sleeping grpc-go's backoff
/// after each failure. `Ok(None)` means the deadline passed (returned only at the deadline,
/// as grpc-go does); `Err` is a failure that no retry can fix.
async fn dial_blocking(target: SocketAddr, deadline: Instant) -> Result<Option<Conn>, String> {
    let endpoint = Endpoint::from_shared(format!("http://{target}"))
        .and_then(|e| e.user_agent(format!("kube-probe/{KUBE_VERSION}")))
        .map_err(|e| e.to_string())?;
    let mut backoff = BACKOFF_BASE;
    // Bounded: every failed round sleeps at least BACKOFF_BASE before the deadline check.
    loop {
        let attempt_deadline = Instant::now() + MIN_CONNECT_TIMEOUT.max(backoff);
        if let Ok(Ok(conn)) =
            timeout_at(deadline.min(attempt_deadline), attempt(&endpoint, target)).await
        {
            return Ok(Some(conn));
        }
        // grpc-go discards attempt errors in a blocking dial without WithReturnConnectionError.
        let retry_at = Instant::now() + backoff;
        if retry_at >= deadline {
            sleep_until(deadline).await;
            return Ok(None);
        }
        sleep_until(retry_at).await;
        // grpc-go jitters later delays by ±20%; we keep them deterministic.
        backoff = backoff.mul_f64(BACKOFF_MULTIPLIER).min(BACKOFF_MAX);
    }
}

/// One connection attempt: a fresh socket, the HTTP/2 handshake, and the server's preface.
async fn attempt(endpoint: &Endpoint, target: SocketAddr) -> Result<Conn, String> {
    let stream = dial(target).await.map_err(|e| e.to_string())?;
    let (preface_tx, preface_rx) = oneshot::channel();
    let mut io = Some(PrefaceWatch::new(stream, preface_tx));
    let executor = ProbeExecutor::default();
    // Declared before the channel so that a failed or cancelled attempt also ends its tasks.
    let tasks = AbortOnDrop(executor.clone());
    // The connector hands out this attempt's socket once: tonic must never dial on its own
    // (the socket may later come from the pod's network namespace) or reconnect behind us.
    let connector = tower::service_fn(move |_: Uri| {
        let io = io.take();
        async move {
            io.map(TokioIo::new)
                .ok_or_else(|| io::Error::other("the probe connection was already used"))
        }
    });
    let channel = endpoint
        .clone()
        .executor(executor)
        .connect_with_connector(connector)
        .await
        .map_err(|e| e.to_string())?;
    match preface_rx.await {
        Ok(Ok(())) => Ok(Conn {
            channel,
            _tasks: tasks,
        }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err("connection closed before server preface received".into()),
    }
}

/// Opens the probe's TCP connection (the one place to change where sockets come from).
async fn dial(target: SocketAddr) -> io::Result<TcpStream> {
    let socket = super::new_socket(target)?;
    let stream = socket.connect(target).await?;
    // Go sets TCP_NODELAY on every TCP connection; without it Nagle holds the request's
    // DATA frame behind the HEADERS frame until the server's delayed ACK (~40 ms).
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Spawns tonic's background tasks (connection driver, buffer worker) on tokio and keeps
/// their abort handles, so a probe can end them all.
#[derive(Clone, Default)]
struct ProbeExecutor(Arc<Mutex<Vec<AbortHandle>>>);

impl<F> hyper::rt::Executor<F> for ProbeExecutor
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, fut: F) {
        let handle = tokio::spawn(fut);
        // A poisoned lock only means another thread panicked mid-push; the list is still fine.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handle.abort_handle());
    }
}

/// Aborts every task a [`ProbeExecutor`] spawned when dropped.
struct AbortOnDrop(ProbeExecutor);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let handles = std::mem::take(&mut *self.0.0.lock().unwrap_or_else(PoisonError::into_inner));
        for handle in handles {
            handle.abort();
        }
    }
}

/// Passes a stream through while watching the first bytes the server sends: grpc-go treats
/// a connection as READY only once the first frame it reads is a SETTINGS frame.
struct PrefaceWatch<S> {
    /// The socket.
    inner: S,
    /// The first frame header's bytes seen so far.
    header: [u8; FRAME_HEADER_LEN],
    /// How many of `header` are filled.
    seen: usize,
    /// Where the verdict goes; `None` once sent.
    verdict: Option<oneshot::Sender<Result<(), String>>>,
}

impl<S> PrefaceWatch<S> {
    /// Wraps `inner`, reporting the preface verdict on `verdict`.
    fn new(inner: S, verdict: oneshot::Sender<Result<(), String>>) -> Self {
        PrefaceWatch {
            inner,
            header: [0; FRAME_HEADER_LEN],
            seen: 0,
            verdict: Some(verdict),
        }
    }

    /// Sends the verdict once; the receiver may be gone (attempt over), which is fine.
    fn report(&mut self, verdict: Result<(), String>) {
        if let Some(tx) = self.verdict.take() {
            let _ = tx.send(verdict);
        }
    }

    /// Looks at freshly read bytes until the first frame header is complete.
    fn observe(&mut self, fresh: &[u8]) {
        if self.verdict.is_none() {
            return;
        }
        if fresh.is_empty() {
            self.report(Err(
                "error reading server preface: EOF (connection closed by the server)".into(),
            ));
            return;
        }
        let take = (FRAME_HEADER_LEN - self.seen).min(fresh.len());
        self.header[self.seen..self.seen + take].copy_from_slice(&fresh[..take]);
        self.seen += take;
        if self.seen == FRAME_HEADER_LEN {
            let stream_id = u32::from_be_bytes([
                self.header[5] & 0x7f,
                self.header[6],
                self.header[7],
                self.header[8],
            ]);
            let verdict = if self.header[3] == FRAME_SETTINGS && stream_id == 0 {
                Ok(())
            } else {
                Err("first frame received is not a setting frame".into())
            };
            self.report(verdict);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PrefaceWatch<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        match &result {
            Poll::Ready(Ok(())) => this.observe(&buf.filled()[before..]),
            Poll::Ready(Err(e)) => this.report(Err(format!("error reading server preface: {e}"))),
            Poll::Pending => {}
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PrefaceWatch<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// grpc-go's `codes.Code.String()` names (note "Canceled").
fn go_code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// The enum name Go's protobuf prints for a serving status, or the number if unknown.
fn status_name(status: i32) -> String {
    ServingStatus::try_from(status)
        .map(|s| s.as_str_name().to_string())
        .unwrap_or_else(|_| status.to_string())
}
#[cfg(test)]
#[path = "grpc_tests.rs"]
mod tests;
