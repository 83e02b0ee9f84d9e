use std::collections::BTreeMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::spec::model::ServicePort;

fn service(target: IntOrString) -> BTreeMap<String, Service> {
    let mut svc = Service::default();
    svc.selector.insert("app".into(), "web".into());
    svc.ports.push(ServicePort {
        name: Some("http".into()),
        port: 80,
        target_port: Some(target),
        protocol: None,
    });
    [("web".to_owned(), svc)].into()
}

fn ep(ready: bool) -> Option<EndpointConditions> {
    Some(EndpointConditions {
        ready,
        serving: ready,
        terminating: false,
    })
}

#[test]
fn the_proxy_sees_each_change_only_after_the_propagation_delay() {
    let pods = vec![
        ProxyPod::new("web-0", &Pod::default(), None),
        ProxyPod::new("web-1", &Pod::default(), None),
    ];
    let p = ServiceProxy::new(
        &service(IntOrString::Int(8080)),
        pods,
        Clock::start(1.0),
        Duration::from_secs(1),
    );
    let s = Duration::from_secs;
    p.observe(s(2), "web", 0, ep(true));
    p.observe(s(3), "web", 1, ep(true));
    p.observe(s(5), "web", 0, ep(false));
    p.observe(s(6), "web", 1, None);
    p.observe(s(6), "nope", 1, ep(true));
    assert_eq!(p.ready_pods(0, s(2)), Vec::<usize>::new());
    assert_eq!(p.ready_pods(0, s(3)), [0]);
    assert_eq!(p.ready_pods(0, s(4)), [0, 1]);
    // Not ready at 5 s in the slice, still a backend until 6 s in the proxy's view.
    assert_eq!(p.ready_pods(0, Duration::from_millis(5999)), [0, 1]);
    assert_eq!(p.ready_pods(0, s(6)), [1]);
    assert_eq!(p.ready_pods(0, s(7)), Vec::<usize>::new());
    assert_eq!(p.cluster_ip("web"), Some(Ipv4Addr::new(127, 96, 1, 1)));
}

#[test]
fn a_named_target_port_resolves_through_the_endpoint_pods_container_ports() {
    let mut pod = Pod::default();
    let c: crate::spec::model::Container =
        toml::from_str("name = \"app\"\nports = [{ name = \"http\", containerPort = 8081 }]")
            .expect("container");
    pod.containers.push(c);
    let with = ProxyPod::new("a", &pod, None);
    let without = ProxyPod::new("b", &Pod::default(), None);
    let named = IntOrString::String("http".into());
    assert_eq!(with.target(&named), Some(8081));
    assert_eq!(without.target(&named), None);
    assert_eq!(without.target(&IntOrString::Int(9000)), Some(9000));
}

/// An echo server on 127.0.0.1:`port` inside `net`, answering each line with `name: line`.
fn echo_server(net: &PodNetwork, port: u16, name: &'static str) -> tokio::task::JoinHandle<()> {
    let l = listen(net, Ipv4Addr::LOCALHOST, port).expect("listen in the pod");
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let reply = format!("{name}: {}", String::from_utf8_lossy(&buf[..n]));
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    })
}

/// New connections to `ip:port` from `net` are refused within 2 s (bounded polls: the
/// listener goes when the proxy next reconciles; one that raced the close may see a reset).
async fn assert_refused_soon(net: &PodNetwork, ip: Ipv4Addr, port: u16) {
    let mut last = Ok(());
    for _ in 0..100 {
        last = connect_from(net, ip, port).await.map(drop);
        if last
            .as_ref()
            .is_err_and(|e| e.kind() == io::ErrorKind::ConnectionRefused)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        last.map_err(|e| e.kind()),
        Err(io::ErrorKind::ConnectionRefused)
    );
}

async fn connect_from(net: &PodNetwork, ip: Ipv4Addr, port: u16) -> io::Result<TcpStream> {
    let s = net.socket(false)?;
    s.set_nonblocking(true)?;
    tokio::net::TcpSocket::from_std_stream(s)
        .connect(SocketAddr::from((ip, port)))
        .await
}

#[tokio::test]
async fn a_pod_reaches_a_service_through_its_cluster_ip_and_is_refused_without_endpoints() {
    let (client_net, server_net) = match (PodNetwork::create(), PodNetwork::create()) {
        (Ok(a), Ok(b)) => (Arc::new(a), Arc::new(b)),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("skipped: network namespaces unavailable here: {e}");
            return;
        }
    };
    let _server = echo_server(&server_net, 8080, "server");
    let pods = vec![
        ProxyPod::new("client", &Pod::default(), Some(client_net.clone())),
        ProxyPod::new("server", &Pod::default(), Some(server_net.clone())),
    ];
    let proxy = ServiceProxy::new(
        &service(IntOrString::Int(8080)),
        pods,
        Clock::start(1.0),
        Duration::ZERO,
    );
    let ip = proxy.cluster_ip("web").expect("a ClusterIP");
    let (stop_tx, stop_rx) = watch::channel(false);
    let run = tokio::spawn(proxy.clone().run(stop_rx));
    // No endpoint yet: no listener, so the connect is refused.
    let refused = connect_from(&client_net, ip, 80).await;
    assert_eq!(
        refused.map(drop).map_err(|e| e.kind()),
        Err(io::ErrorKind::ConnectionRefused)
    );
    proxy.observe(Duration::ZERO, "web", 1, ep(true));
    // The listener appears once the proxy task has run: bounded retries.
    let mut conn = None;
    for _ in 0..100 {
        if let Ok(c) = connect_from(&client_net, ip, 80).await {
            conn = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut c = conn.expect("the ClusterIP accepts once the Service has an endpoint");
    c.write_all(b"hello").await.expect("write");
    let mut got = String::new();
    c.read_to_string(&mut got).await.expect("read");
    assert_eq!(got, "server: hello");
    // The server pod reaches the Service too (its own namespace has the listener).
    let mut c = connect_from(&server_net, ip, 80)
        .await
        .expect("from the server pod");
    c.write_all(b"again").await.expect("write");
    let mut got = String::new();
    c.read_to_string(&mut got).await.expect("read");
    assert_eq!(got, "server: again");
    // The endpoint leaves: the listener goes and new connections are refused again (one
    // that raced the close may see a reset instead).
    proxy.observe(Duration::ZERO, "web", 1, ep(false));
    assert_refused_soon(&client_net, ip, 80).await;
    // It comes back: the same bound socket listens again and the pod is reached again.
    proxy.observe(Duration::ZERO, "web", 1, ep(true));
    let mut conn = None;
    for _ in 0..100 {
        if let Ok(c) = connect_from(&client_net, ip, 80).await {
            conn = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut c = conn.expect("the ClusterIP accepts again once the endpoint is back");
    c.write_all(b"back").await.expect("write");
    let mut got = String::new();
    c.read_to_string(&mut got).await.expect("read");
    assert_eq!(got, "server: back");
    // ... and leaves again: refused at once, with no task left to drop first.
    proxy.observe(Duration::ZERO, "web", 1, ep(false));
    assert_refused_soon(&client_net, ip, 80).await;
    let _ = stop_tx.send(true);
    run.await.expect("the proxy task ends");
}
