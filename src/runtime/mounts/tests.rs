//! Every scenario runs real commands once per environment that allows mount namespaces:
//! as the current user (root) and inside a fresh user namespace (the unprivileged path).

use super::*;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

fn unique(prefix: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let n = N.fetch_add(1, Ordering::Relaxed);
    PathBuf::from(format!("{prefix}-{}-{nanos}-{n}", std::process::id()))
}

/// A child process holding a new user namespace with our uid and gid mapped to themselves.
struct Userns {
    pid: libc::pid_t,
    fd: OwnedFd,
    _hold: OwnedFd,
}

impl Userns {
    fn create() -> Result<Userns, String> {
        // SAFETY: plain getters.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let maps = [
            (c"/proc/self/setgroups", b"deny".to_vec()),
            (
                c"/proc/self/uid_map",
                format!("{uid} {uid} 1\n").into_bytes(),
            ),
            (
                c"/proc/self/gid_map",
                format!("{gid} {gid} 1\n").into_bytes(),
            ),
        ];
        let (mut status, mut hold) = ([0; 2], [0; 2]);
        // SAFETY: valid buffers; the child makes raw system calls only and _exits.
        unsafe {
            assert_eq!(libc::pipe2(status.as_mut_ptr(), libc::O_CLOEXEC), 0);
            assert_eq!(libc::pipe2(hold.as_mut_ptr(), libc::O_CLOEXEC), 0);
            let pid = libc::fork();
            if pid == 0 {
                let (w, r) = (status[1], hold[0]);
                // Hold no other test's pipes open (std's exec-error pipe would block it).
                let (lo, hi) = (w.min(r) as u32, w.max(r) as u32);
                libc::syscall(libc::SYS_close_range, 3u32, lo.saturating_sub(1), 0u32);
                libc::syscall(libc::SYS_close_range, lo + 1, hi - 1, 0u32);
                libc::syscall(libc::SYS_close_range, hi + 1, u32::MAX, 0u32);
                let mut code = 0i32;
                if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                    code = *libc::__errno_location();
                }
                for (path, data) in &maps {
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
                    if code == 0
                        && (fd < 0 || libc::write(fd, data.as_ptr().cast(), data.len()) < 0)
                    {
                        code = -*libc::__errno_location();
                    }
                    libc::close(fd);
                }
                libc::write(w, code.to_ne_bytes().as_ptr().cast(), 4);
                let mut b = 0u8;
                libc::read(r, (&mut b as *mut u8).cast(), 1);
                libc::_exit(0);
            }
            libc::close(status[1]);
            libc::close(hold[0]);
            let hold = OwnedFd::from_raw_fd(hold[1]);
            let mut buf = [0u8; 4];
            let got = libc::read(status[0], buf.as_mut_ptr().cast(), 4);
            libc::close(status[0]);
            let code = i32::from_ne_bytes(buf);
            let fd = std::fs::File::open(format!("/proc/{pid}/ns/user"));
            match (got, code, fd) {
                (4, 0, Ok(f)) => Ok(Userns {
                    pid,
                    fd: f.into(),
                    _hold: hold,
                }),
                (_, c, _) => {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                    let what = if c > 0 {
                        "unshare"
                    } else {
                        "write the id maps"
                    };
                    Err(format!("{what}: {}", io::Error::from_raw_os_error(c.abs())))
                }
            }
        }
    }
}

impl Drop for Userns {
    fn drop(&mut self) {
        // SAFETY: our own child, reaped only here.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

/// Where a scenario runs: on the host as the current user, or after joining a user namespace.
struct Env {
    name: &'static str,
    userns: Option<Userns>,
}

fn envs() -> Vec<Env> {
    let mut out = Vec::new();
    match mount_namespaces_available(None) {
        Ok(()) => out.push(Env {
            name: "host",
            userns: None,
        }),
        Err(e) => eprintln!("skipped (as the current user): mount namespaces unavailable: {e}"),
    }
    match Userns::create().and_then(|u| {
        mount_namespaces_available(Some(u.fd.as_raw_fd()))?;
        Ok(u)
    }) {
        Ok(u) => out.push(Env {
            name: "userns",
            userns: Some(u),
        }),
        Err(e) => eprintln!("skipped (in a user namespace): mount namespaces unavailable: {e}"),
    }
    out
}

fn run(plan: MountPlan, env: &Env, cwd: &Path, script: &str) -> Output {
    let plan = Arc::new(plan);
    let child_plan = Arc::clone(&plan);
    let userns = env.userns.as_ref().map(|u| u.fd.as_raw_fd());
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script]).current_dir(cwd);
    // SAFETY: setns and apply make raw system calls only.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(fd) = userns
                && libc::setns(fd, libc::CLONE_NEWUSER) != 0
            {
                return Err(io::Error::last_os_error());
            }
            child_plan.apply()
        });
    }
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!(
            "[{}] {}",
            env.name,
            plan.explain(&e).map_or(e.to_string(), |m| m.to_string())
        ),
    }
}

