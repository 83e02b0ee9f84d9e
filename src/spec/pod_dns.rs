//! The PodSpec fields that shape a pod's names: its hostname, `/etc/hosts` additions, DNS
//! policy and resolver options, and whether Services become environment variables.

use serde::Deserialize;

/// `spec.dnsPolicy` (core/v1 `DNSPolicy`); the API server defaults it to ClusterFirst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum DnsPolicy {
    /// The cluster DNS first, with the cluster's search domains.
    ClusterFirst,
    /// As ClusterFirst, also for pods on the host network.
    ClusterFirstWithHostNet,
    /// The node's resolver configuration.
    Default,
    /// Only what `dnsConfig` says.
    None,
}

impl DnsPolicy {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DnsPolicy::ClusterFirst => "ClusterFirst",
            DnsPolicy::ClusterFirstWithHostNet => "ClusterFirstWithHostNet",
            DnsPolicy::Default => "Default",
            DnsPolicy::None => "None",
        }
    }
}

/// `spec.dnsConfig`: resolver settings merged into what the DNS policy gives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodDnsConfig {
    /// Nameserver IP addresses, appended (at most 3 in all).
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// Search domains, appended.
    #[serde(default)]
    pub searches: Vec<String>,
    /// Resolver options; one with the name of an existing option replaces it.
    #[serde(default)]
    pub options: Vec<PodDnsConfigOption>,
}

/// One resolver option (`ndots` = `"2"`, `edns0`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodDnsConfigOption {
    /// The option's name.
    pub name: String,
    /// Its value, if it takes one.
    pub value: Option<String>,
}

/// `spec.hostAliases[]`: an IP and the names the kubelet adds for it to `/etc/hosts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostAlias {
    /// The address.
    pub ip: String,
    /// The names for it.
    #[serde(default)]
    pub hostnames: Vec<String>,
}
