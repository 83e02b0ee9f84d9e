//! JSON lines (`podcheck run --json FILE`): one record per timeline entry as it happens, and
//! a verdict record when a spec ends.
//!
//! The field names are a contract with whatever reads the file (documented in the README,
//! pinned by the tests below), so records are built here field by field instead of
//! serialising internal types whose shape may change. Spellings follow the Kubernetes API:
//! camelCase names, condition status `"True"`/`"False"`.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::events::{ContainerState, ContainerStatus, Entry, ExecutionKind, PodStatus};
use crate::kubelet::EndReason;
use crate::runner::SpecReport;

use super::checklist::{self, Outcome};

/// The version of the record format, in every record as `v`; raised only when a field
/// changes meaning or goes away (new fields may appear within a version).
pub const FORMAT_VERSION: u32 = 1;

/// Spec seconds, rounded to the millisecond.
fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Wall-clock time in RFC 3339, UTC, milliseconds.
fn wall(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The API's spelling of a boolean condition status.
fn api_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// The record of one timeline entry of pod `pod` of spec `spec`, seen at wall-clock time
/// `now`.
pub fn entry_record(spec: &str, pod: &str, e: &Entry, now: SystemTime) -> Value {
    let mut v = match e {
        Entry::Event(ev) => json!({
            "kind": "event",
            "at": secs(ev.at),
            "type": ev.event_type.as_str(),
            "reason": ev.reason,
            "message": ev.message,
            "container": ev.container,
            "fieldPath": ev.field_path,
            "source": ev.source,
        }),
        Entry::Status { at, status } => {
            let mut v = status_value(status);
            v["kind"] = json!("status");
            v["at"] = json!(secs(*at));
            v
        }
        Entry::Endpoint { at, ready } => json!({
            "kind": "endpoint",
            "at": secs(*at),
            "ready": ready,
        }),
        Entry::HostListener { at, port } => json!({
            "kind": "hostListener",
            "at": secs(*at),
            "port": port,
        }),
        Entry::ServiceEndpoint {
            at,
            service,
            endpoint,
        } => json!({
            "kind": "serviceEndpoint",
            "at": secs(*at),
            "service": service,
            "present": endpoint.is_some(),
            "conditions": endpoint.map(|c| json!({
                "ready": c.ready, "serving": c.serving, "terminating": c.terminating,
            })),
        }),
        Entry::Request(r) => {
            let mut v = json!({
                "kind": "request",
                "at": secs(r.at),
                "traffic": r.traffic,
                "seq": r.seq,
                "service": r.service,
                "port": r.port,
                "endpoint": r.pod,
                "failed": r.outcome.failed(),
                "latency": secs(r.latency),
            });
            request_outcome_fields(&mut v, &r.outcome);
            v
        }
        Entry::Execution(x) => {
            let mut v = json!({
                "kind": "execution",
                "at": secs(x.at),
                "container": x.container,
                "instance": x.instance,
                "execution": x.what.name(),
            });
            execution_fields(&mut v, &x.what);
            v
        }
    };
    v["spec"] = json!(spec);
    v["pod"] = json!(pod);
    v["time"] = json!(wall(now));
    header_first(v)
}

/// The record with `v`, `kind`, `spec`, `pod`, `at` and `time` first, so a person reading the file
/// (or `grep`/`cut`) sees the same leading fields on every line.
fn header_first(v: Value) -> Value {
    let Value::Object(mut fields) = v else {
        return v;
    };
    let mut out = serde_json::Map::new();
    out.insert("v".into(), json!(FORMAT_VERSION));
    for key in ["kind", "spec", "pod", "at", "time"] {
        if let Some(x) = fields.shift_remove(key) {
            out.insert(key.into(), x);
        }
    }
    out.extend(fields);
    Value::Object(out)
}

/// `result` (ok, status, refused, reset, timeout) and its detail: `status`, `detail`.
fn request_outcome_fields(v: &mut Value, o: &crate::events::RequestOutcome) {
    use crate::events::RequestOutcome as O;
    let (result, status, detail) = match o {
        O::Ok { status } => ("ok", *status, None),
        O::Status { status } => ("status", Some(*status), None),
        O::Refused => ("refused", None, None),
        O::Reset { detail } => ("reset", None, Some(detail.clone())),
        O::Timeout => ("timeout", None, None),
    };
    v["result"] = json!(result);
    v["status"] = json!(status);
    v["detail"] = json!(detail);
}

fn execution_fields(v: &mut Value, what: &ExecutionKind) {
    match what {
        ExecutionKind::Start => {}
        ExecutionKind::Exit {
            exit_code,
            signal,
            reason,
        } => {
            v["exitCode"] = json!(exit_code);
            v["signal"] = json!(signal.map(crate::events::signal_name));
            v["reason"] = json!(reason);
        }
        ExecutionKind::Signal { signal } => {
            v["signal"] = json!(crate::events::signal_name(*signal));
        }
        ExecutionKind::Hook {
            hook,
            handler,
            result,
            detail,
            duration,
        } => {
            v["hook"] = json!(hook);
            v["handler"] = json!(handler);
            v["result"] = json!(result);
            v["detail"] = json!(detail);
            v["duration"] = json!(secs(*duration));
        }
        ExecutionKind::Probe {
            probe,
            handler,
            result,
            output,
            duration,
        } => {
            v["probe"] = json!(probe);
            v["handler"] = json!(handler);
            v["result"] = json!(result);
            v["output"] = json!(output);
            v["duration"] = json!(secs(*duration));
        }
    }
}

/// A pod status in the API's field names; times are spec seconds.
fn status_value(st: &PodStatus) -> Value {
    let conditions: Vec<Value> = st
        .conditions
        .iter()
        .map(|c| {
            json!({
                "type": c.kind,
                "status": api_bool(c.status),
                "reason": c.reason,
                "message": c.message,
            })
        })
        .collect();
    json!({
        "phase": st.phase.as_str(),
        "reason": st.reason,
        "message": st.message,
        "deleting": st.deleting,
        "conditions": conditions,
        "initContainerStatuses": st.init_container_statuses.iter().map(container_value).collect::<Vec<_>>(),
        "containerStatuses": st.container_statuses.iter().map(container_value).collect::<Vec<_>>(),
    })
}

fn container_value(c: &ContainerStatus) -> Value {
    json!({
        "name": c.name,
        "state": state_value(&c.state),
        "lastState": c.last_state.as_ref().map(state_value),
        "ready": c.ready,
        "started": c.started,
        "restartCount": c.restart_count,
        "sidecar": c.sidecar,
    })
}

fn state_value(s: &ContainerState) -> Value {
    match s {
        ContainerState::Waiting { reason, message } => {
            json!({ "waiting": { "reason": reason, "message": message } })
        }
        ContainerState::Running { started_at } => {
            json!({ "running": { "startedAt": secs(*started_at) } })
        }
        ContainerState::Terminated {
            exit_code,
            signal,
            reason,
            message,
            started_at,
            finished_at,
        } => json!({ "terminated": {
            "exitCode": exit_code,
            "signal": signal,
            "reason": reason,
            "message": message,
            "startedAt": secs(*started_at),
            "finishedAt": secs(*finished_at),
        } }),
    }
}

/// `podFinished`, `durationReached`, `decided`, `timedOut` or `interrupted`.
pub fn end_name(e: EndReason) -> &'static str {
    match e {
        EndReason::PodFinished => "podFinished",
        EndReason::DurationReached => "durationReached",
        EndReason::Decided => "decided",
        EndReason::TimedOut => "timedOut",
        EndReason::Interrupted => "interrupted",
    }
}

