//! `podcheck lint` on YAML manifests: each object's own findings, its pods' checks, the
//! YAML 1.1 booleans kubectl would read, and the per-object ignore annotation.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::checks::check_pod;
use super::classify::{only_for_running, pod_rule};
use super::input::{
    finding, raw_diag, rule_severity, severity_of, unknown_id_fix, unknown_id_message,
};
use super::registry;
use super::registry::IGNORE_ANNOTATION;
use super::{FileReport, Finding, LintOptions, Severity};
use crate::diag::{Diagnostic, FieldPath};
use crate::manifest::{ManifestFile, ManifestPod};

/// Lints manifest text (as if read from `path`).
pub fn lint_manifest_source(path: &Path, source: String, opts: &LintOptions) -> FileReport {
    let file = crate::manifest::parse_source(path, source);
    let mut report = lint_manifest_file(&file, opts, &[]);
    report.findings.extend(
        super::services::check(&[&file])
            .into_iter()
            .map(|(_, f)| f)
            .filter(|f| !opts.ignore.iter().any(|i| i == f.id)),
    );
    report.findings.sort_by_key(|f| (f.line, f.column));
    report
}

/// Whether an error is the API server's validation (worded as field.Error words its types),
/// not a file that cannot be read: it gets a check id and exit code 1, not 2.
fn api_validation(message: &str) -> bool {
    [
        "Invalid value",
        "Required value",
        "Forbidden",
        "Unsupported value",
        "Duplicate value",
        "Too long",
        "Too many",
        "Not found",
    ]
    .iter()
    .any(|t| message.starts_with(t))
}

/// Kinds (by apiVersion) whose fields are Kubernetes' own, so a boolean where a string is
/// due is surely wrong; custom resources may well have boolean fields we do not know.
fn core_api(doc: &crate::manifest::yaml::Node) -> bool {
    doc.get("apiVersion")
        .and_then(|v| v.as_str())
        .is_some_and(|v| {
            v == "v1" || v.starts_with("apps/") || v.starts_with("batch/") || v.contains(".k8s.io/")
        })
}

/// Lints one read manifest file: its own diagnostics, every pod, the YAML 1.1 booleans;
/// `extra_ignore` adds ids silenced by a spec that names the file.
pub(super) fn lint_manifest_file(
    file: &ManifestFile,
    opts: &LintOptions,
    extra_ignore: &[String],
) -> FileReport {
    let src = file.source.as_str();
    let mut findings = Vec::new();
    let mut invalid = false;
    let booleans: Vec<_> = file
        .docs
        .iter()
        .filter(|d| core_api(d))
        .flat_map(|d| super::yaml11::find(src, d))
        .collect();
    if !booleans.is_empty() {
        return with_booleans_quoted(file, &booleans, opts, extra_ignore);
    }
    for d in &file.diagnostics {
        match d.severity {
            // The workload validation names its checks.
            _ if d.rule.is_some() => {
                let id = d.rule.unwrap_or("api-validation");
                findings.push(finding(&file.path, id, severity_of(id), d, None));
            }
            // The API server's pod validation, worded as it words it.
            crate::diag::Severity::Error if api_validation(&d.message) => {
                let id = pod_rule(d);
                findings.push(finding(&file.path, id, Severity::Error, d, None));
            }
            crate::diag::Severity::Error => {
                invalid = true;
                findings.push(finding(
                    &file.path,
                    "invalid-input",
                    Severity::Error,
                    d,
                    None,
                ));
            }
            crate::diag::Severity::Warning => {
                let id = if d.message.starts_with("unknown field") {
                    "unknown-field"
                } else {
                    "api-validation"
                };
                findings.push(finding(&file.path, id, Severity::Warning, d, None));
            }
            // Notes say what `podcheck run` does not emulate: nothing about the manifest.
            crate::diag::Severity::Note => {}
        }
    }
    // The Services as `podcheck run` checks them, so lint passes no file run refuses.
    for d in crate::manifest::group::service_diagnostics(file) {
        findings.push(finding(
            &file.path,
            "api-validation",
            Severity::Error,
            &d,
            None,
        ));
    }
    silence_by_document(file, &mut findings);
    for pod in &file.pods {
        findings.extend(lint_pod(file, pod, extra_ignore));
    }
    finish(
        file.path.clone(),
        file.source.clone(),
        findings,
        invalid,
        opts,
    )
}

