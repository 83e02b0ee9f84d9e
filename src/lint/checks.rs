//! The checks beyond API validation, on podcheck's pod model: what kube-linter, kube-score
//! and Polaris check about probes (without their known false positives), and timing
//! budgets with their arithmetic. Absent fields take the kubelet's defaults.

use crate::diag::FieldPath;
use crate::spec::model::{Container, IntOrString, LifecycleHandler, Pod, Probe, RestartPolicy};

/// A finding before it is placed in a file: the field is a path into the pod (`pod.…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    /// The check id.
    pub id: &'static str,
    /// The field, rooted at `pod`.
    pub path: FieldPath,
    /// Why.
    pub message: String,
    /// What would be right.
    pub fix: String,
}

/// A probe's timing with the API's defaults applied (0 or absent means the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// initialDelaySeconds (default 0).
    pub initial_delay: i64,
    /// periodSeconds (default 10).
    pub period: i64,
    /// timeoutSeconds (default 1).
    pub timeout: i64,
    /// successThreshold (default 1).
    pub success: i64,
    /// failureThreshold (default 3).
    pub failure: i64,
}

impl Timing {
    /// The timing of a probe as the kubelet runs it.
    pub fn of(p: &Probe) -> Self {
        let or = |v: Option<i64>, d: i64| v.filter(|v| *v > 0).unwrap_or(d);
        Timing {
            initial_delay: p.initial_delay_seconds.unwrap_or(0).max(0),
            period: or(p.period_seconds, 10),
            timeout: or(p.timeout_seconds, 1),
            success: or(p.success_threshold, 1),
            failure: or(p.failure_threshold, 3),
        }
    }

    /// When the `failure`-th consecutive failure can come at the earliest, in seconds after
    /// the container started: the first probe at initialDelaySeconds, then one per period.
    pub fn earliest_failure(&self) -> i64 {
        self.initial_delay
            .saturating_add(self.failure.saturating_sub(1).saturating_mul(self.period))
    }

    /// When the `success`-th consecutive success can come at the earliest.
    pub fn earliest_success(&self) -> i64 {
        self.initial_delay
            .saturating_add(self.success.saturating_sub(1).saturating_mul(self.period))
    }

    /// How long the probe tolerates failing: failureThreshold × periodSeconds.
    pub fn failure_budget(&self) -> i64 {
        self.failure.saturating_mul(self.period)
    }
}

/// The pod's terminationGracePeriodSeconds as the kubelet uses it (default 30).
fn grace(pod: &Pod) -> i64 {
    pod.termination_grace_period_seconds.unwrap_or(30).max(0)
}

/// An initialDelaySeconds from which liveness without a startupProbe counts as a slow start.
pub const SLOW_START_SECONDS: i64 = 60;

/// Runs every check on one pod. `kind` is the object's kind (`Pod` for a spec).
pub fn check_pod(pod: &Pod, kind: &str) -> Vec<Raw> {
    let root = FieldPath::root().key("pod");
    // Jobs and pods that finish need neither readiness nor liveness: nothing routes to
    // them, and a restart is what their restartPolicy already decides.
    let finishes = matches!(kind, "Job" | "CronJob")
        || matches!(
            pod.restart_policy,
            Some(RestartPolicy::Never | RestartPolicy::OnFailure)
        );
    let declared: Vec<i64> = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .flat_map(|c| c.ports.iter().map(|p| p.container_port))
        .collect();
    let mut out = Vec::new();
    let lists = [
        ("initContainers", &pod.init_containers),
        ("containers", &pod.containers),
    ];
    for (list, containers) in lists {
        for (i, c) in containers.iter().enumerate() {
            // A plain init container runs to completion: probes are not even allowed there.
            if list == "initContainers" && !c.is_sidecar() {
                continue;
            }
            let path = root.key(list).index(i);
            let ctx = Ctx {
                c,
                path: &path,
                pod,
                declared: &declared,
            };
            if !finishes {
                ctx.missing_probes(&mut out);
                ctx.drop_window(&mut out);
            }
            ctx.probe_ports(&mut out);
            ctx.identical(&mut out);
            ctx.timing(&mut out);
            ctx.prestop(&mut out);
        }
    }
    out
}

struct Ctx<'a> {
    c: &'a Container,
    path: &'a FieldPath,
    pod: &'a Pod,
    declared: &'a [i64],
}

