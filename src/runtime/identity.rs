//! Running a container's processes as another user (`securityContext.runAsUser` /
//! `runAsGroup`, the pod's `supplementalGroups`), as a container runtime sets the OCI
//! process user: the uid, the gid (the user's primary group from `/etc/passwd` when only the
//! user is given, else 0), and the additional groups (the gid, the user's groups in
//! `/etc/group`, then the supplemental groups).
//!
//! A local command's "image" is the host, so its passwd and group files are the host's.
//! Only root can switch users: as anyone else a request for another identity is refused
//! with a reason (the harness skips such specs), and a request for podcheck's own identity
//! changes nothing.

use std::io;

/// The uid, gid and groups a process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user.
    pub uid: u32,
    /// The primary group.
    pub gid: u32,
    /// Every group of the process, the primary one first.
    pub groups: Vec<libc::gid_t>,
}

/// What a container asks for, in API integers (validated to 0..=2147483647 earlier).
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// runAsUser.
    pub uid: Option<i64>,
    /// runAsGroup.
    pub gid: Option<i64>,
    /// supplementalGroups.
    pub supplemental: &'a [i64],
}

fn id(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// podcheck's own effective uid.
pub fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

fn own_gid() -> u32 {
    // SAFETY: getegid has no preconditions.
    unsafe { libc::getegid() }
}

/// podcheck's supplementary groups.
fn own_groups() -> Vec<libc::gid_t> {
    // SAFETY: a size query with a null list, then a fill of a buffer of that size.
    unsafe {
        let n = libc::getgroups(0, std::ptr::null_mut());
        let Ok(len) = usize::try_from(n) else {
            return Vec::new();
        };
        let mut v = vec![0; len];
        let got = libc::getgroups(n, v.as_mut_ptr());
        v.truncate(usize::try_from(got).unwrap_or(0));
        v
    }
}

/// The identity to switch to, None when the process keeps podcheck's own; Err says why
/// this podcheck cannot run the request (it is not root).
pub fn resolve(req: Request<'_>) -> Result<Option<Identity>, String> {
    if req.uid.is_none() && req.gid.is_none() && req.supplemental.is_empty() {
        return Ok(None);
    }
    let (me, my_gid) = (own_uid(), own_gid());
    if me != 0 {
        let mine = own_groups();
        let has_group = |g: u32| g == my_gid || mine.contains(&g);
        if let Some(u) = req.uid.map(id).filter(|u| *u != me) {
            return Err(format!(
                "securityContext.runAsUser {u} needs root: podcheck runs as uid {me} and cannot switch users"
            ));
        }
        if let Some(g) = req.gid.map(id).filter(|g| *g != my_gid) {
            return Err(format!(
                "securityContext.runAsGroup {g} needs root: podcheck runs as gid {my_gid} and cannot switch groups"
            ));
        }
        if let Some(g) = req
            .supplemental
            .iter()
            .map(|g| id(*g))
            .find(|g| !has_group(*g))
        {
            return Err(format!(
                "securityContext.supplementalGroups {g} needs root: podcheck's process is not in that group"
            ));
        }
        return Ok(None);
    }
    let uid = req.uid.map_or(me, id);
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let user = passwd_entry(&passwd, uid);
    let gid = match (req.gid, req.uid) {
        (Some(g), _) => id(g),
        (None, Some(_)) => user.as_ref().map_or(0, |u| u.1),
        (None, None) => my_gid,
    };
    let mut groups = vec![gid];
    if let Some((name, _)) = &user {
        let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
        groups.extend(member_groups(&group, name));
    }
    groups.extend(req.supplemental.iter().map(|g| id(*g)));
    let mut seen = Vec::with_capacity(groups.len());
    groups.retain(|g| {
        let new = !seen.contains(g);
        seen.push(*g);
        new
    });
    Ok(Some(Identity { uid, gid, groups }))
}

/// The well-formed entries of passwd-format text: name, uid and primary gid.
fn passwd_records(passwd: &str) -> impl Iterator<Item = (&str, u32, u32)> {
    passwd.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 4 {
            return None;
        }
        Some((f[0], f[2].parse().ok()?, f[3].parse().ok()?))
    })
}

