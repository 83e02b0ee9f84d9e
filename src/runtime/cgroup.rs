//! A memory cgroup per container, so `resources.limits.memory` is enforced by the kernel and
//! an OOM kill can be told apart from any other SIGKILL (reason OOMKilled, exit 137), as CRI
//! runtimes do: SIGKILL *and* a rise of the cgroup's `oom_kill` counter. Works with cgroup v2
//! (`memory.max`, `memory.events`, `cgroup.kill`) and v1 (`memory.limit_in_bytes`,
//! `memory.oom_control`). A run keeps its cgroups under `podcheck-<runner pid>-<run id>`, so a
//! later run can sweep what a killed runner left behind.

use std::collections::VecDeque;
use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use thiserror::Error;

/// Why a container cgroup could not be set up; each names the step, path and errno.
#[derive(Debug, Error)]
pub enum CgroupError {
    /// The host gives us no writable memory controller.
    #[error("memory cgroups are unavailable: {0}")]
    Unavailable(String),
    /// A run id or container name that cannot be one cgroup directory name.
    #[error(
        "invalid {what} {value:?}: a cgroup name must be non-empty, not . or .., without / or NUL"
    )]
    InvalidName {
        /// Which name ("run id", "container name").
        what: &'static str,
        /// The name given.
        value: String,
    },
    /// A cgroup filesystem operation failed.
    #[error("could not {}{}", brief(.step, .path, .source), hint(.source))]
    Io {
        /// The failing step ("mkdir", "write", ...).
        step: &'static str,
        /// The cgroup directory or control file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn brief(step: &str, path: &Path, e: &io::Error) -> String {
    format!("{step} {}: {e}", path.display())
}

/// The likely cause and fix for an errno.
fn hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => {
            " (run as root, or under `systemd-run --user --scope -p Delegate=yes`)"
        }
        Some(libc::EROFS) => " (cgroupfs is read-only here, as in a default Docker container)",
        // EBUSY reaches a CgroupError only from a cgroup.subtree_control write.
        Some(libc::EBUSY) => " (cgroup v2 gives no controllers to a cgroup with processes)",
        Some(libc::EEXIST) => " (drop the previous cgroup of that name first)",
        Some(libc::ENOENT) => " (the memory controller is not enabled here, or the cgroup is gone)",
        Some(libc::EINVAL) => " (the kernel rejected the value)",
        _ => "",
    }
}

fn io_err(step: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CgroupError {
    let path = path.to_path_buf();
    move |source| CgroupError::Io { step, path, source }
}

/// Which cgroup version holds the memory controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// Per-controller hierarchies (`memory.limit_in_bytes`).
    V1,
    /// The unified hierarchy (`memory.max`).
    V2,
}

/// The memory controller this host gives us and where our run trees go.
#[derive(Debug)]
pub struct MemoryController {
    version: CgroupVersion,
    base: PathBuf,
    hierarchy: PathBuf,
}

impl MemoryController {
    /// cgroup v1 or v2.
    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// The cgroup directory our per-run trees are created in.
    pub fn base(&self) -> &Path {
        &self.base
    }
}

/// Which memory controller this host gives us, probed once per process (cached).
pub fn memory_support() -> Result<&'static MemoryController, String> {
    static PROBE: OnceLock<Result<MemoryController, String>> = OnceLock::new();
    PROBE.get_or_init(probe).as_ref().map_err(Clone::clone)
}

/// A cgroup mount: its root within the hierarchy and its mount point.
#[derive(Debug)]
struct Mount {
    root: String,
    point: PathBuf,
}

/// Finds the cgroup2 mount and the v1 mount that carries the memory controller.
fn find_mounts(mountinfo: &str) -> (Option<Mount>, Option<Mount>) {
    let (mut v2, mut v1) = (None, None);
    for line in mountinfo.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(root), Some(point), Some(fstype), Some(opts)) =
            (f.get(3), f.get(4), f.get(sep + 1), f.get(sep + 3))
        else {
            continue;
        };
        let mount = || {
            Some(Mount {
                root: unescape(root),
                point: unescape(point).into(),
            })
        };
        if *fstype == "cgroup2" && v2.is_none() {
            v2 = mount();
        } else if *fstype == "cgroup" && v1.is_none() && opts.split(',').any(|o| o == "memory") {
            v1 = mount();
        }
    }
    (v2, v1)
}

/// Undoes mountinfo's octal escapes of space, tab, newline and backslash.
fn unescape(s: &str) -> String {
    let escapes = [
        ("\\040", " "),
        ("\\011", "\t"),
        ("\\012", "\n"),
        ("\\134", "\\"),
    ];
    escapes
        .iter()
        .fold(s.to_owned(), |s, (from, to)| s.replace(from, to))
}

