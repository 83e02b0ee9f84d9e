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

/// An image's USER as the runtime reports it to the kubelet (containerd's
/// `getUserFromImage`): the part before `:` is a uid when numeric, else a user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUser {
    /// The numeric uid, when the user part is one.
    pub uid: Option<u32>,
    /// The user name, when the user part is not numeric.
    pub name: Option<String>,
    /// The group part after `:`, numeric or a name.
    pub group: Option<String>,
}

impl ImageUser {
    /// Splits `user[:group]`; Err says what is wrong with it.
    pub fn parse(s: &str) -> Result<ImageUser, String> {
        let (user, group) = match s.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (s, None),
        };
        if user.is_empty() || group.is_some_and(str::is_empty) {
            return Err(format!(
                "image user {s:?} is not `uid`, `uid:gid`, `name` or `name:group`"
            ));
        }
        let numeric = user.bytes().all(|b| b.is_ascii_digit());
        let uid =
            if numeric {
                Some(user.parse::<u32>().map_err(|_| {
                    format!("image user {s:?}: uid {user} is larger than 4294967295")
                })?)
            } else {
                None
            };
        Ok(ImageUser {
            uid,
            name: (!numeric).then(|| user.to_owned()),
            group: group.map(str::to_owned),
        })
    }

    /// The uid and, when the image names one, the gid, looked up in this machine's
    /// /etc/passwd and /etc/group as a runtime looks them up in the image's.
    pub fn resolve(&self) -> Result<(u32, Option<u32>), String> {
        let (uid, primary) = match (&self.uid, &self.name) {
            (Some(u), _) => (*u, None),
            (None, Some(n)) => {
                let (u, g) = crate::runtime::identity::user_by_name(n).ok_or_else(|| {
                    format!("unable to find user {n}: no matching entries in passwd file")
                })?;
                (u, Some(g))
            }
            (None, None) => (0, None),
        };
        let gid = match &self.group {
            None => primary,
            Some(g) if g.bytes().all(|b| b.is_ascii_digit()) => Some(
                g.parse::<u32>()
                    .map_err(|_| format!("image group {g} is larger than 4294967295"))?,
            ),
            Some(g) => Some(crate::runtime::identity::group_by_name(g).ok_or_else(|| {
                format!("unable to find group {g}: no matching entries in group file")
            })?),
        };
        Ok((uid, gid))
    }
}

/// The uid and gid a container runs as: its securityContext's, else its image's USER (the
/// image's group only goes with the image's user, as a runtime applies them); None keeps
/// podcheck's own.
pub fn effective_ids(
    want: &RequestedIdentity,
    image: Option<&ImageUser>,
) -> Result<(Option<i64>, Option<i64>), String> {
    match (want.run_as_user, image) {
        (Some(u), _) => Ok((Some(u), want.run_as_group)),
        (None, Some(img)) => {
            let (u, g) = img.resolve()?;
            Ok((Some(i64::from(u)), want.run_as_group.or(g.map(i64::from))))
        }
        (None, None) => Ok((None, want.run_as_group)),
    }
}

