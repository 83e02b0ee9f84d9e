//! The load generator against real fixture servers through the Service proxy: its count of
//! ok responses is what the servers really received (each request once, at the pod the
//! proxy chose), and its failure modes (no ready endpoint, a pod gone mid-request) are
//! recorded as such. Needs pod isolation; skipped with a reason where it is unavailable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use podcheck::events::{Request, RequestOutcome};
use podcheck::runner::{RunGuard, RunOptions, SpecReport, run_spec};

fn fixture_dir() -> Vec<PathBuf> {
    podcheck::harness::dir_of(env!("CARGO_BIN_EXE_podcheck-fixture"))
}

/// Runs `src`, or None (with the reason printed) where pod isolation is unavailable.
fn run(src: &str) -> Option<SpecReport> {
    if let Err(e) = podcheck::runtime::isolation::pod_mode_available() {
        eprintln!("skipped: pod isolation is unavailable here: {e}");
        return None;
    }
    let loaded = podcheck::spec::parse_spec(Path::new("traffic.toml"), src)
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let guard = RunGuard::new();
    let opts = RunOptions {
        extra_path: fixture_dir(),
        ..RunOptions::default()
    };
    Some(
        rt.block_on(run_spec(
            &loaded,
            &opts,
            guard.run_id(),
            &mut |_, _| {},
            None,
        ))
        .expect("run"),
    )
}

fn requests(r: &SpecReport) -> Vec<&Request> {
    r.traffic.requests().collect()
}

const SERVICE: &str =
    "[services.web]\nselector = { app = \"web\" }\nports = [{ port = 80, targetPort = 8080 }]\n";

#[test]
fn ok_responses_are_exactly_the_requests_the_servers_received() {
    let src = format!(
        "[run]\nrequires = [\"namespaces\"]\nduration = \"7s\"\n{SERVICE}\
[pods.web]\nreplicas = 2\nlabels = {{ app = \"web\" }}\n\
[[pods.web.containers]]\nname = \"app\"\n\
command = [\"podcheck-fixture\", \"--http\", \"8080\", \"--route\", \"/=200@0s\", \"--route\", \"/ready=200@0s\", \"--log-requests\"]\n\
readinessProbe = {{ httpGet = {{ path = \"/ready\", port = 8080 }}, periodSeconds = 1 }}\n\
[[traffic]]\nservice = \"web\"\nrate = 20\nduring = \"3s..6s\"\nhttp = {{ path = \"/\" }}\n"
    );
    let Some(r) = run(&src) else { return };
    let reqs = requests(&r);
    // 3s..6s at 20/s, both ends included.
    assert_eq!(reqs.len(), 61, "{reqs:#?}");
    let ok: Vec<&&Request> = reqs.iter().filter(|q| !q.outcome.failed()).collect();
    assert_eq!(ok.len(), reqs.len(), "every request succeeds: {reqs:#?}");
    // What each server logged: one `request GET /` line per traffic request (the probes
    // ask for /ready), each followed by its x-podcheck-request header.
    let mut received: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut gets = 0usize;
    for (pod, _, outcome) in r.pods() {
        for log in &outcome.logs {
            gets += log.text.lines().filter(|l| *l == "request GET /").count();
            for id in log
                .text
                .lines()
                .filter_map(|l| l.strip_prefix("header x-podcheck-request: "))
            {
                received
                    .entry(id.to_owned())
                    .or_default()
                    .push(pod.to_owned());
            }
        }
    }
    assert_eq!(gets, ok.len(), "GET / lines in the servers' logs");
    let counted: BTreeMap<String, Vec<String>> = ok
        .iter()
        .map(|q| {
            (
                format!("{}#{}", q.traffic, q.seq),
                vec![q.pod.clone().expect("an ok request has its pod")],
            )
        })
        .collect();
    // Same ids, each received once, by the pod the proxy chose.
    assert_eq!(received, counted);
    // Both replicas got some (random choice, 61 requests: all on one is 2^-60).
    let pods: std::collections::BTreeSet<&str> =
        ok.iter().filter_map(|q| q.pod.as_deref()).collect();
    assert_eq!(pods.len(), 2, "{pods:?}");
}

