//! What the cluster DNS answers, as CoreDNS's `kubernetes` plugin does for the default
//! Corefile (`kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure; ttl 5 }`,
//! then `forward . /etc/resolv.conf`, which has no upstream here): ClusterIP Services'
//! A and SRV records, NXDOMAIN for unknown names in the zone, NODATA where the name exists
//! but has no record of the asked type, and SERVFAIL for names outside it (what `forward`
//! answers when no upstream is reachable).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, NS, PTR, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// The plugin's default TTL (`ttl 5`).
const TTL: u32 = 5;
/// The UDP payload CoreDNS advertises in its EDNS answers.
const EDNS_PAYLOAD: u16 = 1232;

/// One Service's records.
#[derive(Debug, Clone)]
pub struct ServiceRecord {
    /// The ClusterIP.
    pub ip: Ipv4Addr,
    /// (name, port, protocol in lower case) of every port.
    pub ports: Vec<(String, u16, String)>,
}

/// The cluster's records: Services by (namespace, name), the namespaces that exist, the DNS
/// Service's own address.
#[derive(Debug, Clone)]
pub struct Zone {
    domain: Name,
    services: BTreeMap<(String, String), ServiceRecord>,
    namespaces: BTreeSet<String>,
    dns_ip: Ipv4Addr,
    serial: u32,
}

/// The outcome of a lookup, before it becomes a message.
enum Found {
    Answers(Vec<Record>, Vec<Record>),
    NoData,
    NxDomain,
    Outside,
}

impl Zone {
    /// A zone for `domain` (e.g. `cluster.local`). `serial` is the SOA serial (CoreDNS
    /// uses the time of the last change it saw).
    pub fn new(domain: &str, dns_ip: Ipv4Addr, serial: u32) -> Result<Self, String> {
        let mut domain = Name::from_ascii(domain)
            .map_err(|e| e.to_string())?
            .to_lowercase();
        domain.set_fqdn(true);
        Ok(Zone {
            domain,
            services: BTreeMap::new(),
            namespaces: BTreeSet::from(["default".to_owned()]),
            dns_ip,
            serial,
        })
    }

    /// Adds a namespace that exists (a pod's or a Service's).
    pub fn add_namespace(&mut self, ns: &str) {
        self.namespaces.insert(ns.to_owned());
    }

    /// Adds a ClusterIP Service.
    pub fn add_service(&mut self, ns: &str, name: &str, rec: ServiceRecord) {
        self.add_namespace(ns);
        self.services.insert((ns.to_owned(), name.to_owned()), rec);
    }

    fn name(&self, rel: &str) -> Name {
        // Labels of valid Kubernetes names always form a valid DNS name.
        Name::from_ascii(rel)
            .and_then(|n| n.append_domain(&self.domain))
            .unwrap_or_else(|_| self.domain.clone())
    }

    fn soa(&self) -> Record {
        let soa = SOA::new(
            self.name("ns.dns"),
            self.name("hostmaster"),
            self.serial,
            7200,
            1800,
            86400,
            TTL,
        );
        Record::from_rdata(self.domain.clone(), TTL, RData::SOA(soa))
    }

    /// Answers one wire-format query. None for a message too short to answer at all.
    pub fn answer(&self, query: &[u8], udp: bool) -> Option<Vec<u8>> {
        let req = match Message::from_vec(query) {
            Ok(m) => m,
            Err(_) => {
                // Too broken to parse: FORMERR if there is a header to answer.
                let id = u16::from_be_bytes([*query.first()?, *query.get(1)?]);
                if query.len() < 12 {
                    return None;
                }
                let m = Message::error_msg(id, OpCode::Query, ResponseCode::FormErr);
                return m.to_vec().ok();
            }
        };
        if req.metadata.message_type != MessageType::Query {
            return None;
        }
        let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
        resp.metadata.recursion_desired = req.metadata.recursion_desired;
        resp.metadata.checking_disabled = req.metadata.checking_disabled;
        resp.queries = req.queries.clone();
        let max = match &req.edns {
            Some(e) => {
                let mut edns = Edns::new();
                edns.set_max_payload(EDNS_PAYLOAD);
                resp.edns = Some(edns);
                e.max_payload().clamp(512, EDNS_PAYLOAD)
            }
            None => 512,
        };
        if req.metadata.op_code != OpCode::Query {
            resp.metadata.response_code = ResponseCode::NotImp;
        } else if req.queries.len() != 1 {
            resp.metadata.response_code = ResponseCode::FormErr;
        } else {
            let q = &req.queries[0];
            match self.lookup(q.name(), q.query_type()) {
                Found::Answers(answers, extra) => {
                    resp.metadata.authoritative = true;
                    resp.answers = answers;
                    resp.additionals = extra;
                }
                Found::NoData => {
                    resp.metadata.authoritative = true;
                    resp.authorities = vec![self.soa()];
                }
                Found::NxDomain => {
                    resp.metadata.authoritative = true;
                    resp.metadata.response_code = ResponseCode::NXDomain;
                    resp.authorities = vec![self.soa()];
                }
                Found::Outside => resp.metadata.response_code = ResponseCode::ServFail,
            }
        }
        let bytes = resp.to_vec().ok()?;
        if udp && bytes.len() > usize::from(max) {
            return resp.truncate().to_vec().ok();
        }
        Some(bytes)
    }

