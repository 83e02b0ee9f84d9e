//! Starting a container's main process from the shim without a second fork: a vfork
//! (`CLONE_VM | CLONE_VFORK`, what posix_spawn does) whose child sets itself up and execs
//! the program itself, from C strings prepared before the runner forked the shim.

use std::ffi::CString;
use std::io;

use super::{Role, become_main};

unsafe extern "C" {
    /// The C library's environment pointer, which std's exec replaces the same way.
    static mut environ: *const *const libc::c_char;
}

/// The program, arguments and complete environment of a container's main process, as
/// C strings prepared before the fork, so the shim's vfork'd child can exec it itself.
pub struct Exec {
    program: CString,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    /// Owns the strings `argv` and `envp` point into.
    _strings: Vec<CString>,
}

// SAFETY: the pointers point into `_strings`, owned by the same value and never mutated.
unsafe impl Send for Exec {}
// SAFETY: as above; nothing is mutated through a shared reference.
unsafe impl Sync for Exec {}

impl Exec {
    /// `argv` (program first) with exactly `env` as the environment; `None` when a string
    /// holds a NUL byte (std's own spawn then reports that).
    pub fn new(argv: &[String], env: &[(String, String)]) -> Option<Exec> {
        let program = CString::new(argv.first()?.as_bytes()).ok()?;
        let mut strings = Vec::with_capacity(argv.len() + env.len());
        for a in argv {
            strings.push(CString::new(a.as_bytes()).ok()?);
        }
        for (k, v) in env {
            strings.push(CString::new(format!("{k}={v}")).ok()?);
        }
        let ptrs = |s: &[CString]| {
            let mut v: Vec<*const libc::c_char> = s.iter().map(|c| c.as_ptr()).collect();
            v.push(std::ptr::null());
            v
        };
        Some(Exec {
            program,
            argv: ptrs(&strings[..argv.len()]),
            envp: ptrs(&strings[argv.len()..]),
            _strings: strings,
        })
    }

    /// Execs the way std's `Command` does after its `pre_exec` closures: the environment
    /// replaced, then `execvp` (so `PATH` is searched in the new environment). Returns only
    /// on failure.
    ///
    /// # Safety
    /// Only in a child about to exec; it replaces the calling process's `environ`.
    pub(super) unsafe fn run(&self) -> io::Error {
        // SAFETY: NUL-terminated arrays of NUL-terminated strings that outlive the call;
        // `environ` is this process's (in a vfork child, the shim's, which never reads it).
        unsafe {
            environ = self.envp.as_ptr();
            libc::execvp(self.program.as_ptr(), self.argv.as_ptr());
        }
        io::Error::last_os_error()
    }
}

/// The stack of the vfork'd main process until its exec (its deepest user is a mount
/// step's PATH_MAX buffer, and execvp's path buffer); one guard page below it.
const MAIN_STACK: usize = 256 * 1024;
const GUARD: usize = 4096;

/// What the vfork'd child reads from, and writes its failure into, in the shim's memory.
struct VforkArgs<'a, F> {
    shim: libc::pid_t,
    role: Role,
    exec: &'a Exec,
    extra: &'a mut F,
    /// The errno of a failed set-up or exec; 0 if the child exec'd (or left on its own).
    errno: i32,
}

extern "C" fn vfork_child<F>(arg: *mut libc::c_void) -> libc::c_int
where
    F: FnMut() -> io::Result<()>,
{
    // SAFETY: `arg` is the VforkArgs on the suspended shim's stack (see vfork_main); the
    // shim does not run until this child execs or exits.
    unsafe {
        let a = &mut *arg.cast::<VforkArgs<'_, F>>();
        let err = match become_main(a.shim, a.role, a.extra) {
            Ok(()) => a.exec.run(),
            Err(e) => e,
        };
        std::ptr::write_volatile(&mut a.errno, err.raw_os_error().unwrap_or(libc::EINVAL));
        libc::_exit(1)
    }
}

