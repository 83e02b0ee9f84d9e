//! Kubernetes API validation of the pod, plus podcheck's own rules.
//!
//! Limits and wording follow `pkg/apis/core/validation/validation.go` (v1.35 behaviour); probes
//! and lifecycle hooks live in `validate_probe`. Every diagnostic points at the offending value.

use std::collections::{BTreeSet, HashMap};

use super::model::{
    Container, ContainerRestartPolicy, HOST_PATH_TYPES, HostPath, Pod, PullPolicy, SpecFile,
};
use super::validate_expect::check_expect;
use super::validate_probe::check_probes_and_hooks;
use crate::diag::{Diagnostic, FieldPath};

/// Checks the spec the way the API server would; returns errors and warnings.
pub fn validate(spec: &SpecFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let root = FieldPath::root();
    check_run(spec, &root.key("run"), &mut out);
    for (name, entry) in &spec.images {
        if entry.command.is_empty() && entry.args.is_empty() {
            out.push(err(
                root.key("images").key(name),
                format!("image {name:?} has neither a command nor args"),
                "give the image an ENTRYPOINT and/or CMD, e.g. `command = [\"sleep\", \"3600\"]`",
            ));
        }
        if let Some(user) = &entry.user {
            let checked = super::security::ImageUser::parse(user).and_then(|u| u.resolve());
            if let Err(e) = checked {
                out.push(err(
                    root.key("images").key(name).key("user"),
                    e,
                    "write the image's USER as `uid`, `uid:gid`, or a user (and group) of this machine's /etc/passwd (/etc/group), e.g. `user = \"65532\"`",
                ));
            }
        }
    }
    if spec.pods.is_empty() {
        check_pod(spec, &spec.pod, &root.key("pod"), &mut out);
        super::validate_pods::check_one_pod_extensions(&spec.pod, &root.key("pod"), &mut out);
    } else {
        super::validate_pods::check_pods(spec, &root.key("pods"), &mut out);
        for (name, pod) in &spec.pods {
            check_pod(spec, pod, &root.key("pods").key(name), &mut out);
        }
    }
    super::validate_pods::check_services(spec, &root.key("services"), &mut out);
    check_expect(spec, &root.key("expect"), &mut out);
    super::validate_traffic::check_traffic(spec, &mut out);
    super::validate_updates::check_updates(spec, &mut out);
    super::validate_features::check_features(spec, &mut out);
    super::validate_security::check_security(spec, &mut out);
    out
}

/// Only the `[services.NAME]` checks, for a manifest's Services linted without running.
pub fn validate_services(spec: &SpecFile) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    super::validate_pods::check_services(spec, &FieldPath::root().key("services"), &mut out);
    out
}

/// An error with its "what would be right" note.
pub(super) fn err(
    path: FieldPath,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic::error(path, message).with_help(help)
}

/// A warning with its "what would be right" note.
pub(super) fn warn(
    path: FieldPath,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic::warning(path, message).with_help(help)
}

/// The longest `run.duration`, `run.delete_pod_at` (spec time) and `run.timeout` (real time):
/// ten years, far beyond any run, yet small enough that no time arithmetic can overflow.
pub const MAX_RUN_DURATION: std::time::Duration =
    std::time::Duration::from_secs(10 * 365 * 24 * 3600);

/// The help text naming the allowed range of a run duration.
const RUN_DURATION_HELP: &str = "use a duration of at most 10 years (\"3650d\"), such as \"60s\"";