/// Our cgroup path in the v2 hierarchy (`0::/path`) or in the v1 memory hierarchy.
fn own_cgroup(proc_cgroup: &str, version: CgroupVersion) -> Option<&str> {
    proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let hit = match version {
            CgroupVersion::V2 => id == "0" && controllers.is_empty(),
            CgroupVersion::V1 => controllers.split(',').any(|c| c == "memory"),
        };
        hit.then_some(path)
    })
}

/// The directory of cgroup `path` under `mount`, if it is visible there.
fn cgroup_dir(mount: &Mount, path: &str) -> Option<PathBuf> {
    // A mount of a subtree (a container without a cgroup namespace) has that subtree as root.
    let rel = match path.strip_prefix(mount.root.trim_end_matches('/')) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    };
    let rel = rel.trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return None;
    }
    let dir = mount.point.join(rel);
    dir.is_dir().then_some(dir)
}

fn probe() -> Result<MemoryController, String> {
    let read = |p: &str| fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"));
    let (v2, v1) = find_mounts(&read("/proc/self/mountinfo")?);
    let has_memory = |dir: &Path| {
        fs::read_to_string(dir.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|w| w == "memory"))
    };
    // A controller serves one hierarchy only, so at most one of these offers memory.
    let (version, mount) = match (v2, v1) {
        (Some(m), _) if has_memory(&m.point) => (CgroupVersion::V2, m),
        (_, Some(m)) => (CgroupVersion::V1, m),
        _ => return Err("no memory controller: neither cgroup2 nor a cgroup v1 hierarchy offers `memory` (see /proc/self/mountinfo)".into()),
    };
    let proc_cgroup = read("/proc/self/cgroup")?;
    let own = own_cgroup(&proc_cgroup, version).and_then(|p| cgroup_dir(&mount, p));
    // Our own cgroup first, as delegation requires; v1 then falls back to the root, while v2
    // climbs to the first ancestor whose children can get the memory controller.
    let mut candidates: Vec<PathBuf> = own.into_iter().collect();
    while let Some(up) = candidates.last().and_then(|d| d.parent()) {
        if version == CgroupVersion::V1 || !up.starts_with(&mount.point) {
            break;
        }
        candidates.push(up.to_path_buf());
    }
    if !candidates.contains(&mount.point) {
        candidates.push(mount.point.clone());
    }
    let mut tried = Vec::new();
    for base in candidates {
        match probe_base(version, &base) {
            Ok(()) => {
                return Ok(MemoryController {
                    version,
                    base,
                    hierarchy: mount.point,
                });
            }
            Err(CgroupError::Io { step, path, source }) => {
                tried.push((brief(step, &path, &source), hint(&source)))
            }
            Err(e) => tried.push((e.to_string(), "")),
        }
    }
    let hint = tried.first().map_or("", |t| t.1);
    let tried: Vec<String> = tried.into_iter().map(|t| t.0).collect();
    Err(format!(
        "no writable memory cgroup: {}{hint}",
        tried.join("; nor ")
    ))
}

/// Checks that `base` takes a child with a memory limit and that we may move processes there.
fn probe_base(version: CgroupVersion, base: &Path) -> Result<(), CgroupError> {
    if version == CgroupVersion::V2 {
        enable_memory(base)?;
    }
    let dir = base.join(format!("podcheck-{}-probe", std::process::id()));
    fs::create_dir(&dir).map_err(io_err("mkdir", &dir))?;
    let limit = match version {
        CgroupVersion::V1 => "memory.limit_in_bytes",
        CgroupVersion::V2 => "memory.max",
    };
    // Moving a process needs write access to the common ancestor's cgroup.procs: `base`'s.
    let procs = base.join("cgroup.procs");
    let result = write_file(&dir.join(limit), "1073741824").and_then(|()| {
        nix::unistd::access(&procs, nix::unistd::AccessFlags::W_OK)
            .map_err(|e| io_err("write", &procs)(e.into()))
    });
    remove_cgroup(version, &dir);
    result
}

/// Turns on the memory controller for `dir`'s children (v2), unless it is on already.
fn enable_memory(dir: &Path) -> Result<(), CgroupError> {
    let has = |file: &Path| {
        let text = fs::read_to_string(file).map_err(io_err("read", file))?;
        Ok::<_, CgroupError>(text.split_whitespace().any(|c| c == "memory"))
    };
    let controllers = dir.join("cgroup.controllers");
    if !has(&controllers)? {
        let missing = io::Error::from_raw_os_error(libc::ENOENT);
        return Err(io_err("find `memory` in", &controllers)(missing));
    }
    let subtree = dir.join("cgroup.subtree_control");
    if has(&subtree)? {
        Ok(())
    } else {
        write_file(&subtree, "+memory")
    }
}

