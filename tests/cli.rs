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

/// Compares with `tests/snapshots/NAME.txt`; `UPDATE_SNAPSHOTS=1` rewrites it.
fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {} (run with UPDATE_SNAPSHOTS=1)",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "snapshot {name} differs (UPDATE_SNAPSHOTS=1 to accept)"
    );
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
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cannot read the spec file") && text.contains("no-such-spec.toml"),
        "{text}"
    );
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
            .any(|v| v["kind"] == "status" && v["status"]["phase"] == "Failed")
    );
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
    let dir = tempfile::tempdir().expect("tempdir");
    let mark = unique_mark(label);
    let spec = leaky_spec(
        dir.path(),
        &mark,
        &format!("timeout = \"60s\"\n{extra}"),
        NEVER,
    );
    let child = Command::new(BIN)
        .args(["run", "-q"])
        .arg(&spec)
        .spawn()
        .expect("run");
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
    assert_eq!(status.code(), Some(1), "an interrupted run reports failure");
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
            let mut ignore = |_: &podcheck::events::Entry| {};
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
    snapshot("lint-extensions", &String::from_utf8_lossy(&out.stdout));
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
        cmd.arg("test")
            .arg(dir.path())
            .env_remove("PODCHECK_TIME_SCALE");
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
    assert!(stderr.contains("--time-scale 0"), "{stderr}");
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

#[test]
fn run_takes_a_deployment_manifest_with_an_image_map() {
    let image = webapp_image_arg();
    let out = podcheck(&[
        "run",
        "fixtures/manifests/webapp.yaml",
        "--image",
        &image,
        "--time-scale",
        "0.1",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("PASS") && stdout.contains("Deployment/webapp"),
        "{stdout}"
    );
    // The relative program path resolved, and the quoted argument did not split the
    // command: the app started and its readiness probe passed.
    assert!(stdout.contains("Ready:          True"), "{stdout}");
    // One note per field podcheck does not emulate, at the field's line and column.
    for (note, at) in [
        (
            "replicas: 2: podcheck runs one pod of this Deployment",
            "webapp.yaml:19:3",
        ),
        (
            "`securityContext` is a valid Kubernetes field that podcheck does not emulate",
            "webapp.yaml:75:9",
        ),
        (
            "`nodeSelector` is a valid Kubernetes field",
            "webapp.yaml:30:7",
        ),
        ("ConfigMap \"webapp-config\" is skipped", "webapp.yaml:5:1"),
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
    for name in ["helm-template", "malformed", "bad-values", "wrong-type"] {
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
