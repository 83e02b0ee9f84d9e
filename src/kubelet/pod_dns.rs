//! A pod's names as the kubelet gives them: its hostname and domain
//! (kubelet_pods.go `GeneratePodHostNameAndDomain`), the managed `/etc/hosts`
//! (`managedHostsFileContent`) and the resolver configuration (network/dns/dns.go
//! `GetPodDNS`, written out as containerd's CRI plugin writes the sandbox's resolv.conf).

use std::net::IpAddr;

use crate::spec::model::Pod;
use crate::spec::pod_dns::DnsPolicy;
use crate::spec::validate_dns::{
    MAX_DNS_NAMESERVERS, MAX_DNS_SEARCH_LIST_CHARS, MAX_DNS_SEARCH_PATHS,
};

/// The kubelet's DNS flags: `--cluster-dns`, `--cluster-domain`, and the node resolver
/// configuration read by `--resolv-conf` (already parsed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsSettings {
    /// `--cluster-dns`: empty when the cluster has no DNS here (isolation `none`).
    pub cluster_dns: Vec<IpAddr>,
    /// `--cluster-domain`.
    pub cluster_domain: String,
    /// The node's resolv.conf.
    pub host: ResolverConfig,
}

/// A resolver configuration (CRI `DNSConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolverConfig {
    /// `nameserver` lines.
    pub servers: Vec<String>,
    /// The `search` line.
    pub searches: Vec<String>,
    /// The `options` line.
    pub options: Vec<String>,
}

/// `parseResolvConf`: nameservers accumulate, the last `search` and `options` lines win.
pub fn parse_resolv_conf(text: &str) -> ResolverConfig {
    let mut c = ResolverConfig::default();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = t.split_whitespace().collect();
        match fields.first() {
            Some(&"nameserver") => c.servers.extend(fields.get(1).map(|s| (*s).to_owned())),
            Some(&"search") => {
                c.searches = fields[1..]
                    .iter()
                    .map(|s| s.strip_suffix('.').unwrap_or(s).to_owned())
                    .collect();
            }
            Some(&"options") => c.options = fields[1..].iter().map(|s| (*s).to_owned()).collect(),
            _ => {}
        }
    }
    c
}

/// The pod's hostname and domain: `hostname` (else the pod name, cut to 63 characters and
/// trailing '-'/'.'), and with `subdomain` the domain `SUB.NS.svc.DOMAIN`.
pub fn hostname_and_domain(
    pod: &Pod,
    pod_name: &str,
    namespace: &str,
    domain: &str,
) -> (String, String) {
    let mut host = pod.hostname.clone().unwrap_or_else(|| pod_name.to_owned());
    if host.len() > 63 {
        host.truncate(63);
        host = host.trim_end_matches(['-', '.']).to_owned();
    }
    let dom = match &pod.subdomain {
        Some(s) if !s.is_empty() => format!("{s}.{namespace}.svc.{domain}"),
        _ => String::new(),
    };
    (host, dom)
}

/// `managedHostsFileContent` for a pod on the pod network.
pub fn managed_hosts_file(pod_ips: &[String], host: &str, domain: &str, pod: &Pod) -> String {
    let mut b = String::from("# Kubernetes-managed hosts file.\n");
    b.push_str("127.0.0.1\tlocalhost\n");
    b.push_str("::1\tlocalhost ip6-localhost ip6-loopback\n");
    b.push_str("fe00::0\tip6-localnet\n");
    b.push_str("fe00::0\tip6-mcastprefix\n");
    b.push_str("fe00::1\tip6-allnodes\n");
    b.push_str("fe00::2\tip6-allrouters\n");
    for ip in pod_ips {
        if domain.is_empty() {
            b.push_str(&format!("{ip}\t{host}\n"));
        } else {
            b.push_str(&format!("{ip}\t{host}.{domain}\t{host}\n"));
        }
    }
    // hostsEntriesFromHostAliases: one line per alias, its names tab-separated.
    if !pod.host_aliases.is_empty() {
        b.push_str("\n# Entries added by HostAliases.\n");
        for a in &pod.host_aliases {
            b.push_str(&format!("{}\t{}\n", a.ip, a.hostnames.join("\t")));
        }
    }
    b
}

/// A warning the kubelet records while forming the pod's DNS (`DNSConfigForming`).
pub type DnsWarning = String;

