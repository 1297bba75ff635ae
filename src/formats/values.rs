//! Parsing single text fields into typed values, with reasons fit to show a user.

use crate::lake::schema::ColType;

/// A parsed field value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Null,
    /// Text; the field's bytes are taken from the record.
    Text,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01 UTC.
    Timestamp(i64),
}

/// How to read dates written with slashes, where `1/9/2019` could be January 9 or September 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DayOrder {
    /// Month first (`1/9/2019` is January 9), the US convention.
    #[default]
    MonthFirst,
    /// Day first (`28/05/2020`).
    DayFirst,
    /// Decide per file from the dates it holds (see `parse::detect_day_order`).
    Auto,
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 4 {
        return None;
    }
    let mut n = 0u32;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (b - b'0') as u32;
    }
    Some(n)
}

/// Days since the epoch for a civil date, `None` if the date does not exist.
pub fn days_from_civil(y: i32, m: u32, d: u32) -> Option<i32> {
    let date = chrono::NaiveDate::from_ymd_opt(y, m, d)?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Some((date - epoch).num_days() as i32)
}

/// Parses `YYYY-M-D` (zero padding optional, as in Clever's `2022-01-9`), `YYYY/M/D`, and the
/// slash forms `M/D/YYYY` or `D/M/YYYY` per `order`. A time part after `T` or a space is ignored.
pub fn parse_date(s: &[u8], order: DayOrder) -> Option<i32> {
    let s = match s.iter().position(|&b| b == b'T' || b == b' ') {
        Some(i) => &s[..i],
        None => s,
    };
    let sep = *s.iter().find(|b| **b == b'-' || **b == b'/')?;
    let mut parts = s.split(|&b| b == sep);
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    if a.len() == 4 {
        return days_from_civil(digits(a)? as i32, digits(b)?, digits(c)?);
    }
    if sep == b'/' && c.len() == 4 {
        let (x, y, year) = (digits(a)?, digits(b)?, digits(c)? as i32);
        return match order {
            DayOrder::MonthFirst | DayOrder::Auto => days_from_civil(year, x, y),
            DayOrder::DayFirst => days_from_civil(year, y, x),
        };
    }
    None
}

/// For a slash date `a/b/yyyy`, which orders it rules out: `Some(DayFirst)` when `a` > 12
/// (only day-first fits), `Some(MonthFirst)` when `b` > 12, `None` when both fit or neither.
pub fn slash_date_evidence(s: &[u8]) -> Option<DayOrder> {
    let s = match s.iter().position(|&b| b == b'T' || b == b' ') {
        Some(i) => &s[..i],
        None => s,
    };
    let mut parts = s.split(|&b| b == b'/');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if c.len() != 4 {
        return None;
    }
    let (a, b) = (digits(a)?, digits(b)?);
    match (a > 12, b > 12) {
        (true, false) => Some(DayOrder::DayFirst),
        (false, true) => Some(DayOrder::MonthFirst),
        _ => None,
    }
}

/// Parses an ISO-like timestamp (`2022-01-28 06:16:22`, `2022-01-28T06:16:22.123Z`,
/// with an optional offset) into microseconds since the epoch, UTC. A bare date is midnight.
pub fn parse_timestamp(s: &str, order: DayOrder) -> Option<i64> {
    let s = s.trim();
    iso_timestamp(s.as_bytes()).or_else(|| general_timestamp(s, order))
}

/// Two ASCII digits at `i` as a number.
fn two_digits(s: &[u8], i: usize) -> Option<u32> {
    let (a, b) = (*s.get(i)?, *s.get(i + 1)?);
    (a.is_ascii_digit() && b.is_ascii_digit())
        .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
}

