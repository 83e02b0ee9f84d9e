//! Reading real Kubernetes manifests (YAML) into podcheck's own pod model, so `podcheck run
//! deploy.yaml` and a spec's `manifest = "deploy.yaml"` run the pod a cluster would.
//!
//! The pipeline: `read` (limits, Helm, binary) → `yaml` (located tree) → `objects` (kinds,
//! typed through k8s-openapi by `de`, keys judged by `fields`) → `convert` (the model) →
//! here: choosing the pod, validating it like a spec and mapping every diagnostic back to
//! the manifest's line and column.

pub mod config_refs;
pub mod config_validate;
pub mod config_volumes;
pub mod convert;
pub mod de;
pub mod default_expect;
pub mod export;
pub mod fields;
pub mod group;
pub mod indexed_job;
pub mod objects;
pub mod read;
pub mod services;
pub mod toml_pod;
pub mod validate_container;
pub mod validate_pod_spec;
pub mod versions;
pub mod workload_apps;
pub mod workload_batch;
pub mod workload_cron;
pub mod workload_selector;
#[cfg(test)]
mod workload_test_util;
pub mod workload_validate;
pub mod yaml;
mod yaml_errors;

use std::collections::BTreeMap;
use std::path::Path;

pub use objects::ManifestPod;
pub use read::{ManifestError, ManifestFile, is_manifest_path, parse_source, read_file, read_path};

use crate::diag::{Diagnostic, FieldPath, FileDiagnostics, PathSeg, Severity};
use crate::spec::LoadedSpec;
use crate::spec::model::{ImageEntry, SpecFile};

/// How long `podcheck run MANIFEST` watches a pod that does not finish by itself (pod time).
pub const MANIFEST_RUN_DURATION: std::time::Duration = std::time::Duration::from_secs(60);

/// A spec built from one pod of a manifest: the pod, the image map, default settings.
pub fn spec_for(
    file: &ManifestFile,
    pod: &ManifestPod,
    images: &BTreeMap<String, ImageEntry>,
) -> Result<LoadedSpec, FileDiagnostics> {
    // A manifest has no expectations, so a Deployment would run until the timeout; it is
    // watched for a stretch of pod time and expected to do what its controller calls
    // success (a spec with `manifest = …` sets its own [run] and [expect]).
    let watch = default_expect::watch_for(&pod.pod, MANIFEST_RUN_DURATION);
    let run = crate::spec::model::RunSettings {
        duration: Some(crate::spec::duration::SpecDuration(watch)),
        ..Default::default()
    };
    let spec = SpecFile {
        name: Some(pod.object.clone()),
        run,
        images: images.clone(),
        pod: pod.pod.clone(),
        expect: crate::expect::Expectations {
            finals: vec![default_expect::final_state(&pod.pod, None)],
            never: default_expect::never_killed(&pod.pod, None)
                .into_iter()
                .collect(),
            ..Default::default()
        },
        ..SpecFile::default()
    };
    let mut diags = crate::spec::validate::validate(&spec);
    diags.retain(|d| !crate::spec::validate::is_missing_image(d));
    let (_, mut mapped) = split(file, pod, diags);
    reword_unmapped_images(&mut mapped);
    mapped.extend(image_notes(file, pod, images));
    // The note is about the run, so it is noise beside errors that stop it.
    if !mapped.iter().any(|d| d.severity == Severity::Error) {
        mapped.push(expectation_note(file, pod, watch));
    }
    if let Some(n) = pod.replicas.filter(|n| *n != 1) {
        let path = pod.object_path.key("spec").key("replicas");
        let message = if n < 1 {
            format!(
                "replicas: {n}: a cluster runs no pod of this {}; podcheck runs one, to test its pod template",
                pod.kind
            )
        } else {
            format!(
                "replicas: {n}: podcheck runs one pod of this {} (a file that also has a Service in front of it runs every replica)",
                pod.kind
            )
        };
        let mut d = Diagnostic::note(path.clone(), message);
        d.span = file
            .docs
            .get(pod.document.saturating_sub(1))
            .map(|n| n.span_of(&path));
        mapped.push(d);
    }
    loaded(
        file,
        mapped,
        pod.pod.name.clone().unwrap_or_else(|| "pod".into()),
        spec,
    )
}

/// The spec built from `file` with its diagnostics (mapped to the manifest) sorted by
/// position: an error among them refuses it.
pub(crate) fn loaded(
    file: &ManifestFile,
    mut mapped: Vec<Diagnostic>,
    stem: String,
    spec: SpecFile,
) -> Result<LoadedSpec, FileDiagnostics> {
    mapped.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
    let out = FileDiagnostics {
        path: file.path.clone(),
        source: file.source.clone(),
        diagnostics: mapped,
    };
    if out.has_errors() {
        return Err(out);
    }
    Ok(LoadedSpec {
        stem,
        spec,
        warnings: out,
        related: Vec::new(),
    })
}

