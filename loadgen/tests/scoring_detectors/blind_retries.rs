use loadgen::scenario::AntiPattern::BlindRetries;
use loadgen::scoring::Severity;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::builder::*;

/// 10 s at rest (10 writes/s), a 10 s outage, 10 s after.
fn outage_run() -> Run {
    let mut r = Run::new(30);
    r.fault("outage-0", "outage", 10, Some(20)).mode = Some("http-503".into());
    for i in 0..100 {
        r.write(i * 100 * MS, i, 200);
    }
    for i in 0..100 {
        r.write(20 * S + i * 100 * MS, 1_000 + i, 200);
    }
    r
}

#[test]
fn immediate_endless_retries_score_low() {
    let mut r = outage_run();
    // Every operation during the outage is retried every 10 ms until the outage ends.
    for op in 0..100 {
        let mut t = 10 * S + op * 100 * MS;
        while t < 20 * S {
            let e = r.write(t, 500 + op, 503);
            e.fault = tag("outage-0", "outage", "respond:503");
            t += 15 * MS;
        }
        r.write(t, 500 + op, 200);
    }
    // And a validation error retried ten times.
    for k in 0..10 {
        let e = r.write(25 * S + k * 20 * MS, 9_999, 400);
        e.error_code = Some("INVALID_FIELD".into());
    }
    let a = r.assess(BlindRetries);
    assert_score(&a, 0..=30);
    assert_eq!(finding(&a, "non-retryable").severity, Severity::Critical);
    assert!(finding(&a, "INVALID_FIELD").count >= 9);
    assert_eq!(finding(&a, "without backoff").severity, Severity::Critical);
    assert_eq!(finding(&a, "amplification").severity, Severity::Critical);
    assert!(finding(&a, "without backoff").evidence[0].starts_with("req-"));
}

#[test]
fn capped_backoff_with_full_jitter_scores_high() {
    let mut r = outage_run();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // A few operations hit the outage; each backs off 100 ms · 2^k with full jitter, at most
    // four attempts, then succeeds after the outage.
    for op in 0..20 {
        let mut t = 10 * S + op * 400 * MS;
        for k in 0..4u32 {
            let e = r.write(t, 500 + op, 503);
            e.fault = tag("outage-0", "outage", "respond:503");
            let cap = 100.0 * MS as f64 * 2f64.powi(k as i32 + 1);
            t += 5 * MS + rng.random_range(0.0..cap) as u64;
        }
        r.write(t.max(20 * S), 500 + op, 200);
    }
    let a = r.assess(BlindRetries);
    assert_score(&a, 85..=100);
    let growth = finding(&a, "growth factor");
    assert_eq!(growth.severity, Severity::Info);
    assert!(finding(&a, "CV").message.contains("full or decorrelated"));
}

#[test]
fn honouring_retry_after_is_good_and_ignoring_it_is_not() {
    let honour = |wait: u64| {
        let mut r = outage_run();
        r.fault("maint", "error", 10, Some(20)).retry_after_ms = Some(2_000);
        for op in 0..20 {
            let mut t = 10 * S + op * 400 * MS;
            for _ in 0..3 {
                let e = r.write(t, 500 + op, 503);
                e.fault = tag("maint", "error", "respond:503");
                t += 5 * MS + wait;
            }
            r.write(t, 500 + op, 200);
        }
        r.assess(BlindRetries)
    };
    // A fixed 2 s wait is exactly what Retry-After asked for: no backoff or jitter penalty.
    let good = honour(2 * S);
    assert_score(&good, 85..=100);
    assert_eq!(
        finding(&good, "Retry-After was honoured").severity,
        Severity::Info
    );
    // Retrying after 100 ms ignores it.
    let bad = honour(100 * MS);
    let ignored = finding(&bad, "sooner than the Retry-After");
    assert_eq!(ignored.severity, Severity::Warning);
    assert!(bad.score < good.score, "{bad:#?}");
}

#[test]
fn requests_against_an_exhausted_daily_allocation() {
    let mut r = Run::new(30);
    for i in 0..200 {
        let e = r.write(i * 50 * MS, i, 403);
        e.error_code = Some("REQUEST_LIMIT_EXCEEDED".into());
        e.api_usage = Some((1_000, 1_000));
    }
    let a = r.assess(BlindRetries);
    assert_eq!(finding(&a, "daily API allocation").count, 200);
    assert!(a.score.unwrap() <= 75, "{a:#?}");
}

#[test]
fn not_exercised_without_failures() {
    let a = outage_run().assess(BlindRetries);
    assert_not_exercised(&a);
}

#[test]
fn sporadic_errors_retried_at_once_score_low() {
    // 10% of writes fail with a transient error and are retried once, at once: too few
    // operations fail twice to judge chains, but every first retry came without a wait.
    let mut r = Run::new(60);
    r.fault("blips", "error", 0, Some(60));
    for i in 0..600u64 {
        let t = i * 100 * MS;
        if i % 10 == 3 {
            let e = r.write(t, i, 503);
            e.fault = tag("blips", "error", "respond:503");
            r.write(t + 8 * MS, i, 200);
        } else {
            r.write(t, i, 200);
        }
    }
    let a = r.assess(BlindRetries);
    assert_eq!(finding(&a, "retries at once").severity, Severity::Critical);
    assert!(a.score.unwrap() <= 70, "{a:#?}");
}

#[test]
fn sporadic_errors_retried_after_a_jittered_wait_are_not_called_immediate() {
    let mut r = Run::new(60);
    r.fault("blips", "error", 0, Some(60));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for i in 0..600u64 {
        let t = i * 100 * MS;
        if i % 10 == 3 {
            let e = r.write(t, i, 503);
            e.fault = tag("blips", "error", "respond:503");
            // Full jitter on a 100 ms base: U(0, 200 ms).
            r.write(t + 5 * MS + rng.random_range(0..200 * MS), i, 200);
        } else {
            r.write(t, i, 200);
        }
    }
    let a = r.assess(BlindRetries);
    assert!(
        !a.findings
            .iter()
            .any(|f| f.message.contains("retries at once")),
        "{a:#?}"
    );
}

#[test]
fn failures_that_were_hardly_retried_do_not_exercise_it() {
    // Forty writes time out and the build queues them instead of retrying: nothing to judge.
    let mut r = Run::new(30);
    r.fault("hang", "outage", 5, Some(15));
    for i in 0..40u64 {
        let e = r.write(5 * S + i * 100 * MS, i, 0);
        e.latency_us = 10 * S;
    }
    for i in 0..3u64 {
        r.write(20 * S + i * 100 * MS, i, 200);
    }
    assert_not_exercised(&r.assess(BlindRetries));
}