/// `verifyRunAsNonRoot`: the kubelet's error when a container with `runAsNonRoot` would run
/// as root. `image` is the image's USER; an image without one runs as root. For a local
/// command with no `user` podcheck passes None: only an explicit `runAsUser` is checked
/// (validation notes this). `pod_ref` is `name_namespace(uid)`.
pub fn verify_run_as_non_root(
    id: &RequestedIdentity,
    image: Option<&ImageUser>,
    pod_ref: &str,
    container: &str,
) -> Result<(), String> {
    if !id.run_as_non_root {
        return Ok(());
    }
    match (id.run_as_user, image) {
        (Some(0), _) => Err(format!(
            "container's runAsUser breaks non-root policy (pod: \"{pod_ref}\", container: {container})"
        )),
        (Some(_), _) | (None, None) => Ok(()),
        (None, Some(ImageUser { uid: Some(0), .. })) => Err(format!(
            "container has runAsNonRoot and image will run as root (pod: \"{pod_ref}\", container: {container})"
        )),
        (
            None,
            Some(ImageUser {
                uid: None,
                name: Some(n),
                ..
            }),
        ) => Err(format!(
            "container has runAsNonRoot and image has non-numeric user ({n}), cannot verify user is non-root (pod: \"{pod_ref}\", container: {container})"
        )),
        // validation.IsValidUserID: a uid the API would never take (kuberuntime's third case).
        (None, Some(ImageUser { uid: Some(u), .. })) if i64::from(*u) > i64::from(i32::MAX) => {
            Err(format!(
                "container has runAsNonRoot and image has an invalid user id ({u}). (Must be 1-({max})): must be between 0 and {max}, inclusive (pod: \"{pod_ref}\", container: {container})",
                max = i32::MAX
            ))
        }
        (None, Some(_)) => Ok(()),
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
        let user = |s: &str| ImageUser::parse(s).expect("an image user");
        let (uid_1000, root, named) = (user("1000"), user("0:0"), user("nonroot"));
        let e = verify_run_as_non_root(&id, Some(&uid_1000), "web_default(u1)", "app").unwrap_err();
        assert_eq!(
            e,
            "container's runAsUser breaks non-root policy (pod: \"web_default(u1)\", container: app)"
        );
        id.run_as_user = None;
        assert!(verify_run_as_non_root(&id, Some(&uid_1000), "p", "app").is_ok());
        let e = verify_run_as_non_root(&id, Some(&root), "web_default(u1)", "app").unwrap_err();
        assert_eq!(
            e,
            "container has runAsNonRoot and image will run as root (pod: \"web_default(u1)\", container: app)"
        );
        let e = verify_run_as_non_root(&id, Some(&named), "web_default(u1)", "app").unwrap_err();
        assert_eq!(
            e,
            "container has runAsNonRoot and image has non-numeric user (nonroot), cannot verify user is non-root (pod: \"web_default(u1)\", container: app)"
        );
        let huge = user("4294967295");
        let e = verify_run_as_non_root(&id, Some(&huge), "p", "app").unwrap_err();
        assert_eq!(
            e,
            "container has runAsNonRoot and image has an invalid user id (4294967295). (Must be 1-(2147483647)): must be between 0 and 2147483647, inclusive (pod: \"p\", container: app)"
        );
        // A local command without a declared USER: nothing to check without runAsUser.
        assert!(verify_run_as_non_root(&id, None, "p", "app").is_ok());
        id.run_as_user = Some(1000);
        assert!(verify_run_as_non_root(&id, Some(&root), "p", "app").is_ok());
        assert!(verify_run_as_non_root(&id, Some(&named), "p", "app").is_ok());
        id.run_as_non_root = false;
        id.run_as_user = Some(0);
        assert!(verify_run_as_non_root(&id, Some(&root), "p", "app").is_ok());
    }

    #[test]
    fn an_image_user_is_split_and_resolved_as_a_runtime_does() {
        assert_eq!(
            ImageUser::parse("1234:5678"),
            Ok(ImageUser {
                uid: Some(1234),
                name: None,
                group: Some("5678".into())
            })
        );
        assert_eq!(
            ImageUser::parse("1234").and_then(|u| u.resolve()),
            Ok((1234, None))
        );
        assert_eq!(
            ImageUser::parse("1234:5678").and_then(|u| u.resolve()),
            Ok((1234, Some(5678)))
        );
        // root is in every /etc/passwd, with its primary group.
        assert_eq!(
            ImageUser::parse("root").and_then(|u| u.resolve()),
            Ok((0, Some(0)))
        );
        for bad in ["", ":1", "1:", "99999999999"] {
            assert!(ImageUser::parse(bad).is_err(), "{bad:?}");
        }
        let e = ImageUser::parse("no-such-podcheck-user")
            .and_then(|u| u.resolve())
            .unwrap_err();
        assert_eq!(
            e,
            "unable to find user no-such-podcheck-user: no matching entries in passwd file"
        );
        // The image's group goes with the image's user only.
        let want = RequestedIdentity {
            run_as_user: Some(7),
            ..Default::default()
        };
        let img = ImageUser::parse("1234:5678").expect("user");
        assert_eq!(effective_ids(&want, Some(&img)), Ok((Some(7), None)));
        let want = RequestedIdentity::default();
        assert_eq!(
            effective_ids(&want, Some(&img)),
            Ok((Some(1234), Some(5678)))
        );
        assert_eq!(effective_ids(&want, None), Ok((None, None)));
    }
}
