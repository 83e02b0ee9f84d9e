//! Helpers for the validation tests: diagnose a spec text, run a table of cases.

use std::path::Path;

use crate::diag::{FileDiagnostics, Severity, line_col};
use crate::spec::parse_spec;

/// A valid pod with one container `app`; tests append fields, tables or `[expect]` to it.
pub const BASE: &str = "[pod]\n[[pod.containers]]\nname = \"app\"\ncommand = [\"true\"]\n";

/// BASE plus `extra` (fields of container `app`, its sub-tables, or later top-level tables).
pub fn app(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// `pod_fields` inserted into the [pod] table, before the container.
pub fn pod(pod_fields: &str) -> String {
    format!("[pod]\n{pod_fields}{}", &BASE["[pod]\n".len()..])
}

/// All diagnostics of `src`, errors or warnings alike.
pub fn diagnose(src: &str) -> FileDiagnostics {
    match parse_spec(Path::new("t.toml"), src) {
        Ok(loaded) => loaded.warnings,
        Err(e) => e,
    }
}

/// Asserts that `src` yields exactly one diagnostic: of `severity`, at `path`, with `needle`
/// in its message and a help, located (and rendered) on the line marked `# <-`.
pub fn assert_diag(src: &str, severity: Severity, path: &str, needle: &str) {
    let fd = diagnose(src);
    let shown = format!("source:\n{src}\ndiagnostics:\n{}", fd.render());
    assert_eq!(fd.diagnostics.len(), 1, "{shown}");
    let d = &fd.diagnostics[0];
    assert_eq!(
        (d.path.to_string().as_str(), d.severity),
        (path, severity),
        "{shown}"
    );
    assert!(
        d.message.contains(needle),
        "{needle:?} not in the message; {shown}"
    );
    assert!(d.help.is_some(), "no help; {shown}");
    let marked = src.lines().position(|l| l.contains("# <-"));
    let want = marked.expect("a line marked # <-") + 1;
    let start = d.span.clone().expect("a span").start;
    assert_eq!(line_col(src, start).0, want, "wrong line; {shown}");
    assert!(fd.render().contains(&format!("t.toml:{want}:")), "{shown}");
}

/// Runs a table of cases, one per line: `SEVERITY | PATH | MESSAGE PART | TOML`. `build`
/// places the TOML in a spec, `\n` in it starts a new line, its last line is the one
/// the diagnostic must point at unless another is marked `# <-`, and PATH follows `prefix`.
pub fn run_cases(cases: &str, prefix: &str, build: impl Fn(&str) -> String) {
    for case in cases.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = case.splitn(4, " | ").collect();
        let [sev, path, needle, toml] = cols[..] else {
            panic!("bad case {case:?}")
        };
        let severity = if sev == "W" {
            Severity::Warning
        } else {
            Severity::Error
        };
        let mut toml = toml.replace("\\n", "\n");
        if !toml.contains("# <-") {
            toml.push_str(" # <-");
        }
        assert_diag(
            &build(&format!("{toml}\n")),
            severity,
            &format!("{prefix}{path}"),
            needle,
        );
    }
}

/// Every diagnostic of `src` as `path: message`, one a line, for `contains` checks.
pub fn errors_of(src: &str) -> String {
    diagnose(src)
        .diagnostics
        .iter()
        .map(|d| format!("{}: {}\n", d.path, d.message))
        .collect()
}
