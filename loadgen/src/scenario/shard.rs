//! `--shard I/N`: one of N disjoint slices of a scenario, for running a big load from several
//! machines (design.md §9).
//!
//! Each shard runs its own harness and simulator (its own org), so a shard is the scenario
//! scaled by 1/N:
//! - every rate (load streams and actors) is divided by N; burst sizes and batch sizes are split
//!   as evenly as integers allow;
//! - key spaces are split: shard I owns the key indices `k` with `k % N == I`, so no two shards
//!   ever send events for the same record and their ledgers merge without overlap;
//! - API limits are split too (the daily allocation, the starting usage, and rate-limit
//!   faults' `daily_max`, `remaining` and `per_window.requests`), so each org is squeezed as
//!   hard as the whole scenario would squeeze one org;
//! - everything else is unchanged: seed, duration, fault windows and probabilities, seed data
//!   (each org holds all of it, so every shard's keys exist), actions and expectations.
//!
//! The seed stays the same; runners derive per-shard random streams from it and [`Shard`].

use std::num::NonZeroU32;

use simulator::faults::plan::FaultEffect;

use super::error::ScenarioError;
use super::model::{KeySpace, Scenario, Shard, Traffic};
use super::rate::share;
use super::spans::{push_index, push_key};

impl Scenario {
    /// Shard `index` (0-based) of `count`.
    pub fn shard(&self, index: u32, count: u32) -> Result<Scenario, ScenarioError> {
        let error =
            |key: &str, message: String| ScenarioError::new(self.file.clone(), None, key, message);
        let Some(count) = NonZeroU32::new(count).filter(|n| index < n.get()) else {
            return Err(error(
                "--shard",
                format!("expected I/N with 0 <= I < N, got {index}/{count}"),
            ));
        };
        if let Some(existing) = self.shard {
            return Err(error(
                "--shard",
                format!("the scenario is already shard {existing}"),
            ));
        }
        let shard = Shard { index, count };
        let n = count.get();
        let mut out = self.clone();
        out.shard = Some(shard);

        for (i, stream) in out.load.iter_mut().enumerate() {
            let path = push_index("load", i);
            stream.keys = split_keys(&stream.keys, shard).ok_or_else(|| {
                error(
                    &push_key(&push_key(&path, "keys"), "pool"),
                    too_few(stream.keys.pool.get(), n),
                )
            })?;
            stream.traffic = match &stream.traffic {
                Traffic::Events { mix, rate } => Traffic::Events {
                    mix: *mix,
                    rate: rate.for_shard(index, count),
                },
                Traffic::Batches {
                    batch_size,
                    schedule,
                } => Traffic::Batches {
                    batch_size: NonZeroU32::new(share(batch_size.get(), index, n)).ok_or_else(
                        || {
                            error(
                                &push_key(&path, "batch_size"),
                                format!("{batch_size} records cannot be split over {n} shards"),
                            )
                        },
                    )?,
                    schedule: schedule.clone(),
                },
            };
        }
        for (i, actor) in out.actors.iter_mut().enumerate() {
            actor.rate = actor.rate.for_shard(index, count);
            if let Some(keys) = &actor.keys {
                let path = push_key(&push_key(&push_index("actors", i), "keys"), "pool");
                actor.keys = Some(
                    split_keys(keys, shard)
                        .ok_or_else(|| error(&path, too_few(keys.pool.get(), n)))?,
                );
            }
        }

        let n64 = u64::from(n);
        out.org.daily_api_requests = split_limit(out.org.daily_api_requests, shard);
        out.org.api_usage_start /= n64;
        for rule in &mut out.faults.rules {
            if let FaultEffect::RateLimit(limit) = &mut rule.effect {
                limit.daily_max = limit.daily_max.map(|max| split_limit(max, shard));
                limit.remaining = limit.remaining.map(|r| r / n64);
                if let Some(cap) = &mut limit.per_window {
                    let requests = share(cap.requests.get(), index, n).max(1);
                    cap.requests = NonZeroU32::new(requests).unwrap_or(cap.requests);
                }
            }
        }
        Ok(out)
    }
}

/// This shard's share of an API limit; at least 1, since a limit of 0 means something else.
fn split_limit(total: u64, shard: Shard) -> u64 {
    let n = u64::from(shard.count.get());
    (total / n + u64::from(u64::from(shard.index) < total % n)).max(1)
}

/// `None` when some shard (not necessarily this one) would get no keys: every shard of a
/// scenario must be runnable, so they all refuse alike.
fn split_keys(keys: &KeySpace, shard: Shard) -> Option<KeySpace> {
    (keys.pool.get() >= u64::from(shard.count.get())).then(|| KeySpace {
        shard: Some(shard),
        ..keys.clone()
    })
}

fn too_few(pool: u64, shards: u32) -> String {
    format!("a pool of {pool} keys cannot be split over {shards} shards")
}
