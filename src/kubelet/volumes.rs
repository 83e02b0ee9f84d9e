//! The volume manager, as far as a pod of local processes needs one: before the sandbox
//! exists, every volume a container mounts is set up; a hostPath is type-checked (and made,
//! for the *OrCreate types) as the hostPath plugin does (pkg/volume/hostpath), on the
//! run's view of the node's filesystem, where what would be made is made in an overlay,
//! never on the host (`runtime::node_fs`). A failure is a
//! Warning FailedMount event, retried with the operation executor's exponential back-off
//! (500 ms doubling to 2m2s), and the pod's containers wait in ContainerCreating until it
//! succeeds.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::events::EventType;
use crate::runtime::node_fs::NodeFs;
use crate::spec::model::HostPath;

use super::pod_worker::{Timer, Worker};

/// First retry delay of a failed volume operation (`initialDurationBeforeRetry`).
const RETRY_INITIAL: Duration = Duration::from_millis(500);
/// Longest retry delay (`maxDurationBeforeRetry`).
const RETRY_MAX: Duration = Duration::from_secs(122);

impl Worker<'_> {
    /// Whether every volume the containers mount is set up; tries the ones that are not,
    /// recording FailedMount and scheduling a retry for each failure.
    pub(super) fn volumes_ready(&mut self) -> bool {
        if self.volumes_mounted {
            return true;
        }
        if self.volume_retry_at.is_some_and(|t| t > self.now()) {
            return false;
        }
        let pod = &self.cfg.pod;
        let used = |name: &str| {
            pod.init_containers
                .iter()
                .chain(&pod.containers)
                .any(|c| c.volume_mounts.iter().any(|m| m.name == name))
        };
        let failures: Vec<String> = pod
            .volumes
            .iter()
            .filter(|v| used(&v.name))
            .filter_map(|v| {
                let h = v.host_path.as_ref()?;
                set_up_host_path(&self.cfg.node_fs, h)
                    .err()
                    .map(|e| format!("MountVolume.SetUp failed for volume {:?} : {e}", v.name))
            })
            .collect();
        if failures.is_empty() {
            self.volumes_mounted = true;
            return true;
        }
        for message in failures {
            self.kubelet_event(EventType::Warning, "FailedMount", message, None);
        }
        let delay = self.volume_retry_delay;
        self.volume_retry_delay = (delay * 2).min(RETRY_MAX);
        let at = self.now() + delay;
        self.volume_retry_at = Some(at);
        self.schedule_at(at, Timer::Sync);
        false
    }

    /// Where a volume's files are on this machine: the hostPath itself, or the emptyDir's
    /// directory in the pod sandbox.
    pub(super) fn volume_source(&self, name: &str) -> io::Result<PathBuf> {
        let host = self
            .cfg
            .pod
            .volumes
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.host_path.as_ref());
        match host {
            Some(h) => {
                let path = Path::new(&h.path);
                Ok(self
                    .cfg
                    .node_fs
                    .resolve(path)
                    .unwrap_or_else(|| path.to_owned()))
            }
            None => self.sandbox.volume_dir(name),
        }
    }
}

/// The first retry delay, for a fresh worker.
pub(super) const fn initial_retry_delay() -> Duration {
    RETRY_INITIAL
}

