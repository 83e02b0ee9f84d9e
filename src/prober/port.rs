//! Where a probe goes: its port (a number, or a container port's name — pkg/probe/util.go
//! `ResolveContainerPort`), `host:port` as Go joins it, and the URL as Go's net/url parses,
//! prints and resolves it (request.go `formatURL`, redirects through `URL.Parse`).

use std::fmt;

use super::ProbeError;
use super::quote::go_quote;
use crate::spec::model::{ContainerPort, IntOrString};

/// Resolves a probe port: a number as-is, a name via the container's `ports` (probe.ResolveContainerPort).
pub fn resolve_port(port: &IntOrString, ports: &[ContainerPort]) -> Result<u16, ProbeError> {
    let number = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| p.container_port)
            .ok_or_else(|| ProbeError::unknown(format!("port {} not found", go_quote(name))))?,
    };
    match u16::try_from(number) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(ProbeError::unknown(format!(
            "invalid port number: {number}"
        ))),
    }
}

/// The handler's host, or the pod IP when it sets none (an empty host counts as none).
pub(crate) fn target_host<'a>(host: Option<&'a str>, pod_ip: &'a str) -> &'a str {
    match host {
        Some(h) if !h.is_empty() => h,
        _ => pod_ip,
    }
}

/// Go's `net.JoinHostPort`: IPv6 literals get brackets.
pub(crate) fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// An absolute URL as net/url keeps it, as far as probes need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    /// Lower-case scheme.
    pub(crate) scheme: String,
    /// Host as written, with the port if any: `127.0.0.1:8080`, `[::1]:80`, `localhost`.
    pub(crate) host: String,
    /// Escaped path, empty or starting with `/`.
    pub(crate) path: String,
    /// Raw query, without `?`.
    pub(crate) query: Option<String>,
}

impl Url {
    /// formatURL: the handler's path (with any query) on `scheme://host`.
    pub(crate) fn with_path(scheme: String, host: String, path: &str) -> Url {
        let (path, query) = split_reference(path);
        let mut path = escape(path, b"");
        if !path.is_empty() && !path.starts_with('/') {
            path.insert(0, '/');
        }
        Url {
            scheme,
            host,
            path,
            query: query.map(|q| escape(q, b"?")),
        }
    }

    /// The host without port and brackets (`URL.Hostname`).
    pub(crate) fn hostname(&self) -> &str {
        split_host_port(&self.host).0
    }

    /// The port to dial: explicit, else the scheme's default.
    pub(crate) fn port(&self) -> u16 {
        let explicit = split_host_port(&self.host).1.and_then(|p| p.parse().ok());
        explicit.unwrap_or(if self.scheme == "https" { 443 } else { 80 })
    }

    /// The request line's target: path (at least `/`) and query.
    pub(crate) fn request_target(&self) -> String {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        match &self.query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        }
    }

    /// `URL.Parse(ref)` against this URL (RFC 3986 resolution, as net/url does it).
    pub(crate) fn resolve(&self, reference: &str) -> Result<Url, String> {
        let reference = reference.split('#').next().unwrap_or("");
        if has_scheme(reference) {
            return Url::parse_absolute(reference);
        }
        if reference.starts_with("//") {
            return Url::parse_absolute(&format!("{}:{reference}", self.scheme));
        }
        let (path, query) = split_reference(reference);
        let mut out = self.clone();
        if path.is_empty() {
            if query.is_some() {
                out.query = query.map(|q| escape(q, b"?"));
            }
            return Ok(out);
        }
        let merged = if path.starts_with('/') {
            path.to_string()
        } else {
            let dir = match self.path.rfind('/') {
                Some(i) => &self.path[..=i],
                None => "/",
            };
            format!("{dir}{path}")
        };
        out.path = remove_dot_segments(&escape(&merged, b""));
        out.query = query.map(|q| escape(q, b"?"));
        Ok(out)
    }

    /// Parses `scheme://[userinfo@]host[:port]/path?query` (fragment already removed).
    pub(crate) fn parse_absolute(s: &str) -> Result<Url, String> {
        let (scheme, rest) = s.split_once(':').unwrap_or(("", s));
        let scheme = scheme.to_ascii_lowercase();
        let Some(rest) = rest.strip_prefix("//") else {
            // An opaque URL such as `http:foo` has no host.
            return Ok(Url {
                scheme,
                host: String::new(),
                path: String::new(),
                query: None,
            });
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let port = match host.strip_prefix('[') {
            Some(b) => b.split_once(']').map(|(_, after)| after).unwrap_or(""),
            None => host.rfind(':').map_or("", |i| &host[i..]),
        };
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        let valid = match port.strip_prefix(':') {
            Some(number) => digits(number),
            None => port.is_empty(),
        };
        if !valid {
            return Err(format!(
                "parse {}: invalid port {} after host",
                go_quote(s),
                go_quote(port)
            ));
        }
        let (path, query) = split_reference(&rest[end..]);
        Ok(Url {
            scheme,
            host: host.to_string(),
            path: remove_dot_segments(&escape(path, b"")),
            query: query.map(|q| escape(q, b"?")),
        })
    }
}

