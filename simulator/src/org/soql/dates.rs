//! Relative date literals (`TODAY`, `LAST_N_DAYS:7`, `NEXT_QUARTER`, …) and the time ranges they stand
//! for.
//!
//! A literal is resolved at execution time against the scenario clock (`ExecOptions::now_ms`), not
//! at compile time, because cursors and cached plans outlive the instant they were compiled. All
//! ranges are computed in UTC with weeks starting on Sunday (the en_US locale) and fiscal years equal
//! to calendar years (the default fiscal setup), and are half-open `[start, end)` in epoch
//! milliseconds.

use chrono::{Datelike, NaiveDate};

const DAY_MS: i64 = 86_400_000;

/// The calendar unit of a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

/// One relative date literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateLiteral {
    /// `YESTERDAY`, `LAST_WEEK`, `LAST_MONTH`, … (the previous whole unit).
    Last(Unit),
    /// `TODAY`, `THIS_WEEK`, … (the current whole unit).
    This(Unit),
    /// `TOMORROW`, `NEXT_WEEK`, … (the next whole unit).
    Next(Unit),
    /// `LAST_N_DAYS:n`, `LAST_N_WEEKS:n`, …
    LastN(Unit, u32),
    /// `NEXT_N_DAYS:n`, …
    NextN(Unit, u32),
    /// `N_DAYS_AGO:n`, …: the single whole unit n units back.
    Ago(Unit, u32),
}

/// Whether a literal name needs `:n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Fixed(DateLiteral),
    /// `LAST_N_…`, `NEXT_N_…` or `N_…_AGO`, completed by [`Arity::with`].
    WithN(NForm, Unit),
}

/// The three literal families that take `:n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NForm {
    Last,
    Next,
    Ago,
}

impl Arity {
    /// The literal for `:n` (fixed literals ignore `n`).
    pub fn with(self, n: u32) -> DateLiteral {
        match self {
            Arity::Fixed(d) => d,
            Arity::WithN(NForm::Last, u) => DateLiteral::LastN(u, n),
            Arity::WithN(NForm::Next, u) => DateLiteral::NextN(u, n),
            Arity::WithN(NForm::Ago, u) => DateLiteral::Ago(u, n),
        }
    }
}

/// Look a literal name up (case-insensitively).
pub fn lookup(name: &str) -> Option<Arity> {
    use DateLiteral::*;
    use Unit::*;
    let upper = name.to_ascii_uppercase();
    let fixed = |d| Some(Arity::Fixed(d));
    match upper.as_str() {
        "YESTERDAY" => return fixed(Last(Day)),
        "TODAY" => return fixed(This(Day)),
        "TOMORROW" => return fixed(Next(Day)),
        "LAST_90_DAYS" => return fixed(LastN(Day, 90)),
        "NEXT_90_DAYS" => return fixed(NextN(Day, 90)),
        _ => {}
    }
    // Singular unit names for LAST_/THIS_/NEXT_, plural ones for the `:n` forms.
    let unit_of = |s: &str, plural: bool| -> Option<Unit> {
        let (base, is_plural) = match s.strip_suffix('S') {
            Some(b) => (b, true),
            None => (s, false),
        };
        if is_plural != plural {
            return None;
        }
        Some(match base {
            "DAY" if plural => Day,
            "WEEK" => Week,
            "MONTH" => Month,
            "QUARTER" | "FISCAL_QUARTER" => Quarter,
            "YEAR" | "FISCAL_YEAR" => Year,
            _ => return None,
        })
    };
    if let Some(rest) = upper.strip_prefix("LAST_N_") {
        return unit_of(rest, true).map(|u| Arity::WithN(NForm::Last, u));
    }
    if let Some(rest) = upper.strip_prefix("NEXT_N_") {
        return unit_of(rest, true).map(|u| Arity::WithN(NForm::Next, u));
    }
    if let Some(rest) = upper
        .strip_prefix("N_")
        .and_then(|r| r.strip_suffix("_AGO"))
    {
        return unit_of(rest, true).map(|u| Arity::WithN(NForm::Ago, u));
    }
    for (prefix, make) in [
        ("LAST_", Last as fn(Unit) -> DateLiteral),
        ("THIS_", This),
        ("NEXT_", Next),
    ] {
        if let Some(rest) = upper.strip_prefix(prefix) {
            return unit_of(rest, false).map(|u| Arity::Fixed(make(u)));
        }
    }
    None
}

impl DateLiteral {
    /// The `[start, end)` range in epoch milliseconds at instant `now_ms`.
    ///
    /// `LAST_N_DAYS:n` runs from 00:00 n days ago up to and including now (so it also covers today);
    /// `NEXT_N_DAYS:n` starts at 00:00 tomorrow. The other `LAST_N_`/`NEXT_N_` forms cover whole
    /// units and exclude the current one, as Salesforce documents.
    pub fn range(self, now_ms: i64) -> (i64, i64) {
        let today = now_ms.div_euclid(DAY_MS);
        let n = |k: u32| i64::from(k);
        match self {
            DateLiteral::LastN(Unit::Day, k) => (days_ms(today - n(k)), now_ms.saturating_add(1)),
            DateLiteral::NextN(Unit::Day, k) => (days_ms(today + 1), days_ms(today + 1 + n(k))),
            DateLiteral::Last(u) => unit_range(u, today, -1, 1),
            DateLiteral::This(u) => unit_range(u, today, 0, 1),
            DateLiteral::Next(u) => unit_range(u, today, 1, 1),
            DateLiteral::LastN(u, k) => unit_range(u, today, -n(k), n(k)),
            DateLiteral::NextN(u, k) => unit_range(u, today, 1, n(k)),
            DateLiteral::Ago(u, k) => unit_range(u, today, -n(k), 1),
        }
    }
}

