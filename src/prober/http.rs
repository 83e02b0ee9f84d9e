//! The httpGet probe and the httpGet lifecycle hook, request for request what the kubelet's Go
//! client sends (pkg/probe/http/http.go + request.go, kubelet/lifecycle/handlers.go).
//!
//! Every request gets a new TCP connection with hyper's per-connection HTTP/1.1 client (no
//! pool, no proxy, no added headers), TLS without verification for HTTPS. Headers go out in
//! Go's order: `Host`, `User-Agent`, the other headers sorted by canonical name, then the
//! transport's own (`Connection: close` for probes, whose transport disables keep-alives;
//! `Accept-Encoding: gzip` for hooks, whose transport keeps compression on).
//! Redirects follow net/http's client with the kubelet's checker: same hostname only, at most
//! 10 requests in all (Go's "stopped after 10 redirects" fires on the 10th redirect response).
//! Errors read like Go's `*url.Error`: `Get "<url>": <cause>`.
//!
//! Not reproduced: SO_LINGER(1 s) on probe sockets (not observable, and closing such a socket
//! blocks a runtime thread) and HTTP/2 over TLS (see `tls.rs`).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue, LOCATION};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::port::{Url, has_scheme, join_host_port, resolve_port, target_host};
use super::quote::{go_quote, go_quote_bytes};
use super::tcp::{Recorded, Seen, dial, io_text};
use super::{KUBE_VERSION, ProbeContext, ProbeError, ProbeOutcome, ProbeResult};
use crate::spec::model::HttpGetAction;

/// Bodies are read up to this size (http.go `maxRespBodyLength`, handlers.go likewise).
const MAX_BODY: usize = 10 * 1024;
/// net/http's redirect limit, counted in requests.
const MAX_REQUESTS: usize = 10;
/// The body-read timeout error of Go's client.
const BODY_TIMEOUT: &str =
    "context deadline exceeded (Client.Timeout or context cancellation while reading body)";

/// Runs one httpGet probe attempt; the whole exchange (redirects and body) within `timeout`.
///
/// 200–399 succeed (a 3xx that reaches the prober is a warning), other statuses and transport
/// errors fail. An unknown named port (result unknown) or a body that breaks off (result
/// failure) is a [`ProbeError`].
pub async fn probe(
    a: &HttpGetAction,
    ctx: &ProbeContext,
    timeout: Duration,
) -> Result<ProbeOutcome, ProbeError> {
    let req = ProbeRequest::new(a, ctx, Purpose::Probe)?;
    let mut at = At {
        url: req.url.to_string(),
        reading_body: false,
    };
    let attempt = async {
        let hop = exchange(&req, &mut at).await?;
        at.reading_body = true;
        let status = hop.response.status().as_u16();
        let body = read_body(hop).await.map_err(Failed::Body)?;
        Ok::<_, Failed>((status, body))
    };
    let finished = tokio::time::timeout(timeout, attempt).await;
    match finished {
        Ok(Ok((status, body))) => {
            let body = String::from_utf8_lossy(&body).into_owned();
            Ok(match status {
                200..=299 => ProbeOutcome::success(body),
                300..=399 => ProbeOutcome {
                    result: ProbeResult::Warning,
                    output: format!("Probe terminated redirects, Response body: {body}"),
                },
                // The body stays out of the message (http.go, issue 99425).
                _ => ProbeOutcome::failure(format!("HTTP probe failed with statuscode: {status}")),
            })
        }
        Ok(Err(Failed::Request { text, .. })) => Ok(ProbeOutcome::failure(text)),
        // http.go returns a body read error as an error next to a failure
        // (`return probe.Failure, "", err`): "errored and resulted in failure state".
        Ok(Err(Failed::Body(text))) => Err(ProbeError::failure(text)),
        Err(_) if at.reading_body => Err(ProbeError::failure(BODY_TIMEOUT)),
        Err(_) => Ok(ProbeOutcome::failure(format!(
            "Get {}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
            go_quote(&at.url)
        ))),
    }
}

/// How an httpGet hook went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookHttpOutcome {
    /// An HTTPS hook was retried over plain HTTP.
    pub fell_back_to_http: bool,
    /// The request's `host:port`, which the LifecycleHTTPFallback event names.
    pub url_host: String,
}

impl HookHttpOutcome {
    /// The LifecycleHTTPFallback warning text, when the hook fell back to HTTP.
    pub fn fallback_message(&self) -> Option<String> {
        self.fell_back_to_http.then(|| {
            format!(
                "request to HTTPS lifecycle hook {} got HTTP response, retry with HTTP succeeded",
                self.url_host
            )
        })
    }
}

