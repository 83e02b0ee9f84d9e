//! Many pods probing at once: probe timing error, CPU and memory of the runner.
//!
//! Starts `PODS` pods (default 1000, env `PODCHECK_BENCH_PODS`) in isolation `none`, each a
//! `sleep` container with an HTTP readiness probe, an HTTP liveness probe (both every 1 s)
//! and a TCP startup probe, all against one in-process HTTP server on loopback. The server
//! records when each pod's probes arrive; the timing error of the k-th probe of a pod is how
//! far it arrives from (first arrival + k periods). Over a steady window it reports the p50,
//! p99 and max error, the runner's CPU (user+system, all threads, children excluded) as a
//! share of one core, and its resident memory. The floor it is judged against is a raw
//! loopback HTTP request made by the same server's clients in the same run.
//!
//! Design budget: p99 error under 5 ms, under 25 % of one core, under 64 MiB. Run with
//! `cargo bench --bench probe_load`; exits 1 when over a budget.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use podcheck::runner::{RunGuard, RunOptions, run_spec};
use podcheck::runtime::isolation::Isolation;
use podcheck::spec::parse_spec;

const PORT: u16 = 18190;
const WARMUP: Duration = Duration::from_secs(8);
const WINDOW: Duration = Duration::from_secs(20);

type Arrivals = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

fn cpu_time() -> Duration {
    // SAFETY: rusage is plain data; getrusage fills it through a valid pointer.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A minimal HTTP/1.1 server that notes the arrival of each request path and answers 200.
async fn serve(arrivals: Arrivals) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", PORT))
        .await
        .expect("bind the probe server");
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buf = [0u8; 2048];
            let Ok(n) = sock.read(&mut buf).await else {
                return;
            };
            let at = Instant::now();
            let head = String::from_utf8_lossy(&buf[..n]);
            if let Some(path) = head.split_whitespace().nth(1) {
                if let Ok(mut a) = arrivals.lock() {
                    a.entry(path.to_owned()).or_default().push(at);
                }
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            }
        });
    }
}

fn spec(i: usize) -> String {
    format!(
        r#"
[run]
duration = "{secs}s"
timeout = "{timeout}s"
isolation = "none"

[pod]
name = "load-{i}"
terminationGracePeriodSeconds = 1

[[pod.containers]]
name = "app"
command = ["sleep", "3600"]
readinessProbe = {{ httpGet = {{ path = "/r/{i}", port = {PORT} }}, periodSeconds = 1 }}
livenessProbe = {{ httpGet = {{ path = "/l/{i}", port = {PORT} }}, periodSeconds = 1 }}
startupProbe = {{ tcpSocket = {{ port = {PORT} }}, periodSeconds = 1 }}
"#,
        secs = (WARMUP + WINDOW).as_secs() + 4,
        timeout = (WARMUP + WINDOW).as_secs() + 120,
    )
}

/// CPU of one raw loopback HTTP request (connect, request, response), measured here.
fn raw_request_cpu(rt: &tokio::runtime::Runtime, n: u32) -> Duration {
    let before = cpu_time();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        for _ in 0..n {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", PORT))
                .await
                .expect("connect");
            s.write_all(b"GET /raw HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .expect("write");
            let mut b = Vec::new();
            let _ = s.read_to_end(&mut b).await;
        }
    });
    (cpu_time() - before) / n
}

fn percentile(v: &[f64], q: f64) -> f64 {
    v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
}

fn main() {
    let pods: usize = std::env::var("PODCHECK_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // The server runs on its own runtime and thread; its CPU is part of the floor, so it
    // is measured separately and subtracted.
    let arrivals: Arrivals = Arc::default();
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    server_rt.spawn(serve(arrivals.clone()));
    std::thread::sleep(Duration::from_millis(200));
    let raw = raw_request_cpu(&server_rt, 2000);
    println!("floor: a raw loopback HTTP request costs {raw:?} of CPU (client and server)");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let guard = Rc::new(RunGuard::new());
    let opts = Rc::new(RunOptions {
        isolation: Some(Isolation::None),
        ..RunOptions::default()
    });
    let started = Instant::now();
    for i in 0..pods {
        let loaded = parse_spec(Path::new(&format!("load-{i}.toml")), &spec(i)).expect("spec");
        let (guard, opts) = (guard.clone(), opts.clone());
        local.spawn_local(async move {
            let id = format!("{}-{i}", guard.run_id());
            let _ = run_spec(&loaded, &opts, &id, &mut |_| {}, None).await;
        });
    }
    let measure = async {
        tokio::time::sleep(WARMUP).await;
        let cpu0 = cpu_time();
        let t0 = Instant::now();
        tokio::time::sleep(WINDOW).await;
        let cpu = cpu_time() - cpu0;
        let wall = t0.elapsed();
        (cpu, wall, rss_mib(), t0)
    };
    let (cpu, wall, rss, t0) = rt.block_on(local.run_until(measure));
    let served = arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let mut errors_ms = Vec::new();
    let mut probes = 0u64;
    for (path, times) in &served {
        if !(path.starts_with("/r/") || path.starts_with("/l/")) || times.is_empty() {
            continue;
        }
        let first = times[0];
        for (k, t) in times.iter().enumerate() {
            let ideal = first + Duration::from_secs(k as u64);
            if *t >= t0 && *t < t0 + wall {
                probes += 1;
                let err = if *t > ideal { *t - ideal } else { ideal - *t };
                errors_ms.push(err.as_secs_f64() * 1000.0);
            }
        }
    }
    errors_ms.sort_by(f64::total_cmp);
    let share = cpu.as_secs_f64() / wall.as_secs_f64();
    let per_probe = if probes > 0 {
        cpu / probes as u32
    } else {
        Duration::ZERO
    };
    println!(
        "{pods} pods started in {:?}; {probes} HTTP probes in a {:?} window",
        t0.duration_since(started) - WARMUP,
        wall
    );
    let mut over = false;
    let mut judge = |what: String, ok: bool| {
        over |= !ok;
        println!(
            "{what}: {}",
            if ok { "within budget" } else { "OVER BUDGET" }
        );
    };
    if errors_ms.is_empty() {
        judge("no probe arrived in the window".into(), false);
    } else {
        let p99 = percentile(&errors_ms, 0.99);
        judge(
            format!(
                "timing error p50 {:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
                percentile(&errors_ms, 0.5),
                errors_ms[errors_ms.len() - 1]
            ),
            p99 < 5.0,
        );
    }
    judge(
        format!(
            "runner CPU {:.1} % of one core (incl. the in-process server)",
            share * 100.0
        ),
        share < 0.25,
    );
    judge(format!("runner resident memory {rss:.1} MiB"), rss < 64.0);
    judge(
        format!(
            "CPU per probe {per_probe:?} = {:.2}x a raw loopback request",
            per_probe.as_secs_f64() / raw.as_secs_f64()
        ),
        per_probe.as_secs_f64() < 2.0 * raw.as_secs_f64(),
    );
    drop(rt);
    drop(guard);
    if over {
        std::process::exit(1);
    }
}
