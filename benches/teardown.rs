//! Teardown: the time to end N running pods (1,000 by default; `PODCHECK_BENCH_PODS` or a
//! first argument such as `100,1000`) until every process of theirs and every sandbox is
//! gone, in pod isolation when it is available (else `none`, said so).
//!
//! Each pod is one `sleep` container (with its shim, and in pod mode its sandbox). Once all
//! have started, one cancel signal ends them all at once (the runner's Ctrl-C path: each pod
//! worker kills its containers, sweeps its pod's processes and reaps them); the clock stops
//! when every pod's run has returned, its run guard has swept the run, and neither a
//! process carrying the run's tag nor a helper process (sandbox, shim) is left.
//!
//! Floor: SIGKILL and reap the same number of plain `sleep` processes this program started
//! itself, in the same run. Also printed: the cost of one /proc scan for a tag with all the
//! pods running (a pod end in none mode makes one, so such a suite pays N of them; in pod
//! mode a pod's processes die with their containers' PID namespaces). Budget (issue 15):
//! under 2 s for 1,000 pods. `PODCHECK_BENCH_SMOKE=1` ends 3 pods and judges nothing.

#[path = "common/mod.rs"]
mod common;

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use podcheck::events::{Entry, ExecutionKind};
use podcheck::runner::{RunGuard, RunOptions, run_spec};
use podcheck::runtime::isolation::Isolation;
use podcheck::runtime::process;
use podcheck::spec::parse_spec;

fn spec(i: usize, mode: &str) -> String {
    format!(
        r#"
[run]
duration = "1h"
timeout = "1h"
isolation = "{mode}"

[pod]
name = "teardown-{i}"
terminationGracePeriodSeconds = 1

[[pod.containers]]
name = "app"
command = ["sleep", "3600"]
"#
    )
}

/// Time to SIGKILL and reap `n` plain processes.
fn floor(n: usize) -> Duration {
    let mut children: Vec<_> = (0..n)
        .filter_map(|_| std::process::Command::new("sleep").arg("3600").spawn().ok())
        .collect();
    let t = Instant::now();
    for c in &mut children {
        let _ = c.kill();
    }
    for c in &mut children {
        let _ = c.wait();
    }
    t.elapsed()
}

fn run(pods: usize, isolation: Isolation, mode: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let guard = RunGuard::new();
    let run_id = guard.run_id().to_owned();
    let opts = Rc::new(RunOptions {
        isolation: Some(isolation),
        ..RunOptions::default()
    });
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let started = Rc::new(Cell::new(0usize));
    let ended = Rc::new(Cell::new(0usize));
    // When each pod's run returned, counted from the cancel (set just before it is sent).
    let cancel_at: Rc<Cell<Option<Instant>>> = Rc::default();
    let returns: Rc<std::cell::RefCell<Vec<f64>>> = Rc::default();
    for i in 0..pods {
        let loaded = parse_spec(Path::new(&format!("teardown-{i}.toml")), &spec(i, mode))
            .expect("the benchmark's spec is valid");
        let (opts, started, ended, cancel) = (
            opts.clone(),
            started.clone(),
            ended.clone(),
            cancel_rx.clone(),
        );
        let (cancel_at, returns) = (cancel_at.clone(), returns.clone());
        let id = format!("{run_id}-{i}");
        local.spawn_local(async move {
            let mut on_entry = |_: &str, e: &Entry| {
                if let Entry::Execution(x) = e
                    && x.what == ExecutionKind::Start
                {
                    started.set(started.get() + 1);
                }
            };
            let _ = run_spec(&loaded, &opts, &id, &mut on_entry, Some(cancel)).await;
            ended.set(ended.get() + 1);
            if let Some(t) = cancel_at.get() {
                returns.borrow_mut().push(t.elapsed().as_secs_f64());
            }
        });
    }
    // Bounded: wait for every container to start, at most two minutes plus 0.1 s a pod.
    let wait_for = Duration::from_secs(120) + Duration::from_millis(100) * pods as u32;
    let all_started = rt.block_on(local.run_until(async {
        let until = Instant::now() + wait_for;
        while started.get() < pods && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        started.get()
    }));
    let helpers_before = common::helpers().len();
    let scan = Instant::now();
    let tagged = process::tagged_pids("PODCHECK_RUN", |v| v.starts_with(&run_id)).len();
    let scan = scan.elapsed();
    let t = Instant::now();
    cancel_at.set(Some(t));
    let _ = cancel_tx.send(true);
    rt.block_on(local);
    let runs_returned = t.elapsed();
    drop(guard);
    // Bounded: up to 30 s for the last processes to disappear.
    let mut left = (0, 0);
    for _ in 0..3000 {
        left = (
            process::tagged_pids("PODCHECK_RUN", |v| v.starts_with(&run_id)).len(),
            common::helpers().len(),
        );
        if left == (0, 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let gone = t.elapsed();
    let floor = floor(pods);
    let mut returns = returns.take();
    returns.sort_by(f64::total_cmp);
    println!(
        "pod runs returned after the cancel: first {:.3} s, p10 {:.3} s, p50 {:.3} s, p90 {:.3} s, last {:.3} s",
        returns.first().copied().unwrap_or(0.0),
        common::percentile(&returns, 0.1),
        common::percentile(&returns, 0.5),
        common::percentile(&returns, 0.9),
        returns.last().copied().unwrap_or(0.0)
    );
    println!(
        "{pods} pods ({mode} isolation): {all_started} started, {tagged} tagged processes and {helpers_before} helpers before the end; all runs returned after {runs_returned:.2?}; left after: {} tagged, {} helpers",
        left.0, left.1
    );
    let b = format!("teardown {pods} pods ({mode})");
    let judged = pods >= 1000 && !common::smoke();
    common::row(
        &b,
        "end every pod until no process or sandbox is left",
        &format!("{:.3} s", gone.as_secs_f64()),
        &format!(
            "{:.3} s to kill and reap {pods} plain processes",
            floor.as_secs_f64()
        ),
        &format!("{:.1}x", gone.as_secs_f64() / floor.as_secs_f64().max(1e-9)),
        "< 2 s at 1,000 pods",
        judged.then_some(left == (0, 0) && gone < Duration::from_secs(2)),
    );
    common::row(
        &b,
        "one /proc scan for a tag, all pods running (what a pod end in none mode pays; pod mode ends without one)",
        &format!(
            "{:.2} ms (x {pods} pods = {:.2} s)",
            scan.as_secs_f64() * 1e3,
            scan.as_secs_f64() * pods as f64
        ),
        "-",
        "-",
        "-",
        None,
    );
}

pub(crate) fn main() {
    common::raise_fd_limit();
    let (isolation, mode) = match common::pod_mode_available() {
        Ok(()) => (Isolation::Pod, "pod"),
        Err(why) => {
            println!("teardown: pod isolation is unavailable ({why}); measuring isolation none");
            (Isolation::None, "none")
        }
    };
    let counts = if common::smoke() && std::env::var(common::PODS_VAR).is_err() {
        vec![3]
    } else {
        common::pod_counts(&[1000])
    };
    for n in counts {
        run(n, isolation, mode);
    }
}
