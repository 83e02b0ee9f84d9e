//! Event timing: how far the kubelet's reactions land from their nominal times, at 1, 100
//! and 1,000 pods (`PODCHECK_BENCH_PODS` or a first argument such as `1,100`), in pod
//! isolation.
//!
//! Every pod runs the fixture app with a readiness probe that always succeeds and a liveness
//! probe that starts failing 3 s into each container instance (period 1 s, threshold 1), so
//! the container is killed and restarted over and over. From each pod's timeline:
//! - **Killing**: the `Killing` event against the failed liveness attempt that caused it
//!   (nominal: at once, the kubelet's sync follows the probe result);
//! - **restart after a probe kill**: the next instance's start against the killed one's exit
//!   (nominal: at once for the first two kills, which the back-off lets through);
//! - **restart after back-off**: the same for the third kill, whose nominal delay is the 10 s
//!   back-off plus the pod worker's requeue jitter (0–50 %), so 10–15 s;
//! - **Ready status change**: the pod status with Ready=True against the successful
//!   readiness attempt that caused it (nominal: at once).
//!
//! No floor applies (the nominal time is the reference); the figures are the error's p50,
//! p99 and max in ms. Needs pod isolation (each pod listens on 8080): otherwise prints why
//! and exits 0. `PODCHECK_BENCH_SMOKE=1` runs one pod for 6 s.

#[path = "common/mod.rs"]
mod common;

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use podcheck::events::{Entry, ExecutionKind};
use podcheck::runner::{RunGuard, run_spec};
use podcheck::spec::parse_spec;

const FIXTURE: &str = env!("CARGO_BIN_EXE_podcheck-fixture");

fn run_for() -> Duration {
    Duration::from_secs(if common::smoke() { 6 } else { 30 })
}

fn spec(i: usize) -> String {
    format!(
        r#"
[run]
duration = "{secs}s"
timeout = "{timeout}s"
isolation = "pod"

[pod]
name = "events-{i}"
terminationGracePeriodSeconds = 1

[[pod.containers]]
name = "app"
command = ["podcheck-fixture", "--http", "8080", "--route", "/ready=200@0s", "--route", "/live=200@0s,500@3s"]
readinessProbe = {{ httpGet = {{ path = "/ready", port = 8080 }}, periodSeconds = 1 }}
livenessProbe = {{ httpGet = {{ path = "/live", port = 8080 }}, periodSeconds = 1, failureThreshold = 1 }}
"#,
        secs = run_for().as_secs(),
        timeout = run_for().as_secs() + 300,
    )
}

/// The errors of one kind of reaction, in ms.
#[derive(Default)]
struct Errors {
    killing: Vec<f64>,
    restart_now: Vec<f64>,
    restart_backoff: Vec<f64>,
    ready: Vec<f64>,
}

/// Reads one pod's timeline into `errs`.
fn measure(entries: &[Entry], errs: &mut Errors) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut last_live_failure = None;
    let mut last_ready_success = None;
    let mut ready = false;
    let mut kills = 0u32;
    let mut killed_exit: Option<Duration> = None;
    let mut pending_kill = false;
    for e in entries {
        match e {
            Entry::Execution(x) => match &x.what {
                ExecutionKind::Probe { probe, result, .. } => match (*probe, *result) {
                    ("liveness", "failure") => last_live_failure = Some(x.at),
                    ("readiness", "success") => last_ready_success = Some(x.at),
                    _ => {}
                },
                ExecutionKind::Exit { .. } if pending_kill => {
                    killed_exit = Some(x.at);
                    pending_kill = false;
                }
                ExecutionKind::Start => {
                    if let Some(exit) = killed_exit.take() {
                        let delay = ms(x.at.saturating_sub(exit));
                        if kills <= 2 {
                            errs.restart_now.push(delay);
                        } else if kills == 3 {
                            errs.restart_backoff.push(delay);
                        }
                    }
                }
                _ => {}
            },
            Entry::Event(ev) if ev.reason == "Killing" => {
                if let Some(f) = last_live_failure.take() {
                    errs.killing.push(ms(ev.at.saturating_sub(f)));
                }
                kills += 1;
                pending_kill = true;
            }
            Entry::Status { at, status } => {
                let now = status.condition("Ready") == Some(true);
                if now
                    && !ready
                    && let Some(s) = last_ready_success.take()
                {
                    errs.ready.push(ms(at.saturating_sub(s)));
                }
                ready = now;
            }
            _ => {}
        }
    }
}

fn run(pods: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let guard = Rc::new(RunGuard::new());
    let opts = Rc::new(common::pod_mode_options(FIXTURE));
    let errs: Rc<RefCell<Errors>> = Rc::default();
    let failed: Rc<RefCell<Vec<String>>> = Rc::default();
    for i in 0..pods {
        let loaded = parse_spec(Path::new(&format!("events-{i}.toml")), &spec(i))
            .expect("the benchmark's spec is valid");
        let (guard, opts, errs, failed) =
            (guard.clone(), opts.clone(), errs.clone(), failed.clone());
        local.spawn_local(async move {
            let id = format!("{}-{i}", guard.run_id());
            match run_spec(&loaded, &opts, &id, &mut |_, _| {}, None).await {
                Ok(r) => measure(&r.outcome.timeline.entries, &mut errs.borrow_mut()),
                Err(e) => failed.borrow_mut().push(format!("pod {i}: {e}")),
            }
        });
    }
    rt.block_on(local);
    drop(guard);
    for f in failed.borrow().iter().take(5) {
        println!("warning: {f}");
    }
    let mut errs = errs.take();
    let b = format!("event_timing {pods} pods");
    println!(
        "{pods} pods in pod isolation for {:?}: {} kills, {} immediate restarts, {} restarts after back-off, {} Ready changes",
        run_for(),
        errs.killing.len(),
        errs.restart_now.len(),
        errs.restart_backoff.len(),
        errs.ready.len()
    );
    let show = |figure: &str, v: &mut Vec<f64>, nominal: &str| {
        v.sort_by(f64::total_cmp);
        common::row(
            &b,
            figure,
            &format!(
                "{:.1} / {:.1} / {:.1} ms (n = {})",
                common::percentile(v, 0.5),
                common::percentile(v, 0.99),
                v.last().copied().unwrap_or(0.0),
                v.len()
            ),
            nominal,
            "-",
            "-",
            None,
        );
    };
    show(
        "Killing after the failed liveness attempt, p50 / p99 / max",
        &mut errs.killing,
        "0 (same sync)",
    );
    show(
        "restart after the 1st and 2nd probe kill (exit to start)",
        &mut errs.restart_now,
        "0 (no back-off yet)",
    );
    show(
        "restart after the 3rd probe kill (exit to start)",
        &mut errs.restart_backoff,
        "10 000 to 15 000 ms (10 s back-off + 0-50 % requeue jitter)",
    );
    show(
        "Ready=True after the successful readiness attempt",
        &mut errs.ready,
        "0 (same sync)",
    );
}

pub(crate) fn main() {
    if let Err(why) = common::pod_mode_available() {
        println!("event_timing: skipped: pod isolation is unavailable here: {why}");
        return;
    }
    common::raise_fd_limit();
    let counts = if common::smoke() && std::env::var(common::PODS_VAR).is_err() {
        vec![1]
    } else {
        common::pod_counts(&[1, 100, 1000])
    };
    for n in counts {
        run(n);
    }
}
