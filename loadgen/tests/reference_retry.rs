//! The resilient profile's write path really runs the retry strategy it is given: with Salesforce
//! unreachable, the waits it takes are the strategy's (exactly the seeded sequence, for the pure
//! backoff strategies) and the gated strategies' gates engage.

mod reference_support;

use std::time::Duration;

use loadgen::reference::{Config, Running};
use loadgen::retry::{BreakerState, Decision, RetryPolicy, RetryState, Retryability};
use reference_support::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

/// A resilient integration cut off from Salesforce, and what it needs kept alive.
struct Outage {
    running: Running,
    config: Config,
    _sim: Sim,
    _proxy: Proxy,
    _state: tempfile::TempDir,
}

/// Start resilient with `strategy`, make Salesforce unreachable, post one event, and wait until
/// `enough` holds.
async fn outage_with(strategy: &str, enough: impl Fn(&Running) -> bool) -> Outage {
    let sim = Sim::start().await;
    let proxy = Proxy::start(sim.https_addr()).await;
    let (state, mut env) = environment_with_state(proxy.addr, sim.ca_file.path());
    env.insert("SFCHAOS_RETRY".into(), strategy.into());
    let config = config("resilient", &env);
    let running = start(config.clone()).await;
    assert!(running.salesforce_ready().await);
    proxy.cut();
    let (status, _) = post_event(
        &http(),
        &running,
        &event("r-1", "R-1", json!({"Name": "R"})),
    )
    .await;
    assert_eq!(status, 202);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !enough(&running) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{strategy}: timed out; stats {:?}",
            running.retry_stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Outage {
        running,
        config,
        _sim: sim,
        _proxy: proxy,
        _state: state,
    }
}

/// The waits a fresh policy with the integration's seed draws for operations that each fail
/// `attempts` times — what the integration must have waited.
fn expected_delays(config: &Config, count: usize) -> Vec<Duration> {
    let policy = RetryPolicy::from_seed(config.retry.clone(), config.seed_for("salesforce"));
    let mut out = Vec::new();
    let mut state: Option<RetryState> = None;
    while out.len() < count {
        let st = state.get_or_insert_with(|| policy.begin());
        policy.admit(st).expect("no gate");
        match policy.should_retry(st, &Retryability::Retryable) {
            Decision::RetryAfter(d) => out.push(d),
            Decision::GiveUp(_) => state = None,
        }
    }
    out
}

async fn pure_backoff(strategy: &str) {
    let o = outage_with(strategy, |r| r.retry_delays().len() >= 6).await;
    let seen: Vec<Duration> = o.running.retry_delays().into_iter().take(6).collect();
    assert_eq!(seen, expected_delays(&o.config, 6), "{strategy}");
    // Six waits = two retries in each of three operations (three attempts each, the last one's
    // third possibly still on its way).
    let stats = o.running.retry_stats();
    assert!(
        stats.operations >= 3 && stats.attempts >= 8,
        "{strategy}: {stats:?}"
    );
    o.running.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn none_retries_at_once() {
    pure_backoff("none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_waits_the_same() {
    pure_backoff("fixed?delay=15ms").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exponential_doubles() {
    pure_backoff("exponential?base=2ms&cap=40ms").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_jitter_is_the_seeded_sequence() {
    pure_backoff("full-jitter?base=2ms&cap=40ms").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_jitter_is_the_seeded_sequence() {
    pure_backoff("equal-jitter?base=2ms&cap=40ms").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decorrelated_is_the_seeded_sequence() {
    pure_backoff("decorrelated?base=2ms&cap=40ms").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_bucket_spends_its_quota() {
    let spec = "token-bucket?base=2ms&cap=20ms&capacity=50&cost=5";
    let o = outage_with(spec, |r| r.retry_stats().quota_denied > 0).await;
    assert_eq!(
        o.running.retry_policy().quota_tokens().map(|t| t < 5.0),
        Some(true)
    );
    let (_, ceiling) = o.config.retry.backoff.bounds(2, Duration::ZERO);
    for (n, d) in o.running.retry_delays().iter().enumerate() {
        assert!(
            *d <= ceiling,
            "wait {n} = {d:?} above the full-jitter ceiling {ceiling:?}"
        );
    }
    o.running.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circuit_breaker_opens() {
    let spec = "circuit-breaker?base=2ms&cap=20ms&min-calls=4&failure-ratio=0.5&window=30s&open=2s";
    let o = outage_with(spec, |r| r.retry_stats().rejected_locally > 0).await;
    assert!(matches!(
        o.running.retry_policy().breaker_state(),
        Some(BreakerState::Open { .. })
    ));
    o.running.shutdown().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_throttles_locally() {
    let spec = "adaptive?base=2ms&cap=20ms&k=1.1";
    let o = outage_with(spec, |r| r.retry_stats().rejected_locally > 0).await;
    assert!(o
        .running
        .retry_policy()
        .reject_probability()
        .is_some_and(|p| p > 0.3));
    o.running.shutdown().await.expect("stop");
}
