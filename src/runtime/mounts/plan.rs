//! Planning, before fork: validate the binds, resolve every target the way the container
//! will see it, and flatten the result into steps that `apply` runs without allocating.

use std::collections::BTreeSet;
use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::AtomicI32;

use super::{Bind, MountError, MountPlan};

/// The encoding leaves 18 bits for the step number (see `apply::encode`).
pub(super) const MAX_STEPS: usize = 0x3_FFFF;

/// Why a directory handle is opened; only used to describe the step.
#[derive(Debug, Clone, Copy)]
pub(super) enum Role {
    Source(usize),
    Cwd,
    Shadowed,
    HostRoot,
}

/// One step. Paths are absolute paths in the container's view; `name` is one component
/// looked up from the directory held in `slot`.
#[derive(Debug)]
pub(super) enum Op {
    Unshare,
    MakePrivate,
    Pin {
        slot: usize,
        path: CString,
        role: Role,
    },
    Tmpfs {
        target: CString,
        data: CString,
    },
    Unbindable {
        target: CString,
    },
    Replicate {
        slot: usize,
        name: CString,
        target: CString,
    },
    Mkdir {
        path: CString,
    },
    MkFile {
        path: CString,
    },
    Bind {
        slot: usize,
        name: CString,
        target: CString,
        source: CString,
    },
    RemountRo {
        target: CString,
    },
    /// As RemountRo, for a mount of the machine's tree that may have gone (best effort).
    RemountRoIfMounted {
        target: CString,
    },
    Chroot {
        root: CString,
    },
    Chdir {
        path: CString,
        slot: usize,
    },
}

/// What the container sees at a path while the plan is being built.
enum Node {
    Dir,
    File,
    Link(PathBuf),
    Missing,
}

/// A path that a planned step changes: a bind target (seen as its source) or a mountpoint
/// directory the plan creates.
enum Layer {
    Bind(PathBuf),
    CreatedDir,
}

/// Where a target leads: the deepest existing ancestor (canonical) and what is missing below it.
struct Resolved {
    existing: PathBuf,
    is_dir: bool,
    missing: Vec<OsString>,
}

#[derive(Default)]
struct Model {
    layers: Vec<(PathBuf, Layer)>,
    shadowed: BTreeSet<PathBuf>,
}

impl Model {
    /// The deepest layer at or above `p`, and the rest of `p` below it.
    fn layer<'a>(&'a self, p: &'a Path) -> Option<(&'a Layer, &'a Path)> {
        self.layers
            .iter()
            .filter_map(|(at, l)| Some((at.components().count(), l, p.strip_prefix(at).ok()?)))
            .max_by_key(|(depth, _, _)| *depth)
            .map(|(_, l, rest)| (l, rest))
    }

    fn node(&self, p: &Path) -> Result<Node, MountError> {
        let host = match self.layer(p) {
            Some((Layer::CreatedDir, rest)) if rest.as_os_str().is_empty() => return Ok(Node::Dir),
            Some((Layer::CreatedDir, _)) => return Ok(Node::Missing),
            Some((Layer::Bind(src), rest)) => src.join(rest),
            None => p.to_path_buf(),
        };
        let inspect = |source| MountError::Inspect {
            path: host.clone(),
            source,
        };
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.is_dir() => Ok(Node::Dir),
            Ok(m) if m.file_type().is_symlink() => {
                std::fs::read_link(&host).map(Node::Link).map_err(inspect)
            }
            Ok(_) => Ok(Node::File),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Node::Missing),
            Err(e) => Err(inspect(e)),
        }
    }

    /// Walks `target` component by component, following symlinks in the container's view
    /// (so `/var/run/x` becomes `/run/x`, as the kernel would resolve the mount target).
    fn resolve(&self, index: usize, target: &Path) -> Result<Resolved, MountError> {
        let mut todo: Vec<OsString> = components(target);
        todo.reverse();
        let mut cur = PathBuf::from("/");
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            if c == ".." {
                cur.pop();
                continue;
            }
            let next = cur.join(&c);
            match self.node(&next)? {
                Node::Dir => cur = next,
                Node::File if todo.is_empty() => {
                    return Ok(Resolved {
                        existing: next,
                        is_dir: false,
                        missing: Vec::new(),
                    });
                }
                Node::File => {
                    return Err(MountError::ThroughFile {
                        index,
                        target: target.to_owned(),
                        file: next,
                    });
                }
                Node::Link(to) => {
                    hops += 1;
                    if hops > 40 {
                        return Err(MountError::SymlinkLoop {
                            index,
                            target: target.to_owned(),
                        });
                    }
                    if to.is_absolute() {
                        cur = PathBuf::from("/");
                    }
                    todo.extend(components(&to).into_iter().rev());
                }
                Node::Missing => {
                    let mut missing = vec![c];
                    missing.extend(todo.into_iter().rev());
                    if missing.iter().any(|m| m == "..") {
                        return Err(MountError::Unresolvable {
                            index,
                            target: target.to_owned(),
                        });
                    }
                    return Ok(Resolved {
                        existing: cur,
                        is_dir: true,
                        missing,
                    });
                }
            }
        }
        Ok(Resolved {
            existing: cur,
            is_dir: true,
            missing: Vec::new(),
        })
    }
}