/// Starts the main process sharing the shim's memory, the shim suspended until it execs
/// (what posix_spawn does). A failed set-up or exec comes back as the shim's error, which
/// std reports to the runner as it would the main process's own.
///
/// # Safety
/// Only in the shim (a forked, single-threaded child).
pub(super) unsafe fn vfork_main<F>(
    shim: libc::pid_t,
    role: Role,
    exec: &Exec,
    extra: &mut F,
) -> io::Result<libc::pid_t>
where
    F: FnMut() -> io::Result<()>,
{
    // SAFETY: raw system calls on a fresh mapping and on this frame's memory.
    unsafe {
        let size = MAIN_STACK + GUARD;
        let stack = libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if stack == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        libc::mprotect(stack, GUARD, libc::PROT_NONE);
        // While the shim is suspended it cannot watch the lifeline: it dies with the
        // runner instead. The runner's forking thread is blocked in spawn() until the
        // exec, so the parent-thread caveat of PDEATHSIG cannot strike in this window.
        let runner = libc::getppid();
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        if libc::getppid() != runner {
            libc::_exit(137);
        }
        // The child points `environ` at the container's environment; the shim keeps its own.
        let env = environ;
        let mut args = VforkArgs {
            shim,
            role,
            exec,
            extra,
            errno: 0,
        };
        let main = libc::clone(
            vfork_child::<F>,
            stack.cast::<u8>().add(size).cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            std::ptr::addr_of_mut!(args).cast(),
        );
        let cloned = io::Error::last_os_error();
        environ = env;
        libc::prctl(libc::PR_SET_PDEATHSIG, 0 as libc::c_ulong);
        libc::munmap(stack, size);
        if main < 0 {
            return Err(cloned);
        }
        let errno = std::ptr::read_volatile(&args.errno);
        if errno != 0 {
            libc::waitpid(main, std::ptr::null_mut(), 0);
            return Err(io::Error::from_raw_os_error(errno));
        }
        Ok(main)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use crate::runtime::mounts::{self, Bind, MountPlan};
    use crate::runtime::process::{ProcessSpec, SpawnError, spawn};

    fn spec(argv: &[&str], path: &str) -> ProcessSpec {
        ProcessSpec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: vec![("PATH".into(), path.into())],
            cwd: std::env::temp_dir(),
            netns: None,
            pid_namespace: false,
            cgroup: None,
            mounts: None,
            identity: None,
        }
    }

    #[tokio::test]
    async fn the_program_is_searched_in_the_containers_path_as_std_would() {
        let dir = tempfile::tempdir().unwrap();
        // No #! line: execvp runs it with /bin/sh, as std's exec does.
        let script = dir.path().join("podcheck-vfork-probe");
        std::fs::write(&script, "exit 7\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let plain = dir.path().join("podcheck-not-executable");
        std::fs::write(&plain, "exit 0\n").unwrap();
        let path = format!("{}:/usr/bin:/bin", dir.path().display());
        let p = spawn(&spec(&["podcheck-vfork-probe"], &path)).unwrap();
        assert_eq!(p.exited.await.unwrap().exit_code, 7);
        // The runner's own PATH does not have the directory: not found there.
        let runner_path = std::env::var("PATH").unwrap_or_default();
        let err = spawn(&spec(&["podcheck-vfork-probe"], &runner_path)).unwrap_err();
        assert!(matches!(err, SpawnError::NotFound(_)), "{err}");
        // Without an x bit not even root may exec it: EACCES.
        let err = spawn(&spec(&["podcheck-not-executable"], &path)).unwrap_err();
        assert!(matches!(err, SpawnError::PermissionDenied(_)), "{err}");
    }

    #[tokio::test]
    async fn a_failed_mount_step_is_reported_through_the_shim() {
        if let Err(e) = mounts::mount_namespaces_available(None) {
            eprintln!("skipped: mount namespaces unavailable here: {e}");
            return;
        }
        let base = tempfile::tempdir().unwrap();
        let src = base.path().join("vol");
        let target = base.path().join("target");
        std::fs::create_dir(&src).unwrap();
        std::fs::create_dir(&target).unwrap();
        let bind = Bind {
            source: src.clone(),
            target: target.clone(),
            read_only: false,
        };
        let plan = MountPlan::new(&[bind], base.path(), base.path()).unwrap();
        std::fs::remove_dir(&src).unwrap();
        let mut s = spec(&["true"], "/usr/bin:/bin");
        s.mounts = Some(Arc::new(plan));
        let err = spawn(&s).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, SpawnError::Mount(_)), "{msg}");
        assert!(
            msg.contains(&format!("bind {} onto {}", src.display(), target.display())),
            "{msg}"
        );
    }
}