fn stdout(env: &Env, o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "[{}] {:?}: {err}", env.name, o.status);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The host has neither the paths nor a mount mentioning them.
fn assert_host_clean(paths: &[&Path]) {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for p in paths {
        assert!(!p.exists(), "{p:?} appeared on the host");
        assert!(
            !mountinfo.contains(p.to_str().unwrap()),
            "{p:?} is mounted on the host"
        );
    }
}

fn volume(base: &Path, name: &str, file: &str, text: &str) -> PathBuf {
    let d = base.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(file), text).unwrap();
    d
}

fn bind(source: &Path, target: &Path, read_only: bool) -> Bind {
    Bind {
        source: source.into(),
        target: target.into(),
        read_only,
    }
}

#[test]
fn a_directory_at_an_existing_path_receives_the_containers_writes() {
    for env in envs() {
        let base = tempfile::tempdir().unwrap();
        let src = volume(base.path(), "vol", "a.txt", "hello");
        let target = base.path().join("target");
        std::fs::create_dir(&target).unwrap();
        let plan = MountPlan::new(&[bind(&src, &target, false)], base.path(), base.path());
        let t = target.display();
        // The third uid_map field proves which environment ran: 1 in our user namespace.
        let script = format!(
            "cat {t}/a.txt; echo written > {t}/new.txt; read a b c < /proc/self/uid_map; echo \" $c\""
        );
        let o = run(plan.unwrap(), &env, base.path(), &script);
        let map = if env.userns.is_some() {
            "1"
        } else {
            "4294967295"
        };
        assert_eq!(stdout(&env, &o), format!("hello {map}\n"));
        assert_eq!(
            std::fs::read_to_string(src.join("new.txt")).unwrap(),
            "written\n"
        );
        assert_eq!(
            std::fs::read_dir(&target).unwrap().count(),
            0,
            "[{}] host target changed",
            env.name
        );
        assert_host_clean(&[&target.join("a.txt")]);
    }
}

#[test]
fn a_missing_path_under_an_existing_ancestor_is_made_in_a_shadow() {
    for env in envs() {
        let base = tempfile::tempdir().unwrap();
        let src = volume(base.path(), "vol", "a.txt", "deep");
        let existing = volume(base.path(), "existing", "keep.txt", "kept");
        std::os::unix::fs::symlink("keep.txt", existing.join("link")).unwrap();
        let target = existing.join("missing/deeper");
        let plan = MountPlan::new(&[bind(&src, &target, false)], base.path(), base.path()).unwrap();
        let e = existing.display();
        let script = format!("cat {e}/missing/deeper/a.txt {e}/keep.txt {e}/link; ls {e}");
        let o = run(plan, &env, base.path(), &script);
        assert_eq!(stdout(&env, &o), "deepkeptkeptkeep.txt\nlink\nmissing\n");
        assert_host_clean(&[&existing.join("missing")]);
    }
}

#[test]
fn a_missing_top_level_path_gets_a_skeleton_root_and_keeps_the_working_directory() {
    for env in envs() {
        let base = tempfile::tempdir().unwrap();
        let src = volume(base.path(), "vol", "a.txt", "top");
        let cwd = volume(base.path(), "work", "here.txt", "");
        let target = unique("/podcheck-test-data");
        let plan = MountPlan::new(
            &[bind(&src, &target, false)],
            &base.path().join("scratch-nonexistent-ok"),
            &cwd,
        );
        assert!(
            matches!(plan, Err(MountError::Scratch { .. })),
            "scratch must exist"
        );
        let plan = MountPlan::new(&[bind(&src, &target, false)], base.path(), &cwd).unwrap();
        let t = target.display();
        let script = format!(
            "cat {t}/a.txt; echo; pwd -P; ls; echo x > {t}/w; ls /proc/self/status /usr/bin/env"
        );
        let o = run(plan, &env, &cwd, &script);
        let want = format!(
            "top\n{}\nhere.txt\n/proc/self/status\n/usr/bin/env\n",
            cwd.display()
        );
        assert_eq!(stdout(&env, &o), want);
        assert!(src.join("w").exists());
        assert_host_clean(&[&target]);
    }
}

