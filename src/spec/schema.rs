//! The JSON Schema of the spec format, generated from the model's types (schemars reads the
//! same serde attributes the loader uses), for TOML editors (taplo, Even Better TOML).
//! The types with hand-written deserializers get their schemas here, next to each other,
//! saying the same forms their visitors accept.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::duration::{SpecDuration, TimeWindow};
use super::model::{IntOrString, SpecFile};
use crate::clock::TimeScale;
use crate::expect::model::{ConditionMatch, IntMatch, Pattern, TextMatch};

/// Where the schema is shipped, relative to the repository root.
pub const SCHEMA_PATH: &str = "schema/podcheck-spec.schema.json";

/// The schema of a spec file, as pretty JSON with a final newline.
pub fn spec_schema_json() -> String {
    // Draft 7: the newest draft taplo's validator reads fully.
    let schema = schemars::generate::SchemaSettings::draft07()
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<SpecFile>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

const DURATION: &str =
    "a duration with a unit, such as \"10s\", \"500ms\" or \"1m30s\" (\"0\" is zero)";

impl JsonSchema for SpecDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": DURATION,
            "examples": ["10s", "500ms", "1m30s"]
        })
    }
}

impl JsonSchema for TimeWindow {
    fn schema_name() -> Cow<'static, str> {
        "TimeWindow".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "\\.\\.",
            "description": "a window of spec time, \"FROM..TO\" with either side left out, inclusive",
            "examples": ["5s..8s", "..8s", "5s.."]
        })
    }
}

impl JsonSchema for TimeScale {
    fn schema_name() -> Cow<'static, str> {
        "TimeScale".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "real seconds per spec second (0.1 runs ten times faster), or \"auto\"",
            "anyOf": [
                {"type": "number", "minimum": crate::clock::MIN_SCALE, "maximum": crate::clock::MAX_SCALE},
                {"const": "auto"}
            ]
        })
    }
}

impl JsonSchema for IntOrString {
    fn schema_name() -> Cow<'static, str> {
        "IntOrString".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "a port number (1-65535) or the name of a container port",
            "anyOf": [{"type": "integer"}, {"type": "string"}]
        })
    }
}

impl JsonSchema for IntMatch {
    fn schema_name() -> Cow<'static, str> {
        "IntMatch".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "an integer (exact) or a range such as { at_least = 1, at_most = 3 }",
            "anyOf": [
                {"type": "integer"},
                {
                    "type": "object",
                    "properties": {
                        "exactly": {"type": "integer"},
                        "at_least": {"type": "integer"},
                        "at_most": {"type": "integer"}
                    },
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl JsonSchema for Pattern {
    fn schema_name() -> Cow<'static, str> {
        "Regex".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "a regular expression (Rust regex syntax)"
        })
    }
}

impl JsonSchema for TextMatch {
    fn schema_name() -> Cow<'static, str> {
        "TextMatch".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let one = |key: &str, what: &str| {
            serde_json::json!({
                "type": "object",
                "properties": {key: {"type": "string", "description": what}},
                "required": [key],
                "additionalProperties": false
            })
        };
        json_schema!({
            "description": "a string (exact match) or one of { exact = \"...\" }, { contains = \"...\" }, { regex = \"...\" }",
            "anyOf": [
                {"type": "string"},
                one("exact", "the whole text"),
                one("contains", "a part of the text"),
                one("regex", "a regular expression the text matches (Rust regex syntax)")
            ]
        })
    }
}

impl JsonSchema for ConditionMatch {
    fn schema_name() -> Cow<'static, str> {
        "ConditionMatch".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let status =
            serde_json::json!({"anyOf": [{"type": "boolean"}, {"enum": ["True", "False"]}]});
        let message = generator.subschema_for::<TextMatch>();
        json_schema!({
            "description": "true, false, \"True\", \"False\", or { status = false, reason = \"...\", message = \"...\", lastTransitionTime = \"A..B\" }",
            "anyOf": [
                {"type": "boolean"},
                {"enum": ["True", "False"]},
                {
                    "type": "object",
                    "properties": {
                        "status": status,
                        "reason": {"type": "string"},
                        "message": message,
                        "lastTransitionTime": {"type": "string", "description": "a window of spec time since pod creation, \"A..B\""}
                    },
                    "additionalProperties": false
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_names_the_spec_tables() {
        let text = super::spec_schema_json();
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        let props = &v["properties"];
        for key in ["name", "run", "images", "pod", "manifest", "expect"] {
            assert!(props.get(key).is_some(), "{key} missing");
        }
    }
}
