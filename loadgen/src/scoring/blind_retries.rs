//! `blind-retries`: retrying without backoff, without jitter, without limits, or retrying what can
//! never succeed.
//!
//! Signals (resilience-reference.md §6; thresholds in `docs/scoring.md`):
//! - retries of non-retryable errors (4xx other than 401/403-limit/429/lock): share of such
//!   failures followed by a retry;
//! - immediate retries: operations retried twice without ever waiting 50 ms;
//! - backoff growth factor `exp(mean ln(d_{k+1}/d_k))` over consecutive retry delays;
//! - jitter: CV of the first-retry delay across operations hit by the same failure (after
//!   subtracting the minimum), and synchronised waves (share of a cohort's first retries in its
//!   busiest window of width 0.1 × the mean delay);
//! - amplification during outage/error windows: `A = requests in window / (baseline rate × length)`;
//! - requests sent against an exhausted daily allocation (403 `REQUEST_LIMIT_EXCEEDED` with
//!   `used >= max`);
//! - a `Retry-After` the failed answer carried and the retry ignored (waiting it out is good and
//!   exempts the retry from the timing tests).
//!
//! Not exercised when no request of the integration failed (connections cut by the integration's
//! own restarts do not count).

use std::collections::HashMap;

use simulator::journal::JournalEntry;

/// Consecutive retry delays needed before judging their growth: jittered delays vary a lot from
/// one retry to the next, so a handful can look fixed by chance.
const MIN_GROWTH_SAMPLES: u64 = 20;
/// Fewer identified retries than this say nothing about how a build retries (it mostly gave up,
/// queued the work or failed it).
const MIN_RETRIES: u64 = 5;
/// First retries needed before judging how soon they came. Full jitter on a 100 ms base sends a
/// quarter of first retries within 50 ms; an integration that does not wait sends all of them.
const MIN_FIRST_RETRIES: u64 = 10;

use super::evidence::Evidence;
use super::facts::{Facts, Failure};
use super::stats::{ramp, ratio, req, score_from_penalties, Examples, GeoMean, Welford};
use super::windows;
use super::{Assessment, Context, Detector, EvidenceError, Finding, Severity};
use crate::scenario::AntiPattern;

/// A retry sooner than this after the failure did not wait.
const IMMEDIATE_US: u64 = 50_000;
/// When no first retry of a cohort waited this long, jitter is moot: nobody waited at all.
const JITTER_MIN_MEAN_US: f64 = 50_000.0;
/// First retries kept per cohort for the wave test.
const WAVE_SAMPLE: usize = 4_096;
/// Cohorts need this many first retries before their spread is judged.
const COHORT_MIN: u64 = 5;

#[derive(Default)]
struct Cohort {
    first_delays: Welford,
    first_times: Vec<u64>,
}

pub struct BlindRetries {
    failures: u64,
    retries: u64,
    client_failures: u64,
    client_retries: Examples,
    client_codes: HashMap<String, u64>,
    chains2: u64,
    never_waited: Examples,
    /// First retries of an operation, and those sent within [`IMMEDIATE_US`].
    first_retries: u64,
    first_immediate: u64,
    growth: GeoMean,
    cohorts: HashMap<u64, Cohort>,
    retry_after_seen: u64,
    retry_after_ignored: Examples,
    daily_exhausted: Examples,
    amp_spans: Vec<(u64, u64)>,
    in_amp: u64,
    /// Restarts of the integration (±1 s): connections it dropped itself are not failures of
    /// Salesforce.
    restarts: Vec<(u64, u64)>,
}

