//! What the runner says about a pod before it runs: where this machine cannot do what the
//! pod asks (volumes at their mountPath, memory limits, users) and what it makes for the
//! run (hostPath paths the host lacks).

use crate::spec::model::Pod;

/// Says so when volumes cannot appear at their `mountPath`.
pub(super) fn volume_note(pod: &Pod, pod_mode: bool) -> Option<String> {
    let mounts = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .any(|c| !c.volume_mounts.is_empty());
    let why = if !mounts {
        return None;
    } else if !pod_mode {
        "isolation is none".to_owned()
    } else {
        crate::runtime::isolation::mounts_in_pod_mode().err()?
    };
    Some(format!(
        "volumes are not at their mountPath ({why}): containers find them through PODCHECK_VOLUME_<NAME>"
    ))
}

/// Names the containers with readOnlyRootFilesystem where no mount namespace can honour it.
pub(super) fn read_only_root_note(pod: &Pod, pod_mode: bool) -> Option<String> {
    if pod_mode && crate::runtime::isolation::mounts_in_pod_mode().is_ok() {
        return None;
    }
    let named: Vec<&str> = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .filter(|c| {
            c.security_context
                .as_ref()
                .and_then(|s| s.read_only_root_filesystem)
                .unwrap_or(false)
        })
        .map(|c| c.name.as_str())
        .collect();
    (!named.is_empty()).then(|| {
        format!(
            "readOnlyRootFilesystem has no effect without pod isolation and mount namespaces ({}): their writes to the root file system succeed",
            named.join(", ")
        )
    })
}

/// Names the workingDirs this machine lacks where no mount namespace can make them: the
/// runtime would make each, podcheck cannot without changing the host, so the container
/// fails to start (StartError).
pub(super) fn working_dir_note(pod: &Pod, pod_mode: bool) -> Option<String> {
    if pod_mode && crate::runtime::isolation::mounts_in_pod_mode().is_ok() {
        return None;
    }
    let missing: Vec<String> = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .filter_map(|c| {
            let dir = c.working_dir.as_deref()?;
            (!std::path::Path::new(dir).is_dir()).then(|| format!("{} ({dir})", c.name))
        })
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "workingDir not on this machine: {}; a runtime would make it, podcheck can only in pod isolation with mount namespaces, so these containers fail with StartError",
            missing.join(", ")
        )
    })
}

/// Names the hostPath volumes whose path this machine lacks and that the node would make
/// (no type, DirectoryOrCreate, FileOrCreate): podcheck makes them for the run only, so
/// what containers write there never reaches this machine's own path.
pub(super) fn made_host_paths_note(pod: &Pod) -> Option<String> {
    let made: Vec<&str> = pod
        .volumes
        .iter()
        .filter_map(|v| v.host_path.as_ref())
        .filter(|h| {
            matches!(
                h.type_.as_deref().unwrap_or(""),
                "" | "DirectoryOrCreate" | "FileOrCreate"
            ) && !std::path::Path::new(&h.path).exists()
        })
        .map(|h| h.path.as_str())
        .collect();
    (!made.is_empty()).then(|| {
        format!(
            "hostPath {} not on this machine: made for this run only, shared by its pods and removed at its end (podcheck never changes the host)",
            made.join(", ")
        )
    })
}

/// Says so when an emptyDir asks for a tmpfs (`medium: Memory`) or a size limit: the
/// volume is a directory on this machine's disk either way, so nothing is counted against a
/// memory limit, no write fails for space and no pod is evicted for its usage.
pub(super) fn empty_dir_note(pod: &Pod) -> Option<String> {
    let asked: Vec<String> = pod
        .volumes
        .iter()
        .filter_map(|v| {
            let e = v.empty_dir.as_ref()?;
            let mut what = Vec::new();
            if let Some(m) = e.medium.as_deref().filter(|m| !m.is_empty()) {
                what.push(format!("medium {m}"));
            }
            if let Some(l) = &e.size_limit {
                what.push(format!("sizeLimit {l}"));
            }
            (!what.is_empty()).then(|| format!("{} ({})", v.name, what.join(", ")))
        })
        .collect();
    (!asked.is_empty()).then(|| {
        format!(
            "emptyDir {}: a directory on this machine's disk, not a tmpfs and without a size limit (no ENOSPC, no eviction for its usage)",
            asked.join(", ")
        )
    })
}