fn check_run(spec: &SpecFile, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    use crate::clock::{MAX_SCALE, MIN_SCALE};
    if let Some(crate::clock::TimeScale::Fixed(s)) = spec.run.time_scale
        && !(s.is_finite() && (MIN_SCALE..=MAX_SCALE).contains(&s))
    {
        out.push(err(
            path.key("time_scale"),
            format!("time_scale {s:?} is out of range"),
            format!("use a number from {MIN_SCALE} to {MAX_SCALE}: 1 is real time, 0.1 runs ten times faster; or \"auto\""),
        ));
    }
    if let Some(g) = spec.run.delete_grace_period {
        if g < -1 {
            out.push(err(
                path.key("delete_grace_period"),
                format!("delete_grace_period {g} is below -1"),
                "use -1 for the pod's terminationGracePeriodSeconds, or 0 or more seconds (0 becomes 1, as with kubectl delete --grace-period=0)",
            ));
        }
        if spec.run.delete_pod_at.is_none() {
            out.push(err(
                path.key("delete_grace_period"),
                "delete_grace_period is set but the pod is never deleted",
                "add run.delete_pod_at = \"5s\" (when the delete happens), or remove delete_grace_period",
            ));
        }
    }
    if spec.run.timeout.is_some_and(|t| t.0.is_zero()) {
        out.push(err(
            path.key("timeout"),
            "timeout is 0, so the run would fail before it starts",
            "use a positive duration such as \"60s\", or remove it",
        ));
    }
    let durations = [
        ("timeout", spec.run.timeout),
        ("duration", spec.run.duration),
        ("delete_pod_at", spec.run.delete_pod_at),
    ];
    for (key, value) in durations {
        if let Some(d) = value
            && d.0 > MAX_RUN_DURATION
        {
            out.push(err(
                path.key(key),
                format!("{key} {d} is out of range"),
                RUN_DURATION_HELP,
            ));
        }
    }
}

/// Whether `s` is lower-case alphanumerics and '-', starting and ending with an alphanumeric.
pub(super) fn is_label_like(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    s.starts_with(alnum) && s.ends_with(alnum) && s.chars().all(|c| alnum(c) || c == '-')
}

/// Why `value` is not a DNS-1123 label (container, volume and namespace names), if it is not.
pub(super) fn dns_label_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("is empty")
    } else if value.len() > 63 {
        Some("is longer than 63 characters")
    } else if value.split('.').all(is_label_like) {
        // Same check order as Kubernetes: a valid subdomain that is no label can only have dots.
        value.contains('.').then_some("must not contain dots")
    } else {
        Some("is not a lowercase RFC 1123 label")
    }
}

pub(super) const DNS_LABEL_HELP: &str = "use at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit, e.g. \"my-app\"";

/// Why `value` is not an IANA service name (named container ports), if it is not.
pub(super) fn port_name_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() || value.len() > 15 {
        Some("must be 1 to 15 characters long")
    } else if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Some("must contain only lower-case letters, digits and '-'")
    } else if !value.chars().any(|c| c.is_ascii_lowercase()) {
        Some("must contain at least one letter")
    } else if value.contains("--") {
        Some("must not contain consecutive hyphens")
    } else if value.starts_with('-') || value.ends_with('-') {
        Some("must not begin or end with a hyphen")
    } else {
        None
    }
}

/// The help for a bad port name: the IANA_SVC_NAME form.
pub(super) const PORT_NAME_HELP: &str = "a port name has at most 15 lower-case letters, digits or '-', at least one letter, and no leading, trailing or double '-', e.g. \"http\"";

/// The most containers (init containers included) podcheck runs in one pod: each is a
/// process with its probe workers on one runner, and thousands made a run crawl.
pub const MAX_CONTAINERS: usize = 100;

