//! The container's configuration (kuberuntime_container.go `generateContainerConfig`): the
//! command, environment, working directory, mounts and memory cgroup a container instance
//! starts with.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::runtime::cgroup::ContainerCgroup;
use crate::runtime::identity::{Identity, Request};
use crate::runtime::mounts::{Bind, MountPlan, mount_namespaces_available};
use crate::runtime::node_resources::node_capacity;
use crate::runtime::process::ProcessSpec;

use super::downward::{Allocatable, PodFields, resource_value};
use super::env::container_argv;
use super::pod_dns::{hostname_and_domain, managed_hosts_file, pod_dns, resolv_conf_text};
use super::pod_worker::{Cid, Worker};
use super::service_env::service_env_map;
use super::volumes::{always_read_only, mount_source, volume_source};
use crate::spec::expansion::expand;
use crate::spec::security::{ImageUser, effective_ids, requested_identity, verify_run_as_non_root};

/// Why a container instance could not be made.
#[derive(Debug)]
pub(super) enum ConfigFailure {
    /// generateContainerConfig failed (makeMounts: a subPath): CreateContainerConfigError.
    Config(String),
    /// The runtime could not create or start it: StartError.
    Start(String),
}

impl From<String> for ConfigFailure {
    fn from(message: String) -> Self {
        ConfigFailure::Start(message)
    }
}

/// Where the kubelet puts the termination-message file when the spec names no path.
const DEFAULT_TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";

