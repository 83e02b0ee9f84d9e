//! Running podcheck as an ordinary user (`nobody`, through `runuser`) when the tests run as
//! root: shared by the conformance target (the whole suite as `nobody`, one trial beside
//! the others) and `tests/unprivileged.rs`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_podcheck");
const FIXTURE: &str = env!("CARGO_BIN_EXE_podcheck-fixture");
pub const USER: &str = "nobody";

/// Where the ordinary user runs podcheck from: the build itself when the user can reach
/// it, else a world-readable copy of the binaries and specs (a checkout under a private
/// home directory, say), so the check never depends on where CI cloned the repository.
pub struct Unprivileged {
    bin: PathBuf,
    root: PathBuf,
    _stage: Option<tempfile::TempDir>,
}

/// The place to run from, or why these checks cannot run here.
fn unprivileged() -> Result<Unprivileged, String> {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return Err("the test suite already runs as a non-root user".into());
    }
    let reachable = |bin: &Path| {
        Command::new("runuser")
            .args(["-u", USER, "--"])
            .arg(bin)
            .arg("--version")
            .output()
            .map_err(|e| format!("runuser is not available: {e}"))
            .map(|o| o.status.success())
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let specs_readable = Command::new("runuser")
        .args(["-u", USER, "--", "test", "-r"])
        .arg(root.join("specs/basics"))
        .status()
        .is_ok_and(|s| s.success());
    if reachable(Path::new(BIN))? && specs_readable {
        return Ok(Unprivileged {
            bin: BIN.into(),
            root,
            _stage: None,
        });
    }
    let stage = stage().map_err(|e| format!("cannot stage a world-readable copy: {e}"))?;
    eprintln!(
        "note: {USER} cannot reach this checkout; running from a copy in {}",
        stage.path().display()
    );
    let bin = stage.path().join("bin/podcheck");
    if !reachable(&bin)? {
        return Err(format!(
            "user {USER} cannot run even the staged copy {}",
            bin.display()
        ));
    }
    Ok(Unprivileged {
        bin,
        root: stage.path().to_owned(),
        _stage: Some(stage),
    })
}

/// The place to run from, or None after printing why the test is skipped.
pub fn unprivileged_or_skip() -> Option<Unprivileged> {
    unprivileged()
        .map_err(|why| eprintln!("skipped: {why}"))
        .ok()
}

/// Copies the two binaries and the specs into a fresh world-readable directory.
fn stage() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("podcheck-unpriv-")
        .tempdir()?;
    let open = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    open(dir.path(), 0o755)?;
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin)?;
    open(&bin, 0o755)?;
    for exe in [BIN, FIXTURE] {
        let to = bin.join(Path::new(exe).file_name().unwrap_or_default());
        std::fs::copy(exe, &to)?;
        open(&to, 0o755)?;
    }
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("specs"),
        &dir.path().join("specs"),
    )?;
    Ok(dir)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir(to)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(())
}

/// Runs `podcheck ARGS PATH TAIL` as the ordinary user, with PATH relative to the
/// repository.
pub fn run_as(u: &Unprivileged, args: &[&str], path: &str, tail: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", USER, "--"])
        .arg(&u.bin)
        .args(args)
        .arg(u.root.join(path))
        .args(tail)
        .current_dir("/")
        .output()
        .expect("runuser runs")
}

/// The whole conformance suite through `podcheck test`, as the ordinary user: pod mode
/// inside a user namespace (PID 1 semantics, volumes at their mountPath, probes into the
/// pod), and the specs that need what an ordinary user lacks (memory cgroups) shown as
/// ignored with the reason. Err with the suite's output when it does not pass.
#[allow(dead_code)] // used by the conformance target only
pub fn the_suite_passes() -> Result<(), String> {
    let Some(u) = unprivileged_or_skip() else {
        return Ok(());
    };
    // 12 trials, half the 24 of .cargo/config.toml: this pass runs beside the target's two, and
    // pod mode inside a user namespace is the slowest to start a pod.
    let out = run_as(&u, &["test"], "specs", &["--", "--test-threads", "12"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(0) || !stdout.contains("test result: ok.") {
        return Err(format!(
            "the suite as {USER} ended with {:?}:\n{stdout}{stderr}",
            out.status.code()
        ));
    }
    // What it skipped, and why, for the suite's output.
    for line in stderr
        .lines()
        .filter(|l| l.starts_with("podcheck: skipping"))
    {
        eprintln!("as {USER}: {line}");
    }
    Ok(())
}
