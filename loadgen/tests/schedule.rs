//! Arrival schedules and the driver. Driver tests run on a paused tokio clock, so seconds of
//! schedule take microseconds of wall time and every instant is exact.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use loadgen::schedule::{
    Arrival, Driver, DriverConfig, RateSpec, Schedule, ScheduleError, Step, Ticket,
};
use proptest::prelude::*;
use tokio::time::Instant;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn instants(spec: RateSpec, duration: f64, seed: u64) -> Vec<Duration> {
    Schedule::new(spec, secs(duration), seed)
        .expect("valid spec")
        .instants()
        .collect()
}

/// Events in `[from, to)` seconds.
fn count_in(v: &[Duration], from: f64, to: f64) -> usize {
    v.iter()
        .filter(|d| d.as_secs_f64() >= from && d.as_secs_f64() < to)
        .count()
}

fn assert_close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} not within {tolerance} of {expected}"
    );
}

#[test]
fn constant_rate_is_evenly_spaced_from_zero_and_bounded_by_duration() {
    let v = instants(RateSpec::Constant(10.0), 2.0, 0);
    assert_eq!(v.len(), 20);
    assert_eq!(v[0], Duration::ZERO);
    for (k, d) in v.iter().enumerate() {
        assert_close(d.as_secs_f64(), k as f64 / 10.0, 1e-9);
    }
    assert!(v.iter().all(|d| *d < secs(2.0)));
}

#[test]
fn zero_rate_yields_nothing() {
    assert!(instants(RateSpec::Constant(0.0), 10.0, 0).is_empty());
    assert!(instants(RateSpec::Poisson(0.0), 10.0, 0).is_empty());
}