/// The verdict record of spec `spec`: passed, the failures, every expectation's outcome,
/// the cause lines and how the run ended.
pub fn verdict_record(spec: &str, r: &SpecReport, now: SystemTime) -> Value {
    let (items, _) = checklist::checklist(r);
    let expectations: Vec<Value> = items
        .iter()
        .map(|c| {
            let (outcome, at) = match &c.outcome {
                Outcome::Met(at) => ("met", at.map(secs)),
                Outcome::Failed(_) => ("failed", None),
                Outcome::NotChecked => ("notChecked", None),
            };
            json!({ "key": c.key, "label": c.label, "outcome": outcome, "at": at })
        })
        .collect();
    let causes = if r.passed() {
        Vec::new()
    } else {
        super::explain::causes(r)
    };
    header_first(json!({
        "kind": "verdict",
        "spec": spec,
        "title": r.title,
        "pod": r.pod_name,
        "passed": r.passed(),
        "end": end_name(r.end),
        "at": secs(r.ended_at),
        "time": wall(now),
        "failures": r.verdict.failures,
        "expectations": expectations,
        "causes": causes,
        "stoppedEarly": r.verdict.stopped_early.as_ref().map(|s| json!({
            "failed": s.failed,
            "failedAt": s.failed_at.map(secs),
            "notJudged": s.not_judged,
        })),
        "notes": r.notes,
    }))
}

/// The record of a spec that did not run: it did not load (invalid, exit 2) or the
/// environment could not run it (exit 3); `message` is what was printed for it.
pub fn error_record(spec: &str, message: &str, now: SystemTime) -> Value {
    header_first(json!({
        "kind": "error",
        "spec": spec,
        "at": null,
        "time": wall(now),
        "message": message,
    }))
}

/// A JSON-lines sink: every record is one line, flushed with the file.
pub struct JsonLines<W: Write> {
    out: W,
    /// The first write error, reported once by the caller; later writes are skipped.
    error: Option<io::Error>,
}

