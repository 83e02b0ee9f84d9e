//! The `podcheck` command line, end to end: exit codes, the error output users see (as
//! snapshots), and that no process of a run survives it on any path.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");
const FIXTURE: &str = env!("CARGO_BIN_EXE_podcheck-fixture");

fn podcheck(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("podcheck runs")
}

/// Compares with the insta snapshot `tests/snapshots/NAME.snap`
/// (`INSTA_UPDATE=always` or `cargo insta review` to accept a deliberate change).
fn snapshot(name: &str, actual: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    settings.bind(|| insta::assert_snapshot!(name, actual));
}

/// As [`snapshot`], with what differs from run to run normalised: spec times (`13ms`,
/// `1.0s`) become `[T]` and the isolation note `[ISOLATION]`, so the snapshot pins the
/// text's structure and wording.
fn snapshot_run(name: &str, actual: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    settings.add_filter(r"isolation: [^\n]*", "isolation: [ISOLATION]");
    // Event lines right-align their time, so the padding goes with it.
    settings.add_filter(r"(?m)^ +\d+(\.\d+)?(ms|s)  ", "    [T]  ");
    settings.add_filter(r"\b\d+(\.\d+)?(ms|s)\b", "[T]");
    settings.bind(|| insta::assert_snapshot!(name, actual));
}

