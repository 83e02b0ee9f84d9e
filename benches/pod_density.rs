//! Density in pod isolation: N pods (10, 100 and 1,000 by default; `PODCHECK_BENCH_PODS` or a
//! first argument such as `10,100`), each with its own container (the fixture app) serving
//! its own HTTP readiness and liveness probes and a TCP startup probe, all every 1 s.
//!
//! Over a steady window it reports:
//! - the timing error of the probe attempts against the kubelet's schedule (a prober ticks
//!   every period from its first attempt; an attempt's start is its timeline entry's time
//!   minus its duration): p50, p99, max;
//! - podcheck's own CPU: the runner (this process) plus its helper processes (the pod
//!   sandboxes and the shims, forks of this process, read from /proc/PID/stat);
//! - podcheck's own memory: the runner plus every helper, as PSS (the helpers are forks that
//!   share most pages with the runner, so their RSS added up counts those pages many times;
//!   the RSS sum is printed too);
//! - the floor: the same number of raw loopback requests (HTTP for the HTTP probes, a TCP
//!   connect for the TCP ones) made by this program, in the same run, after the pods are
//!   gone, against one fixture server; podcheck's CPU is given as a ratio to it.
//!
//! Budget (issue 15), judged at 1,000 pods: p99 under 2 ms, CPU under 1.3x the floor,
//! memory under 64 MiB. Needs pod isolation (root, or user namespaces): otherwise it
//! prints why and exits 0. `PODCHECK_BENCH_SMOKE=1` runs 2 pods for a few seconds and
//! judges nothing.

#[path = "common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use podcheck::events::{Entry, ExecutionKind};
use podcheck::runner::{RunGuard, run_spec};
use podcheck::spec::parse_spec;

const FIXTURE: &str = env!("CARGO_BIN_EXE_podcheck-fixture");
/// The loopback port of the floor's server (the pods' ports are inside their namespaces).
const FLOOR_PORT: u16 = 18290;

/// The settling time after every pod has probed once, and the measuring window.
fn timing() -> (Duration, Duration) {
    if common::smoke() {
        (Duration::from_secs(1), Duration::from_secs(3))
    } else {
        (Duration::from_secs(3), Duration::from_secs(20))
    }
}

/// How long the pods may take to start (all of them probing) before the window opens anyway.
const START_LIMIT: Duration = Duration::from_secs(240);

fn spec(i: usize, run_for: Duration) -> String {
    format!(
        r#"
[run]
duration = "{secs}s"
timeout = "{timeout}s"
isolation = "pod"

[pod]
name = "density-{i}"
terminationGracePeriodSeconds = 1

[[pod.containers]]
name = "app"
command = ["podcheck-fixture", "--http", "8080", "--tcp", "8081", "--route", "/ready=200@0s", "--route", "/live=200@0s"]
readinessProbe = {{ httpGet = {{ path = "/ready", port = 8080 }}, periodSeconds = 1 }}
livenessProbe = {{ httpGet = {{ path = "/live", port = 8080 }}, periodSeconds = 1 }}
startupProbe = {{ tcpSocket = {{ port = 8081 }}, periodSeconds = 1 }}
"#,
        secs = run_for.as_secs(),
        timeout = run_for.as_secs() + 300,
    )
}

/// One probe attempt: (pod, probe, handler, start in spec seconds, seen at mono ns).
type Attempt = (usize, &'static str, &'static str, f64, u64);

/// The floor: the client-side CPU of `http` raw HTTP requests and `tcp` raw connects to a
/// fixture on loopback, made one after another.
fn floor(http: usize, tcp: usize) -> Option<Duration> {
    let mut server = std::process::Command::new(FIXTURE)
        .args([
            "--http",
            &FLOOR_PORT.to_string(),
            "--tcp",
            &(FLOOR_PORT + 1).to_string(),
            "--route",
            "/ready=200@0s",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let cpu = rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Bounded wait for the server to listen.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", FLOOR_PORT)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let req = format!(
            "GET /ready HTTP/1.1\r\nHost: 127.0.0.1:{FLOOR_PORT}\r\nUser-Agent: kube-probe/1.35\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        // This thread's CPU only: the pods' teardown may still be ending on other threads.
        let before = common::thread_cpu();
        let mut buf = Vec::with_capacity(512);
        for _ in 0..http {
            let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", FLOOR_PORT)).await else {
                continue;
            };
            let _ = s.write_all(req.as_bytes()).await;
            buf.clear();
            let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut buf)).await;
        }
        for _ in 0..tcp {
            let _ = tokio::net::TcpStream::connect(("127.0.0.1", FLOOR_PORT + 1)).await;
        }
        common::thread_cpu().saturating_sub(before)
    });
    let _ = server.kill();
    let _ = server.wait();
    Some(cpu)
}

