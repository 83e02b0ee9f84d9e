//! Tests of `grpc`.

use super::*;

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tonic::transport::server::Router;
use tonic_health::pb::HealthCheckResponse;
use tonic_health::pb::health_server::{Health, HealthServer};

use crate::prober::ProbeResult;

/// A probe context for `ip` whose printed timeout is always "1s".
fn ctx(ip: &str) -> ProbeContext {
    ProbeContext {
        pod_ip: ip.to_string(),
        ..ProbeContext::for_test(Vec::new())
    }
}

/// A grpc action for `port` and optional service.
fn action(port: u16, service: Option<&str>) -> GrpcAction {
    GrpcAction {
        port: i64::from(port),
        service: service.map(str::to_string),
    }
}

/// Serves `router` on an ephemeral port of `ip`; the task is aborted by the caller.
async fn serve(router: Router, ip: &str) -> Option<(u16, JoinHandle<()>)> {
    let listener = TcpListener::bind((ip, 0)).await.ok()?;
    let port = listener.local_addr().expect("local addr").port();
    let task = tokio::spawn(async move {
        let _ = router
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await;
    });
    Some((port, task))
}

/// The standard tonic-health server: "" SERVING, "svc" NOT_SERVING.
async fn health_server() -> (u16, JoinHandle<()>) {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("svc", tonic_health::ServingStatus::NotServing)
        .await;
    serve(Server::builder().add_service(service), "127.0.0.1")
        .await
        .expect("bind 127.0.0.1")
}

/// A health service that records the user agent and optionally never answers.
struct Recorder {
    hang: bool,
    agent: Arc<Mutex<Option<String>>>,
}

#[tonic::async_trait]
impl Health for Recorder {
    async fn check(
        &self,
        request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        let agent = request
            .metadata()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        *self.agent.lock().expect("lock") = agent;
        if self.hang {
            std::future::pending::<()>().await;
        }
        Ok(tonic::Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    type WatchStream = tokio_stream::Empty<Result<HealthCheckResponse, tonic::Status>>;

    async fn watch(
        &self,
        _request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("not in this test"))
    }
}

/// The dial-timeout text for 127.0.0.1:`port`.
fn dial_timeout(port: u16) -> String {
    format!(
        "timeout: failed to connect service \"127.0.0.1:{port}\" within 1s: \
         context deadline exceeded"
    )
}

async fn run(port: u16, service: Option<&str>, timeout_ms: u64) -> ProbeOutcome {
    probe(
        &action(port, service),
        &ctx("127.0.0.1"),
        Duration::from_millis(timeout_ms),
    )
    .await
    .expect("grpc probes never error")
}

#[tokio::test]
async fn serving_is_success() {
    let (port, server) = health_server().await;
    let out = run(port, None, 2000).await;
    assert_eq!(out, ProbeOutcome::success("service healthy"));
    server.abort();
}

#[tokio::test]
async fn not_serving_is_failure() {
    let (port, server) = health_server().await;
    let out = run(port, Some("svc"), 2000).await;
    assert_eq!(
        out,
        ProbeOutcome::failure("service unhealthy (responded with \"NOT_SERVING\")")
    );
    server.abort();
}

#[tokio::test]
async fn unknown_service_is_rpc_failure() {
    let (port, server) = health_server().await;
    let out = run(port, Some("nope"), 2000).await;
    // tonic-health's NotFound text; a grpc-go server says "unknown service".
    assert_eq!(
        out,
        ProbeOutcome::failure(
            "error: health rpc probe failed: \
             rpc error: code = NotFound desc = service not registered"
        )
    );
    server.abort();
}

#[tokio::test]
async fn sends_kube_probe_user_agent() {
    let agent = Arc::new(Mutex::new(None));
    let recorder = Recorder {
        hang: false,
        agent: agent.clone(),
    };
    let (port, server) = serve(
        Server::builder().add_service(HealthServer::new(recorder)),
        "127.0.0.1",
    )
    .await
    .expect("bind");
    assert_eq!(run(port, None, 2000).await.result, ProbeResult::Success);
    let seen = agent.lock().expect("lock").clone().unwrap_or_default();
    assert!(seen.starts_with("kube-probe/1.35 "), "user agent {seen:?}");
    server.abort();
}

#[tokio::test]
async fn server_without_health_service_is_unimplemented() {
    let (port, server) = serve(
        Server::builder().add_routes(tonic::service::Routes::default()),
        "127.0.0.1",
    )
    .await
    .expect("bind");
    let out = run(port, None, 2000).await;
    assert_eq!(
        out,
        ProbeOutcome::failure(
            "error: this server does not implement the grpc health protocol \
             (grpc.health.v1.Health): "
        )
    );
    server.abort();
}

#[tokio::test]
async fn hanging_check_is_rpc_timeout() {
    let recorder = Recorder {
        hang: true,
        agent: Arc::new(Mutex::new(None)),
    };
    let (port, server) = serve(
        Server::builder().add_service(HealthServer::new(recorder)),
        "127.0.0.1",
    )
    .await
    .expect("bind");
    let out = run(port, None, 400).await;
    assert_eq!(
        out,
        ProbeOutcome::failure("timeout: health rpc did not complete within 1s")
    );
    server.abort();
}

#[tokio::test]
async fn closed_port_waits_for_the_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let begun = Instant::now();
    let out = run(port, None, 300).await;
    assert_eq!(out, ProbeOutcome::failure(dial_timeout(port)));
    assert!(begun.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn non_grpc_peers_are_dial_timeouts() {
    // One peer closes at once, the other answers like an HTTP/1.1 server.
    for reply in [&b""[..], &b"HTTP/1.1 400 Bad Request\r\n\r\n"[..]] {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            // Bounded by the test: the task is aborted below.
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = [0u8; 64];
                let _ = stream.read(&mut buf).await;
                let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, reply).await;
            }
        });
        let out = run(port, None, 300).await;
        assert_eq!(out, ProbeOutcome::failure(dial_timeout(port)));
        server.abort();
    }
}

