//! A serde `Deserializer` over the located YAML tree, so the k8s-openapi types can be read
//! with every error pointing at its node, and every key recorded with the struct it was
//! found in (k8s-openapi names its field list in `deserialize_struct`, which is how a key
//! it does not know is told apart from one podcheck does not emulate).

use std::cell::RefCell;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::yaml::{Node, Value};
use crate::diag::FieldPath;

/// A key found in a Kubernetes struct.
#[derive(Debug, Clone)]
pub struct SeenKey {
    /// The Go type name the key belongs to, e.g. `Container`.
    pub struct_name: &'static str,
    /// The key.
    pub key: String,
    /// The path of the key's value.
    pub path: FieldPath,
    /// The key's span.
    pub span: Range<usize>,
    /// Whether the struct has such a field; when not, the valid names.
    pub unknown: Option<&'static [&'static str]>,
}

/// Every key met while reading one object.
#[derive(Debug, Default)]
pub struct Keys(pub RefCell<Vec<SeenKey>>);

/// A deserialization error with the node it is about.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DeError {
    /// What is wrong.
    pub message: String,
    /// Where, once known (filled in by the innermost node that saw the error).
    pub span: Option<Range<usize>>,
    /// The field.
    pub path: FieldPath,
}

/// serde names the Rust type a field wants (`expected i32`); the Kubernetes API's types
/// and their ranges say what would be right.
fn api_types(message: String) -> String {
    const TYPES: [(&str, &str); 2] = [
        (
            "expected i32",
            "expected an int32 (a whole number from -2147483648 to 2147483647)",
        ),
        (
            "expected i64",
            "expected an int64 (a whole number from -9223372036854775808 to 9223372036854775807)",
        ),
    ];
    // serde's name for a YAML null.
    let message = message.replace("invalid type: unit value", "invalid type: null");
    for (rust, api) in TYPES {
        if let Some(head) = message.strip_suffix(rust) {
            return format!("{head}{api}");
        }
    }
    message
}

impl de::Error for DeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        DeError {
            message: api_types(msg.to_string()),
            span: None,
            path: FieldPath::root(),
        }
    }
}

/// Reads `T` from `node`, recording keys in `keys`; `path` is the node's own path.
pub fn from_node<T: de::DeserializeOwned>(
    node: &Node,
    path: FieldPath,
    keys: &Keys,
) -> Result<T, DeError> {
    T::deserialize(NodeDe { node, path, keys })
}

/// Whether `f` is a whole number that fits an i64, as Go's JSON encoding of a YAML float
/// writes it without a fraction or exponent.
fn is_whole(f: f64) -> bool {
    // 2^63 is exactly representable; every f64 below it with no fraction fits an i64.
    f.is_finite() && f.fract() == 0.0 && f.abs() < 9_223_372_036_854_775_808.0
}

/// Deserializer over one node.
struct NodeDe<'a> {
    node: &'a Node,
    path: FieldPath,
    keys: &'a Keys,
}

