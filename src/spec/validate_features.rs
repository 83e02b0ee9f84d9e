//! Validation of `run.feature_gates`, `pod.os` and `lifecycle.stopSignal`.

use super::features::{KNOWN, stop_signal_number};
use super::model::SpecFile;
use super::validate::{err, list_or_none, warn};
use crate::diag::{Diagnostic, FieldPath};

/// Checks the gates a spec sets and the stop signals its containers name.
pub(super) fn check_features(spec: &SpecFile, out: &mut Vec<Diagnostic>) {
    let root = FieldPath::root();
    let names = KNOWN.iter().map(|(n, _, _)| *n);
    for gate in spec.run.feature_gates.keys() {
        if !KNOWN.iter().any(|(n, _, _)| n == gate) {
            out.push(err(
                root.key("run").key("feature_gates").key(gate),
                format!("unknown feature gate {gate:?}"),
                format!(
                    "podcheck follows v1.35's default gates; the ones a spec can switch are {}",
                    list_or_none(names.clone())
                ),
            ));
        }
    }
    let gate_on = spec
        .run
        .feature_gates
        .get("ContainerStopSignals")
        .copied()
        .unwrap_or(false);
    let os = spec.pod.os.as_ref().map(|o| o.name.as_str());
    if let Some(name) = os.filter(|n| *n != "linux" && *n != "windows") {
        out.push(err(
            root.key("pod").key("os").key("name"),
            format!("Unsupported value: {name:?}: supported values: \"linux\", \"windows\""),
            "use \"linux\" (podcheck runs Linux processes)",
        ));
    }
    let lists = [
        ("initContainers", &spec.pod.init_containers),
        ("containers", &spec.pod.containers),
    ];
    for (list, containers) in lists {
        for (i, c) in containers.iter().enumerate() {
            let Some(sig) = c.lifecycle.as_ref().and_then(|l| l.stop_signal.as_deref()) else {
                continue;
            };
            let path = root
                .key("pod")
                .key(list)
                .index(i)
                .key("lifecycle")
                .key("stopSignal");
            if !gate_on {
                out.push(warn(
                    path,
                    "stopSignal is dropped by the API server: the ContainerStopSignals feature gate is alpha and off in v1.35, so the container is stopped with SIGTERM",
                    "set run.feature_gates = { ContainerStopSignals = true } to run it as a cluster with that gate on would",
                ));
                continue;
            }
            match os {
                None => out.push(err(
                    path,
                    "stopSignal needs the pod's operating system: set pod.os.name",
                    "add [pod.os] name = \"linux\"",
                )),
                Some(os) if stop_signal_number(sig, os).is_none() => out.push(err(
                    path,
                    format!("Unsupported value: {sig:?}: not a stop signal for {os}"),
                    if os == "windows" {
                        "use \"SIGTERM\" or \"SIGKILL\" (the only ones Windows allows)".to_owned()
                    } else {
                        "use a signal name such as \"SIGTERM\", \"SIGUSR1\", \"SIGQUIT\" or \"SIGRTMIN+1\"".to_owned()
                    },
                )),
                Some(_) => {}
            }
        }
    }
}
