//! The harness's real-time recheck: a spec that fails at a compressed time scale is run once
//! more at time scale 1, and that verdict is the spec's, with both printed.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");

fn podcheck_test(extra: &[&str], filter: &str) -> Output {
    Command::new(BIN)
        .args(["test", "fixtures/recheck", "--time-scale", "0.1"])
        .args(extra)
        .args(["--", filter])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("PODCHECK_RECHECK")
        .env_remove("PODCHECK_TIME_SCALE")
        .output()
        .expect("podcheck runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_failure_caused_by_compression_passes_at_real_time() {
    let out = podcheck_test(&[], "slow-probe-ready");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("slow-probe-ready.toml failed at time scale 0.1 (")
            && all.contains("was rerun at time scale 1: it passed at real time"),
        "{all}"
    );
}

#[test]
fn without_the_recheck_the_compressed_verdict_stands() {
    let out = podcheck_test(&["--no-recheck"], "slow-probe-ready");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains("was rerun at time scale 1"), "{all}");
    assert!(all.contains("readinessProbe"), "{all}");
}

#[test]
fn a_real_failure_fails_at_both_scales_and_shows_both_reports() {
    let out = podcheck_test(&[], "always-fails");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("it failed at real time too"), "{all}");
    assert!(all.contains("the compressed run's report was:"), "{all}");
    assert_eq!(all.matches("expected Succeeded").count(), 2, "{all}");
}
