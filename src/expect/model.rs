//! The expectation language of a spec: what the observed timeline must show.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::events::Event;
use crate::spec::duration::TimeWindow;

pub use super::values::TextMatch;

pub use super::values::{ConditionMatch, IntMatch, Pattern};

/// Everything a spec expects of its run.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Events in order; other events may come in between.
    #[serde(default)]
    pub events: Vec<EventExpectation>,
    /// Events that must not occur.
    #[serde(default)]
    pub never: Vec<NeverExpectation>,
    /// How often an event occurs.
    #[serde(default)]
    pub counts: Vec<CountExpectation>,
    /// The kubectl STATUS column must pass through these values in order.
    #[serde(default)]
    pub statuses: Vec<String>,
    /// Changes of the pod's membership in its Service's ready endpoints, in order.
    #[serde(default)]
    pub endpoints: Vec<EndpointExpectation>,
    /// The state at an instant, or throughout a window.
    #[serde(default)]
    pub states: Vec<StateExpectation>,
    /// What the runtime did (process starts and exits, signals, hooks, probe attempts), in
    /// order; other executions may come in between.
    #[serde(default)]
    pub executions: Vec<super::executions::ExecutionExpectation>,
    /// Executions that must not happen (`execution = "signal"`, `signal = "SIGKILL"`;
    /// `at` bounds when), matched as `executions` items are.
    #[serde(default)]
    pub never_executions: Vec<super::executions::ExecutionExpectation>,
    /// The ordered `events` must follow each other with no other event in between.
    #[serde(default)]
    pub strict_order: bool,
    /// The state when the run ends: one `[expect.final]` table, or with several pods one
    /// `[[expect.final]]` per pod.
    #[serde(rename = "final", default, deserialize_with = "one_or_many")]
    #[schemars(with = "OneOrManyFinals")]
    pub finals: Vec<FinalState>,
    /// With several pods, the STATUS column sequence of each pod by name (`statuses` is
    /// the one pod's).
    #[serde(default)]
    pub pod_statuses: BTreeMap<String, Vec<String>>,
    /// Lines a container's output must (or must not) contain.
    #[serde(default)]
    pub logs: Vec<LogExpectation>,
    /// How the requests of the `[[traffic]]` load generators ended (run-wide, not per pod).
    #[serde(default)]
    pub traffic: Vec<super::traffic::TrafficExpectation>,
}

impl Expectations {
    /// Whether the spec expects anything at all.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.executions.is_empty()
            && self.never_executions.is_empty()
            && self.never.is_empty()
            && self.counts.is_empty()
            && self.statuses.is_empty()
            && self.endpoints.is_empty()
            && self.states.is_empty()
            && self.finals.is_empty()
            && self.pod_statuses.is_empty()
            && self.logs.is_empty()
            && self.traffic.is_empty()
    }

    /// The items about pod `name`: those that name it, and with `only_pod` (the spec has
    /// one pod) those that name no pod.
    pub fn for_pod(&self, name: &str, only_pod: bool) -> Expectations {
        let mine = |p: &Option<String>| match p {
            Some(p) => p == name,
            None => only_pod,
        };
        let mut statuses = if only_pod {
            self.statuses.clone()
        } else {
            Vec::new()
        };
        if let Some(s) = self.pod_statuses.get(name) {
            statuses.extend(s.iter().cloned());
        }
        Expectations {
            events: self
                .events
                .iter()
                .filter(|x| mine(&x.pod))
                .cloned()
                .collect(),
            never: self
                .never
                .iter()
                .filter(|x| mine(&x.pod))
                .cloned()
                .collect(),
            counts: self
                .counts
                .iter()
                .filter(|x| mine(&x.pod))
                .cloned()
                .collect(),
            statuses,
            endpoints: self
                .endpoints
                .iter()
                .filter(|x| mine(&x.pod))
                .cloned()
                .collect(),
            states: self
                .states
                .iter()
                .filter(|x| mine(&x.pod))
                .cloned()
                .collect(),
            executions: self
                .executions
                .iter()
                .filter(|x| mine(&x.pod))
                .cloned()
                .collect(),
            never_executions: self
                .never_executions
                .iter()
                .filter(|x| mine(&x.pod))
                .cloned()
                .collect(),
            strict_order: self.strict_order,
            finals: self
                .finals
                .iter()
                .filter(|x| mine(&x.pod))
                .cloned()
                .collect(),
            pod_statuses: BTreeMap::new(),
            logs: self.logs.iter().filter(|x| mine(&x.pod)).cloned().collect(),
            // Requests belong to the run, not to one pod: the runner checks them.
            traffic: Vec::new(),
        }
    }

    /// The one `final` state (of a one-pod subset, see [`Expectations::for_pod`]).
    pub fn final_state(&self) -> Option<&FinalState> {
        self.finals.first()
    }
}

