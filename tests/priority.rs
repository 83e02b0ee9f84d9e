//! The runner raises its own threads' priority (runtime/priority.rs), and what it starts
//! does not inherit that: a container and its exec probes run at the nice value podcheck
//! itself was started with, as under a kubelet.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");

/// This process's nice value, as `nice` prints it.
fn own_nice() -> i32 {
    let out = Command::new("nice").output().expect("nice runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("nice prints a number")
}

#[test]
fn containers_and_exec_probes_run_at_the_nice_value_podcheck_was_given() {
    let want = (own_nice() + 3).min(19);
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("nice.toml");
    // The container fails (exit 2) at the wrong nice value, the startup probe fails (and so
    // kills it) at the wrong value for its exec: either way the pod does not succeed.
    std::fs::write(
        &spec,
        format!(
            r#"
[pod]
restartPolicy = "Never"

[[pod.containers]]
name = "app"
command = ["sh", "-c", "[ \"$(nice)\" = {want} ] || exit 2; sleep 2"]
startupProbe = {{ exec = {{ command = ["sh", "-c", "[ \"$(nice)\" = {want} ]"] }}, periodSeconds = 1, failureThreshold = 1 }}

[[expect.events]]
reason = "Started"
container = "app"

[expect.final]
phase = "Succeeded"
containers.app = {{ state = "terminated", reason = "Completed", exitCode = 0 }}
"#
        ),
    )
    .expect("write spec");
    let out = Command::new("nice")
        .args(["-n", "3", BIN, "run"])
        .arg(&spec)
        .output()
        .expect("podcheck runs");
    assert!(
        out.status.success(),
        "the pod runs at nice {want}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
