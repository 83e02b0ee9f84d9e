//! Many pods probing at once: probe timing error, CPU and memory of the runner.
//!
//! Starts `PODS` pods (default 1000, env `PODCHECK_BENCH_PODS`) in isolation `none`, each a
//! `sleep` container with an HTTP readiness probe, an HTTP liveness probe (both every 1 s)
//! and a TCP startup probe, all against one HTTP server on loopback. The server runs in a
//! separate process (this program, re-executed), so the runner's CPU and memory are its own.
//! The server notes when each pod's probes arrive; the timing error of the k-th probe of a
//! pod is how far it arrives from (first arrival + k periods). Over a steady window the
//! program reports the p50, p99 and max error, the runner's CPU (user+system, all threads)
//! as a share of one core, its resident memory, and its CPU per probe against the floor: a
//! raw loopback HTTP request made from this process in the same run.
//!
//! Design budget: p99 error under 5 ms, under 25 % of one core, under 64 MiB, under 2x the
//! raw request. Run with `cargo bench --bench probe_load`; exits 1 when over a budget.
//! `PODCHECK_BENCH_SMOKE=1` runs 2 pods for a few seconds and judges nothing.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use podcheck::runner::{RunGuard, RunOptions, run_spec};
use podcheck::runtime::isolation::Isolation;
use podcheck::spec::parse_spec;

const PORT: u16 = 18190;
fn warmup() -> Duration {
    Duration::from_secs(if common::smoke() { 2 } else { 8 })
}

fn window() -> Duration {
    Duration::from_secs(if common::smoke() { 3 } else { 20 })
}
/// Set in the re-executed server process: where to write the arrivals when done.
const SERVER_ENV: &str = "PODCHECK_BENCH_SERVER_OUT";

/// CLOCK_MONOTONIC in nanoseconds: one clock for both processes.
fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

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

/// The server process: answers every request 200 and notes `path arrival_ns` lines, written
/// to `out` when its lifetime is over.
fn server(out: &str, lifetime: Duration) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    let arrivals: Rc<std::cell::RefCell<Vec<(String, u64)>>> = Rc::default();
    let local = tokio::task::LocalSet::new();
    let seen = arrivals.clone();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", PORT))
            .await
            .expect("bind the probe server");
        let serve = async {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    continue;
                };
                let seen = seen.clone();
                tokio::task::spawn_local(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = [0u8; 2048];
                    let Ok(n) = sock.read(&mut buf).await else {
                        return;
                    };
                    let at = mono_ns();
                    let head = String::from_utf8_lossy(&buf[..n]);
                    if let Some(path) = head.split_whitespace().nth(1) {
                        seen.borrow_mut().push((path.to_owned(), at));
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                            .await;
                    }
                });
            }
        };
        let stop = async {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::user_defined1()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            () = serve => {}
            () = stop => {}
            () = tokio::time::sleep(lifetime) => {}
        }
    });
    let mut f = std::io::BufWriter::new(std::fs::File::create(out).expect("arrivals file"));
    for (path, at) in arrivals.borrow().iter() {
        let _ = writeln!(f, "{path} {at}");
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
        secs = (warmup() + window()).as_secs() + 4,
        timeout = (warmup() + window()).as_secs() + 120,
    )
}

/// The client-side CPU of one raw loopback HTTP request (connect, request, response).
fn raw_request_cpu(rt: &tokio::runtime::Runtime, n: u32) -> Duration {
    let before = cpu_time();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        for _ in 0..n {
            let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", PORT)).await else {
                continue;
            };
            let _ = s.write_all(b"GET /raw HTTP/1.1\r\nhost: x\r\n\r\n").await;
            let mut b = Vec::new();
            let _ = s.read_to_end(&mut b).await;
        }
    });
    (cpu_time() - before) / n
}

fn percentile(v: &[f64], q: f64) -> f64 {
    v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
}

