//! Validation of `[cluster]`, `[[traffic]]` and `[[expect.traffic]]`: every Service, port and
//! traffic name they use must exist, and the windows and rates must make a bounded run.

use super::model::{IntOrString, SpecFile};
use super::traffic::{MAX_RATE, MAX_REQUESTS, traffic_names};
use super::validate::{MAX_RUN_DURATION, err, list_or_none};
use crate::diag::{Diagnostic, FieldPath};

/// The longest propagation delay: far beyond kube-proxy's, small enough to stay a delay.
const MAX_PROPAGATION: std::time::Duration = std::time::Duration::from_secs(3600);

/// Checks the cluster settings, every traffic item and every traffic expectation.
pub(super) fn check_traffic(spec: &SpecFile, out: &mut Vec<Diagnostic>) {
    let root = FieldPath::root();
    if let Some(d) = spec.cluster.endpoint_propagation
        && d.0 > MAX_PROPAGATION
    {
        out.push(err(
            root.key("cluster").key("endpoint_propagation"),
            format!("endpoint_propagation {d} is out of range"),
            "use a delay of at most 1h, such as \"1s\" (the default)",
        ));
    }
    let names = traffic_names(&spec.traffic);
    for (i, t) in spec.traffic.iter().enumerate() {
        let path = root.key("traffic").index(i);
        check_item(spec, t, &path, out);
        if let Some(first) = names[..i].iter().position(|n| *n == names[i]) {
            out.push(err(
                if t.name.is_some() {
                    path.key("name")
                } else {
                    path.clone()
                },
                format!(
                    "traffic name {:?} is used by traffic[{first}] already",
                    names[i]
                ),
                "give each [[traffic]] its own `name = \"...\"`",
            ));
        }
    }
    for (i, x) in spec.expect.traffic.iter().enumerate() {
        let path = root.key("expect").key("traffic").index(i);
        if spec.traffic.is_empty() {
            out.push(err(
                path.clone(),
                "[[expect.traffic]] needs a [[traffic]] load generator; the spec has none",
                "add [[traffic]] with `service`, `rate` and `during`",
            ));
        }
        if let Some(n) = &x.traffic
            && !names.contains(n)
        {
            out.push(err(
                path.key("traffic"),
                format!("no traffic named {n:?} in the spec"),
                format!("use one of the [[traffic]] names: {}", list_or_none(&names)),
            ));
        }
        if let Some(p) = &x.pod {
            let pods: Vec<String> = spec
                .pod_instances("pod")
                .into_iter()
                .map(|p| p.name)
                .collect();
            if !pods.contains(p) {
                out.push(err(
                    path.key("pod"),
                    format!("no pod named {p:?} in the spec"),
                    format!("use one of the spec's pods: {}", list_or_none(&pods)),
                ));
            }
        }
        if !x.has_condition() {
            out.push(err(
                path.clone(),
                "this traffic expectation checks nothing",
                "add `failed = 0`, `failed_at_most = N`, `failed_at_least = N`, `ok_at_least = N`, `requests_at_most = N`, `requests_at_least = N` or `latency_at_most = \"200ms\"`",
            ));
        }
        if let (Some(lo), Some(hi)) = (x.failed_at_least, x.failed_at_most)
            && lo > hi
        {
            out.push(err(
                path.key("failed_at_least"),
                format!("failed_at_least {lo} is above failed_at_most {hi}"),
                "no count can satisfy both; lower failed_at_least or raise failed_at_most",
            ));
        }
    }
}