/// The common ISO shapes, read without chrono's format machinery: a timestamp column is parsed
/// once per row (13.5 M times in a year of SIS attendance) and trying [`general_timestamp`]'s
/// formats one by one took a sixth of that ingest (perf, 2026-12-04). Reads `YYYY-MM-DD`, or it
/// followed by `T` or a space, `HH:MM`, optionally `:SS` and `.` with 1 to 9 digits, optionally
/// `Z`. Anything else (offsets, slash dates, one-digit fields, leap seconds) is `None` and goes
/// the general way, which reads these same shapes to the same instant (a unit test compares them).
fn iso_timestamp(s: &[u8]) -> Option<i64> {
    if s.len() < 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let days = i64::from(days_from_civil(
        digits(&s[..4])? as i32,
        two_digits(s, 5)?,
        two_digits(s, 8)?,
    )?);
    if s.len() == 10 {
        return Some(days * 86_400_000_000);
    }
    let rest = &s[10..];
    let rest = rest.strip_suffix(b"Z").unwrap_or(rest);
    if !matches!(rest.first(), Some(b'T' | b' ')) || rest.get(3) != Some(&b':') {
        return None;
    }
    let (h, m) = (two_digits(rest, 1)?, two_digits(rest, 4)?);
    let (mut sec, mut nanos) = (0, 0);
    let mut tail = &rest[6..];
    if let Some(t) = tail.strip_prefix(b":") {
        sec = two_digits(t, 0)?;
        tail = &t[2..];
        if let Some(f) = tail.strip_prefix(b".") {
            if f.is_empty() || f.len() > 9 || !f.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n = f.iter().fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'));
            nanos = n * 10u32.pow(9 - f.len() as u32);
            tail = &[];
        }
    }
    if !tail.is_empty() || h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let secs = days * 86_400 + i64::from(h * 3600 + m * 60 + sec);
    Some(secs * 1_000_000 + i64::from(nanos / 1000))
}