/// The name and primary gid of `uid` in passwd-format text.
fn passwd_entry(passwd: &str, uid: u32) -> Option<(String, u32)> {
    passwd_records(passwd)
        .find(|(_, u, _)| *u == uid)
        .map(|(name, _, gid)| (name.to_owned(), gid))
}

/// A user name's uid and primary gid in this machine's /etc/passwd (where an image's USER
/// name is looked up for a local command).
pub fn user_by_name(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd_records(&passwd)
        .find(|(n, _, _)| *n == name)
        .map(|(_, uid, gid)| (uid, gid))
}

/// A group name's gid in this machine's /etc/group.
pub fn group_by_name(name: &str) -> Option<u32> {
    let group = std::fs::read_to_string("/etc/group").ok()?;
    group.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[0] == name)
            .then(|| f[2].parse().ok())
            .flatten()
    })
}

/// The gids of the groups that list `user` as a member, in group-format text.
fn member_groups(group: &str, user: &str) -> Vec<u32> {
    group
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[0] != user && f[3].split(',').any(|m| m == user))
                .then(|| f[2].parse().ok())
                .flatten()
        })
        .collect()
}

impl Identity {
    /// Switches the calling process to this identity: groups, then gid, then uid (the
    /// order that keeps the right to make the next call), and re-arms the parent-death
    /// signal, which the kernel clears on a credential change.
    ///
    /// # Safety
    /// Only in a forked child before exec: raw system calls on memory allocated before the
    /// fork.
    pub unsafe fn apply_in_child(&self) -> io::Result<()> {
        // SAFETY: the caller runs this in a single-threaded child; the group list is a
        // live Vec.
        unsafe {
            super::shim::check(libc::setgroups(self.groups.len(), self.groups.as_ptr()))?;
            super::shim::check(libc::setgid(self.gid))?;
            super::shim::check(libc::setuid(self.uid))?;
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        }
        Ok(())
    }

    /// Makes `path` the identity's own, as a container's writable home must be.
    pub fn own(&self, path: &std::path::Path) -> io::Result<()> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nweb:x:1000:1001::/home/web:/bin/sh\n";
    const GROUP: &str =
        "root:x:0:\nweb:x:1001:\nwheel:x:10:admin,web\naudio:x:29:web\nother:x:30:webby\n";

    #[test]
    fn passwd_and_group_lookups() {
        assert_eq!(passwd_entry(PASSWD, 1000), Some(("web".into(), 1001)));
        assert_eq!(passwd_entry(PASSWD, 4242), None);
        assert_eq!(member_groups(GROUP, "web"), [10, 29]);
    }

    #[test]
    fn nothing_asked_keeps_the_runner_identity() {
        assert_eq!(resolve(Request::default()), Ok(None));
    }

    #[test]
    fn a_non_root_runner_refuses_other_users_and_accepts_its_own() {
        if own_uid() == 0 {
            eprintln!("skipped: runs as root, where every identity can be switched to");
            return;
        }
        let me = i64::from(own_uid());
        assert_eq!(
            resolve(Request {
                uid: Some(me),
                ..Default::default()
            }),
            Ok(None)
        );
        let other = if me == 1 { 2 } else { 1 };
        let e = resolve(Request {
            uid: Some(other),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.contains("needs root"), "{e}");
    }

    #[test]
    fn as_root_the_group_defaults_to_the_users_primary_group_or_0() {
        if own_uid() != 0 {
            eprintln!("skipped: needs root to resolve another identity");
            return;
        }
        let id = resolve(Request {
            uid: Some(4242),
            supplemental: &[5000, 4242],
            ..Default::default()
        })
        .expect("root resolves")
        .expect("an identity");
        // No such user in /etc/passwd: gid 0, as a runtime does.
        assert_eq!((id.uid, id.gid), (4242, 0));
        assert_eq!(id.groups, [0, 5000, 4242]);
        let id = resolve(Request {
            uid: Some(4242),
            gid: Some(3000),
            ..Default::default()
        })
        .expect("root resolves")
        .expect("an identity");
        assert_eq!((id.gid, id.groups.clone()), (3000, vec![3000]));
    }
}
