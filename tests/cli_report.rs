//! The report-side commands end to end: `podcheck bless`, the live view (progress line,
//! `-v` probe lines, `RUST_LOG` tracing), the isolation hint, and the README's examples
//! of shipped files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");

fn podcheck_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("podcheck runs")
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A copy of a shipped spec with its expectations cut off (everything from the first
/// `[[expect.` or `[expect` table on), in a fresh temp dir.
fn without_expectations(spec: &str) -> (tempfile::TempDir, PathBuf, String) {
    let src = std::fs::read_to_string(repo().join(spec)).expect("read spec");
    let cut = src
        .find("\n[[expect.")
        .or_else(|| src.find("\n[expect"))
        .expect("spec has expectations");
    let head = format!("{}\n", src[..cut].trim_end());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir
        .path()
        .join(Path::new(spec).file_name().expect("file name"));
    std::fs::write(&path, &head).expect("write spec");
    (dir, path, head)
}

fn bless_then_run_twice(spec: &str) {
    let (_dir, path, head) = without_expectations(spec);
    let p = path.to_str().expect("utf-8 path");
    let out = podcheck_in(repo(), &["bless", p]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("blessed "),
        "{}",
        text(&out.stdout)
    );
    let blessed = std::fs::read_to_string(&path).expect("read blessed");
    // The file's own text (comments, layout) is still there, byte for byte, in front.
    assert!(
        blessed.starts_with(&head),
        "comments and layout kept:\n{blessed}"
    );
    assert!(blessed.contains("[[expect.events]] # blessed"), "{blessed}");
    assert!(blessed.contains("[expect.final] # blessed"), "{blessed}");
    assert!(
        blessed.contains(" at = \"") || blessed.contains("\nat = \""),
        "events carry windows:\n{blessed}"
    );
    // The blessed spec passes, and not only on the run it came from.
    for attempt in 1..=2 {
        let out = podcheck_in(repo(), &["run", "-q", p]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "run {attempt} of the blessed spec:\n{blessed}\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    // Blessing again replaces what bless wrote: one reviewer comment, the same items.
    let out = podcheck_in(repo(), &["bless", "--dry-run", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let again = text(&out.stdout);
    assert_eq!(
        again.matches("Observed by `podcheck bless`").count(),
        1,
        "{again}"
    );
    assert_eq!(
        again.matches("# blessed").count(),
        blessed.matches("# blessed").count(),
        "{again}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        blessed,
        "--dry-run writes nothing"
    );
}

#[test]
fn bless_writes_a_probe_specs_lifecycle_that_passes_on_later_runs() {
    bless_then_run_twice("specs/probes/liveness-http-restarts.toml");
}

#[test]
fn bless_writes_a_compressed_crash_loop_that_passes_on_later_runs() {
    bless_then_run_twice("examples/crashloop.toml");
}

#[test]
fn bless_keeps_hand_written_expectations_and_diff_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("done.toml");
    let spec = "# hand-written\nname = \"completes\"\n\n[pod]\nrestartPolicy = \"Never\"\n\n[[pod.containers]]\nname = \"app\"\ncommand = [\"sh\", \"-c\", \"echo hi\"]\n\n# my own\n[[expect.events]]\nreason = \"Started\"\ncontainer = \"app\"\n";
    std::fs::write(&path, spec).expect("write");
    let p = path.to_str().expect("utf-8");
    let out = podcheck_in(repo(), &["bless", "--diff", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(diff.starts_with("--- "), "{diff}");
    assert!(diff.contains("+[expect.final] # blessed"), "{diff}");
    assert!(diff.contains("+phase = \"Succeeded\""), "{diff}");
    assert!(
        !diff.contains("-reason = \"Started\""),
        "hand-written events stay: {diff}"
    );
    assert!(
        text(&out.stderr).contains("kept the hand-written events"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        spec,
        "--diff writes nothing"
    );
    let out = podcheck_in(repo(), &["bless", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let blessed = std::fs::read_to_string(&path).expect("read");
    assert!(
        blessed.contains("# my own\n[[expect.events]]\nreason = \"Started\""),
        "{blessed}"
    );
    // A finished pod: its final state is written in full.
    assert!(blessed.contains("exitCode = 0"), "{blessed}");
    let out = podcheck_in(repo(), &["run", "-q", p]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{blessed}\n{}",
        text(&out.stdout)
    );
}

#[test]
fn bless_refuses_a_run_that_only_ends_at_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("forever.toml");
    let spec = "name = \"runs forever\"\n\n[run]\ntimeout = \"1s\"\n\n[[pod.containers]]\nname = \"app\"\ncommand = [\"sleep\", \"30\"]\n";
    std::fs::write(&path, spec).expect("write");
    let out = podcheck_in(repo(), &["bless", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("set run.duration"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), spec);
}

#[test]
fn run_v_adds_a_line_per_probe_attempt() {
    let spec = "specs/probes/liveness-http-restarts.toml";
    let out = podcheck_in(repo(), &["run", "-v", spec]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let probes: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("  probe "))
        .collect();
    // periodSeconds 1 for 7 s: several attempts, the failing ones with the prober's output.
    assert!(probes.len() >= 4, "{stdout}");
    assert!(
        probes
            .iter()
            .any(|l| l.contains(" app#0 liveness httpGet success (")),
        "{stdout}"
    );
    assert!(
        probes
            .iter()
            .any(|l| l.contains(" app#0 liveness httpGet failure (")
                && l.ends_with("): HTTP probe failed with statuscode: 500")),
        "{stdout}"
    );
    // The restarted instance's attempts name it.
    assert!(probes.iter().any(|l| l.contains(" app#1 ")), "{stdout}");
    let plain = podcheck_in(repo(), &["run", spec]);
    assert!(
        !text(&plain.stdout)
            .lines()
            .any(|l| l.starts_with("  probe ")),
        "probe lines only with -v"
    );
}

#[test]
fn several_specs_into_a_pipe_print_plain_watch_lines_and_no_progress_codes() {
    let out = podcheck_in(
        repo(),
        &[
            "run",
            "specs/basics/single-container-completes.toml",
            "specs/basics/onfailure-exit0-succeeds.toml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for (name, s) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(!s.contains(&0x1b), "{name} has escape codes: {:?}", text(s));
    }
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("==> specs/basics/").count(), 2, "{stdout}");
    assert!(!stdout.contains("done"), "no progress text: {stdout}");
}

#[test]
fn several_specs_on_a_terminal_show_one_progress_line_instead_of_watch_lines() {
    // util-linux `script` gives the run a pseudo-terminal: the only way to be a TTY here.
    let Ok(script) = which("script") else {
        eprintln!("skipping: `script` (util-linux) is not installed, so no pseudo-terminal");
        return;
    };
    let cmd = format!(
        "{BIN} run specs/basics/single-container-completes.toml specs/must-fail/wrong-final-phase.toml"
    );
    let out = Command::new(script)
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(repo())
        .env_remove("RUST_LOG")
        .output()
        .expect("script runs");
    let all = text(&out.stdout);
    assert!(all.contains("2/2 done"), "{all:?}");
    assert!(all.contains("1 failed"), "{all:?}");
    assert!(
        all.contains("PASS specs/basics/single-container-completes.toml"),
        "{all:?}"
    );
    assert!(
        all.contains("FAIL specs/must-fail/wrong-final-phase.toml"),
        "{all:?}"
    );
    assert!(
        !all.contains("==> "),
        "no watch lines under the progress line: {all:?}"
    );
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

#[test]
fn rust_log_and_vv_show_what_the_runner_does_on_stderr() {
    let spec = "specs/basics/single-container-completes.toml";
    let out = Command::new(BIN)
        .args(["run", "-q", spec])
        .current_dir(repo())
        .env("RUST_LOG", "podcheck=info")
        .output()
        .expect("podcheck runs");
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("pod admitted"), "{stderr}");
    assert!(stderr.contains("execution=\"start\""), "{stderr}");
    assert!(stderr.contains("teardown"), "{stderr}");
    assert!(stderr.contains("run ended"), "{stderr}");
    assert!(!stderr.contains("DEBUG"), "info filter: {stderr}");
    assert!(
        !text(&out.stdout).contains("pod admitted"),
        "tracing goes to stderr"
    );
    let out = podcheck_in(repo(), &["run", "-vv", spec]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("DEBUG") && stderr.contains("reason=Started"),
        "{stderr}"
    );
    let quiet = podcheck_in(repo(), &["run", spec]);
    assert!(
        !text(&quiet.stderr).contains("pod admitted"),
        "nothing without RUST_LOG"
    );
}

#[test]
fn a_refused_probe_with_a_host_listener_on_that_port_gets_the_isolation_hint() {
    if let Err(e) = podcheck::runtime::isolation::pod_mode_available() {
        eprintln!("skipped: pod isolation (network namespaces) unavailable here: {e}");
        return;
    }
    // A listener on the host's loopback: the pod's own loopback does not have it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("host-server.toml");
    let spec = format!(
        "name = \"the server runs on the host\"\n\n[run]\nduration = \"4s\"\n\n[[pod.containers]]\nname = \"app\"\ncommand = [\"sleep\", \"30\"]\nreadinessProbe = {{ tcpSocket = {{ port = {port} }}, periodSeconds = 1 }}\n\n[expect.final]\nconditions.Ready = true\n"
    );
    std::fs::write(&path, spec).expect("write");
    let p = path.to_str().expect("utf-8");
    let out = podcheck_in(repo(), &["run", "-q", "--isolation", "pod", p]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let why = stdout.split("expectations:").next().unwrap_or_default();
    assert!(
        why.contains(&format!(
            "connection refused\" on 127.0.0.1:{port} inside the pod"
        )) && why.contains("its own network namespace")
            && why.contains("--isolation none"),
        "{stdout}"
    );
    // Sharing the host's loopback, the same spec passes.
    let out = podcheck_in(repo(), &["run", "-q", "--isolation", "none", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // Without a host listener there is no hint.
    drop(listener);
    let out = podcheck_in(repo(), &["run", "-q", "--isolation", "pod", p]);
    assert!(
        !text(&out.stdout).contains("own network namespace"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn describe_shows_container_state_times_as_dates_and_spec_time() {
    let out = podcheck_in(
        repo(),
        &["run", "specs/basics/onfailure-restarts-nonzero.toml"],
    );
    let stdout = text(&out.stdout);
    let start = stdout.find("Containers:\n").expect("a describe block");
    let end = stdout[start..]
        .find("Conditions:")
        .map_or(stdout.len(), |i| start + i);
    let block = &stdout[start..end];
    // The date is the run's: today's year, in kubectl's RFC 1123 form.
    let date =
        regex::Regex::new(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000")
            .expect("regex");
    assert!(date.is_match(block), "{block}");
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    settings.add_filter(date.as_str(), "[DATE]");
    settings.add_filter(r"\b\d+(\.\d+)?(ms|s)\b", "[T]");
    settings.bind(|| insta::assert_snapshot!("describe-containers-dates", block));
}

/// Of two pods, one breaks a `never` at once: the run stops soon after for both, well before
/// run.duration, and the JSON verdict says which item failed for good and which were left
/// not checked (the other pod's final state among them).
#[test]
fn one_pod_failing_for_good_stops_a_run_of_several_with_what_it_left_unjudged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("early.toml");
    std::fs::write(
        &spec,
        r#"[run]
duration = "60s"
time_scale = 0.5

[pods.bad]
restartPolicy = "Never"
[[pods.bad.containers]]
name = "app"
command = ["sh", "-c", "exit 3"]

[pods.good]
[[pods.good.containers]]
name = "app"
command = ["sleep", "600"]

[[expect.never]]
pod = "bad"
reason = "Started"

[[expect.final]]
pod = "good"
phase = "Running"
"#,
    )
    .expect("write spec");
    let json = dir.path().join("t.jsonl");
    let out = podcheck_in(
        dir.path(),
        &[
            "run",
            "-q",
            "--json",
            json.to_str().expect("utf8"),
            "early.toml",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let verdict: serde_json::Value = std::fs::read_to_string(&json)
        .expect("json written")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["kind"] == "verdict")
        .expect("a verdict record");
    assert_eq!(verdict["end"], "decided", "{verdict}");
    // Failed at once (the start), then the tail of at least 1 s: far from the 60 s.
    let at = verdict["at"].as_f64().unwrap_or(f64::MAX);
    assert!((1.0..20.0).contains(&at), "stopped at {at}: {verdict}");
    assert_eq!(verdict["stoppedEarly"]["failed"], "pod bad: never[0]");
    assert!(
        verdict["stoppedEarly"]["failedAt"].as_f64().is_some(),
        "{verdict}"
    );
    assert_eq!(
        verdict["stoppedEarly"]["notJudged"],
        serde_json::json!(["pod good: final"])
    );
    let outcomes: Vec<(String, String)> = verdict["expectations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["key"].to_string(), e["outcome"].to_string()))
        .collect();
    assert!(
        outcomes.contains(&("\"pod good: final\"".into(), "\"notChecked\"".into())),
        "{outcomes:?}"
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("after pod bad: never[0] failed for good at"),
        "{stdout}"
    );
}
