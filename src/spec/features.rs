//! Feature gates: podcheck follows v1.35's defaults, and a spec may switch the gates below
//! (`run.feature_gates`), in one place, as a kubelet's `--feature-gates` would.

use std::collections::BTreeMap;

/// The gates a spec may set: name, stage in v1.35, default.
pub const KNOWN: [(&str, &str, bool); 1] = [("ContainerStopSignals", "alpha", false)];

/// The gates in force for one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureGates {
    /// `lifecycle.stopSignal` is kept and used (KEP-4960).
    pub container_stop_signals: bool,
}

impl FeatureGates {
    /// v1.35's defaults with the spec's `run.feature_gates` applied (unknown names are
    /// validation errors, so they are ignored here).
    pub fn from_spec(gates: &BTreeMap<String, bool>) -> Self {
        let on = |name: &str| {
            gates.get(name).copied().unwrap_or_else(|| {
                KNOWN
                    .iter()
                    .find(|(n, _, _)| *n == name)
                    .is_some_and(|(_, _, d)| *d)
            })
        };
        FeatureGates {
            container_stop_signals: on("ContainerStopSignals"),
        }
    }
}

/// The stop signals Linux containers may name (`supportedStopSignalsLinux`, KEP-4960).
const LINUX_STOP_SIGNALS: [&str; 34] = [
    "SIGABRT",
    "SIGALRM",
    "SIGBUS",
    "SIGCHLD",
    "SIGCLD",
    "SIGCONT",
    "SIGFPE",
    "SIGHUP",
    "SIGILL",
    "SIGINT",
    "SIGIO",
    "SIGIOT",
    "SIGKILL",
    "SIGPIPE",
    "SIGPOLL",
    "SIGPROF",
    "SIGPWR",
    "SIGQUIT",
    "SIGSEGV",
    "SIGSTKFLT",
    "SIGSTOP",
    "SIGSYS",
    "SIGTERM",
    "SIGTRAP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGUSR1",
    "SIGUSR2",
    "SIGVTALRM",
    "SIGWINCH",
    "SIGXCPU",
    "SIGXFSZ",
];

/// The signal number of a stopSignal name allowed for `os` (`linux` or `windows`), or None.
pub fn stop_signal_number(name: &str, os: &str) -> Option<i32> {
    if os == "windows" {
        return match name {
            "SIGTERM" => Some(libc::SIGTERM),
            "SIGKILL" => Some(libc::SIGKILL),
            _ => None,
        };
    }
    if os != "linux" {
        return None;
    }
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    let rt = |rest: &str, base: i32, sign: i32| -> Option<i32> {
        let n: i32 = rest.parse().ok()?;
        (1..=15).contains(&n).then_some(base + sign * n)
    };
    match name {
        "SIGRTMIN" => Some(min),
        "SIGRTMAX" => Some(max),
        _ if name.starts_with("SIGRTMIN+") => rt(&name["SIGRTMIN+".len()..], min, 1),
        _ if name.starts_with("SIGRTMAX-") => rt(&name["SIGRTMAX-".len()..], max, -1),
        _ if LINUX_STOP_SIGNALS.contains(&name) => {
            // SIGCLD, SIGIOT and SIGPOLL are Linux aliases nix does not spell.
            let alias = match name {
                "SIGCLD" => "SIGCHLD",
                "SIGIOT" => "SIGABRT",
                "SIGPOLL" => "SIGIO",
                n => n,
            };
            alias
                .parse::<nix::sys::signal::Signal>()
                .ok()
                .map(|s| s as i32)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_signals_follow_the_os_lists() {
        assert_eq!(stop_signal_number("SIGUSR1", "linux"), Some(libc::SIGUSR1));
        assert_eq!(stop_signal_number("SIGIOT", "linux"), Some(libc::SIGABRT));
        assert_eq!(
            stop_signal_number("SIGRTMIN+3", "linux"),
            Some(libc::SIGRTMIN() + 3)
        );
        assert_eq!(stop_signal_number("SIGRTMIN+16", "linux"), None);
        assert_eq!(stop_signal_number("SIGUSR1", "windows"), None);
        assert_eq!(
            stop_signal_number("SIGKILL", "windows"),
            Some(libc::SIGKILL)
        );
        assert_eq!(stop_signal_number("USR1", "linux"), None);
    }

    #[test]
    fn gates_default_to_v1_35() {
        assert!(!FeatureGates::from_spec(&BTreeMap::new()).container_stop_signals);
        let on = BTreeMap::from([("ContainerStopSignals".to_owned(), true)]);
        assert!(FeatureGates::from_spec(&on).container_stop_signals);
    }
}
