//! Tests of `http`.

use super::*;
use crate::spec::model::{ContainerPort, HttpHeader, IntOrString};
use http_body_util::Full;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const T: Duration = Duration::from_secs(5);

fn ctx(ports: Vec<ContainerPort>) -> ProbeContext {
    ProbeContext::for_test(ports)
}

fn get(port: u16, path: &str) -> HttpGetAction {
    HttpGetAction {
        path: Some(path.into()),
        port: IntOrString::Int(port.into()),
        host: None,
        scheme: None,
        http_headers: Vec::new(),
    }
}

fn header(name: &str, value: &str) -> HttpHeader {
    HttpHeader {
        name: name.into(),
        value: value.into(),
    }
}

/// What a scripted server does after reading a request head.
enum Reply {
    Send(String),
    Close,
    Hang,
}

fn respond(status: &str, extra: &str, body: &str) -> Reply {
    Reply::Send(format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

/// A raw loopback server: records each request head (or the first bytes of a TLS hello)
/// and answers as `script` says, given the head and its own port.
async fn raw_server(
    script: impl Fn(&str, u16) -> Reply + Send + Sync + 'static,
) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (script, log) = (Arc::new(script), seen.clone());
    tokio::spawn(async move {
        for _ in 0..64 {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let (script, log) = (script.clone(), log.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while head.len() < 65536 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                    if head.first() == Some(&0x16) {
                        break; // a TLS ClientHello
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                log.lock().unwrap().push(head.clone());
                match script(&head, port) {
                    Reply::Send(r) => {
                        let _ = s.write_all(r.as_bytes()).await;
                        let _ = s.shutdown().await;
                    }
                    Reply::Close => {}
                    Reply::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    (port, seen)
}

/// The request path of a recorded head.
fn target(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("")
}

/// A TLS acceptor with a fresh self-signed certificate for `localhost`.
fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

/// A hyper HTTP/1 server (plain, or TLS with a fresh self-signed certificate) answering
/// `/status/<code>` with that status and body "code <code>".
async fn hyper_server(tls: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tls.then(tls_acceptor);
    tokio::spawn(async move {
        for _ in 0..64 {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|req: Request<Incoming>| async move {
                    let code: u16 = req
                        .uri()
                        .path()
                        .strip_prefix("/status/")
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(200);
                    let mut resp = Response::new(Full::new(Bytes::from(format!("code {code}"))));
                    *resp.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
                    Ok::<_, std::convert::Infallible>(resp)
                });
                let http = hyper::server::conn::http1::Builder::new();
                match acceptor {
                    Some(a) => {
                        if let Ok(t) = a.accept(s).await {
                            let _ = http.serve_connection(TokioIo::new(t), svc).await;
                        }
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(s), svc).await;
                    }
                }
            });
        }
    });
    port
}

async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn status_ranges_decide_the_result() {
    let port = hyper_server(false).await;
    let run = |code: u16| async move {
        probe(&get(port, &format!("/status/{code}")), &ctx(Vec::new()), T)
            .await
            .unwrap()
    };
    assert_eq!(run(200).await, ProbeOutcome::success("code 200"));
    assert_eq!(run(204).await, ProbeOutcome::success(""));
    assert_eq!(run(399).await.result, ProbeResult::Warning);
    let not_modified = run(304).await;
    assert_eq!(not_modified.result, ProbeResult::Warning);
    assert_eq!(
        not_modified.output,
        "Probe terminated redirects, Response body: "
    );
    for code in [404, 500, 418] {
        let out = run(code).await;
        assert_eq!(
            out,
            ProbeOutcome::failure(format!("HTTP probe failed with statuscode: {code}"))
        );
    }
}

#[tokio::test]
async fn headers_reach_the_server_in_go_order() {
    let (port, seen) = raw_server(|_, _| respond("200 OK", "", "ok")).await;
    let mut a = get(port, "/healthz?x=1");
    a.http_headers = vec![
        header("x-custom", "1"),
        header("X-Custom", "2"),
        header("authorization", "Bearer t"),
    ];
    assert_eq!(
        probe(&a, &ctx(Vec::new()), T).await.unwrap(),
        ProbeOutcome::success("ok")
    );
    a.http_headers = vec![
        header("Host", "example.com"),
        header("User-Agent", "mine"),
        header("Accept", ""),
    ];
    probe(&a, &ctx(Vec::new()), T).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[0],
        format!(
            "GET /healthz?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: kube-probe/1.35\r\n\
             Accept: */*\r\nAuthorization: Bearer t\r\nX-Custom: 1\r\nX-Custom: 2\r\n\
             Connection: close\r\n\r\n"
        )
    );
    assert_eq!(
        seen[1],
        "GET /healthz?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: mine\r\nConnection: close\r\n\r\n"
    );
}

#[tokio::test]
async fn named_ports_resolve_or_error() {
    let (port, _) = raw_server(|_, _| respond("200 OK", "", "")).await;
    let mut a = get(port, "/");
    a.port = IntOrString::String("http".into());
    let ports = vec![ContainerPort {
        name: Some("http".into()),
        container_port: port.into(),
        protocol: None,
    }];
    assert_eq!(
        probe(&a, &ctx(ports), T).await.unwrap(),
        ProbeOutcome::success("")
    );
    a.port = IntOrString::String("x".into());
    let err = probe(&a, &ctx(Vec::new()), T).await.unwrap_err();
    assert_eq!(err, ProbeError::unknown("port \"x\" not found"));
}

#[tokio::test]
async fn same_host_redirects_are_followed_with_a_referer() {
    let (port, seen) = raw_server(|head, _| match target(head) {
        "/start" => respond("302 Found", "Location: /final\r\n", "moved"),
        _ => respond("200 OK", "", "done"),
    })
    .await;
    let out = probe(&get(port, "/start"), &ctx(Vec::new()), T)
        .await
        .unwrap();
    assert_eq!(out, ProbeOutcome::success("done"));
    let seen = seen.lock().unwrap();
    assert!(
        seen[1].contains(&format!("\r\nReferer: http://127.0.0.1:{port}/start\r\n")),
        "{}",
        seen[1]
    );
}

/// `/r/<n>` redirects to `/r/<n+1>` until `last`, which answers 200.
async fn chain(last: u32) -> u16 {
    raw_server(move |head, _| {
        let n: u32 = target(head).trim_start_matches("/r/").parse().unwrap_or(0);
        if n < last {
            respond("302 Found", &format!("Location: /r/{}\r\n", n + 1), "")
        } else {
            respond("200 OK", "", "end")
        }
    })
    .await
    .0
}

#[tokio::test]
async fn ten_requests_at_most() {
    // Nine redirects: ten requests, fine.
    let port = chain(9).await;
    let out = probe(&get(port, "/r/0"), &ctx(Vec::new()), T)
        .await
        .unwrap();
    assert_eq!(out, ProbeOutcome::success("end"));
    // The tenth redirect stops the client; the error names that Location.
    let port = chain(1000).await;
    let out = probe(&get(port, "/r/0"), &ctx(Vec::new()), T)
        .await
        .unwrap();
    assert_eq!(
        out,
        ProbeOutcome::failure("Get \"/r/10\": stopped after 10 redirects")
    );
}

#[tokio::test]
async fn another_host_is_not_followed_and_warns() {
    let (port, seen) = raw_server(|_, port| {
        respond(
            "302 Found",
            &format!("Location: http://localhost:{port}/x\r\n"),
            "moved",
        )
    })
    .await;
    let out = probe(&get(port, "/"), &ctx(Vec::new()), T).await.unwrap();
    assert_eq!(
        out,
        ProbeOutcome {
            result: ProbeResult::Warning,
            output: "Probe terminated redirects, Response body: moved".into(),
        }
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn broken_responses_read_like_the_go_client() {
    let (port, _) = raw_server(|head, _| match target(head) {
        "/cut-body" => Reply::Send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial".into()),
        "/cut-head" => Reply::Send("HTTP/1.1 200 OK\r\nX-A: b\r\n".into()),
        "/garbage" => Reply::Send("\x15\x03\x01\x00\x02\x02\n\r\n\r\n".into()),
        _ => Reply::Hang,
    })
    .await;
    let short = Duration::from_millis(300);
    let run =
        |path: &'static str| async move { probe(&get(port, path), &ctx(Vec::new()), short).await };
    let url = |path: &str| format!("Get \"http://127.0.0.1:{port}{path}\": ");
    assert_eq!(
        run("/hang").await.unwrap(),
        ProbeOutcome::failure(format!(
            "{}context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
            url("/hang")
        ))
    );
    assert_eq!(
        run("/cut-head").await.unwrap(),
        ProbeOutcome::failure(format!(
            "{}net/http: HTTP/1.x transport connection broken: unexpected EOF",
            url("/cut-head")
        ))
    );
    assert_eq!(
        run("/garbage").await.unwrap(),
        ProbeOutcome::failure(format!(
            "{}net/http: HTTP/1.x transport connection broken: malformed HTTP response \
             \"\\x15\\x03\\x01\\x00\\x02\\x02\"",
            url("/garbage")
        ))
    );
    // A body that breaks off is an error next to a failure result (errored probe).
    assert_eq!(
        run("/cut-body").await.unwrap_err(),
        ProbeError::failure("unexpected EOF")
    );
}

#[tokio::test]
async fn stalled_headers_and_body_time_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        for i in 0..2 {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let part: &[u8] = if i == 0 {
                b"HTTP/1.1 200 OK\r\nX-A: b\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"
            };
            let _ = s.write_all(part).await;
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(s);
            });
        }
    });
    let short = Duration::from_millis(300);
    let out = probe(&get(port, "/"), &ctx(Vec::new()), short)
        .await
        .unwrap();
    assert!(
        out.output
            .ends_with("(Client.Timeout exceeded while awaiting headers)"),
        "{out:?}"
    );
    let err = probe(&get(port, "/"), &ctx(Vec::new()), short)
        .await
        .unwrap_err();
    assert_eq!(err, ProbeError::failure(BODY_TIMEOUT));
    assert_eq!(err.state(), "failure");
}

