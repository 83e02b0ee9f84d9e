//! API versions of the kinds podcheck runs that a v1.35 API server no longer serves, so an
//! old manifest is told which version to use instead of failing on a type mismatch.

use super::yaml::Node;
use crate::diag::{Diagnostic, FieldPath};

/// API versions a v1.35 API server no longer serves for a kind podcheck runs: the version,
/// the one to use, and the release that removed it.
const UNSERVED: [(&str, &str, &str, &str); 10] = [
    ("Deployment", "extensions/v1beta1", "apps/v1", "1.16"),
    ("Deployment", "apps/v1beta1", "apps/v1", "1.16"),
    ("Deployment", "apps/v1beta2", "apps/v1", "1.16"),
    ("DaemonSet", "extensions/v1beta1", "apps/v1", "1.16"),
    ("DaemonSet", "apps/v1beta2", "apps/v1", "1.16"),
    ("ReplicaSet", "extensions/v1beta1", "apps/v1", "1.16"),
    ("ReplicaSet", "apps/v1beta2", "apps/v1", "1.16"),
    ("StatefulSet", "apps/v1beta1", "apps/v1", "1.16"),
    ("StatefulSet", "apps/v1beta2", "apps/v1", "1.16"),
    ("CronJob", "batch/v1beta1", "batch/v1", "1.25"),
];

/// The error for a kind in an API version that is no longer served, in the words kubectl
/// prints for it (`no matches for kind … in version …`), naming the version to use.
pub fn unserved_version(node: &Node, kind: &str, path: &FieldPath) -> Option<Diagnostic> {
    let version = node.get("apiVersion").and_then(Node::as_str)?;
    let (_, _, served, removed) = UNSERVED
        .iter()
        .find(|(k, v, _, _)| *k == kind && *v == version)?;
    let selector = if served == &"apps/v1" {
        " (apps/v1 also requires spec.selector, matching the template's labels)"
    } else {
        ""
    };
    Some(
        Diagnostic::error(
            path.key("apiVersion"),
            format!(
                "no matches for kind {kind:?} in version {version:?}: {version} is no longer served (removed in Kubernetes {removed}); {kind} is served as {served}"
            ),
        )
        .with_help(format!("use `apiVersion: {served}`{selector}")),
    )
}