impl BlindRetries {
    pub fn new(ev: &Evidence) -> Self {
        let amp_spans = windows::spans(ev, |f| {
            f.kind == "outage" || (f.kind == "error" && f.probability.unwrap_or(1.0) >= 0.5)
        });
        BlindRetries {
            failures: 0,
            retries: 0,
            client_failures: 0,
            client_retries: Examples::default(),
            client_codes: HashMap::new(),
            chains2: 0,
            never_waited: Examples::default(),
            first_retries: 0,
            first_immediate: 0,
            growth: GeoMean::default(),
            cohorts: HashMap::new(),
            retry_after_seen: 0,
            retry_after_ignored: Examples::default(),
            daily_exhausted: Examples::default(),
            amp_spans,
            in_amp: 0,
            restarts: super::lifecycle::action_spans(ev)
                .into_iter()
                .map(|(s, e, _)| (s.saturating_sub(1_000_000), e + 1_000_000))
                .collect(),
        }
    }
}

/// Scores `ev` for blind retries alone.
pub fn assess(ev: &Evidence) -> Result<Assessment, EvidenceError> {
    super::assess(ev, AntiPattern::BlindRetries)
}

impl Detector for BlindRetries {
    fn id(&self) -> AntiPattern {
        AntiPattern::BlindRetries
    }

    fn journal(&mut self, e: &JournalEntry, f: &Facts) {
        if !f.integration_request() {
            return;
        }
        if windows::contains(&self.amp_spans, e.t_us) {
            self.in_amp += 1;
        }
        let own_restart = f.failure == Some(Failure::Transport)
            && windows::contains(&self.restarts, e.t_us + e.latency_us);
        if let Some(fail) = f.failure.filter(|_| !own_restart) {
            self.failures += 1;
            match fail {
                Failure::Client => {
                    self.client_failures += 1;
                    let code = e.error_code.clone().unwrap_or_else(|| e.status.to_string());
                    *self.client_codes.entry(code).or_default() += 1;
                }
                Failure::Limit { daily: true } => self.daily_exhausted.push(|| req(e.id)),
                _ => {}
            }
        }
        let Some(r) = f.retry else {
            return;
        };
        self.retries += 1;
        if r.after == Failure::Client {
            self.client_retries.push(|| req(e.id));
            return;
        }
        if matches!(r.after, Failure::Session | Failure::Conflict) {
            // Re-authenticate (401) or re-read (409/412), then retry: what those answers ask for.
            return;
        }
        if let Some(ra) = r.retry_after_us {
            self.retry_after_seen += 1;
            if (r.delay_us as f64) < 0.9 * ra as f64 {
                self.retry_after_ignored.push(|| req(e.id));
            }
            // Waiting out Retry-After is correct whatever the backoff curve looks like.
            return;
        }
        if r.attempt == 2 {
            self.chains2 += 1;
            if r.delay_us < IMMEDIATE_US && r.prev_delay_us.is_some_and(|p| p < IMMEDIATE_US) {
                self.never_waited.push(|| req(r.first_id));
            }
        }
        if let Some(prev) = r.prev_delay_us {
            if prev > 0 && r.delay_us > 0 {
                self.growth.push_ratio(r.delay_us as f64 / prev as f64);
            }
        }
        if r.attempt == 1 {
            self.first_retries += 1;
            if r.delay_us < IMMEDIATE_US {
                self.first_immediate += 1;
            }
            let c = self.cohorts.entry(r.cohort).or_default();
            c.first_delays.push(r.delay_us as f64);
            if c.first_times.len() < WAVE_SAMPLE {
                c.first_times.push(e.t_us);
            }
        }
    }

