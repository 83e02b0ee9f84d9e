//! Human and machine output: kubectl-style watch lines and describe blocks, verdicts with
//! their explanations, JSON lines and JUnit XML. Every one reads the recorded timeline.

pub mod bless;
pub mod checklist;
pub mod color;
pub mod describe;
pub mod explain;
pub mod explain_traffic;
pub mod json;
pub mod junit;
pub mod kubectl;
pub mod lint_human;
pub mod lint_json;
pub mod lint_junit;
pub mod lint_measure;
pub mod lint_sarif;
pub mod probes;
pub mod progress;
pub mod services;
pub mod timeline;
pub mod verdict;
pub mod watch;
