//! What the workload rules' tests share: a manifest's workload findings, and assertions on them.

use std::path::Path;

use crate::manifest::parse_source;

/// (path, message, rule) of every workload finding of a manifest.
pub(super) fn errs(src: &str) -> Vec<(String, String, &'static str)> {
    let file = parse_source(Path::new("t.yaml"), src.to_owned());
    file.diagnostics
        .iter()
        .filter_map(|d| d.rule.map(|r| (d.path.to_string(), d.message.clone(), r)))
        .collect()
}

/// Asserts the manifest has the finding `path: message`.
pub(super) fn has(src: &str, path: &str, message: &str) {
    let e = errs(src);
    assert!(
        e.iter().any(|(p, m, _)| p == path && m == message),
        "no {path}: {message} in {e:#?}"
    );
}

/// Asserts the manifest has no workload finding.
pub(super) fn clean(src: &str) {
    let e = errs(src);
    assert!(e.is_empty(), "{e:#?}");
}
