//! Dropping the runner's memory from a long-lived helper process (a shim, or the pod
//! sandbox an ordinary user's pods have).
//!
//! Both are forks of the runner that never exec: they keep a copy-on-write reference to the
//! runner's whole address space. Each page the runner writes after the fork gets a new copy
//! in the runner, and the old one then belongs to the helper alone; with a thousand pods
//! (two thousand helpers forked at different times) that drift pinned hundreds of MiB. A
//! helper needs almost none of it: its own stack frames, its thread's TLS, and the mapped
//! files (code, relocated data). Everything else — the malloc heap and arenas, other
//! threads' stacks, anonymous mmaps — is unmapped, and the unused part of the forking
//! thread's stack is discarded, so the runner's later writes no longer cost the helper.
//!
//! Runs in a forked child of a multi-threaded process: raw system calls on stack buffers,
//! no allocation, and nothing afterwards may touch the heap.

/// The page size assumed for rounding (the kernel rounds further where pages are larger).
const PAGE: usize = 4096;
/// How far below `top` the helper may still use its stack after the release (the shim's
/// deepest call, `kill_descendants`, has a 4 KiB buffer).
const STACK_BELOW: usize = 12 * 1024;
/// How far above `top` the helper's outermost frame may reach.
const STACK_ABOVE: usize = 8 * 1024;
/// How much of the forking thread's stack mapping below its thread pointer is kept for the
/// thread's static TLS block (glibc puts the TCB and static TLS at the top of a thread's
/// stack; podcheck's and libc's TLS take about 1 KiB).
const TLS_KEEP: usize = 16 * 1024;

/// One line of /proc/self/maps, as far as the decision needs it.
#[derive(Clone, Copy, Default)]
struct Map {
    start: usize,
    end: usize,
    /// Private and readable or writable: may hold copy-on-write pages of the runner.
    private_data: bool,
    /// Anonymous (no path) or the brk heap.
    anonymous: bool,
    /// Backed by a file (a path not in brackets).
    file: bool,
}

/// Releases the runner's memory this helper will never use. `top` is an address in the
/// helper's outermost live frame (the frames above it, the runner's, are never returned to:
/// call this from a function that never returns, marked `#[inline(never)]`, with the address
/// of one of its first locals). Signal handlers inherited from the runner are reset first:
/// they may point at the runner's state on the heap. Best effort: a step that fails only
/// saves less.
///
/// # Safety
/// Only in a freshly forked, single-threaded child that never returns into the code that
/// called fork, never allocates, and never reads heap data afterwards.
pub(crate) unsafe fn release(top: usize) {
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as usize;
    // SAFETY: all raw system calls on stack buffers; the caller promises the rest.
    unsafe {
        reset_signal_handlers();
        // SAFETY: pthread_self has no preconditions; on glibc it is the TCB address.
        let tp = libc::pthread_self() as usize;
        let mut stack = None;
        let mut prev: Option<Map> = None;
        // Unmapping while reading is fine: the kernel resumes the listing by address.
        for_each_map(|m| {
            let holds = |a: usize| m.start <= a && a < m.end;
            if holds(sp) {
                // The live stack, trimmed last (below) from a frame of its own.
                stack = Some((m.start, m.end));
            } else if holds(tp) || holds(tp.saturating_sub(TLS_KEEP)) {
                // The main thread's TLS lives in its own anonymous mapping.
            } else if m.private_data && m.anonymous {
                // An anonymous mapping right after a file's is that file's .bss: libc's and
                // the program's static data, which the system calls below may still read.
                let bss = prev.is_some_and(|p| p.file && p.end == m.start);
                if !bss {
                    libc::munmap(m.start as *mut libc::c_void, m.end - m.start);
                }
            }
            prev = Some(m);
        });
        // The alternate signal stack was one of the anonymous mappings.
        let ss = libc::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        libc::sigaltstack(&ss, std::ptr::null_mut());
        if let Some((start, end)) = stack {
            trim_stack(start, end, top, tp);
        }
    }
}

/// Discards the stack mapping `[start, end)` except the helper's frames around `top`, the
/// frame this runs in, and the TLS at the top of a thread's stack. Not inlined, and with no
/// buffers, so that its own frame (and madvise's below it) is the deepest live one.
#[inline(never)]
unsafe fn trim_stack(start: usize, end: usize, top: usize, tp: usize) {
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as usize;
    let low = top.saturating_sub(STACK_BELOW).min(sp.saturating_sub(PAGE)) & !(PAGE - 1);
    let high = top.saturating_add(STACK_ABOVE) & !(PAGE - 1);
    let high_end = if start <= tp && tp < end {
        (tp & !(PAGE - 1)).saturating_sub(TLS_KEEP)
    } else {
        end
    };
    // SAFETY: neither range holds a live frame or the TLS (see above).
    unsafe {
        discard(start, low.min(end));
        discard(high.max(start), high_end);
    }
}

