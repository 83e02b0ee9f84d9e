//! The identity a container runs as: the container's `securityContext` fields win over the
//! pod's (securitycontext `DetermineEffectiveSecurityContext`), and `runAsNonRoot` is checked
//! against the result as the kubelet does before it creates the container
//! (kuberuntime `verifyRunAsNonRoot`).

use super::model::{Container, Pod};

/// The user, group and groups a container asks for, after the pod's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestedIdentity {
    /// `runAsUser`; None runs as the image's user (for a local command: podcheck's user).
    pub run_as_user: Option<i64>,
    /// `runAsGroup`; None takes the user's primary group.
    pub run_as_group: Option<i64>,
    /// `runAsNonRoot`.
    pub run_as_non_root: bool,
    /// The pod's `supplementalGroups`.
    pub supplemental_groups: Vec<i64>,
}

impl RequestedIdentity {
    /// Whether the container asks for any identity at all.
    pub fn is_default(&self) -> bool {
        self.run_as_user.is_none()
            && self.run_as_group.is_none()
            && self.supplemental_groups.is_empty()
    }
}

/// The container's effective identity request.
pub fn requested_identity(pod: &Pod, c: &Container) -> RequestedIdentity {
    let p = pod.security_context.clone().unwrap_or_default();
    let s = c.security_context.clone().unwrap_or_default();
    RequestedIdentity {
        run_as_user: s.run_as_user.or(p.run_as_user),
        run_as_group: s.run_as_group.or(p.run_as_group),
        run_as_non_root: s.run_as_non_root.or(p.run_as_non_root).unwrap_or(false),
        supplemental_groups: p.supplemental_groups,
    }
}

/// `verifyRunAsNonRoot`: the kubelet's error when a container with `runAsNonRoot` would run
/// as root. `image_uid` is the uid the image's USER names, when known; a local command has
/// none, so only an explicit `runAsUser` is checked (validation notes this). `pod_ref` is
/// `name_namespace(uid)`.
pub fn verify_run_as_non_root(
    id: &RequestedIdentity,
    image_uid: Option<u32>,
    pod_ref: &str,
    container: &str,
) -> Result<(), String> {
    if !id.run_as_non_root {
        return Ok(());
    }
    match id.run_as_user {
        Some(0) => Err(format!(
            "container's runAsUser breaks non-root policy (pod: \"{pod_ref}\", container: {container})"
        )),
        Some(_) => Ok(()),
        None if image_uid == Some(0) => Err(format!(
            "container has runAsNonRoot and image will run as root (pod: \"{pod_ref}\", container: {container})"
        )),
        None => Ok(()),
    }
}

/// Every container of the pod with its effective identity request, init containers first.
pub fn pod_identities(pod: &Pod) -> impl Iterator<Item = (&Container, RequestedIdentity)> {
    pod.init_containers
        .iter()
        .chain(&pod.containers)
        .map(move |c| (c, requested_identity(pod, c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{PodSecurityContext, SecurityContext};

    fn pod(toml: &str) -> Pod {
        toml::from_str(toml).expect("pod")
    }

    #[test]
    fn the_container_wins_over_the_pod_field_by_field() {
        let mut p = pod("[[containers]]\nname = \"a\"\ncommand = [\"true\"]\n");
        p.security_context = Some(PodSecurityContext {
            run_as_user: Some(1000),
            run_as_group: Some(3000),
            run_as_non_root: Some(true),
            supplemental_groups: vec![4000],
        });
        p.containers[0].security_context = Some(SecurityContext {
            run_as_user: Some(2000),
            ..Default::default()
        });
        let id = requested_identity(&p, &p.containers[0]);
        assert_eq!(id.run_as_user, Some(2000));
        assert_eq!(id.run_as_group, Some(3000));
        assert!(id.run_as_non_root);
        assert_eq!(id.supplemental_groups, [4000]);
    }

    #[test]
    fn run_as_non_root_uses_the_kubelet_messages() {
        let mut id = RequestedIdentity {
            run_as_non_root: true,
            run_as_user: Some(0),
            ..Default::default()
        };
        let e = verify_run_as_non_root(&id, Some(1000), "web_default(u1)", "app").unwrap_err();
        assert_eq!(
            e,
            "container's runAsUser breaks non-root policy (pod: \"web_default(u1)\", container: app)"
        );
        id.run_as_user = None;
        assert!(verify_run_as_non_root(&id, Some(1000), "p", "app").is_ok());
        let e = verify_run_as_non_root(&id, Some(0), "web_default(u1)", "app").unwrap_err();
        assert!(e.starts_with("container has runAsNonRoot and image will run as root"));
        // A local command has no image USER: nothing to check without runAsUser.
        assert!(verify_run_as_non_root(&id, None, "p", "app").is_ok());
        id.run_as_user = Some(1000);
        assert!(verify_run_as_non_root(&id, Some(0), "p", "app").is_ok());
        id.run_as_non_root = false;
        id.run_as_user = Some(0);
        assert!(verify_run_as_non_root(&id, Some(0), "p", "app").is_ok());
    }
}
