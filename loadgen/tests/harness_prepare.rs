//! Event bodies encoded ahead of their send: the same bytes as encoding at send time, for the
//! events the driver dispatches, whichever it dropped.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use loadgen::datagen::{account_fields, EventBuilder, KeyDistribution, KeyPool, StreamSpec};
use loadgen::harness::convert::StreamSchedule;
use loadgen::harness::evidence::RunClock;
use loadgen::harness::prepare::{Encoder, Prepared, AHEAD};
use loadgen::scenario::RateSpec;

fn builder() -> Arc<EventBuilder> {
    let spec = StreamSpec {
        name: "orders".into(),
        object: "Account".into(),
        external_id_field: "External_Id__c".into(),
        kind: Default::default(),
        delete_fraction: 0.2,
        keys: KeyPool::new(1_000, KeyDistribution::Zipf { exponent: 1.1 }),
        fields: account_fields(),
    };
    Arc::new(EventBuilder::new(&spec, 3).expect("valid"))
}

/// Waits (bounded) until the encoder has `n` events ready.
fn wait_ready(encoder: &Encoder, n: usize) {
    let give_up = Instant::now() + Duration::from_secs(20);
    while encoder.ready() < n {
        assert!(Instant::now() < give_up, "only {} ready", encoder.ready());
        std::thread::yield_now();
    }
}

#[tokio::test]
async fn bodies_encoded_ahead_are_the_ones_encoded_at_send_time() {
    let builder = builder();
    let clock = RunClock {
        start: tokio::time::Instant::now(),
        wall_start: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    };
    // 3,000 events over 10 s, Poisson: offsets are not multiples of anything.
    let schedule = StreamSchedule::new(
        &RateSpec::Poisson { rate: 300.0 },
        Duration::from_secs(10),
        9,
        None,
    )
    .expect("schedule");
    let start = Duration::from_millis(1_500);
    let arrivals: Vec<_> = schedule.arrivals().collect();
    assert!(arrivals.len() > AHEAD / 2, "{} arrivals", arrivals.len());
    let mut encoder = Encoder::spawn(
        "orders",
        Arc::clone(&builder),
        schedule.arrivals(),
        clock,
        start,
    );
    let mut taken = 0;
    for (i, arrival) in arrivals.iter().enumerate() {
        if i % 100 == 0 {
            // Ahead by what is left, up to its limit (less the chunk being taken).
            wait_ready(&encoder, (arrivals.len() - i).min(AHEAD - 64));
        }
        // The driver drops some events: their bodies are skipped, not handed to the next.
        if i % 7 == 3 {
            continue;
        }
        let offset = start + arrival.at;
        let expected = Prepared::encode(&builder, &clock, arrival.seq, offset);
        let got = encoder.take(arrival.seq).expect("encoded ahead");
        assert_eq!(got.seq, arrival.seq);
        assert_eq!(got.body, expected.body, "event {}", arrival.seq);
        assert_eq!(got.parts, expected.parts);
        taken += 1;
    }
    assert!(taken > 2_000);
    // Asking out of order (a sequence number already passed) never hands over another's body.
    assert!(encoder.take(0).is_none());
}