/// One `write` of `value`, as cgroup control files expect (no O_CREAT, no O_TRUNC).
fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(io_err("write", path))
}

/// Serializes creating and removing per-run parents, so that one container's drop cannot
/// remove the parent another is being created in.
static TREE_LOCK: Mutex<()> = Mutex::new(());

/// A container's memory cgroup; dropping it kills what is inside and removes it.
#[derive(Debug)]
pub struct ContainerCgroup {
    version: CgroupVersion,
    dir: PathBuf,
    tree: PathBuf,
    /// `dir/cgroup.procs`, prepared before fork for `join_in_child`.
    procs: CString,
}

impl ContainerCgroup {
    /// Creates <base>/podcheck-<runner pid>-<run_id>/<name> with the limit set.
    ///
    /// A limit of 0 means none, as in the CRI; the cgroup still counts OOM kills.
    pub fn create(run_id: &str, name: &str, limit_bytes: u64) -> Result<Self, CgroupError> {
        let ctrl = memory_support().map_err(CgroupError::Unavailable)?;
        check_name("run id", run_id)?;
        let tree = format!("podcheck-{}-{run_id}", std::process::id());
        Self::create_in(ctrl.version, &ctrl.base, &tree, name, Some(limit_bytes))
    }

    /// Creates `base/tree/name`; without a limit, no memory file is touched.
    fn create_in(
        version: CgroupVersion,
        base: &Path,
        tree: &str,
        name: &str,
        limit: Option<u64>,
    ) -> Result<Self, CgroupError> {
        check_name("container name", name)?;
        let tree = base.join(tree);
        let dir = tree.join(name);
        let procs = dir.join("cgroup.procs");
        let procs =
            CString::new(procs.as_os_str().as_bytes()).map_err(|_| CgroupError::InvalidName {
                what: "cgroup path",
                value: procs.display().to_string(),
            })?;
        {
            let _guard = TREE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = fs::create_dir(&tree)
                && e.kind() != io::ErrorKind::AlreadyExists
            {
                return Err(io_err("mkdir", &tree)(e));
            }
            let made = if version == CgroupVersion::V2 && limit.is_some() {
                enable_memory(&tree)
            } else {
                Ok(())
            };
            if let Err(e) = made.and_then(|()| fs::create_dir(&dir).map_err(io_err("mkdir", &dir)))
            {
                // Fails, rightly, while other containers of the run have cgroups there.
                let _ = fs::remove_dir(&tree);
                return Err(e);
            }
        }
        // From here on, dropping `cg` on an error removes what was made.
        let cg = ContainerCgroup {
            version,
            dir,
            tree,
            procs,
        };
        if let Some(limit) = limit.filter(|l| *l > 0) {
            cg.set_limit(&limit.to_string())?;
        }
        Ok(cg)
    }

    fn set_limit(&self, value: &str) -> Result<(), CgroupError> {
        let file = |name: &str| self.dir.join(name);
        if self.version == CgroupVersion::V1 {
            write_file(&file("memory.limit_in_bytes"), value)?;
            // The same memory+swap limit keeps swap from hiding the OOM; without swap
            // accounting, swappiness 0 keeps this cgroup from swapping.
            return match file("memory.memsw.limit_in_bytes") {
                memsw if memsw.exists() => write_file(&memsw, value),
                _ => write_file(&file("memory.swappiness"), "0").or(Ok(())),
            };
        }
        write_file(&file("memory.max"), value)?;
        // oom.group kills the whole container on OOM, as the kubelet sets it on cgroup v2.
        for (name, value) in [("memory.swap.max", "0"), ("memory.oom.group", "1")] {
            if file(name).exists() {
                write_file(&file(name), value)?;
            }
        }
        Ok(())
    }