impl Ctx<'_> {
    fn probes(&self) -> [(&'static str, Option<&Probe>); 3] {
        [
            ("livenessProbe", self.c.liveness_probe.as_ref()),
            ("readinessProbe", self.c.readiness_probe.as_ref()),
            ("startupProbe", self.c.startup_probe.as_ref()),
        ]
    }

    fn raw(
        &self,
        id: &'static str,
        path: FieldPath,
        message: String,
        fix: impl Into<String>,
    ) -> Raw {
        Raw {
            id,
            path,
            message,
            fix: fix.into(),
        }
    }

    /// The declared ports the API server accepts: one it refuses is reported by its
    /// validation and serves nothing to check here.
    fn valid_ports(&self) -> impl Iterator<Item = &crate::spec::model::ContainerPort> {
        self.c
            .ports
            .iter()
            .filter(|p| (1..=65535).contains(&p.container_port))
    }

    fn ports_text(&self) -> String {
        self.valid_ports()
            .map(|p| p.container_port.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the container declares a port that serves traffic: a port named for
    /// metrics or health checks only is scraped or probed, not load-balanced.
    fn serves(&self) -> bool {
        const NOT_TRAFFIC: [&str; 7] = [
            "metrics",
            "health",
            "probe",
            "prometheus",
            "monitoring",
            "debug",
            "pprof",
        ];
        self.valid_ports().any(|p| {
            p.name
                .as_deref()
                .is_none_or(|n| !NOT_TRAFFIC.iter().any(|w| n.contains(w)))
        })
    }

    fn missing_probes(&self, out: &mut Vec<Raw>) {
        let name = &self.c.name;
        // A container that serves no port is not behind a Service, so readiness decides
        // nothing for it (kube-score's and Polaris' false positive for workers).
        if self.c.readiness_probe.is_none() && self.serves() {
            out.push(self.raw(
                "readiness-probe-missing",
                self.path.key("name"),
                format!(
                    "container {name:?} serves port {} but has no readinessProbe: it counts as ready (and gets Service traffic) as soon as it starts, before it can answer",
                    self.ports_text()
                ),
                "add a readinessProbe (httpGet on a health path, or tcpSocket) on the serving port",
            ));
        }
        if self.c.liveness_probe.is_none() {
            out.push(self.raw(
                "liveness-probe-missing",
                self.path.key("name"),
                format!("container {name:?} has no livenessProbe: a hung process is never restarted"),
                "add a livenessProbe if a restart cures a hang (with a larger failure budget than readiness); leaving it out is fine otherwise",
            ));
        }
    }

    fn drop_window(&self, out: &mut Vec<Raw>) {
        let has_pre_stop = self
            .c
            .lifecycle
            .as_ref()
            .is_some_and(|l| l.pre_stop.is_some());
        // Request/response servers (an HTTP or gRPC readiness check) are the ones whose
        // in-flight requests are cut; a database's clients reconnect.
        let request_server = self
            .c
            .readiness_probe
            .as_ref()
            .is_some_and(|r| r.http_get.is_some() || r.grpc.is_some());
        if !self.serves() || !request_server || has_pre_stop {
            return;
        }
        out.push(self.raw(
            "prestop-drop-window",
            self.path.key("readinessProbe"),
            format!(
                "container {:?} gets SIGTERM the moment its pod is deleted, while endpoints, kube-proxy and ingresses take seconds to stop sending it traffic; readiness cannot close that window (a terminating pod leaves the endpoints whatever its probe says)",
                self.c.name
            ),
            "add lifecycle.preStop.sleep.seconds: 5 (or an exec `sleep 5`) so it keeps serving until the endpoints are updated",
        ));
    }

    fn probe_ports(&self, out: &mut Vec<Raw>) {
        if self.declared.is_empty() {
            // Declaring ports is optional; with none declared there is nothing to compare.
            return;
        }
        for (field, p) in self.probes() {
            let Some(p) = p else { continue };
            let (port, at) = match (&p.http_get, &p.tcp_socket, &p.grpc) {
                (Some(h), _, _) => (&h.port, self.path.key(field).key("httpGet").key("port")),
                (_, Some(t), _) => (&t.port, self.path.key(field).key("tcpSocket").key("port")),
                (_, _, Some(g)) => {
                    if !self.declared.contains(&g.port) && (1..=65535).contains(&g.port) {
                        out.push(self.undeclared(
                            field,
                            g.port,
                            self.path.key(field).key("grpc").key("port"),
                        ));
                    }
                    continue;
                }
                _ => continue,
            };
            if let IntOrString::Int(n) = port
                && (1..=65535).contains(n)
                && !self.declared.contains(n)
            {
                out.push(self.undeclared(field, *n, at));
            }
        }
    }

    fn undeclared(&self, field: &str, port: i64, at: FieldPath) -> Raw {
        self.raw(
            "probe-port-undeclared",
            at,
            format!(
                "the {field} of container {:?} checks port {port}, which no container of the pod declares (declared: {})",
                self.c.name,
                self.declared.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            ),
            format!("probe a declared port, or add containerPort: {port} to the container's ports"),
        )
    }

    fn identical(&self, out: &mut Vec<Raw>) {
        let (Some(l), Some(r)) = (&self.c.liveness_probe, &self.c.readiness_probe) else {
            return;
        };
        let same_handler = l.exec == r.exec
            && l.http_get == r.http_get
            && l.tcp_socket == r.tcp_socket
            && l.grpc == r.grpc;
        if !same_handler {
            return;
        }
        let (lt, rt) = (Timing::of(l), Timing::of(r));
        // The Kubernetes docs' own advice: the same endpoint is fine when liveness gives up
        // later than readiness, so an overloaded pod is taken out of traffic, not restarted.
        if lt.failure_budget() > rt.failure_budget() {
            return;
        }
        out.push(self.raw(
            "probe-identical",
            self.path.key("livenessProbe"),
            format!(
                "livenessProbe and readinessProbe of container {:?} check the same thing, and liveness gives up no later than readiness (failureThreshold × periodSeconds: {} × {} = {} s vs {} × {} = {} s): a slow pod is restarted instead of only being taken out of traffic",
                self.c.name, lt.failure, lt.period, lt.failure_budget(), rt.failure, rt.period, rt.failure_budget()
            ),
            "give liveness a larger failure budget (e.g. failureThreshold 2-3 times readiness's), or a cheaper endpoint that only checks the process is alive",
        ));
    }

    fn timing(&self, out: &mut Vec<Raw>) {
        for (field, p) in self.probes() {
            let Some(p) = p else { continue };
            let t = Timing::of(p);
            // periodSeconds 1 cannot have a shorter timeout (1 is the minimum): not a mistake.
            if t.timeout > t.period || (t.timeout == t.period && t.period > 1) {
                out.push(self.raw(
                    "probe-timeout-exceeds-period",
                    self.path.key(field).key("timeoutSeconds"),
                    if t.timeout > t.period {
                        format!(
                            "timeoutSeconds {} > periodSeconds {}: a probe that takes its whole timeout is still running when the next one is due, so a hanging endpoint is detected after failureThreshold × timeoutSeconds = {} × {} = {} s, not failureThreshold × periodSeconds = {} × {} = {} s",
                            t.timeout, t.period, t.failure, t.timeout, t.failure.saturating_mul(t.timeout), t.failure, t.period, t.failure_budget()
                        )
                    } else {
                        format!(
                            "timeoutSeconds {} = periodSeconds {}: a probe that takes its whole timeout is followed by the next one at once, so a slow endpoint is probed back to back with no pause",
                            t.timeout, t.period
                        )
                    },
                    format!("use a timeoutSeconds below periodSeconds (e.g. {}), or a longer periodSeconds", (t.period - 1).max(1)),
                ));
            }
            if p.exec.is_some() && t.period == 1 {
                out.push(self.raw(
                    "exec-probe-period-1s",
                    self.path.key(field).key("periodSeconds"),
                    format!(
                        "an exec {field} with periodSeconds 1 makes the runtime start a process in container {:?} every second (86400 a day), which costs CPU on the node and the container",
                        self.c.name
                    ),
                    "use periodSeconds 5 or more, or an httpGet/tcpSocket/grpc probe, which needs no process",
                ));
            }
        }
        let (Some(l), None) = (&self.c.liveness_probe, &self.c.startup_probe) else {
            return;
        };
        let lt = Timing::of(l);
        if let Some(r) = &self.c.readiness_probe {
            let rt = Timing::of(r);
            if lt.earliest_failure() < rt.earliest_success() {
                out.push(self.raw(
                    "liveness-before-readiness",
                    self.path.key("livenessProbe"),
                    format!(
                        "liveness can restart container {:?} at {} + ({} - 1) × {} = {} s, before readiness can first succeed at {} + ({} - 1) × {} = {} s (initialDelaySeconds + (threshold - 1) × periodSeconds)",
                        self.c.name, lt.initial_delay, lt.failure, lt.period, lt.earliest_failure(),
                        rt.initial_delay, rt.success, rt.period, rt.earliest_success()
                    ),
                    format!("add a startupProbe that covers the start, or raise the liveness initialDelaySeconds to at least {}", rt.earliest_success()),
                ));
            }
        }
        if lt.initial_delay >= SLOW_START_SECONDS {
            out.push(self.raw(
                "slow-start-without-startup-probe",
                self.path.key("livenessProbe").key("initialDelaySeconds"),
                format!(
                    "liveness waits initialDelaySeconds {} for a slow start: a hang in the first {} s goes unnoticed on every restart, and a start slower than {} + ({} - 1) × {} = {} s is killed",
                    lt.initial_delay, lt.initial_delay, lt.initial_delay, lt.failure, lt.period, lt.earliest_failure()
                ),
                format!(
                    "use a startupProbe with failureThreshold × periodSeconds >= {} (e.g. failureThreshold {} × periodSeconds 10) and drop the liveness initialDelaySeconds",
                    lt.initial_delay,
                    lt.initial_delay.saturating_add(9) / 10
                ),
            ));
        }
    }

    fn prestop(&self, out: &mut Vec<Raw>) {
        let Some(h) = self.c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) else {
            return;
        };
        let g = grace(self.pod);
        let (seconds, at, how) = match known_duration(h) {
            // The API server rejects a sleep above the grace period (sleep-hook-limit).
            Some((s, HookDelay::Sleep)) if s == g => (s, "sleep", "sleeps"),
            Some((s, HookDelay::Exec)) if s >= g => (s, "exec", "runs `sleep`"),
            _ => return,
        };
        out.push(self.raw(
            "prestop-exceeds-grace",
            self.path.key("lifecycle").key("preStop").key(at),
            format!(
                "preStop of container {:?} {how} {seconds} s, all of the {g} s grace period (terminationGracePeriodSeconds): no time is left for the app after SIGTERM (the kubelet grants 2 s at least), then SIGKILL",
                self.c.name,
            ),
            format!(
                "make terminationGracePeriodSeconds longer than the preStop delay plus the app's own shutdown time (e.g. {}), or shorten the delay",
                seconds.saturating_add(15)
            ),
        ));
    }
}

/// How a hook's delay is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HookDelay {
    /// A `sleep` handler.
    Sleep,
    /// An exec `sleep N` (directly or in `sh -c`).
    Exec,
}

