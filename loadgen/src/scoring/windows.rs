//! Time windows the detectors compare against each other: fault windows, quiet stretches, the
//! integration's baseline request rate.

use super::evidence::{Evidence, FaultWindow, Span};
use super::lifecycle::action_spans;
use super::timeline::Timeline;

/// Fault kinds that disturb the integration's request rate (failures or refusals); `latency`,
/// `partial-failure` and `schema-change` do not stop requests flowing.
pub const DISTURBING: [&str; 6] = [
    "outage",
    "error",
    "rate-limit",
    "lock-contention",
    "session",
    "connection",
];

/// `[start, end)` spans (µs) of the enforced fault windows matching `pick`, clipped to the run.
pub fn spans(ev: &Evidence, pick: impl Fn(&FaultWindow) -> bool) -> Vec<(u64, u64)> {
    let end = ev.run_end_us();
    ev.faults
        .iter()
        .filter(|f| f.installed && pick(f))
        .map(|f| (f.span.start_us, f.span.end_or(end)))
        .filter(|(s, e)| e > s)
        .collect()
}

/// `[start, end)` spans (µs) of `spans`, open ends closed at `end_us`.
pub fn spans_of(spans: &[Span], end_us: u64) -> Vec<(u64, u64)> {
    spans
        .iter()
        .map(|s| (s.start_us, s.end_or(end_us)))
        .collect()
}

pub fn contains(spans: &[(u64, u64)], t_us: u64) -> bool {
    spans.iter().any(|(s, e)| t_us >= *s && t_us < *e)
}

/// Total length of `spans`, seconds (overlaps counted once).
pub fn length_s(spans: &[(u64, u64)]) -> f64 {
    let mut v = spans.to_vec();
    v.sort_unstable();
    let mut total = 0u64;
    let mut cur: Option<(u64, u64)> = None;
    for (s, e) in v {
        match cur {
            Some((cs, ce)) if s <= ce => cur = Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                cur = Some((s, e));
            }
            None => cur = Some((s, e)),
        }
    }
    if let Some((cs, ce)) = cur {
        total += ce - cs;
    }
    total as f64 / 1e6
}

/// `spans` with every part inside `minus` removed.
pub fn subtract(spans: &[(u64, u64)], minus: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = spans.to_vec();
    for &(ms, me) in minus {
        out = out
            .into_iter()
            .flat_map(|(s, e)| {
                let mut parts = Vec::with_capacity(2);
                if me <= s || ms >= e {
                    parts.push((s, e));
                } else {
                    if ms > s {
                        parts.push((s, ms));
                    }
                    if me < e {
                        parts.push((me, e));
                    }
                }
                parts
            })
            .collect();
    }
    out
}

/// Where other detectors own the ledger's problems: outages (and 30 s after, while a backlog
/// drains) belong to `availability`; restarts (from 30 s before, for work queued in memory, to 10 s
/// after the integration is healthy again) to `rollback`.
pub fn owned_by_others(ev: &Evidence) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = spans(ev, |f| f.kind == "outage")
        .into_iter()
        .map(|(s, e)| (s, e + 30_000_000))
        .collect();
    v.extend(
        action_spans(ev)
            .into_iter()
            .filter(|(_, _, a)| super::lifecycle::RESTARTING_ACTIONS.contains(&a.as_str()))
            .map(|(s, e, _)| (s.saturating_sub(30_000_000), e + 10_000_000)),
    );
    v
}

/// After a disturbing window the integration is still catching up (draining a backlog, probing
/// its way back) for about this long: not at rest.
const RECOVERY_US: u64 = 30_000_000;

/// Buckets of the load period that overlap no disturbing fault window (nor the recovery after
/// it) and no action: the integration at rest.
pub fn quiet_buckets(ev: &Evidence, t: &Timeline) -> Vec<usize> {
    let mut busy: Vec<(u64, u64)> = spans(ev, |f| DISTURBING.contains(&f.kind.as_str()))
        .into_iter()
        .map(|(s, e)| (s, e.saturating_add(RECOVERY_US)))
        .collect();
    busy.extend(action_spans(ev).into_iter().map(|(s, e, _)| (s, e)));
    let width = (t.bucket_s * 1e6) as u64;
    let load_buckets = (ev.load_us / width.max(1)) as usize;
    (0..load_buckets.min(t.len()))
        .filter(|&i| {
            let (s, e) = (i as u64 * width, (i as u64 + 1) * width);
            !busy.iter().any(|(bs, be)| s < *be && *bs < e)
        })
        .collect()
}

/// The integration's request rate at rest (requests/s), when at least three quiet buckets exist.
pub fn baseline_rate(ev: &Evidence, t: &Timeline) -> Option<f64> {
    let quiet = quiet_buckets(ev, t);
    if quiet.len() < 3 {
        return None;
    }
    let total: u64 = quiet.iter().map(|&i| t.requests_at(i)).sum();
    Some(total as f64 / (quiet.len() as f64 * t.bucket_s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtracting_spans() {
        assert_eq!(subtract(&[(0, 10)], &[(3, 5)]), vec![(0, 3), (5, 10)]);
        assert_eq!(subtract(&[(0, 10)], &[(0, 20)]), vec![]);
        assert_eq!(subtract(&[(0, 10)], &[(20, 30)]), vec![(0, 10)]);
    }

    #[test]
    fn overlapping_spans_count_once() {
        assert_eq!(length_s(&[(0, 2_000_000), (1_000_000, 3_000_000)]), 3.0);
        assert_eq!(length_s(&[(0, 1_000_000), (2_000_000, 3_000_000)]), 2.0);
        assert!(contains(&[(5, 10)], 5) && !contains(&[(5, 10)], 10));
    }
}
