//! Duration strings: `"250ms"`, `"90s"`, `"5m"`, `"1h"`, `"1h 30m"`.
//!
//! Users write durations as strings (humantime syntax) in scenario files and admin JSON alike;
//! validated types hold [`Duration`] and serialize back to the same syntax, so a report that
//! echoes the scenario reads like the file.

use std::time::Duration;

/// Parses a duration string, rejecting negative and malformed values with a message meant for
/// the person who wrote it.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration; write e.g. \"250ms\", \"90s\" or \"5m\"".to_string());
    }
    if trimmed.starts_with('-') {
        return Err(format!("must not be negative, got \"{text}\""));
    }
    humantime::parse_duration(trimmed).map_err(|err| {
        format!("malformed duration \"{text}\" ({err}); write e.g. \"250ms\", \"90s\", \"5m\" or \"1h\"")
    })
}

/// Renders a duration in the syntax [`parse_duration`] reads: `"1m 30s"`, `"250ms"`, `"24h"`,
/// `"0s"`. Hours are the largest unit, because scenario times are hours at most and "1day"
/// reads oddly next to `api_window = "24h"`.
pub fn format_duration(duration: Duration) -> String {
    if duration.is_zero() {
        return "0s".to_string();
    }
    let secs = duration.as_secs();
    let nanos = duration.subsec_nanos();
    let parts = [
        (secs / 3600, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
        (u64::from(nanos / 1_000_000), "ms"),
        (u64::from(nanos / 1_000 % 1_000), "us"),
        (u64::from(nanos % 1_000), "ns"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(value, _)| *value > 0)
        .map(|(value, unit)| format!("{value}{unit}"))
        .collect();
    text.join(" ")
}

/// `#[serde(with = "serde_duration")]` for a [`Duration`] written as a duration string.
pub mod serde_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*duration))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = "serde_opt_duration")]` for an `Option<Duration>` written as a duration string.
pub mod serde_opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => serializer.serialize_str(&super::format_duration(*duration)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(text) => super::parse_duration(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_forms() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_negative_and_malformed() {
        let negative = parse_duration("-5s").unwrap_err();
        assert!(negative.contains("negative"), "{negative}");
        let unitless = parse_duration("90").unwrap_err();
        assert!(unitless.contains("malformed"), "{unitless}");
        assert!(parse_duration("five minutes").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn formats_back_to_parseable_text() {
        for text in ["250ms", "90s", "1h 30m", "0s", "3m", "36h", "1.5s", "7ns"] {
            let duration = parse_duration(text).unwrap();
            assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }
        assert_eq!(format_duration(Duration::from_secs(90)), "1m 30s");
        assert_eq!(format_duration(Duration::from_secs(24 * 3600)), "24h");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s 500ms");
    }
}
