//! Several pods and Services in one spec against one pod alone, in the same run: 50 pods
//! (10 tables of 5 replicas) behind 10 Services, every pod serving its own HTTP readiness
//! probe at 1 s whose answer flips every 4 s, so pods leave and rejoin their Service's
//! endpoints all run long. The same spec with 1 pod behind 1 Service is the reference.
//!
//! Figures, for both shapes: the probe timing error (each readiness prober ticks every
//! period from its first attempt; an attempt's error is its distance from that schedule)
//! and the endpoint lag (from the readiness attempt that changed Ready to the endpoint
//! change it caused, on the Service's EndpointSlice), p50 / p99 / max in ms. The ratio is
//! the many-pod p99 over the one-pod p99 measured in the same run. Needs pod isolation
//! (every pod listens on 8080); otherwise prints why and exits 0.
//! `PODCHECK_BENCH_SMOKE=1` runs 4 pods behind 2 Services for 6 s.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::time::Duration;

use podcheck::events::{Entry, ExecutionKind};
use podcheck::runner::{RunGuard, run_spec};
use podcheck::spec::parse_spec;

const FIXTURE: &str = env!("CARGO_BIN_EXE_podcheck-fixture");

/// (tables, replicas per table, run length): one Service per table.
fn shape(many: bool) -> (usize, usize, Duration) {
    match (many, common::smoke()) {
        (false, true) => (1, 1, Duration::from_secs(6)),
        (true, true) => (2, 2, Duration::from_secs(6)),
        (false, false) => (1, 1, Duration::from_secs(40)),
        (true, false) => (10, 5, Duration::from_secs(40)),
    }
}

fn spec(tables: usize, replicas: usize, run_for: Duration) -> String {
    let mut s = format!(
        "[run]\nduration = \"{}s\"\ntimeout = \"{}s\"\nisolation = \"pod\"\n",
        run_for.as_secs(),
        run_for.as_secs() + 300
    );
    // Readiness answers 200 for 4 s, then 503 for 4 s, over and over.
    let mut routes = String::new();
    for k in 0..=(run_for.as_secs() / 4) {
        let code = if k % 2 == 0 { 200 } else { 503 };
        routes.push_str(&format!("{code}@{}s,", k * 4));
    }
    let routes = routes.trim_end_matches(',');
    for t in 0..tables {
        s.push_str(&format!(
            r#"
[pods.web{t}]
replicas = {replicas}
labels = {{ app = "web{t}" }}
terminationGracePeriodSeconds = 1

[[pods.web{t}.containers]]
name = "app"
command = ["podcheck-fixture", "--http", "8080", "--route", "/ready={routes}"]
ports = [{{ name = "http", containerPort = 8080 }}]
readinessProbe = {{ httpGet = {{ path = "/ready", port = 8080 }}, periodSeconds = 1 }}

[services.web{t}]
selector = {{ app = "web{t}" }}
ports = [{{ port = 80, targetPort = "http" }}]
"#
        ));
    }
    s
}

/// Probe timing errors and endpoint lags of one pod's timeline, in ms.
fn measure(entries: &[Entry], timing: &mut Vec<f64>, lag: &mut Vec<f64>) {
    let mut starts = Vec::new();
    // The last readiness result and when it came; the Ready condition it last set.
    let mut last: Option<(bool, Duration)> = None;
    let mut changed_at: Option<Duration> = None;
    let mut ready = false;
    for e in entries {
        match e {
            Entry::Execution(x) => {
                if let ExecutionKind::Probe {
                    probe: "readiness",
                    result,
                    ..
                } = &x.what
                {
                    starts.push(x.at.as_secs_f64());
                    let ok = *result == "success";
                    if ok != ready {
                        changed_at = Some(x.at);
                    }
                    last = Some((ok, x.at));
                }
            }
            Entry::Status { status, .. } => {
                ready = status.condition("Ready") == Some(true);
            }
            Entry::ServiceEndpoint { at, endpoint, .. } => {
                if let (Some(c), Some(from), Some((ok, _))) = (endpoint, changed_at, last)
                    && c.ready == ok
                {
                    lag.push(at.saturating_sub(from).as_secs_f64() * 1e3);
                    changed_at = None;
                }
            }
            _ => {}
        }
    }
    if let Some(&first) = starts.first() {
        for (k, s) in starts.iter().enumerate() {
            timing.push((s - (first + k as f64)).abs() * 1e3);
        }
    }
}

/// Runs one shape; returns (probe timing errors, endpoint lags), sorted, in ms.
fn run(many: bool) -> Result<(Vec<f64>, Vec<f64>, usize), String> {
    let (tables, replicas, run_for) = shape(many);
    let loaded = parse_spec(
        Path::new("services-scale.toml"),
        &spec(tables, replicas, run_for),
    )
    .map_err(|d| d.render())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let guard = RunGuard::new();
    let opts = common::pod_mode_options(FIXTURE);
    let report = rt
        .block_on(run_spec(
            &loaded,
            &opts,
            guard.run_id(),
            &mut |_, _| {},
            None,
        ))
        .map_err(|e| e.to_string())?;
    drop(guard);
    let (mut timing, mut lag) = (Vec::new(), Vec::new());
    let pods = report.pods();
    for (_, _, outcome) in &pods {
        measure(&outcome.timeline.entries, &mut timing, &mut lag);
    }
    timing.sort_by(f64::total_cmp);
    lag.sort_by(f64::total_cmp);
    Ok((timing, lag, pods.len()))
}

fn main() {
    if let Err(why) = common::pod_mode_available() {
        println!("services_scale: skipped: {why}");
        return;
    }
    common::raise_fd_limit();
    let one = run(false);
    let many = run(true);
    let (one, many) = match (one, many) {
        (Ok(o), Ok(m)) => (o, m),
        (Err(e), _) | (_, Err(e)) => {
            println!("services_scale: the run failed: {e}");
            std::process::exit(1);
        }
    };
    let (tables, _, _) = shape(true);
    let b = format!("services_scale {} pods, {tables} Services", many.2);
    let fmt = |v: &[f64]| {
        format!(
            "{:.2} / {:.2} / {:.2} ms (n = {})",
            common::percentile(v, 0.5),
            common::percentile(v, 0.99),
            v.last().copied().unwrap_or(0.0),
            v.len()
        )
    };
    let ratio = |m: &[f64], o: &[f64]| {
        let (pm, po) = (common::percentile(m, 0.99), common::percentile(o, 0.99));
        if po > 0.0 {
            format!("{:.2}x", pm / po)
        } else {
            "-".into()
        }
    };
    common::row(
        &b,
        "readiness probe timing error p50 / p99 / max",
        &fmt(&many.0),
        &format!("1 pod, 1 Service: {}", fmt(&one.0)),
        &ratio(&many.0, &one.0),
        "same timing quality as one pod",
        None,
    );
    common::row(
        &b,
        "endpoint change after the readiness attempt that caused it",
        &fmt(&many.1),
        &format!("1 pod, 1 Service: {}", fmt(&one.1)),
        &ratio(&many.1, &one.1),
        "same timing quality as one pod",
        None,
    );
}
