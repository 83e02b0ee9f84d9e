//! YAML text → a located tree: every node keeps the byte range it came from, so later
//! stages (typed Kubernetes objects, validation) can point at the exact field.
//!
//! serde-saphyr has no DOM of its own; `Spanned` gives each node its location while the
//! parser's budgets bound what aliases and deep nesting can cost.

use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, FieldPath, PathSeg};

/// A YAML node with its byte range in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node is in the source (for a mapping or sequence: its first token).
    pub span: Range<usize>,
    /// The value.
    pub value: Value,
}

/// A YAML value, scalars already resolved by YAML 1.2's core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits i64.
    Int(i64),
    /// An integer above i64::MAX.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value under `key` when this is a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The string, when this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Sets the node at `path` below this one to null; false when there is no such node.
    pub fn set_null(&mut self, path: &FieldPath) -> bool {
        self.set_value(path, Value::Null)
    }

    /// Replaces the value of the node at `path` below this one; false when there is no such
    /// node or it already has that value.
    pub fn set_value(&mut self, path: &FieldPath, value: Value) -> bool {
        let mut node = self;
        for seg in &path.0 {
            let next = match (seg, &mut node.value) {
                (PathSeg::Key(k) | PathSeg::MapKey(k), Value::Map(entries)) => entries
                    .iter_mut()
                    .find(|(key, _)| key.as_str() == Some(k.as_str()))
                    .map(|(_, v)| v),
                (PathSeg::Index(i), Value::Seq(items)) => items.get_mut(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return false,
            }
        }
        if node.value == value {
            return false;
        }
        node.value = value;
        true
    }

    /// The node at `path` below this one.
    pub fn at(&self, path: &FieldPath) -> Option<&Node> {
        let mut node = self;
        for seg in &path.0 {
            node = match (seg, &node.value) {
                (PathSeg::Key(k) | PathSeg::MapKey(k), Value::Map(_)) => node.get(k)?,
                (PathSeg::Index(i), Value::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The span of the field at `path` below this node: the key for a mapping entry (that is
    /// where an editor should put the cursor), the item for a sequence index, or the nearest
    /// existing ancestor when the path goes further than the document.
    pub fn span_of(&self, path: &FieldPath) -> Range<usize> {
        let mut node = self;
        let mut best = self.span.clone();
        for seg in &path.0 {
            let next = match (seg, &node.value) {
                (PathSeg::Key(k) | PathSeg::MapKey(k), Value::Map(_)) => {
                    node.entry(k).map(|(key, v)| (key.span.clone(), v))
                }
                (PathSeg::Index(i), Value::Seq(items)) => {
                    items.get(*i).map(|v| (v.span.clone(), v))
                }
                _ => None,
            };
            match next {
                Some((span, v)) => {
                    best = span;
                    node = v;
                }
                None => break,
            }
        }
        best
    }

    /// A short description of the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::UInt(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Limits on one file's YAML, far above any real manifest and far below what would hurt.
fn budget() -> serde_saphyr::Budget {
    let mut b = serde_saphyr::Budget::default();
    b.max_documents = 2_000;
    b.max_nodes = 500_000;
    b.max_aliases = 10_000;
    b.max_anchors = 10_000;
    b.max_depth = 64;
    b
}

/// How one file's YAML is read: [`budget`], and scalars as kubectl resolves them.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: Some(budget()),
        // An alias bomb doubles at every level; bounding the replayed events stops it.
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 200_000,
            max_replay_stack_depth: 32,
            max_alias_expansions_per_anchor: 5_000,
        },
        // kubectl's strict decoding rejects duplicate keys; silently keeping one would run
        // a different pod than the cluster would refuse.
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::Error,
        // Scalars are resolved as kubectl's YAML 1.1 reader does: `0755` is octal (file
        // modes), and `yes`/`on` are booleans (serde-saphyr's default), so a manifest
        // means here what it means to the API server.
        legacy_octal_numbers: true,
        // The message is rendered by podcheck's own diagnostics, with the snippet.
        with_snippet: false,
    }
}

/// The stack the parser runs on. Each level of nesting costs it tens of KiB in a debug
/// build, so [`budget`]'s 64 levels would overflow a 2 MiB thread (the default for
/// spawned threads, test threads and tokio's workers) and abort the process; only
/// touched pages are used, so this is address space, not memory.
const PARSER_STACK: usize = 64 << 20;

/// Parses every document of a YAML stream; empty documents are dropped.
pub fn parse_documents(source: &str) -> Result<Vec<Node>, Diagnostic> {
    let parse = || {
        serde_saphyr::from_str_multiple_with_options::<Option<Node>, _>(source, options())
            .map_err(|e| yaml_error(source, &e))
    };
    let docs: Vec<Option<Node>> = std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("yaml".into())
            .stack_size(PARSER_STACK)
            .spawn_scoped(s, parse)
        {
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            // No thread to be had (a process limit): parse on this one.
            Err(_) => parse(),
        }
    })?;
    let docs: Vec<Node> = docs.into_iter().flatten().collect();
    match docs.iter().find_map(|d| tab_after_entry(source, d)) {
        Some(at) => {
            let mut d = Diagnostic::error(
                FieldPath::root(),
                "invalid YAML: found character that cannot start any token",
            );
            d.span = Some(at..at + 1);
            Err(d.with_help(
                "a tab follows the `-` of a list entry: kubectl's YAML parser (go-yaml, like libyaml) allows only spaces there and refuses the file; replace the tab with spaces",
            ))
        }
        None => Ok(docs),
    }
}

/// The byte offset of a tab between a block sequence entry's `-` and its item, which
/// serde-saphyr accepts but go-yaml does not: after `-` a simple key is allowed, and its
/// scanner then skips spaces only, so the tab cannot start a token. Flow sequences
/// (`[a,\tb]`) allow tabs there and are not matched: their items follow `[` or `,`.
fn tab_after_entry(source: &str, node: &Node) -> Option<usize> {
    // Bounded by the document: each node is visited once.
    match &node.value {
        Value::Seq(items) => items.iter().find_map(|item| {
            let before = source.get(..item.span.start)?;
            let gap = before.len() - before.trim_end_matches([' ', '\t']).len();
            let dash = before.len().checked_sub(gap + 1)?;
            let is_entry = before.as_bytes().get(dash) == Some(&b'-')
                && dash
                    .checked_sub(1)
                    .is_none_or(|i| matches!(before.as_bytes()[i], b' ' | b'\t' | b'\n'));
            let tab = before[dash + 1..].find('\t').map(|i| dash + 1 + i);
            match tab {
                Some(at) if is_entry => Some(at),
                _ => tab_after_entry(source, item),
            }
        }),
        Value::Map(entries) => entries
            .iter()
            .find_map(|(k, v)| tab_after_entry(source, k).or_else(|| tab_after_entry(source, v))),
        _ => None,
    }
}

/// A serde-saphyr error as a located diagnostic.
fn yaml_error(source: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let text = e.to_string();
    // The location is carried separately; the text's own " at line X column Y" repeats it.
    let message = match text.find(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text.clone(),
    };
    let lower = message.to_lowercase();
    let over_limit = lower.contains("budget") || lower.contains("limit");
    let title = match super::yaml_errors::limit_words(e, &budget()) {
        Some(words) => format!("the YAML goes beyond podcheck's limits: {words}"),
        None if over_limit => format!("the YAML goes beyond podcheck's limits: {message}"),
        None => format!("invalid YAML: {message}"),
    };
    let mut d = Diagnostic::error(FieldPath::root(), title);
    if let Some(loc) = e.location() {
        let start = byte_offset(source, loc);
        d.span = Some(start..next_char(source, start));
        if let Some(key) = duplicate_key(&message) {
            // kubectl's words (sigs.k8s.io/yaml): `mapping key "x" already defined at line N`.
            d.message = match first_definition(source, start, key) {
                Some(line) => {
                    format!("invalid YAML: mapping key {key:?} already defined at line {line}")
                }
                None => format!("invalid YAML: mapping key {key:?} already defined"),
            };
        }
    }
    if let Some((message, help)) = super::yaml_errors::non_finite_words(e) {
        d.message = message;
        return d.with_help(help);
    }
    // The duplicate-key message names serde-saphyr's `DuplicateKeyPolicy` and "stable"
    // options, which contain "tab" too.
    if lower.contains("tab") && !lower.contains("duplicate") {
        // The parser points at the scalar before the tab; the tab itself is what to fix.
        if let Some(at) = d
            .span
            .as_ref()
            .and_then(|s| super::yaml_errors::tab_near(source, s.start))
        {
            d.span = Some(at..at + 1);
        }
        return d.with_help(
            "YAML indents with spaces only: replace the tab with spaces (kubectl rejects it too)",
        );
    }
    let help = if over_limit || lower.contains("alias") {
        "the file exceeds podcheck's YAML limits (aliases, nesting depth, node count): expand or remove the aliases; real manifests stay far below these limits"
    } else if lower.contains("duplicate") {
        "remove one of the duplicate keys; kubectl rejects them too"
    } else {
        "fix the YAML syntax here (indentation, a missing `:` or an unclosed quote); `kubectl apply --dry-run=client -f FILE` reports the same file"
    };
    d.with_help(help)
}

/// The key of serde-saphyr's "duplicate mapping key: KEY, set DuplicateKeyPolicy …".
fn duplicate_key(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("duplicate mapping key: ")?;
    Some(
        rest.rsplit_once(", set DuplicateKeyPolicy")
            .map_or(rest, |(k, _)| k),
    )
}

/// The 1-based line where `key` was first defined in the block mapping whose repeated key
/// starts at byte `at`: the nearest line above with `key:` at the same column, before the
/// mapping ends (a line indented less that is not a `- ` item holding the mapping).
fn first_definition(source: &str, at: usize, key: &str) -> Option<usize> {
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    let col = source[line_start..at].chars().count();
    let before = &source[..line_start];
    let lines: Vec<&str> = before.lines().collect();
    for (i, line) in lines.iter().enumerate().rev() {
        let chars: Vec<char> = line.chars().collect();
        let rest: String = chars.iter().skip(col).collect();
        let head: String = chars.iter().take(col).collect();
        let is_key = rest
            .strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with(':'));
        let head_ok = head.trim().is_empty() || head.trim_end().ends_with('-');
        if is_key && head_ok && chars.len() > col {
            return Some(i + 1);
        }
        let indent = chars.iter().take_while(|c| **c == ' ').count();
        let blank = line.trim().is_empty() || line.trim_start().starts_with('#');
        if !blank && indent < col && !head_ok {
            return None;
        }
    }
    None
}