/// Runs an httpGet lifecycle hook: no timeout, any HTTP response succeeds, only transport
/// errors fail (the error is Go's text, e.g. `Get "...": dial tcp ...`). An HTTPS request
/// answered in plain HTTP is retried once over HTTP without `Authorization`.
pub async fn lifecycle_hook(
    a: &HttpGetAction,
    ctx: &ProbeContext,
) -> Result<HookHttpOutcome, String> {
    let req = ProbeRequest::new(a, ctx, Purpose::Lifecycle).map_err(|e| e.message)?;
    let url_host = req.url.host.clone();
    let err = match hook_attempt(&req).await {
        Ok(()) => {
            return Ok(HookHttpOutcome {
                fell_back_to_http: false,
                url_host,
            });
        }
        Err(e) => e,
    };
    if let Failed::Request {
        plain_http: true, ..
    } = err
    {
        let mut retry = req.clone();
        retry.url.scheme = "http".into();
        retry.headers.retain(|(k, _)| k != "Authorization");
        // A failed retry reports the original error (handlers.go keeps `err`).
        if hook_attempt(&retry).await.is_ok() {
            return Ok(HookHttpOutcome {
                fell_back_to_http: true,
                url_host,
            });
        }
    }
    Err(match err {
        Failed::Request { text, .. } | Failed::Body(text) => text,
    })
}

/// The kubelet's full httpGet-hook failure detail (handlers.go `Run`); `pod` is
/// `<name>_<namespace>(<uid>)` and `err` is [`lifecycle_hook`]'s error.
pub fn hook_failure_message(a: &HttpGetAction, container: &str, pod: &str, err: &str) -> String {
    format!(
        "HTTP lifecycle hook ({}) for Container {} in Pod {} failed - error: {err}",
        a.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/"),
        go_quote(container),
        go_quote(pod)
    )
}

/// One hook request (with redirects), then the body drained like `discardHTTPRespBody`.
async fn hook_attempt(req: &ProbeRequest) -> Result<(), Failed> {
    let mut at = At {
        url: req.url.to_string(),
        reading_body: false,
    };
    let hop = exchange(req, &mut at).await?;
    let length = hop
        .response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    if length.is_none_or(|n| n <= MAX_BODY as u64) {
        let _ = read_body(hop).await;
    }
    Ok(())
}

/// Probe or hook: user agent and transport differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Probe,
    Lifecycle,
}

/// Where an exchange is, for the timeout message.
struct At {
    url: String,
    reading_body: bool,
}

/// Why an exchange failed.
enum Failed {
    /// `Get "<url>": <cause>`; `plain_http` when an HTTPS server answered in plain HTTP.
    Request { text: String, plain_http: bool },
    /// Reading the final body failed.
    Body(String),
}

/// The request as request.go builds it.
#[derive(Debug, Clone)]
struct ProbeRequest {
    purpose: Purpose,
    url: Url,
    /// Canonical name and value, in `Header.Add` order; includes User-Agent and Accept.
    headers: Vec<(String, String)>,
    /// `req.Host`, from a non-empty user `Host` header.
    host: Option<String>,
}

impl ProbeRequest {
    fn new(a: &HttpGetAction, ctx: &ProbeContext, purpose: Purpose) -> Result<Self, ProbeError> {
        let port = resolve_port(&a.port, &ctx.ports)?;
        let scheme = match a.scheme.as_deref().map(str::to_ascii_lowercase) {
            Some(s) if !s.is_empty() => s,
            _ => "http".to_string(),
        };
        let host = join_host_port(target_host(a.host.as_deref(), &ctx.pod_ip), port);
        // API defaulting turns a missing or empty path into "/".
        let path = a.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/");
        let url = Url::with_path(scheme, host, path);
        let mut headers: Vec<(String, String)> = a
            .http_headers
            .iter()
            .map(|h| (canonical_key(&h.name), h.value.clone()))
            .collect();
        if first(&headers, "User-Agent").is_none() {
            let fragment = match purpose {
                Purpose::Probe => "probe",
                Purpose::Lifecycle => "lifecycle",
            };
            headers.push((
                "User-Agent".into(),
                format!("kube-{fragment}/{KUBE_VERSION}"),
            ));
        }
        match first(&headers, "Accept") {
            None => headers.push(("Accept".into(), "*/*".into())),
            Some("") => headers.retain(|(k, _)| k != "Accept"),
            Some(_) => {}
        }
        let host = first(&headers, "Host")
            .filter(|h| !h.is_empty())
            .map(String::from);
        Ok(ProbeRequest {
            purpose,
            url,
            headers,
            host,
        })
    }

