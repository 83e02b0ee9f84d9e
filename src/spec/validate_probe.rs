//! Validation of probes and lifecycle hooks, following Kubernetes' `validateProbe`,
//! `validateHandler`, `validateLifecycle` and `validateSleepAction` (v1.35 behaviour).

use super::model::{Container, HttpGetAction, IntOrString, LifecycleHandler, Probe};
use super::validate::{PORT_NAME_HELP, err, list_or_none, port_name_problem, warn};
use crate::diag::{Diagnostic, FieldPath};

/// Checks the probes and hooks of a regular or sidecar container against the pod's `grace`.
// `grace` is None when the pod's own terminationGracePeriodSeconds is invalid.
pub(crate) fn check_probes_and_hooks(
    c: &Container,
    path: &FieldPath,
    grace: Option<i64>,
    out: &mut Vec<Diagnostic>,
) {
    let probes = [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ];
    for (field, probe) in probes {
        if let Some(p) = probe {
            check_probe(field, p, c, &path.key(field), out);
        }
    }
    if let Some(l) = &c.lifecycle {
        let lpath = path.key("lifecycle");
        for (field, hook) in [("postStart", &l.post_start), ("preStop", &l.pre_stop)] {
            if let Some(h) = hook {
                check_hook(field, h, c, grace, &lpath.key(field), out);
            }
        }
    }
}

/// The timing fields with their defaults, for the help text.
const TIMING: [(&str, i64); 5] = [
    ("initialDelaySeconds", 0),
    ("periodSeconds", 10),
    ("timeoutSeconds", 1),
    ("successThreshold", 1),
    ("failureThreshold", 3),
];

fn check_probe(field: &str, p: &Probe, c: &Container, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let handlers = [
        ("exec", p.exec.is_some()),
        ("httpGet", p.http_get.is_some()),
        ("tcpSocket", p.tcp_socket.is_some()),
        ("grpc", p.grpc.is_some()),
    ];
    // Like Kubernetes, only the first handler is validated; extra ones are errors of their own.
    match first_handler(&handlers, path, "exec, httpGet, tcpSocket or grpc", out) {
        Some("exec") => check_exec(p.exec.as_ref().map(|e| &e.command), &path.key("exec"), out),
        Some("httpGet") => {
            if let Some(h) = &p.http_get {
                check_http_get(h, c, &path.key("httpGet"), out);
            }
        }
        Some("tcpSocket") => {
            if let Some(t) = &p.tcp_socket {
                check_port(&t.port, c, &path.key("tcpSocket").key("port"), out);
            }
        }
        Some("grpc") => {
            if let Some(g) = p.grpc.as_ref().filter(|g| !(1..=65535).contains(&g.port)) {
                out.push(err(
                    path.key("grpc").key("port"),
                    format!("grpc port {} is not a valid port number", g.port),
                    "use a port number between 1 and 65535 (gRPC probes take no port names)",
                ));
            }
        }
        _ => {}
    }
    let values = [
        p.initial_delay_seconds,
        p.period_seconds,
        p.timeout_seconds,
        p.success_threshold,
        p.failure_threshold,
    ];
    for ((name, default), value) in TIMING.iter().zip(values) {
        if let Some(v) = value.filter(|v| !(0..=i64::from(i32::MAX)).contains(v)) {
            // ValidateNonnegativeField's words; a Go int32 cannot hold more than i32::MAX.
            let why = if v < 0 {
                "must be greater than or equal to 0".to_owned()
            } else {
                format!("must be no more than {}", i32::MAX)
            };
            out.push(err(
                path.key(name),
                format!("Invalid value: {v}: {why}"),
                format!("use 0 or more (up to 2147483647); 0 or leaving it out means the default, {default}"),
            ));
        }
    }
    // The API defaults 0 to 1 before validating, so 0 passes as well.
    if field != "readinessProbe"
        && let Some(v) = p.success_threshold.filter(|v| *v > 1)
    {
        out.push(err(
            path.key("successThreshold"),
            format!("successThreshold {v} is not allowed on a {field}: it must be 1"),
            "set it to 1 or remove it; only readiness probes can require several successes",
        ));
    }
    match p.termination_grace_period_seconds {
        Some(_) if field == "readinessProbe" => out.push(err(
            path.key("terminationGracePeriodSeconds"),
            "terminationGracePeriodSeconds must not be set for readinessProbes",
            "remove it: a failing readiness probe never kills the container",
        )),
        Some(v) if v <= 0 => out.push(err(
            path.key("terminationGracePeriodSeconds"),
            format!("terminationGracePeriodSeconds {v} must be greater than 0"),
            "use a positive number of seconds, or remove it to use the pod's terminationGracePeriodSeconds",
        )),
        _ => {}
    }
}

