//! Running the checks on inputs: TOML specs and YAML manifests (files or folders), every
//! object and container, every finding of a file; then silencing (annotations, `[lint]`,
//! `--ignore`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::checks::{Raw, check_pod};
use super::classify::pod_rule;
use super::manifest::{finish, lint_manifest_file};
use super::registry;
use super::{FileReport, Finding, LintOptions, LintReport, Severity};
use crate::diag::{Diagnostic, FieldPath};
use crate::manifest::ManifestFile;

/// Lints every path: TOML specs, YAML manifests and folders of manifests.
pub fn lint_paths(paths: &[PathBuf], opts: &LintOptions) -> LintReport {
    let mut report = LintReport::default();
    // Every manifest read, for the checks between Services and pods across files.
    let mut manifests: Vec<ManifestFile> = Vec::new();
    // Files named on their own that hold no object: kubectl refuses them only when nothing
    // given has an object ("no objects passed to apply").
    let mut empty_named: Vec<PathBuf> = Vec::new();
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
                        if !path.is_dir() && f.docs.is_empty() && !f.has_errors() {
                            // In a folder, an empty file among others is skipped, as
                            // kubectl skips it.
                            empty_named.push(f.path.clone());
                            continue;
                        }
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
    if !empty_named.is_empty() && report.files.is_empty() && report.unreadable.is_empty() {
        let message = crate::manifest::read::empty_files_message(&empty_named);
        report.unreadable.push((empty_named[0].clone(), message));
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
                let mut findings: Vec<Finding> = fd
                    .diagnostics
                    .iter()
                    .map(|d| finding(path, "invalid-input", Severity::Error, d, None))
                    .collect();
                locate_all(&fd.source, &mut findings);
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

/// Sets the line and column of every finding that has a span in `source`.
pub(super) fn locate_all(source: &str, findings: &mut [Finding]) {
    let index = crate::diag::LineIndex::new(source);
    for f in findings.iter_mut() {
        if let Some(s) = &f.span {
            (f.line, f.column) = index.line_col(source, s.start);
        }
    }
}

/// Builds one finding about `source` (its line and column are set by [`locate_all`]).
pub(super) fn finding(
    file: &Path,
    id: &'static str,
    severity: Severity,
    d: &Diagnostic,
    fix: Option<String>,
) -> Finding {
    // Located later, all of a file's findings with one line index (`locate_all`): a file
    // with thousands of findings rescanned itself for each.
    let (line, column) = (1, 1);
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
pub(super) fn rule_severity(id: &'static str, d: &Diagnostic) -> Severity {
    if id == "named-port-missing" {
        Severity::Error
    } else {
        Severity::from_diag(d.severity)
    }
}

/// The message for an ignore id no check has.
pub fn unknown_id_message(id: &str) -> String {
    format!("no check has the id {id:?}, so it silences nothing")
}

pub(super) fn unknown_id_fix() -> String {
    "use an id listed by the README's check table (e.g. probe-identical), separated by commas"
        .into()
}

pub(super) fn severity_of(id: &str) -> Severity {
    registry::find(id).map_or(Severity::Warning, |c| c.severity)
}

pub(super) fn raw_diag(raw: Raw) -> (&'static str, Diagnostic, String) {
    let d = Diagnostic::warning(raw.path, raw.message);
    (raw.id, d, raw.fix)
}

/// Lints spec text: the spec's own file, plus the manifest it names (if any).
pub fn lint_spec_source(path: &Path, source: &str, opts: &LintOptions) -> Vec<FileReport> {
    let (mut spec, key_diags) = match crate::manifest::toml_pod::parse_spec_toml(source) {
        Ok(s) => s,
        Err(e) => {
            let d = crate::spec::load::toml_error(source, &e);
            let mut f = [finding(
                path,
                "invalid-input",
                Severity::Error,
                &d,
                Some("fix the TOML at this place".into()),
            )];
            locate_all(source, &mut f);
            let [f] = f;
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
                    .map(|d| finding(path, "spec-validation", Severity::Error, d, None)),
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
        findings.push(finding(path, id, sev, &d, fix));
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