/// The schema of `final`: one table or a list of them (as [`one_or_many`] reads it).
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum OneOrManyFinals {
    /// `[expect.final]`.
    One(FinalState),
    /// `[[expect.final]]`, one per pod.
    Many(Vec<FinalState>),
}

/// `[expect.final]` (one table) or `[[expect.final]]` (one per pod).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<FinalState>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<FinalState>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a table [expect.final], or tables [[expect.final]] (one per pod)")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            FinalState::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                .map(|f| vec![f])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<FinalState>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(V)
}

/// Which events an expectation talks about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventMatcher {
    /// Event reason, e.g. `Started`.
    pub reason: Option<String>,
    /// `Normal` or `Warning`.
    pub event_type: Option<String>,
    /// Involved container name.
    pub container: Option<String>,
    /// Event message.
    pub message: Option<TextMatch>,
}

impl EventMatcher {
    /// Whether `ev` is one of the events this matcher talks about.
    pub fn matches(&self, ev: &Event) -> bool {
        self.reason.as_ref().is_none_or(|r| *r == ev.reason)
            && self
                .event_type
                .as_ref()
                .is_none_or(|t| t == ev.event_type.as_str())
            && self
                .container
                .as_ref()
                .is_none_or(|c| Some(c) == ev.container.as_ref())
            && self.message.as_ref().is_none_or(|t| t.matches(&ev.message))
    }
}

impl fmt::Display for EventMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(t) = &self.event_type {
            parts.push(t.clone());
        }
        parts.push(self.reason.clone().unwrap_or_else(|| "any event".into()));
        if let Some(c) = &self.container {
            parts.push(format!("container={c}"));
        }
        if let Some(m) = &self.message {
            parts.push(format!("message {m}"));
        }
        f.write_str(&parts.join(" "))
    }
}

/// Gives an expectation type whose matcher fields are spelled out (serde `flatten` would
/// lose spans and `deny_unknown_fields`) its `matcher()`.
macro_rules! impl_matcher {
    ($($t:ty),*) => {$(
        impl $t {
            /// The matcher part.
            pub fn matcher(&self) -> EventMatcher {
                EventMatcher {
                    reason: self.reason.clone(),
                    event_type: self.event_type.clone(),
                    container: self.container.clone(),
                    message: self.message.clone(),
                }
            }
        }
    )*};
}

impl_matcher!(
    EventExpectation,
    NeverExpectation,
    CountExpectation,
    EventRef
);

/// One item of the ordered event sequence.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventExpectation {
    /// The pod this is about (`pod = "web-0"`): optional with one pod, required with several.
    pub pod: Option<String>,

    /// Event reason.
    pub reason: Option<String>,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Involved container.
    pub container: Option<String>,
    /// Message: a string for an exact match, or `{ contains = "..." }`.
    pub message: Option<TextMatch>,
    /// Window of spec time since pod creation.
    pub at: Option<TimeWindow>,
    /// Window of spec time since the previous matched item.
    pub after_previous: Option<TimeWindow>,
}

/// An event that must not occur.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NeverExpectation {
    /// The pod this is about (`pod = "web-0"`): optional with one pod, required with several.
    pub pod: Option<String>,

    /// Event reason.
    pub reason: Option<String>,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Involved container.
    pub container: Option<String>,
    /// Message match.
    pub message: Option<TextMatch>,
    /// Only within this window of spec time (default: the whole run).
    pub within: Option<TimeWindow>,
}

/// How often an event occurs.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountExpectation {
    /// The pod this is about (`pod = "web-0"`): optional with one pod, required with several.
    pub pod: Option<String>,

    /// Event reason.
    pub reason: Option<String>,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Involved container.
    pub container: Option<String>,
    /// Message match.
    pub message: Option<TextMatch>,
    /// Only count within this window of spec time.
    pub within: Option<TimeWindow>,
    /// Exactly this many.
    pub exactly: Option<u32>,
    /// At least this many.
    pub at_least: Option<u32>,
    /// At most this many.
    pub at_most: Option<u32>,
}

/// One expected endpoint membership change.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointExpectation {
    /// The pod this is about (`pod = "web-0"`): optional with one pod, required with several.
    pub pod: Option<String>,

    /// The Service whose EndpointSlice is meant (`[services.NAME]`); without it, the pod's
    /// membership in "its Service's" ready endpoints, which follows its Ready condition.
    pub service: Option<String>,
    /// true: the pod joins the ready endpoints (traffic starts); false: it leaves them
    /// (with `service`: its endpoint turns not ready, or is removed from the slice).
    pub ready: bool,
    /// With `service`: the endpoint's `serving` condition.
    pub serving: Option<bool>,
    /// With `service`: the endpoint's `terminating` condition.
    pub terminating: Option<bool>,
    /// With `service`: false matches only the endpoint's removal from the slice, true only
    /// an endpoint present in it.
    pub present: Option<bool>,
    /// Window of spec time since pod creation.
    pub at: Option<TimeWindow>,
    /// Window of spec time since the previous endpoint change matched.
    pub after_previous: Option<TimeWindow>,
}

