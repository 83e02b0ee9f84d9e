//! What `podcheck run` reads before it runs anything: its inputs (spec files, manifests,
//! folders of manifests) and the folders its reports go into.

use std::io::Write;
use std::path::PathBuf;

use crate::spec::{LoadOptions, LoadedSpec, load_spec_with};

/// What failed to load, as (input name, rendered diagnostics), for reports such as JUnit.
pub(super) type LoadFailures = Vec<(String, String)>;

/// Loads every input (spec files, manifests, folders of manifests), printing each file's
/// diagnostics; the second part lists what failed (empty when everything can run).
pub(super) fn load_inputs(
    paths: &[PathBuf],
    opts: &LoadOptions,
) -> (Vec<(PathBuf, LoadedSpec)>, LoadFailures) {
    let mut loaded = Vec::new();
    let mut failures: LoadFailures = Vec::new();
    // Manifest files with no object at all, for the error when nothing runs.
    let mut empty: Vec<PathBuf> = Vec::new();
    let mut table = std::collections::BTreeMap::new();
    opts.apply(&mut table);
    for path in paths {
        if !crate::manifest::is_manifest_path(path) {
            match load_spec_with(path, opts) {
                Ok(l) => {
                    for d in std::iter::once(&l.warnings).chain(&l.related) {
                        if !d.diagnostics.is_empty() {
                            eoutln!("{}", d.render());
                        }
                    }
                    loaded.push((path.clone(), l));
                }
                Err(d) => {
                    eoutln!("{}", d.render());
                    failures.push((path.display().to_string(), d.render()));
                }
            }
            continue;
        }
        let files = match crate::manifest::read_path(path) {
            Ok(f) => f,
            Err(e) => {
                eoutln!("error: {e}");
                failures.push((path.display().to_string(), e.to_string()));
                continue;
            }
        };
        for file in &files {
            if file.docs.is_empty() && !file.has_errors() {
                empty.push(file.path.clone());
            }
            // Every problem of a file at once: reading, conversion and each pod's validation.
            let mut all = file.file_diagnostics();
            let mut invalid = file.has_errors();
            // Replicas and the Services in front of them run together, on one clock; else
            // each pod is a spec of its own.
            let specs = if crate::manifest::group::runs_together(file) {
                vec![crate::manifest::group::spec_for_file(file, &table)]
            } else {
                file.pods
                    .iter()
                    .map(|pod| crate::manifest::spec_for(file, pod, &table))
                    .collect()
            };
            for spec in specs {
                match spec {
                    Ok(mut l) => {
                        all.diagnostics.append(&mut l.warnings.diagnostics);
                        loaded.push((file.path.clone(), l));
                    }
                    Err(mut d) => {
                        all.diagnostics.append(&mut d.diagnostics);
                        invalid = true;
                    }
                }
            }
            all.diagnostics
                .sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
            if !all.diagnostics.is_empty() {
                eoutln!("{}", all.render());
            }
            if invalid {
                failures.push((file.path.display().to_string(), all.render()));
            }
        }
    }
    // An --image no container uses is a typo in the image name, not a harmless extra; with
    // an input that failed to load, its containers are unknown, and the map may be for them.
    let used = crate::manifest::images_used(loaded.iter().map(|(_, l)| l));
    let any_failed = !failures.is_empty();
    for (name, _) in opts.images.iter().filter(|_| !any_failed) {
        if !used.contains(name) {
            eoutln!(
                "error: --image {name}: no container uses this image; the images are: {}",
                if used.is_empty() {
                    "none".to_owned()
                } else {
                    used.join(", ")
                }
            );
            failures.push((
                format!("--image {name}"),
                "no container uses this image".into(),
            ));
        }
    }
    if failures.is_empty() && loaded.is_empty() {
        let msg = match empty.as_slice() {
            [] => "no pod to run: the manifests have no Pod or workload with a pod template"
                .to_owned(),
            files => crate::manifest::read::empty_files_message(files),
        };
        eoutln!("error: {msg}");
        failures.push(("inputs".into(), msg));
    }
    (loaded, failures)
}

/// Whether the folder a report is to be written into exists (the file itself is written
/// at the end, so an interrupted run leaves no empty one).
pub(super) fn folder_exists(p: &std::path::Path) -> Result<(), String> {
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!("{} is not a folder", dir.display())),
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}
