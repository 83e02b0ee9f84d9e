//! A private mount namespace per container: emptyDir volumes appear at their `mountPath`
//! and the termination-message file at its path, while the host sees nothing change.
//!
//! Containers here are host processes without an image, so they keep the whole host
//! filesystem and only gain the binds. A bind whose target exists is mounted directly. A
//! missing target must not be created on the host, so its deepest existing ancestor is
//! shadowed: a tmpfs goes over it, and each entry is recreated and bound back from an
//! O_PATH handle opened before the tmpfs covered it (`fchdir` + a relative source). That
//! replaces a staging mountpoint, which a shadow of /tmp could itself hide. When the
//! ancestor is `/`, a skeleton root is built in a tmpfs in the scratch directory and the
//! process `chroot`s into it. A missing mountpoint inside another bind (a volume nested in
//! a volume) is created in that bind's source, as runc does.
//!
//! All allocation happens in [`MountPlan::new`]. [`MountPlan::apply`] makes raw system
//! calls only, and reports a failed step through the one i32 that std's exec-error pipe
//! carries (see [`MountPlan::explain`]).

use std::io;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::AtomicI32;

use thiserror::Error;

mod apply;
mod plan;

use plan::Op;

/// One thing to make visible inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// A host directory or file.
    pub source: PathBuf,
    /// The absolute path where the container sees it.
    pub target: PathBuf,
    /// Whether the container may not write to it.
    pub read_only: bool,
}

/// The mount operations for one container, computed before fork.
#[derive(Debug)]
pub struct MountPlan {
    ops: Vec<Op>,
    /// O_PATH handles opened by `apply`; written only in the forked child's copy.
    fds: Box<[AtomicI32]>,
}

/// Why a mount plan could not be made or applied.
#[derive(Debug, Error)]
pub enum MountError {
    /// A target is not absolute.
    #[error(
        "binds[{index}].target {target:?} is a relative path: a mount target must be absolute (as volumeMounts[].mountPath is)"
    )]
    RelativeTarget {
        /// Index into the binds.
        index: usize,
        /// The target as given.
        target: PathBuf,
    },
    /// A target is `/` or contains `..`.
    #[error(
        "binds[{index}].target {target:?} is not a valid mount target: it must not be / and must not contain '..'"
    )]
    BadTarget {
        /// Index into the binds.
        index: usize,
        /// The target as given.
        target: PathBuf,
    },
    /// The working directory is not absolute.
    #[error("the working directory {cwd:?} is a relative path: pass an absolute path")]
    RelativeCwd {
        /// The working directory as given.
        cwd: PathBuf,
    },
    /// A source is missing or unreadable.
    #[error(
        "binds[{index}].source {source_path:?} cannot be used: {source}; create the volume directory or file before planning the mounts"
    )]
    MissingSource {
        /// Index into the binds.
        index: usize,
        /// The source as given.
        source_path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The part of a target that must be created lies below a file.
    #[error(
        "binds[{index}].target {target:?} cannot be created: {file:?} is not a directory; choose a mount path whose parents are directories"
    )]
    ThroughFile {
        /// Index into the binds.
        index: usize,
        /// The target as given.
        target: PathBuf,
        /// The existing non-directory on the way.
        file: PathBuf,
    },
    /// A directory onto a file, or a file onto a directory.
    #[error(
        "binds[{index}]: cannot bind a {} source onto {target:?}, which is {}; use a matching mount path",
        if *source_is_dir { "directory" } else { "file" },
        if *source_is_dir { "not a directory" } else { "a directory" }
    )]
    TypeMismatch {
        /// Index into the binds.
        index: usize,
        /// The resolved target.
        target: PathBuf,
        /// Whether the source is a directory.
        source_is_dir: bool,
    },
    /// Two binds resolve to the same target.
    #[error(
        "binds[{index}] and binds[{other}] both mount onto {target:?}; give each mount its own path"
    )]
    DuplicateTarget {
        /// Index into the binds.
        index: usize,
        /// The earlier bind with the same target.
        other: usize,
        /// The resolved target.
        target: PathBuf,
    },
    /// Symlinks on the way to a target loop.
    #[error("binds[{index}].target {target:?}: too many levels of symbolic links")]
    SymlinkLoop {
        /// Index into the binds.
        index: usize,
        /// The target as given.
        target: PathBuf,
    },
    /// A symlink leads into a missing directory and back out with `..`.
    #[error(
        "binds[{index}].target {target:?} resolves through a symlink to a missing path containing '..'; use the resolved path"
    )]
    Unresolvable {
        /// Index into the binds.
        index: usize,
        /// The target as given.
        target: PathBuf,
    },
    /// A path on the way could not be inspected.
    #[error(
        "cannot inspect {path:?} while planning the mounts: {source}; make it readable by the user running podcheck"
    )]
    Inspect {
        /// The host path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The skeleton root's mountpoint could not be made in the scratch directory.
    #[error(
        "cannot prepare the skeleton root in the scratch directory {path:?}: {source}; pass an existing directory podcheck can write to"
    )]
    Scratch {
        /// The scratch directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A path holds a NUL byte, which no system call accepts.
    #[error("the path {path:?} contains a NUL byte, which no system call accepts; rename it")]
    NulByte {
        /// The offending path.
        path: PathBuf,
    },
    /// More steps than the error encoding can number.
    #[error(
        "the mount plan has {steps} steps, too many to run; shadow fewer or smaller directories"
    )]
    TooLarge {
        /// The number of steps.
        steps: usize,
    },
    /// A step failed inside the child.
    #[error("mount namespace setup failed at step {step} ({what}): {source}{hint}")]
    Apply {
        /// The step number.
        step: usize,
        /// What the step does.
        what: String,
        /// The errno.
        source: io::Error,
        /// The likely cause and fix, or empty.
        hint: &'static str,
    },
}