fn check_item(
    spec: &SpecFile,
    t: &super::traffic::Traffic,
    path: &FieldPath,
    out: &mut Vec<Diagnostic>,
) {
    match spec.services.get(&t.service) {
        None => out.push(err(
            path.key("service"),
            format!("no service named {:?} in the spec", t.service),
            format!(
                "use one of the spec's [services.NAME]: {}",
                list_or_none(spec.services.keys())
            ),
        )),
        Some(svc) => {
            let ports: Vec<String> = svc
                .ports
                .iter()
                .map(|p| match &p.name {
                    Some(n) => format!("{} ({n})", p.port),
                    None => p.port.to_string(),
                })
                .collect();
            let found = match &t.port {
                None => svc.ports.len() == 1,
                Some(IntOrString::Int(n)) => svc.ports.iter().any(|p| p.port == *n),
                Some(IntOrString::String(n)) => {
                    svc.ports.iter().any(|p| p.name.as_deref() == Some(n))
                }
            };
            if !found && !svc.ports.is_empty() {
                let what = match &t.port {
                    None => format!(
                        "service {:?} has {} ports, so the traffic must name one",
                        t.service,
                        svc.ports.len()
                    ),
                    Some(IntOrString::Int(n)) => {
                        format!("service {:?} has no port {n}", t.service)
                    }
                    Some(IntOrString::String(n)) => {
                        format!("service {:?} has no port named {n:?}", t.service)
                    }
                };
                out.push(err(
                    path.key("port"),
                    what,
                    format!("use one of its ports: {}", list_or_none(&ports)),
                ));
            }
        }
    }
    if !(t.rate.is_finite() && t.rate > 0.0 && t.rate <= MAX_RATE) {
        out.push(err(
            path.key("rate"),
            format!(
                "rate {} is not between 0 and {MAX_RATE} requests per second",
                t.rate
            ),
            "use a positive rate such as 20 (requests per second of spec time)",
        ));
    }
    let (Some(from), Some(to)) = (t.during.from, t.during.to) else {
        out.push(err(
            path.key("during"),
            format!("the traffic window {} is open-ended", t.during),
            "give both ends, e.g. during = \"5s..20s\" (spec time since the run began)",
        ));
        return;
    };
    if to > MAX_RUN_DURATION {
        out.push(err(
            path.key("during"),
            format!("the traffic window {} is out of range", t.during),
            "use times of at most 10 years (\"3650d\"), such as \"5s..20s\"",
        ));
        return;
    }
    let count = (to - from).as_secs_f64() * t.rate;
    if count.is_finite() && count >= MAX_REQUESTS as f64 {
        out.push(err(
            path.key("rate"),
            format!(
                "rate {} over {} sends about {count:.0} requests; at most {MAX_REQUESTS} are supported",
                t.rate, t.during
            ),
            "lower the rate or shorten the window",
        ));
    }
    if let Some(d) = spec.run.duration
        && to > d.0
    {
        out.push(err(
            path.key("during"),
            format!(
                "the traffic window {} ends after run.duration {d}: the run would stop it early",
                t.during
            ),
            "end the window before run.duration, or lengthen the run",
        ));
    }
    if let Some(p) = t.path()
        && !p.starts_with('/')
    {
        out.push(err(
            path.key("http").key("path"),
            format!("path {p:?} does not start with '/'"),
            "use an absolute path such as \"/\" or \"/healthz\"",
        ));
    }
    if let Some(d) = t.timeout
        && (d.0.is_zero() || d.0 > MAX_PROPAGATION)
    {
        out.push(err(
            path.key("timeout"),
            format!("timeout {d} is out of range"),
            "use a timeout above 0 and at most 1h, such as \"1s\" (the default)",
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::spec::load::parse_spec;

    const BASE: &str = "[pods.web]\nlabels = { app = \"web\" }\n[[pods.web.containers]]\nname = \"app\"\ncommand = [\"sleep\", \"9\"]\n[services.web]\nselector = { app = \"web\" }\nports = [{ name = \"http\", port = 80, targetPort = 8080 }]\n";

    fn errors(src: &str) -> String {
        match parse_spec(Path::new("t.toml"), src) {
            Ok(_) => String::new(),
            Err(e) => e.render(),
        }
    }

    #[test]
    fn a_good_traffic_item_and_its_expectation_validate() {
        let src = format!(
            "{BASE}[cluster]\nendpoint_propagation = \"500ms\"\n[[traffic]]\nservice = \"web\"\nport = \"http\"\nrate = 10\nduring = \"1s..5s\"\nhttp = {{ path = \"/\" }}\n[[expect.traffic]]\ntraffic = \"web\"\nfailed = 0\nlatency_at_most = \"200ms\"\n"
        );
        assert_eq!(errors(&src), "");
    }

    #[test]
    fn an_unknown_service_is_an_error_on_its_line() {
        let src =
            format!("{BASE}[[traffic]]\nservice = \"nope\"\nrate = 10\nduring = \"1s..5s\"\n");
        let r = errors(&src);
        assert!(r.contains("no service named \"nope\" in the spec"), "{r}");
        // The `service = "nope"` line: BASE has 8 lines, then [[traffic]].
        assert!(r.contains("t.toml:10:"), "{r}");
        assert!(r.contains("[services.NAME]: \"web\""), "{r}");
    }

    #[test]
    fn bad_ports_rates_windows_and_names_are_errors() {
        let r = errors(&format!(
            "{BASE}[[traffic]]\nservice = \"web\"\nport = 81\nrate = 0\nduring = \"1s..\"\n"
        ));
        assert!(r.contains("service \"web\" has no port 81"), "{r}");
        assert!(r.contains("rate 0 is not between"), "{r}");
        assert!(r.contains("is open-ended"), "{r}");
        let r = errors(&format!(
            "{BASE}[run]\nduration = \"4s\"\n[[traffic]]\nservice = \"web\"\nrate = 10\nduring = \"1s..5s\"\n[[expect.traffic]]\ntraffic = \"api\"\n"
        ));
        assert!(r.contains("ends after run.duration"), "{r}");
        assert!(r.contains("no traffic named \"api\""), "{r}");
        assert!(r.contains("checks nothing"), "{r}");
        let r = errors(&format!(
            "{BASE}[cluster]\nendpoint_propagation = \"2h\"\n[[expect.traffic]]\nfailed = 0\n"
        ));
        assert!(
            r.contains("endpoint_propagation 7200s is out of range"),
            "{r}"
        );
        assert!(r.contains("needs a [[traffic]]"), "{r}");
    }
}
