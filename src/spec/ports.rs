//! The loopback ports a pod will use: declared container ports plus every port its probes
//! and hooks target. Without a network namespace per pod these are shared with every other
//! pod on the host, so pods whose sets overlap must not run at the same time.

use std::collections::BTreeSet;

use super::model::{Container, HttpGetAction, IntOrString, LifecycleHandler, Pod, Probe};

/// All ports the pod listens on or probes.
pub fn pod_ports(pod: &Pod) -> BTreeSet<u16> {
    let mut out = BTreeSet::new();
    for c in pod.init_containers.iter().chain(&pod.containers) {
        container_ports(c, &mut out);
    }
    out
}

fn container_ports(c: &Container, out: &mut BTreeSet<u16>) {
    let resolve = |p: &IntOrString| match p {
        IntOrString::Int(n) => u16::try_from(*n).ok(),
        IntOrString::String(name) => c
            .ports
            .iter()
            .find(|cp| cp.name.as_deref() == Some(name.as_str()))
            .and_then(|cp| u16::try_from(cp.container_port).ok()),
    };
    out.extend(
        c.ports
            .iter()
            .filter_map(|p| u16::try_from(p.container_port).ok()),
    );
    let http = |h: &HttpGetAction| {
        if h.host.is_none() {
            resolve(&h.port)
        } else {
            None
        }
    };
    let probes: [&Option<Probe>; 3] = [&c.liveness_probe, &c.readiness_probe, &c.startup_probe];
    for p in probes.into_iter().flatten() {
        out.extend(p.http_get.as_ref().and_then(http));
        out.extend(
            p.tcp_socket
                .as_ref()
                .filter(|t| t.host.is_none())
                .and_then(|t| resolve(&t.port)),
        );
        out.extend(p.grpc.as_ref().and_then(|g| u16::try_from(g.port).ok()));
    }
    let hooks: Vec<&LifecycleHandler> = c
        .lifecycle
        .iter()
        .flat_map(|l| l.post_start.iter().chain(l.pre_stop.iter()))
        .collect();
    for h in hooks {
        out.extend(h.http_get.as_ref().and_then(http));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn collects_declared_probed_and_hooked_ports() {
        let src = r#"
[pod]
[[pod.containers]]
name = "web"
command = ["x"]
ports = [{ name = "http", containerPort = 8080 }]
readinessProbe = { httpGet = { path = "/", port = "http" } }
livenessProbe = { tcpSocket = { port = 9000 } }
startupProbe = { grpc = { port = 9001 } }
lifecycle = { preStop = { httpGet = { path = "/stop", port = 9002 } } }
[[pod.containers]]
name = "other"
command = ["x"]
readinessProbe = { httpGet = { path = "/", port = 7000, host = "example.invalid" } }
"#;
        let spec = crate::spec::parse_spec(Path::new("t.toml"), src)
            .map_err(|d| d.render())
            .unwrap()
            .spec;
        let ports: Vec<u16> = pod_ports(&spec.pod).into_iter().collect();
        assert_eq!(ports, vec![8080, 9000, 9001, 9002]);
    }
}
