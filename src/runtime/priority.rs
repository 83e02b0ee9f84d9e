//! The runner's threads run a little ahead of the containers they watch. Probes, timers and
//! the pod workers all run on a few runner threads, and every probe wakes the container that
//! serves it; at nice 0 beside a thousand busy containers on two cores the runner spent a
//! fifth of its time preempted (runnable, not running), late by up to 12 ms per probe. The
//! kubelet's probe timing is not at the mercy of its pods' load in the same way (it runs on
//! cores of its own on a real node), so the runner raises its threads by [`RAISE`] nice
//! steps when it may (root, or an RLIMIT_NICE that allows it), and every container and exec
//! gets the runner's original nice value back in its shim: containers see the priority
//! they were started with, as under a kubelet.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// How many nice steps the runner's threads go up (about 3x the CPU weight of nice 0).
pub const RAISE: i32 = 5;

/// The nice value the runner started with: what containers run at.
static BASE: OnceLock<i32> = OnceLock::new();

thread_local! {
    static RAISED: Cell<bool> = const { Cell::new(false) };
}

/// The calling thread's nice value (Linux keeps one per thread).
fn current() -> i32 {
    // SAFETY: plain system calls; errno is cleared first because -1 is a valid nice value.
    unsafe {
        *libc::__errno_location() = 0;
        let n = libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t);
        if n == -1 && *libc::__errno_location() != 0 {
            0
        } else {
            n
        }
    }
}

/// Raises the calling thread's priority by [`RAISE`] steps, once per thread. Threads it
/// starts afterwards inherit it. Without the privilege it does nothing: the run is the same,
/// its probe timing only more exposed to the containers' load.
pub fn raise_this_thread() {
    if RAISED.with(|r| r.replace(true)) {
        return;
    }
    let base = *BASE.get_or_init(current);
    let target = base.saturating_sub(RAISE).max(-20);
    // SAFETY: a plain system call on this thread; a refusal (EACCES, EPERM) changes nothing.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, target) };
    if rc == 0 && target != base {
        EVER_RAISED.store(true, Ordering::Relaxed);
    }
}

/// Whether some runner thread was raised; until then what the runner starts inherits the
/// right nice value and its shim need not set one.
static EVER_RAISED: AtomicBool = AtomicBool::new(false);

/// The nice value containers and execs get back in their shim, if the runner ever raised
/// a thread (else they inherit the right one already).
pub fn container_nice() -> Option<i32> {
    EVER_RAISED
        .load(Ordering::Relaxed)
        .then(|| BASE.get().copied())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_thread_is_ahead_and_a_new_one_inherits_it() {
        let before = current();
        std::thread::spawn(move || {
            raise_this_thread();
            let raised = current();
            // SAFETY: geteuid cannot fail.
            if unsafe { libc::geteuid() } != 0 {
                assert!(raised <= before, "never lower");
                eprintln!("raised from {before} to {raised} (not root: may stay)");
                return;
            }
            assert_eq!(raised, (before - RAISE).max(-20));
            assert_eq!(container_nice(), Some(before));
            let child = std::thread::spawn(current).join().expect("thread");
            assert_eq!(
                child, raised,
                "threads the runner starts inherit its priority"
            );
        })
        .join()
        .expect("thread");
        assert_eq!(current(), before, "only the calling thread changes");
    }
}
