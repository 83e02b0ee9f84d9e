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

/// The one API version a v1.35 API server serves each kind podcheck runs in.
const SERVED: [(&str, &str); 8] = [
    ("Pod", "v1"),
    ("ReplicationController", "v1"),
    ("Deployment", "apps/v1"),
    ("StatefulSet", "apps/v1"),
    ("DaemonSet", "apps/v1"),
    ("ReplicaSet", "apps/v1"),
    ("Job", "batch/v1"),
    ("CronJob", "batch/v1"),
];

/// The error for a kind in an API version that is not served (no longer, or never), in the
/// words kubectl prints for it (`no matches for kind … in version …`), naming the version
/// to use.
pub fn unserved_version(node: &Node, kind: &str, path: &FieldPath) -> Option<Diagnostic> {
    let version = node.get("apiVersion").and_then(Node::as_str)?;
    let Some((_, _, served, removed)) = UNSERVED
        .iter()
        .find(|(k, v, _, _)| *k == kind && *v == version)
    else {
        let (_, served) = SERVED.iter().find(|(k, _)| *k == kind)?;
        return (version != *served).then(|| {
            Diagnostic::error(
                path.key("apiVersion"),
                format!(
                    "no matches for kind {kind:?} in version {version:?}: {kind} is served as {served}"
                ),
            )
            .with_help(format!("use `apiVersion: {served}`"))
        });
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::yaml::parse_documents;

    fn check(src: &str, kind: &str) -> Option<Diagnostic> {
        let doc = parse_documents(src).expect("yaml").remove(0);
        unserved_version(&doc, kind, &FieldPath::root())
    }

    #[test]
    fn every_kind_podcheck_runs_has_its_served_version() {
        let mut served: Vec<&str> = SERVED.iter().map(|(k, _)| *k).collect();
        let mut runs = crate::manifest::objects::KINDS.to_vec();
        served.sort_unstable();
        runs.sort_unstable();
        assert_eq!(
            served, runs,
            "a kind added to one list belongs in the other"
        );
    }

    #[test]
    fn a_version_never_served_names_the_served_one() {
        let d = check("apiVersion: v1beta1\nkind: Pod\n", "Pod").expect("refused");
        assert_eq!(
            d.message,
            "no matches for kind \"Pod\" in version \"v1beta1\": Pod is served as v1"
        );
        assert_eq!(d.help.as_deref(), Some("use `apiVersion: v1`"));
        assert!(check("apiVersion: batch/v2\nkind: Job\n", "Job").is_some());
        assert!(check("apiVersion: apps/v1\nkind: Deployment\n", "Deployment").is_none());
        assert!(check("apiVersion: v1\nkind: Pod\n", "Pod").is_none());
        let d = check("apiVersion: apps/v1beta2\nkind: DaemonSet\n", "DaemonSet").expect("refused");
        assert!(
            d.message.contains("removed in Kubernetes 1.16"),
            "{}",
            d.message
        );
    }
}
