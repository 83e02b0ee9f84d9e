//! Finding the suite's spec files under its folder.
//!
//! Symlinked folders are followed (a suite may link in another's specs), but each real
//! folder is walked once: a link back up (`ln -s .. loop`) would otherwise make the walk
//! endless, two of them exponential. A folder that cannot be read is an error rather
//! than skipped, since the specs in it would silently not run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every `*.toml` under `dir`, in no particular order, or the folders that could not be
/// read with the reason.
pub fn spec_files(dir: &Path) -> Result<Vec<PathBuf>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        // A folder reached twice (through a link) is walked the first time only.
        if let Ok(real) = std::fs::canonicalize(&d)
            && !seen.insert(real)
        {
            continue;
        }
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                errors.push(format!("cannot read the folder {}: {e}", d.display()));
                continue;
            }
        };
        for e in entries.flatten() {
            let p = e.path();
            // `is_dir` follows a symlink, so a linked folder is walked like any other.
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_back_up_are_walked_once() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("suite");
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        std::fs::write(dir.join("a.toml"), "").expect("write");
        std::fs::write(dir.join("sub/b.toml"), "").expect("write");
        // Two links to the parent in every folder: 2^depth paths if links were walked again.
        for d in [dir.clone(), dir.join("sub")] {
            std::os::unix::fs::symlink("..", d.join("up1")).expect("symlink");
            std::os::unix::fs::symlink("..", d.join("up2")).expect("symlink");
        }
        let mut files = spec_files(&dir).expect("readable");
        files.sort();
        assert_eq!(files, vec![dir.join("a.toml"), dir.join("sub/b.toml")]);
    }

    #[test]
    fn a_linked_folder_of_specs_is_walked() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let other = tmp.path().join("other");
        std::fs::create_dir_all(&other).expect("mkdir");
        std::fs::write(other.join("c.toml"), "").expect("write");
        let dir = tmp.path().join("suite");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::os::unix::fs::symlink(&other, dir.join("linked")).expect("symlink");
        assert_eq!(
            spec_files(&dir).expect("readable"),
            vec![dir.join("linked/c.toml")]
        );
    }

    #[test]
    fn a_folder_that_cannot_be_listed_is_an_error_naming_it() {
        // Root lists any folder whatever its mode, so a vanished one stands in for it.
        let tmp = tempfile::tempdir().expect("tempdir");
        let errors = spec_files(&tmp.path().join("gone")).expect_err("must fail");
        assert!(
            errors[0].contains("cannot read the folder") && errors[0].contains("gone"),
            "{errors:?}"
        );
    }
}
