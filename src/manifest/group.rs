//! A manifest file whose pods belong together: Services in front of workloads. Such a file
//! runs as one spec with several pods on one clock (`[pods.NAME]` with `replicas`,
//! `[services.NAME]`), so endpoints follow every replica as a cluster's EndpointSlices
//! would. Other files run one spec per pod (one pod of each workload), as before there
//! were Services: their replicas would be identical runs, and in `none` isolation
//! replicas listening on one port would clash.

use std::collections::BTreeMap;

use super::{MANIFEST_RUN_DURATION, ManifestFile};
use crate::diag::{Diagnostic, FieldPath, FileDiagnostics, PathSeg};
use crate::spec::LoadedSpec;
use crate::spec::model::{ImageEntry, SpecFile};

/// Whether the file runs as one spec of several pods rather than one spec per pod.
pub fn runs_together(file: &ManifestFile) -> bool {
    !file.pods.is_empty() && !file.services.is_empty()
}

/// The one spec of a file that [`runs_together`]: each workload a `[pods.NAME]` table with
/// its replicas (a StatefulSet's pods are NAME-0, NAME-1, …; a Deployment's NAME-0, … in
/// place of the ReplicaSet hash and random suffix), each Service a `[services.NAME]`.
pub fn spec_for_file(
    file: &ManifestFile,
    images: &BTreeMap<String, ImageEntry>,
) -> Result<LoadedSpec, FileDiagnostics> {
    let mut spec = SpecFile {
        name: Some(
            file.path
                .file_name()
                .map_or_else(|| "manifest".into(), |n| n.to_string_lossy().into_owned()),
        ),
        run: crate::spec::model::RunSettings {
            duration: Some(crate::spec::duration::SpecDuration(MANIFEST_RUN_DURATION)),
            ..Default::default()
        },
        images: images.clone(),
        ..SpecFile::default()
    };
    let mut notes = Vec::new();
    let mut watch = MANIFEST_RUN_DURATION;
    // The workloads that run (and so get an expectation note).
    let mut expectation_pods = Vec::new();
    // The table key of each pod, for mapping validation paths back.
    let mut tables: Vec<(String, usize)> = Vec::new();
    for (i, mp) in file.pods.iter().enumerate() {
        let replicas = mp.replicas.unwrap_or(1);
        if replicas < 1 {
            let mut d = Diagnostic::note(
                mp.object_path.key("spec").key("replicas"),
                format!("replicas: {replicas}: {} runs no pod", mp.object),
            );
            d.span = file
                .docs
                .get(mp.document.saturating_sub(1))
                .map(|n| n.span_of(&d.path));
            notes.push(d);
            continue;
        }
        let mut key = mp.base_name.clone();
        if key.is_empty() || spec.pods.contains_key(&key) {
            key = format!("{}-{}", mp.kind.to_lowercase(), i + 1);
        }
        let mut pod = mp.pod.clone();
        // A StatefulSet names its pods NAME-0 … NAME-(N-1); so do the replicas of a table.
        let ordinal = mp.kind == "StatefulSet" || replicas > 1;
        // [pods.NAME] names its pods after the table key.
        pod.name = None;
        pod.replicas = ordinal.then(|| u32::try_from(replicas).unwrap_or(u32::MAX));
        let names: Vec<String> = match pod.replicas {
            // Validation refuses more than MAX_PODS; never build more names than that.
            Some(n) => (0..n.min(crate::spec::model::MAX_PODS as u32 + 1))
                .map(|k| format!("{key}-{k}"))
                .collect(),
            None => vec![key.clone()],
        };
        for name in &names {
            spec.expect
                .finals
                .push(super::default_expect::final_state(&pod, Some(name)));
            spec.expect
                .never
                .extend(super::default_expect::never_killed(&pod, Some(name)));
        }
        let pod_watch = super::default_expect::watch_for(&pod, MANIFEST_RUN_DURATION);
        watch = watch.max(pod_watch);
        expectation_pods.push(i);
        notes.extend(super::image_notes(file, mp, images));
        spec.pods.insert(key.clone(), pod);
        tables.push((key, i));
    }
    for s in &file.services {
        spec.services.insert(s.name.clone(), s.service.clone());
    }
    spec.run.duration = Some(crate::spec::duration::SpecDuration(watch));
    let mut diags = crate::spec::validate::validate(&spec);
    diags.retain(|d| !crate::spec::validate::is_missing_image(d));
    // The spec's total of pods is said at the manifest's replicas instead.
    if let Some(d) = too_many_pods(file) {
        diags.retain(|x| x.path != FieldPath::root().key("pods"));
        notes.push(d);
    }
    let mut mapped: Vec<Diagnostic> = Vec::new();
    for mut d in diags {
        match d.path.0.first().cloned() {
            Some(PathSeg::Key(k)) if k == "pods" => {
                let Some(PathSeg::Key(table)) = d.path.0.get(1).cloned() else {
                    mapped.push(d);
                    continue;
                };
                let Some(mp) = tables
                    .iter()
                    .find(|(t, _)| *t == table)
                    .and_then(|(_, i)| file.pods.get(*i))
                else {
                    mapped.push(d);
                    continue;
                };
                // The table's own keys are the pod's: map them as `pod.*` is mapped.
                let mut as_pod = FieldPath::root().key("pod");
                as_pod.0.extend(d.path.0[2..].iter().cloned());
                d.path = as_pod;
                let (_, mut m) = super::split(file, mp, vec![d]);
                mapped.append(&mut m);
            }
            Some(PathSeg::Key(k)) if k == "services" => mapped.push(service_in_manifest(file, d)),
            _ => mapped.push(d),
        }
    }
    super::reword_unmapped_images(&mut mapped);
    mapped.extend(notes);
    // What the run expects is noise beside errors that stop it.
    if !mapped
        .iter()
        .any(|d| d.severity == crate::diag::Severity::Error)
    {
        mapped.extend(
            expectation_pods
                .iter()
                .filter_map(|i| file.pods.get(*i))
                .map(|mp| super::expectation_note(file, mp, watch)),
        );
    }
    let stem = file
        .path
        .file_stem()
        .map_or_else(|| "manifest".into(), |s| s.to_string_lossy().into_owned());
    super::loaded(file, mapped, stem, spec)
}