    /// The cgroup's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// For a freshly forked child inside `pre_exec`: moves the calling process into the cgroup (open + write "0" to cgroup.procs). Async-signal-safe: uses only a path prepared before fork, no allocation.
    ///
    /// # Safety
    /// Meant for a forked child before exec; it moves whichever process calls it.
    pub unsafe fn join_in_child(&self) -> io::Result<()> {
        // SAFETY: a NUL-terminated path and a static buffer; errno is taken before close.
        unsafe {
            let fd = libc::open(self.procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let result = match libc::write(fd, b"0".as_ptr().cast(), 1) {
                1 => Ok(()),
                n if n < 0 => Err(io::Error::last_os_error()),
                _ => Err(io::Error::from_raw_os_error(libc::EIO)),
            };
            libc::close(fd);
            result
        }
    }

    /// How many times the kernel's OOM killer has fired in this cgroup.
    ///
    /// 0 when the counter cannot be read, so a failed read never makes an OOMKilled.
    pub fn oom_kills(&self) -> u64 {
        let file = match self.version {
            CgroupVersion::V1 => "memory.oom_control",
            CgroupVersion::V2 => "memory.events",
        };
        let text = fs::read_to_string(self.dir.join(file)).unwrap_or_default();
        text.lines()
            .find_map(|l| match l.split_once(' ') {
                Some(("oom_kill", n)) => n.trim().parse().ok(),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// SIGKILLs everything in the cgroup.
    pub fn kill_all(&self) {
        kill_cgroup(self.version, &self.dir);
    }
}

impl Drop for ContainerCgroup {
    fn drop(&mut self) {
        remove_cgroup(self.version, &self.dir);
        let _guard = TREE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        // Fails, rightly, while other containers of the run still have cgroups.
        let _ = fs::remove_dir(&self.tree);
    }
}

fn check_name(what: &'static str, value: &str) -> Result<(), CgroupError> {
    if value.is_empty() || value == "." || value == ".." || value.contains(['/', '\0']) {
        return Err(CgroupError::InvalidName {
            what,
            value: value.into(),
        });
    }
    Ok(())
}

/// SIGKILLs every process in `dir`: at once with `cgroup.kill` (v2, kernel ≥ 5.14), otherwise
/// by listing `cgroup.procs` until no new process shows up (bounded, for fork loops).
fn kill_cgroup(version: CgroupVersion, dir: &Path) {
    if version == CgroupVersion::V2 && write_file(&dir.join("cgroup.kill"), "1").is_ok() {
        return;
    }
    let me = std::process::id() as i32;
    let mut killed = Vec::new();
    for _ in 0..50 {
        let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) else {
            return;
        };
        let mut new = false;
        // Never ourselves, even if the runner was joined to the cgroup by mistake.
        let pids = text.lines().filter_map(|l| l.parse::<i32>().ok());
        for pid in pids.filter(|p| *p > 0 && *p != me) {
            if !killed.contains(&pid) {
                killed.push(pid);
                new = true;
            }
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        // Killed processes stay listed until they exit; only new ones need another round.
        if !new {
            return;
        }
    }
}

/// Kills and removes the cgroup `dir`, retrying while processes leave; true once it is gone.
fn remove_cgroup(version: CgroupVersion, dir: &Path) -> bool {
    for attempt in 0..50u32 {
        kill_cgroup(version, dir);
        match fs::remove_dir(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                std::thread::sleep(Duration::from_millis(1 << attempt.min(5)));
            }
            _ => return true,
        }
    }
    false
}

/// Removes podcheck run trees whose runner pid is gone (kill, then rmdir); returns how many. Called once at start-up.
///
/// It searches the whole memory hierarchy (bounded), as earlier runs may have started in other
/// cgroups than ours. Runner pids mean something only within our PID namespace.
pub fn sweep_stale() -> usize {
    memory_support().map_or(0, |ctrl| sweep_from(ctrl.version, &ctrl.hierarchy))
}

fn sweep_from(version: CgroupVersion, root: &Path) -> usize {
    let (mut removed, mut visited) = (0, 0);
    let mut queue = VecDeque::from([(root.to_path_buf(), 0u32)]);
    while let Some((dir, depth)) = queue.pop_front() {
        visited += 1;
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let dirs = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()));
        for (name, path) in dirs.map(|e| (e.file_name(), e.path())) {
            let far = depth >= 8 || visited + queue.len() >= 10_000;
            match name.to_str().and_then(runner_pid) {
                Some(pid) if !pid_alive(pid) => removed += usize::from(remove_tree(version, &path)),
                None if !far => queue.push_back((path, depth + 1)),
                _ => {}
            }
        }
    }
    removed
}

/// The runner pid in a `podcheck-<pid>-<run id>` directory name.
fn runner_pid(name: &str) -> Option<i32> {
    let (pid, run) = name.strip_prefix("podcheck-")?.split_once('-')?;
    let pid = pid.parse().ok().filter(|p| *p > 0)?;
    (!run.is_empty()).then_some(pid)
}

fn pid_alive(pid: i32) -> bool {
    matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(Errno::EPERM))
}

/// Kills and removes a run tree and its container cgroups; true once the tree is gone.
fn remove_tree(version: CgroupVersion, tree: &Path) -> bool {
    for entry in fs::read_dir(tree).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup(version, &entry.path());
        }
    }
    remove_cgroup(version, tree)
}

#[cfg(test)]
mod tests;
