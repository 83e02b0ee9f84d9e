//! The built-in load generator (`[[traffic]]`): requests at a steady rate through the
//! Service proxy's logic (the backend is chosen from the proxy's delayed view, then reached
//! through that pod's own sandbox socket), one fresh connection per request, each outcome
//! and latency on the run's timeline.
//!
//! Each HTTP request carries `x-podcheck-request: NAME#SEQ`, so a server that logs its
//! requests (the fixture's `--log-requests`) shows exactly which requests it received.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use tokio::sync::{mpsc, watch};

use super::proxy::{NoBackend, ServiceProxy};
use crate::clock::Clock;
use crate::events::{Request, RequestOutcome};
use crate::spec::model::IntOrString;
use crate::spec::traffic::{Traffic, send_times, traffic_names};

/// The header that names each generated request.
pub const REQUEST_HEADER: &str = "x-podcheck-request";

/// One traffic item ready to send.
#[derive(Debug, Clone)]
struct Item {
    name: String,
    service: String,
    port: IntOrString,
    port_number: u16,
    path: Option<String>,
    timeout: Duration,
    times: Vec<Duration>,
}

/// Sends every item's requests on `clock` until each window has passed and each request
/// has its outcome, or `stop` turns true (requests not sent by then are not sent).
/// `on_request` sees each request as its outcome comes.
pub async fn run(
    items: &[Traffic],
    proxy: &ServiceProxy,
    clock: Clock,
    stop: watch::Receiver<bool>,
    on_request: &mut dyn FnMut(Request),
) {
    let names = traffic_names(items);
    let prepared: Vec<Item> = items
        .iter()
        .zip(names)
        .filter_map(|(t, name)| {
            // Validation made sure the port exists; a Service with one port needs none.
            let port = match &t.port {
                Some(p) => p.clone(),
                None => IntOrString::Int(i64::from(proxy.only_port(&t.service)?)),
            };
            Some(Item {
                port_number: proxy.port_number(&t.service, &port)?,
                name,
                service: t.service.clone(),
                port,
                path: t.path().map(str::to_owned),
                timeout: t.request_timeout(),
                times: send_times(t),
            })
        })
        .collect();
    let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
    // Dropping this future (the run's timeout) ends the schedules too: no request of this
    // run may be sent after it.
    let mut schedules = AbortOnDrop(Vec::new());
    for item in prepared {
        let tx = tx.clone();
        let proxy = proxy.clone();
        let mut stop = stop.clone();
        schedules.0.push(tokio::spawn(async move {
            for (seq, at) in item.times.iter().enumerate() {
                tokio::select! {
                    _ = tokio::time::sleep_until(clock.instant_at(*at)) => {}
                    _ = wait_true(&mut stop) => return,
                }
                let (tx, proxy, item) = (tx.clone(), proxy.clone(), item.clone());
                let at = *at;
                tokio::spawn(async move {
                    let r = send_one(&proxy, &item, seq as u64, at, clock).await;
                    let _ = tx.send(r);
                });
            }
        }));
    }
    drop(tx);
    // Every sender is gone once every schedule ended and every request has its outcome.
    while let Some(r) = rx.recv().await {
        on_request(r);
    }
}

/// Aborts its tasks when dropped.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

async fn wait_true(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// One request: the proxy's choice of backend, a connect through that pod's sandbox, and
/// for HTTP a GET read to the end of its body.
async fn send_one(
    proxy: &ServiceProxy,
    item: &Item,
    seq: u64,
    at: Duration,
    clock: Clock,
) -> Request {
    let started = tokio::time::Instant::now();
    let backend = proxy.pick(&item.service, &item.port);
    let pod = backend.as_ref().ok().map(|b| b.pod_name.clone());
    let outcome = match backend {
        Err(NoBackend::NoEndpoints | NoBackend::UnknownPort) => RequestOutcome::Refused,
        Ok(b) => {
            let attempt = async {
                let stream = match proxy.connect(&b).await {
                    Ok(s) => s,
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        return RequestOutcome::Refused;
                    }
                    Err(e) => {
                        return RequestOutcome::Reset {
                            detail: e.to_string(),
                        };
                    }
                };
                match &item.path {
                    None => RequestOutcome::Ok { status: None },
                    Some(path) => http_get(stream, item, path, seq).await,
                }
            };
            let limit = clock.to_real(item.timeout);
            tokio::time::timeout(limit, attempt)
                .await
                .unwrap_or(RequestOutcome::Timeout)
        }
    };
    Request {
        at,
        traffic: item.name.clone(),
        seq,
        service: item.service.clone(),
        port: item.port_number,
        pod,
        outcome,
        latency: clock.to_spec(started.elapsed()),
    }
}

async fn http_get(
    stream: tokio::net::TcpStream,
    item: &Item,
    path: &str,
    seq: u64,
) -> RequestOutcome {
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(io).await {
        Ok(x) => x,
        Err(e) => return reset(&e),
    };
    let conn = tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, item.service.as_str())
        .header(hyper::header::CONNECTION, "close")
        .header(REQUEST_HEADER, format!("{}#{seq}", item.name))
        .body(Empty::<Bytes>::new());
    let req = match req {
        Ok(r) => r,
        Err(e) => {
            conn.abort();
            return RequestOutcome::Reset {
                detail: format!("bad request: {e}"),
            };
        }
    };
    let outcome = match sender.send_request(req).await {
        Err(e) => reset(&e),
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.into_body().collect().await {
                Err(e) => reset(&e),
                Ok(_) if status >= 400 => RequestOutcome::Status { status },
                Ok(_) => RequestOutcome::Ok {
                    status: Some(status),
                },
            }
        }
    };
    conn.abort();
    outcome
}

/// A hyper error as a reset, with its cause (e.g. "connection reset by peer").
fn reset(e: &hyper::Error) -> RequestOutcome {
    let mut detail = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        detail.push_str(&format!(": {s}"));
        src = s.source();
    }
    RequestOutcome::Reset { detail }
}