    fn lookup(&self, qname: &Name, qtype: RecordType) -> Found {
        let lower = qname.to_lowercase();
        let mut fqdn = lower.clone();
        fqdn.set_fqdn(true);
        if let Some(found) = self.reverse(&fqdn, qname, qtype) {
            return found;
        }
        if !self.domain.zone_of(&fqdn) {
            return Found::Outside;
        }
        let depth = usize::from(self.domain.num_labels());
        let all: Vec<String> = fqdn
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        let rel: Vec<&str> = all[..all.len().saturating_sub(depth)]
            .iter()
            .map(String::as_str)
            .collect();
        let a = |ip: Ipv4Addr| Record::from_rdata(qname.clone(), TTL, RData::A(A(ip)));
        match rel.as_slice() {
            [] => match qtype {
                RecordType::SOA => Found::Answers(vec![self.soa()], Vec::new()),
                RecordType::NS => {
                    let ns = self.name("ns.dns");
                    let glue = Record::from_rdata(ns.clone(), TTL, RData::A(A(self.dns_ip)));
                    let rec = Record::from_rdata(qname.clone(), TTL, RData::NS(NS(ns)));
                    Found::Answers(vec![rec], vec![glue])
                }
                _ => Found::NoData,
            },
            ["ns", "dns"] => match qtype {
                RecordType::A => Found::Answers(vec![a(self.dns_ip)], Vec::new()),
                _ => Found::NoData,
            },
            ["svc"] | ["pod"] | ["dns"] => Found::NoData,
            [ns, "svc"] | [ns, "pod"] if self.namespaces.contains(*ns) => Found::NoData,
            [ip, ns, "pod"] if self.namespaces.contains(*ns) => {
                // `pods insecure`: a-b-c-d.NS.pod.DOMAIN is a-b-c-d's address.
                match ip.replace('-', ".").parse::<Ipv4Addr>() {
                    Ok(addr) if qtype == RecordType::A => Found::Answers(vec![a(addr)], Vec::new()),
                    Ok(_) => Found::NoData,
                    Err(_) => Found::NxDomain,
                }
            }
            [svc, ns, "svc"] => self.service(qname, qtype, ns, svc, None),
            [port, proto, svc, ns, "svc"] if port.starts_with('_') && proto.starts_with('_') => {
                self.service(qname, qtype, ns, svc, Some((&port[1..], &proto[1..])))
            }
            _ => Found::NxDomain,
        }
    }

    fn service(
        &self,
        qname: &Name,
        qtype: RecordType,
        ns: &str,
        svc: &str,
        port: Option<(&str, &str)>,
    ) -> Found {
        let Some(rec) = self.services.get(&(ns.to_owned(), svc.to_owned())) else {
            return Found::NxDomain;
        };
        let ports: Vec<&(String, u16, String)> = rec
            .ports
            .iter()
            .filter(|(n, _, p)| port.is_none_or(|(qn, qp)| n == qn && p == qp))
            .collect();
        if ports.is_empty() {
            return Found::NxDomain;
        }
        let target = self.name(&format!("{svc}.{ns}.svc"));
        let a = |name: Name| Record::from_rdata(name, TTL, RData::A(A(rec.ip)));
        match qtype {
            RecordType::A => Found::Answers(vec![a(qname.clone())], Vec::new()),
            RecordType::SRV => {
                // Every record has priority 0; CoreDNS splits the weight 100 among them.
                let weight = u16::try_from(100 / ports.len()).unwrap_or(0);
                let srv = ports
                    .iter()
                    .map(|(_, p, _)| {
                        let data = SRV::new(0, weight, *p, target.clone());
                        Record::from_rdata(qname.clone(), TTL, RData::SRV(data))
                    })
                    .collect();
                Found::Answers(srv, vec![a(target)])
            }
            _ => Found::NoData,
        }
    }

    /// PTR for a ClusterIP (`N.N.N.N.in-addr.arpa`); other reverse names fall through to
    /// `forward`, which fails without an upstream.
    fn reverse(&self, fqdn: &Name, qname: &Name, qtype: RecordType) -> Option<Found> {
        let arpa = Name::from_ascii("in-addr.arpa.").ok()?;
        if !arpa.zone_of(fqdn) {
            return None;
        }
        let labels: Vec<String> = fqdn
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        if labels.len() != 6 {
            return Some(Found::Outside);
        }
        let ip: Option<Ipv4Addr> =
            format!("{}.{}.{}.{}", labels[3], labels[2], labels[1], labels[0])
                .parse()
                .ok();
        let hit = self
            .services
            .iter()
            .find(|(_, r)| Some(r.ip) == ip)
            .map(|((ns, svc), _)| self.name(&format!("{svc}.{ns}.svc")));
        Some(match (hit, qtype) {
            (Some(target), RecordType::PTR) => Found::Answers(
                vec![Record::from_rdata(
                    qname.clone(),
                    TTL,
                    RData::PTR(PTR(target)),
                )],
                Vec::new(),
            ),
            (Some(_), _) => Found::NoData,
            (None, _) => Found::Outside,
        })
    }
}

#[cfg(test)]
mod tests;
