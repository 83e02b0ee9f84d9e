//! The volume manager, as far as a pod of local processes needs one: before the sandbox
//! exists, every volume a container mounts is set up; a hostPath is type-checked (and made,
//! for the *OrCreate types) as the hostPath plugin does (pkg/volume/hostpath), on the
//! run's view of the node's filesystem, where what would be made is made in an overlay,
//! never on the host (`runtime::node_fs`). A failure is a
//! Warning FailedMount event, retried with the operation executor's exponential back-off
//! (500 ms doubling to 2m2s), and the pod's containers wait in ContainerCreating until it
//! succeeds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::downward::{Allocatable, PodFields};
use crate::runtime::atomic_writer::{PayloadFile, write_payload};
use crate::runtime::node_fs::NodeFs;
use crate::runtime::node_resources::node_capacity;
use crate::runtime::sandbox::PodSandbox;
use crate::spec::expansion::expand_with;
use crate::spec::model::{HostPath, Pod, Projection, VolumeMount};

/// First retry delay of a failed volume operation (`initialDurationBeforeRetry`).
const RETRY_INITIAL: Duration = Duration::from_millis(500);
/// Longest retry delay (`maxDurationBeforeRetry`).
const RETRY_MAX: Duration = Duration::from_secs(122);

/// The pod's volume manager: whether its volumes are set up, and when a failed set-up is
/// retried. It owns that state; the pod worker asks it before the sandbox and acts on
/// what it answers (events, a timer).
#[derive(Debug)]
pub(super) struct VolumeManager {
    mounted: bool,
    retry_at: Option<Duration>,
    retry_delay: Duration,
}

/// What a set-up attempt found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum VolumesState {
    /// Every volume a container mounts is set up.
    Ready,
    /// A retry is not due yet.
    Waiting,
    /// Some set-ups failed: one FailedMount message each, and when to try again.
    Failed {
        /// The FailedMount messages, one per volume.
        messages: Vec<String>,
        /// When the next attempt is due (pod time).
        retry_at: Duration,
    },
}

impl VolumeManager {
    /// A manager with nothing set up yet.
    pub(super) fn new() -> Self {
        Self {
            mounted: false,
            retry_at: None,
            retry_delay: RETRY_INITIAL,
        }
    }

    /// Sets up (type-checks, makes) every volume a container of `pod` mounts, unless done or
    /// a retry is not due at `now`; a failure doubles the retry delay (at most 2m2s).
    pub(super) fn set_up(
        &mut self,
        fields: &PodFields<'_>,
        node: &NodeFs,
        sandbox: &PodSandbox,
        now: Duration,
    ) -> VolumesState {
        if self.mounted {
            return VolumesState::Ready;
        }
        if self.retry_at.is_some_and(|t| t > now) {
            return VolumesState::Waiting;
        }
        let pod = fields.pod;
        let used = |name: &str| {
            pod.init_containers
                .iter()
                .chain(&pod.containers)
                .any(|c| c.volume_mounts.iter().any(|m| m.name == name))
        };
        let messages: Vec<String> = pod
            .volumes
            .iter()
            .filter(|v| used(&v.name))
            .filter_map(|v| {
                let result = match (&v.host_path, &v.projection) {
                    (Some(h), _) => set_up_host_path(node, h).map(drop),
                    (None, Some(p)) => set_up_projection(fields, sandbox, &v.name, p),
                    (None, None) => Ok(()),
                };
                result
                    .err()
                    .map(|e| format!("MountVolume.SetUp failed for volume {:?} : {e}", v.name))
            })
            .collect();
        if messages.is_empty() {
            self.mounted = true;
            return VolumesState::Ready;
        }
        let delay = self.retry_delay;
        self.retry_delay = delay.saturating_mul(2).min(RETRY_MAX);
        let retry_at = now.saturating_add(delay);
        self.retry_at = Some(retry_at);
        VolumesState::Failed { messages, retry_at }
    }
}