#[tokio::test]
async fn silent_peer_is_dial_timeout_and_nothing_lingers() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let (a, c) = (accepted.clone(), closed.clone());
    let server = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            let c = c.clone();
            tokio::spawn(async move {
                // Never answer; count the connection once the prober closes it.
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    let out = run(port, None, 300).await;
    assert_eq!(out, ProbeOutcome::failure(dial_timeout(port)));
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    // The probe closed its socket on return; allow the server task 2 s to see EOF.
    for _ in 0..200 {
        if closed.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(closed.load(Ordering::SeqCst), 1, "probe connection lingers");
    server.abort();
}

#[tokio::test]
async fn retries_after_grpc_go_backoff() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let starter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_reporter, service) = tonic_health::server::health_reporter();
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("rebind");
        let _ = Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await;
    });
    let begun = Instant::now();
    let out = run(port, None, 2500).await;
    assert_eq!(out.result, ProbeResult::Success);
    // The refused first attempt is retried exactly 1 s later, as grpc-go does.
    assert!(begun.elapsed() >= BACKOFF_BASE);
    starter.abort();
}

#[tokio::test]
async fn ipv6_target_is_bracketed() {
    let (_reporter, service) = tonic_health::server::health_reporter();
    let Some((port, server)) = serve(Server::builder().add_service(service), "::1").await else {
        return; // no IPv6 loopback here
    };
    let a = action(port, None);
    let out = probe(&a, &ctx("::1"), Duration::from_secs(2)).await;
    assert_eq!(out, Ok(ProbeOutcome::success("service healthy")));
    server.abort();
    // A refused IPv6 target names the address the way net.JoinHostPort does.
    let out = probe(&a, &ctx("::1"), Duration::from_millis(200)).await;
    let text = out.expect("never errors").output;
    assert!(text.starts_with(&format!(
        "timeout: failed to connect service \"[::1]:{port}\""
    )));
}

#[test]
fn names_and_addresses() {
    assert_eq!(join_host_port("10.0.0.1", 80), "10.0.0.1:80");
    assert_eq!(join_host_port("fd00::1", 80), "[fd00::1]:80");
    assert_eq!(status_name(2), "NOT_SERVING");
    assert_eq!(status_name(3), "SERVICE_UNKNOWN");
    assert_eq!(status_name(0), "UNKNOWN");
    assert_eq!(status_name(7), "7");
    assert_eq!(go_code_name(Code::Cancelled), "Canceled");
    assert!(parse_target("10.0.0.1", 0).is_err());
    assert!(parse_target("10.0.0.1", 70000).is_err());
    assert!(parse_target("pod", 80).is_err());
}

#[tokio::test]
async fn bad_pod_ip_is_connect_error() {
    let out = probe(&action(80, None), &ctx("not-an-ip"), Duration::from_secs(1)).await;
    assert_eq!(
        out,
        Ok(ProbeOutcome::failure(
            "error: failed to connect service at \"not-an-ip:80\": \
             'not-an-ip' is not an IP address"
        ))
    );
}