    fn finish(self: Box<Self>, cx: &Context) -> Assessment {
        if self.failures == 0 {
            return Assessment::not_exercised(
                "no request of the integration failed: nothing to retry",
            );
        }
        if self.retries < MIN_RETRIES && self.daily_exhausted.count == 0 {
            return Assessment::not_exercised(format!(
                "{} failed requests but only {} retries: too few to judge how the build retries",
                self.failures, self.retries
            ));
        }
        let mut findings = Vec::new();
        let mut penalties = Vec::new();

        // Non-retryable errors retried.
        let nr_share = ratio(
            self.client_retries.count as f64,
            self.client_failures as f64,
        );
        if self.client_failures >= 3 {
            penalties.push(ramp(nr_share, 0.05, 0.5, 30.0));
        }
        if self.client_retries.count > 0 {
            let mut codes: Vec<_> = self.client_codes.iter().collect();
            codes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let codes: Vec<String> = codes.iter().take(3).map(|(c, _)| c.to_string()).collect();
            findings.push(
                Finding::new(
                    Severity::Critical,
                    format!(
                        "retried non-retryable errors ({}): {:.0}% of {} such failures were repeated unchanged",
                        codes.join(", "),
                        nr_share * 100.0,
                        self.client_failures
                    ),
                )
                .count(self.client_retries.count)
                .evidence(self.client_retries.items.clone()),
            );
        }

        // Immediate retries.
        let immediate_share = ratio(self.never_waited.count as f64, self.chains2 as f64);
        if self.chains2 >= 3 {
            penalties.push(ramp(immediate_share, 0.2, 0.7, 40.0));
            if immediate_share > 0.2 {
                findings.push(
                    Finding::new(
                        Severity::Critical,
                        format!(
                            "retries without backoff: {:.0}% of operations retried twice never waited {} ms",
                            immediate_share * 100.0,
                            IMMEDIATE_US / 1000
                        ),
                    )
                    .count(self.never_waited.count)
                    .evidence(self.never_waited.items.clone()),
                );
            }
        }

        // Immediate first retries, when too few operations were retried twice to judge chains.
        let first_share = ratio(self.first_immediate as f64, self.first_retries as f64);
        if self.chains2 < 3 && self.first_retries >= MIN_FIRST_RETRIES {
            penalties.push(ramp(first_share, 0.4, 0.9, 30.0));
            if first_share > 0.4 {
                findings.push(
                    Finding::new(
                        Severity::Critical,
                        format!(
                            "retries at once: {:.0}% of {} first retries came within {} ms of the failure",
                            first_share * 100.0,
                            self.first_retries,
                            IMMEDIATE_US / 1000
                        ),
                    )
                    .count(self.first_immediate),
                );
            }
        }

        // Growth factor.
        if let Some(g) = self
            .growth
            .value()
            .filter(|_| self.growth.n >= MIN_GROWTH_SAMPLES)
        {
            penalties.push(ramp(g, 1.3, 0.9, 25.0));
            let (sev, what) = match g {
                g if g < 1.2 => (Severity::Warning, "immediate or fixed delays"),
                g if g < 1.7 => (Severity::Info, "slow growth (×1.5-style or decorrelated)"),
                _ => (Severity::Info, "exponential backoff"),
            };
            findings.push(
                Finding::new(
                    sev,
                    format!(
                        "backoff growth factor ×{g:.2} over {} consecutive retry delays: {what}",
                        self.growth.n
                    ),
                )
                .count(self.growth.n),
            );
        }

        // Jitter and waves.
        let mut cv_w = (0.0, 0.0);
        let mut wave_w = (0.0, 0.0);
        let mut moot = 0u64;
        for c in self.cohorts.values() {
            let n = c.first_delays.n;
            if n < COHORT_MIN {
                continue;
            }
            if c.first_delays.max() < JITTER_MIN_MEAN_US {
                moot += n;
                continue;
            }
            cv_w.0 += c.first_delays.cv_above_min() * n as f64;
            cv_w.1 += n as f64;
            let width = (0.1 * c.first_delays.mean()).max(1_000.0) as u64;
            wave_w.0 += busiest_share(&c.first_times, width) * n as f64;
            wave_w.1 += n as f64;
        }
        if cv_w.1 > 0.0 {
            let cv = cv_w.0 / cv_w.1;
            let wave = wave_w.0 / wave_w.1;
            penalties.push(ramp(cv, 0.25, 0.05, 10.0).max(ramp(wave, 0.3, 0.8, 10.0)));
            let sev = if cv < 0.05 || wave > 0.5 {
                Severity::Warning
            } else {
                Severity::Info
            };
            let kind = match cv {
                cv if cv < 0.05 => "no jitter",
                cv if cv <= 0.25 => "partial jitter",
                _ => "full or decorrelated jitter",
            };
            findings.push(
                Finding::new(
                    sev,
                    format!(
                        "first-retry delay CV {cv:.2} across operations hit by the same failure ({kind}); {:.0}% of a cohort's first retries land in its busiest window",
                        wave * 100.0
                    ),
                )
                .count(cv_w.1 as u64),
            );
        } else if moot > 0 {
            penalties.push(10.0);
            findings.push(
                Finding::new(
                    Severity::Warning,
                    format!(
                        "first retries came within {} ms of the failure: no room for jitter, every client hit by the same failure retries together",
                        JITTER_MIN_MEAN_US as u64 / 1000
                    ),
                )
                .count(moot),
            );
        }

        // Amplification.
        if !self.amp_spans.is_empty() {
            if let Some(base) = windows::baseline_rate(cx.ev, cx.timeline) {
                let len = windows::length_s(&self.amp_spans);
                let a = ratio(self.in_amp as f64, base * len);
                if base > 0.0 && len > 0.0 {
                    penalties.push(ramp(a, 1.2, 4.0, 35.0));
                    let sev = match a {
                        a if a > 2.0 => Severity::Critical,
                        a if a > 1.2 => Severity::Warning,
                        _ => Severity::Info,
                    };
                    let ev: Vec<String> = self
                        .amp_spans
                        .iter()
                        .take(3)
                        .map(|(s, e)| super::stats::window(*s, *e))
                        .collect();
                    findings.push(
                        Finding::new(
                            sev,
                            format!(
                                "load amplification {a:.2}× during outages/error windows ({} requests in {len:.0} s vs a baseline of {base:.1}/s)",
                                self.in_amp
                            ),
                        )
                        .count(self.in_amp)
                        .evidence(ev),
                    );
                }
            }
        }

        // Exhausted daily allocation.
        if self.daily_exhausted.count > 0 {
            penalties.push(ramp(self.daily_exhausted.count as f64, 10.0, 100.0, 25.0));
            let sev = if self.daily_exhausted.count > 10 {
                Severity::Critical
            } else {
                Severity::Info
            };
            findings.push(
                Finding::new(
                    sev,
                    "requests sent after the daily API allocation was spent (TotalRequests Limit exceeded): they cannot succeed until usage ages out",
                )
                .count(self.daily_exhausted.count)
                .evidence(self.daily_exhausted.items.clone()),
            );
        }

        // Retry-After.
        if self.retry_after_seen > 0 {
            let ignored = ratio(
                self.retry_after_ignored.count as f64,
                self.retry_after_seen as f64,
            );
            penalties.push(ramp(ignored, 0.1, 0.5, 20.0));
            findings.push(if self.retry_after_ignored.count > 0 {
                Finding::new(
                    Severity::Warning,
                    format!(
                        "{:.0}% of retries came sooner than the Retry-After the answer asked for",
                        ignored * 100.0
                    ),
                )
                .count(self.retry_after_ignored.count)
                .evidence(self.retry_after_ignored.items.clone())
            } else {
                Finding::new(Severity::Info, "Retry-After was honoured")
                    .count(self.retry_after_seen)
            });
        }

        findings.push(
            Finding::new(
                Severity::Info,
                format!(
                    "{} failed requests, {} identified retries",
                    self.failures, self.retries
                ),
            )
            .count(self.retries),
        );
        Assessment::scored(score_from_penalties(&penalties), findings)
    }
}

/// Largest share of `times` inside any window of `width` µs.
fn busiest_share(times: &[u64], width: u64) -> f64 {
    if times.is_empty() {
        return 0.0;
    }
    let mut t = times.to_vec();
    t.sort_unstable();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..t.len() {
        while t[hi] - t[lo] > width {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best as f64 / t.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busiest_window() {
        assert_eq!(busiest_share(&[0, 1, 2, 100, 200], 5), 0.6);
        assert_eq!(busiest_share(&[], 5), 0.0);
    }
}
