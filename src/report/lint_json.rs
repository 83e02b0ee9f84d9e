//! `podcheck lint --format json`: one document with every finding and the counts.
//!
//! `{"findings": [{"id", "severity", "file", "line", "column", "field", "message", "fix"}],
//! "files": N, "errors": N, "warnings": N, "notes": N, "invalid_input": [{"file", "message"}]}`

use serde_json::json;

use crate::lint::{LintReport, Severity};

/// The JSON document, pretty-printed.
pub fn render(report: &LintReport) -> String {
    let findings: Vec<_> = report
        .findings()
        .map(|f| {
            json!({
                "id": f.id,
                "severity": f.severity.as_str(),
                "file": f.file.display().to_string(),
                "line": f.line,
                "column": f.column,
                "field": f.field,
                "message": f.message,
                "fix": f.fix,
            })
        })
        .collect();
    let mut invalid: Vec<_> = report
        .unreadable
        .iter()
        .map(|(p, m)| json!({"file": p.display().to_string(), "message": m}))
        .collect();
    invalid.extend(report.files.iter().filter(|f| f.invalid).map(
        |f| json!({"file": f.path.display().to_string(), "message": "the file cannot be parsed"}),
    ));
    let doc = json!({
        "findings": findings,
        "files": report.files.len() + report.unreadable.len(),
        "errors": report.count(Severity::Error),
        "warnings": report.count(Severity::Warning),
        "notes": report.count(Severity::Note),
        "invalid_input": invalid,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
