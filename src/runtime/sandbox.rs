//! The pod sandbox without namespaces: one scratch directory per pod holding each
//! container's working directory, TMPDIR and termination-message file, and the emptyDir
//! volumes. It is removed when the pod is gone, on every path the runner survives (it is a
//! `TempDir`).
//!
//! Where it lives: `PODCHECK_SCRATCH_DIR` when set, else `$XDG_RUNTIME_DIR/podcheck`, else
//! `/run/podcheck` when that is writable (root), else the system temp dir. The first
//! choices keep podcheck's own files out of `/tmp`, where a user's emptyDir at `/tmp` would
//! shadow them inside the container's mount namespace (the mount plan binds them back into
//! view wherever they live, see `mounts::keep_visible`, so the fallback works too).
//!
//! A runner that is SIGKILLed cannot remove its directories, so each carries an `owner`
//! marker with the creating process's pid and start time, and every new scratch directory
//! first sweeps the ones whose owner is gone: only directories named `podcheck-*`, owned by
//! this user, with a well-formed marker from this PID namespace whose process no longer
//! exists (or is another process with a reused pid).

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// Overrides where podcheck puts its scratch directories.
pub const SCRATCH_DIR_VAR: &str = "PODCHECK_SCRATCH_DIR";
/// The file in each scratch directory that names its owner: `<pid> <start time> <pid ns>`.
const OWNER_MARKER: &str = "owner";
/// Every scratch directory's name starts with this.
const PREFIX: &str = "podcheck-";

/// A pod's scratch directory tree.
#[derive(Debug)]
pub struct PodSandbox {
    dir: TempDir,
}

impl PodSandbox {
    /// Creates the sandbox directory under [`scratch_base`], sweeping stale ones first.
    pub fn create(pod_name: &str) -> io::Result<Self> {
        let dir = scratch_dir(pod_name)?;
        // Traversable by a container running as another user (securityContext.runAsUser),
        // not listable.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))?;
        Ok(PodSandbox { dir })
    }

    /// The sandbox root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A container's home and default working directory (created on first use).
    pub fn container_dir(&self, container: &str) -> io::Result<PathBuf> {
        let d = self.root().join("containers").join(container);
        std::fs::create_dir_all(d.join("tmp"))?;
        Ok(d)
    }

    /// An emptyDir volume's directory (created on first use, shared by all mounts).
    pub fn volume_dir(&self, volume: &str) -> io::Result<PathBuf> {
        let d = self.root().join("volumes").join(volume);
        if !d.is_dir() {
            std::fs::create_dir_all(&d)?;
            // The kubelet makes an emptyDir world-writable (empty_dir.go setupDir), so a
            // container of any user can write to it.
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777))?;
        }
        Ok(d)
    }

    /// A fresh, empty termination-message file for one container instance, as the kubelet
    /// creates before every start.
    pub fn fresh_termination_log(&self, container: &str, instance: u32) -> io::Result<PathBuf> {
        let p = self
            .container_dir(container)?
            .join(format!("termination-log.{instance}"));
        std::fs::write(&p, b"")?;
        // As the kubelet does (makeMounts), so a non-root container can write it.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666))?;
        Ok(p)
    }
}

/// The directory podcheck's scratch directories go in (see the module docs for the order).
pub fn scratch_base() -> PathBuf {
    if let Some(dir) = std::env::var_os(SCRATCH_DIR_VAR).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute());
    let candidates = runtime_dir
        .map(|d| d.join("podcheck"))
        .into_iter()
        .chain(std::iter::once(PathBuf::from("/run/podcheck")));
    for dir in candidates {
        if usable(&dir) {
            return dir;
        }
    }
    std::env::temp_dir()
}

/// Whether `dir` exists (or can be made) as a directory of ours that we can write to.
fn usable(dir: &Path) -> bool {
    use std::os::unix::fs::DirBuilderExt;
    let made = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir);
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    made.is_ok()
        && std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == me)
        && nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

/// A fresh scratch directory `podcheck-<label>-XXXXXX` with its owner marker, after
/// sweeping stale ones.
pub fn scratch_dir(label: &str) -> io::Result<TempDir> {
    let base = scratch_base();
    sweep_stale(&base);
    std::fs::create_dir_all(&base)?;
    let dir = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{label}-"))
        .tempdir_in(&base)?;
    let me = std::process::id();
    let marker = format!(
        "{me} {} {}\n",
        start_time(me).unwrap_or(0),
        pid_namespace().unwrap_or_default()
    );
    std::fs::write(dir.path().join(OWNER_MARKER), marker)?;
    Ok(dir)
}

