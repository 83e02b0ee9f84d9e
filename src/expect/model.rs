//! The expectation language of a spec: what the observed timeline must show.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::spec::duration::TimeWindow;

/// Everything a spec expects of its run.
#[derive(Debug, Clone, Default, Deserialize)]
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
    /// The state when the run ends.
    #[serde(rename = "final")]
    pub final_state: Option<FinalState>,
}

impl Expectations {
    /// Whether the spec expects anything at all.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.never.is_empty()
            && self.counts.is_empty()
            && self.statuses.is_empty()
            && self.endpoints.is_empty()
            && self.final_state.is_none()
    }
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

impl_matcher!(EventExpectation, NeverExpectation, CountExpectation);

/// One item of the ordered event sequence.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventExpectation {
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeverExpectation {
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountExpectation {
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointExpectation {
    /// true: the pod joins the ready endpoints (traffic starts); false: it leaves them.
    pub ready: bool,
    /// Window of spec time since pod creation.
    pub at: Option<TimeWindow>,
    /// Window of spec time since the previous endpoint change matched.
    pub after_previous: Option<TimeWindow>,
}

/// The expected state at the end of the run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalState {
    /// Pod phase.
    pub phase: Option<String>,
    /// Pod status reason (e.g. DeadlineExceeded).
    pub reason: Option<String>,
    /// Whether the pod is a ready endpoint of its Service at the end.
    pub endpoint: Option<bool>,
    /// Pod conditions by type, e.g. `Ready = false`.
    #[serde(default)]
    pub conditions: BTreeMap<String, bool>,
    /// Per-container state by container name.
    #[serde(default)]
    pub containers: BTreeMap<String, ContainerFinal>,
}

/// The expected final state of one container.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerFinal {
    /// `waiting`, `running` or `terminated`.
    pub state: Option<String>,
    /// Waiting or terminated reason.
    pub reason: Option<String>,
    /// Terminated exit code.
    pub exit_code: Option<i32>,
    /// Restart count.
    pub restart_count: Option<u32>,
    /// Ready flag.
    pub ready: Option<bool>,
    /// Started flag.
    pub started: Option<bool>,
    /// Termination message.
    pub message: Option<TextMatch>,
    /// Reason of lastState.terminated.
    pub last_reason: Option<String>,
    /// Exit code of lastState.terminated.
    pub last_exit_code: Option<i32>,
}

/// A text match: exact, or a substring.
#[derive(Debug, Clone, PartialEq)]
pub enum TextMatch {
    /// The whole text.
    Exact(String),
    /// A substring.
    Contains(String),
}

impl TextMatch {
    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            TextMatch::Exact(s) => s == text,
            TextMatch::Contains(s) => text.contains(s.as_str()),
        }
    }
}

impl fmt::Display for TextMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextMatch::Exact(s) => write!(f, "= {s:?}"),
            TextMatch::Contains(s) => write!(f, "contains {s:?}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextMatchTable {
    exact: Option<String>,
    contains: Option<String>,
}

// A visitor rather than `untagged`, so the error says exactly which forms are accepted.
impl<'de> Deserialize<'de> for TextMatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TextMatch;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string (exact match) or a table { contains = \"...\" } / { exact = \"...\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TextMatch, E> {
                Ok(TextMatch::Exact(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<TextMatch, A::Error> {
                let t =
                    TextMatchTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                match (t.exact, t.contains) {
                    (Some(e), None) => Ok(TextMatch::Exact(e)),
                    (None, Some(c)) => Ok(TextMatch::Contains(c)),
                    _ => Err(serde::de::Error::custom(
                        "a message match needs exactly one of `exact` or `contains`",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}