/// Writes a configMap, secret or projected volume's files into its directory, or fails
/// with the volume plugin's error (a key its object lacks), as every attempt does.
fn set_up_projection(
    fields: &PodFields<'_>,
    sandbox: &PodSandbox,
    name: &str,
    p: &Projection,
) -> Result<(), String> {
    if let Some(e) = &p.error {
        return Err(e.clone());
    }
    // downwardapi CollectData: every file is tried, the errors reported together.
    let node = (!p.downward.is_empty()).then(|| Allocatable::of(node_capacity()));
    let mut rendered = Vec::new();
    let mut errors = Vec::new();
    for f in &p.downward {
        match node.as_ref().map(|n| fields.file(f, n)) {
            Some(Ok(text)) => rendered.push((f, text)),
            Some(Err(e)) => errors.push(e),
            None => {}
        }
    }
    match errors.len() {
        0 => {}
        1 => return Err(errors.remove(0)),
        _ => return Err(format!("[{}]", errors.join(", "))),
    }
    let mut files: BTreeMap<&str, PayloadFile<'_>> = p
        .files
        .iter()
        .map(|f| {
            let file = PayloadFile {
                path: &f.path,
                data: &f.data,
                mode: f.mode,
            };
            (f.path.as_str(), file)
        })
        .collect();
    for (f, text) in &rendered {
        let file = PayloadFile {
            path: &f.path,
            data: text.as_bytes(),
            mode: f.mode,
        };
        files.insert(&f.path, file);
    }
    let files: Vec<PayloadFile<'_>> = files.into_values().collect();
    sandbox
        .volume_dir(name)
        .and_then(|dir| write_payload(&dir, &files))
        .map_err(|e| format!("failed to write the volume's files: {e}"))
}

/// Whether the kubelet mounts the volume read-only whatever the mount says: the API data
/// volumes (configMap, secret, projected) are.
pub(super) fn always_read_only(pod: &Pod, name: &str) -> bool {
    pod.volumes
        .iter()
        .any(|v| v.name == name && v.projection.is_some())
}

/// Where a volume's files are on this machine: the hostPath itself (or the node overlay's
/// copy), or the emptyDir's directory in the pod sandbox.
pub(super) fn volume_source(
    pod: &Pod,
    node: &NodeFs,
    sandbox: &PodSandbox,
    name: &str,
) -> io::Result<PathBuf> {
    let host = pod
        .volumes
        .iter()
        .find(|v| v.name == name)
        .and_then(|v| v.host_path.as_ref());
    match host {
        Some(h) => {
            let path = Path::new(&h.path);
            Ok(node.resolve(path).unwrap_or_else(|| path.to_owned()))
        }
        None => sandbox.volume_dir(name),
    }
}

