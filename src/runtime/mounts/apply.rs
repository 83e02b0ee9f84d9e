//! Running a plan inside `pre_exec`: a forked child of a multi-threaded process, so raw
//! system calls on memory prepared before the fork, and no allocation.
//!
//! A failure leaves through std's exec-error pipe, which carries one i32: the step number
//! is packed into it next to the errno (`TAG | step << 12 | errno`; errnos are below 4096),
//! and [`MountPlan::explain`] unpacks it in the parent.

use std::ffi::CStr;
use std::io;
use std::ptr::null;
use std::sync::atomic::Ordering;

use super::MountPlan;
use super::plan::{MAX_STEPS, Op};

/// Marks an error code as a packed (step, errno); no real errno has this bit.
const TAG: i32 = 0x4000_0000;

/// Packs a failed step and its errno into one os error code.
pub(super) fn encode(step: usize, errno: i32) -> i32 {
    TAG | ((step.min(MAX_STEPS) as i32) << 12) | (errno & 0xFFF)
}

/// The (step, errno) packed by `encode`, if `raw` is one.
pub(super) fn decode(raw: i32) -> Option<(usize, i32)> {
    (raw > 0 && raw & TAG != 0).then_some((((raw >> 12) & MAX_STEPS as i32) as usize, raw & 0xFFF))
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn check(rc: libc::c_int) -> Result<(), i32> {
    if rc < 0 { Err(errno()) } else { Ok(()) }
}

/// `mount(2)` with optional strings.
unsafe fn mount(
    src: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> Result<(), i32> {
    let p = |c: Option<&CStr>| c.map_or(null(), CStr::as_ptr);
    // SAFETY: NUL-terminated strings or null, as mount(2) accepts.
    check(unsafe { libc::mount(p(src), target.as_ptr(), p(fstype), flags, p(data).cast()) })
}

impl MountPlan {
    /// Performs the plan in a freshly forked child (inside `pre_exec`); on failure the
    /// error's raw code packs the step number, which [`MountPlan::explain`] decodes.
    ///
    /// # Safety
    /// Call only in a forked child about to exec: it changes the calling process's mount
    /// namespace, root and working directory.
    pub unsafe fn apply(&self) -> io::Result<()> {
        // The slot whose directory is the working directory, so runs of binds from one
        // directory (a shadow's entries) change directory once, not once per entry.
        let mut at = None;
        for (i, op) in self.ops.iter().enumerate() {
            // SAFETY: forwarded from our caller.
            if let Err(e) = unsafe { self.step(op, &mut at) } {
                return Err(io::Error::from_raw_os_error(encode(i, e)));
            }
        }
        for fd in self.fds.iter() {
            let fd = fd.swap(-1, Ordering::Relaxed);
            if fd >= 0 {
                // SAFETY: an fd this plan opened.
                unsafe { libc::close(fd) };
            }
        }
        Ok(())
    }

    fn fd(&self, slot: usize) -> Result<libc::c_int, i32> {
        match self.fds.get(slot).map(|f| f.load(Ordering::Relaxed)) {
            Some(fd) if fd >= 0 => Ok(fd),
            _ => Err(libc::EBADF),
        }
    }

    /// Makes the directory held in `slot` the working directory, unless it already is.
    unsafe fn enter(&self, slot: usize, at: &mut Option<usize>) -> Result<(), i32> {
        if *at != Some(slot) {
            // SAFETY: fchdir on an fd this plan opened.
            check(unsafe { libc::fchdir(self.fd(slot)?) })?;
            *at = Some(slot);
        }
        Ok(())
    }

    unsafe fn step(&self, op: &Op, at: &mut Option<usize>) -> Result<(), i32> {
        const BIND: libc::c_ulong = libc::MS_BIND | libc::MS_REC;
        // SAFETY (whole block): system calls on NUL-terminated strings and stack buffers.
        unsafe {
            match op {
                Op::Unshare => check(libc::unshare(libc::CLONE_NEWNS)),
                Op::MakePrivate => mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None),
                Op::Pin { slot, path, .. } => {
                    let fd = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
                    check(fd)?;
                    if let Some(s) = self.fds.get(*slot) {
                        s.store(fd, Ordering::Relaxed);
                    }
                    Ok(())
                }
                Op::Tmpfs { target, data } => mount(
                    Some(c"tmpfs"),
                    target,
                    Some(c"tmpfs"),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    Some(data),
                ),
                Op::Unbindable { target } => mount(None, target, None, libc::MS_UNBINDABLE, None),
                Op::Replicate { slot, name, target } => self.replicate(*slot, name, target, at),
                Op::Mkdir { path } => match check(libc::mkdir(path.as_ptr(), 0o755)) {
                    // A reused plan finds the mountpoint it made last time in a volume.
                    Err(libc::EEXIST) => Ok(()),
                    r => r,
                },
                Op::MkFile { path } => {
                    let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
                    let fd = libc::open(path.as_ptr(), flags, 0o644);
                    check(fd)?;
                    libc::close(fd);
                    Ok(())
                }
                Op::Bind {
                    slot, name, target, ..
                } => {
                    self.enter(*slot, at)?;
                    mount(Some(name), target, None, BIND, None)
                }
                Op::RemountRoIfMounted { target } => {
                    match self.remount_ro(target) {
                        // Gone, hidden, not a mount here, or locked in a user namespace.
                        Err(libc::EINVAL | libc::ENOENT | libc::EPERM | libc::EACCES) => Ok(()),
                        r => r,
                    }
                }
                Op::RemountRo { target } => self.remount_ro(target),
                Op::Chroot { root } => {
                    *at = None;
                    check(libc::chdir(root.as_ptr()))?;
                    check(libc::chroot(c".".as_ptr()))
                }
                Op::Chdir { path, slot } => {
                    *at = None;
                    // A bind over an ancestor of the working directory hides its path; the
                    // handle keeps the process where it started.
                    if libc::chdir(path.as_ptr()) == 0 {
                        Ok(())
                    } else {
                        check(libc::fchdir(self.fd(*slot)?))
                    }
                }
            }
        }
    }

    /// Remounts `target` read-only, keeping the flags a user namespace locks.
    unsafe fn remount_ro(&self, target: &CStr) -> Result<(), i32> {
        // Inside a user namespace nosuid/nodev/noexec inherited from the host are locked:
        // the remount must restate them or it fails with EPERM. Atime flags are kept by the
        // kernel when none are given. statvfs is one statfs(2) on kernels >= 2.6.36
        // (ST_VALID), so it is safe here.
        // SAFETY: system calls on a NUL-terminated string and a stack buffer.
        unsafe {
            let mut st: libc::statvfs = std::mem::zeroed();
            check(libc::statvfs(target.as_ptr(), &mut st))?;
            let keep = libc::ST_NOSUID | libc::ST_NODEV | libc::ST_NOEXEC;
            let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
            flags |= st.f_flag & keep;
            if st.f_flag & 0x2000 != 0 {
                // ST_NOSYMFOLLOW (missing from libc) is MS_NOSYMFOLLOW for mount(2).
                flags |= libc::MS_NOSYMFOLLOW;
            }
            mount(None, target, None, flags, None)
        }
    }

    /// Recreates one entry of a shadowed directory in its tmpfs and binds the original back.
    /// Entries that vanished since planning are skipped: the container would not see them.
    unsafe fn replicate(
        &self,
        slot: usize,
        name: &CStr,
        target: &CStr,
        at: &mut Option<usize>,
    ) -> Result<(), i32> {
        let dir = self.fd(slot)?;
        // SAFETY: system calls on NUL-terminated strings and stack buffers.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            match check(libc::fstatat(
                dir,
                name.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )) {
                Err(libc::ENOENT) => return Ok(()),
                r => r?,
            }
            let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
            match st.st_mode & libc::S_IFMT {
                libc::S_IFLNK => {
                    let mut buf = [0u8; libc::PATH_MAX as usize + 1];
                    let n = libc::readlinkat(
                        dir,
                        name.as_ptr(),
                        buf.as_mut_ptr().cast(),
                        buf.len() - 1,
                    );
                    if n < 0 {
                        return match errno() {
                            libc::ENOENT => Ok(()),
                            e => Err(e),
                        };
                    }
                    // n < buf.len() - 1, so the link text stays NUL-terminated.
                    return check(libc::symlink(buf.as_ptr().cast(), target.as_ptr()));
                }
                libc::S_IFDIR => check(libc::mkdir(target.as_ptr(), 0o755))?,
                // An empty regular file as the mountpoint: one mknod, where open + close
                // were two calls (the same mode, umask and EEXIST as O_CREAT | O_EXCL).
                _ => check(libc::mknod(target.as_ptr(), libc::S_IFREG | 0o644, 0))?,
            }
            self.enter(slot, at)?;
            match mount(Some(name), target, None, libc::MS_BIND | libc::MS_REC, None) {
                Err(libc::ENOENT) => {
                    if is_dir {
                        libc::rmdir(target.as_ptr());
                    } else {
                        libc::unlink(target.as_ptr());
                    }
                    Ok(())
                }
                r => r,
            }
        }
    }
}