    /// The wire request for one hop, headers in Go's order.
    fn build(
        &self,
        url: &Url,
        host: Option<&str>,
        referer: Option<&str>,
    ) -> Result<Request<Empty<Bytes>>, String> {
        let mut lines: Vec<(&str, &str)> = vec![("Host", host.unwrap_or(&url.host))];
        match first(&self.headers, "User-Agent") {
            Some("") => {}
            Some(ua) => lines.push(("User-Agent", ua)),
            None => lines.push(("User-Agent", "Go-http-client/1.1")),
        }
        const EXCLUDED: [&str; 5] = [
            "Host",
            "User-Agent",
            "Content-Length",
            "Transfer-Encoding",
            "Trailer",
        ];
        let mut rest: Vec<(&str, &str)> = self
            .headers
            .iter()
            .filter(|(k, _)| !EXCLUDED.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(r) = referer.filter(|_| first(&self.headers, "Referer").is_none()) {
            rest.push(("Referer", r));
        }
        rest.sort_by(|a, b| a.0.cmp(b.0));
        lines.extend(rest);
        match self.purpose {
            Purpose::Probe => {
                let wants_close = first(&self.headers, "Connection")
                    .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
                if !wants_close {
                    lines.push(("Connection", "close"));
                }
            }
            Purpose::Lifecycle => {
                let set = |k| first(&self.headers, k).is_some_and(|v| !v.is_empty());
                if !set("Accept-Encoding") && !set("Range") {
                    lines.push(("Accept-Encoding", "gzip"));
                }
            }
        }
        let uri: hyper::Uri = url
            .request_target()
            .parse()
            .map_err(|e| format!("parse {}: {e}", go_quote(&url.to_string())))?;
        let mut req = Request::new(Empty::new());
        *req.method_mut() = Method::GET;
        *req.uri_mut() = uri;
        for (i, (k, v)) in lines.into_iter().enumerate() {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("net/http: invalid header field name {}", go_quote(k)))?;
            let value = HeaderValue::from_str(v).map_err(|_| match i {
                0 => "http: invalid Host header".to_string(),
                _ => format!("net/http: invalid header field value for {}", go_quote(k)),
            })?;
            req.headers_mut().append(name, value);
        }
        Ok(req)
    }
}

