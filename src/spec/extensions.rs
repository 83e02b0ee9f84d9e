//! podcheck extensions a spec uses: fine locally, but a real cluster would reject or treat
//! them differently. `podcheck lint` reports them so nobody mistakes a spec for a manifest.

use super::model::SpecFile;
use crate::diag::{Diagnostic, FieldPath};

/// Warnings for every extension the spec relies on.
pub fn extensions(spec: &SpecFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let pod = FieldPath::root().key("pod");
    let lists = [
        ("initContainers", &spec.pod.init_containers),
        ("containers", &spec.pod.containers),
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
    out
}
