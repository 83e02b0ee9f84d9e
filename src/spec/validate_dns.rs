//! Validation of the pod's naming fields as the API server does it
//! (pkg/apis/core/validation/validation.go `validateDNSPolicy`, `validatePodDNSConfig`,
//! `ValidateHostAliases`, and the hostname/subdomain label checks of `ValidatePodSpec`).

use super::model::Pod;
use super::pod_dns::DnsPolicy;
use super::validate::{DNS_LABEL_HELP, dns_label_problem, err, is_label_like};
use crate::diag::{Diagnostic, FieldPath};

/// `MaxDNSNameservers`.
pub const MAX_DNS_NAMESERVERS: usize = 3;
/// `MaxDNSSearchPaths` (ExpandedDNSConfig, GA since v1.28).
pub const MAX_DNS_SEARCH_PATHS: usize = 32;
/// `MaxDNSSearchListChars` (ExpandedDNSConfig).
pub const MAX_DNS_SEARCH_LIST_CHARS: usize = 2048;

/// Whether `s` is a lowercase RFC 1123 subdomain (`IsDNS1123Subdomain`).
pub(super) fn is_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_label_like)
}

/// Checks hostname, subdomain, hostAliases, dnsPolicy and dnsConfig of one pod.
pub(super) fn check_pod_dns(pod: &Pod, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    for (key, value) in [("hostname", &pod.hostname), ("subdomain", &pod.subdomain)] {
        if let Some(v) = value
            && let Some(why) = dns_label_problem(v)
        {
            out.push(err(
                path.key(key),
                format!("{key} {v:?} {why}"),
                DNS_LABEL_HELP,
            ));
        }
    }
    for (i, alias) in pod.host_aliases.iter().enumerate() {
        let apath = path.key("hostAliases").index(i);
        if alias.ip.parse::<std::net::IpAddr>().is_err() {
            out.push(err(
                apath.key("ip"),
                format!("Invalid value: {:?}: must be a valid IP address", alias.ip),
                "give an IPv4 or IPv6 address, e.g. \"10.1.2.3\"",
            ));
        }
        for (j, h) in alias.hostnames.iter().enumerate() {
            if !is_subdomain(h) {
                out.push(err(
                    apath.key("hostnames").index(j),
                    format!("Invalid value: {h:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"),
                    "use a name such as \"foo.local\"",
                ));
            }
        }
    }
    if pod.dns_policy == Some(DnsPolicy::None) && pod.dns_config.is_none() {
        out.push(err(
            path.key("dnsConfig"),
            "Required value: must provide `dnsConfig` when `dnsPolicy` is None",
            "add dnsConfig = { nameservers = [\"1.2.3.4\"] }, or use another dnsPolicy",
        ));
    }
    let Some(cfg) = &pod.dns_config else {
        return;
    };
    let cpath = path.key("dnsConfig");
    if cfg.nameservers.len() > MAX_DNS_NAMESERVERS {
        out.push(err(
            cpath.key("nameservers"),
            format!(
                "Invalid value: {:?}: must not have more than {MAX_DNS_NAMESERVERS} nameservers",
                cfg.nameservers
            ),
            "keep at most three nameservers",
        ));
    }
    for (i, ns) in cfg.nameservers.iter().enumerate() {
        if ns.parse::<std::net::IpAddr>().is_err() {
            out.push(err(
                cpath.key("nameservers").index(i),
                format!("Invalid value: {ns:?}: must be valid IP address"),
                "give an IP address, e.g. \"1.2.3.4\"",
            ));
        }
    }
    if pod.dns_policy == Some(DnsPolicy::None) && cfg.nameservers.is_empty() {
        out.push(err(
            cpath.key("nameservers"),
            "Required value: must provide at least one DNS nameserver when `dnsPolicy` is None",
            "add nameservers = [\"1.2.3.4\"]",
        ));
    }
    if cfg.searches.len() > MAX_DNS_SEARCH_PATHS {
        out.push(err(
            cpath.key("searches"),
            format!(
                "Invalid value: {:?}: must not have more than {MAX_DNS_SEARCH_PATHS} search paths",
                cfg.searches
            ),
            "keep at most 32 search domains",
        ));
    }
    let chars = cfg.searches.join(" ").len();
    if chars > MAX_DNS_SEARCH_LIST_CHARS {
        out.push(err(
            cpath.key("searches"),
            format!("Invalid value: {:?}: must not have more than {MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list", cfg.searches),
            "shorten the search list",
        ));
    }
    for (i, s) in cfg.searches.iter().enumerate() {
        // A trailing dot is allowed (and dropped) as the API server allows it.
        let name = s.strip_suffix('.').unwrap_or(s);
        if !is_subdomain(name) {
            out.push(err(
                cpath.key("searches").index(i),
                format!("Invalid value: {s:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"),
                "use a domain such as \"ns1.svc.cluster-domain.example\"",
            ));
        }
    }
    for (i, o) in cfg.options.iter().enumerate() {
        if o.name.is_empty() {
            out.push(err(
                cpath.key("options").index(i).key("name"),
                "Required value: must not be empty",
                "name the option, e.g. name = \"ndots\"",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::pod_dns::{HostAlias, PodDnsConfig};

    fn problems(pod: &Pod) -> Vec<String> {
        let mut out = Vec::new();
        check_pod_dns(pod, &FieldPath::root().key("pod"), &mut out);
        out.into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn policy_none_needs_a_config_with_a_nameserver() {
        let mut pod = Pod {
            dns_policy: Some(DnsPolicy::None),
            ..Pod::default()
        };
        assert!(problems(&pod)[0].contains("must provide `dnsConfig`"));
        pod.dns_config = Some(PodDnsConfig::default());
        assert!(problems(&pod)[0].contains("at least one DNS nameserver"));
        pod.dns_config = Some(PodDnsConfig {
            nameservers: vec!["1.2.3.4".into()],
            ..PodDnsConfig::default()
        });
        assert!(problems(&pod).is_empty());
    }

    #[test]
    fn bad_names_addresses_and_too_many_nameservers_are_errors() {
        let pod = Pod {
            hostname: Some("Web".into()),
            subdomain: Some("a.b".into()),
            host_aliases: vec![HostAlias {
                ip: "300.1.1.1".into(),
                hostnames: vec!["ok.local".into(), "Not_ok".into()],
            }],
            dns_config: Some(PodDnsConfig {
                nameservers: vec![
                    "1.1.1.1".into(),
                    "2.2.2.2".into(),
                    "3.3.3.3".into(),
                    "x".into(),
                ],
                searches: vec!["ok.example.".into(), "-bad".into()],
                options: Vec::new(),
            }),
            ..Pod::default()
        };
        let p = problems(&pod);
        assert_eq!(p.len(), 7, "{p:#?}");
    }
}