/// Validation speaks of a spec's [images] table; a manifest's images come from --image.
/// A string field that is set: the API server's defaulting treats `""` as absent for the
/// fields it defaults (SetDefaults_Pod, _Container, _ContainerPort, _Service), as Helm
/// charts often render them.
pub(crate) fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

pub(crate) fn reword_unmapped_images(diags: &mut [Diagnostic]) {
    for d in diags.iter_mut() {
        if let Some((image, fails)) = d
            .message
            .strip_prefix("image ")
            .and_then(|m| m.split_once(" is not in the [images] table: "))
            .map(|(i, rest)| (i.to_owned(), rest.to_owned()))
        {
            d.message = format!("image {image} is not mapped to a local command: {fails}");
            d.help = Some(format!(
                "map it to a program on this machine, e.g. --image {}='./target/release/app --port 8080'",
                image.trim_matches('"')
            ));
        }
    }
}

/// The note, at the object, that says what the run of a manifest's pod expects.
pub(crate) fn expectation_note(
    file: &ManifestFile,
    pod: &ManifestPod,
    watch: std::time::Duration,
) -> Diagnostic {
    let mut d = Diagnostic::note(
        pod.object_path.clone(),
        default_expect::note_text(&pod.pod, &pod.kind, watch),
    );
    d.span = file
        .docs
        .get(pod.document.saturating_sub(1))
        .map(|n| n.span_of(&pod.object_path));
    d
}

/// The API server's pod validation of one pod of a manifest, at the manifest's paths and
/// spans (what `lint` reports for it and `export` refuses on).
pub fn validate_pod(file: &ManifestFile, pod: &ManifestPod) -> Vec<Diagnostic> {
    let spec = crate::spec::model::SpecFile {
        pod: pod.pod.clone(),
        ..Default::default()
    };
    split(file, pod, crate::spec::validate::validate(&spec)).1
}

/// Splits spec validation diagnostics into the spec's own (run, images, expect) and the
/// pod's, which are moved to the manifest's paths and spans.
pub fn split(
    file: &ManifestFile,
    pod: &ManifestPod,
    diags: Vec<Diagnostic>,
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let doc = file.docs.get(pod.document.saturating_sub(1));
    let mut own = Vec::new();
    let mut mapped = Vec::new();
    for mut d in diags {
        let Some(PathSeg::Key(first)) = d.path.0.first() else {
            own.push(d);
            continue;
        };
        if first != "pod" {
            own.push(d);
            continue;
        }
        let rest = &d.path.0[1..];
        if matches!(rest.first(), Some(PathSeg::Key(k)) if k == "labels") && pod.kind != "Pod" {
            // A workload's pod labels are its template's, which the workload's own
            // validation reports where they are written.
            continue;
        }
        let path = match rest.first() {
            Some(PathSeg::Key(k)) if k == "name" => pod.name_path.clone(),
            Some(PathSeg::Key(k)) if k == "namespace" || k == "labels" => {
                // Beside the name in the object's (or template's) metadata.
                let mut p = pod.name_path.clone();
                p.0.pop();
                p.0.extend(rest.iter().cloned());
                p
            }
            _ => {
                let mut p = pod.spec_path.clone();
                p.0.extend(rest.iter().cloned());
                p
            }
        };
        d.span = doc.map(|n| n.span_of(&path));
        d.path = path;
        mapped.push(d);
    }
    (own, mapped)
}

/// Notes where the image map and the manifest meet: a container whose `command` replaces
/// its image's entrypoint runs that command here too, not the mapped one.
pub(crate) fn image_notes(
    file: &ManifestFile,
    pod: &ManifestPod,
    images: &BTreeMap<String, ImageEntry>,
) -> Vec<Diagnostic> {
    let doc = file.docs.get(pod.document.saturating_sub(1));
    let lists = [
        ("initContainers", &pod.pod.init_containers),
        ("containers", &pod.pod.containers),
    ];
    let mut out = Vec::new();
    for (list, containers) in lists {
        for (i, c) in containers.iter().enumerate() {
            let (Some(image), Some(cmd)) = (c.image.as_deref(), &c.command) else {
                continue;
            };
            let path = pod.spec_path.key(list).index(i).key("command");
            let shown = cmd.join(" ");
            let mut d = if images.contains_key(image) {
                Diagnostic::note(
                    path.clone(),
                    format!(
                        "container {:?} sets `command`, which replaces the entrypoint of {image:?} as in Kubernetes: `{shown}` runs, not the command mapped to the image",
                        c.name
                    ),
                )
            } else {
                // Without a map the image is taken as present, so the container's own
                // command runs from this machine's PATH: say so, as it is easy to miss.
                let mut d = Diagnostic::note(
                    path.clone(),
                    format!(
                        "image {image:?} is not mapped, and container {:?} sets `command`: `{shown}` runs as a program of this machine (looked up on PATH), not from the image",
                        c.name
                    ),
                );
                d.help = Some(format!(
                    "podcheck has no container images: make sure `{}` on this machine is the program the image would run",
                    cmd.first().map_or("", String::as_str)
                ));
                d
            };
            d.span = doc.map(|n| n.span_of(&path));
            out.push(d);
        }
    }
    out
}