fn run(pods: usize) {
    let (settle, window) = timing();
    // The pods end when the window closes (the cancel); the duration only bounds them.
    let run_for = START_LIMIT + settle + window + Duration::from_secs(30);
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let guard = Rc::new(RunGuard::new());
    let opts = Rc::new(common::pod_mode_options(FIXTURE));
    let attempts: Rc<RefCell<Vec<Attempt>>> = Rc::default();
    let failed: Rc<RefCell<Vec<String>>> = Rc::default();
    for i in 0..pods {
        let loaded = parse_spec(Path::new(&format!("density-{i}.toml")), &spec(i, run_for))
            .expect("the benchmark's spec is valid");
        let (guard, opts, attempts, failed) = (
            guard.clone(),
            opts.clone(),
            attempts.clone(),
            failed.clone(),
        );
        let cancel = cancel_rx.clone();
        local.spawn_local(async move {
            let id = format!("{}-{i}", guard.run_id());
            let mut on_entry = |_: &str, e: &Entry| {
                if let Entry::Execution(x) = e
                    && let ExecutionKind::Probe {
                        probe,
                        handler,
                        duration,
                        ..
                    } = &x.what
                {
                    let start = x.at.saturating_sub(*duration).as_secs_f64();
                    attempts
                        .borrow_mut()
                        .push((i, probe, handler, start, common::mono_ns()));
                }
            };
            match run_spec(&loaded, &opts, &id, &mut on_entry, Some(cancel)).await {
                Ok(r) if r.outcome.end == podcheck::kubelet::EndReason::Interrupted => {}
                Ok(r) => failed
                    .borrow_mut()
                    .push(format!("pod {i} ended: {:?}", r.outcome.end)),
                Err(e) => failed.borrow_mut().push(format!("pod {i}: {e}")),
            }
        });
    }
    let probing = attempts.clone();
    let measure = async {
        // Bounded: until every pod has made an HTTP probe attempt, at most START_LIMIT.
        let begun = std::time::Instant::now();
        loop {
            let started: std::collections::HashSet<usize> = probing
                .borrow()
                .iter()
                .filter(|a| a.2 == "httpGet")
                .map(|a| a.0)
                .collect();
            if started.len() >= pods || begun.elapsed() > START_LIMIT {
                println!(
                    "{} of {pods} pods probing after {:.1?}",
                    started.len(),
                    begun.elapsed()
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(settle).await;
        // The helper scans read /proc/PID/stat of every process (about 80 ms at 1,000
        // pods): on this thread they would stall the pods' probes inside the window, and
        // their own CPU would count as podcheck's. So each runs on a blocking thread, the
        // first before the window opens and the second after it has closed.
        let scan = || async {
            tokio::task::spawn_blocking(common::helpers)
                .await
                .expect("the helper scan runs")
        };
        let h0 = scan().await;
        let (cpu0, t0) = (common::self_cpu(), common::mono_ns());
        tokio::time::sleep(window).await;
        let (cpu1, t1) = (common::self_cpu(), common::mono_ns());
        let h1 = scan().await;
        let mem = common::memory_mib(&h1);
        (
            cpu1 - cpu0,
            common::helpers_cpu(&h0, &h1),
            t0,
            t1,
            mem,
            h1.len(),
        )
    };
    let (runner_cpu, helper_cpu, t0, t1, (pss, rss), helper_count) =
        rt.block_on(local.run_until(measure));
    let _ = cancel_tx.send(true);
    rt.block_on(local);
    drop(guard);
    let attempts = attempts.take();
    // Each prober's attempts in order; the first anchors its schedule, and only attempts
    // made in the window are judged.
    let mut series: HashMap<(usize, &str), Vec<(f64, bool)>> = HashMap::new();
    let (mut http, mut tcp) = (0usize, 0usize);
    for &(pod, probe, handler, start, seen) in &attempts {
        let in_window = (t0..t1).contains(&seen);
        series
            .entry((pod, probe))
            .or_default()
            .push((start, in_window));
        if in_window {
            match handler {
                "tcpSocket" => tcp += 1,
                _ => http += 1,
            }
        }
    }
    let mut errors_ms = Vec::new();
    for starts in series.values_mut() {
        starts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let first = starts[0].0;
        for (k, (s, in_window)) in starts.iter().enumerate() {
            if *in_window {
                errors_ms.push((s - (first + k as f64)).abs() * 1e3);
            }
        }
    }
    errors_ms.sort_by(f64::total_cmp);
    let wall = Duration::from_nanos(t1.saturating_sub(t0));
    let floor_cpu = floor(http, tcp).unwrap_or_default();
    let own = runner_cpu + helper_cpu;
    let judged = pods >= 1000 && !common::smoke();
    let judge = |ok: bool| judged.then_some(ok);
    let b = format!("pod_density {pods} pods");
    println!(
        "{pods} pods in pod isolation: {} probe attempts ({http} HTTP, {tcp} TCP in the {wall:.1?} window), {helper_count} helper processes",
        attempts.len()
    );
    for f in failed.borrow().iter().take(5) {
        println!("warning: {f}");
    }
    common::timing_error_row(
        &b,
        &errors_ms,
        "p99 < 2 ms at 1,000 pods",
        judged.then_some((|p99| p99 < 2.0) as fn(f64) -> bool),
    );
    let ratio = own.as_secs_f64() / floor_cpu.as_secs_f64().max(1e-9);
    common::row(
        &b,
        "podcheck CPU (runner + sandboxes + shims) in the window",
        &format!(
            "{:.3} s = runner {:.3} s + helpers {:.3} s ({:.1} % of one core)",
            own.as_secs_f64(),
            runner_cpu.as_secs_f64(),
            helper_cpu.as_secs_f64(),
            100.0 * own.as_secs_f64() / wall.as_secs_f64().max(1e-9)
        ),
        &format!(
            "{:.3} s for {} raw loopback requests",
            floor_cpu.as_secs_f64(),
            http + tcp
        ),
        &format!("{ratio:.2}x"),
        "< 1.3x at 1,000 pods",
        judge(ratio < 1.3),
    );
    common::row(
        &b,
        "podcheck memory (runner + helpers), PSS",
        &format!("{pss:.1} MiB (RSS summed: {rss:.0} MiB)"),
        "-",
        "-",
        "< 64 MiB at 1,000 pods",
        judge(pss < 64.0),
    );
}

pub(crate) fn main() {
    if let Err(why) = common::pod_mode_available() {
        println!("pod_density: skipped: pod isolation is unavailable here: {why}");
        return;
    }
    common::raise_fd_limit();
    for n in common::pod_counts(&[10, 100, 1000]) {
        run(n);
    }
}