/// `GetPodDNS`: the pod's resolver configuration, and the DNSConfigForming warnings.
pub fn pod_dns(pod: &Pod, namespace: &str, s: &DnsSettings) -> (ResolverConfig, Vec<DnsWarning>) {
    let mut cfg = s.host.clone();
    // getPodDNSType: without hostNetwork (never here) ClusterFirst is the cluster's.
    let policy = pod.dns_policy.unwrap_or(DnsPolicy::ClusterFirst);
    match policy {
        DnsPolicy::None => cfg = ResolverConfig::default(),
        DnsPolicy::ClusterFirst | DnsPolicy::ClusterFirstWithHostNet
            if !s.cluster_dns.is_empty() =>
        {
            cfg.servers = s.cluster_dns.iter().map(IpAddr::to_string).collect();
            if !s.cluster_domain.is_empty() {
                let d = &s.cluster_domain;
                let mut searches = vec![
                    format!("{namespace}.svc.{d}"),
                    format!("svc.{d}"),
                    d.clone(),
                ];
                searches.extend(cfg.searches.iter().cloned());
                cfg.searches = omit_duplicates(searches);
            }
            cfg.options = vec!["ndots:5".into()];
        }
        // Default, or ClusterFirst without a cluster DNS (the kubelet falls back to Default).
        _ => {}
    }
    if let Some(extra) = &pod.dns_config {
        let mut servers = cfg.servers;
        servers.extend(extra.nameservers.iter().cloned());
        cfg.servers = omit_duplicates(servers);
        let mut searches = cfg.searches;
        searches.extend(extra.searches.iter().cloned());
        cfg.searches = omit_duplicates(searches);
        cfg.options = merge_options(&cfg.options, &extra.options);
    }
    let mut warnings = Vec::new();
    if cfg.servers.len() > MAX_DNS_NAMESERVERS {
        cfg.servers.truncate(MAX_DNS_NAMESERVERS);
        warnings.push(format!(
            "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: {}",
            cfg.servers.join(" ")
        ));
    }
    if let Some(w) = fit_searches(&mut cfg.searches) {
        warnings.push(w);
    }
    (cfg, warnings)
}

fn omit_duplicates(v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.into_iter().filter(|s| seen.insert(s.clone())).collect()
}

/// `mergeDNSOptions`: an option of the pod's replaces one of the same name. Go builds the
/// result from a map, so its order is unspecified there; here it is first appearance.
fn merge_options(
    existing: &[String],
    extra: &[crate::spec::pod_dns::PodDnsConfigOption],
) -> Vec<String> {
    let mut opts: Vec<(String, String)> = Vec::new();
    let mut set = |name: &str, value: &str| match opts.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = value.to_owned(),
        None => opts.push((name.to_owned(), value.to_owned())),
    };
    for o in existing {
        match o.split_once(':') {
            Some((n, v)) => set(n, v),
            None => set(o, ""),
        }
    }
    for o in extra {
        set(&o.name, o.value.as_deref().unwrap_or(""));
    }
    opts.into_iter()
        .map(|(n, v)| if v.is_empty() { n } else { format!("{n}:{v}") })
        .collect()
}

/// `formDNSSearchFitsLimits`: at most 32 domains, none over 253 characters, at most 2048
/// characters in all (dropping domains from the end).
fn fit_searches(searches: &mut Vec<String>) -> Option<DnsWarning> {
    let mut exceeded = false;
    if searches.len() > MAX_DNS_SEARCH_PATHS {
        searches.truncate(MAX_DNS_SEARCH_PATHS);
        exceeded = true;
    }
    let before = searches.len();
    searches.retain(|s| s.len() <= 253);
    exceeded |= searches.len() != before;
    let mut len = searches.join(" ").len();
    while len > MAX_DNS_SEARCH_LIST_CHARS {
        let Some(last) = searches.pop() else { break };
        len = len.saturating_sub(last.len() + 1);
        exceeded = true;
    }
    exceeded.then(|| {
        format!(
            "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: {}",
            searches.join(" ")
        )
    })
}