#[test]
fn invalid_specs_exit_2_with_located_errors() {
    for name in ["unknown-field", "bad-values", "not-toml"] {
        let file = format!("fixtures/invalid/{name}.toml");
        let out = podcheck(&["run", &file]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        snapshot(
            &format!("invalid-{name}"),
            &String::from_utf8_lossy(&out.stderr),
        );
    }
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = podcheck(&["lint", "specs/no-such-spec.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("cannot read the spec file") && text.contains("no-such-spec.toml"),
        "{text}"
    );
    assert!(out.stdout.is_empty(), "diagnostics go to stderr");
}

#[test]
fn a_spec_that_is_not_utf8_says_where_the_first_bad_byte_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("latin1.toml");
    // "café" saved as Latin-1: 0xE9 is the 6th character of line 3, byte 22 of the file.
    std::fs::write(&path, b"name = \"x\"\n[pod]\n# caf\xe9\n").expect("write spec");
    for cmd in ["lint", "run"] {
        let out = Command::new(BIN)
            .arg(cmd)
            .arg(&path)
            .output()
            .expect("podcheck runs");
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(out.stdout.is_empty(), "{cmd}: diagnostics go to stderr");
        let text = String::from_utf8_lossy(&out.stderr);
        for want in [
            "not valid UTF-8",
            "byte 0xE9 at line 3, column 6 (byte offset 22)",
            "latin1.toml:3:6",
        ] {
            assert!(text.contains(want), "{cmd}: {want:?} missing in {text}");
        }
        assert!(!text.contains("permissions"), "{cmd}: {text}");
    }
}

#[test]
fn passing_and_failing_specs_set_the_exit_code() {
    let ok = podcheck(&["run", "-q", "specs/basics/onfailure-exit0-succeeds.toml"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let failed = podcheck(&["run", "-q", "specs/must-fail/wrong-final-phase.toml"]);
    assert_eq!(failed.status.code(), Some(1));
    let text = String::from_utf8_lossy(&failed.stdout);
    assert!(
        text.contains("FAIL") && text.contains("final.phase: expected Succeeded, observed Failed"),
        "{text}"
    );
}

/// The failure text a person reads, cause first (issue 11): snapshotted with times
/// normalised.
#[test]
fn a_failure_explains_itself_before_listing_expectations() {
    let out = podcheck(&["run", "-q", "fixtures/reports/exit-explained.toml"]);
    assert_eq!(out.status.code(), Some(1));
    snapshot_run(
        "failure-exit-explained",
        &String::from_utf8_lossy(&out.stdout),
    );
}

#[test]
fn run_prints_watch_lines_and_events() {
    let out = podcheck(&["run", "specs/basics/single-container-completes.toml"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("NAME") && text.contains("STATUS") && text.contains("RESTARTS"),
        "{text}"
    );
    assert!(
        text.contains("ContainerCreating") && text.contains("Completed"),
        "{text}"
    );
    assert!(
        text.contains("spec.containers{app}: Container started"),
        "{text}"
    );
    assert!(text.contains("PASS"), "{text}");
}

#[test]
fn json_lines_record_every_event_and_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("t.jsonl");
    let out = podcheck(&[
        "run",
        "-q",
        "--json",
        json.to_str().expect("utf8"),
        "specs/basics/never-nonzero-fails.toml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&json).expect("json written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid json"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|v| v["kind"] == "event" && v["reason"] == "Started")
    );
    assert!(
        lines
            .iter()
            .any(|v| v["kind"] == "status" && v["phase"] == "Failed")
    );
    // Conditions as the API spells them, and both clocks on every record.
    let scheduled = lines
        .iter()
        .filter(|v| v["kind"] == "status")
        .flat_map(|v| v["conditions"].as_array().cloned().unwrap_or_default())
        .find(|c| c["type"] == "PodScheduled")
        .expect("a PodScheduled condition");
    assert_eq!(scheduled["status"], "True");
    for v in &lines {
        assert!(v["at"].is_f64(), "{v}");
        assert!(v["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{v}");
        assert_eq!(v["spec"], "specs/basics/never-nonzero-fails.toml", "{v}");
    }
    // The last record is the verdict.
    let last = lines.last().expect("records");
    assert_eq!(last["kind"], "verdict");
    assert_eq!(last["passed"], true);
    assert_eq!(last["failures"], serde_json::json!([]));
    assert_eq!(last["end"], "podFinished");
}

#[test]
fn json_lines_end_each_failed_spec_with_its_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("t.jsonl");
    let out = podcheck(&[
        "run",
        "-q",
        "--json",
        json.to_str().expect("utf8"),
        "specs/basics/never-nonzero-fails.toml",
        "specs/must-fail/wrong-final-phase.toml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&json).expect("json written");
    let verdicts: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("valid json"))
        .filter(|v| v["kind"] == "verdict")
        .collect();
    assert_eq!(verdicts.len(), 2);
    let failed = &verdicts[1];
    assert_eq!(failed["spec"], "specs/must-fail/wrong-final-phase.toml");
    assert_eq!(failed["passed"], false);
    assert_eq!(
        failed["failures"][0],
        "final.phase: expected Succeeded, observed Failed"
    );
    let cause = failed["causes"][0].as_str().unwrap_or_default();
    assert!(cause.starts_with("app#0 exited 1 (Error)"), "{cause}");
}

#[test]
fn a_run_whose_spec_does_not_load_still_writes_its_json_and_junit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (json, junit) = (dir.path().join("t.jsonl"), dir.path().join("t.xml"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[run]\ntimeout = 5\n").expect("write");
    let out = podcheck(&[
        "run",
        "--json",
        json.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
        bad.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let text = std::fs::read_to_string(&json).expect("json written");
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("valid json"))
        .collect();
    assert_eq!(records.len(), 1, "{text}");
    assert_eq!(records[0]["kind"], "error");
    assert_eq!(records[0]["spec"], bad.to_str().expect("utf8"));
    let message = records[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("run.timeout: invalid type"), "{message}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.contains("errors=\"1\""), "{xml}");
}

#[test]
fn a_negative_time_scale_is_refused_for_its_value_not_taken_for_a_flag() {
    for cmd in ["run", "bless"] {
        let out = podcheck(&[
            cmd,
            "--time-scale",
            "-1",
            "specs/basics/onfailure-exit0-succeeds.toml",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains("time scale -1: must be a number from 0.001 to 100"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn a_report_into_a_missing_folder_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    for flag in ["--junit", "--timeline"] {
        let target = dir.path().join("missing/report.svg");
        let out = podcheck(&[
            "run",
            flag,
            target.to_str().expect("utf8"),
            "specs/basics/onfailure-exit0-succeeds.toml",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{flag}: {err}");
        assert!(err.contains("missing: No such file or directory"), "{err}");
        assert!(out.stdout.is_empty(), "{flag}: the spec ran");
    }
}

/// A spec whose container leaves a child in its group and a double-forked daemon behind,
/// all marked with `mark` so the test can look for survivors.
/// `run` goes into the `[run]` table; `expect` is appended after the Started expectation.
fn leaky_spec(dir: &Path, mark: &str, run: &str, expect: &str) -> PathBuf {
    let fixture_dir = Path::new(FIXTURE)
        .parent()
        .expect("fixture dir")
        .display()
        .to_string();
    let spec = format!(
        r#"
[run]
{run}

[pod]
restartPolicy = "Never"
terminationGracePeriodSeconds = 2

[[pod.containers]]
name = "app"
command = ["{fixture_dir}/podcheck-fixture", "--spawn-child", "10m", "--spawn-daemon", "10m", "--on-sigterm", "ignore"]
env = [{{ name = "LEAK_MARK", value = "{mark}" }}]

[[expect.events]]
reason = "Started"
container = "app"
{expect}
"#
    );
    let path = dir.join("leaky.toml");
    std::fs::write(&path, spec).expect("write spec");
    path
}

/// An expectation that never holds, so a run goes on until it is stopped.
const NEVER: &str = "[[expect.events]]\nreason = \"NeverHappens\"";

/// Live processes of a run: the container's (tagged with `mark`) and the runner's own forks
/// (shims, the pod sandbox), which carry the runner's command line and so mention the
/// spec's unique `dir`.
fn survivors(mark: &str, dir: &Path) -> Vec<i32> {
    // Give the kernel a moment to deliver the SIGKILLs; zombies count as dead.
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let mut pids = podcheck::runtime::process::tagged_pids("LEAK_MARK", |v| v == mark);
        pids.extend(forks_mentioning(dir));
        if pids.is_empty() || Instant::now() > until {
            return pids;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Live processes (not zombies, not us) whose command line contains `dir`.
fn forks_mentioning(dir: &Path) -> Vec<i32> {
    let needle = dir.display().to_string();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid as u32 != std::process::id())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(')')
                .is_none_or(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie && String::from_utf8_lossy(&cmd).contains(&needle)
        })
        .collect()
}

fn unique_mark(path: &str) -> String {
    format!("{path}-{}-{:?}", std::process::id(), Instant::now())
}

#[test]
fn nothing_survives_a_run_that_ends_early() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The run ends as soon as Started is seen: the container and both descendants still run.
    let mark = unique_mark("decided");
    let spec = leaky_spec(dir.path(), &mark, "", "");
    let out = Command::new(BIN)
        .args(["run", "-q"])
        .arg(&spec)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(survivors(&mark, dir.path()), Vec::<i32>::new());
}

#[test]
fn nothing_survives_a_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mark = unique_mark("timeout");
    // An expectation that can never hold keeps the run going until the timeout.
    let spec = leaky_spec(dir.path(), &mark, "timeout = \"2s\"", NEVER);
    let out = Command::new(BIN)
        .args(["run", "-q"])
        .arg(&spec)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("timed out"));
    assert_eq!(survivors(&mark, dir.path()), Vec::<i32>::new());
}

#[test]
fn nothing_survives_a_failed_expectation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mark = unique_mark("failed");
    // The pod is still running at the end of the run, so this final phase fails.
    let spec = leaky_spec(
        dir.path(),
        &mark,
        "duration = \"2s\"",
        "[expect.final]\nphase = \"Succeeded\"",
    );
    let out = Command::new(BIN)
        .args(["run", "-q"])
        .arg(&spec)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("final.phase"), "{stdout}");
    assert_eq!(survivors(&mark, dir.path()), Vec::<i32>::new());
}

/// Starts a run of the leaky spec that never decides, and waits (bounded) until the
/// container and both its descendants exist.
fn start_undecided_run(
    label: &str,
    extra: &str,
) -> (tempfile::TempDir, String, std::process::Child) {
    start_undecided_run_in(label, extra, None)
}

/// As `start_undecided_run`, with the runner's scratch directories in `scratch` if given.
fn start_undecided_run_in(
    label: &str,
    extra: &str,
    scratch: Option<&Path>,
) -> (tempfile::TempDir, String, std::process::Child) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mark = unique_mark(label);
    let spec = leaky_spec(
        dir.path(),
        &mark,
        &format!("timeout = \"60s\"\n{extra}"),
        NEVER,
    );
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "-q"]).arg(&spec);
    if let Some(dir) = scratch {
        cmd.env("PODCHECK_SCRATCH_DIR", dir);
    }
    let child = cmd.spawn().expect("run");
    let until = Instant::now() + Duration::from_secs(20);
    while podcheck::runtime::process::tagged_pids("LEAK_MARK", |v| v == mark).len() < 3 {
        assert!(
            Instant::now() < until,
            "the container never started its children"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (dir, mark, child)
}

fn interrupted_run_leaves_nothing(signal: nix::sys::signal::Signal, label: &str) {
    let (dir, mark, mut child) = start_undecided_run(label, "");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, signal).expect("signal the runner");
    let status = child.wait().expect("wait");
    // 128 + the signal, as a shell reports it, so scripts tell it from a failed expectation.
    assert_eq!(
        status.code(),
        Some(128 + signal as i32),
        "an interrupted run exits with 128 + signal"
    );
    assert_eq!(survivors(&mark, dir.path()), Vec::<i32>::new());
}

#[test]
fn nothing_survives_ctrl_c() {
    interrupted_run_leaves_nothing(nix::sys::signal::Signal::SIGINT, "sigint");
}

#[test]
fn nothing_survives_sigterm_to_the_runner() {
    interrupted_run_leaves_nothing(nix::sys::signal::Signal::SIGTERM, "sigterm");
}

/// SIGKILL gives the runner no chance to clean up: the shims see their lifeline close and
/// kill what they guard (in pod mode, the end of PID 1 ends the namespace).
fn sigkilled_runner_leaves_nothing(isolation: &str) {
    let (dir, mark, mut child) = start_undecided_run(
        &format!("sigkill-{isolation}"),
        &format!("isolation = \"{isolation}\"\n"),
    );
    child.kill().expect("SIGKILL the runner");
    let status = child.wait().expect("wait");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert_eq!(survivors(&mark, dir.path()), Vec::<i32>::new());
}

#[test]
fn nothing_survives_a_sigkilled_runner_without_namespaces() {
    sigkilled_runner_leaves_nothing("none");
}

#[test]
fn nothing_survives_a_sigkilled_runner_in_pod_mode() {
    if let Err(e) = podcheck::runtime::isolation::pod_mode_available() {
        eprintln!("skipped: pod mode unavailable here: {e}");
        return;
    }
    sigkilled_runner_leaves_nothing("pod");
}

/// The scratch directories (`podcheck-*`) directly under `base`.
fn scratch_dirs(base: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(base)
        .expect("list the scratch base")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("podcheck-"))
        })
        .collect();
    dirs.sort();
    dirs
}

/// A SIGKILLed runner cannot remove its scratch directory; its owner marker names a dead
/// process, so the next run sweeps it, and leaves alone a directory it did not make.
#[test]
fn the_next_run_sweeps_the_scratch_dir_of_a_sigkilled_runner() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let foreign = scratch.path().join("podcheck-not-ours");
    std::fs::create_dir(&foreign).expect("mkdir");
    let (dir, mark, mut child) =
        start_undecided_run_in("sigkill-scratch", "", Some(scratch.path()));
    let leaked: Vec<PathBuf> = scratch_dirs(scratch.path())
        .into_iter()
        .filter(|p| *p != foreign)
        .collect();
    assert!(!leaked.is_empty(), "the run has a scratch directory");
    child.kill().expect("SIGKILL the runner");
    child.wait().expect("wait");
    assert_eq!(survivors(&mark, dir.path()), Vec::<i32>::new());
    assert!(
        leaked.iter().all(|p| p.exists()),
        "nothing removes it before the next run: {leaked:?}"
    );
    let next = Command::new(BIN)
        .args(["run", "-q", "specs/basics/onfailure-exit0-succeeds.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PODCHECK_SCRATCH_DIR", scratch.path())
        .output()
        .expect("run");
    assert_eq!(next.status.code(), Some(0));
    assert_eq!(scratch_dirs(scratch.path()), vec![foreign]);
}

/// A hostPath the host lacks (no type, or an *OrCreate type) is made where the run's pods
/// see it, never on the host, and goes with the run: the kube-apiserver and fluentd
/// manifests name node paths like /srv/kubernetes that a developer's machine lacks.
#[test]
fn a_hostpath_the_host_lacks_is_made_for_the_run_not_on_the_host() {
    let host = tempfile::tempdir().expect("tempdir");
    let scratch = tempfile::tempdir().expect("tempdir");
    let missing = host.path().join("srv/kubernetes");
    let manifest = host.path().join("pod.yaml");
    let yaml = format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: apiserver}}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox
    command: [sh, -c, 'test -d "$PODCHECK_VOLUME_DATA" && test -f "$PODCHECK_VOLUME_AUDIT" && echo x > "$PODCHECK_VOLUME_DATA/x"']
    volumeMounts:
    - {{name: data, mountPath: /srv/kubernetes}}
    - {{name: audit, mountPath: /var/log/audit.log}}
  volumes:
  - name: data
    hostPath: {{path: {dir}}}
  - name: audit
    hostPath: {{path: {log}, type: FileOrCreate}}
"#,
        dir = missing.display(),
        log = host.path().join("audit.log").display(),
    );
    std::fs::write(&manifest, yaml).expect("write the manifest");
    let out = Command::new(BIN)
        .args(["run", "-q", "--isolation", "none"])
        .arg(&manifest)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PODCHECK_SCRATCH_DIR", scratch.path())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<String> = std::fs::read_dir(host.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["pod.yaml".to_string()], "the host is unchanged");
    assert_eq!(scratch_dirs(scratch.path()), Vec::<PathBuf>::new());
}

