//! `changes.ndjson`: every committed record change (and platform event) in the org, streamed
//! from the org's change log as it happens: per-record history (writer, time, fields) for the
//! scorer, kept outside the simulator's bounded ring.
//!
//! Each line is the simulator's [`Change`] (`seq`, `object`, `record_id`, `change_type`,
//! `commit_ms`, `commit_user`, `origin`, `client`, `changed_fields`, `nulled_fields`, `fields`,
//! …) plus `t_us`, its commit time on the scenario clock (millisecond precision; negative before
//! load started). Should the ring ever drop changes before they are read, a line
//! `{"gap": {"after": N, "next": M}}` says which sequence numbers are missing.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use simulator::org::changes::Change;
use simulator::org::Org;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::evidence::NdjsonLog;

#[derive(Serialize)]
struct ChangeLine<'a> {
    t_us: i64,
    #[serde(flatten)]
    change: &'a Change,
}

/// Streams the org's changes into `log` until `stop`, then writes whatever is left. Returns the
/// number of changes written. `zero_epoch_ms` is the wall-clock time of scenario time zero.
pub fn spawn(
    org: Arc<Org>,
    zero_epoch_ms: i64,
    log: NdjsonLog,
    stop: CancellationToken,
) -> JoinHandle<u64> {
    tokio::spawn(async move {
        let mut notify = org.changes.subscribe();
        let mut last = 0u64;
        let mut written = 0u64;
        loop {
            written += drain(&org, &mut last, zero_epoch_ms, &log);
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                changed = notify.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        written + drain(&org, &mut last, zero_epoch_ms, &log)
    })
}

fn drain(org: &Org, last: &mut u64, zero_epoch_ms: i64, log: &NdjsonLog) -> u64 {
    let mut written = 0;
    loop {
        let batch = org.changes.since(*last, 4_096);
        let Some(first) = batch.first() else {
            return written;
        };
        if first.seq > *last + 1 {
            log.write(&json!({"gap": {"after": *last, "next": first.seq}}));
        }
        for change in &batch {
            log.write(&ChangeLine {
                t_us: change
                    .commit_ms
                    .saturating_sub(zero_epoch_ms)
                    .saturating_mul(1_000),
                change,
            });
            *last = change.seq;
            written += 1;
        }
    }
}
