//! `podcheck export` and `podcheck schema`.

use super::*;

/// Arguments of `podcheck export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// A spec file (TOML, with a [pod] or a `manifest`), or a manifest (YAML file or
    /// folder) whose pods are written as bare Pods.
    pub input: PathBuf,
}

/// `podcheck export`: the Pod manifest on stdout, what was left out on stderr; exit 0, or 2
/// when the input is invalid.
pub fn export(args: ExportArgs) -> u8 {
    use crate::manifest::export;
    let mut exported = Vec::new();
    if crate::manifest::is_manifest_path(&args.input) || args.input.is_dir() {
        let files = match crate::manifest::read_path(&args.input) {
            Ok(f) => f,
            Err(e) => {
                eoutln!("error: {e}");
                return EXIT_INVALID;
            }
        };
        for file in &files {
            if file.has_errors() {
                eoutln!("{}", file.file_diagnostics().render());
                return EXIT_INVALID;
            }
            let stem = file
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            for line in export::skipped_objects(file) {
                eoutln!("not exported: {line}");
            }
            for pod in &file.pods {
                // A pod the API server would refuse is not exported (run and lint refuse
                // it too); how podcheck would run it is no reason.
                let refused: Vec<_> = crate::manifest::validate_pod(file, pod)
                    .into_iter()
                    .filter(|d| {
                        d.severity == crate::diag::Severity::Error
                            && !crate::lint::classify::only_for_running(d)
                    })
                    .collect();
                if !refused.is_empty() {
                    let found = crate::diag::FileDiagnostics {
                        path: file.path.clone(),
                        source: file.source.clone(),
                        diagnostics: refused,
                    };
                    eoutln!("{}", found.render());
                    return EXIT_INVALID;
                }
                exported.push(export::export_manifest_pod(file, pod, &stem));
            }
        }
        if exported.is_empty() {
            eoutln!(
                "error: {}: no Pod or workload with a pod template to export",
                args.input.display()
            );
            return EXIT_INVALID;
        }
    } else {
        match load_spec(&args.input) {
            Ok(l) => exported.push(export::export_spec(&l)),
            Err(d) => {
                eoutln!("{}", d.render());
                return EXIT_INVALID;
            }
        }
    }
    for e in &exported {
        for line in e.notices() {
            eoutln!("{line}");
        }
    }
    let pods: Vec<_> = exported.into_iter().map(|e| e.pod).collect();
    match export::to_yaml(&pods) {
        Ok(yaml) => {
            out!("{yaml}");
            EXIT_OK
        }
        Err(e) => {
            eoutln!("error: {e}");
            EXIT_ENV
        }
    }
}

/// `podcheck schema`: the spec format's JSON Schema on stdout.
pub fn schema() -> u8 {
    out!("{}", crate::spec::schema::spec_schema_json());
    EXIT_OK
}