impl Worker<'_> {
    /// The process to run, and the instance's fresh termination-message file.
    pub(super) fn process_spec(
        &self,
        cid: Cid,
        restart_count: u32,
        image: Option<&str>,
        resource_values: &HashMap<usize, String>,
    ) -> Result<(ProcessSpec, std::path::PathBuf), ConfigFailure> {
        let spec = &self.rec(cid).spec;
        let io = |e: std::io::Error| format!("failed to prepare the container's directories: {e}");
        let home = self.sandbox.container_dir(&spec.name).map_err(io)?;
        let identity = self.identity(cid, image)?;
        if let Some(id) = &identity {
            // The container's home, TMPDIR and termination-message file are its user's,
            // as the files a runtime makes for a container are writable by it.
            for p in [home.clone(), home.join("tmp")] {
                id.own(&p).map_err(io)?;
            }
        }
        let term_log = self
            .sandbox
            .fresh_termination_log(&spec.name, restart_count)
            .map_err(io)?;
        if let Some(id) = &identity {
            id.own(&term_log).map_err(io)?;
        }
        let host_path =
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        let path = self
            .cfg
            .extra_path
            .iter()
            .map(|p| p.display().to_string())
            .chain(std::iter::once(host_path))
            .collect::<Vec<_>>()
            .join(":");
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), path),
            ("HOME".into(), home.display().to_string()),
            ("TMPDIR".into(), home.join("tmp").display().to_string()),
            // The runtime sets HOSTNAME to the sandbox's hostname, the pod's.
            ("HOSTNAME".into(), self.pod_hostname().0),
            ("PODCHECK_RUN".into(), self.cfg.run_id.clone()),
            ("PODCHECK_POD".into(), self.cfg.uid.clone()),
            (
                "PODCHECK_TIME_SCALE".into(),
                self.cfg.time_scale.to_string(),
            ),
            (
                "PODCHECK_TERMINATION_MESSAGE_PATH".into(),
                term_log.display().to_string(),
            ),
        ];
        // Each mounted volume's host directory (or file), found once for the variables and
        // the mounts alike.
        let sources = spec
            .volume_mounts
            .iter()
            .map(|m| volume_source(&self.cfg.pod, &self.cfg.node_fs, &self.sandbox, &m.name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        for (m, dir) in spec.volume_mounts.iter().zip(&sources) {
            env.push((volume_env_name(&m.name), dir.display().to_string()));
        }
        // makeEnvironmentVariables: `$(VAR)` in a value may name an earlier variable of the
        // container (envFrom's first) or a Service variable; the container's own variables
        // win, and the Service variables it does not set follow its own. What the runtime
        // adds (HOSTNAME, the image's PATH, HOME) is not among them, so `$(HOSTNAME)` stays
        // as written; podcheck's own PODCHECK_* variables are (an extension lint flags).
        let services = service_env_map(
            &self.cfg.cluster.services,
            &self.cfg.namespace,
            self.cfg.pod.enable_service_links.unwrap_or(true),
        );
        let mut vars: HashMap<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("PODCHECK_"))
            .cloned()
            .collect();
        vars.extend(services.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (i, e) in spec.env.iter().enumerate() {
            // A downward-API value is taken as it is (podFieldSelectorRuntimeValue,
            // containerResourceRuntimeValue), and so is one read from a ConfigMap or Secret
            // (envFrom, configMapKeyRef, secretKeyRef); only a literal `value` is expanded.
            let value = match (&e.field_ref, resource_values.get(&i)) {
                (Some(path), _) => self.field_value(path),
                (None, Some(v)) => v.clone(),
                (None, None) if e.from_object => e.value.clone(),
                (None, None) => expand(&e.value, &vars),
            };
            vars.insert(e.name.clone(), value.clone());
            env.retain(|(k, _)| k != &e.name);
            env.push((e.name.clone(), value));
        }
        for (k, v) in services {
            if !spec.env.iter().any(|e| e.name == k) {
                env.push((k, v));
            }
        }
        let (entrypoint, cmd) = image
            .and_then(|i| self.cfg.images.get(i))
            .map(|e| (e.command.clone(), e.args.clone()))
            .unwrap_or_default();
        let argv: Vec<String> = container_argv(
            spec.command.as_deref(),
            spec.args.as_deref(),
            &entrypoint,
            &cmd,
        )
        .iter()
        .map(|a| expand(a, &vars))
        .collect();
        if argv.is_empty() {
            return Err(ConfigFailure::Start("no command specified".into()));
        }
        let cwd = spec
            .working_dir
            .as_ref()
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| home.clone());
        let netns = self.cfg.network.as_ref().map(|n| n.ns_fds());
        // makeMounts: a mount's subPath (subPathExpr expanded from the variables) is what
        // is bound, made a directory when the volume lacks it.
        let sources = spec
            .volume_mounts
            .iter()
            .zip(sources)
            .map(|(m, dir)| {
                mount_source(&self.cfg.pod, &self.cfg.node_fs, &spec.name, m, dir, &vars)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(ConfigFailure::Config)?;
        let start = Start {
            term_log: &term_log,
            cwd: &cwd,
            scratch: &home,
            restart_count,
            argv: &argv,
        };
        let mounts = self.mount_plan(cid, sources, &start)?;
        // Where the machine has no memory cgroup the run's notes say the limit is ignored.
        let cgroup = match spec.memory_limit() {
            Some(limit) if crate::runtime::cgroup::memory_support().is_ok() => Some(
                ContainerCgroup::create(
                    &self.cfg.run_id,
                    // Pods of one run share the run's tree: the pod's uid keeps two pods'
                    // containers of the same name apart.
                    &format!("{}-{}-{restart_count}", self.cfg.uid, spec.name),
                    limit,
                )
                .map(Arc::new)
                .map_err(|e| format!("failed to set up the container's memory limit: {e}"))?,
            ),
            _ => None,
        };
        Ok((
            ProcessSpec {
                argv,
                env,
                cwd,
                netns,
                pid_namespace: netns.is_some(),
                cgroup,
                mounts,
                identity,
            },
            term_log,
        ))
    }

    /// The values of the container's `resourceFieldRef` variables by their index in its
    /// env, computed against this machine as the node; an error is the container's
    /// CreateContainerConfigError (a containerName the pod does not have).
    pub(super) fn resource_env(&self, cid: Cid) -> Result<HashMap<usize, String>, String> {
        let spec = &self.rec(cid).spec;
        let mut out = HashMap::new();
        let mut node = None;
        for (i, e) in spec.env.iter().enumerate() {
            if let Some(r) = &e.resource_field_ref {
                let node = *node.get_or_insert_with(|| Allocatable::of(node_capacity()));
                out.insert(i, resource_value(r, &self.cfg.pod, spec, &node)?);
            }
        }
        Ok(out)
    }

    /// A downward-API field of this pod as the kubelet fills it in for a variable.
    fn field_value(&self, path: &str) -> String {
        PodFields::of(&self.cfg).value(path)
    }

    /// The USER of `image`, when its `[images]` entry declares one.
    fn image_user(&self, image: Option<&str>) -> Result<Option<ImageUser>, String> {
        image
            .and_then(|i| self.cfg.images.get(i))
            .and_then(|e| e.user.as_deref())
            .map(ImageUser::parse)
            .transpose()
    }

    /// The identity the container runs as (securityContext, else the image's USER), None
    /// for podcheck's own.
    fn identity(&self, cid: Cid, image: Option<&str>) -> Result<Option<Arc<Identity>>, String> {
        let want = requested_identity(&self.cfg.pod, &self.rec(cid).spec);
        let (uid, gid) = effective_ids(&want, self.image_user(image)?.as_ref())?;
        crate::runtime::identity::resolve(Request {
            uid,
            gid,
            supplemental: &want.supplemental_groups,
        })
        .map(|id| id.map(Arc::new))
    }

    /// `verifyRunAsNonRoot`, part of generating the container's config: Err is the
    /// CreateContainerConfigError message.
    pub(super) fn verify_run_as_non_root(
        &self,
        cid: Cid,
        image: Option<&str>,
    ) -> Result<(), String> {
        let rec = self.rec(cid);
        let want = requested_identity(&self.cfg.pod, &rec.spec);
        // A local command without a declared USER has none to check.
        let user = self.image_user(image)?;
        verify_run_as_non_root(&want, user.as_ref(), &self.pod_ref(), rec.name())
    }

    /// In pod mode, where mount namespaces work: the container's volumes at their
    /// `mountPath` and its termination-message file at `terminationMessagePath`, as the
    /// kubelet bind-mounts them. Elsewhere None (the `PODCHECK_*` variables stand in).
    fn mount_plan(
        &self,
        cid: Cid,
        sources: Vec<std::path::PathBuf>,
        start: &Start<'_>,
    ) -> Result<Option<Arc<MountPlan>>, String> {
        let Start {
            term_log,
            cwd,
            scratch,
            restart_count,
            argv,
        } = *start;
        let Some(net) = &self.cfg.network else {
            return Ok(None);
        };
        if mount_namespaces_available(net.ns_fds().user).is_err() {
            return Ok(None);
        }
        let spec = &self.rec(cid).spec;
        let mut binds = Vec::with_capacity(spec.volume_mounts.len() + 1);
        for (m, source) in spec.volume_mounts.iter().zip(sources) {
            binds.push(Bind {
                source,
                target: container_path(&m.mount_path),
                read_only: m.read_only || always_read_only(&self.cfg.pod, &m.name),
            });
        }
        let read_only_root = spec
            .security_context
            .as_ref()
            .and_then(|s| s.read_only_root_filesystem)
            .unwrap_or(false);
        if let Some(mut b) = private_tmp(&binds, scratch, restart_count)? {
            // /tmp is part of the root file system.
            b.read_only = read_only_root;
            binds.push(b);
        }
        if let Some(b) = self.make_working_dir(&binds, cwd, scratch, restart_count)? {
            binds.push(b);
        }
        binds.push(Bind {
            source: term_log.to_owned(),
            target: spec
                .termination_message_path
                .as_deref()
                .unwrap_or(DEFAULT_TERMINATION_MESSAGE_PATH)
                .into(),
            read_only: false,
        });
        // The kubelet's /etc/hosts (makeMounts: not over a volume mounted there) and the
        // runtime's /etc/hostname and /etc/resolv.conf (containerd: likewise).
        let mounted = |p: &str| {
            spec.volume_mounts
                .iter()
                .any(|m| container_path(&m.mount_path) == Path::new(p))
        };
        let [hosts, hostname, resolv] = self
            .write_name_files()
            .map_err(|e| format!("failed to write the pod's hosts and resolv.conf files: {e}"))?;
        for (source, target) in [
            (hosts, "/etc/hosts"),
            (hostname, "/etc/hostname"),
            (resolv, "/etc/resolv.conf"),
        ] {
            if !mounted(target) {
                binds.push(Bind {
                    source,
                    target: target.into(),
                    read_only: false,
                });
            }
        }
        // podcheck's own files stay visible under a volume that covers them (issue 12 rule 8),
        // and so do the machine's files the container's commands name: a program, script or
        // working directory under /tmp is still there under the container's own /tmp.
        let own: Vec<_> = std::iter::once(self.sandbox.root().to_owned())
            .chain(self.cfg.extra_path.iter().cloned())
            .chain(named_machine_paths(spec, argv, cwd))
            .collect();
        crate::runtime::mounts::keep_visible(&mut binds, &own);
        let mut plan = MountPlan::new(&binds, scratch, cwd);
        if read_only_root && let Ok(p) = &mut plan {
            // The private /tmp is remounted read-only with the binds; the rest of the root
            // file system here.
            let writable: Vec<Bind> = binds
                .iter()
                .filter(|b| b.target != Path::new("/tmp"))
                .cloned()
                .collect();
            if let Err(e) = p.read_only_root(&writable) {
                plan = Err(e);
            }
        }
        plan.map(|p| Some(Arc::new(p)))
            .map_err(|e| format!("failed to prepare the container's mounts: {e}"))
    }
}

/// The paths of this machine under /tmp that a container's command, exec probes and exec
/// hooks name, and its working directory: a file directly in /tmp is kept itself, one
/// deeper its directory (a script's neighbours come with it).
fn named_machine_paths(
    spec: &crate::spec::model::Container,
    argv: &[String],
    cwd: &Path,
) -> Vec<std::path::PathBuf> {
    let probes = [
        &spec.liveness_probe,
        &spec.readiness_probe,
        &spec.startup_probe,
    ];
    let hooks = spec
        .lifecycle
        .iter()
        .flat_map(|l| [&l.post_start, &l.pre_stop])
        .flatten()
        .filter_map(|h| h.exec.as_ref());
    let words = argv
        .iter()
        .chain(
            probes
                .iter()
                .copied()
                .flatten()
                .filter_map(|p| p.exec.as_ref())
                .flat_map(|e| &e.command),
        )
        .chain(hooks.flat_map(|e| &e.command))
        .map(Path::new)
        .chain(std::iter::once(cwd));
    let tmp = Path::new("/tmp");
    let mut out: Vec<std::path::PathBuf> = Vec::new();
    for p in words.filter(|p| p.starts_with(tmp) && *p != tmp) {
        let keep = match p.parent() {
            Some(parent) if parent != tmp && p.is_file() => parent.to_owned(),
            _ => p.to_owned(),
        };
        if keep.exists() && !out.contains(&keep) {
            out.push(keep);
        }
    }
    out
}

/// What one start of a container brings to its mount plan.
#[derive(Clone, Copy)]
struct Start<'a> {
    /// This instance's termination-message file.
    term_log: &'a Path,
    /// The working directory.
    cwd: &'a Path,
    /// The container's own directory in the pod's sandbox.
    scratch: &'a Path,
    /// Which start this is (0 first).
    restart_count: u32,
    /// The command it runs.
    argv: &'a [String],
}