/// Every timestamp form edlake reads, tried one after another.
fn general_timestamp(s: &str, order: DayOrder) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
    ] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, fmt) {
            return Some(t.timestamp_micros());
        }
    }
    let trimmed = s.trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M",
    ] {
        let fmt = if order == DayOrder::DayFirst {
            std::borrow::Cow::Owned(fmt.replace("%m/%d", "%d/%m"))
        } else {
            std::borrow::Cow::Borrowed(fmt)
        };
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(trimmed, &fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    let days = parse_date(trimmed.as_bytes(), order)?;
    if trimmed.contains([' ', 'T']) {
        return None; // had a time part we could not read
    }
    Some(days as i64 * 86_400_000_000)
}

fn parse_int(s: &str) -> Option<i64> {
    if let Ok(v) = s.parse::<i64>() {
        return Some(v);
    }
    // Some exports write whole numbers as `3.0`.
    let (whole, frac) = s.split_once('.')?;
    if !frac.is_empty() && frac.bytes().all(|b| b == b'0') {
        whole.parse().ok()
    } else {
        None
    }
}

/// Why a field does not parse as its column's type. Its text follows the column name ("Date is
/// not a date") and never repeats the value, which might identify a student.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("is not valid UTF-8 text")]
    NotUtf8,
    #[error("is not {0}")]
    Not(&'static str),
    #[error("is out of range for a {0} column")]
    OutOfRange(&'static str),
}

/// Parses one field for a column of type `ty`. Empty text is null (as Spark reads CSV).
pub fn parse_field(raw: &[u8], ty: ColType, order: DayOrder) -> Result<Value, FieldError> {
    if ty == ColType::String {
        // Text needs no parsing; the caller already holds it as UTF-8.
        return Ok(if raw.trim_ascii().is_empty() {
            Value::Null
        } else {
            Value::Text
        });
    }
    let Ok(s) = std::str::from_utf8(raw) else {
        return Err(FieldError::NotUtf8);
    };
    let s = s.trim();
    if s.is_empty() {
        return Ok(Value::Null);
    }
    let bad = |what: &'static str| Err(FieldError::Not(what));
    match ty {
        ColType::String => Ok(Value::Text),
        ColType::Integer | ColType::Short | ColType::Long => {
            let Some(v) = parse_int(s) else {
                return bad("a whole number");
            };
            let (lo, hi) = match ty {
                ColType::Short => (i16::MIN as i64, i16::MAX as i64),
                ColType::Integer => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            if v < lo || v > hi {
                return Err(FieldError::OutOfRange(ty.name()));
            }
            Ok(Value::Int(v))
        }
        ColType::Double | ColType::Float => match s.parse::<f64>() {
            Ok(v) => Ok(Value::Float(v)),
            Err(_) => bad("a number"),
        },
        ColType::Boolean => {
            // Compared without lowercasing a copy: a flag column is read once per row.
            let is = |words: &[&str]| words.iter().any(|w| s.eq_ignore_ascii_case(w));
            if is(&["true", "t", "1", "yes", "y"]) {
                Ok(Value::Bool(true))
            } else if is(&["false", "f", "0", "no", "n"]) {
                Ok(Value::Bool(false))
            } else {
                bad("true or false")
            }
        }
        ColType::Date => match parse_date(s.as_bytes(), order) {
            Some(d) => Ok(Value::Date(d)),
            None => bad("a date (expected YYYY-MM-DD)"),
        },
        ColType::Timestamp => match parse_timestamp(s, order) {
            Some(t) => Ok(Value::Timestamp(t)),
            None => bad("a date and time (expected YYYY-MM-DD HH:MM:SS)"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_with_and_without_padding() {
        let d = |s: &str| parse_date(s.as_bytes(), DayOrder::MonthFirst);
        assert_eq!(d("2022-01-09"), d("2022-01-9"));
        assert_eq!(d("1970-01-02"), Some(1));
        assert_eq!(d("2022-02-30"), None);
        assert_eq!(d("2022-01-03T00:00:00"), d("2022-01-03"));
        assert_eq!(d("1/9/2019"), days_from_civil(2019, 1, 9));
        assert_eq!(
            parse_date(b"28/05/2020", DayOrder::DayFirst),
            days_from_civil(2020, 5, 28)
        );
        assert_eq!(d("28/05/2020"), None, "month 28 does not exist");
        assert_eq!(d("garbage"), None);
    }

    #[test]
    fn fields_by_type() {
        let p = |s: &str, t| parse_field(s.as_bytes(), t, DayOrder::MonthFirst);
        assert_eq!(p("", ColType::Integer), Ok(Value::Null));
        assert_eq!(p(" 7 ", ColType::Integer), Ok(Value::Int(7)));
        assert_eq!(p("3.0", ColType::Integer), Ok(Value::Int(3)));
        assert!(p("3.5", ColType::Integer).is_err());
        assert_eq!(
            p("70000", ColType::Short),
            Err(FieldError::OutOfRange("short"))
        );
        assert_eq!(
            p("70000", ColType::Short).unwrap_err().to_string(),
            "is out of range for a short column"
        );
        assert_eq!(p("False", ColType::Boolean), Ok(Value::Bool(false)));
        assert!(p("maybe", ColType::Boolean).is_err());
        assert_eq!(
            p("1970-01-01 00:00:01", ColType::Timestamp),
            Ok(Value::Timestamp(1_000_000))
        );
        assert_eq!(
            p("1970-01-01T00:00:01Z", ColType::Timestamp),
            Ok(Value::Timestamp(1_000_000))
        );
        assert_eq!(p("YES", ColType::Boolean), Ok(Value::Bool(true)));
        assert_eq!(p("N", ColType::Boolean), Ok(Value::Bool(false)));
        assert!(p("yess", ColType::Boolean).is_err());
    }

    #[test]
    fn iso_shortcut_reads_what_the_general_path_reads() {
        let mut cases: Vec<String> = [
            "2025-08-25",
            "1969-12-31T23:59:59.999999Z",
            "1900-02-28 00:00",
            "2024-02-29T12:34:56.1",
            "2024-02-29T12:34:56.123456789",
            "2024-02-29T12:34:56.1234567",
            "2022-01-28 06:16:22",
            "2022-01-28T06:16Z",
            "2022-01-28 06:16:22Z",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2025, 12, 31), (1955, 7, 4)] {
            for (h, mi, s) in [(0, 0, 0), (23, 59, 59), (9, 5, 7)] {
                cases.push(format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"));
                cases.push(format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.250"));
            }
        }
        for c in &cases {
            let fast = iso_timestamp(c.as_bytes());
            assert!(fast.is_some(), "{c} takes the shortcut");
            assert_eq!(fast, general_timestamp(c, DayOrder::MonthFirst), "{c}");
        }
        // Shapes the shortcut leaves to the general path, which still reads or refuses them.
        for c in [
            "2022-01-28T06:16:22+02:00",
            "2022-1-28",
            "2022-01-28T6:16",
            "2022-01-28T06:16:60",
            "2022-01-28T24:00",
            "2022-01-28T06:16:22.",
            "2022-01-28T06:16:22.1234567891",
            "2022-02-30",
            "2022-01-28X",
            "2022-01-28Z",
            "01/28/2022 06:16",
        ] {
            assert_eq!(iso_timestamp(c.as_bytes()), None, "{c}");
        }
        assert_eq!(
            parse_timestamp("2022-01-28T06:16:22+02:00", DayOrder::MonthFirst),
            parse_timestamp("2022-01-28T04:16:22Z", DayOrder::MonthFirst)
        );
        assert_eq!(parse_timestamp("2022-02-30", DayOrder::MonthFirst), None);
    }
}
