//! Running the checks on inputs: TOML specs and YAML manifests (files or folders), every
//! object and container, every finding of a file; then silencing (annotations, `[lint]`,
//! `--ignore`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::checks::{Raw, check_pod};
use super::classify::{only_for_running, pod_rule};
use super::registry;
use super::{FileReport, Finding, LintOptions, LintReport, Severity};
use crate::diag::{Diagnostic, FieldPath, line_col};
use crate::manifest::{ManifestFile, ManifestPod};
use crate::spec::model::SpecFile;

use super::registry::IGNORE_ANNOTATION;

/// Lints every path: TOML specs, YAML manifests and folders of manifests.
pub fn lint_paths(paths: &[PathBuf], opts: &LintOptions) -> LintReport {
    let mut report = LintReport::default();
    // Every manifest read, for the checks between Services and pods across files.
    let mut manifests: Vec<ManifestFile> = Vec::new();
    for path in paths {
        let specs = if path.is_dir() {
            toml_files(path)
        } else {
            Vec::new()
        };
        for spec in &specs {
            lint_spec_path(spec, opts, &mut report);
        }
        if crate::manifest::is_manifest_path(path) {
            match crate::manifest::read_path(path) {
                Ok(files) => {
                    for f in &files {
                        report.files.push(lint_manifest_file(f, opts, &[]));
                    }
                    manifests.extend(files);
                }
                // A folder of specs alone is fine.
                Err(crate::manifest::ManifestError::Empty(_)) if !specs.is_empty() => {}
                Err(crate::manifest::ManifestError::Empty(_)) => report.unreadable.push((
                    path.clone(),
                    format!(
                        "{}: no specs (*.toml) or manifests (*.yaml, *.yml) in this folder",
                        path.display()
                    ),
                )),
                Err(e) => report.unreadable.push((path.clone(), e.to_string())),
            }
            continue;
        }
        lint_spec_path(path, opts, &mut report);
    }
    // A file named twice (a folder and a file in it, nested folders) is reported once.
    let mut seen = BTreeSet::new();
    report
        .files
        .retain(|f| seen.insert(std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone())));
    let mut seen = BTreeSet::new();
    let unique: Vec<&ManifestFile> = manifests
        .iter()
        .filter(|f| seen.insert(std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone())))
        .collect();
    for (i, f) in super::services::check(&unique) {
        if opts.ignore.iter().any(|id| id == f.id) {
            continue;
        }
        if let Some(r) = report.files.iter_mut().find(|r| r.path == unique[i].path) {
            r.findings.push(f);
            r.findings.sort_by_key(|f| (f.line, f.column));
        }
    }
    report
}

/// Every `*.toml` under a folder, sorted, hidden folders and symlinked folders skipped,
/// at most [`crate::manifest::read::MAX_FILES`].
fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let hidden = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() && !hidden {
                todo.push(p);
            } else if !(ft.is_dir() || ft.is_symlink() && p.is_dir())
                && p.extension().is_some_and(|x| x == "toml")
            {
                out.push(p);
            }
            if out.len() >= crate::manifest::read::MAX_FILES {
                out.sort();
                return out;
            }
        }
    }
    out.sort();
    out
}

/// Lints one spec file into the report.
fn lint_spec_path(path: &Path, opts: &LintOptions, report: &mut LintReport) {
    {
        match crate::diag::read_capped(path)
            .ok()
            .flatten()
            .and_then(|b| String::from_utf8(b).ok())
        {
            Some(source) => report.files.extend(lint_spec_source(path, &source, opts)),
            // The loader words these (a missing or too large file, the first byte that is
            // not UTF-8).
            None => {
                let fd = match crate::spec::load_spec(path) {
                    Err(fd) => fd,
                    Ok(_) => crate::diag::FileDiagnostics {
                        path: path.to_owned(),
                        source: String::new(),
                        diagnostics: vec![Diagnostic::error(
                            FieldPath::root(),
                            "the file changed while it was read",
                        )],
                    },
                };
                let findings = fd
                    .diagnostics
                    .iter()
                    .map(|d| finding(path, &fd.source, "invalid-input", Severity::Error, d, None))
                    .collect();
                report.files.push(FileReport {
                    path: path.to_owned(),
                    source: fd.source.clone(),
                    findings,
                    invalid: true,
                });
            }
        }
    }
}

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

/// Builds one finding located in `source`.
fn finding(
    file: &Path,
    source: &str,
    id: &'static str,
    severity: Severity,
    d: &Diagnostic,
    fix: Option<String>,
) -> Finding {
    let (line, column) = d
        .span
        .as_ref()
        .map_or((1, 1), |s| line_col(source, s.start));
    let fix = fix
        .or_else(|| d.help.clone())
        .unwrap_or_else(|| registry::find(id).map_or("", |c| c.summary).to_owned());
    Finding {
        id,
        severity,
        file: file.to_owned(),
        line,
        column,
        field: d.path.to_string(),
        message: d.message.clone(),
        fix,
        span: d.span.clone(),
    }
}

