//! `podcheck lint`: static checks of TOML specs and YAML manifests, no process started.
//!
//! Every check has a stable id in [`registry::CHECKS`]. The API server's validation is the
//! spec validation (`crate::spec::validate`), its diagnostics given ids by [`classify`];
//! the linters' checks and the timing budgets are in [`checks`], on podcheck's pod model,
//! so a spec's `[pod]` and a manifest's pod template get the same checks. Output formats
//! live in `crate::report::lint_*`.

pub mod checks;
pub mod classify;
pub mod input;
pub mod manifest;
pub mod measure;
pub mod registry;
pub mod services;
pub mod yaml11;

#[cfg(test)]
mod tests;

use std::ops::Range;
use std::path::PathBuf;

pub use input::{lint_paths, lint_spec_source};
pub use manifest::lint_manifest_source;

/// How bad a finding is; ordered so that `Note < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing.
    Note,
    /// Probably wrong.
    Warning,
    /// Wrong: the API server rejects it, or the pod cannot work.
    Error,
}

impl Severity {
    /// The lower-case name (`error`, `warning`, `note`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// From a diagnostic's severity.
    pub fn from_diag(s: crate::diag::Severity) -> Self {
        match s {
            crate::diag::Severity::Error => Severity::Error,
            crate::diag::Severity::Warning => Severity::Warning,
            crate::diag::Severity::Note => Severity::Note,
        }
    }
}

/// One problem found by a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check's id (see [`registry::CHECKS`]).
    pub id: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// The file the field is in.
    pub file: PathBuf,
    /// 1-based line of the field (1 when the finding is about the whole file).
    pub line: usize,
    /// 1-based column of the field.
    pub column: usize,
    /// The field, e.g. `spec.template.spec.containers[0].livenessProbe`.
    pub field: String,
    /// One line: why it is a problem (timing checks show their arithmetic).
    pub message: String,
    /// One line: what would be right.
    pub fix: String,
    /// The byte range of the field in the file, for snippets.
    pub span: Option<Range<usize>>,
}

/// The findings of one file, with its text for snippets.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Its text (empty when unreadable).
    pub source: String,
    /// What the checks found, in file order.
    pub findings: Vec<Finding>,
    /// Whether the file could not be read or parsed (exit code 2).
    pub invalid: bool,
}

/// What one `podcheck lint` found.
#[derive(Debug, Clone, Default)]
pub struct LintReport {
    /// Every file looked at, in the order given (folders sorted).
    pub files: Vec<FileReport>,
    /// Paths that could not be read at all (a missing file, a folder with no manifests).
    pub unreadable: Vec<(PathBuf, String)>,
}

impl LintReport {
    /// Findings of every file.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.files.iter().flat_map(|f| &f.findings)
    }

    /// Whether some input could not be read or parsed.
    pub fn invalid_input(&self) -> bool {
        !self.unreadable.is_empty() || self.files.iter().any(|f| f.invalid)
    }

    /// Findings of this severity (a path that could not be read counts as an error).
    pub fn count(&self, severity: Severity) -> usize {
        let unreadable = if severity == Severity::Error {
            self.unreadable.len()
        } else {
            0
        };
        self.findings().filter(|f| f.severity == severity).count() + unreadable
    }
}

/// Settings of one lint run.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Check ids not reported (`--ignore`).
    pub ignore: Vec<String>,
}

/// The ids of `ignore` that no check has.
pub fn unknown_ids(ignore: &[String]) -> Vec<&str> {
    ignore
        .iter()
        .map(String::as_str)
        .filter(|id| registry::find(id).is_none())
        .collect()
}
