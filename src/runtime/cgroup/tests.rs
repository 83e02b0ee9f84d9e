//! Tests of the memory cgroups against the real kernel (skipped where unavailable).
use super::*;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Instant;

#[test]
fn mountinfo_and_proc_cgroup_of_hybrid_and_unified_hosts() {
    let hybrid = "30 25 0:26 / /sys/fs/cgroup/memory rw shared:9 - cgroup cgroup rw,memory\n\
                  31 25 0:27 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw\n";
    let (v2, v1) = find_mounts(hybrid);
    assert_eq!(v2.unwrap().point, PathBuf::from("/sys/fs/cgroup/unified"));
    assert_eq!(v1.unwrap().point, PathBuf::from("/sys/fs/cgroup/memory"));
    let (v2, v1) = find_mounts("35 24 0:30 /docker/a /sys/fs/cg\\040x rw - cgroup2 cgroup2 rw\n");
    let v2 = v2.unwrap();
    assert!(v1.is_none());
    assert_eq!(
        (v2.root.as_str(), v2.point),
        ("/docker/a", PathBuf::from("/sys/fs/cg x"))
    );
    let cg = "4:memory:/process_api/h\n1:cpu,cpuacct:/\n0::/user.slice/session-1.scope\n";
    assert_eq!(own_cgroup(cg, CgroupVersion::V1), Some("/process_api/h"));
    assert_eq!(
        own_cgroup(cg, CgroupVersion::V2),
        Some("/user.slice/session-1.scope")
    );
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("a/b")).unwrap();
    let m = Mount {
        root: "/docker".into(),
        point: tmp.path().into(),
    };
    assert_eq!(cgroup_dir(&m, "/docker/a/b"), Some(tmp.path().join("a/b")));
    assert_eq!(cgroup_dir(&m, "/a"), Some(tmp.path().join("a")));
    assert_eq!(cgroup_dir(&m, "/"), Some(tmp.path().into()));
    assert_eq!(cgroup_dir(&m, "/../x"), None);
    assert_eq!(runner_pid("podcheck-42-run1"), Some(42));
    assert_eq!(
        (runner_pid("podcheck-42-"), runner_pid("podcheck-x-run")),
        (None, None)
    );
}

#[test]
fn bad_names_are_rejected_before_touching_the_filesystem() {
    for name in ["", ".", "..", "a/b", "a\0b"] {
        let nowhere = Path::new("/nonexistent");
        let err = ContainerCgroup::create_in(CgroupVersion::V1, nowhere, "t", name, None);
        assert!(
            matches!(err, Err(CgroupError::InvalidName { .. })),
            "{name:?}"
        );
    }
}

/// A container cgroup for a test, or None (and the printed reason) where unavailable.
fn created(run: &str, name: &str, limit: u64) -> Option<Arc<ContainerCgroup>> {
    if let Err(reason) = memory_support() {
        eprintln!("skipped: memory cgroups unavailable: {reason}");
        return None;
    }
    Some(Arc::new(ContainerCgroup::create(run, name, limit).unwrap()))
}

/// A child killed and reaped on every path.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Reaped {
    fn wait_for(&mut self, limit: Duration) -> ExitStatus {
        let mut status = None;
        let done = wait_until(limit, || {
            status = self.0.try_wait().unwrap();
            status.is_some()
        });
        assert!(done, "child still running after {limit:?}");
        status.unwrap()
    }
}

/// Spawns as the runtime will: the Command holds an Arc clone until it is dropped.
fn spawn_in(cg: &Arc<ContainerCgroup>, program: &str, args: &[&str]) -> Reaped {
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    let joiner = Arc::clone(cg);
    // SAFETY: join_in_child makes only raw system calls on the prepared path.
    unsafe { cmd.pre_exec(move || joiner.join_in_child()) };
    Reaped(cmd.spawn().unwrap())
}