/// A file with YAML 1.1 booleans: they are reported, and the rest of the file is linted as
/// if they were quoted (as the user surely meant), so one `value: yes` does not hide the
/// other findings of its object. Spans are mapped back to the file as written.
fn with_booleans_quoted(
    file: &ManifestFile,
    booleans: &[super::yaml11::Yaml11Bool],
    opts: &LintOptions,
    extra_ignore: &[String],
) -> FileReport {
    let src = file.source.as_str();
    let mut spans: Vec<_> = booleans.iter().map(|b| b.span.clone()).collect();
    spans.sort_by_key(|s| s.start);
    spans.dedup();
    let mut patched = String::with_capacity(src.len() + 2 * spans.len());
    let mut last = 0;
    // Where the added quotes are in the patched text.
    let mut quotes = Vec::new();
    for s in &spans {
        let (Some(before), Some(word)) = (src.get(last..s.start), src.get(s.clone())) else {
            continue;
        };
        patched.push_str(before);
        quotes.push(patched.len());
        patched.push('"');
        patched.push_str(word);
        quotes.push(patched.len());
        patched.push('"');
        last = s.end;
    }
    patched.push_str(src.get(last..).unwrap_or(""));
    let patched_file = crate::manifest::parse_source(&file.path, patched);
    let mut inner = lint_manifest_file(&patched_file, opts, extra_ignore);
    // Where each boolean is in the patched text (after its opening quote), so the objects'
    // annotations can silence these findings as they do the others.
    let forward = |p: usize| {
        // The k-th quoted word moved right by the 2k quotes before it and its own opening one.
        let k = spans.iter().take_while(|s| s.start < p).count();
        p + 2 * k + 1
    };
    let mut own = Vec::new();
    for b in booleans {
        let mut d = Diagnostic::error(
            b.path.clone(),
            format!(
                "`{}` is unquoted: kubectl reads it as the boolean {} (YAML 1.1), not the string {:?}, and rejects it for a string field",
                b.text, b.value, b.text
            ),
        );
        d.span = Some(forward(b.span.start)..forward(b.span.start) + b.span.len());
        let fix = format!("quote it: \"{}\"", b.text);
        own.push(finding(
            &file.path,
            "yaml11-boolean",
            Severity::Error,
            &d,
            Some(fix),
        ));
    }
    silence_by_document(&patched_file, &mut own);
    inner.findings.extend(own);
    let back = |p: usize| p.saturating_sub(quotes.iter().filter(|q| **q < p).count());
    // Lines and columns are set from the spans by `finish`.
    let findings: Vec<Finding> = inner
        .findings
        .into_iter()
        .map(|mut f| {
            if let Some(s) = &f.span {
                f.span = Some(back(s.start)..back(s.end).max(back(s.start)));
            }
            f
        })
        .collect();
    finish(
        file.path.clone(),
        file.source.clone(),
        findings,
        inner.invalid,
        opts,
    )
}

/// Sorts, applies `--ignore`, and wraps up a file.
pub(super) fn finish(
    path: PathBuf,
    source: String,
    mut findings: Vec<Finding>,
    invalid: bool,
    opts: &LintOptions,
) -> FileReport {
    findings.retain(|f| !opts.ignore.iter().any(|i| i == f.id));
    super::input::locate_all(&source, &mut findings);
    findings.sort_by_key(|f| (f.line, f.column));
    findings.dedup();
    FileReport {
        path,
        source,
        findings,
        invalid,
    }
}

/// The API validation and the checks of one pod of a manifest, silenced by its annotations.
fn lint_pod(file: &ManifestFile, pod: &ManifestPod, extra_ignore: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mapped = crate::manifest::validate_pod(file, pod);
    // Notes say how `podcheck run` will run the pod, nothing about the manifest (as for
    // the file's own notes above).
    for d in mapped
        .iter()
        .filter(|d| !only_for_running(d) && d.severity != crate::diag::Severity::Note)
    {
        let id = pod_rule(d);
        out.push(finding(&file.path, id, rule_severity(id, d), d, None));
    }
    let kind = pod.object.split('/').next().unwrap_or("Pod");
    for raw in check_pod(&pod.pod, kind) {
        let (id, d, fix) = raw_diag(raw);
        let (_, mut m) = crate::manifest::split(file, pod, vec![d]);
        if let Some(d) = m.pop() {
            out.push(finding(&file.path, id, severity_of(id), &d, Some(fix)));
        }
    }
    let mut ignored: BTreeSet<String> = extra_ignore.iter().cloned().collect();
    for (id, at, span) in annotation_ids(file, pod) {
        if registry::find(&id).is_none() {
            let mut d = Diagnostic::warning(at, unknown_id_message(&id));
            d.span = Some(span);
            out.push(finding(
                &file.path,
                "unknown-ignore-id",
                Severity::Warning,
                &d,
                Some(unknown_id_fix()),
            ));
        }
        ignored.insert(id);
    }
    out.retain(|f| !ignored.contains(f.id));
    out
}

/// The ids a pod's object silences with `podcheck.dev/ignore` (on the object, and for a
/// workload on its pod template), each with where it is written.
fn annotation_ids(
    file: &ManifestFile,
    pod: &ManifestPod,
) -> Vec<(String, FieldPath, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let Some(doc) = file.docs.get(pod.document.saturating_sub(1)) else {
        return out;
    };
    let mut object = pod.name_path.clone();
    object.0.truncate(object.0.len().saturating_sub(2));
    let mut template = pod.spec_path.clone();
    template.0.pop();
    let mut places = vec![object];
    if !places.contains(&template) {
        places.push(template);
    }
    for place in places {
        let at = place
            .key("metadata")
            .key("annotations")
            .key(IGNORE_ANNOTATION);
        let Some(value) = doc.at(&at).and_then(|n| n.as_str()) else {
            continue;
        };
        for id in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            out.push((id.to_owned(), at.clone(), doc.span_of(&at)));
        }
    }
    out
}

/// Drops the file-level findings (unknown fields, API warnings, YAML 1.1 booleans) that
/// the annotations of the object they sit in silence: the object is the document whose
/// start is the last one before the finding.
fn silence_by_document(file: &ManifestFile, findings: &mut Vec<Finding>) {
    let per_doc: Vec<(usize, BTreeSet<String>)> = file
        .pods
        .iter()
        .map(|p| {
            let ids = annotation_ids(file, p).into_iter().map(|(id, _, _)| id);
            (p.document.saturating_sub(1), ids.collect())
        })
        .collect();
    if per_doc.iter().all(|(_, ids)| ids.is_empty()) {
        return;
    }
    findings.retain(|f| {
        let Some(at) = f.span.as_ref().map(|s| s.start) else {
            return true;
        };
        let Some(doc) = file.docs.iter().rposition(|d| d.span.start <= at) else {
            return true;
        };
        !per_doc
            .iter()
            .any(|(d, ids)| *d == doc && ids.contains(f.id))
    });
}
