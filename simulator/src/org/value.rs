//! Field values as stored, and their Salesforce wire formats.
//!
//! Values are kept compact (one machine word plus a tag) because an org may hold a million rows: dates are
//! days since the epoch, datetimes epoch milliseconds, times milliseconds since midnight.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use std::cmp::Ordering;

/// One stored field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(Box<str>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Milliseconds since the epoch, UTC.
    DateTime(i64),
    /// Milliseconds since midnight.
    Time(u32),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn str(s: impl Into<Box<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The REST JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Num(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::Date(d) => serde_json::Value::String(format_date(*d)),
            Value::DateTime(ms) => serde_json::Value::String(format_datetime(*ms)),
            Value::Time(ms) => serde_json::Value::String(format_time(*ms)),
        }
    }

    /// The CSV form used by Bulk API 2.0 results (empty for null).
    pub fn to_csv(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Num(n) => format_number(*n),
            Value::Str(s) => s.to_string(),
            Value::Date(d) => format_date(*d),
            Value::DateTime(ms) => format_datetime(*ms),
            Value::Time(ms) => format_time(*ms),
        }
    }

    /// Ordering used by SOQL ORDER BY and comparisons: numbers numerically, strings case-insensitively
    /// (Salesforce's default collation is case-insensitive), nulls handled by the caller.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Null, Null) => Some(Ordering::Equal),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Int(_) | Num(_), Int(_) | Num(_)) => self.as_f64()?.partial_cmp(&other.as_f64()?),
            (Str(a), Str(b)) => Some(cmp_ci(a, b)),
            (Date(a), Date(b)) => Some(a.cmp(b)),
            (DateTime(a), DateTime(b)) => Some(a.cmp(b)),
            (Date(a), DateTime(b)) => Some((*a as i64 * 86_400_000).cmp(b)),
            (DateTime(a), Date(b)) => Some(a.cmp(&(*b as i64 * 86_400_000))),
            (Time(a), Time(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Equality as SOQL `=` sees it (strings case-insensitive).
    pub fn soql_eq(&self, other: &Value) -> bool {
        self.compare(other) == Some(Ordering::Equal)
    }

    /// Approximate heap + inline size, for memory accounting in benchmarks.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            _ => 0,
        }
    }
}

fn cmp_ci(a: &str, b: &str) -> Ordering {
    let mut ai = a.chars().flat_map(char::to_lowercase);
    let mut bi = b.chars().flat_map(char::to_lowercase);
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(&y),
            _ => {}
        }
    }
}

/// Numbers in CSV: integral values without a fraction, others as shortest round-trip.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `2024-01-15`
pub fn format_date(days: i32) -> String {
    match Text::date(days) {
        Some(t) => t.as_str().to_string(),
        None => {
            let d = NaiveDate::from_num_days_from_ce_opt(days + EPOCH_CE_DAYS)
                .unwrap_or(NaiveDate::MIN);
            format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
        }
    }
}

/// `2024-01-15T10:30:00.000+0000` — Salesforce's REST datetime format (UTC, no colon in the offset).
pub fn format_datetime(ms: i64) -> String {
    if let Some(t) = Text::datetime(ms, b"+0000") {
        return t.as_str().to_string();
    }
    match Utc.timestamp_millis_opt(ms).single() {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
        None => String::new(),
    }
}

/// `2017-07-25T19:16:44.517Z` — the form streaming payloads use.
pub fn format_datetime_z(ms: i64) -> String {
    if let Some(t) = Text::datetime(ms, b"Z") {
        return t.as_str().to_string();
    }
    match Utc.timestamp_millis_opt(ms).single() {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => String::new(),
    }
}

/// `10:30:00.000Z`
pub fn format_time(ms: u32) -> String {
    match Text::time(ms) {
        Some(t) => t.as_str().to_string(),
        None => {
            let t =
                NaiveTime::from_num_seconds_from_midnight_opt(ms / 1000, (ms % 1000) * 1_000_000)
                    .unwrap_or(NaiveTime::MIN);
            format!(
                "{:02}:{:02}:{:02}.{:03}Z",
                t.hour(),
                t.minute(),
                t.second(),
                ms % 1000
            )
        }
    }
}

/// A date, datetime or time formatted on the stack. Rendering records formats several datetimes per
/// record, and chrono's `format` parses its pattern and allocates every time. Only years 0–9999 (and
/// times within a day) take this path; the rest go through chrono, so the output never differs.
pub struct Text {
    buf: [u8; 28],
    len: usize,
}

