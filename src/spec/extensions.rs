//! podcheck extensions a spec uses: fine locally, but a real cluster would reject or treat
//! them differently. `podcheck lint` reports them so nobody mistakes a spec for a manifest.

use super::model::SpecFile;
use crate::diag::{Diagnostic, FieldPath};

/// Warnings for every extension the spec relies on.
pub fn extensions(spec: &SpecFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if spec.pods.is_empty() {
        containers(&spec.pod, &FieldPath::root().key("pod"), &mut out);
    }
    for (name, p) in &spec.pods {
        let path = FieldPath::root().key("pods").key(name);
        let set = [
            ("start_at", p.start_at.is_some()),
            ("delete_at", p.delete_at.is_some()),
            ("delete_grace", p.delete_grace.is_some()),
            ("replicas", p.replicas.is_some()),
        ];
        for (key, _) in set.iter().filter(|(_, s)| *s) {
            out.push(
                Diagnostic::warning(
                    path.key(key),
                    format!("`{key}` is a podcheck extension: a Pod has no such field (a controller or kubectl does this in a cluster)"),
                )
                .with_help("keep it for the local run; in a cluster use a Deployment/StatefulSet's replicas, or kubectl delete"),
            );
        }
        containers(p, &path, &mut out);
    }
    out
}

/// The extensions of one pod's containers.
fn containers(p: &crate::spec::model::Pod, pod: &FieldPath, out: &mut Vec<Diagnostic>) {
    let lists = [
        ("initContainers", &p.init_containers),
        ("containers", &p.containers),
    ];
    for (list, containers) in lists {
        for (i, c) in containers.iter().enumerate() {
            if c.image.is_none() {
                out.push(
                    Diagnostic::warning(
                        pod.key(list).index(i).key("name"),
                        format!("container {:?} has no image: a podcheck extension, a real cluster requires `image`", c.name),
                    )
                    .with_help("add the image the container runs in the cluster; its `command` still decides what podcheck runs"),
                );
            }
            let uses_local_env = c.command.iter().chain(c.args.iter()).flatten().any(|a| {
                a.contains("PODCHECK_VOLUME_") || a.contains("PODCHECK_TERMINATION_MESSAGE_PATH")
            });
            if uses_local_env {
                out.push(
                    Diagnostic::warning(
                        pod.key(list).index(i).key("command"),
                        "uses podcheck's PODCHECK_VOLUME_*/PODCHECK_TERMINATION_MESSAGE_PATH variables, which a real cluster does not set",
                    )
                    .with_help("on a cluster use the volume's mountPath and terminationMessagePath instead"),
                );
            }
        }
    }
}
