//! `podcheck lint --format sarif`: SARIF 2.1.0 as GitHub code scanning reads it.
//!
//! Built with serde_json rather than a SARIF crate: the subset code scanning uses is small
//! and fixed. The document is `{"$schema", "version": "2.1.0", "runs": [run]}`, where run =
//! `{"tool": {"driver": {"name", "version", "rules": [rule]}}, "results": [result]}`,
//! rule = `{"id", "name", "shortDescription": {"text"}, "help": {"text"},
//! "defaultConfiguration": {"level"}}` for every check, and result = `{"ruleId",
//! "ruleIndex", "level", "message": {"text"}, "locations": [{"physicalLocation":
//! {"artifactLocation": {"uri"}, "region": {"startLine", "startColumn"}}}]}`, the uri
//! relative to the working directory with `/` separators (code scanning resolves it
//! against the repository root).

use serde_json::json;

use crate::lint::registry::CHECKS;
use crate::lint::{LintReport, Severity};

/// SARIF's level for a severity.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// The path as a relative URI when it is inside the working directory.
fn uri(path: &std::path::Path) -> String {
    let rel = std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            path.strip_prefix(cwd)
                .ok()
                .map(std::path::Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf());
    let s = rel.display().to_string().replace('\\', "/");
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

/// The SARIF document, pretty-printed.
pub fn render(report: &LintReport) -> String {
    let rules: Vec<_> = CHECKS
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.id,
                "shortDescription": {"text": c.summary},
                "fullDescription": {"text": c.summary},
                "help": {"text": format!("{} (podcheck lint check `{}`; silence it with the annotation podcheck.dev/ignore: \"{}\" or --ignore {})", c.summary, c.id, c.id, c.id)},
                "defaultConfiguration": {"level": level(c.severity)},
            })
        })
        .collect();
    let results: Vec<_> = report
        .findings()
        .map(|f| {
            let index = CHECKS.iter().position(|c| c.id == f.id).unwrap_or(0);
            let text = if f.field.is_empty() {
                format!("{} Fix: {}", f.message, f.fix)
            } else {
                format!("{}: {} Fix: {}", f.field, f.message, f.fix)
            };
            json!({
                "ruleId": f.id,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&f.file)},
                        "region": {"startLine": f.line.max(1), "startColumn": f.column.max(1)},
                    }
                }],
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "podcheck",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
