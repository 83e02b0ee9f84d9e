//! Validation of the `[expect]` tables: every container, condition and state they name must
//! exist in the pod, so a typo is an error with a span, not an expectation that never holds.

use super::model::{Pod, SpecFile};
use super::validate::{err, list_or_none};
use crate::diag::{Diagnostic, FieldPath};

/// The pod condition types the kubelet writes, in the order it writes them.
const CONDITIONS: [&str; 5] = [
    "PodScheduled",
    "PodReadyToStartContainers",
    "Initialized",
    "ContainersReady",
    "Ready",
];

/// Checks that `[expect]` names only containers and conditions the pod has.
pub(super) fn check_expect(spec: &SpecFile, path: &FieldPath, out: &mut Vec<Diagnostic>) {
    let instances = spec.pod_instances("pod");
    let several = spec.several_pods();
    let pod_names: Vec<&str> = instances.iter().map(|p| p.name.as_str()).collect();
    // The pod an item is about: the one pod, or the one its `pod` names (an error when
    // several pods make it ambiguous or the name is unknown).
    let pod_of = |at: &FieldPath, named: Option<&str>, out: &mut Vec<Diagnostic>| match named {
        None if several => {
            out.push(err(
                at.clone(),
                "this spec has several pods, so the expectation must name its pod",
                format!(
                    "add `pod = \"...\"` with one of: {}",
                    list_or_none(&pod_names)
                ),
            ));
            None
        }
        None => instances.first().map(|p| &p.pod),
        Some(n) => match instances.iter().find(|p| p.name == n) {
            Some(p) => Some(&p.pod),
            None => {
                out.push(err(
                    at.key("pod"),
                    format!("no pod named {n:?} in the spec"),
                    format!("use one of the spec's pods: {}", list_or_none(&pod_names)),
                ));
                None
            }
        },
    };
    let e = &spec.expect;
    let events = e.events.iter().map(|x| (x.matcher(), x.pod.as_deref()));
    let never = e.never.iter().map(|x| (x.matcher(), x.pod.as_deref()));
    let counts = e.counts.iter().map(|x| (x.matcher(), x.pod.as_deref()));
    let matchers: [(&str, Vec<_>); 3] = [
        ("events", events.collect()),
        ("never", never.collect()),
        ("counts", counts.collect()),
    ];
    for (list, items) in &matchers {
        for (i, (m, pod)) in items.iter().enumerate() {
            let at = path.key(list).index(i);
            let Some(pod) = pod_of(&at, *pod, out) else {
                continue;
            };
            check_matcher(&at, m, &container_of(pod), out);
        }
    }
    for (i, x) in e.counts.iter().enumerate() {
        let cpath = path.key("counts").index(i);
        check_bounds(
            &cpath,
            (x.exactly, x.at_least, x.at_most),
            "count expectation",
            out,
        );
    }
    for (i, x) in e.executions.iter().enumerate() {
        let xpath = path.key("executions").index(i);
        if let Some(pod) = pod_of(&xpath, x.pod.as_deref(), out) {
            check_execution(x, &xpath, &container_of(pod), out);
        }
    }
    for (i, x) in e.never_executions.iter().enumerate() {
        let xpath = path.key("never_executions").index(i);
        if let Some(pod) = pod_of(&xpath, x.pod.as_deref(), out) {
            check_execution(x, &xpath, &container_of(pod), out);
        }
        if x.after_previous.is_some() {
            out.push(err(
                xpath.key("after_previous"),
                "`after_previous` has no meaning in never_executions: its items are not a sequence",
                "bound when it must not happen with `at = \"A..B\"` (spec time since pod creation)",
            ));
        }
    }
    for (i, x) in e.endpoints.iter().enumerate() {
        let epath = path.key("endpoints").index(i);
        pod_of(&epath, x.pod.as_deref(), out);
        match &x.service {
            Some(svc) if !spec.services.contains_key(svc) => out.push(err(
                epath.key("service"),
                format!("no service named {svc:?} in the spec"),
                format!(
                    "use one of the spec's [services.NAME]: {}",
                    list_or_none(spec.services.keys())
                ),
            )),
            Some(_) => {}
            None => {
                let only_service = [
                    ("serving", x.serving.is_some()),
                    ("terminating", x.terminating.is_some()),
                    ("present", x.present.is_some()),
                ];
                for (key, _) in only_service.iter().filter(|(_, set)| *set) {
                    out.push(err(
                        epath.key(key),
                        format!(
                            "`{key}` is a condition of an endpoint in a Service's EndpointSlice"
                        ),
                        "add `service = \"NAME\"` naming one of the spec's [services.NAME]",
                    ));
                }
            }
        }
    }
    for (i, st) in e.states.iter().enumerate() {
        let spath = path.key("states").index(i);
        let set = [st.at.is_some(), st.during.is_some(), st.within.is_some()];
        if set.iter().filter(|b| **b).count() != 1 {
            out.push(err(
                spath.clone(),
                "a state expectation needs exactly one of `at`, `during` or `within`",
                "set `at = \"5s\"` for an instant, `during = \"2s..5s\"` for a whole window, or `within = \"2s..5s\"` for some instant of it",
            ));
        }
        let Some(pod) = pod_of(&spath, st.pod.as_deref(), out) else {
            continue;
        };
        let container = container_of(pod);
        if let Some(r) = &st.after_event {
            let apath = spath.key("after_event");
            check_matcher(&apath, &r.matcher(), &container, out);
            if r.nth == Some(0) {
                out.push(err(
                    apath.key("nth"),
                    "nth counts matching events from 1",
                    "use nth = 1 for the first matching event, 2 for the second, ...",
                ));
            }
        }
        check_state_fields(&st.as_state(), &spath, &container, &gates_of(pod), out);
    }
    let mut final_pods: Vec<Option<&str>> = Vec::new();
    for (i, f) in e.finals.iter().enumerate() {
        let fpath = if e.finals.len() == 1 {
            path.key("final")
        } else {
            path.key("final").index(i)
        };
        let resolved = f
            .pod
            .as_deref()
            .or(pod_names.first().copied().filter(|_| !several));
        if resolved.is_some() && final_pods.contains(&resolved) {
            out.push(err(
                fpath.clone(),
                format!(
                    "a second final state for pod {:?}",
                    resolved.unwrap_or_default()
                ),
                "give each pod at most one [[expect.final]] table",
            ));
        }
        final_pods.push(resolved);
        if let Some(pod) = pod_of(&fpath, f.pod.as_deref(), out) {
            check_state_fields(f, &fpath, &container_of(pod), &gates_of(pod), out);
        }
    }
    if !e.statuses.is_empty() && several {
        out.push(err(
            path.key("statuses"),
            "this spec has several pods, so `statuses` does not say whose STATUS column it is",
            "use [expect.pod_statuses] with one list per pod, e.g. `app = [\"Init:0/1\", \"Running\"]`",
        ));
    }
    for name in e.pod_statuses.keys() {
        pod_of(&path.key("pod_statuses"), Some(name), out);
    }
    for (i, l) in e.logs.iter().enumerate() {
        let lpath = path.key("logs").index(i);
        if let Some(pod) = pod_of(&lpath, l.pod.as_deref(), out) {
            container_of(pod)(lpath.key("container"), &l.container, out);
        }
        match (&l.contains, &l.regex) {
            (Some(_), Some(_)) => out.push(err(
                lpath.key("regex"),
                "a log expectation takes `contains` or `regex`, not both",
                "keep one of them",
            )),
            (None, None) => out.push(err(
                lpath,
                "a log expectation needs a line to look for",
                "set `contains = \"...\"` (a substring of a line) or `regex = \"...\"` (searched in each line)",
            )),
            _ => {}
        }
    }
}