/// The first value of a header (Go's `Header.Get`), by canonical name.
fn first<'a>(headers: &'a [(String, String)], key: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Go's `CanonicalMIMEHeaderKey`: `x-custom-header` → `X-Custom-Header`; names with bytes
/// outside the token set stay as written.
fn canonical_key(name: &str) -> String {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return name.to_string();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// A response on its own connection.
struct Hop {
    response: Response<Incoming>,
    _conn: ConnTask,
    local: Option<SocketAddr>,
    peer: SocketAddr,
}

/// The task driving one connection; aborting it closes the socket.
struct ConnTask(tokio::task::JoinHandle<()>);

impl Drop for ConnTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends the request and follows redirects like net/http with the kubelet's RedirectChecker.
async fn exchange(req: &ProbeRequest, at: &mut At) -> Result<Hop, Failed> {
    let first_hostname = req.url.hostname().to_string();
    let mut url = req.url.clone();
    let mut host = req.host.clone();
    let mut referer: Option<String> = None;
    let mut sent = 0;
    loop {
        sent += 1;
        at.url = url.to_string();
        let hop = send(req, &url, host.as_deref(), referer.as_deref())
            .await
            .map_err(|(text, plain_http)| Failed::Request {
                text: format!("Get {}: {text}", go_quote(&at.url)),
                plain_http,
            })?;
        let status = hop.response.status().as_u16();
        if !matches!(status, 301 | 302 | 303 | 307 | 308) {
            return Ok(hop);
        }
        let loc = hop
            .response
            .headers()
            .get(LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        // A 3xx without Location is returned as it is.
        if loc.is_empty() {
            return Ok(hop);
        }
        let next = url.resolve(&loc).map_err(|e| Failed::Request {
            text: format!(
                "Get {}: failed to parse Location header {}: {e}",
                go_quote(&at.url),
                go_quote(&loc)
            ),
            plain_http: false,
        })?;
        // Another hostname: http.ErrUseLastResponse, the 3xx itself is the answer.
        if next.hostname() != first_hostname {
            return Ok(hop);
        }
        if sent >= MAX_REQUESTS {
            return Err(Failed::Request {
                text: format!("Get {}: stopped after 10 redirects", go_quote(&loc)),
                plain_http: false,
            });
        }
        // A custom Host survives only relative redirects (net/http issue 22233).
        host = host.filter(|h| *h != url.host && !has_scheme(&loc));
        referer = (url.scheme != "https" || next.scheme != "http").then(|| url.to_string());
        url = next;
    }
}

/// A stream for hyper: plain TCP or TLS.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// One request on a new connection; the error is the cause text and the plain-HTTP flag.
async fn send(
    req: &ProbeRequest,
    url: &Url,
    host: Option<&str>,
    referer: Option<&str>,
) -> Result<Hop, (String, bool)> {
    let https = match url.scheme.as_str() {
        "http" => false,
        "https" => true,
        other => {
            return Err((
                format!("unsupported protocol scheme {}", go_quote(other)),
                false,
            ));
        }
    };
    if url.hostname().is_empty() {
        return Err(("http: no Host in request URL".into(), false));
    }
    let request = req.build(url, host, referer).map_err(|e| (e, false))?;
    let dialed = dial(url.hostname(), url.port(), None)
        .await
        .map_err(|e| (e, false))?;
    let (local, peer) = (dialed.local, dialed.peer);
    let tcp = Recorded::new(dialed.stream);
    // What the server sent, for a malformed-response message (plain HTTP only).
    let seen = (!https).then(|| tcp.seen());
    let io: Box<dyn Io> = if https {
        Box::new(super::tls::connect(tcp, url.hostname(), local, peer).await?)
    } else {
        Box::new(tcp)
    };
    let broken = |e: hyper::Error| (head_error(&e, local, peer, seen.as_ref()), false);
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(io))
        .await
        .map_err(broken)?;
    let conn = ConnTask(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let response = sender.send_request(request).await.map_err(broken)?;
    Ok(Hop {
        response,
        _conn: conn,
        local,
        peer,
    })
}

/// An error before the response head was complete, as Go's transport words it: `EOF` when
/// the server closed without a byte; a cut-off or unparsable head marks the connection broken.
fn head_error(
    e: &hyper::Error,
    local: Option<SocketAddr>,
    peer: SocketAddr,
    seen: Option<&Seen>,
) -> String {
    const BROKEN: &str = "net/http: HTTP/1.x transport connection broken";
    let received = seen.map(|s| s.first(usize::MAX)).unwrap_or_default();
    if e.is_parse() || e.is_parse_status() {
        let line = received.split(|b| *b == b'\n').next().unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        return format!("{BROKEN}: malformed HTTP response {}", go_quote_bytes(line));
    }
    if e.is_incomplete_message() && !received.is_empty() {
        return format!("{BROKEN}: unexpected EOF");
    }
    hyper_text(e, local, peer, "EOF")
}

/// Reads the body up to [`MAX_BODY`], stopping there silently; errors in Go's words.
async fn read_body(hop: Hop) -> Result<Vec<u8>, String> {
    let Hop {
        response,
        _conn,
        local,
        peer,
    } = hop;
    // A body that ends with the connection: a TLS peer that closes without close_notify
    // ends it cleanly for Go, while rustls reports an unexpected EOF.
    let headers = response.headers();
    let close_delimited = !headers.contains_key(CONTENT_LENGTH)
        && !headers.contains_key(hyper::header::TRANSFER_ENCODING);
    let mut body = response.into_body();
    let mut out = Vec::new();
    while out.len() < MAX_BODY {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let room = MAX_BODY - out.len();
                    out.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(e))
                if close_delimited && io_kind(&e) == Some(io::ErrorKind::UnexpectedEof) =>
            {
                break;
            }
            Some(Err(e)) => return Err(hyper_text(&e, local, peer, "unexpected EOF")),
        }
    }
    Ok(out)
}

/// The kind of the I/O error under a hyper error, if any.
fn io_kind(e: &hyper::Error) -> Option<io::ErrorKind> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// A hyper error as Go's transport reports it; `eof` is the text for a cut-off message.
fn hyper_text(e: &hyper::Error, local: Option<SocketAddr>, peer: SocketAddr, eof: &str) -> String {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return io_text(io, local, peer, eof);
        }
        source = s.source();
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        eof.to_string()
    } else {
        e.to_string()
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