/// Normal and `..` components; the root and `.` say nothing once paths are absolute.
fn components(p: &Path) -> Vec<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

fn cstr(p: &Path) -> Result<CString, MountError> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| MountError::NulByte { path: p.to_owned() })
}

/// What a container runtime puts in a container's `/dev` (the OCI defaults runc creates:
/// devices, the pts/shm/mqueue mounts and the fd symlinks). A shadow of `/dev` keeps only
/// these: truer to a real container than the host's whole `/dev`, and one mount each
/// instead of one per host device.
const CONTAINER_DEV: [&str; 15] = [
    "core", "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
    "stdout", "tty", "urandom", "zero",
];

/// The entries of a directory to recreate in its shadow, sorted so plans are reproducible.
fn list(dir: &Path) -> Result<Vec<OsString>, MountError> {
    let inspect = |source| MountError::Inspect {
        path: dir.to_owned(),
        source,
    };
    let mut names = std::fs::read_dir(dir)
        .map_err(inspect)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(inspect)?;
    if dir == Path::new("/dev") {
        names.retain(|n| CONTAINER_DEV.iter().any(|d| n == *d));
    }
    names.sort();
    Ok(names)
}

/// A tmpfs at `at` with `dir`'s permission bits, and a copy of each entry of `dir` bound
/// back from the handle in `slot`.
fn shadow(ops: &mut Vec<Op>, slot: usize, dir: &Path, at: &Path) -> Result<(), MountError> {
    let mode = std::fs::symlink_metadata(dir)
        .map_err(|source| MountError::Inspect {
            path: dir.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    let data = CString::new(format!("mode=0{:o}", mode & 0o7777))
        .map_err(|_| MountError::NulByte { path: at.into() })?;
    ops.push(Op::Tmpfs {
        target: cstr(at)?,
        data,
    });
    if at != dir {
        // A skeleton root lives under a directory it copies: unbindable keeps it out of
        // its own recursive copies.
        ops.push(Op::Unbindable { target: cstr(at)? });
    }
    for name in list(dir)? {
        ops.push(Op::Replicate {
            slot,
            target: cstr(&at.join(&name))?,
            name: cstr(Path::new(&name))?,
        });
    }
    Ok(())
}

impl MountPlan {
    /// Plans the binds; `scratch` is a per-container directory podcheck owns (the skeleton
    /// root lives there); `cwd` is the working directory to restore at the end.
    pub fn new(binds: &[Bind], scratch: &Path, cwd: &Path) -> Result<MountPlan, MountError> {
        if !cwd.is_absolute() {
            return Err(MountError::RelativeCwd { cwd: cwd.into() });
        }
        let mut sources = Vec::with_capacity(binds.len());
        for (index, b) in binds.iter().enumerate() {
            let t = &b.target;
            if !t.is_absolute() {
                return Err(MountError::RelativeTarget {
                    index,
                    target: t.clone(),
                });
            }
            if t.components().any(|c| c == Component::ParentDir) || components(t).is_empty() {
                return Err(MountError::BadTarget {
                    index,
                    target: t.clone(),
                });
            }
            let src = std::fs::canonicalize(&b.source).map_err(|e| MountError::MissingSource {
                index,
                source_path: b.source.clone(),
                source: e,
            })?;
            let is_dir = src.is_dir();
            sources.push((src, is_dir));
        }

        let n = binds.len();
        let cwd_slot = n;
        let mut next_slot = n + 1;
        let mut head = vec![Op::Unshare, Op::MakePrivate];
        // Sources are held by fd from the start: a bind over /tmp must not hide a volume
        // directory that lives under /tmp from the binds that follow it.
        for (slot, (src, _)) in sources.iter().enumerate() {
            head.push(Op::Pin {
                slot,
                path: cstr(src.parent().unwrap_or(Path::new("/")))?,
                role: Role::Source(slot),
            });
        }

        // Parents before children: a volume mounted inside another volume comes second.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| binds[i].target.components().count());
        let mut model = Model::default();
        let mut body = Vec::new();
        let mut skeleton = false;
        let mut done: Vec<(PathBuf, usize)> = Vec::new();
        // Read-only comes last, so a mountpoint for a volume nested in a read-only one can
        // still be made in its source.
        let mut remounts = Vec::new();
        for &index in &order {
            let b = &binds[index];
            let (src, src_dir) = &sources[index];
            let r = model.resolve(index, &b.target)?;
            let target = if r.missing.is_empty() {
                if r.is_dir != *src_dir {
                    return Err(MountError::TypeMismatch {
                        index,
                        target: r.existing,
                        source_is_dir: *src_dir,
                    });
                }
                r.existing
            } else {
                let a = r.existing;
                // Only host paths need a shadow; a created directory or another bind's
                // source is ours to write to.
                if model.layer(&a).is_none() && !model.shadowed.contains(&a) {
                    if a == Path::new("/") {
                        skeleton = true;
                    } else {
                        body.push(Op::Pin {
                            slot: next_slot,
                            path: cstr(&a)?,
                            role: Role::Shadowed,
                        });
                        shadow(&mut body, next_slot, &a, &a)?;
                        next_slot += 1;
                    }
                    model.shadowed.insert(a.clone());
                }
                let mut p = a;
                let last = r.missing.len() - 1;
                for (k, c) in r.missing.iter().enumerate() {
                    p.push(c);
                    let path = cstr(&p)?;
                    if k < last || *src_dir {
                        body.push(Op::Mkdir { path });
                    } else {
                        body.push(Op::MkFile { path });
                    }
                    if k < last {
                        model.layers.push((p.clone(), Layer::CreatedDir));
                    }
                }
                p
            };
            if let Some((_, other)) = done.iter().find(|(t, _)| *t == target) {
                return Err(MountError::DuplicateTarget {
                    index,
                    other: *other,
                    target,
                });
            }
            let name = src.file_name().map_or_else(|| ".".into(), |n| n.to_owned());
            body.push(Op::Bind {
                slot: index,
                name: cstr(Path::new(&name))?,
                target: cstr(&target)?,
                source: cstr(src)?,
            });
            if b.read_only {
                remounts.push(Op::RemountRo {
                    target: cstr(&target)?,
                });
            }
            model
                .layers
                .push((target.clone(), Layer::Bind(src.clone())));
            done.push((target, index));
        }

        if skeleton {
            let bad = |source| MountError::Scratch {
                path: scratch.into(),
                source,
            };
            let scratch = std::fs::canonicalize(scratch).map_err(bad)?;
            let root = scratch.join("mount-root");
            std::fs::create_dir_all(&root).map_err(bad)?;
            head.push(Op::Pin {
                slot: next_slot,
                path: cstr(Path::new("/"))?,
                role: Role::HostRoot,
            });
            shadow(&mut head, next_slot, Path::new("/"), &root)?;
            next_slot += 1;
            head.push(Op::Chroot { root: cstr(&root)? });
        }
        // Opened after the chroot, so the fallback handle is inside the new root. A working
        // directory only a bind makes has no fallback: the root stands in.
        let pin = if cwd.exists() { cwd } else { Path::new("/") };
        head.push(Op::Pin {
            slot: cwd_slot,
            path: cstr(pin)?,
            role: Role::Cwd,
        });
        head.extend(body);
        head.extend(remounts);
        head.push(Op::Chdir {
            path: cstr(cwd)?,
            slot: cwd_slot,
        });
        if head.len() > MAX_STEPS {
            return Err(MountError::TooLarge { steps: head.len() });
        }
        Ok(MountPlan {
            ops: head,
            fds: (0..next_slot).map(|_| AtomicI32::new(-1)).collect(),
        })
    }

    /// readOnlyRootFilesystem: the container's root file system read-only in its own mount
    /// namespace: `/`, each entry of a skeleton root, and every other mount of the machine's
    /// tree the container sees, except the kernel's (`/proc`, `/sys`, `/dev`) and what
    /// `binds` puts there (volumes, the termination log, the /etc files stay writable, as
    /// the kubelet mounts them). Call on the plan made from the same `binds`.
    pub fn read_only_root(&mut self, binds: &[Bind]) -> Result<(), MountError> {
        let skeleton = self.ops.iter().any(|o| matches!(o, Op::Chroot { .. }));
        let kernel = |p: &Path| ["/proc", "/sys", "/dev"].iter().any(|k| p.starts_with(k));
        let bound = |p: &Path| binds.iter().any(|b| p.starts_with(&b.target));
        let mut required = vec![PathBuf::from("/")];
        if skeleton {
            for name in list(Path::new("/"))? {
                let p = Path::new("/").join(&name);
                let is_link =
                    std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
                if !is_link && !kernel(&p) && !bound(&p) {
                    required.push(p);
                }
            }
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let others: Vec<PathBuf> = mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            // Octal escapes (a space in the path): not worth decoding here.
            .filter(|m| !m.contains('\\'))
            .map(PathBuf::from)
            .filter(|p| !kernel(p) && !bound(p) && !required.contains(p))
            .collect();
        let mut ops: Vec<Op> = Vec::new();
        for p in &required {
            ops.push(Op::RemountRo { target: cstr(p)? });
        }
        for p in &others {
            ops.push(Op::RemountRoIfMounted { target: cstr(p)? });
        }
        // Before the final return to the working directory, after the binds' own remounts.
        let at = self.ops.len().saturating_sub(1);
        self.ops.splice(at..at, ops);
        if self.ops.len() > MAX_STEPS {
            return Err(MountError::TooLarge {
                steps: self.ops.len(),
            });
        }
        Ok(())
    }

    /// A human description of step `i` (the number `explain` reports), if it exists.
    pub fn describe_step(&self, i: usize) -> Option<String> {
        let s = |c: &CString| c.to_string_lossy().into_owned();
        Some(match self.ops.get(i)? {
            Op::Unshare => "create a private mount namespace (unshare CLONE_NEWNS)".into(),
            Op::MakePrivate => "make every mount private (MS_REC|MS_PRIVATE on /)".into(),
            Op::Pin { path, role, .. } => format!(
                "open {} (O_PATH) to hold on to {}",
                s(path),
                match role {
                    Role::Source(i) => format!("the source of binds[{i}]"),
                    Role::Cwd => "the working directory".into(),
                    Role::Shadowed => "the directory about to be shadowed".into(),
                    Role::HostRoot => "the host root for the skeleton root".into(),
                }
            ),
            Op::Tmpfs { target, .. } => format!("mount a tmpfs over {} to shadow it", s(target)),
            Op::Unbindable { target } => format!("make the skeleton root {} unbindable", s(target)),
            Op::Replicate { target, .. } => format!("recreate {} in the shadow tmpfs", s(target)),
            Op::Mkdir { path } => format!("create the mountpoint directory {}", s(path)),
            Op::MkFile { path } => format!("create the mountpoint file {}", s(path)),
            Op::Bind { target, source, .. } => format!("bind {} onto {}", s(source), s(target)),
            Op::RemountRo { target } => format!("remount {} read-only", s(target)),
            Op::RemountRoIfMounted { target } => {
                format!("remount {} read-only (readOnlyRootFilesystem)", s(target))
            }
            Op::Chroot { root } => format!("enter the skeleton root {} (chdir + chroot)", s(root)),
            Op::Chdir { path, .. } => format!("return to the working directory {}", s(path)),
        })
    }
}