impl MountPlan {
    /// Turns an error from [`MountPlan::apply`] (as returned by `Command::spawn`) into one
    /// that names the failed step; `None` if the error did not come from this plan.
    pub fn explain(&self, err: &io::Error) -> Option<MountError> {
        let (step, errno) = apply::decode(err.raw_os_error()?)?;
        let op = self.ops.get(step)?;
        let hint = match (op, errno) {
            (Op::Unshare, libc::EPERM) => {
                " — creating a mount namespace needs CAP_SYS_ADMIN: run as root, or join the pod's user namespace first"
            }
            (Op::Unshare, libc::EINVAL) => {
                " — unshare(CLONE_NEWNS) must run in a single-threaded child (inside pre_exec)"
            }
            (_, libc::EPERM | libc::EACCES) => {
                " — inside a user namespace, mounts inherited from the host are locked: they can be covered but not changed"
            }
            (_, libc::ENOENT) => {
                " — the path changed after the plan was made; plan again right before starting the container"
            }
            _ => "",
        };
        Some(MountError::Apply {
            step,
            what: self.describe_step(step)?,
            source: io::Error::from_raw_os_error(errno),
            hint,
        })
    }

    /// The number of steps `apply` runs.
    pub fn steps(&self) -> usize {
        self.ops.len()
    }
}

/// Adds a bind of each of podcheck's own directories (`own`: the pod's scratch directory,
/// the directories of the binaries it puts on PATH) onto itself when a bind in `binds`
/// would cover it, so a user's volume at `/tmp` or any other ancestor never hides the
/// container's home, working directory or TMPDIR, nor the tools its execs run. The
/// mountpoint is then made inside that volume's source, as for a volume nested in a
/// volume; without such a cover nothing is added.
pub fn keep_visible(binds: &mut Vec<Bind>, own: &[PathBuf]) {
    let covered: Vec<PathBuf> = own
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .filter(|p| {
            binds
                .iter()
                .any(|b| p.starts_with(&b.target) || p.starts_with(resolve_existing(&b.target)))
        })
        .collect();
    for p in covered {
        if !binds.iter().any(|b| b.target == p) {
            binds.push(Bind {
                source: p.clone(),
                target: p,
                read_only: false,
            });
        }
    }
}

/// `p` with the symlinks of its longest existing prefix resolved (`/var/run/x` → `/run/x`).
fn resolve_existing(p: &std::path::Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut cur = p.to_path_buf();
    loop {
        if let Ok(c) = std::fs::canonicalize(&cur) {
            return missing.iter().rev().fold(c, |acc: PathBuf, m| acc.join(m));
        }
        match (cur.file_name().map(std::ffi::OsStr::to_owned), cur.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name);
                cur = parent.to_path_buf();
            }
            _ => return p.to_path_buf(),
        }
    }
}