#[test]
fn nothing_survives_a_panic_during_a_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mark = unique_mark("panic");
    let path = leaky_spec(dir.path(), &mark, "timeout = \"60s\"", NEVER);
    let loaded = podcheck::spec::load::load_spec(&path).expect("spec loads");
    let watched = mark.clone();
    // As in a harness trial: the guard and the run live inside the code that panics.
    let outcome = std::panic::catch_unwind(move || {
        let guard = podcheck::runner::RunGuard::new();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let opts = podcheck::runner::RunOptions::default();
            let mut ignore = |_: &str, _: &podcheck::events::Entry| {};
            let run = podcheck::runner::run_spec(&loaded, &opts, guard.run_id(), &mut ignore, None);
            let bomb = async {
                let until = Instant::now() + Duration::from_secs(20);
                while podcheck::runtime::process::tagged_pids("LEAK_MARK", |v| v == watched).len()
                    < 3
                    && Instant::now() < until
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                panic!("a bug panics in the middle of a run");
            };
            tokio::select! {
                _ = run => {}
                () = bomb => {}
            }
        });
    });
    assert!(outcome.is_err(), "the injected panic happened");
    assert_eq!(survivors(&mark, dir.path()), Vec::<i32>::new());
}

#[test]
fn lint_names_the_extensions_a_cluster_would_reject() {
    let out = podcheck(&["lint", "specs/volumes/emptydir-shared-with-init.toml"]);
    assert_eq!(out.status.code(), Some(0), "warnings do not fail lint");
    assert!(out.stdout.is_empty(), "diagnostics go to stderr");
    snapshot("lint-extensions", &String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let mut child = Command::new(BIN)
        .args(["run", "specs/basics/onfailure-exit0-succeeds.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    // Like `podcheck run ... | head -0`: the reader goes away before anything is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_run_says_which_isolation_it_used() {
    let out = podcheck(&[
        "run",
        "--isolation",
        "none",
        "specs/basics/onfailure-exit0-succeeds.toml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("isolation: none (requested)"));
    let bad = podcheck(&[
        "run",
        "--isolation",
        "vm",
        "specs/basics/onfailure-exit0-succeeds.toml",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("unknown isolation mode \"vm\": use auto, pod or none"),
        "{err}"
    );
}

#[test]
fn test_runs_a_folder_as_a_suite_and_fails_when_a_spec_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, exit: u8, phase: &str| {
        let spec = format!(
            "[pod]\nrestartPolicy = \"Never\"\n\n[[pod.containers]]\nname = \"app\"\ncommand = [\"sh\", \"-c\", \"exit {exit}\"]\n\n[expect.final]\nphase = \"{phase}\"\n"
        );
        std::fs::write(dir.path().join(name), spec).expect("write spec");
    };
    write("good.toml", 0, "Succeeded");
    let out = Command::new(BIN)
        .arg("test")
        .arg(dir.path())
        .output()
        .expect("podcheck test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(line_ends(&stdout, "good.toml", "... ok"), "{stdout}");
    // A spec whose expectation does not hold fails the suite, with its report.
    write("bad.toml", 3, "Succeeded");
    let out = Command::new(BIN)
        .arg("test")
        .arg(dir.path())
        .args(["--", "--test-threads", "1"])
        .output()
        .expect("podcheck test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(line_ends(&stdout, "bad.toml", "... FAILED"), "{stdout}");
    assert!(stdout.contains("final.phase"), "{stdout}");
}

/// Whether libtest's output has a line for `name` ending in `status` (names are padded).
fn line_ends(stdout: &str, name: &str, status: &str) -> bool {
    stdout
        .lines()
        .any(|l| l.contains(name) && l.trim_end().ends_with(status))
}

#[test]
fn test_honours_the_time_scale_from_the_flag_and_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The container sleeps 1 s of real time: at scale 1 it has exited by spec time 3 s, at
    // scale 0.1 that real second is 10 s of spec time, so it still runs at 3 s.
    let spec = "[run]\nduration = \"4s\"\n\n[pod]\nrestartPolicy = \"Never\"\n\n[[pod.containers]]\nname = \"app\"\ncommand = [\"sleep\", \"1\"]\n\n[[expect.states]]\nat = \"3s\"\ncontainers.app = { state = \"terminated\" }\n";
    std::fs::write(dir.path().join("scaled.toml"), spec).expect("write spec");
    let run = |env: Option<&str>, flag: Option<&str>| {
        let mut cmd = Command::new(BIN);
        // The compressed verdict itself is under test, so no real-time recheck.
        cmd.arg("test")
            .arg(dir.path())
            .env_remove("PODCHECK_TIME_SCALE")
            .env("PODCHECK_RECHECK", "0");
        if let Some(v) = env {
            cmd.env("PODCHECK_TIME_SCALE", v);
        }
        if let Some(v) = flag {
            cmd.args(["--time-scale", v]);
        }
        cmd.output().expect("podcheck test")
    };
    let out = run(None, None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = run(Some("0.1"), None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(line_ends(&stdout, "scaled.toml", "... FAILED"), "{stdout}");
    // The flag wins over the environment.
    let out = run(Some("0.1"), Some("1"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = run(None, Some("0"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid value '0' for '--time-scale") && stderr.contains("or auto"),
        "{stderr}"
    );
    // auto measures this machine and says what it chose.
    let out = Command::new(BIN)
        .args(["run", "--time-scale", "auto"])
        .arg(dir.path().join("scaled.toml"))
        .env_remove("PODCHECK_TIME_SCALE")
        .output()
        .expect("podcheck run");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("time scale auto: "), "{all}");
}

/// Where podcheck's scratch directory falls back to the host's /tmp, an emptyDir at /tmp
/// covers it in the container's mount namespace; the mount plan binds it back, so exec
/// probes still find their working directory (issue 12, rule 8).
#[test]
fn an_emptydir_at_tmp_does_not_hide_a_scratch_dir_under_tmp() {
    let scratch = tempfile::Builder::new()
        .prefix("podcheck-test-scratch-")
        .tempdir_in("/tmp")
        .expect("tempdir in /tmp");
    let out = Command::new(BIN)
        .args([
            "run",
            "-q",
            "specs/volumes/emptydir-at-tmp-keeps-exec-probes.toml",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PODCHECK_SCRATCH_DIR", scratch.path())
        .output()
        .expect("run");
    if out.status.code() == Some(3) {
        eprintln!(
            "skipped: {}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// One element of a parsed XML document: its path from the root (`testsuites/testsuite`),
/// its attributes and its text.
#[derive(Debug)]
struct XmlElement {
    path: String,
    attrs: std::collections::BTreeMap<String, String>,
    text: String,
}

/// Parses `xml` with quick-xml (independently of the writer), failing on malformed XML:
/// every element in document order.
fn parse_xml(xml: &str) -> Vec<XmlElement> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<usize> = Vec::new();
    let mut out: Vec<XmlElement> = Vec::new();
    let open = |e: &quick_xml::events::BytesStart, stack: &[usize], out: &mut Vec<XmlElement>| {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let path = match stack.last() {
            Some(&i) => format!("{}/{name}", out[i].path),
            None => name,
        };
        let attrs = e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                let v = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .expect("attribute value");
                (
                    String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    v.into_owned(),
                )
            })
            .collect();
        out.push(XmlElement {
            path,
            attrs,
            text: String::new(),
        });
        out.len() - 1
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let i = open(&e, &stack, &mut out);
                stack.push(i);
            }
            Event::Empty(e) => {
                open(&e, &stack, &mut out);
            }
            Event::End(_) => {
                stack.pop().expect("balanced tags");
            }
            Event::Text(t) => {
                if let Some(&i) = stack.last() {
                    out[i].text.push_str(&t.decode().expect("utf-8 text"));
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().expect("char ref") {
                    Some(c) => c,
                    None => match r.decode().expect("entity").as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("unknown entity &{other};"),
                    },
                };
                if let Some(&i) = stack.last() {
                    out[i].text.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements");
    out
}

/// Checks the JUnit layout: one testsuite with `names` as testcases, `failed` of them with
/// a `<failure>` whose message names the cause. Returns the elements.
fn check_junit(xml: &str, names: &[&str], failed: &[(&str, &str)]) -> Vec<XmlElement> {
    let els = parse_xml(xml);
    assert_eq!(els[0].path, "testsuites", "{xml}");
    let suites: Vec<&XmlElement> = els
        .iter()
        .filter(|e| e.path == "testsuites/testsuite")
        .collect();
    assert_eq!(suites.len(), 1, "{xml}");
    assert_eq!(suites[0].attrs["tests"], names.len().to_string());
    assert_eq!(suites[0].attrs["failures"], failed.len().to_string());
    assert!(suites[0].attrs.contains_key("timestamp"), "{xml}");
    let cases: Vec<&str> = els
        .iter()
        .filter(|e| e.path == "testsuites/testsuite/testcase")
        .map(|e| e.attrs["name"].as_str())
        .collect();
    assert_eq!(cases, names, "{xml}");
    let failures: Vec<&XmlElement> = els
        .iter()
        .filter(|e| e.path == "testsuites/testsuite/testcase/failure")
        .collect();
    assert_eq!(failures.len(), failed.len(), "{xml}");
    for (f, (_, cause)) in failures.iter().zip(failed) {
        assert!(
            f.attrs["message"].contains(cause),
            "{:?} lacks {cause}",
            f.attrs
        );
        assert!(
            f.text.contains("  why:\n"),
            "the body is the explanation: {}",
            f.text
        );
    }
    els
}

#[test]
fn junit_from_run_has_a_testcase_per_spec_and_the_cause_as_the_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = dir.path().join("junit.xml");
    let out = podcheck(&[
        "run",
        "-q",
        "--junit",
        xml.to_str().expect("utf8"),
        "specs/basics/onfailure-exit0-succeeds.toml",
        "specs/must-fail/wrong-final-phase.toml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&xml).expect("junit written");
    let els = check_junit(
        &text,
        &[
            "specs/basics/onfailure-exit0-succeeds.toml",
            "specs/must-fail/wrong-final-phase.toml",
        ],
        &[(
            "specs/must-fail/wrong-final-phase.toml",
            "app#0 exited 1 (Error)",
        )],
    );
    let failure = els
        .iter()
        .find(|e| e.path.ends_with("/failure"))
        .expect("failure");
    assert!(
        failure
            .text
            .contains("final.phase: expected Succeeded, observed Failed"),
        "{}",
        failure.text
    );
    assert!(
        els.iter()
            .any(|e| e.path == "testsuites/testsuite/testcase/system-out"
                && e.text.contains("log of app")),
        "{text}"
    );
}

#[test]
fn junit_from_the_suite_via_flag_and_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).expect("mkdir");
    let write = |name: &str, exit: u8| {
        let spec = format!(
            "[pod]\nrestartPolicy = \"Never\"\n\n[[pod.containers]]\nname = \"app\"\ncommand = [\"sh\", \"-c\", \"echo bye; exit {exit}\"]\n\n[expect.final]\nphase = \"Succeeded\"\n"
        );
        std::fs::write(specs.join(name), spec).expect("write spec");
    };
    write("good.toml", 0);
    write("bad.toml", 3);
    let flag = dir.path().join("flag.xml");
    let out = Command::new(BIN)
        .arg("test")
        .arg(&specs)
        .arg("--junit")
        .arg(&flag)
        .env_remove("PODCHECK_JUNIT")
        .output()
        .expect("podcheck test");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let failed = [("bad.toml", "app#0 exited 3 (Error)")];
    let text = std::fs::read_to_string(&flag).expect("junit written");
    let els = check_junit(&text, &["bad.toml", "good.toml"], &failed);
    assert!(
        els.iter()
            .any(|e| e.path.ends_with("/system-out") && e.text.contains("| bye")),
        "{text}"
    );
    // The harness reads PODCHECK_JUNIT (as `cargo test` with podcheck::harness::main does).
    let env = dir.path().join("env.xml");
    let out = Command::new(BIN)
        .arg("test")
        .arg(&specs)
        .env("PODCHECK_JUNIT", &env)
        .output()
        .expect("podcheck test");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = std::fs::read_to_string(&env).expect("junit written");
    check_junit(&text, &["bad.toml", "good.toml"], &failed);
}

/// The watch lines' STATUS is coloured only where it should be: never into a pipe under
/// `auto`, never with NO_COLOR (even when CLICOLOR_FORCE asks), always with `--color
/// always`; the other text never carries codes.
#[test]
fn watch_lines_are_plain_when_piped_and_coloured_only_on_request() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("run")
            .args(args)
            .arg("specs/basics/onfailure-exit0-succeeds.toml")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR")
            .env_remove("CLICOLOR_FORCE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    const ESC: char = '\u{1b}';
    // Output::stdout is a pipe: auto means plain.
    assert!(!run(&[], &[]).contains(ESC));
    assert!(!run(&["--color", "auto"], &[]).contains(ESC));
    assert!(!run(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]).contains(ESC));
    assert!(!run(&[], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]).contains(ESC));
    // Forcing colour through the environment works in auto mode, as anstream defines it.
    assert!(run(&[], &[("CLICOLOR_FORCE", "1")]).contains(ESC));
    let always = run(&["--color", "always"], &[("NO_COLOR", "1")]);
    assert!(
        always.contains("\u{1b}[33mPending\u{1b}[0m"),
        "STATUS is painted: {always}"
    );
    for line in always.lines().filter(|l| l.contains(ESC)) {
        assert!(
            line.starts_with("onfailure-exit0-succeeds "),
            "only watch rows carry codes: {line:?}"
        );
    }
}

/// The webapp Deployment's image mapped to the fixture app: a relative program path and a
/// quoted argument, as a user would type them.
fn webapp_image_arg() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = Path::new(FIXTURE);
    let prog = match fixture.strip_prefix(root) {
        Ok(rel) => format!("./{}", rel.display()),
        Err(_) => FIXTURE.to_owned(),
    };
    format!(
        "registry.example.com/shop/webapp:1.4.2={prog} --http 8080 --route /healthz=200@0s --route /ready=200@0s --print 'hello from the manifest'"
    )
}

/// Runs the web app manifest at a tenth of real time with `image` mapped.
fn run_webapp(image: &str) -> (Option<i32>, String, String) {
    let out = podcheck(&[
        "run",
        "fixtures/manifests/webapp.yaml",
        "--image",
        image,
        "--time-scale",
        "0.1",
    ]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_takes_a_deployment_manifest_with_an_image_map() {
    let image = webapp_image_arg();
    let (code, stdout, stderr) = run_webapp(&image);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    // The file has a Service in front of the Deployment: both replicas run behind it.
    assert!(
        stdout.contains("PASS") && stdout.contains("webapp.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Pod webapp-0:") && stdout.contains("Pod webapp-1:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Service webapp: endpoints by pod"),
        "{stdout}"
    );
    // The relative program path resolved, and the quoted argument did not split the
    // command: the app started and its readiness probe passed.
    assert!(stdout.contains("Ready:          True"), "{stdout}");
    // One note per field podcheck does not emulate, at the field's line and column.
    for (note, at) in [
        (
            "`allowPrivilegeEscalation` is a valid Kubernetes field that podcheck does not emulate",
            "webapp.yaml:76:11",
        ),
        (
            "`nodeSelector` is a valid Kubernetes field",
            "webapp.yaml:30:7",
        ),
        ("ConfigMap \"webapp-config\" runs no pod", "webapp.yaml:5:1"),
    ] {
        let i = stderr
            .find(note)
            .unwrap_or_else(|| panic!("no note {note:?}:\n{stderr}"));
        let after = &stderr[i..];
        assert!(after.contains(at), "{note:?} not at {at}:\n{stderr}");
        assert_eq!(
            stderr.matches(note).count(),
            2,
            "one note (title and label) for {note:?}"
        );
    }
    // A mapped image is pullable: no ErrImagePull warning, no pull failure.
    assert!(!stderr.contains("ErrImagePull"), "{stderr}");
    assert!(!stdout.contains("Failed to pull"), "{stdout}");
}

#[test]
fn a_manifest_fails_when_its_pods_are_not_what_their_controller_calls_success() {
    // The same Deployment whose readiness endpoint never passes: a rollout would never
    // finish, so the run fails and says why.
    let image = webapp_image_arg().replace("/ready=200@0s", "/ready=503@0s");
    let (code, stdout, stderr) = run_webapp(&image);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("pod webapp-0: final.conditions.Ready: expected true, observed false"),
        "{stdout}"
    );
    assert!(
        stderr.contains("expects it Ready at the end with no container restarted")
            && stderr.contains("webapp.yaml:11:1"),
        "the run says what it expects, at the Deployment:\n{stderr}"
    );
    // A Job's pod must succeed: one that exits 1 fails the run, one that exits 0 passes.
    let dir = tempfile::tempdir().expect("tmp");
    for (cmd, code) in [("false", 1), ("true", 0)] {
        let path = dir.path().join(format!("job-{cmd}.yaml"));
        std::fs::write(
            &path,
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox:1.36}]\n",
        )
        .expect("write");
        let map = format!("busybox:1.36={cmd}");
        let out = podcheck(&["run", &path.to_string_lossy(), "--image", &map]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{cmd}: {stdout}");
        if code == 1 {
            assert!(
                stdout.contains("final.phase: expected Succeeded, observed Failed"),
                "{stdout}"
            );
        }
    }
}

#[test]
fn a_manifest_with_a_service_runs_every_replica_behind_it() {
    // Readiness fails for the first 2 s, then passes: both replicas join the endpoints.
    let image = format!("example.com/web:1.0={FIXTURE} --http 8080 --route /ready=503@0s,200@2s");
    let out = podcheck(&[
        "run",
        "fixtures/manifests/services/web-behind-service.yaml",
        "--image",
        &image,
        "--time-scale",
        "0.1",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for pod in ["web-0", "web-1"] {
        assert!(stdout.contains(&format!("Pod {pod}:")), "{stdout}");
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(pod) && l.contains("not ready at"))
            .unwrap_or_else(|| panic!("no endpoint line for {pod}:\n{stdout}"));
        assert!(line.contains("→ ready at"), "{line}");
    }
    assert!(stdout.contains("Service web: endpoints by pod"), "{stdout}");
}

#[test]
fn an_image_no_container_uses_is_an_error_naming_the_images() {
    let out = podcheck(&[
        "run",
        "fixtures/manifests/webapp.yaml",
        "--image",
        "registry.example.com/shop/webap:1.4.2=true",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: --image registry.example.com/shop/webap:1.4.2: no container uses this image; the images are: registry.example.com/shop/webapp:1.4.2"),
        "{stderr}"
    );
    let unclosed = podcheck(&[
        "run",
        "fixtures/manifests/webapp.yaml",
        "--image",
        "a=sh -c 'echo",
    ]);
    assert_eq!(unclosed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unclosed.stderr).contains("close the quote"));
}

#[test]
fn bad_manifests_exit_2_with_located_errors() {
    for name in [
        "helm-template",
        "malformed",
        "bad-values",
        "wrong-type",
        "bad-containers",
    ] {
        let file = format!("fixtures/invalid/manifests/{name}.yaml");
        let out = podcheck(&["run", &file]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        snapshot(
            &format!("invalid-manifest-{name}"),
            &String::from_utf8_lossy(&out.stderr),
        );
    }
}

#[test]
fn run_and_test_refuse_a_workload_the_api_server_rejects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - {name: web, image: app:1}\n";
    std::fs::write(dir.path().join("deploy.yaml"), manifest).expect("write manifest");
    let spec = "manifest = \"deploy.yaml\"\n\n[images.\"app:1\"]\ncommand = [\"sleep\", \"1\"]\n";
    std::fs::write(dir.path().join("spec.toml"), spec).expect("write spec");
    for (cmd, path) in [
        ("run", dir.path().join("deploy.yaml")),
        ("run", dir.path().join("spec.toml")),
        ("test", dir.path().to_path_buf()),
    ] {
        let out = Command::new(BIN)
            .arg(cmd)
            .arg(&path)
            .output()
            .expect("podcheck");
        // `test` reports its failures on stdout, libtest style.
        let stderr = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ne!(
            out.status.code(),
            Some(0),
            "{cmd} {}: {stderr}",
            path.display()
        );
        assert!(
            stderr.contains("spec.selector: Required value") && stderr.contains("deploy.yaml:5:1"),
            "{cmd} {}: {stderr}",
            path.display()
        );
    }
}

#[test]
fn a_spec_with_a_manifest_reports_the_pods_errors_in_the_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: app:1\n    livenessProbe:\n      exec: {command: [\"true\"]}\n      successThreshold: 2\n";
    std::fs::write(dir.path().join("pod.yaml"), manifest).expect("write manifest");
    let spec = "manifest = \"pod.yaml\"\n\n[images.\"app:1\"]\ncommand = [\"sleep\", \"1\"]\n";
    let spec_path = dir.path().join("spec.toml");
    std::fs::write(&spec_path, spec).expect("write spec");
    let out = Command::new(BIN)
        .arg("run")
        .arg(&spec_path)
        .output()
        .expect("podcheck run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pod.yaml:11:7"), "{stderr}");
    assert!(
        stderr.contains("spec.containers[0].livenessProbe.successThreshold"),
        "{stderr}"
    );
    // Choosing an object the manifest does not have names the ones it has.
    std::fs::write(&spec_path, format!("object = \"Deployment/web\"\n{spec}")).expect("write");
    let out = Command::new(BIN)
        .arg("run")
        .arg(&spec_path)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the manifest's pods: Pod/web (document 1)"),
        "{stderr}"
    );
}

#[test]
fn test_and_the_harness_take_the_image_map() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = "[run]\nduration = \"3s\"\n\n[pod]\nrestartPolicy = \"Never\"\n\n[[pod.containers]]\nname = \"app\"\nimage = \"registry/app:1.2\"\n\n[expect.final]\nphase = \"Succeeded\"\n";
    std::fs::write(dir.path().join("mapped.toml"), spec).expect("write spec");
    let run = |flag: Option<&str>, env: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.arg("test")
            .arg(dir.path())
            .env_remove("PODCHECK_IMAGES");
        if let Some(f) = flag {
            cmd.args(["--image", f]);
        }
        if let Some(e) = env {
            cmd.env("PODCHECK_IMAGES", e);
        }
        cmd.output().expect("podcheck test")
    };
    // Unmapped, the image cannot be pulled and the pod never succeeds.
    let out = run(None, None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = run(Some("registry/app:1.2=sh -c 'exit 0'"), None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = run(None, Some("other:1=false\nregistry/app:1.2=sh -c 'exit 0'"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Runs `podcheck lint` with `args`, returning (exit code, stdout, stderr).
fn lint(args: &[&str]) -> (Option<i32>, String, String) {
    let out = podcheck(&[&["lint"], args].concat());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lint_finds_no_warning_in_realistic_manifests() {
    for dir in ["fixtures/manifests/realistic", "fixtures/manifests"] {
        let (code, _, err) = lint(&[dir, "--fail-on", "warning"]);
        assert_eq!(code, Some(0), "{dir}:\n{err}");
        assert!(
            err.contains(" 0 errors, 0 warnings")
                || err.starts_with("0 errors, 0 warnings")
                || err.contains("\n0 errors, 0 warnings"),
            "{err}"
        );
    }
}

#[test]
fn lint_reports_every_finding_of_a_manifest_rustc_style() {
    let (code, out, err) = lint(&["fixtures/lint/bad-deployment.yaml"]);
    assert_eq!(code, Some(1), "errors fail lint by default");
    assert!(out.is_empty(), "human output goes to stderr");
    snapshot("lint-bad-deployment", &err);
}

#[test]
fn lint_reports_the_api_servers_workload_validation() {
    let (code, out, err) = lint(&["fixtures/lint/bad-workloads.yaml"]);
    assert_eq!(code, Some(1), "rejected workloads fail lint");
    assert!(out.is_empty(), "human output goes to stderr");
    snapshot("lint-bad-workloads", &err);
}

#[test]
fn lint_reports_api_validation_errors_as_checks_not_unreadable_input() {
    // Exit 2 is for files that cannot be read or parsed; a manifest the API server would
    // reject is read fine and fails with its findings (1).
    let (code, _, err) = lint(&["fixtures/lint/projected-volume.yaml"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(!err.contains("invalid-input"), "{err}");
    assert!(
        err.contains("error[api-validation]: spec.volumes[0].projected: Invalid value: \"x\": conflicting duplicate paths")
            && err.contains("projected-volume.yaml:17:5"),
        "{err}"
    );
    assert!(
        err.contains("serviceAccountToken.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"),
        "{err}"
    );
}

#[test]
fn lint_fail_on_and_ignore_decide_the_exit_code() {
    let bad = "fixtures/lint/bad-deployment.yaml";
    assert_eq!(lint(&[bad, "--fail-on", "never"]).0, Some(0));
    let (code, _, err) = lint(&[
        bad,
        "--ignore",
        "yaml11-boolean",
        "--ignore",
        "probe-success-threshold",
    ]);
    assert_eq!(code, Some(0), "only warnings are left: {err}");
    assert!(
        !err.contains("yaml11-boolean") && err.contains("0 errors, 4 warnings in 1 file"),
        "{err}"
    );
    let (code, _, _) = lint(&[
        bad,
        "--ignore",
        "yaml11-boolean",
        "--ignore",
        "probe-success-threshold",
        "--fail-on",
        "warning",
    ]);
    assert_eq!(code, Some(1));
    let (_, _, err) = lint(&[
        "fixtures/manifests/realistic/pi-job.yaml",
        "--ignore",
        "no-such-id",
    ]);
    assert!(
        err.contains("warning[unknown-ignore-id]: --ignore no-such-id"),
        "{err}"
    );
}

#[test]
fn lint_annotations_silence_checks_per_object() {
    let (code, _, err) = lint(&["fixtures/lint/annotated.yaml", "--fail-on", "note"]);
    assert_eq!(code, Some(1), "the unknown id is a warning: {err}");
    assert!(
        !err.contains("[readiness-probe-missing]") && !err.contains("[liveness-probe-missing]"),
        "{err}"
    );
    assert!(
        err.contains("warning[unknown-ignore-id]") && err.contains("\"no-such-check\""),
        "{err}"
    );
}

#[test]
fn lint_exits_2_on_input_it_cannot_parse() {
    let (code, _, err) = lint(&["fixtures/lint/broken.yaml", "fixtures/manifests/realistic"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("error[invalid-input]") && err.contains("broken.yaml:6:15"),
        "{err}"
    );
    assert!(
        err.contains("in 9 files"),
        "the other files are still linted: {err}"
    );
    assert_eq!(lint(&["fixtures/invalid/not-toml.toml"]).0, Some(2));
    let (_, _, err) = lint(&[
        "fixtures/manifests/realistic",
        "fixtures/manifests/realistic/pi-job.yaml",
    ]);
    assert!(
        err.contains("in 8 files"),
        "a file named twice is linted once: {err}"
    );
}

#[test]
fn lint_output_with_the_human_format_is_refused_not_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lint.json");
    let path = file.to_str().expect("utf8");
    let (code, _, err) = lint(&["fixtures/lint/bad-deployment.yaml", "--output", path]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("give --format json, sarif or junit"), "{err}");
    assert!(!file.exists());
}

#[test]
fn lint_sarif_is_what_code_scanning_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lint.sarif");
    let file_arg = file.display().to_string();
    let (code, out, _) = lint(&[
        "fixtures/lint/bad-deployment.yaml",
        "--format",
        "sarif",
        "--output",
        &file_arg,
    ]);
    assert_eq!(code, Some(1));
    assert!(out.is_empty(), "--output takes the document");
    let text = std::fs::read_to_string(&file).expect("sarif written");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert!(
        ids.contains(&"probe-identical") && ids.contains(&"yaml11-boolean"),
        "{ids:?}"
    );
    assert!(
        rules
            .iter()
            .all(|r| r["help"]["text"].as_str().is_some_and(|t| !t.is_empty()))
    );
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 6);
    for r in results {
        let id = r["ruleId"].as_str().expect("ruleId");
        assert!(ids.contains(&id));
        assert_eq!(
            rules[r["ruleIndex"].as_u64().expect("ruleIndex") as usize]["id"],
            id
        );
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().expect("level")));
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(
            loc["artifactLocation"]["uri"],
            "fixtures/lint/bad-deployment.yaml"
        );
        assert!(loc["region"]["startLine"].as_u64().is_some_and(|l| l >= 1));
        assert!(
            loc["region"]["startColumn"]
                .as_u64()
                .is_some_and(|c| c >= 1)
        );
    }
    let boolean = results
        .iter()
        .find(|r| r["ruleId"] == "yaml11-boolean")
        .expect("yaml11");
    assert_eq!(
        boolean["locations"][0]["physicalLocation"]["region"]["startLine"],
        22
    );
    assert_eq!(
        boolean["locations"][0]["physicalLocation"]["region"]["startColumn"],
        22
    );
}

#[test]
fn lint_json_lists_findings_with_their_fields() {
    let (code, out, err) = lint(&["fixtures/lint/bad-deployment.yaml", "--format", "json"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("2 errors, 4 warnings in 1 file"),
        "the summary stays on stderr: {err}"
    );
    let doc: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let f = &doc["findings"][0];
    for key in [
        "id", "severity", "file", "line", "column", "field", "message", "fix",
    ] {
        assert!(!f[key].is_null(), "{key} in {f}");
    }
    assert_eq!(doc["errors"], 2);
}

#[test]
fn lint_junit_has_one_testcase_per_file() {
    let (code, out, _) = lint(&[
        "fixtures/lint/bad-deployment.yaml",
        "fixtures/manifests/realistic",
        "--format",
        "junit",
    ]);
    assert_eq!(code, Some(1));
    let xml = parse_xml(&out);
    let cases: Vec<_> = xml
        .iter()
        .filter(|e| e.path == "testsuites/testsuite/testcase")
        .collect();
    assert_eq!(cases.len(), 9, "one per file");
    let failures: Vec<_> = xml
        .iter()
        .filter(|e| e.path == "testsuites/testsuite/testcase/failure")
        .collect();
    assert_eq!(failures.len(), 1, "only the bad file fails");
    assert!(
        failures[0].text.contains("error[yaml11-boolean]"),
        "{}",
        failures[0].text
    );
    assert!(cases.iter().any(|c| {
        c.attrs
            .get("name")
            .is_some_and(|n| n.ends_with("bad-deployment.yaml"))
    }));
}

#[test]
fn lint_measure_skips_pods_a_cluster_would_reject() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  restartPolicy: always\n  containers: [{name: c, image: 'app:1'}]\n",
    )
    .expect("write");
    let (code, out, err) = lint(&[
        &path.to_string_lossy(),
        "--measure",
        "1",
        "--image",
        "app:1=true",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("Unsupported value: \"always\""), "{err}");
    assert!(
        err.contains("--measure skipped: fix the errors above first"),
        "{err}"
    );
    assert!(out.is_empty(), "nothing was measured: {out}");
}

#[test]
fn lint_measure_runs_the_pod_and_patches_a_short_startup_window() {
    // The app answers /healthz after 3 s; the startup probe allows 5 s, less than twice that.
    let image = format!(
        "registry.example.com/slow:1.0={FIXTURE} --http 18391 --route /healthz=503@0s,200@3s"
    );
    let (code, out, err) = lint(&[
        "fixtures/lint/slow-start.yaml",
        "--measure",
        "2",
        "--image",
        &image,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("# Deployment/slow: measured"), "{out}");
    assert!(
        out.contains("(2 runs, budgets checked at 2 × p95)"),
        "{out}"
    );
    let patch: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        patch[..5],
        [
            "spec:",
            "  template:",
            "    spec:",
            "      containers:",
            "      - name: slow"
        ],
        "{out}"
    );
    assert_eq!(patch[5], "        startupProbe:", "{out}");
    let threshold: i64 = patch[6]
        .trim()
        .strip_prefix("failureThreshold: ")
        .and_then(|v| v.parse().ok())
        .expect("a failureThreshold line");
    // Twice a 3-4 s start at 1 s a probe, with room for a loaded machine.
    assert!((6..=40).contains(&threshold), "{out}");
}

#[test]
fn lint_takes_folders_of_specs() {
    let (code, _, err) = lint(&["specs/volumes", "--fail-on", "never"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("warning[podcheck-extension]"), "{err}");
    let files: usize = err
        .lines()
        .last()
        .and_then(|l| l.rsplit(" in ").next())
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(files > 1, "{err}");
    let (code, _, err) = lint(&["fixtures/lint/slow-start.yaml", "--measure", "1"]);
    assert_eq!(code, Some(3), "an unmapped image cannot be measured: {err}");
    assert!(err.contains("is not mapped to a local command"), "{err}");
}

#[test]
fn several_pods_show_their_names_in_watch_lines_and_json_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("p.jsonl");
    let out = podcheck(&[
        "run",
        "--json",
        json.to_str().expect("utf8"),
        "specs/pods/replicas-start-and-delete.toml",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for name in ["web-0", "web-1", "late"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(name) && l.contains("Running")),
            "{stdout}"
        );
        assert!(stdout.contains(&format!("Pod {name}:")), "{stdout}");
    }
    let text = std::fs::read_to_string(&json).expect("json written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid json"))
        .collect();
    let scheduled: Vec<(&str, f64)> = lines
        .iter()
        .filter(|v| v["kind"] == "event" && v["reason"] == "Scheduled")
        .map(|v| {
            (
                v["pod"].as_str().unwrap_or(""),
                v["at"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(scheduled.len(), 3, "{scheduled:?}");
    // One clock: the late pod is created at its start_at, the replicas at once. The spec
    // runs at time scale 0.1, so a spec second is 100 ms of real time, about what starting
    // a pod's sandbox can take on a loaded machine: "at once" is well before the late pod.
    for (pod, at) in scheduled {
        match pod {
            "late" => assert!((4.0..5.0).contains(&at), "{pod} {at}"),
            "web-0" | "web-1" => assert!(at < 2.0, "{pod} {at}"),
            other => panic!("unexpected pod {other:?}"),
        }
    }
    assert!(
        lines
            .iter()
            .filter(|v| v["kind"] != "verdict")
            .all(|v| v["pod"].is_string())
    );
}

/// A spec of several pods of the leaky fixture: two at once, one `start_at` later.
fn leaky_pods_spec(dir: &Path, mark: &str, run: &str, expect: &str) -> PathBuf {
    let fixture_dir = Path::new(FIXTURE)
        .parent()
        .expect("fixture dir")
        .display()
        .to_string();
    let pod = |name: &str, extra: &str| {
        format!(
            r#"
[pods.{name}]
restartPolicy = "Never"
terminationGracePeriodSeconds = 2
{extra}

[[pods.{name}.containers]]
name = "app"
command = ["{fixture_dir}/podcheck-fixture", "--spawn-child", "10m", "--spawn-daemon", "10m", "--on-sigterm", "ignore"]
env = [{{ name = "LEAK_MARK", value = "{mark}" }}]
"#
        )
    };
    let spec = format!(
        "[run]\n{run}\n{}{}{}\n{expect}\n",
        pod("a", "replicas = 2"),
        pod("b", ""),
        pod("later", "start_at = \"60s\""),
    );
    let path = dir.join("leaky-pods.toml");
    std::fs::write(&path, spec).expect("write spec");
    path
}

#[test]
fn nothing_of_several_pods_survives_an_early_end_or_a_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mark = unique_mark("pods-decided");
    // Decided as soon as every running pod started; `later` is never created.
    let started = "[[expect.events]]\npod = \"a-0\"\nreason = \"Started\"\n[[expect.events]]\npod = \"a-1\"\nreason = \"Started\"\n[[expect.events]]\npod = \"b\"\nreason = \"Started\"\n";
    let spec = leaky_pods_spec(dir.path(), &mark, "", started);
    let out = Command::new(BIN)
        .args(["run", "-q"])
        .arg(&spec)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("expectations decided"), "{stdout}");
    assert_eq!(survivors(&mark, dir.path()), Vec::<i32>::new());

    let mark = unique_mark("pods-timeout");
    let never = "[[expect.events]]\npod = \"b\"\nreason = \"NeverHappens\"\n";
    let spec = leaky_pods_spec(dir.path(), &mark, "timeout = \"2s\"", never);
    let out = Command::new(BIN)
        .args(["run", "-q"])
        .arg(&spec)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("timed out"), "{stdout}");
    assert_eq!(survivors(&mark, dir.path()), Vec::<i32>::new());
}

/// The trial names `podcheck test specs/ … -- --list` prints (no spec runs).
fn listed_specs(extra: &[&str], env: Option<(&str, &str)>, filter: &[&str]) -> Vec<String> {
    let mut cmd = Command::new(BIN);
    cmd.arg("test")
        .arg("specs/")
        .args(extra)
        .args(["--", "--list"])
        .args(filter)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("PODCHECK_PARTITION");
    if let Some((k, v)) = env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("podcheck runs");
    assert!(out.status.success(), "{extra:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(|l| l.split_once("] ").map_or(l, |(_, n)| n).to_owned())
        .collect()
}

#[test]
fn partitions_of_the_suite_are_disjoint_and_cover_it() {
    let all = listed_specs(&[], None, &[]);
    assert!(all.len() > 8, "the suite lists its specs: {all:?}");
    for kind in ["count", "hash"] {
        for n in 1..=4usize {
            let mut seen: Vec<String> = Vec::new();
            let mut sizes = Vec::new();
            for k in 1..=n {
                let arg = format!("{kind}:{k}/{n}");
                // The environment variable is the same option (CI matrices often set it).
                let part = if k % 2 == 0 {
                    listed_specs(&[], Some(("PODCHECK_PARTITION", &arg)), &[])
                } else {
                    listed_specs(&["--partition", &arg], None, &[])
                };
                for name in &part {
                    assert!(!seen.contains(name), "{name} is in two partitions of {n}");
                }
                sizes.push(part.len());
                seen.extend(part);
            }
            seen.sort();
            let mut expected = all.clone();
            expected.sort();
            assert_eq!(seen, expected, "{kind}: the {n} partitions cover the suite");
            if kind == "count" {
                let (lo, hi) = (sizes.iter().min(), sizes.iter().max());
                assert!(
                    hi.zip(lo).is_some_and(|(h, l)| h - l <= 1),
                    "count partitions are round-robin: {sizes:?}"
                );
            }
        }
    }
    // Count partitioning happens after the name filter, as in nextest.
    let probes = listed_specs(&["--partition", "count:1/2"], None, &["probes/"]);
    let all_probes = all.iter().filter(|n| n.contains("probes/")).count();
    assert_eq!(probes.len(), all_probes.div_ceil(2), "{probes:?}");
    let bad = podcheck(&["test", "specs/", "--partition", "count:3/2", "--", "--list"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("between 1 and the total 2"),
        "{bad:?}"
    );
}

#[test]
fn many_pods_run_under_a_low_soft_open_file_limit() {
    // 30 pods need more than 64 descriptors; the runner raises its soft limit to the hard
    // one, as the kubelet and containerd do, instead of failing with EMFILE.
    let dir = tempfile::tempdir().expect("tmp");
    let spec = dir.path().join("many.toml");
    std::fs::write(
        &spec,
        "[run]\nduration = \"3s\"\n[pods.web]\nreplicas = 30\n[[pods.web.containers]]\nname = \"c\"\ncommand = [\"sleep\", \"30\"]\nreadinessProbe = { exec = { command = [\"true\"] }, periodSeconds = 1 }\n[[expect.final]]\npod = \"web-29\"\nconditions.Ready = true\n",
    )
    .expect("write");
    let mut cmd = Command::new(BIN);
    cmd.args(["run", &spec.to_string_lossy()]);
    // SAFETY: only getrlimit/setrlimit between fork and exec, on a stack struct.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            let mut r = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_max > 64 {
                r.rlim_cur = 64;
                libc::setrlimit(libc::RLIMIT_NOFILE, &r);
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("podcheck runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stderr.contains("Too many open files"), "{stderr}");
}

#[test]
fn programs_and_files_under_tmp_that_a_container_names_stay_visible_under_its_own_tmp() {
    // Each container's /tmp is its own; what its command and probes name of the machine's
    // /tmp (a script, the file a probe reads) is kept in view, and what it writes there
    // stays its own.
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("podcheck-visible-")
        .tempdir_in("/tmp")
        .expect("a directory under /tmp");
    let script = dir.path().join("app.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho started\ntouch /tmp/podcheck-written-inside\nexec sleep 600\n",
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let flag = dir.path().join("flag");
    std::fs::write(&flag, "ok").expect("flag");
    let spec = dir.path().join("s.toml");
    std::fs::write(
        &spec,
        format!(
            "[run]\nrequires = [\"mount-namespaces\"]\nduration = \"3s\"\n[[pod.containers]]\nname = \"app\"\ncommand = [{:?}]\nreadinessProbe = {{ exec = {{ command = [\"cat\", {:?}] }}, periodSeconds = 1 }}\n[expect.final]\ncontainers.app = {{ state = \"running\", ready = true }}\n",
            script.display().to_string(),
            flag.display().to_string()
        ),
    )
    .expect("spec");
    let out = podcheck(&["run", "-q", &spec.display().to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        eprintln!("skipped: {}", err.trim_end());
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{err}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !Path::new("/tmp/podcheck-written-inside").exists(),
        "what the container wrote to its /tmp reached the machine's"
    );
}