fn check_hook(
    field: &str,
    h: &LifecycleHandler,
    c: &Container,
    grace: Option<i64>,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    let handlers = [
        ("exec", h.exec.is_some()),
        ("httpGet", h.http_get.is_some()),
        ("tcpSocket", h.tcp_socket.is_some()),
        ("sleep", h.sleep.is_some()),
    ];
    match first_handler(&handlers, path, "exec, httpGet or sleep", out) {
        Some("exec") => check_exec(h.exec.as_ref().map(|e| &e.command), &path.key("exec"), out),
        Some("httpGet") => {
            if let Some(g) = &h.http_get {
                check_http_get(g, c, &path.key("httpGet"), out);
            }
        }
        Some("tcpSocket") => {
            if let Some(t) = &h.tcp_socket {
                check_port(&t.port, c, &path.key("tcpSocket").key("port"), out);
            }
            // Accepted by the API for backward compatibility, but the kubelet has no runner.
            let reason = if field == "postStart" {
                "FailedPostStartHook"
            } else {
                "FailedPreStopHook"
            };
            out.push(warn(
                path.key("tcpSocket"),
                format!("a tcpSocket {field} hook passes validation but the kubelet cannot run it, so it always fails"),
                format!("use exec, httpGet or sleep; as written, expect a {reason} event every time the hook runs"),
            ));
        }
        Some("sleep") => {
            let Some(s) = &h.sleep else { return };
            // With an invalid pod grace period Kubernetes skips the upper bound, and so do we.
            let problem = match grace {
                _ if s.seconds < 0 => "is negative".to_owned(),
                Some(g) if s.seconds > g => {
                    format!("is longer than the pod's terminationGracePeriodSeconds ({g})")
                }
                _ => return,
            };
            let help = match grace {
                Some(g) => format!(
                    "use 0 to {g} seconds, or raise the pod's terminationGracePeriodSeconds"
                ),
                None => {
                    "use 0 or more seconds, at most the pod's terminationGracePeriodSeconds".into()
                }
            };
            out.push(err(
                path.key("sleep").key("seconds"),
                format!("sleep.seconds {} {problem}", s.seconds),
                help,
            ));
        }
        _ => {}
    }
}

