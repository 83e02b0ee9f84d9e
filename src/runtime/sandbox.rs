//! The pod sandbox without namespaces: one scratch directory per pod holding each
//! container's working directory, TMPDIR and termination-message file, and the emptyDir
//! volumes. It is removed when the pod is gone, on every path (it is a `TempDir`).

use std::io;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// A pod's scratch directory tree.
#[derive(Debug)]
pub struct PodSandbox {
    dir: TempDir,
}

impl PodSandbox {
    /// Creates the sandbox directory under the system temp dir.
    pub fn create(pod_name: &str) -> io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("podcheck-{pod_name}-"))
            .tempdir()?;
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
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }

    /// A fresh, empty termination-message file for one container instance, as the kubelet
    /// creates before every start.
    pub fn fresh_termination_log(&self, container: &str, instance: u32) -> io::Result<PathBuf> {
        let p = self
            .container_dir(container)?
            .join(format!("termination-log.{instance}"));
        std::fs::write(&p, b"")?;
        Ok(p)
    }
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
        drop(sb);
        assert!(!root.exists());
    }
}