fn procs(cg: &ContainerCgroup) -> Vec<u32> {
    let text = fs::read_to_string(cg.path().join("cgroup.procs")).unwrap_or_default();
    text.lines().filter_map(|l| l.parse().ok()).collect()
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Drops the cgroup and checks that its directory and the run's parent are gone.
fn drop_and_check_gone(cg: Arc<ContainerCgroup>) {
    let (dir, tree) = (cg.dir.clone(), cg.tree.clone());
    drop(cg);
    assert!(
        !dir.exists() && !tree.exists(),
        "{} left behind",
        dir.display()
    );
}

#[test]
fn a_process_over_the_limit_is_oom_killed_and_counted() {
    let Some(cg) = created("oomtest", "hog", 32 << 20) else {
        return;
    };
    assert_eq!(cg.oom_kills(), 0);
    // dd reads 200 MiB of /dev/zero into one buffer, so every page becomes resident.
    let mut hog = spawn_in(
        &cg,
        "dd",
        &["if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"],
    );
    let status = hog.wait_for(Duration::from_secs(60));
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    assert!(cg.oom_kills() >= 1);
    drop_and_check_gone(cg);
}

#[test]
fn a_process_under_the_limit_exits_normally() {
    let Some(cg) = created("undertest", "small", 32 << 20) else {
        return;
    };
    let mut ok = spawn_in(
        &cg,
        "dd",
        &["if=/dev/zero", "of=/dev/null", "bs=4M", "count=1"],
    );
    let status = ok.wait_for(Duration::from_secs(60));
    assert_eq!((status.code(), cg.oom_kills()), (Some(0), 0), "{status:?}");
    drop_and_check_gone(cg);
}

/// Starts a tree with a double-forked daemon in `cg`, kills it and checks nothing is left.
fn kill_tree_with_daemon(cg: &Arc<ContainerCgroup>) {
    let script = "sleep 301 & (setsid sh -c 'exec sleep 302' &); exec sleep 303";
    let mut main = spawn_in(cg, "sh", &["-c", script]);
    let started = wait_until(Duration::from_secs(10), || procs(cg).len() >= 3);
    assert!(started, "the tree did not start: {:?}", procs(cg));
    cg.kill_all();
    assert_eq!(
        main.wait_for(Duration::from_secs(10)).signal(),
        Some(libc::SIGKILL)
    );
    let emptied = wait_until(Duration::from_secs(10), || procs(cg).is_empty());
    assert!(emptied, "left in the cgroup: {:?}", procs(cg));
}

#[test]
fn kill_all_kills_a_double_forked_daemon() {
    let Some(cg) = created("killtest", "tree", 64 << 20) else {
        return;
    };
    kill_tree_with_daemon(&cg);
    drop_and_check_gone(cg);
}

#[test]
fn v2_kill_and_cleanup_without_the_memory_controller() {
    // This host's cgroup2 has no memory controller, but the v2 join, cgroup.kill and
    // cleanup paths can still run there.
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let Some(mount) = find_mounts(&mountinfo).0 else {
        return eprintln!("skipped: no cgroup2 mount");
    };
    let proc_cgroup = fs::read_to_string("/proc/self/cgroup").unwrap();
    let base = own_cgroup(&proc_cgroup, CgroupVersion::V2)
        .and_then(|p| cgroup_dir(&mount, p))
        .unwrap_or(mount.point);
    let tree = format!("podcheck-{}-v2kill", std::process::id());
    let cg = match ContainerCgroup::create_in(CgroupVersion::V2, &base, &tree, "c", None) {
        Ok(cg) => Arc::new(cg),
        Err(e) => return eprintln!("skipped: cannot create a cgroup2 directory: {e}"),
    };
    if !cg.path().join("cgroup.kill").exists() {
        return eprintln!("skipped: no cgroup.kill (kernel < 5.14)");
    }
    kill_tree_with_daemon(&cg);
    assert_eq!(cg.oom_kills(), 0);
    drop_and_check_gone(cg);
}

#[test]
fn sweep_removes_a_tree_whose_runner_is_gone() {
    let Ok(ctrl) = memory_support() else {
        return eprintln!(
            "skipped: no memory cgroups: {}",
            memory_support().unwrap_err()
        );
    };
    let v = ctrl.version;
    // A root named after our live pid hides the stale tree from concurrent test runs.
    let root = ctrl
        .base
        .join(format!("podcheck-{}-sweeptest", std::process::id()));
    // Beyond any pid_max, so kill(pid, 0) finds no such runner.
    let stale = root.join("podcheck-2147483646-run");
    struct Leftover(CgroupVersion, PathBuf, PathBuf);
    impl Drop for Leftover {
        fn drop(&mut self) {
            remove_tree(self.0, &self.1);
            remove_tree(self.0, &self.2);
        }
    }
    fs::create_dir(&root).unwrap();
    let _leftover = Leftover(v, stale.clone(), root.clone());
    if v == CgroupVersion::V2 {
        enable_memory(&root).unwrap();
    }
    let cg = ContainerCgroup::create_in(v, &root, "podcheck-2147483646-run", "c", Some(32 << 20));
    let cg = Arc::new(cg.unwrap());
    let mut sleeper = spawn_in(&cg, "sleep", &["300"]);
    assert!(wait_until(Duration::from_secs(10), || procs(&cg).len() == 1));
    // As if the runner had died: only a sweep (or the guard, on failure) removes it now.
    std::mem::forget(cg);
    sweep_stale();
    assert!(
        stale.exists(),
        "the sweep must leave live runs' trees alone"
    );
    assert_eq!(sweep_from(v, &root), 1);
    assert!(!stale.exists());
    let status = sleeper.wait_for(Duration::from_secs(10));
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}
