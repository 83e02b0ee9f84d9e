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
