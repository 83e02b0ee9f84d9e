//! A CronJob's `schedule` and `timeZone` as the API server reads them: robfig/cron v3's
//! standard parser (`cron.ParseStandard`: five fields or a descriptor, with its exact
//! error messages), Go's `time.ParseDuration` for `@every`, and `validateTimeZone` with
//! Go's `time.LoadLocation` over the IANA database (jiff's bundled copy, so the answer does
//! not depend on the machine's zoneinfo).

/// One field of the schedule: its bounds and names.
struct Bounds {
    min: u64,
    max: u64,
    names: &'static [&'static str],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
// Month names count from 1 (jan), weekday names from 0 (sun).
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// Go's `strconv.Quote`, as the cron parser's errors quote a schedule.
use crate::prober::quote::go_quote as quote;

/// Go's `strconv.Atoi` on a 64-bit machine, with its error text.
fn atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            quote(s)
        ));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", quote(s)))
}

/// robfig's `mustParseInt`.
fn must_parse_int(expr: &str) -> Result<u64, String> {
    let n = atoi(expr).map_err(|e| format!("failed to parse int from {expr}: {e}"))?;
    u64::try_from(n).map_err(|_| format!("negative number ({n}) not allowed: {expr}"))
}

/// robfig's `parseIntOrName`: names are case-insensitive.
fn int_or_name(expr: &str, b: &Bounds) -> Result<u64, String> {
    let lower = expr.to_ascii_lowercase();
    if let Some(i) = b.names.iter().position(|n| *n == lower) {
        let first = if b.min == 1 { 1 } else { 0 };
        return Ok(i as u64 + first);
    }
    must_parse_int(expr)
}

/// robfig's `getRange`: `*`, `?`, `N`, `N-M`, each with an optional `/step`.
fn range(expr: &str, b: &Bounds) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_high.len() == 1;
    let (start, mut end) = if low_high[0] == "*" || low_high[0] == "?" {
        (b.min, b.max)
    } else {
        let start = int_or_name(low_high[0], b)?;
        match low_high.len() {
            1 => (start, start),
            2 => (start, int_or_name(low_high[1], b)?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = must_parse_int(range_and_step[1])?;
            // "N/step" means "N-max/step".
            if single {
                end = b.max;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

/// robfig's `getField`: comma-separated ranges (empty pieces are skipped, as
/// `strings.FieldsFunc` does).
fn field(f: &str, b: &Bounds) -> Result<(), String> {
    f.split(',')
        .filter(|r| !r.is_empty())
        .try_for_each(|r| range(r, b))
}

/// Go's `time.ParseDuration`, for `@every`: only whether it parses, with Go's errors.
pub fn go_duration(orig: &str) -> Result<(), String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let mut s = orig.strip_prefix(['+', '-']).unwrap_or(orig);
    if s == "0" {
        return Ok(());
    }
    if s.is_empty() {
        return Err(invalid());
    }
    // The total in nanoseconds, to catch overflow as Go does.
    let mut total: u128 = 0;
    while !s.is_empty() {
        if !s.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int, rest) = s.split_at(int_len);
        s = rest;
        if let Some(after) = s.strip_prefix('.') {
            // The fraction only matters for whether there are digits at all.
            let n = after.bytes().take_while(u8::is_ascii_digit).count();
            s = &after[n..];
            if int.is_empty() && n == 0 {
                return Err(invalid());
            }
        } else if int.is_empty() {
            return Err(invalid());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(orig)
                ));
            }
        };
        let whole: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| invalid())?
        };
        total = whole
            .checked_mul(nanos)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(invalid)?;
        if total > i64::MAX as u128 {
            return Err(invalid());
        }
    }
    Ok(())
}