/// The check that a container name exists in `pod`.
fn container_of(pod: &Pod) -> impl Fn(FieldPath, &str, &mut Vec<Diagnostic>) + '_ {
    move |at, name, out| {
        let names: Vec<&str> = pod
            .init_containers
            .iter()
            .chain(&pod.containers)
            .map(|c| c.name.as_str())
            .collect();
        if !names.contains(&name) {
            out.push(err(
                at,
                format!("no container named {name:?} in the pod"),
                format!("use one of the pod's containers: {}", list_or_none(&names)),
            ));
        }
    }
}

/// The readiness gate condition types of `pod`.
fn gates_of(pod: &Pod) -> Vec<&str> {
    pod.readiness_gates
        .iter()
        .map(|g| g.condition_type.as_str())
        .collect()
}

/// The bounds of a count or an integer range: at least one, `exactly` alone, low ≤ high.
fn check_bounds(
    at: &FieldPath,
    (exactly, at_least, at_most): (
        Option<impl Into<i64>>,
        Option<impl Into<i64>>,
        Option<impl Into<i64>>,
    ),
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    let (exactly, at_least, at_most) = (
        exactly.map(Into::into),
        at_least.map(Into::into),
        at_most.map(Into::into),
    );
    match (exactly, at_least, at_most) {
        (None, None, None) => out.push(err(
            at.clone(),
            format!("{what} sets no bound"),
            "set `exactly`, or `at_least` and/or `at_most`",
        )),
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => out.push(err(
            at.key("exactly"),
            "`exactly` cannot be combined with `at_least` or `at_most`",
            "keep either `exactly` or the `at_least`/`at_most` range",
        )),
        (None, Some(lo), Some(hi)) if lo > hi => out.push(err(
            at.key("at_least"),
            format!("at_least {lo} is greater than at_most {hi}"),
            "make at_least less than or equal to at_most",
        )),
        _ => {}
    }
}

