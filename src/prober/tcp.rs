//! The tcpSocket probe (pkg/probe/tcp/tcp.go): connect within the timeout, then close at once;
//! nothing is sent or read. Also what the HTTP prober shares with it: a dialer whose errors
//! read like Go's `net` package, and Go's `%q` quoting for messages the kubelet formats with it.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::port::{resolve_port, target_host};
use super::{ProbeContext, ProbeError, ProbeOutcome};
use crate::spec::model::TcpSocketAction;

/// Runs one tcpSocket probe attempt against `host` (or the pod IP) within `timeout`.
pub async fn probe(
    a: &TcpSocketAction,
    ctx: &ProbeContext,
    timeout: Duration,
) -> Result<ProbeOutcome, ProbeError> {
    let port = resolve_port(&a.port, &ctx.ports)?;
    let host = target_host(a.host.as_deref(), &ctx.pod_ip);
    match dial(host, port, Instant::now().checked_add(timeout)).await {
        // Dropping the stream closes it right away, like the kubelet's `conn.Close()`.
        Ok(conn) => {
            drop(conn);
            Ok(ProbeOutcome::success(""))
        }
        Err(e) => Ok(ProbeOutcome::failure(e)),
    }
}

/// A connected socket and its two ends (Go prints both in read errors).
pub(crate) struct Dialed {
    /// The connection.
    pub stream: TcpStream,
    /// Our end.
    pub local: Option<SocketAddr>,
    /// The server's end.
    pub peer: SocketAddr,
}

/// Connects like Go's `net.Dialer` (tries each resolved address in order, reports the first
/// error) with errors in Go's words: `dial tcp 127.0.0.1:80: connect: connection refused`,
/// `dial tcp 127.0.0.1:80: i/o timeout`, `dial tcp: lookup x: no such host`.
pub(crate) async fn dial(
    host: &str,
    port: u16,
    deadline: Option<Instant>,
) -> Result<Dialed, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            let lookup = tokio::net::lookup_host((bare, port));
            let found = match deadline {
                Some(d) => tokio::time::timeout_at(d, lookup)
                    .await
                    .map_err(|_| format!("dial tcp: lookup {bare}: i/o timeout"))?,
                None => lookup.await,
            };
            // The resolver's own wording varies; Go's pure resolver says "no such host".
            let list: Vec<SocketAddr> = found
                .map_err(|_| format!("dial tcp: lookup {bare}: no such host"))?
                .collect();
            if list.is_empty() {
                return Err(format!("dial tcp: lookup {bare}: no such host"));
            }
            list
        }
    };
    let mut first_err = None;
    for addr in addrs {
        let connect = async move { super::new_socket(addr)?.connect(addr).await };
        let res = match deadline {
            Some(d) => match tokio::time::timeout_at(d, connect).await {
                Ok(r) => r,
                Err(_) => return Err(format!("dial tcp {addr}: i/o timeout")),
            },
            None => connect.await,
        };
        match res {
            Ok(stream) => {
                return Ok(Dialed {
                    local: stream.local_addr().ok(),
                    stream,
                    peer: addr,
                });
            }
            Err(e) => {
                first_err
                    .get_or_insert_with(|| format!("dial tcp {addr}: connect: {}", errno_text(&e)));
            }
        }
    }
    Err(first_err.unwrap_or_else(|| format!("dial tcp: lookup {bare}: no such host")))
}

/// A TCP stream that keeps a copy of the first bytes the server sent, for Go's diagnoses:
/// a TLS record header of `HTTP/` (scheme mismatch), a malformed HTTP response line.
pub(crate) struct Recorded {
    inner: TcpStream,
    seen: Seen,
}

/// The bytes a [`Recorded`] stream has received so far (at most [`Seen::LIMIT`]).
#[derive(Clone, Default)]
pub(crate) struct Seen(Arc<Mutex<Vec<u8>>>);

impl Seen {
    /// How many leading bytes are kept.
    const LIMIT: usize = 4096;

    /// The first `n` bytes (fewer if fewer arrived).
    pub(crate) fn first(&self, n: usize) -> Vec<u8> {
        let seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        seen[..n.min(seen.len())].to_vec()
    }

