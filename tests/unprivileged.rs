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

/// Runs `podcheck ARGS PATH` as `user`, with PATH relative to the repository.
fn run_as(user: &str, args: &[&str], path: &str) -> std::process::Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    Command::new("runuser")
        .args(["-u", user, "--", BIN])
        .args(args)
        .arg(&path)
        .current_dir("/")
        .output()
        .expect("runuser runs")
}

#[test]
fn the_conformance_suite_passes_for_a_non_root_user() {
    let user = match unprivileged_user() {
        Ok(u) => u,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    // The whole suite through `podcheck test`: pod mode inside a user namespace (PID 1
    // semantics, volumes at their mountPath, probes into the pod), and the specs that need
    // what an ordinary user lacks (memory cgroups) shown as ignored with the reason.
    let out = run_as(user, &["test"], "specs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the suite as {user}:\n{stdout}{stderr}"
    );
    assert!(stdout.contains("test result: ok."), "{stdout}");
    eprintln!("{stderr}");
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
    let out = run_as(user, &["run", "-q"], "specs/resources/oom-killed.toml");
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
