//! Key pools: which record each event touches.
//!
//! Real traffic is skewed (a few hot accounts get most updates), and skew is what exposes lock
//! contention and last-writer-wins bugs, so pools can draw Zipf-distributed keys as well as uniform
//! ones. Key index 0 is the hottest.
//!
//! For `--shard I/N`, key `i` belongs to shard `i % N`: shards never touch each other's records, so
//! their ledgers merge without conflicts. A shard's sampler keeps the pool's distribution over its own
//! keys (its local index `j` is global key `j·N + I`, so the hottest keys are spread across shards).

use rand::Rng;
use rand_distr::{Distribution, Zipf};
use serde::{Deserialize, Serialize};

use super::DatagenError;

fn default_prefix() -> String {
    "A-".to_owned()
}

/// A pool of external ids: `size` keys formatted `<prefix><zero-padded index>` (`A-000123`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPool {
    pub size: u64,
    #[serde(default)]
    pub distribution: KeyDistribution,
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Minimum digits; ids are always padded at least to the width of the largest index, so they
    /// sort in index order. Set it to match seeded org data (e.g. 6 for `A-000123`).
    #[serde(default)]
    pub width: Option<usize>,
}

/// How keys are drawn from a pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum KeyDistribution {
    #[default]
    Uniform,
    /// P(rank k) ∝ 1/k^exponent; 1.1 is a typical web-traffic skew.
    Zipf { exponent: f64 },
}

impl KeyPool {
    pub fn new(size: u64, distribution: KeyDistribution) -> Self {
        KeyPool {
            size,
            distribution,
            prefix: default_prefix(),
            width: None,
        }
    }

    /// Digits each id is padded to.
    pub fn width(&self) -> usize {
        digits(self.size.saturating_sub(1)).max(self.width.unwrap_or(0))
    }

    /// `<prefix><index padded to width()>`.
    pub fn external_id(&self, index: u64) -> String {
        format!("{}{:0width$}", self.prefix, index, width = self.width())
    }

    /// The index of an id formatted by this pool, if it is one.
    pub fn index_of(&self, external_id: &str) -> Option<u64> {
        let digits = external_id.strip_prefix(self.prefix.as_str())?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|&i| i < self.size)
    }

    /// A sampler over the whole pool.
    pub fn sampler(&self) -> Result<KeySampler, DatagenError> {
        self.shard(0, 1)
    }

    /// A sampler over shard `index` of `count`: the keys `i` with `i % count == index`.
    pub fn shard(&self, index: u64, count: u64) -> Result<KeySampler, DatagenError> {
        if count == 0 || index >= count {
            return Err(DatagenError::InvalidShard { index, count });
        }
        if self.size == 0 {
            return Err(DatagenError::InvalidPool("size must be at least 1".into()));
        }
        let local_size = self.size.saturating_sub(index).div_ceil(count);
        if local_size == 0 {
            return Err(DatagenError::InvalidPool(format!(
                "{} key(s) leave shard {index} of {count} empty",
                self.size
            )));
        }
        let zipf = match self.distribution {
            KeyDistribution::Uniform => None,
            KeyDistribution::Zipf { exponent } => {
                if !(exponent.is_finite() && exponent >= 0.0) {
                    return Err(DatagenError::InvalidPool(format!(
                        "zipf exponent must be a finite number >= 0, got {exponent}"
                    )));
                }
                // Precision: pools beyond 2^53 keys are not a realistic concern.
                let zipf = Zipf::new(local_size as f64, exponent)
                    .map_err(|e| DatagenError::InvalidPool(format!("zipf: {e}")))?;
                Some(zipf)
            }
        };
        Ok(KeySampler {
            pool: self.clone(),
            shard_index: index,
            shard_count: count,
            local_size,
            zipf,
        })
    }
}

/// Draws key indices from a pool (or one shard of it) with a caller-provided RNG.
#[derive(Clone, Debug)]
pub struct KeySampler {
    pool: KeyPool,
    shard_index: u64,
    shard_count: u64,
    local_size: u64,
    zipf: Option<Zipf<f64>>,
}

impl KeySampler {
    pub fn pool(&self) -> &KeyPool {
        &self.pool
    }

    /// Keys this sampler can draw.
    pub fn len(&self) -> u64 {
        self.local_size
    }

    pub fn is_empty(&self) -> bool {
        self.local_size == 0
    }

    /// Whether global key `index` is in this sampler's key space.
    pub fn contains(&self, index: u64) -> bool {
        index < self.pool.size && index % self.shard_count == self.shard_index
    }

    /// The `j`-th key of this sampler's key space (global index).
    pub fn key_at(&self, local: u64) -> u64 {
        local
            .saturating_mul(self.shard_count)
            .saturating_add(self.shard_index)
    }

    /// One global key index.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let local = match &self.zipf {
            None => rng.random_range(0..self.local_size),
            // Zipf yields ranks 1..=n as floats; rank 1 is local key 0.
            Some(z) => (z.sample(rng) as u64)
                .saturating_sub(1)
                .min(self.local_size.saturating_sub(1)),
        };
        self.key_at(local)
    }

    pub fn external_id(&self, index: u64) -> String {
        self.pool.external_id(index)
    }
}

/// Decimal digits of `n` (1 for 0).
fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}