/// Reports a missing handler or extra handlers; returns the one that counts.
fn first_handler(
    handlers: &[(&'static str, bool)],
    path: &FieldPath,
    allowed: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<&'static str> {
    let mut set = handlers
        .iter()
        .filter(|(_, is_set)| *is_set)
        .map(|(name, _)| *name);
    let Some(first) = set.next() else {
        out.push(err(
            path.clone(),
            "must specify a handler type",
            format!("set exactly one of {allowed}"),
        ));
        return None;
    };
    for extra in set {
        out.push(err(
            path.key(extra),
            format!("may not specify more than 1 handler type: {first} is already set"),
            format!("keep only one of {allowed}"),
        ));
    }
    Some(first)
}

fn check_exec(command: Option<&Vec<String>>, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    if command.is_none_or(|c| c.is_empty()) {
        out.push(err(
            path.key("command"),
            "exec.command is empty",
            "give the command as an array, e.g. command = [\"cat\", \"/tmp/healthy\"]; it is not run in a shell",
        ));
    }
}

fn check_http_get(h: &HttpGetAction, c: &Container, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    check_port(&h.port, c, &path.key("port"), out);
    // An empty scheme is defaulted to HTTP by the API, so only other values are wrong.
    if let Some(s) = h
        .scheme
        .as_ref()
        .filter(|s| !["", "HTTP", "HTTPS"].contains(&s.as_str()))
    {
        out.push(err(
            path.key("scheme"),
            format!("scheme {s:?} is not supported"),
            "use \"HTTP\" (the default) or \"HTTPS\", in upper case",
        ));
    }
    for (i, header) in h.http_headers.iter().enumerate() {
        let n = &header.name;
        if n.is_empty() || !n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') {
            out.push(err(
                path.key("httpHeaders").index(i).key("name"),
                format!("header name {n:?} is not a valid HTTP header name"),
                "use letters, digits and '-' only, e.g. \"X-Header-Name\"",
            ));
        }
    }
}

/// A port given by number or by name; a name must also be declared by the container, or
/// the kubelet fails every attempt with `port "<name>" not found`.
fn check_port(port: &IntOrString, c: &Container, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    match port {
        IntOrString::Int(n) if !(1..=65535).contains(n) => out.push(err(
            path.clone(),
            format!("port {n} is not a valid port number"),
            "use a port number between 1 and 65535, or the name of one of the container's ports",
        )),
        IntOrString::Int(_) => {}
        IntOrString::String(name) => {
            if let Some(why) = port_name_problem(name) {
                out.push(err(
                    path.clone(),
                    format!("port name {name:?} {why}"),
                    PORT_NAME_HELP,
                ));
            } else if !c
                .ports
                .iter()
                .any(|p| p.name.as_deref() == Some(name.as_str()))
            {
                let declared = c.ports.iter().filter_map(|p| p.name.as_deref());
                out.push(warn(
                    path.clone(),
                    format!("port {name:?} is not a named port of container {:?}", c.name),
                    format!(
                        "the kubelet resolves names at run time and will report `port {name:?} not found` on every attempt; declare it in this container's ports (named ports: {})",
                        list_or_none(declared)
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::validate::test_util::{app, diagnose, run_cases};

    /// Container fields, one per case; `EXEC` stands for a valid exec handler.
    const CASES: &str = r#"
        E | livenessProbe | must specify a handler type | [pod.containers.livenessProbe] # <-\nperiodSeconds = 5
        E | readinessProbe.tcpSocket | may not specify more than 1 handler type | readinessProbe = { EXEC, tcpSocket = { port = 80 } }
        E | startupProbe.exec.command | exec.command is empty | startupProbe = { exec = { command = [] } }
        E | livenessProbe.grpc.port | grpc port 0 | livenessProbe = { grpc = { port = 0 } }
        E | livenessProbe.tcpSocket.port | port 70000 | livenessProbe = { tcpSocket = { port = 70000 } }
        E | readinessProbe.httpGet.port | port 0 is not a valid | readinessProbe = { httpGet = { port = 0 } }
        E | readinessProbe.httpGet.port | lower-case | readinessProbe = { httpGet = { port = "Web" } }
        E | readinessProbe.httpGet.scheme | "http" | readinessProbe = { httpGet = { port = 80, scheme = "http" } }
        E | readinessProbe.httpGet.httpHeaders[0].name | "X Bad" | readinessProbe = { httpGet = { port = 80, httpHeaders = [{ name = "X Bad", value = "1" }] } }
        W | readinessProbe.httpGet.port | port "metrics" is not a named port | readinessProbe = { httpGet = { port = "metrics" } }
        E | readinessProbe.initialDelaySeconds | Invalid value: -1: must be greater than or equal to 0 | readinessProbe = { EXEC, initialDelaySeconds = -1 }
        E | readinessProbe.periodSeconds | Invalid value: -1: must be greater than or equal to 0 | readinessProbe = { EXEC, periodSeconds = -1 }
        E | readinessProbe.timeoutSeconds | Invalid value: -1: must be greater than or equal to 0 | readinessProbe = { EXEC, timeoutSeconds = -1 }
        E | readinessProbe.successThreshold | Invalid value: -1: must be greater than or equal to 0 | readinessProbe = { EXEC, successThreshold = -1 }
        E | readinessProbe.failureThreshold | Invalid value: 2147483648: must be no more than 2147483647 | readinessProbe = { EXEC, failureThreshold = 2147483648 }
        E | livenessProbe.successThreshold | it must be 1 | livenessProbe = { EXEC, successThreshold = 2 }
        E | startupProbe.successThreshold | it must be 1 | startupProbe = { EXEC, successThreshold = 2 }
        E | readinessProbe.terminationGracePeriodSeconds | must not be set for readinessProbes | readinessProbe = { EXEC, terminationGracePeriodSeconds = 5 }
        E | livenessProbe.terminationGracePeriodSeconds | must be greater than 0 | livenessProbe = { EXEC, terminationGracePeriodSeconds = 0 }
        E | lifecycle.preStop | must specify a handler type | [pod.containers.lifecycle.preStop] # <-
        E | lifecycle.postStart.sleep | may not specify more than 1 handler type | lifecycle.postStart = { EXEC, sleep = { seconds = 1 } }
        E | lifecycle.preStop.exec.command | empty | lifecycle.preStop = { exec = { command = [] } }
        E | lifecycle.preStop.sleep.seconds | 31 is longer than the pod's terminationGracePeriodSeconds (30) | lifecycle.preStop = { sleep = { seconds = 31 } }
        E | lifecycle.preStop.sleep.seconds | -1 is negative | lifecycle.preStop = { sleep = { seconds = -1 } }
        W | lifecycle.postStart.tcpSocket | always fails | lifecycle.postStart = { tcpSocket = { port = 80 } }
        W | lifecycle.postStart.httpGet.port | "admin" | lifecycle.postStart = { httpGet = { port = "admin" } }
    "#;

    fn build(fields: &str) -> String {
        app(&fields.replace("EXEC", r#"exec = { command = ["true"] }"#))
    }

    #[test]
    fn probes_and_hooks() {
        run_cases(CASES, "pod.containers[0].", build);
    }

    #[test]
    fn sleep_may_be_zero_and_up_to_the_pod_grace_period() {
        let sleep = |s: u32| {
            build(&format!(
                "lifecycle.preStop = {{ sleep = {{ seconds = {s} }} }}\n"
            ))
        };
        let longer_grace =
            sleep(31).replace("[pod]\n", "[pod]\nterminationGracePeriodSeconds = 60\n");
        assert!(diagnose(&longer_grace).diagnostics.is_empty());
        assert!(
            diagnose(&sleep(0)).diagnostics.is_empty(),
            "0 is allowed since 1.34"
        );
    }

    #[test]
    fn an_undeclared_named_port_explains_the_kubelet_error() {
        let fd = diagnose(&build(
            "livenessProbe = { tcpSocket = { port = \"db\" } }\n",
        ));
        let help = fd
            .diagnostics
            .first()
            .and_then(|d| d.help.clone())
            .unwrap_or_default();
        assert!(help.contains("`port \"db\" not found`"), "{help}");
    }
}