pub(crate) fn main() {
    if let Ok(out) = std::env::var(SERVER_ENV) {
        server(&out, warmup() + window() + Duration::from_secs(30));
        return;
    }
    let pods: usize = std::env::var("PODCHECK_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if common::smoke() { 2 } else { 1000 });
    let scratch = tempfile::tempdir().expect("scratch dir");
    let out = scratch.path().join("arrivals");
    let mut server = std::process::Command::new(std::env::current_exe().expect("own path"))
        .env(SERVER_ENV, &out)
        .spawn()
        .expect("start the server process");
    std::thread::sleep(Duration::from_millis(500));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let raw = raw_request_cpu(&rt, 2000);
    println!("floor: a raw loopback HTTP request costs {raw:?} of client CPU");
    let local = tokio::task::LocalSet::new();
    let guard = Rc::new(RunGuard::new());
    let opts = Rc::new(RunOptions {
        isolation: Some(Isolation::None),
        ..RunOptions::default()
    });
    for i in 0..pods {
        let loaded = parse_spec(Path::new(&format!("load-{i}.toml")), &spec(i)).expect("spec");
        let (guard, opts) = (guard.clone(), opts.clone());
        local.spawn_local(async move {
            let id = format!("{}-{i}", guard.run_id());
            let _ = run_spec(&loaded, &opts, &id, &mut |_, _| {}, None).await;
        });
    }
    let measure = async {
        tokio::time::sleep(warmup()).await;
        let (cpu0, t0) = (cpu_time(), mono_ns());
        tokio::time::sleep(window()).await;
        (cpu_time() - cpu0, t0, mono_ns(), rss_mib())
    };
    let (cpu, t0, t1, rss) = rt.block_on(local.run_until(measure));
    drop(local);
    drop(guard);
    // Stop the server early; it writes what it saw on the way out.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGUSR1,
    );
    let _ = server.wait();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let mut by_path: HashMap<&str, Vec<u64>> = HashMap::new();
    for line in text.lines() {
        if let Some((path, at)) = line.split_once(' ')
            && let Ok(at) = at.parse()
        {
            by_path.entry(path).or_default().push(at);
        }
    }
    let mut errors_ms = Vec::new();
    for (path, times) in &by_path {
        if !(path.starts_with("/r/") || path.starts_with("/l/")) {
            continue;
        }
        let first = times[0];
        for (k, &t) in times.iter().enumerate() {
            let ideal = first + k as u64 * 1_000_000_000;
            if (t0..t1).contains(&t) {
                errors_ms.push(t.abs_diff(ideal) as f64 / 1e6);
            }
        }
    }
    errors_ms.sort_by(f64::total_cmp);
    let wall = Duration::from_nanos(t1 - t0);
    let probes = errors_ms.len() as u32;
    let share = cpu.as_secs_f64() / wall.as_secs_f64();
    let per_probe = cpu.checked_div(probes).unwrap_or_default();
    println!("{pods} pods; {probes} HTTP probes in a {wall:?} window");
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
        judge(
            format!(
                "timing error p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                percentile(&errors_ms, 0.5),
                percentile(&errors_ms, 0.99),
                errors_ms[errors_ms.len() - 1]
            ),
            percentile(&errors_ms, 0.99) < 5.0,
        );
    }
    judge(
        format!("runner CPU {:.1} % of one core", share * 100.0),
        share < 0.25,
    );
    judge(format!("runner resident memory {rss:.1} MiB"), rss < 64.0);
    judge(
        format!(
            "runner CPU per HTTP probe {per_probe:?} = {:.2}x a raw loopback request (the TCP startup probes and the pods' own work are in it too)",
            per_probe.as_secs_f64() / raw.as_secs_f64()
        ),
        per_probe.as_secs_f64() < 2.0 * raw.as_secs_f64(),
    );
    let judged = (!common::smoke()).then_some(());
    let b = format!("probe_load {pods} pods (none)");
    common::timing_error_row(
        &b,
        &errors_ms,
        "p99 < 5 ms",
        judged.map(|()| (|p99| p99 < 5.0) as fn(f64) -> bool),
    );
    common::row(
        &b,
        "runner CPU per HTTP probe",
        &format!("{per_probe:?} ({:.1} % of one core)", share * 100.0),
        &format!("{raw:?} (raw loopback request)"),
        &format!(
            "{:.2}x",
            per_probe.as_secs_f64() / raw.as_secs_f64().max(1e-12)
        ),
        "< 2x; < 25 % of a core",
        judged.map(|()| per_probe.as_secs_f64() < 2.0 * raw.as_secs_f64() && share < 0.25),
    );
    common::row(
        &b,
        "runner resident memory",
        &format!("{rss:.1} MiB"),
        "-",
        "-",
        "< 64 MiB",
        judged.map(|()| rss < 64.0),
    );
    drop(rt);
    if over && !common::smoke() {
        std::process::exit(1);
    }
}