/// Container and event type of an event matcher.
fn check_matcher(
    at: &FieldPath,
    m: &crate::expect::model::EventMatcher,
    container: &dyn Fn(FieldPath, &str, &mut Vec<Diagnostic>),
    out: &mut Vec<Diagnostic>,
) {
    if let Some(name) = &m.container {
        container(at.key("container"), name, out);
    }
    let bad_type = m
        .event_type
        .as_ref()
        .filter(|t| *t != "Normal" && *t != "Warning");
    if let Some(t) = bad_type {
        out.push(err(
            at.key("type"),
            format!("event type {t:?} does not exist"),
            "use \"Normal\" or \"Warning\"",
        ));
    }
}

/// One `[[expect.executions]]` item: a known kind, and only the fields that kind has.
fn check_execution(
    x: &crate::expect::executions::ExecutionExpectation,
    xpath: &FieldPath,
    container: &dyn Fn(FieldPath, &str, &mut Vec<Diagnostic>),
    out: &mut Vec<Diagnostic>,
) {
    use crate::expect::executions::{HOOKS, KINDS, PROBES, RESULTS};
    let kind = x.execution.as_str();
    if !KINDS.contains(&kind) {
        out.push(err(
            xpath.key("execution"),
            format!("execution kind {kind:?} does not exist"),
            format!("use one of {}", list_or_none(KINDS)),
        ));
        return;
    }
    if let Some(name) = &x.container {
        container(xpath.key("container"), name, out);
    }
    // Which fields each kind can be matched on.
    let allowed: &[&str] = match kind {
        "start" => &[],
        "exit" => &["exitCode", "signal"],
        "signal" => &["signal"],
        "hook" => &["hook", "result", "duration"],
        _ => &["probe", "result", "output", "duration"],
    };
    let set = [
        ("exitCode", x.exit_code.is_some()),
        ("signal", x.signal.is_some()),
        ("hook", x.hook.is_some()),
        ("probe", x.probe.is_some()),
        ("result", x.result.is_some()),
        ("output", x.output.is_some()),
        ("duration", x.duration.is_some()),
    ];
    for (field, _) in set.iter().filter(|(f, on)| *on && !allowed.contains(f)) {
        out.push(err(
            xpath.key(field),
            format!("`{field}` does not apply to a {kind:?} execution"),
            if allowed.is_empty() {
                format!("remove it; a {kind:?} item matches on container, instance and its windows")
            } else {
                format!(
                    "remove it; a {kind:?} item can match on {}",
                    allowed.join(", ")
                )
            },
        ));
    }
    if let Some(s) = x
        .signal
        .as_ref()
        .filter(|s| crate::events::parse_signal(s).is_none())
    {
        out.push(err(
            xpath.key("signal"),
            format!("{s:?} is not a signal"),
            "use a name such as \"SIGTERM\" or \"KILL\", or a number from 1 to 64",
        ));
    }
    let named = [
        ("hook", x.hook.as_deref(), &HOOKS[..]),
        ("probe", x.probe.as_deref(), &PROBES[..]),
    ];
    for (field, value, options) in named {
        if let Some(v) = value.filter(|v| !options.contains(v)) {
            out.push(err(
                xpath.key(field),
                format!("{field} {v:?} does not exist"),
                format!("use one of {}", list_or_none(options)),
            ));
        }
    }
    let results: &[&str] = if kind == "hook" {
        &RESULTS[..2]
    } else {
        &RESULTS[2..]
    };
    if let Some(r) = x.result.as_deref().filter(|r| !results.contains(r)) {
        out.push(err(
            xpath.key("result"),
            format!("{kind} result {r:?} does not exist"),
            format!("use one of {}", list_or_none(results)),
        ));
    }
}