/// What a spec's `manifest = …` brought in: the file and the chosen pod.
#[derive(Debug, Clone)]
pub struct Attached {
    /// The manifest file.
    pub file: ManifestFile,
    /// The pod the spec runs.
    pub pod: ManifestPod,
}

/// Why a spec's manifest could not be attached.
#[derive(Debug)]
pub enum AttachError {
    /// A problem with the spec's own fields (`manifest`, `object`, `document`, `[pod]`).
    Spec(Diagnostic),
    /// The manifest itself has errors.
    Manifest(FileDiagnostics),
}

/// Reads the spec's `manifest` (relative to the spec file) and puts the chosen pod in
/// `spec.pod`. `has_pod_table` says the spec also wrote a `[pod]`, which is ambiguous.
pub fn attach(
    spec_path: &Path,
    has_pod_table: bool,
    spec: &mut SpecFile,
) -> Result<Option<Attached>, AttachError> {
    let root = FieldPath::root();
    let Some(rel) = spec.manifest.clone() else {
        for key in ["object", "document"] {
            let set = (key == "object" && spec.object.is_some())
                || (key == "document" && spec.document.is_some());
            if set {
                return Err(AttachError::Spec(
                    Diagnostic::error(
                        root.key(key),
                        format!(
                            "`{key}` chooses a pod of a manifest, but the spec has no `manifest`"
                        ),
                    )
                    .with_help("add `manifest = \"deploy.yaml\"`, or remove it"),
                ));
            }
        }
        return Ok(None);
    };
    if has_pod_table {
        return Err(AttachError::Spec(
            Diagnostic::error(
                root.key("pod"),
                "the spec has both a [pod] table and a `manifest`",
            )
            .with_help("keep one: the manifest's pod is the pod under test; remove [pod]"),
        ));
    }
    let base = spec_path.parent().unwrap_or(Path::new("."));
    let path = base.join(&rel);
    if path.is_dir() || !is_manifest_path(&path) {
        return Err(AttachError::Spec(
            Diagnostic::error(
                root.key("manifest"),
                format!("manifest {rel:?} is not a YAML file"),
            )
            .with_help("name one .yaml or .yml file, relative to this spec"),
        ));
    }
    if !path.exists() {
        return Err(AttachError::Spec(
            Diagnostic::error(
                root.key("manifest"),
                format!(
                    "manifest {rel:?} does not exist (looked for {})",
                    path.display()
                ),
            )
            .with_help("the path is relative to the spec file's folder"),
        ));
    }
    let file = read_file(&path);
    if file.has_errors() {
        return Err(AttachError::Manifest(file.file_diagnostics()));
    }
    let pod = choose(&file, spec.object.as_deref(), spec.document).map_err(AttachError::Spec)?;
    spec.pod = pod.pod.clone();
    Ok(Some(Attached { file, pod }))
}

/// The one pod `object` and `document` choose.
fn choose(
    file: &ManifestFile,
    object: Option<&str>,
    document: Option<usize>,
) -> Result<ManifestPod, Diagnostic> {
    let root = FieldPath::root();
    let matches: Vec<&ManifestPod> = file
        .pods
        .iter()
        .filter(|p| document.is_none_or(|d| p.document == d))
        .filter(|p| {
            object.is_none_or(|o| {
                p.object == o || p.object.split_once('/').is_some_and(|(_, n)| n == o)
            })
        })
        .collect();
    let available = file
        .pods
        .iter()
        .map(|p| format!("{} (document {})", p.object, p.document))
        .collect::<Vec<_>>()
        .join(", ");
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let key = if object.is_some() {
                "object"
            } else {
                "document"
            };
            let what = if file.pods.is_empty() {
                format!("{} has no object with a pod template", file.path.display())
            } else {
                format!("no pod of {} matches", file.path.display())
            };
            Err(Diagnostic::error(root.key(key), what).with_help(format!(
                "the manifest's pods: {}",
                if available.is_empty() {
                    "none".into()
                } else {
                    available
                }
            )))
        }
        _ => Err(Diagnostic::error(
            root.key("manifest"),
            format!("the manifest has {} pods; a spec runs one", matches.len()),
        )
        .with_help(format!(
            "choose one with `object = \"Kind/name\"` (or `document = N`): {available}"
        ))),
    }
}

/// Every image the specs' containers use, for the `--image` check.
pub fn images_used<'a>(specs: impl IntoIterator<Item = &'a LoadedSpec>) -> Vec<String> {
    let mut out: Vec<String> = specs
        .into_iter()
        .flat_map(|l| std::iter::once(&l.spec.pod).chain(l.spec.pods.values()))
        .flat_map(|p| p.init_containers.iter().chain(&p.containers))
        .filter_map(|c| c.image.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests;
