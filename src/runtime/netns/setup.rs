//! Bringing up a fresh pod network namespace: raw system calls on stack buffers only, so
//! the sandbox can run them in a forked child, and a runner thread just as well.

use super::ADDRCONFIG_ADDRESS;

/// Readies the calling thread's new network namespace as a pod's: `lo` up, the address
/// `getaddrinfo` needs, unprivileged ports. False when `lo` could not be brought up (the
/// rest is best effort).
///
/// # Safety
/// Async-signal-safe: callable in a forked child.
pub(super) unsafe fn bring_up() -> bool {
    // SAFETY: raw system calls on stack buffers.
    unsafe {
        if !lo_up() {
            return false;
        }
        // Best effort: without it the pod still works, only AI_ADDRCONFIG lookups fail.
        lo_alias(ADDRCONFIG_ADDRESS);
        // In a real pod any container may bind ports below 1024 (they usually run as root);
        // here an ordinary user's containers keep their uid, so lift the limit in this
        // namespace only (the file is the opening thread's namespace's). Best effort:
        // kernels before 4.11 have no such setting.
        write_file(c"/proc/sys/net/ipv4/ip_unprivileged_port_start", b"0");
    }
    true
}

/// Writes `data` to the file at `path` in one write; whether all of it was written.
///
/// # Safety
/// Async-signal-safe: callable in a forked child.
pub(super) unsafe fn write_file(path: &std::ffi::CStr, data: &[u8]) -> bool {
    // SAFETY: valid path and buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let ok = libc::write(fd, data.as_ptr().cast(), data.len()) == data.len() as isize;
        libc::close(fd);
        ok
    }
}

/// Adds `addr`/32 to `lo` as the alias `lo:1` (SIOCSIFADDR, SIOCSIFNETMASK).
///
/// # Safety
/// Async-signal-safe: callable in a forked child.
pub(super) unsafe fn lo_alias(addr: [u8; 4]) -> bool {
    // SAFETY: ifreq and sockaddr_in are plain C structs on the stack.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return false;
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo:1".iter().enumerate() {
            ifr.ifr_name[i] = *b as libc::c_char;
        }
        let set = |ifr: &mut libc::ifreq, a: [u8; 4]| {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a),
                },
                sin_zero: [0; 8],
            };
            std::ptr::write_unaligned(
                (&mut ifr.ifr_ifru as *mut libc::__c_anonymous_ifr_ifru)
                    .cast::<libc::sockaddr_in>(),
                sin,
            );
        };
        set(&mut ifr, addr);
        let mut ok = libc::ioctl(s, libc::SIOCSIFADDR, &ifr) == 0;
        if ok {
            set(&mut ifr, [255, 255, 255, 255]);
            ok = libc::ioctl(s, libc::SIOCSIFNETMASK, &ifr) == 0;
        }
        libc::close(s);
        ok
    }
}

/// Sets IFF_UP on `lo` through an AF_INET datagram socket (no `ip` binary needed).
///
/// # Safety
/// Async-signal-safe: callable in a forked child.
pub(super) unsafe fn lo_up() -> bool {
    // SAFETY: ifreq is a plain C struct on the stack.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return false;
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        ifr.ifr_name[0] = b'l' as libc::c_char;
        ifr.ifr_name[1] = b'o' as libc::c_char;
        let ok = libc::ioctl(s, libc::SIOCGIFFLAGS, &mut ifr) == 0 && {
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(s, libc::SIOCSIFFLAGS, &ifr) == 0
        };
        libc::close(s);
        ok
    }
}
