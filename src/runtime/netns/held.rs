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

use super::setup::bring_up;
use super::{NetnsError, STEPS};

/// Times a failed switch back to the runner's namespace is retried before podcheck gives up.
const RESTORE_TRIES: usize = 100;

/// The runner's own network namespace, which every thread returns to. Opened on first use
/// from a thread that is in it (threads leave it only inside [`in_namespace`]).
fn host_netns() -> io::Result<RawFd> {
    static HOST: OnceLock<Result<OwnedFd, i32>> = OnceLock::new();
    let held = HOST.get_or_init(|| {
        std::fs::File::open("/proc/thread-self/ns/net")
            .map(OwnedFd::from)
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
    });
    match held {
        Ok(fd) => Ok(fd.as_raw_fd()),
        Err(code) => Err(io::Error::from_raw_os_error(*code)),
    }
}

/// Runs `f` with the calling thread moved into a network namespace by `enter` (a setns or
/// an unshare), then moves it back into the runner's.
fn in_namespace<T>(enter: impl FnOnce() -> io::Result<()>, f: impl FnOnce() -> T) -> io::Result<T> {
    let host = host_netns()?;
    enter()?;
    let out = f();
    // Bounded retries. Failing to go back leaves this thread making every later socket in
    // a pod's namespace, where a probe would silently reach the wrong pod; setns into a
    // namespace we hold only fails when the kernel is out of memory.
    for _ in 0..RESTORE_TRIES {
        // SAFETY: setns on a namespace fd we hold.
        if unsafe { libc::setns(host, libc::CLONE_NEWNET) } == 0 {
            return Ok(out);
        }
    }
    eprintln!(
        "podcheck: cannot move a thread back into the runner's network namespace ({}); stopping",
        io::Error::last_os_error()
    );
    std::process::abort()
}

/// Makes a new network namespace ready for a pod and returns the fd that holds it.
pub(super) fn create() -> Result<OwnedFd, NetnsError> {
    let failed = |step: usize, e: io::Error| NetnsError::Sandbox {
        step: STEPS[step].0,
        errno: e.to_string(),
        hint: STEPS[step].1,
    };
    let made = in_namespace(
        // SAFETY: unshare of the calling thread's network namespace only.
        || match unsafe { libc::unshare(libc::CLONE_NEWNET) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        },
        || {
            // SAFETY: raw system calls on stack buffers.
            if !unsafe { bring_up() } {
                return Err(failed(5, io::Error::last_os_error()));
            }
            std::fs::File::open("/proc/thread-self/ns/net")
                .map(OwnedFd::from)
                .map_err(|source| NetnsError::Spawn {
                    step: "open the pod's network namespace",
                    source,
                })
        },
    );
    match made {
        Ok(held) => held,
        Err(e) => Err(failed(1, e)),
    }
}

/// A new socket of `family` and `kind` inside the namespace held by `netns`.
pub(super) fn socket(netns: RawFd, family: libc::c_int, kind: libc::c_int) -> io::Result<OwnedFd> {
    in_namespace(
        // SAFETY: setns on a namespace fd the pod network holds.
        || match unsafe { libc::setns(netns, libc::CLONE_NEWNET) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        },
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