/// Enters a running container's mount namespace and root, then its working directory: what
/// an exec needs to see the container's volumes where the container sees them.
///
/// # Safety
/// Only in a freshly forked, single-threaded child (inside `pre_exec`); the fds must be open.
pub unsafe fn enter(ns: RawFd, root: RawFd, cwd: &std::ffi::CStr) -> io::Result<()> {
    use super::shim::check;
    // SAFETY: system calls on open fds and a NUL-terminated path.
    unsafe {
        check(libc::setns(ns, libc::CLONE_NEWNS))?;
        // setns leaves us at the namespace's root; the container may have chrooted below it.
        check(libc::fchdir(root))?;
        check(libc::chroot(c".".as_ptr()))?;
        check(libc::chdir(cwd.as_ptr()))
    }
}

/// Whether private mount namespaces (with binds, a shadow, a skeleton root and a
/// read-only remount) work for a process that joined `userns` (None when root): probed
/// once per kind in a forked child and cached; Err is a one-line reason with the errno.
pub fn mount_namespaces_available(userns: Option<RawFd>) -> Result<(), String> {
    static HOST: OnceLock<Result<(), String>> = OnceLock::new();
    static USERNS: OnceLock<Result<(), String>> = OnceLock::new();
    let cell = if userns.is_some() { &USERNS } else { &HOST };
    cell.get_or_init(|| probe(userns)).clone()
}

fn probe(userns: Option<RawFd>) -> Result<(), String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("mount probe: {what}: {e}");
    let dir = super::sandbox::scratch_dir("mount-probe")
        .map_err(|e| fail("create a scratch directory", &e))?;
    let src = dir.path().join("src");
    let shadowed = dir.path().join("shadowed");
    for d in [&src, &shadowed] {
        std::fs::create_dir(d).map_err(|e| fail("create a scratch directory", &e))?;
    }
    std::fs::write(shadowed.join("keep"), b"").map_err(|e| fail("write a probe file", &e))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let top = PathBuf::from(format!(
        "/podcheck-mount-probe-{}-{nanos}",
        std::process::id()
    ));
    let binds = [
        Bind {
            source: src.clone(),
            target: shadowed.join("missing/volume"),
            read_only: true,
        },
        Bind {
            source: src,
            target: top,
            read_only: false,
        },
    ];
    let plan = MountPlan::new(&binds, dir.path(), dir.path()).map_err(|e| e.to_string())?;
    let mut p = [0 as RawFd; 2];
    // SAFETY: a valid two-int buffer.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(fail("pipe", &io::Error::last_os_error()));
    }
    let (r, w) = (p[0], p[1]);
    // SAFETY: the child makes raw system calls on memory prepared before the fork and
    // leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: see above; setns on an fd our caller owns.
        unsafe {
            let code: i32 = match userns {
                Some(fd) if libc::setns(fd, libc::CLONE_NEWUSER) != 0 => {
                    -io::Error::last_os_error()
                        .raw_os_error()
                        .unwrap_or(libc::EIO)
                }
                _ => match plan.apply() {
                    Ok(()) => 0,
                    Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
                },
            };
            libc::write(w, code.to_ne_bytes().as_ptr().cast(), 4);
            libc::_exit(0);
        }
    }
    let forked = io::Error::last_os_error();
    let mut buf = [0u8; 4];
    // SAFETY: our own fds and child; the child exits right after writing.
    let got = unsafe {
        libc::close(w);
        let got = if pid > 0 {
            libc::read(r, buf.as_mut_ptr().cast(), 4)
        } else {
            -1
        };
        libc::close(r);
        if pid > 0 {
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        got
    };
    if pid < 0 {
        return Err(fail("fork", &forked));
    }
    if got != 4 {
        return Err("mount probe: the probe process died without reporting".into());
    }
    match i32::from_ne_bytes(buf) {
        0 => Ok(()),
        c if c < 0 => Err(fail(
            "join the pod's user namespace (setns)",
            &io::Error::from_raw_os_error(-c),
        )),
        c => {
            let e = io::Error::from_raw_os_error(c);
            Err(plan
                .explain(&e)
                .map_or_else(|| e.to_string(), |e| e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests;