impl fmt::Display for Url {
    /// `URL.String()`: what Go prints in errors and sends as Referer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.host, self.path)?;
        match &self.query {
            Some(q) => write!(f, "?{q}"),
            None => Ok(()),
        }
    }
}

/// Splits `path?query#fragment` into path and query.
fn split_reference(s: &str) -> (&str, Option<&str>) {
    let s = s.split('#').next().unwrap_or("");
    match s.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (s, None),
    }
}

/// Whether a reference starts with a scheme (`URL.IsAbs` after parsing).
pub(crate) fn has_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(i) if i > 0 => {
            let scheme = &s[..i];
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        }
        _ => false,
    }
}

/// `host[:port]` → (hostname, port) without brackets.
fn split_host_port(host: &str) -> (&str, Option<&str>) {
    if let Some((h, after)) = host.strip_prefix('[').and_then(|r| r.split_once(']')) {
        return (h, after.strip_prefix(':'));
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (host, None),
    }
}

/// Percent-encodes what may not appear in a path (or query, with `?` in `extra`); valid
/// `%XX` escapes are kept.
fn escape(s: &str, extra: &[u8]) -> String {
    use std::fmt::Write as _;
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    for (i, &b) in bytes.iter().enumerate() {
        let valid_escape = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        let allowed =
            b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) || extra.contains(&b);
        if allowed || valid_escape {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// RFC 3986 remove_dot_segments for an absolute path.
fn remove_dot_segments(path: &str) -> String {
    if !path.starts_with('/') {
        return path.to_string();
    }
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
        if last && (*seg == "." || *seg == "..") {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, port: i64) -> ContainerPort {
        ContainerPort {
            name: Some(name.into()),
            container_port: port,
            protocol: None,
        }
    }

    #[test]
    fn ports_resolve_by_number_and_name() {
        let ports = vec![named("http", 8080)];
        assert_eq!(resolve_port(&IntOrString::Int(80), &ports), Ok(80));
        assert_eq!(
            resolve_port(&IntOrString::String("http".into()), &ports),
            Ok(8080)
        );
        // A numeric string is a name too (ResolveContainerPort does not parse it).
        assert_eq!(
            resolve_port(&IntOrString::String("8080".into()), &ports),
            Err(ProbeError::unknown("port \"8080\" not found"))
        );
        assert_eq!(
            resolve_port(&IntOrString::String("x".into()), &ports),
            Err(ProbeError::unknown("port \"x\" not found"))
        );
        assert_eq!(
            resolve_port(&IntOrString::Int(0), &ports),
            Err(ProbeError::unknown("invalid port number: 0"))
        );
        assert_eq!(
            resolve_port(&IntOrString::Int(65536), &ports),
            Err(ProbeError::unknown("invalid port number: 65536"))
        );
    }

    #[test]
    fn hosts_join_like_go() {
        assert_eq!(join_host_port("::1", 80), "[::1]:80");
        assert_eq!(join_host_port("127.0.0.1", 80), "127.0.0.1:80");
        assert_eq!(target_host(Some(""), "10.0.0.1"), "10.0.0.1");
        assert_eq!(target_host(Some("a"), "10.0.0.1"), "a");
    }

    fn base() -> Url {
        Url::with_path("http".into(), "127.0.0.1:8080".into(), "/a/b/c?x=1#frag")
    }

    #[test]
    fn format_url_keeps_the_query_and_escapes() {
        let u = base();
        assert_eq!(u.to_string(), "http://127.0.0.1:8080/a/b/c?x=1");
        assert_eq!(u.request_target(), "/a/b/c?x=1");
        let u = Url::with_path("http".into(), "[::1]:80".into(), "healthz/a b%zz");
        assert_eq!(u.to_string(), "http://[::1]:80/healthz/a%20b%25zz");
        assert_eq!((u.hostname(), u.port()), ("::1", 80));
        let u = Url::with_path("https".into(), "localhost".into(), "");
        assert_eq!((u.request_target().as_str(), u.port()), ("/", 443));
    }

    #[test]
    fn references_resolve_like_net_url() {
        let b = base();
        let r = |s: &str| b.resolve(s).unwrap().to_string();
        assert_eq!(r("/final"), "http://127.0.0.1:8080/final");
        assert_eq!(r("d"), "http://127.0.0.1:8080/a/b/d");
        assert_eq!(r("../d?y"), "http://127.0.0.1:8080/a/d?y");
        assert_eq!(r("./"), "http://127.0.0.1:8080/a/b/");
        assert_eq!(r("?q=2"), "http://127.0.0.1:8080/a/b/c?q=2");
        assert_eq!(r(""), "http://127.0.0.1:8080/a/b/c?x=1");
        assert_eq!(r("//localhost:9/x"), "http://localhost:9/x");
        assert_eq!(r("HTTPS://user@h/x/../y"), "https://h/y");
        assert_eq!(b.resolve("/x").unwrap().hostname(), "127.0.0.1");
        assert_eq!(b.resolve("http://h:9/").unwrap().port(), 9);
        assert_eq!(
            b.resolve("http://h:x/"),
            Err("parse \"http://h:x/\": invalid port \":x\" after host".into())
        );
        assert!(has_scheme("http://x") && !has_scheme("/a:b") && !has_scheme("//h/x"));
    }
}