/// Where a mountPath is in the container: a relative one below `/`, as the kubelet's
/// makeMounts makes it absolute (volumeutil.MakeAbsolutePath: `filepath.Clean("/" + p)`).
fn container_path(mount_path: &str) -> std::path::PathBuf {
    use std::path::Component;
    if mount_path.starts_with('/') {
        return mount_path.into();
    }
    let mut out = std::path::PathBuf::from("/");
    for c in Path::new(mount_path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// A container's /tmp is its image's, private to it and empty at each start (a restart is
/// a new container with a new root), not the machine's: a fresh world-writable, sticky
/// directory bound there, unless a volume is mounted at /tmp. Without it the classic
/// `touch /tmp/healthy` probe of one pod would see another's file, or a file left on the
/// machine by an earlier run.
fn private_tmp(binds: &[Bind], scratch: &Path, restart_count: u32) -> Result<Option<Bind>, String> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = Path::new("/tmp");
    if !tmp.is_dir() || binds.iter().any(|b| b.target == tmp) {
        return Ok(None);
    }
    let dir = scratch.join(format!("rootfs-tmp.{restart_count}"));
    let made = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)));
    made.map_err(|e| format!("failed to make the container's /tmp: {e}"))?;
    Ok(Some(Bind {
        source: dir,
        target: tmp.to_owned(),
        read_only: false,
    }))
}