impl<W: Write> JsonLines<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        JsonLines { out, error: None }
    }

    /// Writes the record of a timeline entry of pod `pod`, timestamped now.
    pub fn entry(&mut self, spec: &str, pod: &str, e: &Entry) {
        let v = entry_record(spec, pod, e, SystemTime::now());
        self.line(&v);
    }

    /// Writes the verdict record of a finished spec, timestamped now.
    pub fn verdict(&mut self, spec: &str, r: &SpecReport) {
        let v = verdict_record(spec, r, SystemTime::now());
        self.line(&v);
    }

    /// Writes the record of a spec that did not run, timestamped now.
    pub fn error(&mut self, spec: &str, message: &str) {
        let v = error_record(spec, message, SystemTime::now());
        self.line(&v);
    }

    fn line(&mut self, v: &Value) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = writeln!(self.out, "{v}") {
            self.error = Some(e);
        }
    }

    /// Flushes, and returns the first error any write met.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::explain::tests::startup_404_report;

    fn at_epoch() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_767_225_600_250)
    }

    #[test]
    fn records_use_api_spellings_and_both_clocks() {
        let r = startup_404_report();
        let lines: Vec<Value> = r
            .outcome
            .timeline
            .entries
            .iter()
            .map(|e| entry_record("web.toml", "web", e, at_epoch()))
            .collect();
        let status = lines
            .iter()
            .find(|v| v["kind"] == "status")
            .expect("a status record");
        assert_eq!(status["conditions"][0]["status"], "False");
        assert_eq!(
            status["containerStatuses"][0]["state"]["running"]["startedAt"],
            0.01
        );
        assert_eq!(status["time"], "2026-01-01T00:00:00.250Z");
        assert_eq!(
            (&status["v"], &status["spec"]),
            (&json!(1), &json!("web.toml"))
        );
        let probe = lines
            .iter()
            .find(|v| v["execution"] == "probe")
            .expect("a probe record");
        let want = json!({
            "v": 1, "kind": "execution", "spec": "web.toml", "pod": "web", "time": "2026-01-01T00:00:00.250Z",
            "at": 1.0, "container": "app", "instance": 0, "execution": "probe",
            "probe": "startup", "handler": "httpGet", "result": "failure",
            "output": "HTTP probe failed with statuscode: 404", "duration": 0.002,
        });
        assert_eq!(probe, &want);
        let signal = lines
            .iter()
            .find(|v| v["execution"] == "signal")
            .expect("a signal record");
        assert_eq!(signal["signal"], "SIGTERM");
    }

    #[test]
    fn the_verdict_record_lists_failures_expectations_and_causes() {
        let v = verdict_record("web.toml", &startup_404_report(), at_epoch());
        assert_eq!(v["kind"], "verdict");
        assert_eq!(v["passed"], false);
        assert_eq!(v["end"], "durationReached");
        assert_eq!(v["at"], 5.0);
        assert_eq!(
            v["failures"][0],
            "final.conditions.Ready: expected true, observed false"
        );
        assert_eq!(
            v["expectations"],
            json!([
                { "key": "events[0]", "label": "Started", "outcome": "met", "at": 0.0 },
                { "key": "final", "label": "conditions.Ready=true", "outcome": "failed", "at": null },
            ])
        );
        let first = v["causes"][0].as_str().unwrap_or_default();
        assert!(
            first.starts_with("app: startupProbe httpGet failed 3/3"),
            "{first}"
        );
    }

    #[test]
    fn a_request_record_names_its_endpoint_and_result() {
        let req = crate::events::Request {
            at: Duration::from_millis(6050),
            traffic: "web".into(),
            seq: 61,
            service: "web".into(),
            port: 80,
            pod: Some("web-1".into()),
            outcome: crate::events::RequestOutcome::Refused,
            latency: Duration::from_micros(400),
        };
        let v = entry_record(
            "r.toml",
            "web-1",
            &Entry::Request(Box::new(req)),
            at_epoch(),
        );
        assert_eq!(v["kind"], "request");
        assert_eq!(v["pod"], "web-1");
        assert_eq!(v["at"], 6.05);
        assert_eq!(v["seq"], 61);
        assert_eq!(v["endpoint"], "web-1");
        assert_eq!(v["failed"], true);
        assert_eq!(v["result"], "refused");
        assert_eq!(v["status"], Value::Null);
        assert_eq!(v["latency"], 0.0);
    }

    #[test]
    fn an_error_record_has_the_common_fields_first() {
        let v = error_record("bad.toml", "error: run.timeout: invalid type", at_epoch());
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["v", "kind", "spec", "at", "time", "message"]);
        assert_eq!(v["kind"], "error");
        assert_eq!(v["at"], Value::Null);
    }

    #[test]
    fn a_write_error_is_kept_for_the_end() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut sink = JsonLines::new(Broken);
        sink.verdict("web.toml", &startup_404_report());
        let err = sink.finish().err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("disk full"));
    }
}
