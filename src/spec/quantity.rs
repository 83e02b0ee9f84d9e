//! Kubernetes resource quantities (`resource.Quantity`): the forms `resources.limits.memory`
//! accepts, as bytes.

/// Parses a Kubernetes memory quantity ("64Mi", "1G", "128974848", "129e6", "1.5Gi", "500k")
/// into bytes; the error says what is wrong and what would be right.
///
/// Fractions of a byte round up, as Kubernetes' `Quantity.Value()` does.
pub fn parse_memory_quantity(s: &str) -> Result<u64, String> {
    const FORMS: &str = "write a number with an optional suffix: Ki Mi Gi Ti Pi Ei (powers of 1024), k M G T P E (powers of 1000), m (thousandths) or an exponent (129e6), e.g. 64Mi";
    let bad = |why: String| Err(format!("invalid memory quantity {s:?}: {why}"));
    if s.trim() != s {
        return bad(format!("remove the surrounding whitespace; {FORMS}"));
    }
    let rest = match s.as_bytes().first() {
        Some(b'-') => return bad("memory cannot be negative".into()),
        Some(b'+') => &s[1..],
        _ => s,
    };
    let (number, suffix) = rest.split_at(
        rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len()),
    );
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if frac.contains('.') {
        return bad("the number has more than one '.'".into());
    }
    if int.is_empty() && frac.is_empty() {
        return bad(format!("it does not start with a number; {FORMS}"));
    }
    let (pow2, exp10): (u32, i64) = match suffix {
        "" => (0, 0),
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            (10 + 10 * "KMGTPE".find(&suffix[..1]).unwrap_or(0) as u32, 0)
        }
        "k" | "M" | "G" | "T" | "P" | "E" => (0, 3 + 3 * "kMGTPE".find(suffix).unwrap_or(0) as i64),
        "m" | "u" | "n" => (0, -3 - 3 * "mun".find(suffix).unwrap_or(0) as i64),
        _ if suffix.starts_with(['e', 'E']) => match suffix[1..].parse::<i32>() {
            Ok(e) => (0, i64::from(e)),
            Err(_) => return bad(format!("{suffix:?} is not an exponent like e6 or E-3")),
        },
        _ if suffix.ends_with(['B', 'b']) => {
            return bad(format!(
                "Kubernetes quantities carry no byte unit: write 64Mi for 64 MiB and 64M for 64 MB, not {suffix:?}"
            ));
        }
        _ => {
            return bad(format!(
                "unknown suffix {suffix:?} (suffixes are case-sensitive); {FORMS}"
            ));
        }
    };
    let frac = frac.trim_end_matches('0');
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if digits.len() > 38 {
        return bad("too many significant digits (at most 38)".into());
    }
    let too_large = || bad("too large: Kubernetes accepts at most 2^63-1 (about 8Ei)".into());
    let Some(scaled) = digits
        .parse::<u128>()
        .ok()
        .and_then(|m| m.checked_mul(1 << pow2))
    else {
        return too_large();
    };
    let e10 = exp10 - frac.len() as i64;
    let pow10 = u32::try_from(e10.unsigned_abs())
        .ok()
        .and_then(|e| 10u128.checked_pow(e));
    let value = match (e10 >= 0, pow10) {
        (true, p) => p.and_then(|p| scaled.checked_mul(p)),
        (false, Some(d)) => Some(scaled.div_ceil(d)),
        // A divisor beyond u128 exceeds any mantissa: the value is a fraction of a byte.
        (false, None) => Some(1),
    };
    match value.and_then(|v| u64::try_from(v).ok()) {
        Some(v) if v <= i64::MAX as u64 => Ok(v),
        _ => too_large(),
    }
}

/// The API server's message for a string that is no quantity (`resource.ErrFormatWrong`).
pub const QUANTITY_FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// Parses any Kubernetes quantity, negative ones included, into billionths of its unit
/// (`"500m"` is 500_000_000, `"-1"` is -1_000_000_000): the finest scale a `Quantity` keeps,
/// so requests and limits compare exactly. Finer fractions round up, as the API server does.
pub fn parse_quantity_nanos(s: &str) -> Result<i128, &'static str> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (number, suffix) = rest.split_at(
        rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len()),
    );
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
        return Err(QUANTITY_FORMAT_ERROR);
    }
    let (pow2, exp10): (u32, i64) = match suffix {
        "" => (0, 0),
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            (10 + 10 * "KMGTPE".find(&suffix[..1]).unwrap_or(0) as u32, 0)
        }
        "k" | "M" | "G" | "T" | "P" | "E" => (0, 3 + 3 * "kMGTPE".find(suffix).unwrap_or(0) as i64),
        "m" | "u" | "n" => (0, -3 - 3 * "mun".find(suffix).unwrap_or(0) as i64),
        _ if suffix.starts_with(['e', 'E']) => match suffix[1..].parse::<i32>() {
            Ok(e) => (0, i64::from(e)),
            Err(_) => return Err(QUANTITY_FORMAT_ERROR),
        },
        _ => return Err(QUANTITY_FORMAT_ERROR),
    };
    let frac = frac.trim_end_matches('0');
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    const TOO_LARGE: &str = "quantity is too large: at most 2^63-1 (about 8Ei)";
    if digits.len() > 38 {
        return Err(TOO_LARGE);
    }
    let scaled = digits
        .parse::<u128>()
        .ok()
        .and_then(|m| m.checked_mul(1 << pow2))
        .ok_or(TOO_LARGE)?;
    // Nano units: nine more decimal places than the unit.
    let e10 = exp10 - frac.len() as i64 + 9;
    let pow10 = u32::try_from(e10.unsigned_abs())
        .ok()
        .and_then(|e| 10u128.checked_pow(e));
    let magnitude = match (e10 >= 0, pow10) {
        (true, p) => p.and_then(|p| scaled.checked_mul(p)),
        (false, Some(d)) => Some(scaled.div_ceil(d)),
        (false, None) => Some(1),
    };
    let max = i128::from(i64::MAX) * 1_000_000_000;
    match magnitude.and_then(|m| i128::try_from(m).ok()) {
        Some(m) if m <= max => Ok(if negative { -m } else { m }),
        _ => Err(TOO_LARGE),
    }
}