pub(super) fn check_pod(spec: &SpecFile, pod: &Pod, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    super::validate_dns::check_pod_dns(pod, path, out);
    let containers = pod.containers.len() + pod.init_containers.len();
    if containers > MAX_CONTAINERS {
        out.push(err(
            path.key("containers"),
            format!("the pod has {containers} containers and init containers; podcheck runs at most {MAX_CONTAINERS} in one pod"),
            "split the pod, or check its containers in several specs",
        ));
    }
    if let Some(name) = &pod.name {
        // ValidateObjectMeta's name check, with its messages (the length one included);
        // a long name is shown cut, not echoed whole.
        let shown: String = if name.len() > 80 {
            format!("{}…", name.chars().take(64).collect::<String>())
        } else {
            name.clone()
        };
        let why: Vec<String> = if name.is_empty() {
            vec!["Required value: name or generateName is required".to_owned()]
        } else {
            super::api_names::dns1123_subdomain_errors(name)
                .into_iter()
                .map(|w| format!("Invalid value: {shown:?}: {w}"))
                .collect()
        };
        for w in why {
            out.push(err(
                path.key("name"),
                w,
                "use at most 253 lower-case letters, digits, '-' or '.', starting and ending with a letter or digit, e.g. \"web-0\"",
            ));
        }
    }
    // ValidateLabels: the API server refuses a pod whose labels it could not select on.
    for (k, v) in &pod.labels {
        let at = path.key("labels").map_key(k);
        for why in crate::spec::api_names::qualified_name_errors(k) {
            out.push(err(
                at.clone(),
                format!("Invalid value: {k:?}: {why}"),
                "a label key is a name of at most 63 letters, digits, '-', '_' or '.', with an optional DNS prefix (e.g. app or example.com/tier)",
            ));
        }
        for why in crate::spec::api_names::label_value_errors(v) {
            out.push(err(
                at.clone(),
                format!("Invalid value: {v:?}: {why}"),
                "a label value is empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            ));
        }
    }
    if let Some(ns) = &pod.namespace
        && let Some(why) = dns_label_problem(ns)
    {
        out.push(err(
            path.key("namespace"),
            format!("namespace {ns:?} {why}"),
            DNS_LABEL_HELP,
        ));
    }
    // The API server accepts a negative grace period with a warning, and it is treated as 1
    // (CheckGracefulDelete, calculateEffectiveGracePeriod); podcheck runs it the same way.
    let grace = match pod.termination_grace_period_seconds {
        Some(g) if g < 0 => {
            out.push(warn(
                path.key("terminationGracePeriodSeconds"),
                format!("terminationGracePeriodSeconds {g}: must be >= 0; negative values are invalid and will be treated as 1"),
                "use 0 or more seconds (default 30); with a negative value every stop gets 1 s (and then the 2 s minimum)",
            ));
            None
        }
        g => Some(g.unwrap_or(30)),
    };
    if let Some(d) = pod.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&d)
    {
        out.push(err(
            path.key("activeDeadlineSeconds"),
            if d < 1 {
                format!("activeDeadlineSeconds {d} is not a positive number of seconds")
            } else {
                format!("activeDeadlineSeconds {d} does not fit in a 32-bit integer")
            },
            "use a whole number between 1 and 2147483647, or remove it for no deadline",
        ));
    }
    let volumes = check_volumes(pod, &path.key("volumes"), out);
    super::validate_ports::check_names_across(pod, path, out);
    if pod.containers.is_empty() {
        out.push(err(
            path.key("containers"),
            "the pod has no containers",
            "add at least one container with a `name` and a `command` or `image`",
        ));
    }
    // Names are unique across init and regular containers; the later one is reported.
    let mut seen: HashMap<&str, FieldPath> = HashMap::new();
    let lists = [
        ("initContainers", &pod.init_containers),
        ("containers", &pod.containers),
    ];
    for (list, containers) in lists {
        for (i, c) in containers.iter().enumerate() {
            let cpath = path.key(list).index(i);
            if let Some(first) = seen.get(c.name.as_str()) {
                out.push(err(
                    cpath.key("name"),
                    format!("container name {:?} is already used by {first}", c.name),
                    "give every container and init container a different name",
                ));
            } else {
                seen.insert(&c.name, cpath.clone());
            }
            check_container(
                spec,
                c,
                list == "initContainers",
                &volumes,
                grace,
                &cpath,
                out,
            );
        }
    }
}

/// Checks the volumes and returns every declared name, so mounts can be matched against them.
fn check_volumes(pod: &Pod, path: &FieldPath, out: &mut Vec<Diagnostic>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, v) in pod.volumes.iter().enumerate() {
        let vpath = path.index(i);
        if let Some(why) = dns_label_problem(&v.name) {
            out.push(err(
                vpath.key("name"),
                format!("volume name {:?} {why}", v.name),
                DNS_LABEL_HELP,
            ));
        } else if !names.insert(v.name.clone()) {
            out.push(err(
                vpath.key("name"),
                format!("volume name {:?} is declared twice", v.name),
                "give every volume a different name",
            ));
        }
        match (&v.empty_dir, &v.host_path) {
            // A manifest's configMap, secret or projected volume, checked as it was read.
            (None, None) if v.projection.is_some() => {}
            (None, None) => out.push(err(
                vpath,
                format!("volume {:?}: must specify a volume type", v.name),
                "add `emptyDir = {}` or `hostPath = { path = \"/some/dir\" }` (podcheck supports these two)",
            )),
            (Some(_), Some(_)) => out.push(err(
                vpath.key("hostPath"),
                format!("volume {:?}: may not specify more than 1 volume type", v.name),
                "keep either emptyDir or hostPath",
            )),
            (None, Some(h)) => check_host_path(h, &vpath.key("hostPath"), out),
            (Some(_), None) => {}
        }
    }
    names
}

