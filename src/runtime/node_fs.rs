//! The node's filesystem as a run's hostPath volumes see it: the host's own files, plus an
//! overlay for the paths a hostPath volume makes. On a real node the kubelet makes a missing
//! path for `DirectoryOrCreate` and `FileOrCreate`, and the container runtime makes one a
//! directory for a hostPath with no type; here this machine stands in for the node, and
//! podcheck must never change it, so what the node would make is made in a scratch
//! directory of the run instead, at the same path below it (`/srv/kubernetes` becomes
//! `<scratch>/srv/kubernetes`). A path the host has always wins; every pod of the run sees
//! the same overlay (two pods sharing a made `/var/lib/app` share its files, as on one
//! node); the overlay is a scratch directory, so it goes when the run ends, and the next
//! run sweeps it if the runner was SIGKILLed.

use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use tempfile::TempDir;

/// The run's view of the node's filesystem (see the module docs).
#[derive(Debug, Default)]
pub struct NodeFs {
    /// Made on first need, so a run without such volumes costs nothing.
    overlay: Mutex<Option<TempDir>>,
}

impl NodeFs {
    /// A view with nothing made yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where `path` is on this machine: the host's own path when it exists, else the
    /// overlay's copy when a hostPath made one, else None.
    pub fn resolve(&self, path: &Path) -> Option<PathBuf> {
        if path.exists() {
            return Some(path.to_owned());
        }
        let made = self.overlay_path(path)?;
        made.exists().then_some(made)
    }

    /// Makes `path` a directory with its missing parents (`os.MkdirAll(path, 0755)`),
    /// in the overlay wherever the host lacks it; returns where it is.
    pub fn make_dir(&self, path: &Path) -> io::Result<PathBuf> {
        if let Some(found) = self.resolve(path) {
            return if found.is_dir() {
                Ok(found)
            } else {
                Err(io::Error::from_raw_os_error(libc::ENOTDIR))
            };
        }
        // MkdirAll fails where an existing ancestor is not a directory.
        if self
            .nearest_existing_ancestor(path)
            .is_some_and(|a| !a.is_dir())
        {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        let target = self.overlay_target(path)?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&target)?;
        Ok(target)
    }

    /// Makes `path` an empty file (`os.OpenFile(path, O_CREATE, 0644)`: its parent must
    /// exist), in the overlay wherever the host lacks it; returns where it is.
    pub fn make_file(&self, path: &Path) -> io::Result<PathBuf> {
        if let Some(found) = self.resolve(path) {
            return Ok(found);
        }
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        let parent_found = parent.and_then(|p| self.resolve(p));
        match parent_found {
            Some(p) if p.is_dir() => {}
            Some(_) => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
            None => return Err(io::Error::from_raw_os_error(libc::ENOENT)),
        }
        let target = self.overlay_target(path)?;
        if let Some(dir) = target.parent() {
            // The parent exists on the node (host or overlay); its overlay copy is ours.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(dir)?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o644)
            .open(&target)?;
        Ok(target)
    }

    /// The closest ancestor of `path` that exists on the node (host or overlay).
    fn nearest_existing_ancestor(&self, path: &Path) -> Option<PathBuf> {
        path.ancestors().skip(1).find_map(|a| self.resolve(a))
    }

    /// The overlay's copy of `path`, if the overlay exists.
    fn overlay_path(&self, path: &Path) -> Option<PathBuf> {
        let guard = self.overlay.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(|d| below(d.path(), path))
    }

    /// The overlay's copy of `path`, making the overlay if needed.
    fn overlay_target(&self, path: &Path) -> io::Result<PathBuf> {
        let mut guard = self.overlay.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let dir = super::sandbox::scratch_dir("node")?;
            // Traversable by a container running as another user, as the host's `/` is.
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))?;
            *guard = Some(dir);
        }
        let root = guard.as_ref().map(|d| d.path().to_owned());
        root.map(|r| below(&r, path))
            .ok_or_else(|| io::Error::other("the node overlay was not made"))
    }
}

/// `path` (made absolute against the current directory, as the kubelet's own relative
/// paths are) under `root`.
fn below(root: &Path, path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = root.to_owned();
    for c in abs.components() {
        if let Component::Normal(part) = c {
            out.push(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_host_lacks_is_made_in_the_overlay_and_gone_with_it() {
        let host = tempfile::tempdir().unwrap();
        let fs = NodeFs::new();
        let missing = host.path().join("a/b");
        let made = fs.make_dir(&missing).unwrap();
        assert!(made.is_dir() && !made.starts_with(host.path()));
        assert!(!host.path().join("a").exists(), "the host is never changed");
        assert_eq!(fs.resolve(&missing), Some(made.clone()));
        // A file below a made directory is made beside it; a host path wins.
        let f = fs.make_file(&missing.join("f")).unwrap();
        assert!(f.is_file() && f.starts_with(made.parent().unwrap()));
        assert_eq!(fs.make_dir(host.path()).unwrap(), host.path());
        drop(fs);
        assert!(!made.exists(), "the overlay goes with the run");
    }

    #[test]
    fn errors_are_those_of_mkdir_all_and_open() {
        let host = tempfile::tempdir().unwrap();
        let file = host.path().join("file");
        std::fs::write(&file, "").unwrap();
        let fs = NodeFs::new();
        let err = |r: io::Result<PathBuf>| r.unwrap_err().raw_os_error();
        assert_eq!(err(fs.make_dir(&file)), Some(libc::ENOTDIR));
        assert_eq!(err(fs.make_dir(&file.join("x/y"))), Some(libc::ENOTDIR));
        assert_eq!(
            err(fs.make_file(&host.path().join("no/f"))),
            Some(libc::ENOENT)
        );
        assert_eq!(err(fs.make_file(&file.join("f"))), Some(libc::ENOTDIR));
        assert_eq!(fs.make_file(&file).unwrap(), file);
        assert!(fs.overlay.lock().unwrap().is_none(), "nothing was made");
    }
}