/// The severity an API validation rule has in lint: the API server's, except a named port
/// that does not exist, which the API accepts but which fails every probe attempt.
fn rule_severity(id: &'static str, d: &Diagnostic) -> Severity {
    if id == "named-port-missing" {
        Severity::Error
    } else {
        Severity::from_diag(d.severity)
    }
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

fn lint_manifest_file(
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
                findings.push(finding(&file.path, src, id, severity_of(id), d, None));
            }
            crate::diag::Severity::Error if d.message.starts_with("Unsupported value") => {
                let id = pod_rule(d);
                findings.push(finding(&file.path, src, id, Severity::Error, d, None));
            }
            crate::diag::Severity::Error => {
                invalid = true;
                findings.push(finding(
                    &file.path,
                    src,
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
                findings.push(finding(&file.path, src, id, Severity::Warning, d, None));
            }
            // Notes say what `podcheck run` does not emulate: nothing about the manifest.
            crate::diag::Severity::Note => {}
        }
    }
    // The Services as `podcheck run` checks them, so lint passes no file run refuses.
    for d in crate::manifest::group::service_diagnostics(file) {
        findings.push(finding(
            &file.path,
            src,
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
            &patched_file.source,
            "yaml11-boolean",
            Severity::Error,
            &d,
            Some(fix),
        ));
    }
    silence_by_document(&patched_file, &mut own);
    inner.findings.extend(own);
    let back = |p: usize| p.saturating_sub(quotes.iter().filter(|q| **q < p).count());
    let findings: Vec<Finding> = inner
        .findings
        .into_iter()
        .map(|mut f| {
            if let Some(s) = &f.span {
                let span = back(s.start)..back(s.end).max(back(s.start));
                (f.line, f.column) = line_col(src, span.start);
                f.span = Some(span);
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
fn finish(
    path: PathBuf,
    source: String,
    mut findings: Vec<Finding>,
    invalid: bool,
    opts: &LintOptions,
) -> FileReport {
    findings.retain(|f| !opts.ignore.iter().any(|i| i == f.id));
    findings.sort_by_key(|f| (f.line, f.column));
    findings.dedup();
    FileReport {
        path,
        source,
        findings,
        invalid,
    }
}

/// A spec holding only `pod`, for validation.
fn pod_spec(pod: &crate::spec::model::Pod) -> SpecFile {
    SpecFile {
        name: None,
        run: Default::default(),
        images: Default::default(),
        pod: pod.clone(),
        pods: Default::default(),
        services: Default::default(),
        cluster: Default::default(),
        traffic: Vec::new(),
        manifest: None,
        object: None,
        document: None,
        expect: Default::default(),
        lint: Default::default(),
    }
}

/// The API validation and the checks of one pod of a manifest, silenced by its annotations.
fn lint_pod(file: &ManifestFile, pod: &ManifestPod, extra_ignore: &[String]) -> Vec<Finding> {
    let src = file.source.as_str();
    let mut out = Vec::new();
    let (_, mapped) = crate::manifest::split(
        file,
        pod,
        crate::spec::validate::validate(&pod_spec(&pod.pod)),
    );
    for d in mapped.iter().filter(|d| !only_for_running(d)) {
        let id = pod_rule(d);
        out.push(finding(&file.path, src, id, rule_severity(id, d), d, None));
    }
    let kind = pod.object.split('/').next().unwrap_or("Pod");
    for raw in check_pod(&pod.pod, kind) {
        let (id, d, fix) = raw_diag(raw);
        let (_, mut m) = crate::manifest::split(file, pod, vec![d]);
        if let Some(d) = m.pop() {
            out.push(finding(&file.path, src, id, severity_of(id), &d, Some(fix)));
        }
    }
    let mut ignored: BTreeSet<String> = extra_ignore.iter().cloned().collect();
    for (id, at, span) in annotation_ids(file, pod) {
        if registry::find(&id).is_none() {
            let mut d = Diagnostic::warning(at, unknown_id_message(&id));
            d.span = Some(span);
            out.push(finding(
                &file.path,
                src,
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

/// The message for an ignore id no check has.
pub fn unknown_id_message(id: &str) -> String {
    format!("no check has the id {id:?}, so it silences nothing")
}

fn unknown_id_fix() -> String {
    "use an id listed by the README's check table (e.g. probe-identical), separated by commas"
        .into()
}

fn severity_of(id: &str) -> Severity {
    registry::find(id).map_or(Severity::Warning, |c| c.severity)
}

fn raw_diag(raw: Raw) -> (&'static str, Diagnostic, String) {
    let d = Diagnostic::warning(raw.path, raw.message);
    (raw.id, d, raw.fix)
}

/// Lints spec text: the spec's own file, plus the manifest it names (if any).
pub fn lint_spec_source(path: &Path, source: &str, opts: &LintOptions) -> Vec<FileReport> {
    let (mut spec, key_diags) = match crate::manifest::toml_pod::parse_spec_toml(source) {
        Ok(s) => s,
        Err(e) => {
            let d = crate::spec::load::toml_error(source, &e);
            let f = finding(
                path,
                source,
                "invalid-input",
                Severity::Error,
                &d,
                Some("fix the TOML at this place".into()),
            );
            return vec![FileReport {
                path: path.to_owned(),
                source: source.to_owned(),
                findings: vec![f],
                invalid: true,
            }];
        }
    };
    let mut findings = Vec::new();
    for d in key_diags
        .iter()
        .filter(|d| d.severity != crate::diag::Severity::Note)
    {
        findings.push(finding(
            path,
            source,
            "unknown-field",
            Severity::from_diag(d.severity),
            d,
            None,
        ));
    }
    let has_pod_table =
        toml::de::DeTable::parse(source).is_ok_and(|t| t.get_ref().get("pod").is_some());
    let mut related = Vec::new();
    // A `manifest = …` that could not be read leaves the pod unknown: what would be said of
    // the empty pod in its place (no containers, never ends) is not about the user's pod.
    let names_manifest = spec.manifest.is_some();
    let attached = match crate::manifest::attach(path, has_pod_table, &mut spec) {
        Ok(a) => a,
        Err(crate::manifest::AttachError::Spec(d)) => {
            let mut d = vec![d];
            crate::spec::load::locate(source, &mut d);
            findings.extend(
                d.iter()
                    .map(|d| finding(path, source, "spec-validation", Severity::Error, d, None)),
            );
            None
        }
        Err(crate::manifest::AttachError::Manifest(m)) => {
            let file = crate::manifest::read_file(&m.path);
            related.push(lint_manifest_file(&file, opts, &spec.lint.ignore));
            None
        }
    };
    let mut diags: Vec<(&'static str, Severity, Diagnostic, Option<String>)> = Vec::new();
    for d in crate::spec::validate::validate(&spec) {
        let about_pod =
            matches!(d.path.0.first(), Some(crate::diag::PathSeg::Key(k)) if k == "pod");
        if about_pod && names_manifest {
            // The manifest's own report has these, at the manifest's lines (or, when it
            // could not be read, they are about the empty pod in its place).
            continue;
        }
        let (id, sev) = if about_pod {
            let id = pod_rule(&d);
            (id, rule_severity(id, &d))
        } else {
            ("spec-validation", Severity::from_diag(d.severity))
        };
        diags.push((id, sev, d, None));
    }
    for d in crate::spec::extensions::extensions(&spec) {
        diags.push(("podcheck-extension", Severity::Warning, d, None));
    }
    let pod_unknown = names_manifest && attached.is_none();
    if let Some(d) = crate::spec::run_end::only_ends_at_timeout(&spec).filter(|_| !pod_unknown) {
        diags.push(("run-ends-only-at-timeout", Severity::Warning, d, None));
    }
    if attached.is_none() {
        for raw in check_pod(&spec.pod, "Pod") {
            let (id, d, fix) = raw_diag(raw);
            diags.push((id, severity_of(id), d, Some(fix)));
        }
    }
    for (i, id) in spec.lint.ignore.iter().enumerate() {
        if registry::find(id).is_none() {
            let d = Diagnostic::warning(
                FieldPath::root().key("lint").key("ignore").index(i),
                unknown_id_message(id),
            );
            diags.push((
                "unknown-ignore-id",
                Severity::Warning,
                d,
                Some(unknown_id_fix()),
            ));
        }
    }
    let mut located: Vec<Diagnostic> = diags.iter().map(|(_, _, d, _)| d.clone()).collect();
    crate::spec::load::locate(source, &mut located);
    for ((id, sev, _, fix), d) in diags.into_iter().zip(located) {
        if spec.lint.ignore.iter().any(|i| i == id) {
            continue;
        }
        findings.push(finding(path, source, id, sev, &d, fix));
    }
    if let Some(a) = &attached {
        related.push(lint_manifest_file(&a.file, opts, &spec.lint.ignore));
    }
    let mut out = vec![finish(
        path.to_owned(),
        source.to_owned(),
        findings,
        false,
        opts,
    )];
    out.extend(related);
    out
}
