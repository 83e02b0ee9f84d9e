//! Container start cost against its floor, measured in the same run: a plain fork/exec of
//! `true` (std::process::Command) versus podcheck's start path (shim, process group, pipes)
//! in each isolation mode. The budget (issue 15) is under 2x the floor at p50, in every mode.
//!
//! Run with `cargo bench --bench container_start` (release build). Prints one line per
//! variant and a result row each, judged against that budget; exits 1 when a variant is at
//! or over it. `PODCHECK_BENCH_SMOKE=1` makes a few starts and judges nothing.

#[path = "common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use podcheck::runtime::mounts::{Bind, MountPlan};
use podcheck::runtime::netns::PodNetwork;
use podcheck::runtime::process::{ProcessSpec, spawn};

fn runs() -> usize {
    if common::smoke() { 10 } else { 300 }
}

fn warmup() -> usize {
    if common::smoke() { 2 } else { 20 }
}
/// Issue 15: a container start costs under this many fork/execs of `true` (p50).
const BUDGET: f64 = 2.0;

struct Stats {
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let total: Duration = v.iter().sum();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    Stats {
        mean: total / v.len() as u32,
        p50: at(0.5),
        p99: at(0.99),
    }
}

fn plain() -> Vec<Duration> {
    (0..runs() + warmup())
        .map(|_| {
            let t = Instant::now();
            let st = std::process::Command::new("true")
                .status()
                .expect("true runs");
            assert!(st.success());
            t.elapsed()
        })
        .skip(warmup())
        .collect()
}

fn podcheck(rt: &tokio::runtime::Runtime, make: &dyn Fn() -> ProcessSpec) -> Vec<Duration> {
    (0..runs() + warmup())
        .map(|_| {
            let spec = make();
            let t = Instant::now();
            let (exit, handle) = rt.block_on(async {
                let p = spawn(&spec).expect("spawn");
                (p.exited.await.expect("exit"), p.handle)
            });
            let took = t.elapsed();
            // The handle's release (namespace fds closed on a short-lived thread) is the
            // runner's clean-up after the exit it already saw, as the floor's is not timed.
            drop(handle);
            assert_eq!(exit.exit_code, 0);
            took
        })
        .skip(warmup())
        .collect()
}

fn base_spec() -> ProcessSpec {
    ProcessSpec {
        argv: vec!["true".into()],
        env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        cwd: std::env::temp_dir(),
        netns: None,
        pid_namespace: false,
        cgroup: None,
        mounts: None,
        identity: None,
    }
}

pub(crate) fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let floor = stats(plain());
    println!(
        "floor (fork/exec of true): mean {:?}, p50 {:?}, p99 {:?}",
        floor.mean, floor.p50, floor.p99
    );
    let mut over = false;
    // PODCHECK_BENCH_ONLY=TEXT measures only the variants whose name contains TEXT (the
    // floor always), for profiling one of them.
    let only = std::env::var("PODCHECK_BENCH_ONLY").unwrap_or_default();
    let wanted = |name: &str| name.contains(only.as_str());
    let mut report = |name: &str, s: Stats, budgeted: bool| {
        let ratio = s.p50.as_secs_f64() / floor.p50.as_secs_f64();
        let verdict = if !budgeted {
            "(not budgeted)"
        } else if ratio < BUDGET {
            "within the 2x budget"
        } else {
            over = true;
            "OVER the 2x budget"
        };
        println!(
            "{name}: mean {:?}, p50 {:?}, p99 {:?}: {ratio:.2}x the floor at p50, {verdict}",
            s.mean, s.p50, s.p99
        );
        common::row(
            "container_start",
            &format!("{name}: start to exit of `true`, p50"),
            &format!("{:.3} ms", s.p50.as_secs_f64() * 1e3),
            &format!(
                "{:.3} ms (fork/exec of true)",
                floor.p50.as_secs_f64() * 1e3
            ),
            &format!("{ratio:.2}x"),
            "< 2x",
            (!common::smoke()).then_some(ratio < BUDGET),
        );
    };
    if wanted("none mode") {
        report("none mode", stats(podcheck(&rt, &base_spec)), true);
    }
    // A pod's network as the runner makes it, with its hostname's UTS namespace.
    match PodNetwork::for_pod("bench") {
        Err(e) => println!("pod mode: skipped: {e}"),
        Ok(net) => {
            let net = Arc::new(net);
            let fds = net.ns_fds();
            let pod = move || ProcessSpec {
                netns: Some(fds),
                pid_namespace: true,
                ..base_spec()
            };
            if wanted("pod mode") {
                report("pod mode", stats(podcheck(&rt, &pod)), true);
            }
            let scratch = tempfile::tempdir().expect("scratch");
            let vol = scratch.path().join("vol");
            let log = scratch.path().join("termination-log");
            std::fs::create_dir_all(&vol).expect("vol");
            std::fs::write(&log, b"").expect("log");
            let binds = vec![
                Bind {
                    source: vol,
                    target: PathBuf::from("/data"),
                    read_only: false,
                },
                Bind {
                    source: log,
                    target: PathBuf::from("/dev/termination-log"),
                    read_only: false,
                },
            ];
            let root = scratch.path().to_owned();
            let cwd = std::env::temp_dir();
            let with = |binds: Vec<Bind>| {
                let (root, cwd) = (root.clone(), cwd.clone());
                move || ProcessSpec {
                    mounts: Some(Arc::new(
                        MountPlan::new(&binds, &root, &cwd).expect("mount plan"),
                    )),
                    ..pod()
                }
            };
            // Not budgeted: what an own mount namespace costs before anything is mounted in
            // it (unshare, MS_PRIVATE, the kernel's teardown at exit), to tell it apart
            // from the binds.
            let name = "pod mode with its own mount namespace and no binds";
            if wanted(name) {
                report(name, stats(podcheck(&rt, &with(Vec::new()))), false);
            }
            let name = "pod mode with /dev/termination-log (every container)";
            if wanted(name) {
                report(name, stats(podcheck(&rt, &with(binds[1..].to_vec()))), true);
            }
            // What the kubelet gives every container: the termination log, and /etc/hosts,
            // /etc/hostname and /etc/resolv.conf bound over the host's files.
            let name = "pod mode as every container starts (termination log and the /etc files)";
            if wanted(name) {
                let mut every = binds[1..].to_vec();
                // Only over files this machine has (a bind needs its target).
                for target in ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"]
                    .into_iter()
                    .filter(|t| std::path::Path::new(t).is_file())
                {
                    let source = scratch.path().join(target.trim_start_matches("/etc/"));
                    std::fs::write(&source, b"").expect("an /etc file");
                    every.push(Bind {
                        source,
                        target: PathBuf::from(target),
                        read_only: false,
                    });
                }
                report(name, stats(podcheck(&rt, &with(every))), true);
            }
            let name = "pod mode with a volume at /data and /dev/termination-log";
            if wanted(name) {
                report(name, stats(podcheck(&rt, &with(binds))), true);
            }
        }
    }
    if over && !common::smoke() {
        std::process::exit(1);
    }
}