#[tokio::test]
async fn refused_and_closed_connections() {
    let port = closed_port().await;
    let out = probe(&get(port, "/healthz"), &ctx(Vec::new()), T)
        .await
        .unwrap();
    assert_eq!(
        out,
        ProbeOutcome::failure(format!(
            "Get \"http://127.0.0.1:{port}/healthz\": dial tcp 127.0.0.1:{port}: connect: connection refused"
        ))
    );
    let (port, _) = raw_server(|_, _| Reply::Close).await;
    let out = probe(&get(port, "/"), &ctx(Vec::new()), T).await.unwrap();
    assert_eq!(
        out,
        ProbeOutcome::failure(format!("Get \"http://127.0.0.1:{port}/\": EOF"))
    );
}

#[tokio::test]
async fn body_is_capped_at_10_kib() {
    let body = "a".repeat(20 * 1024);
    let (port, _) = raw_server(move |_, _| respond("200 OK", "", &body)).await;
    let out = probe(&get(port, "/"), &ctx(Vec::new()), T).await.unwrap();
    assert_eq!(out.result, ProbeResult::Success);
    assert_eq!(out.output.len(), MAX_BODY);
}

#[tokio::test]
async fn https_accepts_a_self_signed_certificate() {
    let port = hyper_server(true).await;
    let mut a = get(port, "/status/200");
    a.scheme = Some("HTTPS".into());
    assert_eq!(
        probe(&a, &ctx(Vec::new()), T).await.unwrap(),
        ProbeOutcome::success("code 200")
    );
    a.host = Some("localhost".into());
    a.path = Some("/status/503".into());
    assert_eq!(
        probe(&a, &ctx(Vec::new()), T).await.unwrap(),
        ProbeOutcome::failure("HTTP probe failed with statuscode: 503")
    );
}