/// Says so when a container has a memory limit this machine cannot enforce.
pub(super) fn memory_note(pod: &Pod) -> Option<String> {
    let limited: Vec<&str> = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .filter(|c| c.memory_limit().is_some())
        .map(|c| c.name.as_str())
        .collect();
    if limited.is_empty() {
        return None;
    }
    static SWEEP: std::sync::Once = std::sync::Once::new();
    match crate::runtime::cgroup::memory_support() {
        Ok(_) => {
            // Cgroups a SIGKILLed runner left behind go before this run makes its own.
            SWEEP.call_once(|| {
                crate::runtime::cgroup::sweep_stale();
            });
            None
        }
        Err(e) => Some(format!(
            "memory limits not enforced ({}): {e}; no container can be OOMKilled",
            limited.join(", ")
        )),
    }
}

/// Why this podcheck cannot run the pod's containers as the users their securityContext
/// (or their image's USER) names (only root can switch users), if it cannot.
pub fn identity_unavailable(
    pod: &crate::spec::model::Pod,
    images: &std::collections::BTreeMap<String, crate::spec::model::ImageEntry>,
) -> Option<String> {
    use crate::spec::security::{ImageUser, effective_ids};
    crate::spec::security::pod_identities(pod).find_map(|(c, want)| {
        let declared = c
            .image
            .as_ref()
            .and_then(|i| Some((i, images.get(i)?.user.as_deref()?)));
        let image = declared.and_then(|(_, u)| ImageUser::parse(u).ok());
        effective_ids(&want, image.as_ref())
            .and_then(|(uid, gid)| {
                crate::runtime::identity::resolve(crate::runtime::identity::Request {
                    uid,
                    gid,
                    supplemental: &want.supplemental_groups,
                })
            })
            .err()
            .map(|e| match declared {
                // The uid came from the image, not the securityContext.
                Some((name, _)) if want.run_as_user.is_none() => format!(
                    "container {}: {}",
                    c.name,
                    e.replace(
                        "securityContext.runAsUser",
                        &format!("images.{name:?}.user")
                    )
                ),
                _ => format!("container {}: {e}", c.name),
            })
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{empty_dir_note, working_dir_note};
    use crate::spec::load::parse_spec;

    fn pod(volumes: &str) -> crate::spec::model::Pod {
        let src =
            format!("[[pod.containers]]\nname = \"app\"\ncommand = [\"sleep\", \"9\"]\n{volumes}");
        parse_spec(Path::new("t.toml"), &src)
            .unwrap_or_else(|e| panic!("{}", e.render()))
            .spec
            .pod
    }

    #[test]
    fn empty_dir_note_names_each_unenforced_setting() {
        let p = pod(concat!(
            "[[pod.volumes]]\nname = \"cache\"\nemptyDir = { medium = \"Memory\", sizeLimit = \"64Mi\" }\n",
            "[[pod.volumes]]\nname = \"plain\"\nemptyDir = {}\n",
            "[[pod.volumes]]\nname = \"scratch\"\nemptyDir = { sizeLimit = \"1Gi\" }\n",
        ));
        let note = empty_dir_note(&p).expect("a note");
        assert!(
            note.starts_with(
                "emptyDir cache (medium Memory, sizeLimit 64Mi), scratch (sizeLimit 1Gi): "
            ),
            "{note}"
        );
        assert!(!note.contains("plain"), "{note}");
    }

    #[test]
    fn plain_empty_dirs_need_no_note() {
        let p = pod("[[pod.volumes]]\nname = \"plain\"\nemptyDir = { medium = \"\" }\n");
        assert_eq!(empty_dir_note(&p), None);
    }

    #[test]
    fn a_missing_working_dir_is_named_where_it_cannot_be_made() {
        let p: crate::spec::model::Pod = toml::from_str(
            "[[containers]]\nname = \"a\"\nworkingDir = \"/no/such/podcheck-dir\"\n[[containers]]\nname = \"b\"\nworkingDir = \"/\"\n",
        )
        .expect("pod");
        let note = working_dir_note(&p, false).expect("a note");
        assert!(
            note.contains("a (/no/such/podcheck-dir)") && !note.contains("b ("),
            "{note}"
        );
    }
}
