//! Where Services and the cluster DNS live. A cluster gives each Service a ClusterIP from
//! its service CIDR (10.96.0.0/12 by default) and kube-dns the tenth address of it
//! (10.96.0.10). podcheck keeps every address on loopback, inside the pods' own network
//! namespaces, so it uses the same shape in 127.96.0.0/16: the DNS at 127.96.0.10 and the
//! Services, in name order (namespace, then name), from 127.96.1.1 on. Every pod namespace
//! routes all of 127.0.0.0/8 to its `lo`, so these addresses need no interface setup.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::spec::model::Service;

/// The cluster DNS Service's address (kube-dns' 10.96.0.10, moved onto loopback).
pub const CLUSTER_DNS_IP: Ipv4Addr = Ipv4Addr::new(127, 96, 0, 10);

/// The cluster's DNS domain (the kubelet's default `--cluster-domain`).
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// The ClusterIP of each Service of a run, by (namespace, name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterAddresses {
    by_service: BTreeMap<(String, String), Ipv4Addr>,
}

impl ClusterAddresses {
    /// Allocates an address to every Service in (namespace, name) order, so a spec's
    /// addresses are the same on every run. At most 254 × 254 Services fit, far above
    /// what a spec may declare.
    pub fn allocate(services: &BTreeMap<String, Service>) -> Self {
        let mut keys: Vec<(String, String)> = services
            .iter()
            .map(|(name, s)| (service_namespace(s).to_owned(), name.clone()))
            .collect();
        keys.sort();
        let by_service = keys
            .into_iter()
            .enumerate()
            .map(|(i, key)| {
                let (hi, lo) = (i / 254, i % 254);
                let hi = u8::try_from(1 + hi).unwrap_or(u8::MAX);
                let lo = u8::try_from(1 + lo).unwrap_or(u8::MAX);
                (key, Ipv4Addr::new(127, 96, hi, lo))
            })
            .collect();
        ClusterAddresses { by_service }
    }

    /// The ClusterIP of Service `name` in `namespace`.
    pub fn cluster_ip(&self, namespace: &str, name: &str) -> Option<Ipv4Addr> {
        self.by_service
            .get(&(namespace.to_owned(), name.to_owned()))
            .copied()
    }

    /// Every Service's (namespace, name) and ClusterIP, in allocation order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, Ipv4Addr)> {
        self.by_service
            .iter()
            .map(|((ns, n), ip)| (ns.as_str(), n.as_str(), *ip))
    }
}

/// A Service's namespace (`default` when the spec names none).
pub fn service_namespace(s: &Service) -> &str {
    s.namespace.as_deref().unwrap_or("default")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_namespace_then_name_and_stay_off_the_dns_address() {
        let mut svcs = BTreeMap::new();
        svcs.insert("web".to_owned(), Service::default());
        svcs.insert("db".to_owned(), Service::default());
        let other = Service {
            namespace: Some("apps".into()),
            ..Service::default()
        };
        svcs.insert("api".to_owned(), other);
        let a = ClusterAddresses::allocate(&svcs);
        assert_eq!(
            a.cluster_ip("apps", "api"),
            Some(Ipv4Addr::new(127, 96, 1, 1))
        );
        assert_eq!(
            a.cluster_ip("default", "db"),
            Some(Ipv4Addr::new(127, 96, 1, 2))
        );
        assert_eq!(
            a.cluster_ip("default", "web"),
            Some(Ipv4Addr::new(127, 96, 1, 3))
        );
        assert_eq!(a.cluster_ip("default", "api"), None);
        assert!(
            a.iter()
                .all(|(_, _, ip)| ip != CLUSTER_DNS_IP && ip.is_loopback())
        );
    }

    #[test]
    fn the_sandbox_gives_lo_the_cluster_dns_address() {
        assert_eq!(
            Ipv4Addr::from(crate::runtime::netns::ADDRCONFIG_ADDRESS),
            CLUSTER_DNS_IP
        );
    }

    #[test]
    fn many_services_get_distinct_addresses() {
        let svcs: BTreeMap<String, Service> = (0..600)
            .map(|i| (format!("s{i:03}"), Service::default()))
            .collect();
        let a = ClusterAddresses::allocate(&svcs);
        let ips: std::collections::BTreeSet<Ipv4Addr> = a.iter().map(|(_, _, ip)| ip).collect();
        assert_eq!(ips.len(), 600);
        assert!(!ips.contains(&CLUSTER_DNS_IP));
    }
}