impl Text {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn digits(&mut self, v: u32, width: usize) {
        let mut v = v;
        for i in (0..width).rev() {
            self.buf[self.len + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        self.len += width;
    }

    /// `yyyy-MM-dd`, for years 0–9999.
    pub fn date(days: i32) -> Option<Text> {
        let (y, m, d) = civil_from_days(days as i64)?;
        let mut t = Text {
            buf: [0; 28],
            len: 0,
        };
        t.digits(y, 4);
        t.push(b"-");
        t.digits(m, 2);
        t.push(b"-");
        t.digits(d, 2);
        Some(t)
    }

    /// `yyyy-MM-ddTHH:mm:ss.SSS` and `zone` (at most 5 bytes), for years 0–9999.
    pub fn datetime(ms: i64, zone: &[u8]) -> Option<Text> {
        if zone.len() > 5 {
            return None;
        }
        let days = ms.div_euclid(86_400_000);
        let in_day = ms.rem_euclid(86_400_000) as u32;
        let mut t = Text::date(i32::try_from(days).ok()?)?;
        t.push(b"T");
        t.clock(in_day);
        t.push(zone);
        Some(t)
    }

    /// `HH:mm:ss.SSSZ`, for times within a day.
    pub fn time(ms: u32) -> Option<Text> {
        if ms >= 86_400_000 {
            return None;
        }
        let mut t = Text {
            buf: [0; 28],
            len: 0,
        };
        t.clock(ms);
        t.push(b"Z");
        Some(t)
    }

    fn clock(&mut self, ms: u32) {
        let secs = ms / 1000;
        self.digits(secs / 3600, 2);
        self.push(b":");
        self.digits(secs / 60 % 60, 2);
        self.push(b":");
        self.digits(secs % 60, 2);
        self.push(b".");
        self.digits(ms % 1000, 3);
    }
}

/// (year, month, day) of a day number counted from 1970-01-01, for years 0–9999 (Howard Hinnant's
/// `civil_from_days`, proleptic Gregorian as chrono's).
fn civil_from_days(days: i64) -> Option<(u32, u32, u32)> {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (0..=9999)
        .contains(&y)
        .then_some((y as u32, m as u32, d as u32))
}

/// Days from 0001-01-01 (CE day 1) to 1970-01-01.
pub const EPOCH_CE_DAYS: i32 = 719_163;

pub fn date_from_ymd(y: i32, m: u32, d: u32) -> Option<i32> {
    NaiveDate::from_ymd_opt(y, m, d).map(|d| d.num_days_from_ce() - EPOCH_CE_DAYS)
}

pub fn days_of_ms(ms: i64) -> i32 {
    ms.div_euclid(86_400_000) as i32
}

/// Parse `yyyy-MM-dd`.
pub fn parse_date(s: &str) -> Option<i32> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    Some(d.num_days_from_ce() - EPOCH_CE_DAYS)
}

/// Parse the datetime inputs Salesforce accepts: `yyyy-MM-ddTHH:mm:ss[.SSS](Z|±HH:mm|±HHmm)`, and a bare
/// date (midnight UTC) for leniency with CSV loads.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(dt.timestamp_millis());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    parse_date(s).map(|d| d as i64 * 86_400_000)
}

/// Parse `HH:mm:ss[.SSS][Z]`.
pub fn parse_time(s: &str) -> Option<u32> {
    let s = s.trim().trim_end_matches('Z');
    let t = NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()?;
    Some(t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000)
}

/// Serializes exactly as [`Value::to_json`] would render, without building a `serde_json::Value`.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Num(n) if n.is_finite() => s.serialize_f64(*n),
            Value::Num(_) => s.serialize_unit(),
            Value::Str(v) => s.serialize_str(v),
            Value::Date(d) => match Text::date(*d) {
                Some(t) => s.serialize_str(t.as_str()),
                None => s.serialize_str(&format_date(*d)),
            },
            Value::DateTime(ms) => match Text::datetime(*ms, b"+0000") {
                Some(t) => s.serialize_str(t.as_str()),
                None => s.serialize_str(&format_datetime(*ms)),
            },
            Value::Time(ms) => match Text::time(*ms) {
                Some(t) => s.serialize_str(t.as_str()),
                None => s.serialize_str(&format_time(*ms)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_salesforce() {
        let ms = parse_datetime("2024-01-15T10:30:00Z").unwrap();
        assert_eq!(format_datetime(ms), "2024-01-15T10:30:00.000+0000");
        assert_eq!(format_date(parse_date("2024-01-15").unwrap()), "2024-01-15");
        assert_eq!(
            format_time(parse_time("10:30:00.000Z").unwrap()),
            "10:30:00.000Z"
        );
        assert_eq!(
            parse_datetime("2024-01-15T12:30:00+02:00"),
            parse_datetime("2024-01-15T10:30:00.000+0000")
        );
    }

    /// The stack formatting agrees with chrono wherever it applies, and hands the rest to chrono.
    #[test]
    fn stack_formats_match_chrono() {
        let chrono_datetime = |ms: i64| {
            Utc.timestamp_millis_opt(ms)
                .single()
                .map(|dt| dt.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
                .unwrap_or_default()
        };
        let chrono_date = |days: i32| {
            let d = NaiveDate::from_num_days_from_ce_opt(days + EPOCH_CE_DAYS).unwrap();
            format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
        };
        let edges = [
            i64::MIN,
            -62_167_219_200_001, // the last millisecond of year -1
            -62_167_219_200_000, // 0000-01-01
            -1,
            0,
            951_782_400_000, // 2000-02-29
            1_705_314_600_123,
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            253_402_300_800_000, // 10000-01-01
            i64::MAX,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let random = (0..20_000).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 600_000_000_000_000) as i64 - 300_000_000_000_000
        });
        for ms in edges.into_iter().chain(random) {
            assert_eq!(format_datetime(ms), chrono_datetime(ms), "{ms}");
            let days = days_of_ms(ms);
            if NaiveDate::from_num_days_from_ce_opt(days.saturating_add(EPOCH_CE_DAYS)).is_some() {
                assert_eq!(format_date(days), chrono_date(days), "{days}");
            }
        }
        for ms in [0, 1, 999, 45_296_789, 86_399_999, 86_400_000, u32::MAX] {
            let t =
                NaiveTime::from_num_seconds_from_midnight_opt(ms / 1000, (ms % 1000) * 1_000_000)
                    .unwrap_or(NaiveTime::MIN);
            let expected = format!(
                "{:02}:{:02}:{:02}.{:03}Z",
                t.hour(),
                t.minute(),
                t.second(),
                ms % 1000
            );
            assert_eq!(format_time(ms), expected, "{ms}");
        }
    }

    #[test]
    fn strings_compare_case_insensitively() {
        assert!(Value::str("acme").soql_eq(&Value::str("ACME")));
        assert!(Value::Int(2).soql_eq(&Value::Num(2.0)));
    }
}