#[test]
fn a_file_appears_at_a_missing_path_under_dev_and_devices_still_work() {
    for env in envs() {
        let base = tempfile::tempdir().unwrap();
        let log = base.path().join("termination-log.0");
        std::fs::write(&log, b"").unwrap();
        let target = unique("/dev/podcheck-test");
        let plan = MountPlan::new(&[bind(&log, &target, false)], base.path(), base.path()).unwrap();
        // The shadow holds a container runtime's /dev, not the host's: /dev/kmsg (present
        // on any Linux host, never in a container by default) is gone.
        let script = format!(
            "echo bye > {}; echo gone > /dev/null; head -c 3 /dev/zero | wc -c; if test -e /dev/kmsg; then echo host-dev; fi",
            target.display()
        );
        let o = run(plan, &env, base.path(), &script);
        assert_eq!(stdout(&env, &o).trim(), "3");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "bye\n");
        assert_host_clean(&[&target]);
    }
}

#[test]
fn read_only_binds_refuse_writes_with_erofs() {
    for env in envs() {
        let base = tempfile::tempdir().unwrap();
        let src = volume(base.path(), "vol", "a.txt", "ro");
        let existing = base.path().join("existing");
        std::fs::create_dir(&existing).unwrap();
        let missing = base.path().join("shadowed/missing");
        std::fs::create_dir(base.path().join("shadowed")).unwrap();
        // A writable volume nested in a read-only one: its mountpoint is made in the
        // read-only volume's source before that is remounted.
        let rw = volume(base.path(), "rw", "w.txt", "rw");
        let binds = [
            bind(&src, &existing, true),
            bind(&src, &missing, true),
            bind(&rw, &existing.join("inner"), false),
        ];
        let plan = MountPlan::new(&binds, base.path(), base.path()).unwrap();
        let (e, m) = (existing.display(), missing.display());
        let script = format!(
            "cat {e}/a.txt {m}/a.txt {e}/inner/w.txt; for d in {e} {m} {e}/inner; do touch $d/b || echo refused; done"
        );
        let o = run(plan, &env, base.path(), &script);
        assert_eq!(stdout(&env, &o), "rororwrefused\nrefused\n");
        assert!(String::from_utf8_lossy(&o.stderr).contains("Read-only file system"));
        assert!(!src.join("b").exists() && rw.join("b").exists());
        assert_host_clean(&[&missing]);
    }
}

#[test]
fn binds_sharing_an_ancestor_shadow_it_once() {
    for env in envs() {
        let base = tempfile::tempdir().unwrap();
        let one = volume(base.path(), "one", "a.txt", "1");
        let two = volume(base.path(), "two", "a.txt", "2");
        let shared = volume(base.path(), "shared", "keep.txt", "k");
        let (t1, t2) = (shared.join("x/one"), shared.join("two"));
        let plan = MountPlan::new(
            &[bind(&one, &t1, false), bind(&two, &t2, false)],
            base.path(),
            base.path(),
        )
        .unwrap();
        let tmpfs = (0..plan.steps())
            .filter(|&i| plan.describe_step(i).unwrap().starts_with("mount a tmpfs"))
            .count();
        assert_eq!(tmpfs, 1);
        let s = shared.display();
        let o = run(
            plan,
            &env,
            base.path(),
            &format!("cat {s}/x/one/a.txt {s}/two/a.txt {s}/keep.txt"),
        );
        assert_eq!(stdout(&env, &o), "12k");
        assert_host_clean(&[&shared.join("x"), &t2]);
    }
}

#[test]
fn a_bind_over_the_directory_holding_the_sources_and_cwd_still_works() {
    // Like an emptyDir at /tmp while podcheck's volumes and working dirs live under /tmp.
    for env in envs() {
        let outer = tempfile::tempdir().unwrap();
        let base = volume(outer.path(), "base", "host.txt", "");
        let tmp_vol = volume(&base, "tmpvol", "t.txt", "t");
        let data_vol = volume(&base, "datavol", "d.txt", "d");
        let cwd = volume(&base, "work", "here.txt", "h");
        let binds = [
            bind(&tmp_vol, &base, false),
            bind(&data_vol, &base.join("data"), false),
        ];
        let plan = MountPlan::new(&binds, outer.path(), &cwd).unwrap();
        let b = base.display();
        let o = run(
            plan,
            &env,
            &cwd,
            &format!("cat {b}/t.txt {b}/data/d.txt here.txt; ls {b}"),
        );
        assert_eq!(stdout(&env, &o), "tdhdata\nt.txt\n");
        // The nested mountpoint is made inside the outer volume, as runc does.
        assert!(tmp_vol.join("data").is_dir());
        assert_host_clean(&[&base.join("data")]);
    }
}