/// Drops this process's pages in `[start, end)` (they read back as zeros if touched).
unsafe fn discard(start: usize, end: usize) {
    if end > start {
        // SAFETY: the range lies inside one of our mappings; nothing live is in it.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Handlers installed by the runner (tokio's signal handling, std's stack-overflow guard)
/// reach for its heap; a signal that arrives now is ignored as the runner's handler would
/// have, in effect, done (it wrote to a pipe the helper has closed), except that faults and
/// SIGCHLD take their default action (the shim waits for its children).
unsafe fn reset_signal_handlers() {
    // SAFETY: sigaction with stack structs.
    unsafe {
        for sig in 1..libc::SIGRTMAX() {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                continue;
            }
            if old.sa_sigaction == libc::SIG_DFL || old.sa_sigaction == libc::SIG_IGN {
                continue;
            }
            let default = matches!(
                sig,
                libc::SIGCHLD
                    | libc::SIGSEGV
                    | libc::SIGBUS
                    | libc::SIGILL
                    | libc::SIGFPE
                    | libc::SIGABRT
                    | libc::SIGTRAP
                    | libc::SIGSYS
            );
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = if default {
                libc::SIG_DFL
            } else {
                libc::SIG_IGN
            };
            libc::sigemptyset(&mut new.sa_mask);
            // glibc's own signals refuse the change; that is fine.
            libc::sigaction(sig, &new, std::ptr::null_mut());
        }
    }
}

/// Calls `f` for each mapping in /proc/self/maps, reading it in small pieces (every byte
/// of buffer here is a page the helper owns).
unsafe fn for_each_map(mut f: impl FnMut(Map)) {
    // SAFETY: open/read/close on stack buffers.
    unsafe {
        let fd = libc::open(
            c"/proc/self/maps".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return;
        }
        let mut line = [0u8; 160];
        let mut len = 0;
        let mut buf = [0u8; 1024];
        // Bounded: each read consumes part of a finite file.
        for _ in 0..1_000_000 {
            let got = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if got <= 0 {
                break;
            }
            for &c in &buf[..got as usize] {
                if c != b'\n' {
                    // A long path is cut; the fields before it are what matter.
                    if len < line.len() {
                        line[len] = c;
                        len += 1;
                    }
                    continue;
                }
                if let Some(m) = parse(&line[..len]) {
                    f(m);
                }
                len = 0;
            }
        }
        libc::close(fd);
    }
}

/// Parses `start-end perms offset dev inode [path]`.
fn parse(line: &[u8]) -> Option<Map> {
    let mut fields = line.split(|&c| c == b' ').filter(|f| !f.is_empty()).fuse();
    let range = fields.next()?;
    let perms = fields.next()?;
    let (_offset, _dev, _inode) = (fields.next()?, fields.next()?, fields.next()?);
    let path = fields.next();
    let dash = range.iter().position(|&c| c == b'-')?;
    let start = hex(&range[..dash])?;
    let end = hex(&range[dash + 1..])?;
    if perms.len() < 4 || end <= start {
        return None;
    }
    let private_data = perms[3] == b'p' && (perms[0] == b'r' || perms[1] == b'w');
    let (anonymous, file) = match path {
        None => (true, false),
        Some(p) if p == b"[heap]" => (true, false),
        Some(p) => (false, p.first() != Some(&b'[')),
    };
    Some(Map {
        start,
        end,
        private_data,
        anonymous,
        file,
    })
}

fn hex(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut v = 0usize;
    for &c in s {
        let d = (c as char).to_digit(16)?;
        v = (v << 4) | d as usize;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_lines_are_parsed() {
        let anon = parse(b"7f1c2c000000-7f1c2c021000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!((anon.start, anon.end), (0x7f1c2c000000, 0x7f1c2c021000));
        assert!(anon.private_data && anon.anonymous && !anon.file);
        let heap = parse(b"55d0c0a00000-55d0c0c00000 rw-p 00000000 00:00 0   [heap]").unwrap();
        assert!(heap.anonymous);
        let lib = parse(b"7f00-8f00 r-xp 00000000 08:01 1234   /usr/lib/libc.so.6").unwrap();
        assert!(lib.file && !lib.anonymous);
        let guard = parse(b"7f00-8f00 ---p 00000000 00:00 0").unwrap();
        assert!(!guard.private_data);
        let vdso = parse(b"7f00-8f00 r-xp 00000000 00:00 0   [vdso]").unwrap();
        assert!(!vdso.file && !vdso.anonymous);
        assert!(parse(b"garbage").is_none());
    }

    #[test]
    fn a_forked_child_keeps_working_after_the_release() {
        // Some heap the child must not need.
        let big = vec![7u8; 8 << 20];
        let (r, w) = {
            let mut fds = [0; 2];
            // SAFETY: a valid array.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            (fds[0], fds[1])
        };
        // SAFETY: the child runs raw system calls only and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let top = 0u8;
            // SAFETY: a fresh single-threaded child that only makes system calls afterwards.
            unsafe {
                release(std::ptr::addr_of!(top) as usize);
                let mut status = [0u8; 2048];
                let fd = libc::open(c"/proc/self/status".as_ptr(), libc::O_RDONLY);
                let n = libc::read(fd, status.as_mut_ptr().cast(), status.len());
                libc::write(w, status.as_ptr().cast(), n.max(0) as usize);
                libc::_exit(0);
            }
        }
        // SAFETY: our own fds and child.
        let (text, code) = unsafe {
            libc::close(w);
            let mut out = vec![0u8; 4096];
            let n = libc::read(r, out.as_mut_ptr().cast(), out.len());
            let mut st = 0;
            libc::waitpid(pid, &mut st, 0);
            libc::close(r);
            out.truncate(n.max(0) as usize);
            (String::from_utf8_lossy(&out).into_owned(), st)
        };
        assert_eq!(code, 0, "the child exits cleanly");
        let rss_kib: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in the child's status");
        // The 8 MiB vector (and the rest of the heap) is gone from the child.
        assert!(rss_kib < 8 * 1024, "child RSS {rss_kib} KiB");
        assert_eq!(big[big.len() - 1], 7);
    }
}