/// Checks (and for the *OrCreate types, makes) what a hostPath volume needs at its path;
/// returns where the volume's files are on this machine (the host path, or the node
/// overlay's copy of a path the host lacks). The error is the hostPath plugin's text.
pub fn set_up_host_path(node: &NodeFs, h: &HostPath) -> Result<PathBuf, String> {
    let path = Path::new(&h.path);
    let found = node.resolve(path);
    let (want, what) = match h.type_.as_deref().unwrap_or("") {
        // No type: nothing is checked, and the container runtime makes a missing path a
        // directory when it bind-mounts it.
        "" => return found.map_or_else(|| make_dir(node, path), Ok),
        "DirectoryOrCreate" => {
            if found.is_none() {
                return make_dir(node, path);
            }
            ("Directory", "directory")
        }
        "Directory" => ("Directory", "directory"),
        "FileOrCreate" => {
            if found.is_none() {
                return node
                    .make_file(path)
                    .map_err(|e| format!("open {}: {}", h.path, go_error(&e)));
            }
            ("File", "file")
        }
        "File" => ("File", "file"),
        "Socket" => ("Socket", "socket file"),
        "CharDevice" => ("CharDevice", "character device"),
        "BlockDevice" => ("BlockDevice", "block device"),
        other => return Err(format!("{other} is an invalid volume type")),
    };
    let Some(meta) = found.as_ref().and_then(|f| std::fs::metadata(f).ok()) else {
        return Err(format!("hostPath {} doesn't exist", h.path));
    };
    let ft = meta.file_type();
    let actual = if ft.is_dir() {
        "Directory"
    } else if ft.is_file() {
        "File"
    } else if ft.is_socket() {
        "Socket"
    } else if ft.is_char_device() {
        "CharDevice"
    } else if ft.is_block_device() {
        "BlockDevice"
    } else {
        return Err(format!(
            "hostPath type check failed, {} is not a {what}, unable to determine its type: only recognise file, directory, socket, block device and character device",
            h.path
        ));
    };
    if actual == want {
        found.ok_or_else(|| format!("hostPath {} doesn't exist", h.path))
    } else {
        Err(format!(
            "hostPath type check failed: {} is not a {what}, it's a {actual}",
            h.path
        ))
    }
}

fn make_dir(node: &NodeFs, path: &Path) -> Result<PathBuf, String> {
    node.make_dir(path)
        .map_err(|e| format!("mkdir {}: {}", path.display(), go_error(&e)))
}

/// An OS error as Go prints it (lower-case strerror, no "(os error N)").
fn go_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EACCES) => "permission denied".into(),
        Some(libc::ENOENT) => "no such file or directory".into(),
        Some(libc::ENOTDIR) => "not a directory".into(),
        Some(libc::EROFS) => "read-only file system".into(),
        Some(libc::EEXIST) => "file exists".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(path: &Path, t: &str) -> HostPath {
        HostPath {
            path: path.display().to_string(),
            type_: Some(t.to_owned()),
        }
    }

    #[test]
    fn type_checks_and_creation_follow_the_hostpath_plugin() {
        let node = NodeFs::new();
        let set_up = |h: &HostPath| set_up_host_path(&node, h);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let missing = dir.path().join("missing");
        assert_eq!(set_up(&hp(dir.path(), "Directory")), Ok(dir.path().into()));
        assert_eq!(set_up(&hp(&file, "File")), Ok(file.clone()));
        assert_eq!(
            set_up(&hp(&file, "Directory")),
            Err(format!(
                "hostPath type check failed: {} is not a directory, it's a File",
                file.display()
            ))
        );
        assert_eq!(
            set_up(&hp(&missing, "Directory")),
            Err(format!("hostPath {} doesn't exist", missing.display()))
        );
        assert_eq!(
            set_up(&hp(Path::new("/dev/null"), "CharDevice")),
            Ok("/dev/null".into())
        );
        // No type checks nothing: a file is bound as it is.
        assert_eq!(set_up(&hp(&file, "")), Ok(file.clone()));
        assert_eq!(
            set_up(&hp(&missing.join("f"), "FileOrCreate")),
            Err(format!(
                "open {}: no such file or directory",
                missing.join("f").display()
            ))
        );
        // What is missing is made, but on the node overlay, never on the host; later
        // checks see what was made.
        let made = missing.join("a/b");
        let at = set_up(&hp(&made, "DirectoryOrCreate")).unwrap();
        assert!(at.is_dir() && !made.exists() && !missing.exists());
        assert_eq!(set_up(&hp(&made, "Directory")), Ok(at.clone()));
        let made_file = made.join("log");
        let file_at = set_up(&hp(&made_file, "FileOrCreate")).unwrap();
        assert!(file_at.is_file() && !made_file.exists());
        assert_eq!(
            set_up(&hp(&made_file, "Socket")),
            Err(format!(
                "hostPath type check failed: {} is not a socket file, it's a File",
                made_file.display()
            ))
        );
        let untyped = missing.join("untyped");
        assert!(set_up(&hp(&untyped, "")).unwrap().is_dir() && !untyped.exists());
    }
}
