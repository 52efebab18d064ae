//! `/batch` loads: where `batch_realtime_mixing` and the Bulk half of `partial_failures` are decided.
//!
//! * `batch_realtime_mixing` **on**: every load becomes a Bulk 2.0 job the moment it arrives, peak
//!   or not, however small, several at once.
//! * **off**: loads are taken one at a time. Fewer than [`BULK_MIN_ROWS`] rows go through sObject
//!   Collections (200 per call), pausing while real-time events are queued, so a load never delays
//!   real-time work. Larger loads wait for off-peak (`SFCHAOS_PEAK`) and for API usage below 90 %,
//!   then run as one Bulk 2.0 upsert job at a time, rows sorted by parent so batches contend less
//!   for parent locks (Bulk 2.0 has no serial mode; one job at a time is the serial part).
//! * `partial_failures` (see `job.rs`) decides what happens to failed rows.

mod job;
mod rows;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};
use tokio::task::JoinSet;

use super::engine::Engine;
use super::metrics::add;
use super::store::BatchLoad;

/// Salesforce's guidance: Bulk API above 2,000 records, Composite/Collections below.
pub const BULK_MIN_ROWS: usize = 2_000;
/// API usage above which a large load waits.
const USAGE_HOLD: f64 = 0.9;
/// Longest single wait before checking the peak windows again.
const PEAK_RECHECK: Duration = Duration::from_secs(30);
/// Reference fields rows are sorted by, in order of preference (children of one parent together).
const PARENT_FIELDS: [&str; 4] = ["AccountId", "ParentId", "WhatId", "OwnerId"];

/// Take `/batch` loads off the queue until shutdown.
pub(crate) async fn run(engine: Arc<Engine>) {
    let mut parallel = JoinSet::new();
    loop {
        let load = tokio::select! {
            l = engine.store.next_batch() => l,
            _ = engine.shutdown.cancelled() => return,
        };
        if !engine.wait_logged_in().await {
            engine.store.return_batch(load);
            return;
        }
        if engine.behaviour.batch_realtime_mixing {
            let engine = Arc::clone(&engine);
            parallel.spawn(async move { engine.load_now(load).await });
            while parallel.try_join_next().is_some() {}
        } else if !engine.load_carefully(load).await {
            return;
        }
    }
}

impl Engine {
    /// The anti-pattern: straight to Bulk, whatever the size or the hour.
    async fn load_now(&self, load: BatchLoad) {
        let rows = load.records.len();
        tracing::info!("bulk: loading {rows} {} rows now", load.object);
        match self.bulk_load(&load, load.records.clone()).await {
            Some(()) => self.store.complete_batch(&load.id),
            None => self.store.return_batch(load),
        }
    }

    /// One load at a time, small ones through Collections, large ones off-peak through Bulk.
    /// `false` on shutdown (the load stays queued).
    async fn load_carefully(&self, load: BatchLoad) -> bool {
        let rows = load.records.len();
        let use_bulk = rows >= BULK_MIN_ROWS && self.caps.bulk();
        if use_bulk && !self.wait_for_quiet_hours(rows).await {
            self.store.return_batch(load);
            return false;
        }
        let mut records = load.records.clone();
        sort_by_parent(&mut records);
        let done = if use_bulk {
            self.bulk_load(&load, records).await
        } else {
            self.collections_load(&load, records).await
        };
        match done {
            Some(()) => {
                self.store.complete_batch(&load.id);
                true
            }
            None => {
                self.store.return_batch(load);
                false
            }
        }
    }

    /// Wait while it is peak time or the daily allocation is nearly spent. `false` on shutdown.
    async fn wait_for_quiet_hours(&self, rows: usize) -> bool {
        loop {
            let peak = self.config.peak.remaining_peak(SystemTime::now());
            let usage = self.api_usage();
            let wait = match peak {
                Some(left) => left.unwrap_or(PEAK_RECHECK).min(PEAK_RECHECK),
                None if usage >= USAGE_HOLD => PEAK_RECHECK,
                None => return true,
            };
            tracing::info!(
                "bulk: holding a {rows}-row load ({}; checking again in {wait:?})",
                if peak.is_some() {
                    "peak hours"
                } else {
                    "API usage above 90 %"
                }
            );
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.shutdown.cancelled() => return false,
            }
        }
    }

    fn api_usage(&self) -> f64 {
        use std::sync::atomic::Ordering;
        let max = self.metrics.api_max.load(Ordering::Relaxed);
        if max == 0 {
            return 0.0;
        }
        self.metrics.api_used.load(Ordering::Relaxed) as f64 / max as f64
    }

    /// Count rows of a load that ended written or failed.
    fn count_rows(&self, written: usize, failed: usize) {
        add(&self.metrics.batch_written, written as u64);
        add(&self.metrics.batch_failed, failed as u64);
    }
}

/// Sort rows so children of one parent sit together (stable: otherwise input order).
fn sort_by_parent(records: &mut [Map<String, Value>]) {
    let Some(field) = PARENT_FIELDS
        .iter()
        .find(|f| records.iter().any(|r| r.contains_key(**f)))
    else {
        return;
    };
    records.sort_by(|a, b| {
        let key =
            |r: &Map<String, Value>| r.get(*field).and_then(Value::as_str).map(str::to_string);
        key(a).cmp(&key(b))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn children_of_one_parent_are_grouped() {
        let mut rows: Vec<Map<String, Value>> = [("B", 1), ("A", 2), ("B", 3), ("A", 4)]
            .iter()
            .map(|(p, n)| {
                json!({"AccountId": p, "N": n})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        sort_by_parent(&mut rows);
        let order: Vec<i64> = rows.iter().filter_map(|r| r["N"].as_i64()).collect();
        assert_eq!(order, [2, 4, 1, 3]);
    }
}