fn days_ms(days: i64) -> i64 {
    days.saturating_mul(DAY_MS)
}

/// `count` whole units starting `offset` units from the unit containing day `today`.
fn unit_range(unit: Unit, today: i64, offset: i64, count: i64) -> (i64, i64) {
    match unit {
        Unit::Day => (days_ms(today + offset), days_ms(today + offset + count)),
        Unit::Week => {
            // 1970-01-01 was a Thursday; weeks start on Sunday.
            let week_start = today - (today + 4).rem_euclid(7);
            let start = week_start.saturating_add(offset.saturating_mul(7));
            (
                days_ms(start),
                days_ms(start.saturating_add(count.saturating_mul(7))),
            )
        }
        Unit::Month | Unit::Quarter | Unit::Year => {
            let months = match unit {
                Unit::Month => 1,
                Unit::Quarter => 3,
                _ => 12,
            };
            let Some(date) = i32::try_from(today)
                .ok()
                .and_then(|d| d.checked_add(crate::org::value::EPOCH_CE_DAYS))
                .and_then(NaiveDate::from_num_days_from_ce_opt)
            else {
                return (i64::MIN, i64::MAX);
            };
            // Months counted from year 0, aligned down to the unit.
            let index = i64::from(date.year()) * 12 + i64::from(date.month0());
            let aligned = index - index.rem_euclid(months);
            let start = aligned.saturating_add(offset.saturating_mul(months));
            let end = start.saturating_add(count.saturating_mul(months));
            (month_start_ms(start), month_start_ms(end))
        }
    }
}

/// Midnight UTC of the first day of month `index` (year × 12 + month0), clamped far outside
/// representable dates.
fn month_start_ms(index: i64) -> i64 {
    let year = index.div_euclid(12);
    let month = index.rem_euclid(12) as u32 + 1;
    match i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month, 1))
    {
        Some(d) => days_ms(i64::from(
            d.num_days_from_ce() - crate::org::value::EPOCH_CE_DAYS,
        )),
        None if index < 0 => i64::MIN,
        None => i64::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::value::{format_datetime, parse_datetime};

    fn fmt((a, b): (i64, i64)) -> (String, String) {
        (format_datetime(a), format_datetime(b))
    }

    fn lit(name: &str, n: u32) -> DateLiteral {
        lookup(name).expect("known literal").with(n)
    }

    #[test]
    fn ranges_follow_salesforce_definitions() {
        // Wednesday 2024-05-15 10:30 UTC.
        let now = parse_datetime("2024-05-15T10:30:00Z").unwrap();
        let r = |name: &str, n: u32| fmt(lit(name, n).range(now));
        let p = |a: &str, b: &str| {
            (
                format!("{a}T00:00:00.000+0000"),
                format!("{b}T00:00:00.000+0000"),
            )
        };
        assert_eq!(r("TODAY", 0), p("2024-05-15", "2024-05-16"));
        assert_eq!(r("yesterday", 0), p("2024-05-14", "2024-05-15"));
        assert_eq!(r("THIS_WEEK", 0), p("2024-05-12", "2024-05-19"));
        assert_eq!(r("LAST_WEEK", 0), p("2024-05-05", "2024-05-12"));
        assert_eq!(r("NEXT_MONTH", 0), p("2024-06-01", "2024-07-01"));
        assert_eq!(r("THIS_QUARTER", 0), p("2024-04-01", "2024-07-01"));
        assert_eq!(r("LAST_YEAR", 0), p("2023-01-01", "2024-01-01"));
        assert_eq!(r("THIS_FISCAL_YEAR", 0), p("2024-01-01", "2025-01-01"));
        assert_eq!(r("NEXT_N_DAYS", 3), p("2024-05-16", "2024-05-19"));
        assert_eq!(r("N_DAYS_AGO", 2), p("2024-05-13", "2024-05-14"));
        assert_eq!(r("LAST_N_MONTHS", 2), p("2024-03-01", "2024-05-01"));
        assert_eq!(r("NEXT_N_QUARTERS", 1), p("2024-07-01", "2024-10-01"));
        assert_eq!(r("N_WEEKS_AGO", 1), p("2024-05-05", "2024-05-12"));
        let (s, e) = lit("LAST_N_DAYS", 7).range(now);
        assert_eq!(format_datetime(s), "2024-05-08T00:00:00.000+0000");
        assert_eq!(e, now + 1);
    }

    #[test]
    fn absurd_counts_saturate_instead_of_panicking() {
        for name in [
            "LAST_N_YEARS",
            "NEXT_N_WEEKS",
            "N_QUARTERS_AGO",
            "LAST_N_DAYS",
        ] {
            let _ = lit(name, u32::MAX).range(i64::MAX);
            let _ = lit(name, u32::MAX).range(i64::MIN);
        }
        assert!(lookup("LAST_N_FOO").is_none());
        assert!(lookup("THIS_DAYS").is_none());
        assert!(lookup("LAST_DAY").is_none());
    }
}