/// `cron.ParseStandard`: Ok when the API server's parser accepts the schedule, else its
/// error text. `TZ=`/`CRON_TZ=` prefixes are parsed here; whether they are allowed is the
/// caller's rule.
pub fn parse_standard(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let eq = spec.find('=').unwrap_or(0);
        let end = spec.find(' ').unwrap_or(spec.len());
        let loc = spec.get(eq + 1..end).unwrap_or("");
        if let Err(e) = load_location(loc) {
            return Err(format!("provided bad location {loc}: {e}"));
        }
        spec = spec[end..].trim();
    }
    if spec.starts_with('@') {
        return match spec {
            "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight"
            | "@hourly" => Ok(()),
            _ => match spec.strip_prefix("@every ") {
                Some(d) => {
                    go_duration(d).map_err(|e| format!("failed to parse duration {spec}: {e}"))
                }
                None => Err(format!("unrecognized descriptor: {spec}")),
            },
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    for (f, b) in fields.iter().zip([&MINUTES, &HOURS, &DOM, &MONTHS, &DOW]) {
        field(f, b)?;
    }
    Ok(())
}

/// Go's `time.LoadLocation` with the embedded IANA database: names are case-sensitive;
/// "" and "UTC" are UTC and "Local" the machine's zone.
pub fn load_location(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "UTC" || name == "Local" {
        return Ok(());
    }
    let known = jiff::tz::db().available().any(|n| n.as_str() == name);
    if known {
        Ok(())
    } else {
        Err(format!("unknown time zone {name}"))
    }
}

/// `validateTimeZone`'s messages for a set `timeZone`.
pub fn time_zone_errors(tz: &str) -> Vec<String> {
    if tz.is_empty() {
        return vec!["timeZone must be nil or non-empty string".into()];
    }
    // The IANA naming rules (no '.', '..', leading '-'; letters, digits, ".-_+", 1-14 long).
    let part_ok = |p: &str| {
        p != "."
            && p != ".."
            && !p.starts_with('-')
            && (1..=14).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
    };
    if !tz.split('/').all(part_ok) {
        return vec![format!("unknown time zone {tz}")];
    }
    let mut out = Vec::new();
    if tz.eq_ignore_ascii_case("Local") {
        out.push(
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
                .into(),
        );
    }
    if let Err(e) = load_location(tz) {
        out.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_schedules_parse() {
        for ok in [
            "* * * * *",
            "*/5 * * * *",
            "0 0 1 1 *",
            "0 9-17/2 * * MON-FRI",
            "30 3 * jan,Jul sun",
            "0 0 ? * ?",
            "5 4 * * 6",
            "1,,2 * * * *",
            "@hourly",
            "@yearly",
            "@annually",
            "@midnight",
            "@every 1h30m",
            "@every 1.5s",
            "TZ=Europe/Paris 0 0 * * *",
            "CRON_TZ=UTC @daily",
        ] {
            assert_eq!(parse_standard(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn bad_schedules_have_robfigs_messages() {
        // robfig/cron v3 parser_test.go and the apiserver's "error" case.
        let cases = [
            ("error", "expected exactly 5 fields, found 1: [error]"),
            ("* * * *", "expected exactly 4 fields, found 4: [* * * *]"),
            ("60 * * * *", "end of range (60) above maximum (59): 60"),
            ("* 24 * * *", "end of range (24) above maximum (23): 24"),
            ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
            ("* * * 13 *", "end of range (13) above maximum (12): 13"),
            ("* * * * 7", "end of range (7) above maximum (6): 7"),
            (
                "5-1 * * * *",
                "beginning of range (5) beyond end of range (1): 5-1",
            ),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            ("*/2/3 * * * *", "too many slashes: */2/3"),
            ("*/-1 * * * *", "negative number (-1) not allowed: -1"),
            (
                "a * * * *",
                "failed to parse int from a: strconv.Atoi: parsing \"a\": invalid syntax",
            ),
            (
                "* * * foo *",
                "failed to parse int from foo: strconv.Atoi: parsing \"foo\": invalid syntax",
            ),
            ("@weekly2", "unrecognized descriptor: @weekly2"),
            (
                "@every 1d",
                "failed to parse duration @every 1d: time: unknown unit \"d\" in duration \"1d\"",
            ),
            (
                "@every 5",
                "failed to parse duration @every 5: time: missing unit in duration \"5\"",
            ),
            (
                "@every x",
                "failed to parse duration @every x: time: invalid duration \"x\"",
            ),
            (
                "TZ=Mars/Olympus 0 0 * * *",
                "provided bad location Mars/Olympus: unknown time zone Mars/Olympus",
            ),
        ];
        for (spec, want) in cases {
            let want = want.replace("exactly 4 fields", "exactly 5 fields");
            assert_eq!(parse_standard(spec), Err(want), "{spec}");
        }
    }

    #[test]
    fn time_zones_as_validate_time_zone() {
        assert!(time_zone_errors("Europe/Berlin").is_empty());
        assert!(time_zone_errors("America/Argentina/Buenos_Aires").is_empty());
        assert!(time_zone_errors("UTC").is_empty());
        assert!(time_zone_errors("Etc/GMT+5").is_empty());
        assert_eq!(
            time_zone_errors(""),
            ["timeZone must be nil or non-empty string"]
        );
        assert_eq!(
            time_zone_errors("Local"),
            [
                "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
            ]
        );
        assert_eq!(time_zone_errors("local").len(), 2);
        assert_eq!(
            time_zone_errors("europe/berlin"),
            ["unknown time zone europe/berlin"]
        );
        assert_eq!(
            time_zone_errors("../etc/passwd"),
            ["unknown time zone ../etc/passwd"]
        );
        assert_eq!(
            time_zone_errors("Mars/Olympus"),
            ["unknown time zone Mars/Olympus"]
        );
    }
}
