//! Deterministic test data: which key each event touches, what field values it carries, and the
//! JSON body the harness posts to the integration (design.md §4 `POST /events`).
//!
//! Everything is a pure function of the scenario seed and the event's sequence number, never of
//! timing or of which events were dropped, so a failing run can be replayed event for event and a
//! value seen in the org can be traced to the event that wrote it.
//!
//! # Layout
//!
//! | file | what lives there |
//! |---|---|
//! | `keys.rs` | [`KeyPool`] (config), [`KeySampler`]: uniform or Zipf key draws, shard key spaces, id formatting |
//! | `fields.rs` | [`FieldSpec`] (config), [`FieldGen`]: field values from `(seed, field, key, version)`; Account presets |
//! | `event.rs` | [`StreamSpec`] (config), [`EventBuilder`], [`Event`] |
//!
//! # To add a field generator
//! 1. Add a variant to [`FieldSpec`] (serde shape = what scenario files write).
//! 2. Validate and compile it in `FieldSpec::compile`.
//! 3. Produce its value in `FieldGen::value`, drawing only from the hash it is given.
//! 4. Add a determinism and a shape test in `tests/datagen.rs`.

mod event;
mod fields;
mod keys;

pub use event::{BodyParts, Event, EventBuilder, EventKind, StreamSpec};
pub use fields::{account_fields, preset, FieldContext, FieldGen, FieldSpec};
pub use keys::{KeyDistribution, KeyPool, KeySampler};

/// Errors in data-generation settings; each names the setting.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DatagenError {
    #[error("key pool: {0}")]
    InvalidPool(String),
    #[error("shard index {index} is out of range for {count} shard(s)")]
    InvalidShard { index: u64, count: u64 },
    #[error("field {field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("stream: {0}")]
    InvalidStream(String),
}

/// SplitMix64's finaliser: a fixed, well-mixed 64-bit hash step. Used instead of `std`'s hasher,
/// whose algorithm may change between Rust releases, because generated data must be identical on
/// every machine and toolchain for a given seed.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Folds `b` into hash `a` (order matters).
pub(crate) fn combine(a: u64, b: u64) -> u64 {
    mix(a ^ mix(b))
}

/// FNV-1a of a string, then mixed: a stable hash for names (streams, fields).
pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// A uniform number in `[0, 1)` from a hash (its top 53 bits).
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}
