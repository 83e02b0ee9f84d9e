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