/// How long a hook takes, when it is a sleep: a sleep handler, `["sleep", "N"]` or a shell
/// script that begins with `sleep N`.
fn known_duration(h: &LifecycleHandler) -> Option<(i64, HookDelay)> {
    if let Some(s) = &h.sleep {
        return Some((s.seconds, HookDelay::Sleep));
    }
    let argv = &h.exec.as_ref()?.command;
    let is = |a: &String, name: &str| a == name || a.ends_with(&format!("/{name}"));
    let words: Vec<&str> = match argv.as_slice() {
        [prog, rest @ ..] if is(prog, "sleep") => std::iter::once("sleep")
            .chain(rest.iter().map(String::as_str))
            .collect(),
        [sh, c, script, ..] if (is(sh, "sh") || is(sh, "bash")) && c == "-c" => {
            script.split_whitespace().collect()
        }
        _ => return None,
    };
    match words.as_slice() {
        ["sleep", n, ..] => {
            let n = n.trim_end_matches([';', '&']).trim_end_matches('s');
            n.parse::<i64>().ok().map(|n| (n, HookDelay::Exec))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_defaults_are_the_kubelets() {
        let t = Timing::of(&Probe::default());
        assert_eq!(
            (t.initial_delay, t.period, t.timeout, t.success, t.failure),
            (0, 10, 1, 1, 3)
        );
        assert_eq!(t.earliest_failure(), 20);
        assert_eq!(t.failure_budget(), 30);
    }

    #[test]
    fn exec_sleeps_are_read_from_argv_and_shell_scripts() {
        let exec = |c: &[&str]| LifecycleHandler {
            exec: Some(crate::spec::model::ExecAction {
                command: c.iter().map(|s| s.to_string()).collect(),
            }),
            ..Default::default()
        };
        assert_eq!(
            known_duration(&exec(&["sleep", "15"])),
            Some((15, HookDelay::Exec))
        );
        assert_eq!(
            known_duration(&exec(&["/bin/sh", "-c", "sleep 20; nginx -s quit"])),
            Some((20, HookDelay::Exec))
        );
        assert_eq!(
            known_duration(&exec(&["/usr/sbin/nginx", "-s", "quit"])),
            None
        );
    }
}
