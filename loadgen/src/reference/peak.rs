//! Declared business peak hours: when bulk work must wait (the `batch-realtime-mixing` cure).
//!
//! `SFCHAOS_PEAK` lists windows as `START-END` offsets (humantime durations), comma-separated:
//! `SFCHAOS_PEAK=0s-60s,2m-3m30s`. Offsets count from `SFCHAOS_RUN_START` (Unix epoch milliseconds,
//! so a restarted integration keeps the same schedule) or, when that is unset, from the
//! integration's own start. An `END` of `inf` means "until the end of the run".

use std::time::{Duration, SystemTime};

/// The peak windows and the instant their offsets count from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeakWindows {
    origin: SystemTime,
    windows: Vec<(Duration, Option<Duration>)>,
}

impl PeakWindows {
    /// No peak at all: bulk work may run whenever it is ready.
    pub fn none() -> Self {
        Self {
            origin: SystemTime::UNIX_EPOCH,
            windows: Vec::new(),
        }
    }

    /// Parse `START-END[,START-END…]`.
    pub fn parse(text: &str, origin: SystemTime) -> Result<Self, String> {
        let mut windows = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (start, end) = part
                .split_once('-')
                .ok_or_else(|| format!("\"{part}\" is not START-END, e.g. 30s-90s"))?;
            let start = parse_duration(start)?;
            let end = match end.trim() {
                "inf" => None,
                other => Some(parse_duration(other)?),
            };
            if end.is_some_and(|e| e <= start) {
                return Err(format!("\"{part}\": the window ends before it starts"));
            }
            windows.push((start, end));
        }
        Ok(Self { origin, windows })
    }

    /// How long until off-peak, measured at `now`: `None` when `now` is already off-peak.
    pub fn remaining_peak(&self, now: SystemTime) -> Option<Option<Duration>> {
        let offset = now.duration_since(self.origin).unwrap_or(Duration::ZERO);
        self.windows
            .iter()
            .find(|(start, end)| offset >= *start && end.is_none_or(|e| offset < e))
            .map(|(_, end)| end.map(|e| e - offset))
    }

    /// Whether `now` falls in a peak window.
    pub fn is_peak(&self, now: SystemTime) -> bool {
        self.remaining_peak(now).is_some()
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("\"{}\": {e}", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_remaining_time() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let p = PeakWindows::parse("10s-20s, 1m-inf", t0).unwrap();
        let at = |s| t0 + Duration::from_secs(s);
        assert!(!p.is_peak(at(5)));
        assert_eq!(p.remaining_peak(at(12)), Some(Some(Duration::from_secs(8))));
        assert!(!p.is_peak(at(20)));
        assert_eq!(p.remaining_peak(at(90)), Some(None));
        assert!(!PeakWindows::none().is_peak(at(0)));
    }

    #[test]
    fn bad_windows_are_explained() {
        let t0 = SystemTime::UNIX_EPOCH;
        assert!(PeakWindows::parse("10s", t0)
            .unwrap_err()
            .contains("START-END"));
        assert!(PeakWindows::parse("20s-10s", t0)
            .unwrap_err()
            .contains("ends before"));
        assert!(PeakWindows::parse("x-10s", t0).is_err());
    }
}