/// A diagnostic of a `[services.NAME]` path, moved to the Service it came from in the
/// manifest (its `spec.…` path and line).
fn service_in_manifest(file: &ManifestFile, mut d: Diagnostic) -> Diagnostic {
    let name = match d.path.0.get(1) {
        Some(PathSeg::Key(n)) => n.clone(),
        _ => String::new(),
    };
    if let Some(s) = file.services.iter().find(|s| s.name == name) {
        // `services.NAME` itself is about the name, which the manifest has in metadata.
        let mut path = if d.path.0.len() == 2 {
            s.path.key("metadata").key("name")
        } else {
            s.path.key("spec")
        };
        path.0.extend(d.path.0.iter().skip(2).cloned());
        d.span = file
            .docs
            .get(s.document.saturating_sub(1))
            .map(|n| n.span_of(&path));
        d.path = path;
    }
    d
}

/// The API server's checks of the file's Services (ports, names, selector), located in
/// the manifest: what `podcheck run` refuses, for `podcheck lint`.
pub fn service_diagnostics(file: &ManifestFile) -> Vec<Diagnostic> {
    let mut spec = SpecFile::default();
    for s in &file.services {
        spec.services.insert(s.name.clone(), s.service.clone());
    }
    let mut out: Vec<Diagnostic> = crate::spec::validate::validate_services(&spec)
        .into_iter()
        .map(|d| service_in_manifest(file, d))
        .collect();
    out.extend(too_many_pods(file));
    out
}

/// A file that runs together with more pods than podcheck runs in one spec: the error
/// `run` gives, at the `replicas` of the largest workload.
pub fn too_many_pods(file: &ManifestFile) -> Option<Diagnostic> {
    use crate::spec::model::MAX_PODS;
    if !runs_together(file) {
        return None;
    }
    let count = |mp: &crate::manifest::ManifestPod| {
        usize::try_from(mp.replicas.unwrap_or(1).max(0)).unwrap_or(0)
    };
    let total: usize = file.pods.iter().map(count).fold(0, usize::saturating_add);
    if total <= MAX_PODS {
        return None;
    }
    let largest = file.pods.iter().max_by_key(|mp| count(mp))?;
    let mut d = Diagnostic::error(
        largest.object_path.key("spec").key("replicas"),
        format!("the file runs {total} pods together (its workloads behind its Services); podcheck runs at most {MAX_PODS} in one run"),
    )
    .with_help(format!("lower the replicas so the total is {MAX_PODS} or less (a cluster takes more; podcheck runs each as local processes)"));
    d.span = file
        .docs
        .get(largest.document.saturating_sub(1))
        .map(|n| n.span_of(&d.path));
    Some(d)
}
