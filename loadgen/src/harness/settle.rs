//! Ending the drain early once a reference integration has finished its work (`sfchaos compare`).
//!
//! A comparison runs the same scenario many times, and the drain is sized for the slowest strategy;
//! waiting it out for every run would multiply the wall time by the number of strategies. A
//! builtin integration says on `/metrics` how many accepted events it wrote or gave up on, so the
//! harness can tell when nothing is owed any more. The run then ends once, in addition, no event is
//! awaiting its reply and the integration has sent Salesforce nothing (CometD long-polls aside)
//! for [`QUIET`]. Nothing measured changes: the work and every request it caused are over.

use std::time::Duration;

use hyper::Uri;
use simulator::journal::Api;
use simulator::SimState;
use tokio_util::task::TaskTracker;

use super::http::HttpClient;

/// How long the integration must have been silent towards Salesforce.
pub const QUIET: Duration = Duration::from_secs(1);
/// How often the condition is checked.
const POLL: Duration = Duration::from_millis(200);

/// Resolves once the integration at `metrics_uri` has written or given up on every event it
/// accepted, no event awaits its reply, and `user` has been quiet for [`QUIET`].
pub async fn settled(
    state: &SimState,
    user: &str,
    client: &HttpClient,
    metrics_uri: &Uri,
    in_flight: &TaskTracker,
) {
    let mut seen = state.journal.len();
    let mut last_request_end_us = 0u64;
    loop {
        tokio::time::sleep(POLL).await;
        let (total, new) = state.journal.appended_since(seen);
        seen = total;
        for e in new {
            if e.user.as_deref() == Some(user) && e.api != Api::Streaming {
                last_request_end_us = last_request_end_us.max(e.t_us.saturating_add(e.latency_us));
            }
        }
        let now_us = u64::try_from(state.clock.elapsed().as_micros()).unwrap_or(u64::MAX);
        let quiet = now_us.saturating_sub(last_request_end_us) >= QUIET.as_micros() as u64;
        if !quiet || !in_flight.is_empty() {
            continue;
        }
        let Ok(reply) = client.get(metrics_uri, Duration::from_secs(2)).await else {
            continue;
        };
        if reply.status == 200 && work_done(&String::from_utf8_lossy(&reply.body)) {
            return;
        }
    }
}

/// Whether a builtin integration's `/metrics` says every accepted event was written or dropped and
/// nothing is queued.
pub fn work_done(metrics: &str) -> bool {
    let value = |name: &str| -> Option<f64> {
        metrics.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?;
            rest.strip_prefix(' ')?.trim().parse().ok()
        })
    };
    match (
        value("integration_events_accepted_total"),
        value("integration_events_written_total"),
        value("integration_events_dropped_total"),
        value("integration_queue_depth"),
    ) {
        (Some(accepted), Some(written), Some(dropped), Some(depth)) => {
            written + dropped >= accepted && depth == 0.0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_when_every_accepted_event_is_accounted_for() {
        let text = |w: u32, d: u32, q: u32| {
            format!(
                "# HELP x\nintegration_events_accepted_total 10\nintegration_events_written_total {w}\n\
                 integration_events_dropped_total {d}\nintegration_queue_depth {q}\n"
            )
        };
        assert!(work_done(&text(9, 1, 0)));
        assert!(!work_done(&text(8, 1, 0)));
        assert!(!work_done(&text(10, 0, 2)));
        assert!(!work_done("not metrics"));
    }
}