#[tokio::test]
async fn https_body_may_end_with_the_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tls_acceptor();
    tokio::spawn(async move {
        let Ok((s, _)) = listener.accept().await else {
            return;
        };
        let Ok(mut tls) = acceptor.accept(s).await else {
            return;
        };
        let mut buf = [0u8; 4096];
        let _ = tls.read(&mut buf).await;
        let _ = tls.write_all(b"HTTP/1.0 200 OK\r\n\r\nuntil close").await;
        let _ = tls.flush().await;
        // Dropped without close_notify.
    });
    let mut a = get(port, "/");
    a.scheme = Some("HTTPS".into());
    let out = probe(&a, &ctx(Vec::new()), T).await.unwrap();
    assert_eq!(out, ProbeOutcome::success("until close"));
}

#[tokio::test]
async fn https_to_a_plain_server_is_a_scheme_mismatch() {
    let (port, _) = raw_server(|_, _| respond("400 Bad Request", "", "")).await;
    let mut a = get(port, "/");
    a.scheme = Some("HTTPS".into());
    let out = probe(&a, &ctx(Vec::new()), T).await.unwrap();
    assert_eq!(
        out,
        ProbeOutcome::failure(format!(
            "Get \"https://127.0.0.1:{port}/\": http: server gave HTTP response to HTTPS client"
        ))
    );
}