/// The byte offset of a location: the one serde-saphyr recorded, else from line and column.
fn byte_offset(source: &str, loc: serde_saphyr::Location) -> usize {
    if let Some(b) = loc
        .span()
        .byte_offset()
        .and_then(|b| usize::try_from(b).ok())
    {
        return b.min(source.len());
    }
    let (line, col) = (loc.line() as usize, loc.column() as usize);
    let mut offset = 0;
    for (i, l) in source.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return offset
                + l.char_indices()
                    .nth(col.saturating_sub(1))
                    .map_or(l.len(), |(b, _)| b);
        }
        offset += l.len();
    }
    source.len()
}

/// The offset just after the character at `at` (for a one-character caret).
fn next_char(source: &str, at: usize) -> usize {
    source
        .get(at..)
        .and_then(|s| s.chars().next())
        .map_or(at, |c| at + c.len_utf8())
}

/// The byte range of a spanned node, falling back to line/column for the start.
fn range_of(loc: serde_saphyr::Location) -> Range<usize> {
    let span = loc.span();
    let start = span
        .byte_offset()
        .and_then(|b| usize::try_from(b).ok())
        .unwrap_or(0);
    let len = span
        .byte_len()
        .and_then(|b| usize::try_from(b).ok())
        .unwrap_or(0);
    start..start + len.max(1)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            span: range_of(s.referenced),
            value: s.value,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::UInt(v), Value::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(|v| i64::try_from(v).map_or(Value::UInt(v), Value::Int))
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        // Keys are read as their text: JSON (and so the API) has only string keys, and a
        // plain `n:` or `on:` must stay that name, not turn into a boolean.
        while let Some(k) = map.next_key::<Spanned<String>>()? {
            let key = Node {
                span: range_of(k.referenced),
                value: Value::Str(k.value),
            };
            entries.push((key, map.next_value::<Node>()?));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_duplicate_key_names_the_line_of_the_first() {
        let src = "a: 1\nb:\n  - name: x\n    image: y\n    name: z\n";
        let d = parse_documents(src).expect_err("duplicate");
        assert_eq!(
            d.message,
            "invalid YAML: mapping key \"name\" already defined at line 3"
        );
        let src = "metadata:\n  name: p\n  labels: {}\n  name: q\n";
        let d = parse_documents(src).expect_err("duplicate");
        assert_eq!(
            d.message,
            "invalid YAML: mapping key \"name\" already defined at line 2"
        );
        assert_eq!(
            d.help.as_deref(),
            Some("remove one of the duplicate keys; kubectl rejects them too"),
            "no tab in the file, so no word of tabs"
        );
    }

    #[test]
    fn a_tab_after_a_list_entry_dash_is_refused_as_go_yaml_does() {
        // Refused by go-yaml and libyaml (the scanner skips only spaces after `-`).
        for (src, line_col) in [
            ("items:\n-\tname: app\n", (2, 2)),
            ("items:\n  - \tx\n", (2, 5)),
            ("a:\n  - - ok\n  - -\tb\n", (3, 6)),
        ] {
            let d = parse_documents(src).expect_err(src);
            assert_eq!(
                d.message, "invalid YAML: found character that cannot start any token",
                "{src:?}"
            );
            let at = d.span.expect("located").start;
            assert_eq!(crate::diag::line_col(src, at), line_col, "{src:?}");
        }
        // Tabs go-yaml accepts: inside flow sequences, quoted strings and block scalars.
        for src in [
            "a: [b,\tc]\n",
            "- \"-\tx\"\n",
            "- |\n  -\tcontent\n",
            "- 'a\tb'\n",
        ] {
            assert!(parse_documents(src).is_ok(), "{src:?}");
        }
    }

    #[test]
    fn set_null_clears_one_value() {
        let mut doc = parse_documents("a: {b: [1, 2]}\n").expect("yaml").remove(0);
        let path = FieldPath::root().key("a").key("b").index(1);
        assert!(doc.set_null(&path));
        assert_eq!(doc.at(&path).map(|n| &n.value), Some(&Value::Null));
        assert!(!doc.set_null(&path), "already null");
        assert!(!doc.set_null(&FieldPath::root().key("zz")));
    }

    use super::*;

    #[test]
    fn nodes_keep_their_spans() {
        let src = "a: 1\nb:\n  c: [x, \"y\"]\n";
        let docs = parse_documents(src).expect("parses");
        let root = &docs[0];
        let path = FieldPath::root().key("b").key("c");
        let span = root.span_of(&path);
        assert_eq!(&src[span], "c");
        let c = root.get("b").and_then(|b| b.get("c")).expect("c");
        let Value::Seq(items) = &c.value else {
            panic!("not a seq: {c:?}")
        };
        assert_eq!(&src[items[0].span.clone()], "x");
        assert_eq!(root.get("a").map(|a| &a.value), Some(&Value::Int(1)));
    }

    #[test]
    fn scalars_resolve_as_kubectl_reads_them() {
        let docs = parse_documents("mode: 0755\nready: yes\nn: 1_000\ns: 'yes'\n").expect("parses");
        let v = |k: &str| docs[0].get(k).map(|n| n.value.clone());
        assert_eq!(v("mode"), Some(Value::Int(0o755)));
        assert_eq!(v("ready"), Some(Value::Bool(true)));
        assert_eq!(v("n"), Some(Value::Int(1000)));
        assert_eq!(v("s"), Some(Value::Str("yes".into())));
    }

    #[test]
    fn merge_keys_and_numeric_keys() {
        let docs =
            parse_documents("base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n80: http\n").expect("parses");
        let x = docs[0].get("x").expect("x");
        assert_eq!(x.get("a").map(|n| &n.value), Some(&Value::Int(1)), "{x:?}");
        assert_eq!(docs[0].get("80").and_then(Node::as_str), Some("http"));
    }

    #[test]
    fn nesting_up_to_the_limit_parses_on_a_small_stack() {
        // Test threads have 2 MiB, where 60 levels used to overflow and abort the process.
        let deep = format!("a: {}1{}\n", "{a: ".repeat(62), "}".repeat(62));
        let docs = parse_documents(&deep).expect("within the limit");
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn multiple_documents_and_empty_ones() {
        let docs = parse_documents("a: 1\n---\n---\nb: 2\n").expect("parses");
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn malformed_yaml_is_located() {
        let src = "a: 1\nb: [1, 2\nc: 3\n";
        let d = parse_documents(src).expect_err("fails");
        assert!(d.message.starts_with("invalid YAML"), "{}", d.message);
        assert!(d.span.is_some());
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let d = parse_documents("a: 1\na: 2\n").expect_err("fails");
        assert_eq!(
            d.message,
            "invalid YAML: mapping key \"a\" already defined at line 1"
        );
    }

    #[test]
    fn an_alias_bomb_is_stopped() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        // Refused by the alias budget rather than expanded (10^12 nodes would never end);
        // no wall-clock bound, which a loaded machine would break.
        let d = parse_documents(&src).expect_err("must be refused");
        assert!(
            d.help.as_deref().is_some_and(|h| h.contains("limits")),
            "{d:?}"
        );
    }
}
