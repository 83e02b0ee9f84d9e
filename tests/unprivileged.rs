//! The same runs as an ordinary user: nothing podcheck does may need root. When the tests
//! run as root, these re-run specs through `runuser` as `nobody`; otherwise the whole suite
//! is already unprivileged and they say so.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");

/// The user to run as, or why these checks cannot run here.
fn unprivileged_user() -> Result<&'static str, String> {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return Err("the test suite already runs as a non-root user".into());
    }
    let probe = Command::new("runuser")
        .args(["-u", "nobody", "--", BIN, "--version"])
        .output();
    match probe {
        Ok(out) if out.status.success() => Ok("nobody"),
        Ok(out) => Err(format!(
            "user nobody cannot run {BIN} (is every parent directory world-executable?): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("runuser is not available: {e}")),
    }
}

fn run_as(user: &str, spec: &str) -> std::process::Output {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join(spec);
    Command::new("runuser")
        .args(["-u", user, "--", BIN, "run", "-q"])
        .arg(&spec)
        .current_dir("/")
        .output()
        .expect("runuser runs")
}

#[test]
fn specs_pass_for_a_non_root_user() {
    let user = match unprivileged_user() {
        Ok(u) => u,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    // A lifecycle run, a probe run against a real server, a termination with grace, and
    // (in a user namespace) PID 1 semantics, volumes at their mountPath, the termination
    // log at its path and an exec probe inside the container's mounts.
    for spec in [
        "specs/init/init-containers-run-in-order.toml",
        "specs/probes/readiness-http-gates-ready.toml",
        "specs/termination/delete-sigterm-ignored.toml",
        "specs/hooks/prestop-sleep-before-sigterm.toml",
        "specs/volumes/emptydir-at-mount-path.toml",
        "specs/messages/termination-log-at-default-path.toml",
        "specs/probes/exec-sees-the-container-mounts.toml",
    ] {
        let out = run_as(user, spec);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{spec} as {user}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_missing_feature_is_refused_with_the_reason() {
    let user = match unprivileged_user() {
        Ok(u) => u,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    // An ordinary user has no writable memory cgroup here (no delegation).
    let out = run_as(user, "specs/resources/oom-killed.toml");
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(0) {
        eprintln!("skipped: {user} has a writable memory cgroup on this machine");
        return;
    }
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("requires memory-limits (run.requires), which is unavailable here")
            && err.contains("Permission denied"),
        "{err}"
    );
}
