//! Value matchers of the state expectations: integer ranges and pod conditions.

use std::fmt;

use serde::Deserialize;

/// An integer field's expected value: a plain integer is exact, a table is a range
/// (`{ at_least = 1 }`, `{ at_most = 3 }`, both, or `{ exactly = 2 }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntMatch {
    /// Exactly this value.
    pub exactly: Option<i64>,
    /// At least this value.
    pub at_least: Option<i64>,
    /// At most this value.
    pub at_most: Option<i64>,
}

impl IntMatch {
    /// An exact match.
    pub fn exact(v: i64) -> Self {
        IntMatch {
            exactly: Some(v),
            ..IntMatch::default()
        }
    }

    /// Whether `v` matches every bound that is set.
    pub fn matches(&self, v: i64) -> bool {
        self.exactly.is_none_or(|e| v == e)
            && self.at_least.is_none_or(|lo| v >= lo)
            && self.at_most.is_none_or(|hi| v <= hi)
    }

    /// The smallest bound set, for the checks that reject negative values.
    pub fn lowest(&self) -> Option<i64> {
        [self.exactly, self.at_least, self.at_most]
            .into_iter()
            .flatten()
            .min()
    }
}

impl fmt::Display for IntMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(e) = self.exactly {
            parts.push(e.to_string());
        }
        if let Some(lo) = self.at_least {
            parts.push(format!("at least {lo}"));
        }
        if let Some(hi) = self.at_most {
            parts.push(format!("at most {hi}"));
        }
        if parts.is_empty() {
            return f.write_str("any value");
        }
        f.write_str(&parts.join(" and "))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntMatchTable {
    exactly: Option<i64>,
    at_least: Option<i64>,
    at_most: Option<i64>,
}

