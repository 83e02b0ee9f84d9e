//! Service environment variables (pkg/kubelet/envvars/envvars.go `FromServices`, and
//! kubelet_pods.go `getServiceEnvVarMap` for which Services a pod sees).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A Service as the kubelet's service lister shows it: what its variables are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLink {
    /// metadata.namespace.
    pub namespace: String,
    /// metadata.name.
    pub name: String,
    /// spec.clusterIP.
    pub cluster_ip: Ipv4Addr,
    /// spec.ports, in order.
    pub ports: Vec<ServiceLinkPort>,
}

/// One Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLinkPort {
    /// The port's name ("" when unnamed).
    pub name: String,
    /// The Service port.
    pub port: i64,
    /// TCP, UDP or SCTP ("" means TCP).
    pub protocol: String,
}

/// `makeEnvVariableName`: upper case, '.' and '-' become '_', a leading digit gets '_'.
pub fn env_name(s: &str) -> String {
    let up = s.replace(['.', '-'], "_").to_uppercase();
    if up.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{up}")
    } else {
        up
    }
}

/// `FromServices`: the variables of each Service, in the kubelet's order.
pub fn from_services(services: &[&ServiceLink]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in services {
        // The API server requires a port; a Service without one has nothing to link.
        let Some(first) = s.ports.first() else {
            continue;
        };
        let prefix = env_name(&s.name);
        let ip = s.cluster_ip.to_string();
        out.push((format!("{prefix}_SERVICE_HOST"), ip.clone()));
        let name = format!("{prefix}_SERVICE_PORT");
        out.push((name.clone(), first.port.to_string()));
        for p in s.ports.iter().filter(|p| !p.name.is_empty()) {
            out.push((format!("{name}_{}", env_name(&p.name)), p.port.to_string()));
        }
        // The Docker-link variables (`makeLinkVariables`).
        for (i, p) in s.ports.iter().enumerate() {
            let proto = if p.protocol.is_empty() {
                "TCP"
            } else {
                p.protocol.as_str()
            };
            let lower = proto.to_lowercase();
            let url = format!("{lower}://{ip}:{}", p.port);
            if i == 0 {
                out.push((format!("{prefix}_PORT"), url.clone()));
            }
            let pp = format!("{prefix}_PORT_{}_{}", p.port, proto.to_uppercase());
            out.push((pp.clone(), url));
            out.push((format!("{pp}_PROTO"), lower));
            out.push((format!("{pp}_PORT"), p.port.to_string()));
            out.push((format!("{pp}_ADDR"), ip.clone()));
        }
    }
    out
}

/// `getServiceEnvVarMap`: the variables of the Services a pod in `namespace` sees. The
/// kubelet always adds the `kubernetes` master Service of `default` (there is none here)
/// and, with `enableServiceLinks`, every Service of the pod's own namespace.
pub fn service_env_map(
    services: &[ServiceLink],
    namespace: &str,
    enable_service_links: bool,
) -> BTreeMap<String, String> {
    let mut chosen: BTreeMap<&str, &ServiceLink> = BTreeMap::new();
    for s in services {
        if s.namespace == "default" && s.name == "kubernetes" {
            chosen.entry(s.name.as_str()).or_insert(s);
        } else if s.namespace == namespace && enable_service_links {
            chosen.insert(s.name.as_str(), s);
        }
    }
    let list: Vec<&ServiceLink> = chosen.into_values().collect();
    from_services(&list).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(ns: &str, name: &str, ip: [u8; 4], ports: &[(&str, i64, &str)]) -> ServiceLink {
        ServiceLink {
            namespace: ns.into(),
            name: name.into(),
            cluster_ip: ip.into(),
            ports: ports
                .iter()
                .map(|(n, p, proto)| ServiceLinkPort {
                    name: (*n).into(),
                    port: *p,
                    protocol: (*proto).into(),
                })
                .collect(),
        }
    }

    /// The variables of envvars_test.go's "foo-bar" Service (two ports, one named), written
    /// out by the rules of envvars.go rather than taken from this code's output.
    #[test]
    fn a_two_port_service_gets_host_port_and_docker_link_variables() {
        let s = svc(
            "default",
            "foo-bar",
            [1, 2, 3, 4],
            &[("", 8083, "TCP"), ("https", 443, "")],
        );
        let got = from_services(&[&s]);
        let want: Vec<(String, String)> = [
            ("FOO_BAR_SERVICE_HOST", "1.2.3.4"),
            ("FOO_BAR_SERVICE_PORT", "8083"),
            ("FOO_BAR_SERVICE_PORT_HTTPS", "443"),
            ("FOO_BAR_PORT", "tcp://1.2.3.4:8083"),
            ("FOO_BAR_PORT_8083_TCP", "tcp://1.2.3.4:8083"),
            ("FOO_BAR_PORT_8083_TCP_PROTO", "tcp"),
            ("FOO_BAR_PORT_8083_TCP_PORT", "8083"),
            ("FOO_BAR_PORT_8083_TCP_ADDR", "1.2.3.4"),
            ("FOO_BAR_PORT_443_TCP", "tcp://1.2.3.4:443"),
            ("FOO_BAR_PORT_443_TCP_PROTO", "tcp"),
            ("FOO_BAR_PORT_443_TCP_PORT", "443"),
            ("FOO_BAR_PORT_443_TCP_ADDR", "1.2.3.4"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn names_with_dots_dashes_and_leading_digits() {
        assert_eq!(env_name("my-db.v2"), "MY_DB_V2");
        assert_eq!(env_name("3scale"), "_3SCALE");
    }

    #[test]
    fn only_the_pods_namespace_and_only_with_service_links() {
        let all = vec![
            svc("default", "db", [127, 96, 1, 1], &[("", 5432, "")]),
            svc("other", "cache", [127, 96, 1, 2], &[("", 6379, "")]),
        ];
        let m = service_env_map(&all, "default", true);
        assert_eq!(
            m.get("DB_SERVICE_HOST").map(String::as_str),
            Some("127.96.1.1")
        );
        assert!(!m.contains_key("CACHE_SERVICE_HOST"));
        assert!(service_env_map(&all, "default", false).is_empty());
        let other = service_env_map(&all, "other", true);
        assert_eq!(
            other.get("CACHE_PORT").map(String::as_str),
            Some("tcp://127.96.1.2:6379")
        );
        assert!(!other.contains_key("DB_SERVICE_HOST"));
    }

    #[test]
    fn the_master_service_is_linked_even_without_service_links() {
        let all = vec![svc(
            "default",
            "kubernetes",
            [10, 96, 0, 1],
            &[("https", 443, "")],
        )];
        let m = service_env_map(&all, "apps", false);
        assert_eq!(
            m.get("KUBERNETES_SERVICE_HOST").map(String::as_str),
            Some("10.96.0.1")
        );
        assert_eq!(
            m.get("KUBERNETES_SERVICE_PORT_HTTPS").map(String::as_str),
            Some("443")
        );
    }
}