/// What mount `m` of container `container` binds, given its volume's files at `volume`:
/// the volume, or its subPath (subPathExpr expanded from `vars`) below it, made a directory
/// with the volume's mode when missing (makeMounts, SafeMakeDir). For a hostPath volume what
/// is made goes in the node overlay. Err is the CreateContainerConfigError message.
pub(super) fn mount_source(
    pod: &Pod,
    node: &NodeFs,
    container: &str,
    m: &VolumeMount,
    volume: PathBuf,
    vars: &HashMap<String, String>,
) -> Result<PathBuf, String> {
    let sub = match (&m.sub_path, &m.sub_path_expr) {
        (_, Some(expr)) => {
            let mut missing = BTreeSet::new();
            let out = expand_with(expr, |k| {
                let v = vars.get(k).cloned().unwrap_or_default();
                if v.is_empty() {
                    missing.insert(k.to_owned());
                }
                Some(v)
            });
            if !missing.is_empty() {
                let names: Vec<String> = missing.into_iter().collect();
                return Err(format!("missing value for {}", names.join(", ")));
            }
            out
        }
        (Some(p), None) => p.clone(),
        (None, None) => return Ok(volume),
    };
    if sub.is_empty() {
        return Ok(volume);
    }
    if sub.starts_with('/') {
        return Err(format!(
            "error SubPath `{sub}` must not be an absolute path"
        ));
    }
    if sub.split('/').any(|p| p == "..") {
        return Err(format!(
            "unable to provision SubPath `{sub}`: must not contain '..'"
        ));
    }
    let make_failed = || {
        format!(
            "failed to create subPath directory for volumeMount {:?} of container {container:?}",
            m.name
        )
    };
    let host = pod
        .volumes
        .iter()
        .find(|v| v.name == m.name)
        .and_then(|v| v.host_path.as_ref());
    if let Some(h) = host {
        let full = Path::new(&h.path).join(&sub);
        return match node.resolve(&full) {
            Some(found) => Ok(found),
            None => node.make_dir(&full).map_err(|_| make_failed()),
        };
    }
    let target = volume.join(&sub);
    if target.symlink_metadata().is_err() {
        let mode = std::fs::metadata(&volume)
            .map(|md| md.permissions().mode() & 0o7777)
            .unwrap_or(0o755);
        safe_make_dir(&volume, &sub, mode).map_err(|_| make_failed())?;
    }
    // PrepareSafeSubpath: what the path resolves to (a configMap key's symlinks through
    // `..data`) must stay inside the volume.
    let prepare_failed = || {
        format!(
            "failed to prepare subPath for volumeMount {:?} of container {container:?}",
            m.name
        )
    };
    let root = volume.canonicalize().map_err(|_| prepare_failed())?;
    let resolved = target.canonicalize().map_err(|_| prepare_failed())?;
    if !resolved.starts_with(&root) {
        return Err(prepare_failed());
    }
    Ok(resolved)
}

/// Makes each missing directory of `sub` below `root` with `mode` (umask aside).
fn safe_make_dir(root: &Path, sub: &str, mode: u32) -> io::Result<()> {
    let mut at = root.to_owned();
    for part in sub.split('/').filter(|p| !p.is_empty() && *p != ".") {
        at.push(part);
        if at.symlink_metadata().is_err() {
            std::fs::create_dir(&at)?;
            std::fs::set_permissions(&at, std::fs::Permissions::from_mode(mode))?;
        }
    }
    Ok(())
}

/// Checks (and for the *OrCreate types, makes) what a hostPath volume needs at its path;
/// returns where the volume's files are on this machine (the host path, or the node
/// overlay's copy of a path the host lacks). The error is the hostPath plugin's text.
pub fn set_up_host_path(node: &NodeFs, h: &HostPath) -> Result<PathBuf, String> {
    let path = Path::new(&h.path);
    let found = node.resolve(path);
    let (want, what) = match h.type_.as_deref().unwrap_or("") {
        // No type: nothing is checked, and the container runtime makes a missing path a
        // directory when it bind-mounts it.
        "" => return found.map_or_else(|| make_dir(node, path), Ok),
        "DirectoryOrCreate" => {
            if found.is_none() {
                return make_dir(node, path);
            }
            ("Directory", "directory")
        }
        "Directory" => ("Directory", "directory"),
        "FileOrCreate" => {
            if found.is_none() {
                return node
                    .make_file(path)
                    .map_err(|e| format!("open {}: {}", h.path, go_error(&e)));
            }
            ("File", "file")
        }
        "File" => ("File", "file"),
        "Socket" => ("Socket", "socket file"),
        "CharDevice" => ("CharDevice", "character device"),
        "BlockDevice" => ("BlockDevice", "block device"),
        other => return Err(format!("{other} is an invalid volume type")),
    };
    let Some(meta) = found.as_ref().and_then(|f| std::fs::metadata(f).ok()) else {
        return Err(format!("hostPath {} doesn't exist", h.path));
    };
    let ft = meta.file_type();
    let actual = if ft.is_dir() {
        "Directory"
    } else if ft.is_file() {
        "File"
    } else if ft.is_socket() {
        "Socket"
    } else if ft.is_char_device() {
        "CharDevice"
    } else if ft.is_block_device() {
        "BlockDevice"
    } else {
        return Err(format!(
            "hostPath type check failed, {} is not a {what}, unable to determine its type: only recognise file, directory, socket, block device and character device",
            h.path
        ));
    };
    if actual == want {
        found.ok_or_else(|| format!("hostPath {} doesn't exist", h.path))
    } else {
        Err(format!(
            "hostPath type check failed: {} is not a {what}, it's a {actual}",
            h.path
        ))
    }
}

