//! Go's `%q` quoting, which the kubelet's probe and hook messages use for names, paths and
//! output: the messages podcheck records must read exactly as the kubelet's.

/// Go's `%q` (strconv.Quote) of a string: `"` and `\` escaped, control characters as
/// `\n`, `\t`, `\x1b`, `\u0085`, printable Unicode kept.
pub(crate) fn go_quote(s: &str) -> String {
    go_quote_bytes(s.as_bytes())
}

/// Go's `%q` of arbitrary bytes (a `[]byte` converted to string): invalid UTF-8 as `\xNN`.
pub(crate) fn go_quote_bytes(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if (c as u32) < 0x20 || c == '\x7f' => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() || c == '\u{feff}' => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("a \"b\"\\"), r#""a \"b\"\\""#);
        assert_eq!(go_quote("x\ny\t\x1b"), r#""x\ny\t\x1b""#);
        assert_eq!(go_quote("é"), "\"é\"");
        assert_eq!(go_quote_bytes(b"\xff"), r#""\xff""#);
    }
}
