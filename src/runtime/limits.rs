//! Process limits of the runner. Each pod holds a few descriptors (its namespace, the
//! sandbox socket, log pipes, lifelines, probe sockets), so the common soft limit of 1024
//! open files stops a spec at a few hundred pods; the kubelet and containerd, written in
//! Go, raise their soft limit to the hard one at start, and so does the runner.

use std::sync::Once;

/// Raises the soft open-file limit to the hard limit, once per process; a failure leaves
/// the limit as it was (the run then fails where a descriptor is refused, and says so).
pub fn raise_open_files() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit read and write the plain struct through a valid pointer.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
                r.rlim_cur = r.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &r);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_reaches_the_hard_limit() {
        super::raise_open_files();
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
        assert_eq!(r.rlim_cur, r.rlim_max);
    }
}