/// `s` as the API server prints a quantity (`Quantity.String()`): the form of its suffix kept
/// (binary, decimal SI or exponent), the value in the largest unit that keeps it whole:
/// `"0.5"` is `500m`, `"1024Mi"` is `1Gi`, `"2000"` is `2k`. None when `s` does not parse.
pub fn canonical_quantity(s: &str) -> Option<String> {
    let nanos = parse_quantity_nanos(s).ok()?;
    if nanos == 0 {
        return Some("0".to_owned());
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    let suffix = s
        .trim_start_matches(['+', '-'])
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let binary = suffix.ends_with('i');
    let exponent = suffix.starts_with(['e', 'E']);
    // Binary only for whole numbers of bytes of at least 1024 (else shown as decimal SI).
    if binary && abs % 1_000_000_000 == 0 && abs / 1_000_000_000 >= 1024 {
        let mut v = abs / 1_000_000_000;
        let mut unit = 0;
        while v % 1024 == 0 && unit < 6 {
            v /= 1024;
            unit += 1;
        }
        let name = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][unit];
        return Some(format!("{sign}{v}{name}"));
    }
    let (mut m, mut e) = (abs, -9i32);
    while m % 10 == 0 {
        m /= 10;
        e += 1;
    }
    while e.rem_euclid(3) != 0 || e > 18 {
        m = m.saturating_mul(10);
        e -= 1;
    }
    if exponent {
        return Some(if e == 0 {
            format!("{sign}{m}")
        } else {
            format!("{sign}{m}e{e}")
        });
    }
    let name = match e {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => "",
    };
    Some(format!("{sign}{m}{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_in_every_kubernetes_form() {
        let cases = "0=0 128974848=128974848 129e6=129000000 129E6=129000000 123Mi=128974848
            1Ki=1024 64Mi=67108864 1.5Gi=1610612736 1Ti=1099511627776 1Pi=1125899906842624
            1Ei=1152921504606846976 500k=500000 1M=1000000 1G=1000000000 2T=2000000000000
            1P=1000000000000000 1E=1000000000000000000 128974848000m=128974848 500m=1 1500m=2
            1n=1 3u=1 +1Ki=1024 .5Ki=512 1.=1 0.1=1 1e-3=1 12e-1=2 1e-2000=1 0e9999=0 007Mi=7340032
            1.500000000000000000000000000000000000000000Gi=1610612736
            9223372036854775807=9223372036854775807";
        for case in cases.split_whitespace() {
            let (s, want) = case.split_once('=').unwrap();
            assert_eq!(parse_memory_quantity(s), Ok(want.parse().unwrap()), "{s}");
        }
    }

    #[test]
    fn quantities_print_as_the_api_server_prints_them() {
        let cases = "0.5=500m 1=1 -1=-1 2=2 1000m=1 1.5=1500m 2000=2k 1.5M=1500k 100m=100m
            1024Mi=1Gi 1536Mi=1536Mi 1.5Gi=1536Mi 512Mi=512Mi 1Ki=1Ki 0.5Ki=512 64Mi=64Mi
            129e6=129e6 1e3=1e3 1E3=1e3 0=0 -0.5=-500m 1n=1n";
        for case in cases.split_whitespace() {
            let (s, want) = case.split_once('=').unwrap();
            assert_eq!(canonical_quantity(s).as_deref(), Some(want), "{s}");
        }
        assert_eq!(canonical_quantity("x"), None);
    }

    #[test]
    fn signed_quantities_in_nano_units() {
        let cases = "0=0 1=1000000000 -1=-1000000000 500m=500000000 -500m=-500000000 0.5=500000000
            1Ki=1024000000000 2e3=2000000000000 1n=1 1e-10=1 +2=2000000000 .5=500000000";
        for case in cases.split_whitespace() {
            let (s, want) = case.split_once('=').unwrap();
            assert_eq!(parse_quantity_nanos(s), Ok(want.parse().unwrap()), "{s}");
        }
        for bad in ["", "abc", "1.2.3", "1x", "64MB", "1e", "-", "9Ei"] {
            assert!(parse_quantity_nanos(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn junk_quantities_say_what_is_wrong() {
        let cases =
            "Mi>start with a number; abc>start with a number; -1Mi>negative; 64MB>no byte unit;
            64MiB>no byte unit; 64mi>case-sensitive; 64K>case-sensitive; 1.2.3>more than one;
            1e>exponent; 1ex>exponent; 1e99999999999>exponent; 1e5000>too large; 8Ei>too large;
            9223372036854775808>too large; 99999999999999999999999999999999999999>too large;
            999999999999999999999999999999999999999>digits; >start with a number; \t1>whitespace";
        for case in cases.split(';') {
            let (s, want) = case
                .trim_start_matches(['\n', ' '])
                .split_once('>')
                .unwrap();
            let err = parse_memory_quantity(s).unwrap_err();
            assert!(
                err.contains(want) && err.contains(&format!("{s:?}")),
                "{s:?}: {err}"
            );
        }
    }
}