/// The pod's state at an instant (`at`), throughout a window (`during`) or at some instant
/// of a window (`within`); with `after_event` those times count from a matched event.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateExpectation {
    /// The pod this is about (`pod = "web-0"`): optional with one pod, required with several.
    pub pod: Option<String>,

    /// The instant (spec time since pod creation, or since `after_event`).
    pub at: Option<crate::spec::duration::SpecDuration>,
    /// Every status in effect during this window must match.
    pub during: Option<TimeWindow>,
    /// Some status in effect during this window must match.
    pub within: Option<TimeWindow>,
    /// Measure `at`/`during`/`within` from this event instead of pod creation.
    pub after_event: Option<EventRef>,
    /// Pod phase.
    pub phase: Option<String>,
    /// Pod status reason.
    pub reason: Option<String>,
    /// Whether the pod is a ready endpoint of its Service.
    pub endpoint: Option<bool>,
    /// Pod conditions by type.
    #[serde(default)]
    pub conditions: BTreeMap<String, ConditionMatch>,
    /// Per-container state by name.
    #[serde(default)]
    pub containers: BTreeMap<String, ContainerFinal>,
}

impl StateExpectation {
    /// The state fields, in the shape the final-state check takes.
    pub fn as_state(&self) -> FinalState {
        FinalState {
            pod: self.pod.clone(),
            phase: self.phase.clone(),
            reason: self.reason.clone(),
            endpoint: self.endpoint,
            conditions: self.conditions.clone(),
            containers: self.containers.clone(),
        }
    }
}

/// The event a state item's times count from: the `nth` (default first) matching one.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRef {
    /// Event reason.
    pub reason: Option<String>,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Involved container.
    pub container: Option<String>,
    /// Message match.
    pub message: Option<TextMatch>,
    /// Which matching event, counting from 1 (default 1).
    pub nth: Option<u32>,
}

/// A line a container's output must (or, with `absent`, must not) contain.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogExpectation {
    /// The pod this is about (`pod = "web-0"`): optional with one pod, required with several.
    pub pod: Option<String>,

    /// The container whose output is searched.
    pub container: String,
    /// A line containing this text.
    pub contains: Option<String>,
    /// A line matching this regular expression.
    pub regex: Option<Pattern>,
    /// Only the instance with this restart count (default: any instance).
    pub restart: Option<u32>,
    /// Only instances that ran during this window of spec time (logs carry no timestamps).
    pub within: Option<TimeWindow>,
    /// The line must not appear.
    #[serde(default)]
    pub absent: bool,
}

impl LogExpectation {
    /// The line match, if exactly one of `contains` and `regex` is set.
    pub fn pattern(&self) -> Option<TextMatch> {
        match (&self.contains, &self.regex) {
            (Some(c), None) => Some(TextMatch::Contains(c.clone())),
            (None, Some(r)) => Some(TextMatch::Regex(r.0.clone())),
            _ => None,
        }
    }
}

/// The expected state at the end of the run.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalState {
    /// The pod this is about (`pod = "web-0"`): optional with one pod, required with several.
    pub pod: Option<String>,

    /// Pod phase.
    pub phase: Option<String>,
    /// Pod status reason (e.g. DeadlineExceeded).
    pub reason: Option<String>,
    /// Whether the pod is a ready endpoint of its Service at the end.
    pub endpoint: Option<bool>,
    /// Pod conditions by type, e.g. `Ready = false` or `{ status = false, reason = ".." }`.
    #[serde(default)]
    pub conditions: BTreeMap<String, ConditionMatch>,
    /// Per-container state by container name.
    #[serde(default)]
    pub containers: BTreeMap<String, ContainerFinal>,
}

/// The expected final state of one container.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerFinal {
    /// `waiting`, `running` or `terminated`.
    pub state: Option<String>,
    /// Waiting or terminated reason.
    pub reason: Option<String>,
    /// Terminated exit code (an integer or a range).
    pub exit_code: Option<IntMatch>,
    /// Restart count (an integer or a range).
    pub restart_count: Option<IntMatch>,
    /// Ready flag.
    pub ready: Option<bool>,
    /// Started flag.
    pub started: Option<bool>,
    /// Termination message.
    pub message: Option<TextMatch>,
    /// Reason of lastState.terminated.
    pub last_reason: Option<String>,
    /// Exit code of lastState.terminated (an integer or a range).
    pub last_exit_code: Option<IntMatch>,
    /// Termination message of lastState.terminated (the instance before this one).
    pub last_message: Option<TextMatch>,
    /// The current state's startedAt lies in this window (spec time since pod creation).
    pub started_at: Option<TimeWindow>,
    /// The current state's finishedAt lies in this window (spec time since pod creation).
    pub finished_at: Option<TimeWindow>,
}