/// Phase, conditions and container states of a `final` or `states` item.
fn check_state_fields(
    f: &crate::expect::model::FinalState,
    fpath: &FieldPath,
    container: &dyn Fn(FieldPath, &str, &mut Vec<Diagnostic>),
    gates: &[&str],
    out: &mut Vec<Diagnostic>,
) {
    let phases = ["Pending", "Running", "Succeeded", "Failed"];
    if let Some(p) = f.phase.as_ref().filter(|p| !phases.contains(&p.as_str())) {
        out.push(err(
            fpath.key("phase"),
            format!("pod phase {p:?} does not exist"),
            format!("use one of {}", list_or_none(phases)),
        ));
    }
    for (k, c) in &f.conditions {
        let kpath = fpath.key("conditions").key(k);
        if !CONDITIONS.contains(&k.as_str()) && !gates.contains(&k.as_str()) {
            let known = CONDITIONS.iter().chain(gates);
            out.push(err(
                kpath.clone(),
                format!("pod condition {k:?} does not exist"),
                format!(
                    "use one of {} (a readiness gate's condition type counts too)",
                    list_or_none(known)
                ),
            ));
        }
        if c.is_empty() {
            out.push(err(
                kpath,
                "the condition expectation checks nothing",
                "set `status`, `reason` and/or `message`, or write `true`/`false`",
            ));
        }
    }
    let states = ["waiting", "running", "terminated"];
    for (name, c) in &f.containers {
        let cpath = fpath.key("containers").key(name);
        container(cpath.clone(), name, out);
        if let Some(s) = c.state.as_ref().filter(|s| !states.contains(&s.as_str())) {
            out.push(err(
                cpath.key("state"),
                format!("container state {s:?} does not exist"),
                format!("use one of {}", list_or_none(states)),
            ));
        }
        let ranges = [
            ("exitCode", c.exit_code),
            ("restartCount", c.restart_count),
            ("lastExitCode", c.last_exit_code),
        ];
        for (field, r) in ranges {
            let Some(r) = r else { continue };
            let rpath = cpath.key(field);
            check_bounds(&rpath, (r.exactly, r.at_least, r.at_most), "the range", out);
            if field == "restartCount" && r.lowest().is_some_and(|v| v < 0) {
                out.push(err(
                    rpath,
                    "a restart count is never negative",
                    "use 0 or more",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::line_col;
    use crate::spec::validate::test_util::{app, diagnose, run_cases};

    const EXPECT_CASES: &str = r#"
    E | expect.final.containers.app.restartCount.at_least | greater than at_most 1 | [expect.final.containers.app]\nrestartCount = { at_least = 3, at_most = 1 }
    E | expect.final.containers.app.exitCode | no bound | [expect.final.containers.app]\nexitCode = {}
    E | expect.final.containers.app.lastExitCode.exactly | cannot be combined | [expect.final.containers.app]\nlastExitCode = { exactly = 1, at_most = 2 }
    E | expect.states[0].containers.app.restartCount | never negative | [[expect.states]]\nat = "1s"\ncontainers.app = { restartCount = -1 }
    E | expect.final.conditions.Ready | checks nothing | [expect.final.conditions]\nReady = {}
    E | expect.states[0] | exactly one of `at`, `during` or `within` | [[expect.states]] # <-\nat = "1s"\nwithin = "1s..2s"
    E | expect.states[0].after_event.container | no container named "web" | [[expect.states]]\nat = "1s"\nafter_event = { reason = "Killing", container = "web" }
    E | expect.states[0].after_event.nth | counts matching events from 1 | [[expect.states]]\nat = "1s"\nafter_event = { reason = "Killing", nth = 0 }
    E | expect.states[0].after_event.type | "warning" | [[expect.states]]\nat = "1s"\nafter_event = { type = "warning" }
    E | expect.logs[0].container | no container named "web" | [[expect.logs]]\ncontains = "x"\ncontainer = "web"
    E | expect.logs[0] | needs a line to look for | [[expect.logs]] # <-\ncontainer = "app"
    E | expect.logs[0].regex | not both | [[expect.logs]]\ncontainer = "app"\ncontains = "x"\nregex = "y"
    E | expect.final.containers.app.restartCount | unknown field `at_leest` | [expect.final.containers.app]\nrestartCount = { at_leest = 1 }
"#;

    #[test]
    fn ranges_conditions_windows_and_logs_are_validated_with_their_line() {
        run_cases(EXPECT_CASES, "", app);
    }

    /// Values serde rejects: one error, on the value's line, saying what is accepted.
    const PARSE_CASES: &[(&str, &str)] = &[
        (
            "[expect.final.containers.app]\nexitCode = \"1\"",
            "an integer (exact) or a range",
        ),
        (
            "[expect.final.conditions]\nReady = \"Unknown\"",
            "use true, false, \"True\" or \"False\"",
        ),
        (
            "[expect.final.conditions]\nReady = { reasons = \"x\" }",
            "unknown field `reasons`",
        ),
        (
            "[[expect.states]]\nwithin = \"5s..1s\"",
            "the start is after the end",
        ),
        (
            "[[expect.logs]]\ncontainer = \"app\"\nregex = \"(unclosed\"",
            "invalid regex",
        ),
        (
            "[[expect.logs]]\ncontainer = \"app\"\ncontains = \"x\"\nrestarts = 1",
            "unknown field `restarts`",
        ),
    ];

    #[test]
    fn bad_values_are_parse_errors_on_their_line() {
        for (toml, needle) in PARSE_CASES {
            let src = app(&format!("{}\n", toml.replace("\\n", "\n")));
            let fd = diagnose(&src);
            let shown = fd.render();
            assert_eq!(fd.diagnostics.len(), 1, "{shown}");
            let d = &fd.diagnostics[0];
            assert!(d.message.contains(needle), "{needle:?} not in {shown}");
            let line = d.span.clone().map(|s| line_col(&src, s.start).0);
            assert_eq!(line, Some(src.lines().count()), "{shown}");
        }
    }
}
