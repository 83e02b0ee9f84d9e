//! The same runs as an ordinary user: nothing podcheck does may need root. When the tests
//! run as root, these re-run specs through `runuser` as `nobody`; otherwise the whole suite
//! is already unprivileged and they say so. The whole suite as `nobody` is a trial of the
//! conformance target (`tests/conformance.rs`), where it overlaps the other passes.

#[path = "support/nobody.rs"]
mod nobody;
use nobody::{USER, run_as, unprivileged_or_skip};

#[test]
fn a_missing_feature_is_refused_with_the_reason() {
    let Some(u) = unprivileged_or_skip() else {
        return;
    };
    // An ordinary user has no writable memory cgroup here (no delegation).
    let out = run_as(&u, &["run", "-q"], "specs/resources/oom-killed.toml", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(0) {
        eprintln!("skipped: {USER} has a writable memory cgroup on this machine");
        return;
    }
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("requires memory-limits (run.requires), which is unavailable here")
            && err.contains("Permission denied"),
        "{err}"
    );
}