impl NodeDe<'_> {
    /// Attaches this node's location to an error that has none yet.
    fn locate(&self, mut e: DeError) -> DeError {
        if e.span.is_none() {
            e.span = Some(self.node.span.clone());
            e.path = self.path.clone();
        }
        e
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::UInt(u) => visitor.visit_u64(*u),
            // kubectl turns YAML into JSON first, and JSON has one kind of number: a float
            // with no fraction (`1e3`, `8080.0`) is written as `1000`, `8080` and then
            // fills an integer field (or an IntOrString) like any integer.
            Value::Float(f) if is_whole(*f) => visitor.visit_i64(*f as i64),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter().enumerate(),
                path: &self.path,
                keys: self.keys,
            }),
            Value::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
                path: &self.path,
                keys: self.keys,
                struct_name: None,
            }),
        };
        r.map_err(|e| self.locate(e))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.value == Value::Null {
            return visitor.visit_none().map_err(|e| self.locate(e));
        }
        let span = self.node.span.clone();
        let path = self.path.clone();
        visitor.visit_some(self).map_err(|mut e| {
            if e.span.is_none() {
                e.span = Some(span);
                e.path = path;
            }
            e
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let Value::Map(entries) = &self.node.value else {
            return self.deserialize_any(visitor);
        };
        let r = visitor.visit_map(MapDe {
            entries: entries.iter(),
            value: None,
            path: &self.path,
            keys: self.keys,
            struct_name: Some((name, fields)),
        });
        r.map_err(|e| self.locate(e))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let span = self.node.span.clone();
        let path = self.path.clone();
        visitor.visit_newtype_struct(self).map_err(|mut e| {
            if e.span.is_none() {
                e.span = Some(span);
                e.path = path;
            }
            e
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        // Only unit variants spelled as strings occur in the Kubernetes types.
        match &self.node.value {
            Value::Str(s) => {
                let d: de::value::StrDeserializer<'_, DeError> = s.as_str().into_deserializer();
                visitor.visit_enum(d).map_err(|e| self.locate(e))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Go's JSON decoding leaves a string it finds null empty: `args: [a, null]` is
        // `["a", ""]` to the API server (an optional string field is unset by null, which
        // `deserialize_option` does first).
        if self.node.value == Value::Null {
            return visitor.visit_str("").map_err(|e| self.locate(e));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Unknown keys are reported by the map they are in; their values are not walked.
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier
    }
}

/// Sequence access with each item's path.
struct SeqDe<'a, I> {
    items: I,
    path: &'a FieldPath,
    keys: &'a Keys,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Node)>> SeqAccess<'de> for SeqDe<'a, I> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => seed
                .deserialize(NodeDe {
                    node,
                    path: self.path.index(i),
                    keys: self.keys,
                })
                .map(Some),
        }
    }
}

/// Mapping access that records every key of a Kubernetes struct.
struct MapDe<'a, I> {
    entries: I,
    value: Option<(&'a Node, FieldPath)>,
    path: &'a FieldPath,
    keys: &'a Keys,
    struct_name: Option<(&'static str, &'static [&'static str])>,
}

impl<'de, 'a, I: Iterator<Item = &'a (Node, Node)>> MapAccess<'de> for MapDe<'a, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((k, v)) = self.entries.next() else {
            return Ok(None);
        };
        let key_text = match &k.value {
            Value::Str(s) => s.clone(),
            other => format!("{other:?}"),
        };
        let path = self.path.key(&key_text);
        if let Some((name, fields)) = self.struct_name {
            let known = fields.contains(&key_text.as_str());
            self.keys.0.borrow_mut().push(SeenKey {
                struct_name: name,
                key: key_text,
                path: path.clone(),
                span: k.span.clone(),
                unknown: (!known).then_some(fields),
            });
        }
        self.value = Some((v, path.clone()));
        seed.deserialize(NodeDe {
            node: k,
            path,
            keys: self.keys,
        })
        .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((node, path)) = self.value.take() else {
            return Err(de::Error::custom("a value was asked for before its key"));
        };
        seed.deserialize(NodeDe {
            node,
            path,
            keys: self.keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::yaml::parse_documents;
    use k8s_openapi::api::core::v1::Container;

    fn read(src: &str) -> (Result<Container, DeError>, Vec<SeenKey>) {
        let docs = parse_documents(src).expect("yaml");
        let keys = Keys::default();
        let c = from_node::<Container>(&docs[0], FieldPath::root(), &keys);
        (c, keys.0.into_inner())
    }

    #[test]
    fn reads_a_container_and_records_its_keys() {
        let src = "name: app\nimage: nginx\nports:\n- containerPort: 80\n  name: http\nlivenessProbe:\n  httpGet: {port: http}\n  periodSecond: 3\n";
        let (c, keys) = read(src);
        let c = c.expect("reads");
        assert_eq!(c.name, "app");
        let probe = c.liveness_probe.expect("probe");
        assert!(probe.http_get.is_some());
        let unknown: Vec<_> = keys.iter().filter(|k| k.unknown.is_some()).collect();
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].key, "periodSecond");
        assert_eq!(unknown[0].struct_name, "Probe");
        assert_eq!(unknown[0].path.to_string(), "livenessProbe.periodSecond");
        assert_eq!(&src[unknown[0].span.clone()], "periodSecond");
    }

    #[test]
    fn a_whole_float_fills_an_integer_as_after_kubectls_json_step() {
        use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
        let src = "name: app\nports:\n- containerPort: 8.08e3\nlivenessProbe:\n  httpGet: {port: 8080.0}\n  periodSeconds: 1e1\n";
        let c = read(src).0.expect("whole floats are integers");
        assert_eq!(c.ports.expect("ports")[0].container_port, 8080);
        let probe = c.liveness_probe.expect("probe");
        assert_eq!(probe.period_seconds, Some(10));
        assert_eq!(
            probe.http_get.expect("httpGet").port,
            IntOrString::Int(8080)
        );
        // A fraction, or a whole number beyond every integer, still is not one.
        for bad in ["1.5", "1e20", "-0.25"] {
            let src = format!("name: app\nports:\n- containerPort: {bad}\n");
            let e = read(&src).0.expect_err(bad);
            assert_eq!(e.path.to_string(), "ports[0].containerPort", "{bad}");
        }
    }

    #[test]
    fn a_type_error_points_at_the_value() {
        let src = "name: app\nports:\n- containerPort: eighty\n";
        let (c, _) = read(src);
        let e = c.expect_err("fails");
        assert_eq!(e.path.to_string(), "ports[0].containerPort");
        assert_eq!(&src[e.span.clone().expect("span")], "eighty");
        assert!(
            e.message
                .ends_with("expected an int32 (a whole number from -2147483648 to 2147483647)"),
            "{}",
            e.message
        );
    }
}