#[tokio::test]
async fn hooks_accept_any_status_with_their_own_headers() {
    let (port, seen) = raw_server(|_, _| respond("500 Internal Server Error", "", "no")).await;
    let out = lifecycle_hook(&get(port, "/hook"), &ctx(Vec::new()))
        .await
        .unwrap();
    assert_eq!(
        out,
        HookHttpOutcome {
            fell_back_to_http: false,
            url_host: format!("127.0.0.1:{port}"),
        }
    );
    assert_eq!(out.fallback_message(), None);
    assert_eq!(
        seen.lock().unwrap()[0],
        format!(
            "GET /hook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: kube-lifecycle/1.35\r\n\
             Accept: */*\r\nAccept-Encoding: gzip\r\n\r\n"
        )
    );
}

#[tokio::test]
async fn hook_transport_errors_fail() {
    let port = closed_port().await;
    let a = get(port, "/hook");
    let err = lifecycle_hook(&a, &ctx(Vec::new())).await.unwrap_err();
    assert_eq!(
        err,
        format!(
            "Get \"http://127.0.0.1:{port}/hook\": dial tcp 127.0.0.1:{port}: connect: connection refused"
        )
    );
    assert_eq!(
        hook_failure_message(&a, "app", "web_ns(uid)", &err),
        format!(
            "HTTP lifecycle hook (/hook) for Container \"app\" in Pod \"web_ns(uid)\" failed - error: {err}"
        )
    );
}

#[tokio::test]
async fn https_hook_falls_back_to_http_without_authorization() {
    let (port, seen) = raw_server(|_, _| respond("200 OK", "", "")).await;
    let mut a = get(port, "/hook");
    a.scheme = Some("HTTPS".into());
    a.http_headers = vec![header("Authorization", "secret"), header("X-Keep", "1")];
    let out = lifecycle_hook(&a, &ctx(Vec::new())).await.unwrap();
    assert!(out.fell_back_to_http);
    assert_eq!(
        out.fallback_message().unwrap(),
        format!(
            "request to HTTPS lifecycle hook 127.0.0.1:{port} got HTTP response, retry with HTTP succeeded"
        )
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].starts_with("GET /hook HTTP/1.1\r\n"), "{}", seen[1]);
    assert!(!seen[1].contains("Authorization") && seen[1].contains("X-Keep: 1"));
}