#[test]
fn a_service_without_a_ready_endpoint_refuses_every_request() {
    let src = format!(
        "[run]\nrequires = [\"namespaces\"]\nduration = \"4s\"\n{SERVICE}\
[pods.web]\nlabels = {{ app = \"web\" }}\n\
[[pods.web.containers]]\nname = \"app\"\n\
command = [\"podcheck-fixture\", \"--http\", \"8080\", \"--route\", \"/=200@0s\"]\n\
readinessProbe = {{ exec = {{ command = [\"false\"] }}, periodSeconds = 1 }}\n\
[[traffic]]\nservice = \"web\"\nrate = 10\nduring = \"2s..3s\"\nhttp = {{ path = \"/\" }}\n\
[[expect.traffic]]\nfailed = 0\n"
    );
    let Some(r) = run(&src) else { return };
    let reqs = requests(&r);
    assert_eq!(reqs.len(), 11);
    assert!(
        reqs.iter()
            .all(|q| q.outcome == RequestOutcome::Refused && q.pod.is_none()),
        "{reqs:#?}"
    );
    let why = r.verdict.failures.join("\n");
    assert!(
        why.contains("11 of 11 requests failed")
            && why.contains("no ready endpoint of web in the proxy's view"),
        "{why}"
    );
}

#[test]
fn a_pod_deleted_mid_request_fails_the_request_it_was_serving() {
    // /slow answers after 3s; the pod is deleted (SIGTERM, and the fixture exits at once)
    // while the requests sent at 2.5s..3s are still waiting for their answers.
    let src = format!(
        "[run]\nrequires = [\"namespaces\"]\nduration = \"9s\"\n{SERVICE}\
[pods.web]\nlabels = {{ app = \"web\" }}\ndelete_at = \"4s\"\n\
[[pods.web.containers]]\nname = \"app\"\n\
command = [\"podcheck-fixture\", \"--http\", \"8080\", \"--route\", \"/slow=200:delay=3s@0s\", \"--route\", \"/ready=200@0s\"]\n\
readinessProbe = {{ httpGet = {{ path = \"/ready\", port = 8080 }}, periodSeconds = 1 }}\n\
[[traffic]]\nservice = \"web\"\nrate = 4\nduring = \"2.5s..3s\"\ntimeout = \"6s\"\nhttp = {{ path = \"/slow\" }}\n\
[[expect.traffic]]\nfailed = 0\n"
    );
    let Some(r) = run(&src) else { return };
    let reqs = requests(&r);
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    for q in &reqs {
        assert_eq!(q.pod.as_deref(), Some("web"), "{q:#?}");
        assert!(
            matches!(q.outcome, RequestOutcome::Reset { .. }),
            "a request in flight when its pod went away is reset: {q:#?}"
        );
    }
    assert!(!r.passed());
    let why = r.verdict.failures.join("\n");
    assert!(why.contains("3 of 3 requests failed"), "{why}");
    assert!(why.contains("reset ×3"), "{why}");
}

#[test]
fn an_open_traffic_window_keeps_a_decided_run_going_and_tcp_connects_count_as_ok() {
    // The pod's only expectation is decided at once; the run still lasts until the
    // window's last request has its outcome.
    let src = format!(
        "[run]\nrequires = [\"namespaces\"]\n{SERVICE}\
[pods.web]\nlabels = {{ app = \"web\" }}\n\
[[pods.web.containers]]\nname = \"app\"\n\
command = [\"podcheck-fixture\", \"--tcp\", \"8080\"]\n\
readinessProbe = {{ tcpSocket = {{ port = 8080 }}, periodSeconds = 1 }}\n\
[[traffic]]\nservice = \"web\"\nrate = 5\nduring = \"3s..4s\"\n\
[[expect.events]]\npod = \"web\"\nreason = \"Started\"\n"
    );
    let Some(r) = run(&src) else { return };
    let reqs = requests(&r);
    assert_eq!(reqs.len(), 6, "{reqs:#?}");
    assert!(
        reqs.iter()
            .all(|q| q.outcome == RequestOutcome::Ok { status: None }),
        "{reqs:#?}"
    );
    assert_eq!(r.end, podcheck::kubelet::EndReason::Decided);
    assert!(
        r.ended_at >= std::time::Duration::from_secs(4),
        "the run ended at {:?}, before the window's end",
        r.ended_at
    );
    assert!(r.passed(), "{:?}", r.verdict.failures);
}