// A visitor rather than `untagged`, so the error names the accepted forms and serde keeps
// the span of the offending value.
impl<'de> Deserialize<'de> for IntMatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = IntMatch;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer (exact) or a range such as { at_least = 1 } or { at_least = 1, at_most = 3 }")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IntMatch, E> {
                Ok(IntMatch::exact(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IntMatch, E> {
                i64::try_from(v)
                    .map(IntMatch::exact)
                    .map_err(|_| E::custom(format!("{v} is too large")))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<IntMatch, A::Error> {
                let t =
                    IntMatchTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(IntMatch {
                    exactly: t.exactly,
                    at_least: t.at_least,
                    at_most: t.at_most,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A condition status as a spec writes it: `true`/`false` or the API's `"True"`/`"False"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionStatus(pub bool);

impl<'de> Deserialize<'de> for ConditionStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ConditionStatus;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false, \"True\" or \"False\"")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ConditionStatus, E> {
                Ok(ConditionStatus(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConditionStatus, E> {
                match v {
                    "True" => Ok(ConditionStatus(true)),
                    "False" => Ok(ConditionStatus(false)),
                    // The kubelet never writes Unknown for the conditions it owns.
                    _ => Err(E::custom(format!(
                        "condition status {v:?} is not accepted: use true, false, \"True\" or \"False\""
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// What a spec expects of one pod condition: its status, and optionally reason and message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConditionMatch {
    /// True or False; None checks only reason and message.
    pub status: Option<bool>,
    /// The condition's reason (exact).
    pub reason: Option<String>,
    /// The condition's message.
    pub message: Option<TextMatch>,
    /// When the condition last changed status, a window of spec time since pod creation
    /// (the status manager keeps the time while the status stays the same).
    pub last_transition_time: Option<crate::spec::duration::TimeWindow>,
}

impl fmt::Display for ConditionMatch {
    /// `true` for a bare status, else `{ status = false, reason = "…", message … }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(s), None, None, None) = (
            self.status,
            &self.reason,
            &self.message,
            self.last_transition_time,
        ) {
            return write!(f, "{s}");
        }
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("status = {s}"));
        }
        if let Some(r) = &self.reason {
            parts.push(format!("reason = {r:?}"));
        }
        if let Some(m) = &self.message {
            parts.push(format!("message {m}"));
        }
        if let Some(w) = self.last_transition_time {
            parts.push(format!("lastTransitionTime within {w}"));
        }
        write!(f, "{{ {} }}", parts.join(", "))
    }
}

impl ConditionMatch {
    /// Just a status, as in `Ready = true`.
    pub fn status(v: bool) -> Self {
        ConditionMatch {
            status: Some(v),
            ..ConditionMatch::default()
        }
    }

    /// Whether the table sets nothing at all.
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.reason.is_none()
            && self.message.is_none()
            && self.last_transition_time.is_none()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionTable {
    status: Option<ConditionStatus>,
    reason: Option<String>,
    message: Option<TextMatch>,
    #[serde(rename = "lastTransitionTime")]
    last_transition_time: Option<crate::spec::duration::TimeWindow>,
}

impl<'de> Deserialize<'de> for ConditionMatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ConditionMatch;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false, \"True\", \"False\" or a table { status = false, reason = \"...\", message = \"...\" }")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ConditionMatch, E> {
                Ok(ConditionMatch::status(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConditionMatch, E> {
                ConditionStatus::deserialize(serde::de::value::StrDeserializer::<E>::new(v))
                    .map(|s| ConditionMatch::status(s.0))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ConditionMatch, A::Error> {
                let t =
                    ConditionTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(ConditionMatch {
                    status: t.status.map(|s| s.0),
                    reason: t.reason,
                    message: t.message,
                    last_transition_time: t.last_transition_time,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A regular expression written as a string (Rust `regex` syntax), compiled when the spec
/// is read so a bad pattern is reported with its place in the file.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex::Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        regex::Regex::new(&s)
            .map(Pattern)
            .map_err(|e| serde::de::Error::custom(format!("invalid regex {s:?}: {e}")))
    }
}

/// A text match: exact, a substring, or a regular expression.
#[derive(Debug, Clone)]
pub enum TextMatch {
    /// The whole text.
    Exact(String),
    /// A substring.
    Contains(String),
    /// A regular expression (Rust `regex` syntax), searched anywhere in the text.
    Regex(regex::Regex),
}

impl PartialEq for TextMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TextMatch::Exact(a), TextMatch::Exact(b))
            | (TextMatch::Contains(a), TextMatch::Contains(b)) => a == b,
            (TextMatch::Regex(a), TextMatch::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl TextMatch {
    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            TextMatch::Exact(s) => s == text,
            TextMatch::Contains(s) => text.contains(s.as_str()),
            TextMatch::Regex(r) => r.is_match(text),
        }
    }
}

impl fmt::Display for TextMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextMatch::Exact(s) => write!(f, "= {s:?}"),
            TextMatch::Contains(s) => write!(f, "contains {s:?}"),
            TextMatch::Regex(r) => write!(f, "matches /{}/", r.as_str()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextMatchTable {
    exact: Option<String>,
    contains: Option<String>,
    regex: Option<String>,
}

// A visitor rather than `untagged`, so the error says exactly which forms are accepted.
impl<'de> Deserialize<'de> for TextMatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TextMatch;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string (exact match) or a table { contains = \"...\" }, { exact = \"...\" } or { regex = \"...\" }")
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
                match (t.exact, t.contains, t.regex) {
                    (Some(e), None, None) => Ok(TextMatch::Exact(e)),
                    (None, Some(c), None) => Ok(TextMatch::Contains(c)),
                    (None, None, Some(r)) => regex::Regex::new(&r)
                        .map(TextMatch::Regex)
                        .map_err(|e| serde::de::Error::custom(format!("invalid regex {r:?}: {e}"))),
                    _ => Err(serde::de::Error::custom(
                        "a message match needs exactly one of `exact`, `contains` or `regex`",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        n: Option<IntMatch>,
        c: Option<ConditionMatch>,
    }

    fn parse(s: &str) -> Result<Doc, String> {
        toml::from_str(s).map_err(|e| e.to_string())
    }

    #[test]
    fn an_integer_is_exact_and_a_table_is_a_range() -> Result<(), String> {
        assert_eq!(parse("n = 2")?.n, Some(IntMatch::exact(2)));
        let r = parse("n = { at_least = 1, at_most = 3 }")?
            .n
            .ok_or("no n")?;
        assert!(!r.matches(0) && r.matches(1) && r.matches(3) && !r.matches(4));
        assert_eq!(r.to_string(), "at least 1 and at most 3");
        assert_eq!(r.lowest(), Some(1));
        let e = parse("n = { at_leest = 1 }")
            .err()
            .ok_or("accepted a typo")?;
        assert!(e.contains("unknown field `at_leest`"), "{e}");
        let e = parse("n = \"one\"").err().ok_or("accepted a string")?;
        assert!(e.contains("an integer (exact) or a range"), "{e}");
        Ok(())
    }

    #[test]
    fn conditions_take_bools_api_spellings_and_tables() -> Result<(), String> {
        assert_eq!(parse("c = true")?.c, Some(ConditionMatch::status(true)));
        assert_eq!(
            parse("c = \"False\"")?.c,
            Some(ConditionMatch::status(false))
        );
        let t = parse(
            "c = { status = \"False\", reason = \"ContainersNotReady\", message = { contains = \"[app]\" } }",
        )?
        .c
        .ok_or("no c")?;
        assert_eq!(t.status, Some(false));
        assert_eq!(t.reason.as_deref(), Some("ContainersNotReady"));
        assert_eq!(t.message, Some(TextMatch::Contains("[app]".into())));
        let e = parse("c = \"Unknown\"").err().ok_or("accepted Unknown")?;
        assert!(e.contains("use true, false, \"True\" or \"False\""), "{e}");
        let e = parse("c = { staus = true }")
            .err()
            .ok_or("accepted a typo")?;
        assert!(e.contains("unknown field `staus`"), "{e}");
        assert!(parse("c = {}")?.c.is_some_and(|c| c.is_empty()));
        Ok(())
    }
}