/// The API server's hostPath rules: a path without `..`, and a known type.
fn check_host_path(h: &HostPath, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    if h.path.is_empty() {
        out.push(err(
            path.key("path"),
            "Required value",
            "give the path on the node, e.g. path = \"/var/log\"",
        ));
    } else if h.path.split('/').any(|c| c == "..") {
        out.push(err(
            path.key("path"),
            format!("path {:?} must not contain '..'", h.path),
            "write the path without '..' components",
        ));
    }
    if let Some(t) = &h.type_
        && !HOST_PATH_TYPES.contains(&t.as_str())
    {
        out.push(err(
            path.key("type"),
            format!("Unsupported value: {t:?}"),
            format!(
                "supported values: {}",
                HOST_PATH_TYPES
                    .iter()
                    .map(|t| format!("{t:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
}

fn check_container(
    spec: &SpecFile,
    c: &Container,
    is_init: bool,
    volumes: &BTreeSet<String>,
    grace: Option<i64>,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    super::validate_resources::check_resources(c, path, out);
    if let Some(why) = dns_label_problem(&c.name) {
        out.push(err(
            path.key("name"),
            format!("container name {:?} {why}", c.name),
            DNS_LABEL_HELP,
        ));
    }
    check_image(spec, c, path, out);
    let sidecar = is_init && c.restart_policy == Some(ContainerRestartPolicy::Always);
    super::validate_restart::check_restart_rules(c, sidecar, path, out);
    if is_init && !sidecar {
        // Probes and hooks need a container that keeps running, which a run-to-completion
        // init container does not.
        let forbidden = [
            ("livenessProbe", c.liveness_probe.is_some()),
            ("readinessProbe", c.readiness_probe.is_some()),
            ("startupProbe", c.startup_probe.is_some()),
            ("lifecycle", c.lifecycle.is_some()),
        ];
        for (field, _) in forbidden.iter().filter(|(_, set)| *set) {
            out.push(err(
                path.key(field),
                format!("{field} may not be set for init containers without restartPolicy=Always"),
                "remove it, or set restartPolicy = \"Always\" to make this init container a sidecar",
            ));
        }
    } else {
        check_probes_and_hooks(c, path, grace, out);
    }
    super::validate_env::check_env(c, &path.key("env"), out);
    super::validate_ports::check_ports(c, &path.key("ports"), out);
    check_mounts(c, volumes, &path.key("volumeMounts"), out);
    if let Some(p) = &c.termination_message_path {
        if !p.starts_with('/') {
            out.push(err(
                path.key("terminationMessagePath"),
                format!("terminationMessagePath {p:?} is not an absolute path"),
                "use an absolute path inside the container, e.g. \"/dev/termination-log\" (the default)",
            ));
        } else if p.len() > 4096 {
            out.push(err(
                path.key("terminationMessagePath"),
                format!("terminationMessagePath is {} characters long", p.len()),
                "use a path of at most 4096 characters (Linux PATH_MAX)",
            ));
        }
    }
}

/// The message for `image = ""`.
pub const EMPTY_IMAGE: &str = "image is an empty string";

/// The end of the message for a container with nothing to run.
pub const NO_IMAGE_NOR_COMMAND: &str = "has neither an image nor a command";

/// Whether `d` is about a missing or empty image, which a manifest's conversion already
/// reports as the API server does (`image: Required value`).
pub fn is_missing_image(d: &Diagnostic) -> bool {
    d.message == EMPTY_IMAGE || d.message.ends_with(NO_IMAGE_NOR_COMMAND)
}

fn check_image(spec: &SpecFile, c: &Container, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let has_command = c.command.as_ref().is_some_and(|cmd| !cmd.is_empty());
    match &c.image {
        Some(image) if image.is_empty() => out.push(err(
            path.key("image"),
            EMPTY_IMAGE,
            "name an image from the [images] table, or remove `image` and set `command`",
        )),
        Some(image) if image.trim() != image => out.push(err(
            path.key("image"),
            format!("image {image:?} has leading or trailing whitespace"),
            "remove the spaces around the image name",
        )),
        // The runner turns a missing image into ErrImagePull, which specs use on purpose.
        Some(image) if !has_command && !spec.images.contains_key(image) => out.push(warn(
            path.key("image"),
            format!(
                "image {image:?} is not in the [images] table: the container will fail with {}",
                if c.image_pull_policy == Some(PullPolicy::Never) {
                    "ErrImageNeverPull"
                } else {
                    "ErrImagePull"
                }
            ),
            format!(
                "add an [images.{image:?}] entry with a command, or set the container's `command`; known images: {}",
                list_or_none(spec.images.keys())
            ),
        )),
        Some(_) => {}
        None if !has_command => {
            let at = if c.command.is_some() { path.key("command") } else { path.clone() };
            out.push(err(
                at,
                format!("container {:?} {NO_IMAGE_NOR_COMMAND}", c.name),
                "set `command = [...]` to run a local program, or `image` to an entry of the [images] table",
            ));
        }
        None => {}
    }
}

fn check_mounts(
    c: &Container,
    volumes: &BTreeSet<String>,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    let mut paths: HashMap<&str, usize> = HashMap::new();
    for (i, m) in c.volume_mounts.iter().enumerate() {
        let mpath = path.index(i);
        if !volumes.contains(&m.name) {
            out.push(err(
                mpath.key("name"),
                format!(
                    "volume mount {:?} does not refer to a declared volume",
                    m.name
                ),
                format!(
                    "declare it as [[pod.volumes]] with `emptyDir = {{}}`; declared volumes: {}",
                    list_or_none(volumes)
                ),
            ));
        }
        check_sub_path(m, &mpath, out);
        // The API server takes a relative mountPath as it is (only "must be unique"); the
        // kubelet mounts it below `/` (makeMounts: MakeAbsolutePath), as podcheck does.
        if m.mount_path.is_empty() {
            out.push(err(
                mpath.key("mountPath"),
                "Required value",
                "give the path inside the container, e.g. \"/data\"",
            ));
        } else if let Some(first) = paths.insert(&m.mount_path, i) {
            out.push(err(
                mpath.key("mountPath"),
                format!(
                    "mountPath {:?} is already used by volumeMounts[{first}]",
                    m.mount_path
                ),
                "mount each volume at a different path",
            ));
        }
    }
}

/// ValidateVolumeMounts: subPath and subPathExpr are relative paths without `..`, and not
/// both set.
fn check_sub_path(m: &super::model::VolumeMount, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let help = "give a path inside the volume, e.g. \"conf/app.conf\"";
    for (key, value) in [("subPath", &m.sub_path), ("subPathExpr", &m.sub_path_expr)] {
        let Some(p) = value.as_deref() else { continue };
        if p.starts_with('/') {
            let msg = format!("Invalid value: {p:?}: must be a relative path");
            out.push(err(path.key(key), msg, help));
        }
        if p.split('/').any(|part| part == "..") {
            let msg = format!("Invalid value: {p:?}: must not contain '..'");
            out.push(err(path.key(key), msg, help));
        }
    }
    if let (Some(_), Some(expr)) = (&m.sub_path, &m.sub_path_expr) {
        out.push(err(
            path.key("subPathExpr"),
            format!("Invalid value: {expr:?}: subPathExpr and subPath are mutually exclusive"),
            "keep one of them",
        ));
    }
}

/// `a, b, c`, or `(none)` for an empty list: for helps that list the valid names.
pub(super) fn list_or_none<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let v: Vec<String> = items
        .into_iter()
        .map(|s| format!("{:?}", s.as_ref()))
        .collect();
    if v.is_empty() {
        "(none)".to_owned()
    } else {
        v.join(", ")
    }
}

/// Helpers shared by the validation tests of this module and of `validate_probe`.
#[cfg(test)]
#[path = "validate_test_util.rs"]
pub(super) mod test_util;

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
