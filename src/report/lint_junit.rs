//! `podcheck lint --format junit`: one testcase per file, failing when the file has a
//! finding at or above `--fail-on`, with every finding in the failure text.

use std::time::{Duration, SystemTime};

use super::junit::{Case, CaseOutcome, JunitError, render as render_suite};
use crate::lint::{LintReport, Severity};

/// The JUnit XML; `fail_on` None means no finding fails a testcase.
pub fn render(report: &LintReport, fail_on: Option<Severity>) -> Result<String, JunitError> {
    let mut cases: Vec<Case> = report
        .unreadable
        .iter()
        .map(|(p, m)| Case {
            name: p.display().to_string(),
            outcome: CaseOutcome::Error { message: m.clone() },
            time: Duration::ZERO,
            system_out: String::new(),
        })
        .collect();
    for file in &report.files {
        let lines: Vec<String> = file
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{}:{}:{}: {}[{}]: {}: {} (fix: {})",
                    f.file.display(),
                    f.line,
                    f.column,
                    f.severity.as_str(),
                    f.id,
                    f.field,
                    f.message,
                    f.fix
                )
            })
            .collect();
        let failing = file
            .findings
            .iter()
            .filter(|f| fail_on.is_some_and(|s| f.severity >= s))
            .count();
        let outcome = if file.invalid {
            CaseOutcome::Error {
                message: lines.join("\n"),
            }
        } else if failing > 0 {
            CaseOutcome::Failed {
                message: format!(
                    "{failing} finding(s) at or above {}",
                    fail_on.map_or("never", Severity::as_str)
                ),
                text: lines.join("\n"),
            }
        } else {
            CaseOutcome::Passed
        };
        cases.push(Case {
            name: file.path.display().to_string(),
            outcome,
            time: Duration::ZERO,
            system_out: if failing == 0 {
                lines.join("\n")
            } else {
                String::new()
            },
        });
    }
    render_suite("podcheck lint", &cases, SystemTime::now(), Duration::ZERO)
}