/// The start time of process `pid` in clock ticks since boot (field 22 of
/// `/proc/<pid>/stat`), which tells a reused pid from the original process.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; fields after the last ')' don't.
    let (_, rest) = stat.rsplit_once(')')?;
    // Field 22 overall is the 20th after the name (state is field 3).
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// This process's PID namespace (`pid:[4026531836]`): a pid means something only there.
fn pid_namespace() -> Option<String> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let text = link.to_str()?;
    (!text.is_empty() && !text.contains(char::is_whitespace)).then(|| text.to_owned())
}

/// Whether the owner recorded in `marker` is certainly gone: a well-formed marker from our
/// PID namespace (a runner in another one, sharing the directory, has pids we cannot
/// check) whose pid does not exist, or exists with another start time. Anything unclear
/// keeps the directory.
fn owner_is_gone(marker: &str) -> bool {
    let mut fields = marker.split_whitespace();
    let (Some(pid), Some(started), Some(ns), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    if pid_namespace().is_none_or(|mine| mine != ns) {
        return false;
    }
    let (Ok(pid), Ok(started)) = (pid.parse::<u32>(), started.parse::<u64>()) else {
        return false;
    };
    if pid == 0 || pid == std::process::id() {
        return false;
    }
    match start_time(pid) {
        Some(now) => started != 0 && now != started,
        // Gone, unless /proc could not be read at all (then we know nothing).
        None => Path::new("/proc/self/stat").exists(),
    }
}

/// Removes scratch directories in `base` left by runners that died without cleaning up
/// (SIGKILL). Errors are ignored: a concurrent runner may be sweeping the same directory.
pub fn sweep_stale(base: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(base) else {
        return 0;
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let path = entry.path();
        // symlink_metadata: a symlink named podcheck-* is never followed, let alone swept.
        let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == me);
        if !ours {
            continue;
        }
        let Ok(marker) = std::fs::read_to_string(path.join(OWNER_MARKER)) else {
            continue;
        };
        if owner_is_gone(&marker) && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_created_and_removed_with_the_sandbox() {
        let sb = PodSandbox::create("t").unwrap();
        let root = sb.root().to_owned();
        let v = sb.volume_dir("data").unwrap();
        let log = sb.fresh_termination_log("app", 0).unwrap();
        assert!(v.is_dir() && log.is_file());
        assert!(root.join(OWNER_MARKER).is_file());
        drop(sb);
        assert!(!root.exists());
    }

    #[test]
    fn only_directories_of_dead_owners_are_swept() {
        let base = tempfile::tempdir().unwrap();
        let make = |name: &str, marker: Option<&str>| {
            let d = base.path().join(name);
            std::fs::create_dir(&d).unwrap();
            if let Some(m) = marker {
                std::fs::write(d.join(OWNER_MARKER), m).unwrap();
            }
            d
        };
        // A process that has exited and been reaped: its pid is free.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let me = std::process::id();
        let my_start = start_time(me).unwrap();
        let ns = pid_namespace().unwrap();
        let stale = make("podcheck-a-1", Some(&format!("{dead} 12345 {ns}")));
        let reused = make("podcheck-b-1", Some(&format!("{me} {} {ns}", my_start + 1)));
        let live = make(
            "podcheck-c-1",
            Some(&format!("1 {} {ns}", start_time(1).unwrap())),
        );
        let mine = make("podcheck-d-1", Some(&format!("{me} {my_start} {ns}")));
        let elsewhere = make("podcheck-g-1", Some(&format!("{dead} 12345 pid:[1]")));
        let unmarked = make("podcheck-e-1", None);
        let garbled = make("podcheck-f-1", Some("not a marker"));
        let other = make("other-1", Some(&format!("{dead} 12345 {ns}")));
        sweep_stale(base.path());
        // Our own pid is never swept, whatever the start time says.
        assert!(reused.exists());
        assert!(!stale.exists());
        for kept in [live, mine, unmarked, garbled, other, elsewhere] {
            assert!(kept.exists(), "{}", kept.display());
        }
    }
}
