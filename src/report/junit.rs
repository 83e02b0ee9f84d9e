//! JUnit XML (`--junit FILE`, `PODCHECK_JUNIT`): one testsuite, one testcase per spec, the
//! failure explanation as the failure's message and text, the containers' logs in
//! `system-out`. Written with nextest's `quick-junit`.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::runner::SpecReport;

use super::{explain, verdict};

/// Why a JUnit file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    /// Serialising the report failed.
    #[error("cannot serialise the JUnit report: {0}")]
    Serialize(#[from] quick_junit::SerializeError),
    /// The file could not be written.
    #[error("cannot write the JUnit report {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The outcome of one spec as a testcase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    /// The spec passed (or, under `must-fail/`, failed as expected).
    Passed,
    /// An expectation did not hold: a one-line message and the full text.
    Failed {
        /// The first cause, or the first failure.
        message: String,
        /// The whole failure report.
        text: String,
    },
    /// The spec could not run (invalid, or the environment lacked something).
    Error {
        /// What went wrong.
        message: String,
    },
    /// Skipped (a `run.requires` feature is missing here).
    Skipped {
        /// Why.
        reason: String,
    },
}

/// One spec's testcase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The spec's name as the runner shows it (a path).
    pub name: String,
    /// What happened.
    pub outcome: CaseOutcome,
    /// Real time the spec took.
    pub time: Duration,
    /// The containers' logs.
    pub system_out: String,
}

impl Case {
    /// The testcase of a finished run; `passed` is the trial's own result (a must-fail spec
    /// passes when it fails).
    pub fn from_report(name: &str, r: &SpecReport, time: Duration) -> Case {
        let outcome = if r.passed() {
            CaseOutcome::Passed
        } else {
            CaseOutcome::Failed {
                message: first_line(r),
                text: verdict::render(name, r),
            }
        };
        Case {
            name: name.to_owned(),
            outcome,
            time,
            system_out: verdict::logs_text(r),
        }
    }
}

/// The failure message: the first cause line, else the first failure.
pub fn first_line(r: &SpecReport) -> String {
    explain::causes(r)
        .into_iter()
        .next()
        .or_else(|| r.verdict.failures.first().cloned())
        .unwrap_or_else(|| "the spec failed".to_owned())
}

/// The testcases of a run, collected from any thread (harness trials run in parallel).
#[derive(Debug, Default)]
pub struct Collector {
    cases: Mutex<Vec<Case>>,
}

impl Collector {
    /// An empty collector.
    pub const fn new() -> Self {
        Collector {
            cases: Mutex::new(Vec::new()),
        }
    }

    /// Adds one testcase.
    pub fn push(&self, case: Case) {
        self.cases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(case);
    }

    /// Takes the cases collected so far, sorted by name (trials finish in any order).
    pub fn take(&self) -> Vec<Case> {
        let mut cases = std::mem::take(&mut *self.cases.lock().unwrap_or_else(|p| p.into_inner()));
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        cases
    }
}

/// The XML of one testsuite named `suite` that started at `started` and took `time`.
pub fn render(
    suite: &str,
    cases: &[Case],
    started: SystemTime,
    time: Duration,
) -> Result<String, JunitError> {
    let stamp = chrono::DateTime::<chrono::Utc>::from(started).fixed_offset();
    let mut ts = TestSuite::new(suite);
    ts.set_timestamp(stamp).set_time(time);
    for c in cases {
        let status = match &c.outcome {
            CaseOutcome::Passed => TestCaseStatus::success(),
            CaseOutcome::Failed { message, text } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(message.as_str())
                    .set_type("expectation failed")
                    .set_description(text.as_str());
                s
            }
            CaseOutcome::Error { message } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                let first = message.lines().next().unwrap_or_default();
                s.set_message(first).set_description(message.as_str());
                s
            }
            CaseOutcome::Skipped { reason } => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(reason.as_str());
                s
            }
        };
        let mut tc = TestCase::new(c.name.as_str(), status);
        tc.set_classname(suite).set_time(c.time);
        if !c.system_out.is_empty() {
            tc.set_system_out(c.system_out.as_str());
        }
        ts.add_test_case(tc);
    }
    let mut report = Report::new("podcheck");
    report
        .set_timestamp(stamp)
        .set_time(time)
        .add_test_suite(ts);
    Ok(report.to_string()?)
}

/// Writes the testsuite to `path`.
pub fn write(
    path: &Path,
    suite: &str,
    cases: &[Case],
    started: SystemTime,
    time: Duration,
) -> Result<(), JunitError> {
    let xml = render(suite, cases, started, time)?;
    std::fs::write(path, xml).map_err(|source| JunitError::Write {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::explain::tests::startup_404_report;

    #[test]
    fn a_failed_spec_carries_its_cause_as_the_message() {
        let r = startup_404_report();
        let case = Case::from_report("web.toml", &r, Duration::from_millis(5_100));
        let ok = Case {
            name: "ok.toml".into(),
            outcome: CaseOutcome::Passed,
            time: Duration::from_secs(1),
            system_out: String::new(),
        };
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let xml = render("specs", &[ok, case], started, Duration::from_secs(7)).expect("xml");
        for want in [
            r#"<testsuites name="podcheck" tests="2" skipped="0" failures="1" errors="0" timestamp="2026-01-01T00:00:00.000+00:00" time="7.000">"#,
            r#"<testcase name="ok.toml" classname="specs" time="1.000"/>"#,
            r#"<failure message="app: startupProbe httpGet failed 3/3 times in a row (HTTP probe failed with statuscode: 404) → killed at 3s" type="expectation failed">FAIL web.toml"#,
            "<system-out>  log of app (restart 0), last 4 line(s):",
        ] {
            assert!(xml.contains(want), "{want}\nnot in\n{xml}");
        }
    }

    #[test]
    fn collected_cases_come_out_sorted() {
        let c = Collector::new();
        for name in ["b", "a"] {
            c.push(Case {
                name: name.into(),
                outcome: CaseOutcome::Skipped {
                    reason: "requires memory-limits".into(),
                },
                time: Duration::ZERO,
                system_out: String::new(),
            });
        }
        let names: Vec<String> = c.take().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(c.take().is_empty());
    }
}
