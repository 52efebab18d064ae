//! Retry strategies: delay sequences per seed, budgets, quotas, breakers, adaptive throttling, the
//! strategy-string grammar and the retry loop — all on a paused Tokio clock.

use std::time::Duration;

use loadgen::retry::{
    run_with_retry, run_with_retry_reauth, Backoff, BreakerState, Classify, Decision, GiveUpReason,
    RetryPolicy, RetrySpec, Retryability, SpecError,
};
use tokio::time::{advance, Instant};

const RETRYABLE: Retryability = Retryability::Retryable;

fn policy(spec: &str, seed: u64) -> RetryPolicy {
    RetryPolicy::parse(spec, seed).expect("valid strategy string")
}

/// The sleeps one operation is told to take over `n` consecutive retryable failures.
fn delays(p: &RetryPolicy, n: usize) -> Vec<Duration> {
    let mut st = p.begin();
    (0..n)
        .map(|_| match p.should_retry(&mut st, &RETRYABLE) {
            Decision::RetryAfter(d) => d,
            Decision::GiveUp(r) => panic!("gave up early: {r}"),
        })
        .collect()
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

// ---------------------------------------------------------------------------------------------
// Delay sequences
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn none_retries_immediately() {
    let p = policy("none?max-attempts=inf&budget=off", 1);
    assert_eq!(delays(&p, 6), vec![Duration::ZERO; 6]);
}

#[tokio::test(start_paused = true)]
async fn fixed_sleeps_the_same_every_time() {
    let p = policy("fixed?delay=250ms&max-attempts=inf&budget=off", 1);
    assert_eq!(delays(&p, 5), vec![ms(250); 5]);
    // Default: 1 s.
    let p = policy("fixed?max-attempts=inf&budget=off", 1);
    assert_eq!(delays(&p, 2), vec![ms(1000); 2]);
}

#[tokio::test(start_paused = true)]
async fn exponential_starts_at_twice_base_and_caps() {
    // Brooker's ordering: the first retry uses n = 1, so it sleeps 2·base.
    let p = policy(
        "exponential?base=5ms&cap=100ms&max-attempts=inf&budget=off",
        1,
    );
    assert_eq!(
        delays(&p, 7),
        vec![ms(10), ms(20), ms(40), ms(80), ms(100), ms(100), ms(100)]
    );
    // Defaults are Brooker's base 5 ms / cap 2 s.
    let p = policy("exponential?max-attempts=inf&budget=off", 1);
    let d = delays(&p, 12);
    assert_eq!(d[0], ms(10));
    assert_eq!(d[7], ms(1280));
    assert_eq!(d[8], ms(2000));
    assert_eq!(d[11], ms(2000));
}

#[test]
fn exponential_ceiling_never_overflows() {
    let cap = Duration::from_secs(20);
    assert_eq!(loadgen::retry::backoff::ceiling(ms(5), cap, 31), cap);
    assert_eq!(loadgen::retry::backoff::ceiling(ms(5), cap, 32), cap);
    assert_eq!(loadgen::retry::backoff::ceiling(ms(5), cap, u32::MAX), cap);
    assert_eq!(loadgen::retry::backoff::ceiling(Duration::MAX, cap, 3), cap);
}

/// Same seed → same sequence; other seed → other sequence; every sleep inside its formula's range;
/// nothing above the cap.
async fn check_jittered(name: &str) {
    let spec = format!("{name}?base=5ms&cap=500ms&max-attempts=inf&budget=off");
    let a = delays(&policy(&spec, 7), 40);
    let b = delays(&policy(&spec, 7), 40);
    let c = delays(&policy(&spec, 8), 40);
    assert_eq!(a, b, "{name}: same seed must give the same sequence");
    assert_ne!(a, c, "{name}: different seeds must differ");

    let backoff = policy(&spec, 7).spec().backoff;
    let mut prev = Duration::ZERO;
    for (i, d) in a.iter().enumerate() {
        let retry = u32::try_from(i + 1).expect("small");
        let (lo, hi) = backoff.bounds(retry, prev);
        assert!(
            *d >= lo && *d <= hi,
            "{name}: retry {retry} slept {d:?}, outside [{lo:?}, {hi:?}]"
        );
        assert!(*d <= ms(500), "{name}: {d:?} exceeds the cap");
        prev = *d;
    }
    // Late retries sit near the cap, not at the base.
    let late: Duration = a[30..].iter().sum();
    assert!(late > ms(500), "{name}: late sleeps too small: {late:?}");
}

#[tokio::test(start_paused = true)]
async fn full_jitter_is_seeded_and_bounded() {
    check_jittered("full-jitter").await;
}

#[tokio::test(start_paused = true)]
async fn equal_jitter_is_seeded_and_bounded() {
    check_jittered("equal-jitter").await;
    // Equal jitter never sleeps less than half the exponential ceiling.
    let d = delays(
        &policy(
            "equal-jitter?base=5ms&cap=2s&max-attempts=inf&budget=off",
            3,
        ),
        4,
    );
    for (i, v) in d.iter().enumerate() {
        let half = ms(5 * (1 << (i + 1)) / 2);
        assert!(*v >= half, "retry {}: {v:?} < {half:?}", i + 1);
    }
}

#[tokio::test(start_paused = true)]
async fn decorrelated_is_seeded_and_bounded() {
    check_jittered("decorrelated").await;
    // Each sleep lies in [base, 3·previous].
    let d = delays(
        &policy(
            "decorrelated?base=5ms&cap=10s&max-attempts=inf&budget=off",
            11,
        ),
        20,
    );
    let mut prev = ms(5);
    for v in d {
        assert!(
            v >= ms(5) && v <= prev * 3,
            "{v:?} outside [5ms, {:?}]",
            prev * 3
        );
        prev = v;
    }
}

#[test]
fn backoff_bounds_match_the_reference_table() {
    let (b, c) = (ms(5), ms(2000));
    assert_eq!(
        Backoff::FullJitter { base: b, cap: c }.bounds(1, Duration::ZERO),
        (Duration::ZERO, ms(10))
    );
    assert_eq!(
        Backoff::EqualJitter { base: b, cap: c }.bounds(2, Duration::ZERO),
        (ms(10), ms(20))
    );
    assert_eq!(
        Backoff::Decorrelated { base: b, cap: c }.bounds(1, Duration::ZERO),
        (ms(5), ms(15))
    );
    assert_eq!(
        Backoff::Decorrelated { base: b, cap: c }.bounds(5, ms(1000)),
        (ms(5), ms(2000))
    );
}

/// Full jitter's first retry is U(0, 2b): coefficient of variation 1/√3 ≈ 0.577.
#[tokio::test(start_paused = true)]
async fn full_jitter_first_retry_cv_is_one_over_root_three() {
    let p = policy(
        "full-jitter?base=100ms&cap=10s&max-attempts=inf&budget=off",
        2024,
    );
    let samples: Vec<f64> = (0..10_000)
        .map(|_| delays(&p, 1)[0].as_secs_f64())
        .collect();
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let cv = var.sqrt() / mean;
    assert!((cv - 0.577).abs() < 0.05, "CV {cv:.3} not ≈ 0.577");
    assert!((mean - 0.1).abs() < 0.005, "mean {mean:.4} not ≈ b = 0.1 s");
    // The equal-jitter CV is far lower (≈ 0.192): the scorer tells them apart by it.
    let p = policy(
        "equal-jitter?base=100ms&cap=10s&max-attempts=inf&budget=off",
        2024,
    );
    let eq: Vec<f64> = (0..10_000)
        .map(|_| delays(&p, 1)[0].as_secs_f64())
        .collect();
    let m = eq.iter().sum::<f64>() / n;
    let cv_eq = (eq.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() / m;
    assert!((cv_eq - 0.192).abs() < 0.03, "equal-jitter CV {cv_eq:.3}");
}

// ---------------------------------------------------------------------------------------------
// Per-operation limits and classification
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn max_attempts_counts_the_first_attempt() {
    let p = policy("exponential?max-attempts=3&budget=off", 1);
    let mut st = p.begin();
    for _ in 0..2 {
        assert!(p.admit(&mut st).is_ok());
        assert!(matches!(
            p.should_retry(&mut st, &RETRYABLE),
            Decision::RetryAfter(_)
        ));
    }
    assert!(p.admit(&mut st).is_ok());
    assert_eq!(
        p.should_retry(&mut st, &RETRYABLE),
        Decision::GiveUp(GiveUpReason::MaxAttempts { attempts: 3 })
    );
}

#[tokio::test(start_paused = true)]
async fn non_retryable_errors_are_never_retried() {
    let p = policy("full-jitter", 1);
    let mut st = p.begin();
    assert_eq!(
        p.should_retry(&mut st, &Retryability::NotRetryable),
        Decision::GiveUp(GiveUpReason::NotRetryable)
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_session_retries_once_immediately() {
    let p = policy("full-jitter", 1);
    let mut st = p.begin();
    let reauth = Retryability::RetryableAfterReauth;
    assert_eq!(
        p.should_retry(&mut st, &reauth),
        Decision::RetryAfter(Duration::ZERO)
    );
    assert_eq!(
        p.should_retry(&mut st, &reauth),
        Decision::GiveUp(GiveUpReason::ReauthExhausted)
    );
}

#[tokio::test(start_paused = true)]
async fn exhausted_daily_limit_holds_every_request_until_it_ages_out() {
    let p = policy("full-jitter?limit-hold=10m", 1);
    let mut st = p.begin();
    assert!(p.admit(&mut st).is_ok());
    let decision = p.should_retry(&mut st, &Retryability::LimitExhausted);
    let Decision::GiveUp(GiveUpReason::LimitExhausted { retry_not_before }) = decision else {
        panic!("expected a limit hold, got {decision:?}");
    };
    assert_eq!(retry_not_before, Instant::now() + Duration::from_secs(600));
    assert_eq!(p.limit_exhausted_until(), Some(retry_not_before));

    // New operations are refused locally while the hold lasts: nothing burns the allocation.
    advance(Duration::from_secs(300)).await;
    let mut other = p.begin();
    assert!(matches!(
        p.admit(&mut other),
        Err(GiveUpReason::LimitExhausted { .. })
    ));

    // After the hold, traffic may test the allocation again.
    advance(Duration::from_secs(301)).await;
    assert!(p.admit(&mut other).is_ok());
    assert_eq!(p.limit_exhausted_until(), None);

    // Sforce-Limit-Info can start and end the hold too.
    p.observe_limit(5000, 5000);
    assert!(p.limit_exhausted_until().is_some());
    p.observe_limit(4990, 5000);
    assert_eq!(p.limit_exhausted_until(), None);
}

// ---------------------------------------------------------------------------------------------
// Budget
// ---------------------------------------------------------------------------------------------

/// Drive `rate` operations/s for `secs` seconds against a server failing every call; return
/// (operations, retries granted).
async fn hammer(p: &RetryPolicy, rate: u64, secs: u64) -> (u64, u64) {
    let step = Duration::from_nanos(1_000_000_000 / rate);
    let mut retries = 0;
    for _ in 0..rate * secs {
        let mut st = p.begin();
        loop {
            if p.admit(&mut st).is_err() {
                break;
            }
            match p.should_retry(&mut st, &RETRYABLE) {
                Decision::RetryAfter(_) => retries += 1,
                Decision::GiveUp(_) => break,
            }
        }
        advance(step).await;
    }
    (rate * secs, retries)
}

#[tokio::test(start_paused = true)]
async fn finagle_budget_caps_retries_at_20_percent_plus_10_per_second() {
    let p = policy("none?max-attempts=3", 1); // budget=finagle by default
    let (ops, retries) = hammer(&p, 50, 30).await;
    // Unbudgeted, 3 attempts would mean 2 retries per operation: 3,000.
    let expected = 30.0 * (0.2 * 50.0 + 10.0); // 600
    let got = retries as f64;
    assert!(
        (got - expected).abs() / expected < 0.15,
        "{retries} retries for {ops} operations; expected ≈ {expected}"
    );
    assert!(p.stats().budget_denied > 0);
}

#[tokio::test(start_paused = true)]
async fn sre_budget_keeps_retries_under_ten_percent() {
    let p = policy("none?max-attempts=3&budget=sre", 1);
    let (ops, retries) = hammer(&p, 50, 30).await;
    let ratio = retries as f64 / ops as f64;
    assert!(
        ratio <= 0.1 + 1e-9 && ratio > 0.08,
        "retry ratio {ratio:.3}"
    );
}

#[tokio::test(start_paused = true)]
async fn budget_parameters_override_the_preset() {
    let p = policy("none?max-attempts=3&budget-percent=50%&budget-min=0", 1);
    let (ops, retries) = hammer(&p, 20, 20).await;
    let ratio = retries as f64 / ops as f64;
    assert!((ratio - 0.5).abs() < 0.05, "retry ratio {ratio:.3}");
}

// ---------------------------------------------------------------------------------------------
// Token bucket
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct TimedOut;

impl Classify for TimedOut {
    fn retryability(&self) -> Retryability {
        Retryability::Retryable
    }
    fn is_timeout(&self) -> bool {
        true
    }
}

#[tokio::test(start_paused = true)]
async fn aws_quota_allows_about_100_retries_then_stops() {
    let p = policy("token-bucket?max-attempts=inf", 1);
    let (_, retries) = hammer(&p, 10, 20).await;
    assert_eq!(retries, 100, "500 tokens / 5 per retry");
    assert_eq!(p.quota_tokens(), Some(0.0));

    // Timeouts cost double: ≈50 retries.
    let p = policy("token-bucket?max-attempts=inf", 1);
    let mut st = p.begin();
    let mut n = 0;
    while let Decision::RetryAfter(_) = p.should_retry(&mut st, &TimedOut) {
        n += 1;
    }
    assert_eq!(n, 50);
}

#[tokio::test(start_paused = true)]
async fn aws_quota_refunds_on_success() {
    let p = policy("token-bucket?max-attempts=inf", 1);
    let mut st = p.begin();
    for _ in 0..3 {
        assert!(matches!(
            p.should_retry(&mut st, &RETRYABLE),
            Decision::RetryAfter(_)
        ));
    }
    assert_eq!(p.quota_tokens(), Some(485.0));
    p.on_success(&st); // success after retries refunds what was taken
    assert_eq!(p.quota_tokens(), Some(500.0));
}

#[tokio::test(start_paused = true)]
async fn brooker_bucket_needs_more_than_one_token() {
    let p = policy("token-bucket?flavor=brooker&max-attempts=inf", 1);
    let mut st = p.begin(); // 5 tokens (full; the 0.1 fill is capped)
    let mut n = 0;
    while let Decision::RetryAfter(_) = p.should_retry(&mut st, &RETRYABLE) {
        n += 1;
    }
    assert_eq!(n, 4, "5 → 1 token: the fifth retry needs more than 1");
    // Five more calls deposit 0.5 token: 1.5 allows exactly one more retry.
    for _ in 0..4 {
        let _ = p.begin();
    }
    let mut st = p.begin();
    assert!(matches!(
        p.should_retry(&mut st, &RETRYABLE),
        Decision::RetryAfter(_)
    ));
    assert_eq!(
        p.should_retry(&mut st, &RETRYABLE),
        Decision::GiveUp(GiveUpReason::QuotaExhausted)
    );
}

// ---------------------------------------------------------------------------------------------
// Circuit breaker
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn breaker_opens_rejects_probes_and_closes() {
    let p = policy(
        "circuit-breaker?failure-ratio=50%&min-calls=10&window=10s&open=5s&probes=1&max-attempts=1",
        1,
    );
    assert_eq!(p.breaker_state(), Some(BreakerState::Closed));

    // Below the minimum throughput nothing trips.
    for _ in 0..9 {
        let mut st = p.begin();
        assert!(p.admit(&mut st).is_ok());
        let _ = p.should_retry(&mut st, &RETRYABLE);
    }
    assert_eq!(p.breaker_state(), Some(BreakerState::Closed));
    // The tenth failure reaches min-calls at 100% failures: open.
    let mut st = p.begin();
    assert!(p.admit(&mut st).is_ok());
    let _ = p.should_retry(&mut st, &RETRYABLE);
    assert!(matches!(p.breaker_state(), Some(BreakerState::Open { .. })));

    // While open, calls are rejected locally.
    let mut st = p.begin();
    let Err(GiveUpReason::BreakerOpen { retry_in }) = p.admit(&mut st) else {
        panic!("breaker should reject");
    };
    assert_eq!(retry_in, Duration::from_secs(5));
    advance(Duration::from_secs(2)).await;
    assert!(matches!(
        p.admit(&mut st),
        Err(GiveUpReason::BreakerOpen { .. })
    ));

    // After the break: one probe goes through, a second caller is still rejected.
    advance(Duration::from_secs(3)).await;
    let mut probe = p.begin();
    assert!(p.admit(&mut probe).is_ok());
    assert_eq!(p.breaker_state(), Some(BreakerState::HalfOpen));
    let mut other = p.begin();
    assert!(matches!(
        p.admit(&mut other),
        Err(GiveUpReason::BreakerOpen { .. })
    ));

    // A failed probe re-opens for another break.
    let _ = p.should_retry(&mut probe, &RETRYABLE);
    assert!(matches!(p.breaker_state(), Some(BreakerState::Open { .. })));
    advance(Duration::from_secs(5)).await;

    // A successful probe closes it.
    let mut probe = p.begin();
    assert!(p.admit(&mut probe).is_ok());
    p.on_success(&probe);
    assert_eq!(p.breaker_state(), Some(BreakerState::Closed));
    let mut st = p.begin();
    assert!(p.admit(&mut st).is_ok());
}

#[tokio::test(start_paused = true)]
async fn breaker_ignores_validation_errors() {
    let p = policy(
        "circuit-breaker?failure-ratio=50%&min-calls=10&max-attempts=1",
        1,
    );
    for _ in 0..50 {
        let mut st = p.begin();
        assert!(p.admit(&mut st).is_ok());
        let _ = p.should_retry(&mut st, &Retryability::NotRetryable);
    }
    assert_eq!(p.breaker_state(), Some(BreakerState::Closed));
}

#[tokio::test(start_paused = true)]
async fn breaker_uses_polly_defaults() {
    let p = policy("circuit-breaker?max-attempts=1", 1);
    // 99 failures: below MinimumThroughput 100.
    for _ in 0..99 {
        let mut st = p.begin();
        assert!(p.admit(&mut st).is_ok());
        let _ = p.should_retry(&mut st, &RETRYABLE);
    }
    assert_eq!(p.breaker_state(), Some(BreakerState::Closed));
    let mut st = p.begin();
    assert!(p.admit(&mut st).is_ok());
    let _ = p.should_retry(&mut st, &RETRYABLE);
    let Some(BreakerState::Open { until }) = p.breaker_state() else {
        panic!("should be open");
    };
    assert_eq!(until, Instant::now() + Duration::from_secs(5));
}

// ---------------------------------------------------------------------------------------------
// Adaptive throttling
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn adaptive_rejects_locally_under_sustained_failure() {
    let p = policy("adaptive?max-attempts=1", 5);
    let mut sent = 0;
    for _ in 0..1000 {
        let mut st = p.begin();
        if p.admit(&mut st).is_ok() {
            sent += 1;
            let _ = p.should_retry(&mut st, &RETRYABLE);
        }
        advance(ms(50)).await;
    }
    assert!(
        sent < 50,
        "{sent} of 1000 requests reached a failing backend"
    );
    assert!(p.reject_probability().is_some_and(|q| q > 0.95));
    assert_eq!(p.stats().rejected_locally, 1000 - sent);
}

#[tokio::test(start_paused = true)]
async fn adaptive_lets_healthy_traffic_through() {
    let p = policy("adaptive?max-attempts=1", 5);
    for _ in 0..1000 {
        let mut st = p.begin();
        assert!(p.admit(&mut st).is_ok());
        p.on_success(&st);
        advance(ms(50)).await;
    }
    assert_eq!(p.reject_probability(), Some(0.0));
    // At 50% failure with K = 2, requests ≈ 2·accepts: still (almost) no local rejection.
    let p = policy("adaptive?max-attempts=1", 5);
    let mut rejected = 0;
    for i in 0..1000 {
        let mut st = p.begin();
        if p.admit(&mut st).is_err() {
            rejected += 1;
            continue;
        }
        if i % 2 == 0 {
            p.on_success(&st);
        } else {
            let _ = p.should_retry(&mut st, &RETRYABLE);
        }
        advance(ms(50)).await;
    }
    assert!(rejected < 30, "{rejected} rejected at 50% failure");
}

#[tokio::test(start_paused = true)]
async fn adaptive_forgets_after_its_window() {
    let p = policy("adaptive?max-attempts=1&window=2m", 5);
    for _ in 0..200 {
        let mut st = p.begin();
        if p.admit(&mut st).is_ok() {
            let _ = p.should_retry(&mut st, &RETRYABLE);
        }
    }
    assert!(p.reject_probability().is_some_and(|q| q > 0.9));
    advance(Duration::from_secs(121)).await;
    assert_eq!(p.reject_probability(), Some(0.0));
}

// ---------------------------------------------------------------------------------------------
// Strategy strings
// ---------------------------------------------------------------------------------------------

#[test]
fn every_strategy_name_parses_and_round_trips() {
    for name in loadgen::retry::spec::STRATEGY_NAMES {
        let spec: RetrySpec = name.parse().expect("name parses");
        assert_eq!(spec.name, name);
        let canonical = spec.to_string();
        let again: RetrySpec = canonical.parse().expect("canonical form parses");
        assert_eq!(again, spec, "round trip of {canonical}");
    }
}

#[test]
fn parameters_are_applied() {
    let spec: RetrySpec = "exponential?base=50ms&cap=20s&max-attempts=5&budget=sre"
        .parse()
        .expect("parses");
    assert_eq!(
        spec.backoff,
        Backoff::Exponential {
            base: ms(50),
            cap: Duration::from_secs(20)
        }
    );
    assert_eq!(spec.max_attempts, Some(5));
    assert_eq!(spec.budget, Some(loadgen::retry::BudgetConfig::SRE));

    // Comma separators, for use inside builtin:resilient?retry=…
    let spec: RetrySpec = "circuit-breaker?backoff=decorrelated,base=1s,open=30s,min-calls=20"
        .parse()
        .expect("parses");
    assert_eq!(
        spec.backoff,
        Backoff::Decorrelated {
            base: ms(1000),
            cap: ms(2000)
        }
    );
    let loadgen::retry::Gate::CircuitBreaker(cb) = spec.gate else {
        panic!("not a breaker");
    };
    assert_eq!(cb.break_duration, Duration::from_secs(30));
    assert_eq!(cb.min_throughput, 20);

    let spec: RetrySpec = "token-bucket?flavor=brooker&fill=0.2"
        .parse()
        .expect("parses");
    assert_eq!(
        spec.gate,
        loadgen::retry::Gate::TokenBucket(loadgen::retry::TokenBucketConfig::Brooker {
            capacity: 5.0,
            fill_per_call: 0.2,
            retry_cost: 1.0
        })
    );
    assert_eq!(
        spec.budget, None,
        "gated strategies bound retries themselves"
    );
    let spec: RetrySpec = "full-jitter".parse().expect("parses");
    assert_eq!(spec.budget, Some(loadgen::retry::BudgetConfig::FINAGLE));
    assert_eq!(spec.max_attempts, Some(3));
}

#[test]
fn bad_strings_are_rejected_with_the_offending_part() {
    let err = |s: &str| s.parse::<RetrySpec>().expect_err(s);
    assert!(matches!(err("fast-jitter"), SpecError::UnknownStrategy(n) if n == "fast-jitter"));
    assert!(
        matches!(err("exponential?bse=5ms"), SpecError::UnknownParam { key, .. } if key == "bse")
    );
    assert!(matches!(
        err("fixed?cap=1s"),
        SpecError::UnknownParam { .. }
    ));
    assert!(matches!(
        err("none?base=1s"),
        SpecError::UnknownParam { .. }
    ));
    assert!(matches!(
        err("full-jitter?backoff=none"),
        SpecError::UnknownParam { .. }
    ));
    assert!(
        matches!(err("exponential?base=soon"), SpecError::BadValue { key, .. } if key == "base")
    );
    assert!(matches!(
        err("exponential?max-attempts=0"),
        SpecError::BadValue { .. }
    ));
    assert!(matches!(err("adaptive?k"), SpecError::Malformed(_)));
    assert!(matches!(
        err("circuit-breaker?failure-ratio=150%"),
        SpecError::BadValue { .. }
    ));
    assert!(matches!(
        err("token-bucket?flavor=gcp"),
        SpecError::BadValue { .. }
    ));
}

// ---------------------------------------------------------------------------------------------
// The retry loop
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn run_with_retry_sleeps_the_policy_delays() {
    let p = policy("exponential?base=5ms&cap=1s&budget=off&max-attempts=5", 1);
    let start = Instant::now();
    let mut calls = 0;
    let out: Result<&str, _> = run_with_retry(&p, || {
        calls += 1;
        let n = calls;
        async move {
            if n < 3 {
                Err(Retryability::Retryable)
            } else {
                Ok("done")
            }
        }
    })
    .await;
    assert_eq!(out.ok(), Some("done"));
    assert_eq!(calls, 3);
    assert_eq!(Instant::now() - start, ms(10 + 20));
    let stats = p.stats();
    assert_eq!(
        (
            stats.operations,
            stats.attempts,
            stats.retries,
            stats.successes
        ),
        (1, 3, 2, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn run_with_retry_reports_why_it_gave_up() {
    let p = policy("exponential?budget=off&max-attempts=4", 1);
    let err = run_with_retry(&p, || async { Err::<(), _>(Retryability::Retryable) })
        .await
        .expect_err("always fails");
    assert_eq!(err.reason, GiveUpReason::MaxAttempts { attempts: 4 });
    assert_eq!(err.attempts, 4);
    assert_eq!(err.last_error, Some(Retryability::Retryable));

    let err = run_with_retry(&p, || async { Err::<(), _>(Retryability::NotRetryable) })
        .await
        .expect_err("always fails");
    assert_eq!((err.reason, err.attempts), (GiveUpReason::NotRetryable, 1));

    // Without a re-login hook an expired session ends the loop instead of retrying blindly.
    let err = run_with_retry(&p, || async {
        Err::<(), _>(Retryability::RetryableAfterReauth)
    })
    .await
    .expect_err("always fails");
    assert_eq!(err.reason, GiveUpReason::ReauthRequired);
}

#[tokio::test(start_paused = true)]
async fn run_with_retry_reauth_logs_in_before_retrying() {
    let p = policy("full-jitter", 1);
    let logged_in = std::cell::Cell::new(false);
    let logins = std::cell::Cell::new(0);
    let out = run_with_retry_reauth(
        &p,
        || {
            let ok = logged_in.get();
            async move {
                if ok {
                    Ok(42)
                } else {
                    Err(Retryability::RetryableAfterReauth)
                }
            }
        },
        || {
            logged_in.set(true);
            logins.set(logins.get() + 1);
            async { Ok(()) }
        },
    )
    .await;
    assert_eq!(out.ok(), Some(42));
    assert_eq!(logins.get(), 1);
}

#[tokio::test(start_paused = true)]
async fn run_with_retry_is_rejected_by_an_open_breaker_without_calling() {
    let p = policy(
        "circuit-breaker?min-calls=2&failure-ratio=0.5&max-attempts=1",
        1,
    );
    for _ in 0..2 {
        let _ = run_with_retry(&p, || async { Err::<(), _>(Retryability::Retryable) }).await;
    }
    let mut called = false;
    let err = run_with_retry(&p, || {
        called = true;
        async { Ok::<(), Retryability>(()) }
    })
    .await
    .expect_err("breaker open");
    assert!(!called);
    assert!(err.reason.is_local_rejection());
    assert_eq!(err.attempts, 0);
    assert!(err.last_error.is_none());
}

#[tokio::test(start_paused = true)]
async fn clones_share_state() {
    let p = policy("token-bucket?max-attempts=inf", 1);
    let q = p.clone();
    let mut st = q.begin();
    let _ = q.should_retry(&mut st, &RETRYABLE);
    assert_eq!(p.quota_tokens(), Some(495.0));
}
