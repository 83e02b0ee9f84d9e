//! Validation of the `[expect]` tables: every container, condition and state they name must
//! exist in the pod, so a typo is an error with a span, not an expectation that never holds.

use super::model::SpecFile;
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
    let pod = &spec.pod;
    let all = pod.init_containers.iter().chain(&pod.containers);
    let names: Vec<&str> = all.map(|c| c.name.as_str()).collect();
    let container = |at: FieldPath, name: &str, out: &mut Vec<Diagnostic>| {
        if !names.contains(&name) {
            out.push(err(
                at,
                format!("no container named {name:?} in the pod"),
                format!("use one of the pod's containers: {}", list_or_none(&names)),
            ));
        }
    };
    let e = &spec.expect;
    // Every kind of event expectation names a container and an event type the same way.
    let matchers = [
        (
            "events",
            e.events.iter().map(|x| x.matcher()).collect::<Vec<_>>(),
        ),
        ("never", e.never.iter().map(|x| x.matcher()).collect()),
        ("counts", e.counts.iter().map(|x| x.matcher()).collect()),
    ];
    for (list, items) in &matchers {
        for (i, m) in items.iter().enumerate() {
            let at = path.key(list).index(i);
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
    }
    for (i, x) in e.counts.iter().enumerate() {
        let cpath = path.key("counts").index(i);
        match (x.exactly, x.at_least, x.at_most) {
            (None, None, None) => out.push(err(
                cpath,
                "count expectation sets no bound",
                "set `exactly`, or `at_least` and/or `at_most`",
            )),
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => out.push(err(
                cpath.key("exactly"),
                "`exactly` cannot be combined with `at_least` or `at_most`",
                "keep either `exactly` or the `at_least`/`at_most` range",
            )),
            (None, Some(lo), Some(hi)) if lo > hi => out.push(err(
                cpath.key("at_least"),
                format!("at_least {lo} is greater than at_most {hi}"),
                "make at_least less than or equal to at_most",
            )),
            _ => {}
        }
    }
    for (i, x) in e.executions.iter().enumerate() {
        check_execution(x, &path.key("executions").index(i), &container, out);
    }
    for (i, st) in e.states.iter().enumerate() {
        let spath = path.key("states").index(i);
        if st.at.is_some() == st.during.is_some() {
            out.push(err(
                spath.clone(),
                "a state expectation needs exactly one of `at` or `during`",
                "set `at = \"5s\"` for an instant or `during = \"2s..5s\"` for a window",
            ));
        }
        check_state_fields(&st.as_state(), &spath, &container, out);
    }
    if let Some(f) = &e.final_state {
        check_state_fields(f, &path.key("final"), &container, out);
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
    for k in f
        .conditions
        .keys()
        .filter(|k| !CONDITIONS.contains(&k.as_str()))
    {
        out.push(err(
            fpath.key("conditions").key(k),
            format!("pod condition {k:?} does not exist"),
            format!("use one of {}", list_or_none(CONDITIONS)),
        ));
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
    }
}
