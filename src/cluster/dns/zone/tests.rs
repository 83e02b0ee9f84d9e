//! The answers CoreDNS's kubernetes plugin gives (plugin/kubernetes README: "A records",
//! "SRV records"; NXDOMAIN and NODATA carry the zone's SOA), checked on the wire format.

use super::*;
use hickory_proto::op::Query;

fn zone() -> Zone {
    let mut z = Zone::new("cluster.local", Ipv4Addr::new(127, 96, 0, 10), 42).unwrap();
    z.add_service(
        "default",
        "mydb",
        ServiceRecord {
            ip: Ipv4Addr::new(127, 96, 1, 1),
            ports: vec![
                ("pg".into(), 5432, "tcp".into()),
                ("metrics".into(), 9187, "tcp".into()),
            ],
        },
    );
    z.add_namespace("apps");
    z
}

fn ask(z: &Zone, name: &str, t: RecordType) -> Message {
    let mut q = Message::query();
    q.metadata.recursion_desired = true;
    q.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    let reply = z.answer(&q.to_vec().unwrap(), true).expect("an answer");
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(m.metadata.id, q.metadata.id);
    assert_eq!(m.metadata.message_type, MessageType::Response);
    assert!(m.metadata.recursion_desired, "RD is copied");
    assert!(
        !m.metadata.recursion_available,
        "CoreDNS does not offer recursion"
    );
    m
}

fn is_soa(m: &Message) -> bool {
    matches!(m.authorities.as_slice(), [r] if r.record_type() == RecordType::SOA)
}

#[test]
fn a_service_name_is_its_cluster_ip_whatever_the_case() {
    for name in [
        "mydb.default.svc.cluster.local.",
        "MyDB.Default.SVC.cluster.local",
    ] {
        let m = ask(&zone(), name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.metadata.authoritative);
        assert_eq!(m.answers.len(), 1);
        let r = &m.answers[0];
        assert_eq!(r.ttl, 5);
        assert_eq!(r.data, RData::A(A(Ipv4Addr::new(127, 96, 1, 1))));
    }
}

#[test]
fn aaaa_of_an_ipv4_service_is_nodata_with_the_soa() {
    let m = ask(&zone(), "mydb.default.svc.cluster.local.", RecordType::AAAA);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert!(is_soa(&m));
}

#[test]
fn srv_of_a_named_port_and_of_the_service() {
    let m = ask(
        &zone(),
        "_pg._tcp.mydb.default.svc.cluster.local.",
        RecordType::SRV,
    );
    let target = Name::from_ascii("mydb.default.svc.cluster.local.").unwrap();
    assert_eq!(m.answers.len(), 1);
    assert_eq!(
        m.answers[0].data,
        RData::SRV(SRV::new(0, 100, 5432, target.clone()))
    );
    assert_eq!(m.additionals.len(), 1, "the target's A record");
    assert_eq!(m.additionals[0].name, target);
    let all = ask(&zone(), "mydb.default.svc.cluster.local.", RecordType::SRV);
    let ports: Vec<(u16, u16)> = all
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::SRV(s) => Some((s.port, s.weight)),
            _ => None,
        })
        .collect();
    assert_eq!(ports, [(5432, 50), (9187, 50)]);
    // The port-qualified name resolves as an A record too.
    let a = ask(
        &zone(),
        "_pg._tcp.mydb.default.svc.cluster.local.",
        RecordType::A,
    );
    assert_eq!(a.answers.len(), 1);
}

#[test]
fn unknown_names_in_the_zone_are_nxdomain_with_the_soa() {
    for name in [
        "nosuch.default.svc.cluster.local.",
        // What a resolver's search list makes of an absolute name with too few dots.
        "mydb.default.svc.cluster.local.default.svc.cluster.local.",
        "mydb.other.svc.cluster.local.",
        "_http._tcp.mydb.default.svc.cluster.local.",
        "nosuch.cluster.local.",
        "default.nosuch.cluster.local.",
    ] {
        let m = ask(&zone(), name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{name}");
        assert!(m.metadata.authoritative, "{name}");
        assert!(is_soa(&m), "{name}");
    }
}

#[test]
fn existing_namespaces_and_the_apex_are_nodata() {
    for name in [
        "apps.svc.cluster.local.",
        "default.svc.cluster.local.",
        "svc.cluster.local.",
        "cluster.local.",
    ] {
        let m = ask(&zone(), name, RecordType::A);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{name}");
        assert!(m.answers.is_empty() && is_soa(&m), "{name}");
    }
    let soa = ask(&zone(), "cluster.local.", RecordType::SOA);
    assert_eq!(soa.answers.len(), 1);
    match &soa.answers[0].data {
        RData::SOA(s) => {
            assert_eq!(s.mname, Name::from_ascii("ns.dns.cluster.local.").unwrap());
            assert_eq!(
                s.rname,
                Name::from_ascii("hostmaster.cluster.local.").unwrap()
            );
            assert_eq!(
                (s.refresh, s.retry, s.expire, s.minimum),
                (7200, 1800, 86400, 5)
            );
        }
        other => panic!("not an SOA: {other:?}"),
    }
}

#[test]
fn names_outside_the_cluster_fail_as_forward_without_an_upstream() {
    let m = ask(&zone(), "example.com.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert!(!m.metadata.authoritative);
    assert!(m.answers.is_empty());
}

#[test]
fn a_cluster_ip_has_a_ptr_record_and_other_reverse_names_fail() {
    let m = ask(&zone(), "1.1.96.127.in-addr.arpa.", RecordType::PTR);
    assert_eq!(
        m.answers[0].data,
        RData::PTR(PTR(
            Name::from_ascii("mydb.default.svc.cluster.local.").unwrap()
        ))
    );
    let other = ask(&zone(), "9.9.9.9.in-addr.arpa.", RecordType::PTR);
    assert_eq!(other.metadata.response_code, ResponseCode::ServFail);
}

#[test]
fn pods_insecure_names_answer_their_address() {
    let m = ask(&zone(), "10-1-2-3.apps.pod.cluster.local.", RecordType::A);
    assert_eq!(m.answers[0].data, RData::A(A(Ipv4Addr::new(10, 1, 2, 3))));
}

#[test]
fn edns_is_answered_with_edns_and_other_opcodes_are_not_implemented() {
    let mut q = Message::query();
    q.add_query(Query::query(
        Name::from_ascii("mydb.default.svc.cluster.local.").unwrap(),
        RecordType::A,
    ));
    q.edns = Some(Edns::new());
    let m = Message::from_vec(&zone().answer(&q.to_vec().unwrap(), true).unwrap()).unwrap();
    assert!(m.edns.is_some());
    let mut n = Message::new(7, MessageType::Query, OpCode::Notify);
    n.add_query(Query::query(
        Name::from_ascii("cluster.local.").unwrap(),
        RecordType::SOA,
    ));
    let m = Message::from_vec(&zone().answer(&n.to_vec().unwrap(), true).unwrap()).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NotImp);
}

#[test]
fn garbage_gets_formerr_or_nothing() {
    assert!(zone().answer(&[1, 2, 3], true).is_none());
    let mut bad = vec![0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    bad.extend_from_slice(&[0x3f]); // a label longer than the message
    let m = Message::from_vec(&zone().answer(&bad, true).unwrap()).unwrap();
    assert_eq!(m.metadata.id, 0xabcd);
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
}