impl Worker<'_> {
    /// runc makes a missing working directory (`mkdir -p`) once the mounts are in place:
    /// inside an emptyDir mounted above it, else in the container's own root, which here is
    /// a fresh directory bound at the path. A hostPath or read-only volume above it gets
    /// the fresh directory too, so the host is never written.
    fn make_working_dir(
        &self,
        volume_binds: &[Bind],
        cwd: &Path,
        scratch: &Path,
        restart_count: u32,
    ) -> Result<Option<Bind>, String> {
        if cwd.exists() || volume_binds.iter().any(|b| b.target == cwd) {
            return Ok(None);
        }
        let fail = |e: std::io::Error| {
            format!(
                "failed to make the working directory {}: {e}",
                cwd.display()
            )
        };
        let covering = volume_binds
            .iter()
            .filter(|b| cwd.starts_with(&b.target) && !b.read_only)
            .filter(|b| b.source.starts_with(self.sandbox.root()) && b.source.is_dir())
            .max_by_key(|b| b.target.components().count());
        if let Some(b) = covering
            && let Ok(rel) = cwd.strip_prefix(&b.target)
        {
            std::fs::create_dir_all(b.source.join(rel)).map_err(fail)?;
            return Ok(None);
        }
        let fresh = scratch.join(format!("workdir.{restart_count}"));
        std::fs::create_dir_all(&fresh).map_err(fail)?;
        Ok(Some(Bind {
            source: fresh,
            target: cwd.to_owned(),
            read_only: false,
        }))
    }

    /// The pod's hostname and domain (GeneratePodHostNameAndDomain).
    fn pod_hostname(&self) -> (String, String) {
        hostname_and_domain(
            &self.cfg.pod,
            &self.cfg.name,
            &self.cfg.namespace,
            &self.cfg.cluster.dns.cluster_domain,
        )
    }

    /// Writes the pod's `etc-hosts`, `hostname` and `resolv.conf` into its sandbox directory
    /// (the same content for every container; rewritten at each start, as the kubelet
    /// rewrites the hosts file) and returns their paths.
    fn write_name_files(&self) -> std::io::Result<[std::path::PathBuf; 3]> {
        use std::os::unix::fs::PermissionsExt;
        let (host, domain) = self.pod_hostname();
        // The pod's address inside its own network namespace is its loopback, as the
        // probers' pod IP is.
        let hosts = managed_hosts_file(&["127.0.0.1".to_owned()], &host, &domain, &self.cfg.pod);
        let (dns, _warnings) = pod_dns(&self.cfg.pod, &self.cfg.namespace, &self.cfg.cluster.dns);
        let root = self.sandbox.root();
        let paths = [
            root.join("etc-hosts"),
            root.join("hostname"),
            root.join("resolv.conf"),
        ];
        // containerd's sandbox hostname file is the hostname and a newline.
        let texts = [hosts, format!("{host}\n"), resolv_conf_text(&dns)];
        for (p, text) in paths.iter().zip(texts) {
            std::fs::write(p, text)?;
            // Readable by a container of any user (the kubelet writes 0644).
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644))?;
        }
        Ok(paths)
    }
}

/// `PODCHECK_VOLUME_<NAME>`: where an emptyDir volume is, for containers without mount
/// namespaces.
pub fn volume_env_name(volume: &str) -> String {
    let up: String = volume
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("PODCHECK_VOLUME_{up}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_variables_are_upper_snake_case() {
        assert_eq!(volume_env_name("work-dir"), "PODCHECK_VOLUME_WORK_DIR");
    }

    #[test]
    fn a_relative_mount_path_is_cleaned_below_the_root() {
        assert_eq!(container_path("/data"), Path::new("/data"));
        assert_eq!(container_path("data"), Path::new("/data"));
        assert_eq!(container_path("./a/../b/"), Path::new("/b"));
        assert_eq!(container_path("../../x"), Path::new("/x"));
    }
}