/// The file containerd writes for the sandbox (`parseDNSOptions`): search, nameserver and
/// options lines, in that order.
pub fn resolv_conf_text(c: &ResolverConfig) -> String {
    let mut out = String::new();
    if !c.searches.is_empty() {
        out.push_str(&format!("search {}\n", c.searches.join(" ")));
    }
    for s in &c.servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !c.options.is_empty() {
        out.push_str(&format!("options {}\n", c.options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::pod_dns::{HostAlias, PodDnsConfig, PodDnsConfigOption};

    fn settings(host: &str) -> DnsSettings {
        DnsSettings {
            cluster_dns: vec!["127.96.0.10".parse().unwrap()],
            cluster_domain: "cluster.local".into(),
            host: parse_resolv_conf(host),
        }
    }

    const HOST: &str = "# from the node\nnameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch corp.example. lab.example\noptions rotate timeout:2\n";

    #[test]
    fn cluster_first_uses_the_cluster_dns_the_three_cluster_searches_then_the_nodes() {
        let (c, w) = pod_dns(&Pod::default(), "default", &settings(HOST));
        assert!(w.is_empty());
        assert_eq!(
            resolv_conf_text(&c),
            "search default.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 127.96.0.10\noptions ndots:5\n"
        );
    }

    #[test]
    fn default_policy_is_the_nodes_resolver_and_none_only_dns_config() {
        let pod = Pod {
            dns_policy: Some(DnsPolicy::Default),
            ..Pod::default()
        };
        let (c, _) = pod_dns(&pod, "apps", &settings(HOST));
        assert_eq!(c.servers, ["10.0.0.2", "10.0.0.3"]);
        assert_eq!(c.searches, ["corp.example", "lab.example"]);
        assert_eq!(c.options, ["rotate", "timeout:2"]);
        let none = Pod {
            dns_policy: Some(DnsPolicy::None),
            dns_config: Some(PodDnsConfig {
                nameservers: vec!["1.2.3.4".into()],
                searches: vec!["ns1.svc.cluster-domain.example".into()],
                options: vec![PodDnsConfigOption {
                    name: "ndots".into(),
                    value: Some("2".into()),
                }],
            }),
            ..Pod::default()
        };
        let (c, _) = pod_dns(&none, "apps", &settings(HOST));
        assert_eq!(
            resolv_conf_text(&c),
            "search ns1.svc.cluster-domain.example\nnameserver 1.2.3.4\noptions ndots:2\n"
        );
    }

    #[test]
    fn dns_config_is_appended_without_duplicates_and_its_options_replace() {
        let pod = Pod {
            dns_policy: Some(DnsPolicy::ClusterFirstWithHostNet),
            dns_config: Some(PodDnsConfig {
                nameservers: vec!["127.96.0.10".into(), "9.9.9.9".into()],
                searches: vec!["svc.cluster.local".into(), "extra.example".into()],
                options: vec![
                    PodDnsConfigOption {
                        name: "ndots".into(),
                        value: Some("1".into()),
                    },
                    PodDnsConfigOption {
                        name: "edns0".into(),
                        value: None,
                    },
                ],
            }),
            ..Pod::default()
        };
        let (c, _) = pod_dns(&pod, "web", &settings(""));
        assert_eq!(c.servers, ["127.96.0.10", "9.9.9.9"]);
        assert_eq!(
            c.searches,
            [
                "web.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local",
                "extra.example"
            ]
        );
        assert_eq!(c.options, ["ndots:1", "edns0"]);
    }

    #[test]
    fn too_many_nameservers_and_searches_are_cut_with_a_warning() {
        let pod = Pod {
            dns_policy: Some(DnsPolicy::None),
            dns_config: Some(PodDnsConfig {
                nameservers: vec!["1.1.1.1".into()],
                searches: (0..40).map(|i| format!("d{i}.example")).collect(),
                options: Vec::new(),
            }),
            ..Pod::default()
        };
        let (c, w) = pod_dns(&pod, "default", &settings(""));
        assert_eq!(c.searches.len(), 32);
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("Search Line limits were exceeded"));
        let four = Pod {
            dns_policy: Some(DnsPolicy::Default),
            dns_config: Some(PodDnsConfig {
                nameservers: vec!["1.1.1.1".into(), "2.2.2.2".into()],
                ..PodDnsConfig::default()
            }),
            ..Pod::default()
        };
        let (c, w) = pod_dns(&four, "default", &settings(HOST));
        assert_eq!(c.servers, ["10.0.0.2", "10.0.0.3", "1.1.1.1"]);
        assert!(w[0].ends_with("the applied nameserver line is: 10.0.0.2 10.0.0.3 1.1.1.1"));
    }

    #[test]
    fn without_a_cluster_dns_cluster_first_falls_back_to_the_node() {
        let mut s = settings(HOST);
        s.cluster_dns.clear();
        let (c, _) = pod_dns(&Pod::default(), "default", &s);
        assert_eq!(c, parse_resolv_conf(HOST));
    }

    #[test]
    fn hosts_file_has_the_pod_line_domain_and_aliases() {
        let pod = Pod {
            hostname: Some("db-primary".into()),
            subdomain: Some("db".into()),
            host_aliases: vec![HostAlias {
                ip: "10.1.2.3".into(),
                hostnames: vec!["foo.local".into(), "bar.local".into()],
            }],
            ..Pod::default()
        };
        let (h, d) = hostname_and_domain(&pod, "db-0", "apps", "cluster.local");
        assert_eq!(
            (h.as_str(), d.as_str()),
            ("db-primary", "db.apps.svc.cluster.local")
        );
        let text = managed_hosts_file(&["127.0.0.1".into()], &h, &d, &pod);
        assert_eq!(
            text,
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n127.0.0.1\tdb-primary.db.apps.svc.cluster.local\tdb-primary\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n"
        );
        let plain = managed_hosts_file(&["127.0.0.1".into()], "web-0", "", &Pod::default());
        assert!(plain.ends_with("fe00::2\tip6-allrouters\n127.0.0.1\tweb-0\n"));
    }

    #[test]
    fn a_long_pod_name_is_cut_to_63_characters_without_a_trailing_dash() {
        let name = format!("{}-{}", "a".repeat(62), "b".repeat(5));
        let (h, _) = hostname_and_domain(&Pod::default(), &name, "default", "cluster.local");
        assert_eq!(h, "a".repeat(62));
    }
}
