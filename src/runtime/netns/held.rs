//! The holder of a pod's network namespace for root: nothing but a file descriptor. The
//! runner makes the namespace on its own thread and makes each probe's socket there too,
//! by moving the calling thread into the namespace for the one `socket(2)` call and back
//! (a network namespace is per thread, and setns into one is allowed in a multi-threaded
//! process). A sandbox process per pod cost 56 to 72 KiB of private memory each and a
//! round trip through the scheduler per socket batch; a thread switch costs two system
//! calls and never waits for another process.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

use super::NetnsError;
use super::setup::bring_up;

/// Times a failed switch back to the runner's namespace is retried before podcheck gives up.
const RESTORE_TRIES: usize = 100;

/// The runner's own namespace of `nstype` (CLONE_NEWNET or CLONE_NEWUTS), which every
/// thread returns to. Opened on first use from a thread that is in it (threads leave it
/// only inside [`in_namespace`]).
fn host_ns(nstype: libc::c_int) -> io::Result<RawFd> {
    static NET: OnceLock<Result<OwnedFd, i32>> = OnceLock::new();
    static UTS: OnceLock<Result<OwnedFd, i32>> = OnceLock::new();
    let (cell, path) = if nstype == libc::CLONE_NEWUTS {
        (&UTS, "/proc/thread-self/ns/uts")
    } else {
        (&NET, "/proc/thread-self/ns/net")
    };
    let held = cell.get_or_init(|| {
        std::fs::File::open(path)
            .map(OwnedFd::from)
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
    });
    match held {
        Ok(fd) => Ok(fd.as_raw_fd()),
        Err(code) => Err(io::Error::from_raw_os_error(*code)),
    }
}

/// Runs `f` with the calling thread moved into a namespace of `nstype` by `enter` (a setns
/// or an unshare), then moves it back into the runner's.
fn in_namespace<T>(
    nstype: libc::c_int,
    enter: impl FnOnce() -> io::Result<()>,
    f: impl FnOnce() -> T,
) -> io::Result<T> {
    let host = host_ns(nstype)?;
    enter()?;
    let out = f();
    // Bounded retries. Failing to go back leaves this thread making every later socket in
    // a pod's namespace, where a probe would silently reach the wrong pod; setns into a
    // namespace we hold only fails when the kernel is out of memory.
    for _ in 0..RESTORE_TRIES {
        // SAFETY: setns on a namespace fd we hold.
        if unsafe { libc::setns(host, nstype) } == 0 {
            return Ok(out);
        }
    }
    eprintln!(
        "podcheck: cannot move a thread back into the runner's namespaces ({}); stopping",
        io::Error::last_os_error()
    );
    std::process::abort()
}

/// A syscall's result as io::Result.
fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Makes a new network namespace ready for a pod and returns the fd that holds it.
pub(super) fn create() -> Result<OwnedFd, NetnsError> {
    let made = in_namespace(
        libc::CLONE_NEWNET,
        // SAFETY: unshare of the calling thread's network namespace only.
        || check(unsafe { libc::unshare(libc::CLONE_NEWNET) }),
        || {
            // SAFETY: raw system calls on stack buffers.
            if !unsafe { bring_up() } {
                return Err(NetnsError::at_step(5, io::Error::last_os_error()));
            }
            own_ns("net")
        },
    );
    match made {
        Ok(held) => held,
        Err(e) => Err(NetnsError::at_step(1, e)),
    }
}

/// Makes a new UTS namespace whose hostname is `hostname` and returns the fd that holds it.
pub(super) fn create_uts(hostname: &str) -> Result<OwnedFd, NetnsError> {
    let made = in_namespace(
        libc::CLONE_NEWUTS,
        // SAFETY: unshare of the calling thread's UTS namespace only.
        || check(unsafe { libc::unshare(libc::CLONE_NEWUTS) }),
        || {
            // SAFETY: sethostname reads `len` bytes of a live buffer.
            check(unsafe { libc::sethostname(hostname.as_ptr().cast(), hostname.len()) })
                .map_err(|e| NetnsError::at_step(7, e))?;
            own_ns("uts")
        },
    );
    match made {
        Ok(held) => held,
        Err(e) => Err(NetnsError::at_step(6, e)),
    }
}

/// The calling thread's namespace of `kind` (a name under /proc/thread-self/ns), held.
fn own_ns(kind: &str) -> Result<OwnedFd, NetnsError> {
    std::fs::File::open(format!("/proc/thread-self/ns/{kind}"))
        .map(OwnedFd::from)
        .map_err(|source| NetnsError::Spawn {
            step: "open the pod's namespace",
            source,
        })
}

/// A new socket of `family` and `kind` inside the namespace held by `netns`.
pub(super) fn socket(netns: RawFd, family: libc::c_int, kind: libc::c_int) -> io::Result<OwnedFd> {
    in_namespace(
        libc::CLONE_NEWNET,
        // SAFETY: setns on a namespace fd the pod network holds.
        || check(unsafe { libc::setns(netns, libc::CLONE_NEWNET) }),
        // SAFETY: socket(2) returns a new fd or -1.
        || match unsafe { libc::socket(family, kind | libc::SOCK_CLOEXEC, 0) } {
            fd if fd >= 0 => {
                // SAFETY: a fresh descriptor nobody else owns.
                Ok(unsafe { OwnedFd::from_raw_fd(fd) })
            }
            _ => Err(io::Error::last_os_error()),
        },
    )?
}
