//! A spec trial's verdict from its report: an ordinary spec passes when its report does; a
//! spec under a `must-fail/` folder passes when its report fails with every line of its
//! sibling `.expected-failure` file (a `why: ` line must be among the report's causes).

use std::path::Path;

use crate::report::verdict;
use crate::runner::SpecReport;

/// Ok when the trial passes; otherwise the text the suite shows for it.
pub fn judge(path: &Path, report: &SpecReport) -> Result<(), String> {
    let text = verdict::render(&path.display().to_string(), report);
    let must_fail = path.components().any(|c| c.as_os_str() == "must-fail");
    if !must_fail {
        return if report.passed() { Ok(()) } else { Err(text) };
    }
    if report.passed() {
        return Err(format!("this spec is in must-fail/ but it passed:\n{text}"));
    }
    let expected_path = path.with_extension("expected-failure");
    let expected = std::fs::read_to_string(&expected_path).map_err(|e| {
        format!(
            "cannot read {}: {e} (each must-fail spec needs one)",
            expected_path.display()
        )
    })?;
    // A `why: ` line names the cause: it must be in the explanation's `why:` section, which
    // comes before the failed expectations. Every must-fail spec names one, so the suite
    // shows that each failure's report starts with its cause.
    if !expected.lines().any(|l| l.trim().starts_with("why: ")) {
        return Err(format!(
            "{} has no `why: ` line: name the cause the report must start with",
            expected_path.display()
        ));
    }
    let why = verdict::why_section(&text);
    let missing: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| match l.strip_prefix("why: ") {
            Some(cause) => !why.contains(cause),
            None => !l.is_empty() && !text.contains(l),
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the failure report lacks the expected explanation {missing:?}:\n{text}"
        ))
    }
}
