//! How the kubelet writes a configMap, secret or projected volume (pkg/volume/util
//! atomic_writer.go): the payload in a fresh directory `..YYYY_MM_DD_HH_MM_SS.N`, the
//! symlink `..data` to it, and each top-level path a symlink through `..data`, so a reader
//! (or a config reloader watching `..data`) sees one version whole.

use std::collections::BTreeSet;
use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

/// One file of the payload.
#[derive(Debug, Clone, Copy)]
pub struct PayloadFile<'a> {
    /// The path below the volume, relative (validation keeps `..` out).
    pub path: &'a str,
    /// The content.
    pub data: &'a [u8],
    /// The permission bits.
    pub mode: u32,
}

/// Writes `files` into `dir` in the kubelet's layout, once: a volume already written (its
/// `..data` is there) is left as it is.
pub fn write_payload(dir: &Path, files: &[PayloadFile<'_>]) -> io::Result<()> {
    let data_link = dir.join("..data");
    if data_link.symlink_metadata().is_ok() {
        return Ok(());
    }
    let now = jiff::Timestamp::now();
    let name = format!(
        "{}{}",
        now.strftime("..%Y_%m_%d_%H_%M_%S."),
        now.subsec_nanosecond()
    );
    let ts_dir = dir.join(&name);
    std::fs::create_dir(&ts_dir)?;
    std::fs::set_permissions(&ts_dir, std::fs::Permissions::from_mode(0o755))?;
    let mut top = BTreeSet::new();
    for f in files {
        let rel = Path::new(f.path.trim_start_matches('/'));
        let Some(first) = rel.components().next() else {
            continue;
        };
        top.insert(first.as_os_str().to_owned());
        let target = ts_dir.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, f.data)?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(f.mode & 0o7777))?;
    }
    let tmp = dir.join("..data_tmp");
    symlink(&name, &tmp)?;
    std::fs::rename(&tmp, &data_link)?;
    for entry in top {
        symlink(Path::new("..data").join(&entry), dir.join(&entry))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_reached_through_the_data_link_with_their_modes() {
        let dir = tempfile::tempdir().expect("tmp");
        let files = [
            PayloadFile {
                path: "app.conf",
                data: b"port=8080\n",
                mode: 0o644,
            },
            PayloadFile {
                path: "certs/tls.key",
                data: b"k",
                mode: 0o400,
            },
        ];
        write_payload(dir.path(), &files).expect("written");
        let d = dir.path();
        assert_eq!(
            std::fs::read_to_string(d.join("app.conf")).expect("read"),
            "port=8080\n"
        );
        assert_eq!(
            std::fs::read_link(d.join("app.conf")).expect("a link"),
            Path::new("..data/app.conf")
        );
        assert_eq!(
            std::fs::read_link(d.join("certs")).expect("a link"),
            Path::new("..data/certs")
        );
        let key = std::fs::metadata(d.join("certs/tls.key")).expect("key");
        assert_eq!(key.permissions().mode() & 0o777, 0o400);
        let target = std::fs::read_link(d.join("..data")).expect("..data");
        assert!(
            target.to_string_lossy().starts_with(".."),
            "{}",
            target.display()
        );
        // A second set-up leaves the volume as it is.
        write_payload(dir.path(), &[]).expect("again");
        assert!(d.join("app.conf").exists());
        assert_eq!(std::fs::read_dir(d).expect("ls").count(), 4);
    }
}