#[test]
fn bad_plans_name_the_field_and_the_path() {
    let base = tempfile::tempdir().unwrap();
    let src = volume(base.path(), "vol", "a.txt", "");
    let file = src.join("a.txt");
    let plan = |binds: &[Bind]| {
        MountPlan::new(binds, base.path(), base.path())
            .unwrap_err()
            .to_string()
    };
    let e = plan(&[bind(&src, Path::new("data"), false)]);
    assert!(
        e.contains("binds[0].target \"data\" is a relative path"),
        "{e}"
    );
    let e = plan(&[
        bind(&src, Path::new("/ok"), false),
        bind(
            Path::new("/nonexistent/podcheck-src"),
            Path::new("/x"),
            false,
        ),
    ]);
    assert!(
        e.contains("binds[1].source \"/nonexistent/podcheck-src\"") && e.contains("No such file"),
        "{e}"
    );
    let e = plan(&[bind(&src, &file.join("below"), false)]);
    assert!(
        e.contains("binds[0].target") && e.contains("is not a directory"),
        "{e}"
    );
    let e = plan(&[bind(&src, &file, false)]);
    assert!(e.contains("cannot bind a directory source onto"), "{e}");
    let e = plan(&[bind(&src, Path::new("/a/../b"), false)]);
    assert!(e.contains("must not contain '..'"), "{e}");
    let e = plan(&[
        bind(&src, Path::new("/podcheck-dup"), false),
        bind(&src, Path::new("/podcheck-dup"), true),
    ]);
    assert!(
        e.contains("binds[1] and binds[0] both mount onto \"/podcheck-dup\""),
        "{e}"
    );
}

#[test]
fn a_failed_step_is_reported_by_number_and_name() {
    for env in envs() {
        let base = tempfile::tempdir().unwrap();
        let src = volume(base.path(), "vol", "a.txt", "");
        let target = base.path().join("target");
        std::fs::create_dir(&target).unwrap();
        let plan = MountPlan::new(&[bind(&src, &target, false)], base.path(), base.path()).unwrap();
        std::fs::remove_dir_all(&src).unwrap();
        let userns = env.userns.as_ref().map(|u| u.fd.as_raw_fd());
        let plan = Arc::new(plan);
        let child_plan = Arc::clone(&plan);
        let mut cmd = Command::new("true");
        // SAFETY: setns and apply make raw system calls only.
        unsafe {
            cmd.pre_exec(move || {
                if let Some(fd) = userns {
                    libc::setns(fd, libc::CLONE_NEWUSER);
                }
                child_plan.apply()
            });
        }
        let err = cmd.status().unwrap_err();
        let msg = plan.explain(&err).unwrap().to_string();
        let want = format!(
            "(bind {} onto {}): No such file or directory",
            src.display(),
            target.display()
        );
        assert!(
            msg.starts_with("mount namespace setup failed at step ") && msg.contains(&want),
            "{msg}"
        );
        assert!(
            plan.explain(&io::Error::from_raw_os_error(libc::EPERM))
                .is_none()
        );
    }
}

#[test]
fn a_target_through_a_symlinked_directory_shadows_the_real_directory() {
    // Like /var/run/secrets/... on hosts where /var/run links to /run.
    for env in envs() {
        let base = tempfile::tempdir().unwrap();
        let src = volume(base.path(), "vol", "a.txt", "via link");
        let real = volume(base.path(), "real", "keep.txt", "");
        std::os::unix::fs::symlink("real", base.path().join("link")).unwrap();
        let target = base.path().join("link/secrets/token");
        let plan = MountPlan::new(&[bind(&src, &target, true)], base.path(), base.path()).unwrap();
        let steps: Vec<String> = (0..plan.steps())
            .filter_map(|i| plan.describe_step(i))
            .collect();
        let want = format!("mount a tmpfs over {} to shadow it", real.display());
        assert!(steps.contains(&want), "{steps:#?}");
        let r = real.display();
        let o = run(
            plan,
            &env,
            base.path(),
            &format!("cat {}/a.txt; ls {r}", target.display()),
        );
        assert_eq!(stdout(&env, &o), "via linkkeep.txt\nsecrets\n");
        assert_host_clean(&[&real.join("secrets")]);
    }
}

#[test]
fn own_directories_under_a_volume_are_bound_back_and_others_left_alone() {
    let own = tempfile::tempdir().unwrap();
    let own_path = own.path().canonicalize().unwrap();
    let parent = own_path.parent().unwrap().to_owned();
    let volume = |target: &Path| Bind {
        source: PathBuf::from("/nonexistent-source"),
        target: target.to_owned(),
        read_only: false,
    };
    let mut binds = vec![volume(&parent)];
    keep_visible(&mut binds, std::slice::from_ref(&own_path));
    assert_eq!(binds.len(), 2, "{binds:?}");
    assert_eq!((&binds[1].source, &binds[1].target), (&own_path, &own_path));
    let mut elsewhere = vec![volume(Path::new("/podcheck-nowhere/data"))];
    keep_visible(&mut elsewhere, &[own_path]);
    assert_eq!(elsewhere.len(), 1);
}