    fn record(&self, new: &[u8]) {
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let take = new.len().min(Self::LIMIT.saturating_sub(seen.len()));
        seen.extend_from_slice(&new[..take]);
    }
}

impl Recorded {
    /// Wraps a connected stream.
    pub(crate) fn new(inner: TcpStream) -> Recorded {
        Recorded {
            inner,
            seen: Seen::default(),
        }
    }

    /// A handle on the recorded bytes that outlives the stream.
    pub(crate) fn seen(&self) -> Seen {
        self.seen.clone()
    }
}

impl AsyncRead for Recorded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.seen.record(&buf.filled()[before..]);
        polled
    }
}

impl AsyncWrite for Recorded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, b)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A socket error on an established connection as Go's `net.OpError` prints it
/// (`read tcp a->b: read: connection reset by peer`); `eof` is the text for a cut-off stream.
pub(crate) fn io_text(
    e: &io::Error,
    local: Option<SocketAddr>,
    peer: SocketAddr,
    eof: &str,
) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return eof.to_string();
    }
    if e.raw_os_error().is_some() {
        let local = local.map(|l| l.to_string()).unwrap_or_default();
        return format!("read tcp {local}->{peer}: read: {}", errno_text(e));
    }
    errno_text(e)
}

/// An OS error as Go's `syscall.Errno` prints it: `connection refused`, not
/// `Connection refused (os error 111)`.
pub(crate) fn errno_text(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => text[..i].to_string(),
        _ => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{ContainerPort, IntOrString};
    use tokio::net::TcpListener;

    fn ctx(ports: Vec<ContainerPort>) -> ProbeContext {
        ProbeContext::for_test(ports)
    }

    fn named(name: &str, port: i64) -> ContainerPort {
        ContainerPort {
            name: Some(name.into()),
            container_port: port,
            protocol: None,
        }
    }

    async fn closed_port() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn connect_succeeds_against_a_listener() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let a = TcpSocketAction {
            port: IntOrString::String("redis".into()),
            host: None,
        };
        let out = probe(
            &a,
            &ctx(vec![named("redis", port.into())]),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        assert_eq!(out, ProbeOutcome::success(""));
    }

    #[tokio::test]
    async fn refused_reads_like_go() {
        let port = closed_port().await;
        let a = TcpSocketAction {
            port: IntOrString::Int(port.into()),
            host: Some("127.0.0.1".into()),
        };
        let out = probe(&a, &ctx(Vec::new()), Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(
            out,
            ProbeOutcome::failure(format!(
                "dial tcp 127.0.0.1:{port}: connect: connection refused"
            ))
        );
    }

    #[tokio::test]
    async fn ipv6_loopback_is_bracketed() {
        // Skipped where the host has no IPv6 loopback.
        let Ok(l) = TcpListener::bind("[::1]:0").await else {
            return;
        };
        let port = l.local_addr().unwrap().port();
        drop(l);
        let a = TcpSocketAction {
            port: IntOrString::Int(port.into()),
            host: Some("::1".into()),
        };
        let out = probe(&a, &ctx(Vec::new()), Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(
            out.output,
            format!("dial tcp [::1]:{port}: connect: connection refused")
        );
    }

    #[tokio::test]
    async fn unknown_named_port_is_an_error() {
        let a = TcpSocketAction {
            port: IntOrString::String("nope".into()),
            host: None,
        };
        let err = probe(&a, &ctx(Vec::new()), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err, ProbeError::unknown("port \"nope\" not found"));
    }

    #[tokio::test]
    async fn a_full_backlog_times_out_like_go() {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        // Never accepted: once the accept queue is full the kernel drops further SYNs.
        let _listener = socket.listen(0).unwrap();
        let mut fillers = Vec::new();
        for _ in 0..4 {
            let c = TcpStream::connect(("127.0.0.1", port));
            if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_millis(100), c).await {
                fillers.push(s);
            }
        }
        let a = TcpSocketAction {
            port: IntOrString::Int(port.into()),
            host: None,
        };
        let out = probe(&a, &ctx(Vec::new()), Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(
            out,
            ProbeOutcome::failure(format!("dial tcp 127.0.0.1:{port}: i/o timeout"))
        );
    }
}