#[test]
fn ramp_follows_the_integral_of_a_linear_rate_then_holds() {
    let spec = RateSpec::Ramp {
        from: 0.0,
        to: 100.0,
        over: secs(10.0),
    };
    let v = instants(spec.clone(), 12.0, 0);
    // ∫0..10 of 10t dt = 500, then 2 s at 100/s.
    assert_close(v.len() as f64, 700.0, 1.0);
    assert_close(spec.expected_events(secs(12.0)), 700.0, 1e-9);
    // Second n of the ramp carries 10n − 5 events.
    for n in 1..=10 {
        let want = 10.0 * n as f64 - 5.0;
        assert_close(count_in(&v, n as f64 - 1.0, n as f64) as f64, want, 1.0);
    }
    assert_eq!(count_in(&v, 10.0, 11.0), 100);
    assert_eq!(count_in(&v, 11.0, 12.0), 100);
    assert!(v.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn ramp_down_is_symmetric() {
    let v = instants(
        RateSpec::Ramp {
            from: 100.0,
            to: 0.0,
            over: secs(10.0),
        },
        15.0,
        0,
    );
    assert_close(v.len() as f64, 500.0, 1.0);
    assert_eq!(count_in(&v, 10.0, 15.0), 0, "holds the final rate of 0");
    assert_close(count_in(&v, 0.0, 1.0) as f64, 95.0, 1.0);
}

#[test]
fn steps_run_in_order_and_stop_after_the_last() {
    let v = instants(
        RateSpec::Steps(vec![
            Step {
                rate: 10.0,
                duration: secs(1.0),
            },
            Step {
                rate: 0.0,
                duration: secs(1.0),
            },
            Step {
                rate: 20.0,
                duration: secs(1.0),
            },
        ]),
        5.0,
        0,
    );
    assert_eq!(count_in(&v, 0.0, 1.0), 10);
    assert_eq!(count_in(&v, 1.0, 2.0), 0);
    assert_eq!(count_in(&v, 2.0, 3.0), 20);
    assert_eq!(count_in(&v, 3.0, 5.0), 0);
    assert_eq!(v.len(), 30);
}

#[test]
fn poisson_is_deterministic_per_seed_with_the_right_mean_and_exponential_gaps() {
    let a = instants(RateSpec::Poisson(50.0), 100.0, 7);
    let b = instants(RateSpec::Poisson(50.0), 100.0, 7);
    let c = instants(RateSpec::Poisson(50.0), 100.0, 8);
    assert_eq!(a, b);
    assert_ne!(a, c);
    // 5,000 expected; a Poisson count's σ is √5000 ≈ 71.
    assert_close(a.len() as f64, 5_000.0, 300.0);
    let gaps: Vec<f64> = a.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
    // Exponential gaps: mean 1/λ and coefficient of variation 1.
    assert_close(mean, 0.02, 0.002);
    assert_close(var.sqrt() / mean, 1.0, 0.1);
}

#[test]
fn bursts_add_simultaneous_events_on_top_of_the_base_rate() {
    let spec = RateSpec::Burst {
        base_rate: 10.0,
        every: secs(1.0),
        size: 5,
    };
    let v = instants(spec.clone(), 3.0, 0);
    assert_eq!(
        v.len(),
        30 + 2 * 5,
        "bursts at 1 s and 2 s, none at 0 or 3 s"
    );
    assert_close(spec.expected_events(secs(3.0)), 40.0, 1e-9);
    assert!(v.windows(2).all(|w| w[0] <= w[1]));
    // At 1 s: the base event plus the burst of 5.
    assert_eq!(v.iter().filter(|d| **d == secs(1.0)).count(), 6);
    assert_eq!(count_in(&v, 0.0, 1.0), 10);
}

#[test]
fn bursts_alone_when_the_base_rate_is_zero() {
    let v = instants(
        RateSpec::Burst {
            base_rate: 0.0,
            every: secs(10.0),
            size: 100,
        },
        35.0,
        0,
    );
    assert_eq!(v.len(), 300);
    for t in [10.0, 20.0, 30.0] {
        assert_eq!(v.iter().filter(|d| **d == secs(t)).count(), 100);
    }
}

#[test]
fn shards_partition_the_full_schedule_exactly() {
    for spec in [
        RateSpec::Constant(37.0),
        RateSpec::Poisson(37.0),
        RateSpec::Burst {
            base_rate: 5.0,
            every: secs(2.0),
            size: 7,
        },
    ] {
        let s = Schedule::new(spec.clone(), secs(10.0), 3).expect("valid");
        let full: Vec<Arrival> = s.arrivals().collect();
        let mut union: Vec<Arrival> = (0..3)
            .flat_map(|i| s.shard(i, 3).expect("valid shard").collect::<Vec<_>>())
            .collect();
        union.sort();
        assert_eq!(union, full, "{spec:?}");
        let first: Vec<u64> = s
            .shard(1, 3)
            .expect("valid")
            .map(|a| a.seq)
            .take(3)
            .collect();
        assert_eq!(first, vec![1, 4, 7]);
    }
}

#[test]
fn scaled_divides_every_rate() {
    let RateSpec::Constant(r) = RateSpec::Constant(90.0).scaled(1.0 / 3.0) else {
        panic!("stays constant");
    };
    assert_close(r, 30.0, 1e-9);
    let burst = RateSpec::Burst {
        base_rate: 9.0,
        every: secs(1.0),
        size: 10,
    }
    .scaled(0.5);
    assert_eq!(
        burst,
        RateSpec::Burst {
            base_rate: 4.5,
            every: secs(1.0),
            size: 5
        }
    );
    let steps = RateSpec::Steps(vec![Step {
        rate: 8.0,
        duration: secs(1.0),
    }])
    .scaled(0.25);
    assert_eq!(
        steps,
        RateSpec::Steps(vec![Step {
            rate: 2.0,
            duration: secs(1.0)
        }])
    );
}

#[test]
fn invalid_specs_are_rejected_with_the_setting_named() {
    let err = |spec| Schedule::new(spec, secs(1.0), 0).expect_err("invalid");
    assert!(matches!(
        err(RateSpec::Constant(-1.0)),
        ScheduleError::InvalidRate {
            what: "constant",
            ..
        }
    ));
    assert!(matches!(
        err(RateSpec::Poisson(f64::NAN)),
        ScheduleError::InvalidRate {
            what: "poisson",
            ..
        }
    ));
    assert_eq!(
        err(RateSpec::Ramp {
            from: 0.0,
            to: 1.0,
            over: Duration::ZERO
        }),
        ScheduleError::ZeroDuration { what: "ramp.over" }
    );
    assert_eq!(
        err(RateSpec::Burst {
            base_rate: 1.0,
            every: Duration::ZERO,
            size: 1
        }),
        ScheduleError::ZeroDuration {
            what: "burst.every"
        }
    );
    let s = Schedule::new(RateSpec::Constant(1.0), secs(1.0), 0).expect("valid");
    assert!(s.shard(3, 3).is_err());
    assert!(s.shard(0, 0).is_err());
    assert!(Driver::new(DriverConfig {
        max_in_flight: 0,
        ..DriverConfig::default()
    })
    .is_err());
}

#[test]
fn huge_schedules_are_lazy() {
    // An hour at a million events/s: 3.6e9 instants, never materialised.
    let s = Schedule::new(RateSpec::Constant(1e6), secs(3_600.0), 0).expect("valid");
    let mut it = s.instants();
    let t = it.nth(2_000_000).expect("present");
    assert_close(t.as_secs_f64(), 2.0, 1e-6);
}

#[test]
fn rate_specs_read_like_the_scenario_toml() {
    #[derive(serde::Deserialize)]
    struct Doc {
        a: RateSpec,
        b: RateSpec,
        c: RateSpec,
        d: RateSpec,
        e: RateSpec,
    }
    let doc: Doc = toml::from_str(
        r#"
        a = { constant = 50 }
        b = { poisson = 2.5 }
        c = { ramp = { from = 0, to = 100, over = "30s" } }
        d = { steps = [{ rate = 10, duration = "1m" }, { rate = 20, duration = "500ms" }] }
        e = { burst = { base_rate = 5, every = "1m", size = 200 } }
        "#,
    )
    .expect("parses");
    assert_eq!(doc.a, RateSpec::Constant(50.0));
    assert_eq!(doc.b, RateSpec::Poisson(2.5));
    assert_eq!(
        doc.c,
        RateSpec::Ramp {
            from: 0.0,
            to: 100.0,
            over: secs(30.0)
        }
    );
    assert_eq!(
        doc.d,
        RateSpec::Steps(vec![
            Step {
                rate: 10.0,
                duration: secs(60.0)
            },
            Step {
                rate: 20.0,
                duration: secs(0.5)
            }
        ])
    );
    assert_eq!(
        doc.e,
        RateSpec::Burst {
            base_rate: 5.0,
            every: secs(60.0),
            size: 200
        }
    );
    let bad: Result<Doc, _> = toml::from_str(
        "a = { constnt = 5 }\nb={poisson=1}\nc={poisson=1}\nd={poisson=1}\ne={poisson=1}",
    );
    assert!(bad.is_err());
    #[derive(Debug, serde::Deserialize)]
    struct One {
        #[allow(dead_code)]
        r: RateSpec,
    }
    let extra =
        toml::from_str::<One>(r#"r = { ramp = { from = 0, to = 1, over = "1s", extra = 1 } }"#);
    assert!(extra.is_err(), "unknown keys inside a variant are errors");
    let back: RateSpec = toml::from_str::<toml::Value>(&toml::to_string(&doc.c).expect("ser"))
        .expect("toml")
        .try_into()
        .expect("de");
    assert_eq!(back, doc.c);
}

proptest! {
    #[test]
    fn constant_schedules_are_sorted_bounded_and_complete(rate in 0.1f64..500.0, dur in 0.1f64..20.0) {
        let v = instants(RateSpec::Constant(rate), dur, 0);
        prop_assert!(v.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(v.iter().all(|d| d.as_secs_f64() < dur));
        let expected = (rate * dur).ceil();
        prop_assert!((v.len() as f64 - expected).abs() <= 1.0, "{} vs {}", v.len(), expected);
    }

    #[test]
    fn piecewise_rates_never_go_backwards(a in 0.0f64..200.0, b in 0.0f64..200.0, over in 0.1f64..5.0) {
        let v = instants(RateSpec::Ramp { from: a, to: b, over: secs(over) }, over * 2.0, 0);
        prop_assert!(v.windows(2).all(|w| w[0] <= w[1]));
        let expected = RateSpec::Ramp { from: a, to: b, over: secs(over) }.expected_events(secs(over * 2.0));
        prop_assert!((v.len() as f64 - expected).abs() <= 1.5, "{} vs {}", v.len(), expected);
    }
}

// ---- driver -------------------------------------------------------------------------------

/// Spawns a worker per ticket that holds its slot for `hold(seq)`; records what it saw.
struct Harness {
    seen: Arc<Mutex<Vec<(u64, Instant, Instant)>>>,
}

impl Harness {
    fn new() -> Self {
        Harness {
            seen: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn dispatcher(&self, hold: impl Fn(u64) -> Duration + 'static) -> impl FnMut(Ticket) {
        let seen = Arc::clone(&self.seen);
        move |ticket: Ticket| {
            if let Ok(mut s) = seen.lock() {
                s.push((ticket.seq, ticket.intended, ticket.dispatched));
            }
            let d = hold(ticket.seq);
            tokio::spawn(async move {
                tokio::time::sleep(d).await;
                drop(ticket);
            });
        }
    }

    fn seen(&self) -> Vec<(u64, Instant, Instant)> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn config(max_in_flight: usize, max_lateness: Option<Duration>) -> DriverConfig {
    DriverConfig {
        max_in_flight,
        max_lateness,
        ..DriverConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn driver_dispatches_on_time_with_free_slots() {
    let s = Schedule::new(RateSpec::Constant(100.0), secs(1.0), 0).expect("valid");
    let driver = Driver::new(config(10, Some(secs(1.0)))).expect("valid");
    let h = Harness::new();
    let start = Instant::now();
    let stats = driver
        .run(
            start,
            s.arrivals(),
            h.dispatcher(|_| Duration::from_millis(5)),
        )
        .await;
    assert_eq!(
        (stats.scheduled, stats.dispatched, stats.late, stats.dropped),
        (100, 100, 0, 0)
    );
    for (seq, intended, dispatched) in h.seen() {
        assert_eq!(intended, start + Duration::from_millis(seq * 10));
        assert!(dispatched - intended <= Duration::from_millis(1));
    }
    driver.wait_idle().await;
    assert_eq!(driver.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn driver_sends_late_without_dropping_when_lateness_is_unbounded() {
    let s = Schedule::new(RateSpec::Constant(100.0), secs(1.0), 0).expect("valid");
    let driver = Driver::new(config(1, None)).expect("valid");
    let h = Harness::new();
    let start = Instant::now();
    // Every event holds the only slot for 15 ms while they are due every 10 ms.
    let stats = driver
        .run(
            start,
            s.arrivals(),
            h.dispatcher(|_| Duration::from_millis(15)),
        )
        .await;
    assert_eq!(stats.dispatched, 100);
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.late, 99, "all but the first fall behind");
    // The backlog grows 5 ms per event: the last is ~495 ms late, still timed from its intended instant.
    let last = h.seen().last().copied().expect("some");
    assert_eq!(last.1, start + Duration::from_millis(990));
    assert!((last.2 - last.1).as_millis().abs_diff(495) <= 1);
    assert_close(stats.max_late_ms, 495.0, 1.0);
}

#[tokio::test(start_paused = true)]
async fn driver_drops_events_whose_slot_comes_too_late() {
    let s = Schedule::new(RateSpec::Constant(100.0), secs(2.0), 0).expect("valid");
    let driver = Driver::new(config(1, Some(Duration::from_millis(100)))).expect("valid");
    let h = Harness::new();
    let start = Instant::now();
    // Event 10 (at 100 ms) stalls until 1.105 s; all others take 1 ms.
    let hold = |seq| {
        if seq == 10 {
            Duration::from_millis(1_005)
        } else {
            Duration::from_millis(1)
        }
    };
    let stats = driver.run(start, s.arrivals(), h.dispatcher(hold)).await;
    // Due at 0.11 … 1.00 s: their 100 ms grace ends before 1.105 s.
    assert_eq!(stats.dropped, 90);
    assert_eq!(stats.dispatched, 110);
    assert_eq!(stats.scheduled, stats.dispatched + stats.dropped);
    // 1.01 … 1.11 s go out late while the backlog clears at 1 ms each.
    assert_eq!(stats.late, 11);
    let seqs: Vec<u64> = h.seen().iter().map(|s| s.0).collect();
    assert!(!seqs.contains(&11) && !seqs.contains(&100) && seqs.contains(&101));
    let first_after = h
        .seen()
        .into_iter()
        .find(|s| s.0 == 101)
        .expect("dispatched");
    assert_eq!(first_after.2 - start, Duration::from_millis(1_105));
}

#[tokio::test(start_paused = true)]
async fn zero_lateness_is_k6_drop_when_no_slot_is_free() {
    let s = Schedule::new(RateSpec::Constant(100.0), secs(1.0), 0).expect("valid");
    let driver = Driver::new(config(1, Some(Duration::ZERO))).expect("valid");
    let h = Harness::new();
    let stats = driver
        .run(
            Instant::now(),
            s.arrivals(),
            h.dispatcher(|_| Duration::from_millis(25)),
        )
        .await;
    // A 25 ms hold at 10 ms spacing: one event in three finds the slot free.
    assert_eq!(stats.dispatched, 34);
    assert_eq!(stats.dropped, 66);
    assert_eq!(stats.late, 0);
}

#[tokio::test(start_paused = true)]
async fn counters_are_live_and_the_run_can_be_cancelled() {
    let s = Schedule::new(RateSpec::Constant(10.0), secs(100.0), 0).expect("valid");
    let driver = Driver::new(config(5, None)).expect("valid");
    let counters = driver.counters();
    let h = Harness::new();
    let run = driver.run(
        Instant::now(),
        s.arrivals(),
        h.dispatcher(|_| Duration::ZERO),
    );
    tokio::select! {
        _ = run => panic!("should not finish"),
        _ = tokio::time::sleep(secs(2.05)) => {}
    }
    let snap = counters.snapshot();
    assert_eq!(snap.dispatched, 21, "0.0 … 2.0 s");
    assert_eq!(snap.scheduled, 22, "the 2.1 s arrival was being waited for");
}