fn make_dir(node: &NodeFs, path: &Path) -> Result<PathBuf, String> {
    node.make_dir(path)
        .map_err(|e| format!("mkdir {}: {}", path.display(), go_error(&e)))
}

/// An OS error as Go prints it (lower-case strerror, no "(os error N)").
fn go_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EACCES) => "permission denied".into(),
        Some(libc::ENOENT) => "no such file or directory".into(),
        Some(libc::ENOTDIR) => "not a directory".into(),
        Some(libc::EROFS) => "read-only file system".into(),
        Some(libc::EEXIST) => "file exists".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(path: &Path, t: &str) -> HostPath {
        HostPath {
            path: path.display().to_string(),
            type_: Some(t.to_owned()),
        }
    }

    #[test]
    fn type_checks_and_creation_follow_the_hostpath_plugin() {
        let node = NodeFs::new();
        let set_up = |h: &HostPath| set_up_host_path(&node, h);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let missing = dir.path().join("missing");
        assert_eq!(set_up(&hp(dir.path(), "Directory")), Ok(dir.path().into()));
        assert_eq!(set_up(&hp(&file, "File")), Ok(file.clone()));
        assert_eq!(
            set_up(&hp(&file, "Directory")),
            Err(format!(
                "hostPath type check failed: {} is not a directory, it's a File",
                file.display()
            ))
        );
        assert_eq!(
            set_up(&hp(&missing, "Directory")),
            Err(format!("hostPath {} doesn't exist", missing.display()))
        );
        assert_eq!(
            set_up(&hp(Path::new("/dev/null"), "CharDevice")),
            Ok("/dev/null".into())
        );
        // No type checks nothing: a file is bound as it is.
        assert_eq!(set_up(&hp(&file, "")), Ok(file.clone()));
        assert_eq!(
            set_up(&hp(&missing.join("f"), "FileOrCreate")),
            Err(format!(
                "open {}: no such file or directory",
                missing.join("f").display()
            ))
        );
        // What is missing is made, but on the node overlay, never on the host; later
        // checks see what was made.
        let made = missing.join("a/b");
        let at = set_up(&hp(&made, "DirectoryOrCreate")).unwrap();
        assert!(at.is_dir() && !made.exists() && !missing.exists());
        assert_eq!(set_up(&hp(&made, "Directory")), Ok(at.clone()));
        let made_file = made.join("log");
        let file_at = set_up(&hp(&made_file, "FileOrCreate")).unwrap();
        assert!(file_at.is_file() && !made_file.exists());
        assert_eq!(
            set_up(&hp(&made_file, "Socket")),
            Err(format!(
                "hostPath type check failed: {} is not a socket file, it's a File",
                made_file.display()
            ))
        );
        let untyped = missing.join("untyped");
        assert!(set_up(&hp(&untyped, "")).unwrap().is_dir() && !untyped.exists());
    }

    fn mount(sub_path: Option<&str>, expr: Option<&str>) -> VolumeMount {
        VolumeMount {
            name: "v".into(),
            mount_path: "/m".into(),
            read_only: false,
            sub_path: sub_path.map(Into::into),
            sub_path_expr: expr.map(Into::into),
        }
    }

    #[test]
    fn a_sub_path_is_made_inside_the_volume_and_may_not_leave_it() {
        let pod: Pod = toml::from_str("[[volumes]]\nname = \"v\"\nemptyDir = {}\n").unwrap();
        let node = NodeFs::new();
        let vol = tempfile::tempdir().unwrap();
        std::fs::set_permissions(vol.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let vars = HashMap::from([("POD".to_owned(), "web-0".to_owned())]);
        let src = |m: &VolumeMount| mount_source(&pod, &node, "c", m, vol.path().into(), &vars);
        let root = vol.path().canonicalize().unwrap();
        assert_eq!(src(&mount(None, None)), Ok(vol.path().into()));
        let made = src(&mount(Some("logs/app"), None)).unwrap();
        assert_eq!(made, root.join("logs/app"));
        let mode = std::fs::metadata(&made).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o777, "made with the volume's mode");
        assert_eq!(
            src(&mount(None, Some("logs/$(POD)"))),
            Ok(root.join("logs/web-0"))
        );
        assert_eq!(
            src(&mount(None, Some("$(NOPE)/$(EMPTY)/$(POD)"))),
            Err("missing value for EMPTY, NOPE".into())
        );
        // A symlink in the volume that points out of it is refused (PrepareSafeSubpath).
        std::os::unix::fs::symlink("/etc", vol.path().join("out")).unwrap();
        assert_eq!(
            src(&mount(Some("out"), None)),
            Err("failed to prepare subPath for volumeMount \"v\" of container \"c\"".into())
        );
        // The kubelet's own checks, for what validation did not see (an expanded expr).
        let vars = HashMap::from([("UP".to_owned(), "..".to_owned())]);
        let up = mount_source(
            &pod,
            &node,
            "c",
            &mount(None, Some("$(UP)/x")),
            vol.path().into(),
            &vars,
        );
        assert_eq!(
            up,
            Err("unable to provision SubPath `../x`: must not contain '..'".into())
        );
    }

    #[test]
    fn a_host_path_sub_path_is_made_on_the_node_overlay_not_the_host() {
        let host = tempfile::tempdir().unwrap();
        let pod: Pod = toml::from_str(&format!(
            "[[volumes]]\nname = \"v\"\nhostPath = {{ path = {:?} }}\n",
            host.path().display().to_string()
        ))
        .unwrap();
        let node = NodeFs::new();
        let at = mount_source(
            &pod,
            &node,
            "c",
            &mount(Some("new/dir"), None),
            host.path().into(),
            &HashMap::new(),
        )
        .unwrap();
        assert!(at.is_dir());
        assert!(!host.path().join("new").exists(), "the host is not changed");
    }

    #[test]
    fn a_failed_set_up_is_retried_with_the_executors_doubling_back_off() {
        let dir = tempfile::tempdir().unwrap();
        let want = dir.path().join("later");
        let pod: Pod = toml::from_str(&format!(
            "[[containers]]\nname = \"c\"\ncommand = [\"true\"]\nvolumeMounts = [{{ name = \"v\", mountPath = \"/v\" }}]\n[[volumes]]\nname = \"v\"\nhostPath = {{ path = {:?}, type = \"Directory\" }}\n",
            want.display().to_string()
        ))
        .unwrap();
        let node = NodeFs::new();
        let mut vm = VolumeManager::new();
        let sandbox = PodSandbox::create("volumes-test").unwrap();
        let fields = PodFields {
            pod: &pod,
            name: "p",
            namespace: "default",
            uid: "u",
        };
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        let mut now = s(0);
        let mut retries = Vec::new();
        for _ in 0..10 {
            match vm.set_up(&fields, &node, &sandbox, now) {
                VolumesState::Failed { messages, retry_at } => {
                    assert_eq!(messages.len(), 1);
                    assert!(
                        messages[0]
                            .starts_with("MountVolume.SetUp failed for volume \"v\" : hostPath ")
                    );
                    // Not due yet: no second attempt, no second event.
                    assert_eq!(
                        vm.set_up(&fields, &node, &sandbox, retry_at - ms(1)),
                        VolumesState::Waiting
                    );
                    retries.push(retry_at - now);
                    now = retry_at;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(&retries[..4], [ms(500), s(1), s(2), s(4)]);
        assert_eq!(retries[9], s(122), "capped at maxDurationBeforeRetry");
        std::fs::create_dir(&want).unwrap();
        assert_eq!(
            vm.set_up(&fields, &node, &sandbox, now),
            VolumesState::Ready
        );
        assert_eq!(
            vm.set_up(&fields, &node, &sandbox, now),
            VolumesState::Ready,
            "set up once"
        );
    }
}
