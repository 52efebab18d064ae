//! Building the events the harness posts to the integration (design.md §4).

use chrono::{DateTime, SecondsFormat, Utc};
use indexmap::IndexMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::fields::{FieldContext, FieldGen, FieldSpec};
use super::keys::{KeyPool, KeySampler};
use super::{combine, hash_str, DatagenError};

/// `upsert` or `delete`, as in the event body's `type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    #[default]
    Upsert,
    Delete,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Upsert => "upsert",
            EventKind::Delete => "delete",
        }
    }
}

/// What one load stream sends: the config the scenario layer converts into.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    /// Stream name; part of every event id.
    pub name: String,
    pub object: String,
    pub external_id_field: String,
    /// `delete` makes every event a delete.
    #[serde(default)]
    pub kind: EventKind,
    /// For upsert streams: the share of events that are deletes instead (0 to 1).
    #[serde(default)]
    pub delete_fraction: f64,
    pub keys: KeyPool,
    /// Fields each upsert carries, in this order.
    #[serde(default)]
    pub fields: IndexMap<String, FieldSpec>,
}

/// The JSON body of `POST /events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub object: String,
    pub external_id_field: String,
    pub external_id: String,
    pub fields: Map<String, Value>,
    /// RFC 3339, milliseconds, UTC.
    pub occurred_at: String,
}

/// Turns sequence numbers into events. Building event `seq` is a pure function of the seed, the
/// stream and `seq`: each event draws its key from its own ChaCha8 stream (`set_stream(seq)`), so
/// skipping (dropping) events never shifts the keys or values of the others.
#[derive(Clone, Debug)]
pub struct EventBuilder {
    name: String,
    object: String,
    external_id_field: String,
    kind: EventKind,
    delete_fraction: f64,
    sampler: KeySampler,
    fields: Vec<(String, FieldGen)>,
    seed: u64,
    rng_seed: <ChaCha8Rng as SeedableRng>::Seed,
}

impl EventBuilder {
    /// A builder over the stream's whole key pool.
    pub fn new(spec: &StreamSpec, seed: u64) -> Result<Self, DatagenError> {
        Self::for_shard(spec, seed, 0, 1)
    }

    /// A builder that only draws keys of shard `index` of `count` (see [`KeyPool::shard`]).
    pub fn for_shard(
        spec: &StreamSpec,
        seed: u64,
        index: u64,
        count: u64,
    ) -> Result<Self, DatagenError> {
        for (what, value) in [
            ("name", &spec.name),
            ("object", &spec.object),
            ("external_id_field", &spec.external_id_field),
        ] {
            if value.trim().is_empty() {
                return Err(DatagenError::InvalidStream(format!(
                    "{what} must not be empty"
                )));
            }
        }
        if !(0.0..=1.0).contains(&spec.delete_fraction) {
            return Err(DatagenError::InvalidStream(format!(
                "delete_fraction must be between 0 and 1, got {}",
                spec.delete_fraction
            )));
        }
        let fields = spec
            .fields
            .iter()
            .map(|(name, f)| Ok((name.clone(), f.compile(name)?)))
            .collect::<Result<Vec<_>, DatagenError>>()?;
        // The stream name is mixed in so two streams with one seed still get different keys.
        let stream_seed = combine(seed, hash_str(&spec.name));
        Ok(EventBuilder {
            name: spec.name.clone(),
            object: spec.object.clone(),
            external_id_field: spec.external_id_field.clone(),
            kind: spec.kind,
            delete_fraction: spec.delete_fraction,
            sampler: spec.keys.shard(index, count)?,
            fields,
            seed: stream_seed,
            rng_seed: ChaCha8Rng::seed_from_u64(stream_seed).get_seed(),
        })
    }

    pub fn stream(&self) -> &str {
        &self.name
    }

    pub fn keys(&self) -> &KeySampler {
        &self.sampler
    }

    /// `evt-<stream>-<seq>`: unique per stream and stable across runs.
    pub fn event_id(&self, seq: u64) -> String {
        format!("evt-{}-{}", self.name, seq)
    }

    /// The key and kind of event `seq`, without building its fields.
    pub fn key_of(&self, seq: u64) -> (u64, EventKind) {
        let mut rng = ChaCha8Rng::from_seed(self.rng_seed);
        rng.set_stream(seq);
        let key = self.sampler.draw(&mut rng);
        // Always drawn, so changing the delete share never changes which keys are drawn.
        let roll: f64 = rng.random();
        let kind = match self.kind {
            EventKind::Delete => EventKind::Delete,
            EventKind::Upsert if roll < self.delete_fraction => EventKind::Delete,
            EventKind::Upsert => EventKind::Upsert,
        };
        (key, kind)
    }

    /// Event `seq`, stamped `occurred_at` (pass `wall_start + intended offset` for reproducible
    /// bodies, or the send time).
    pub fn build(&self, seq: u64, occurred_at: DateTime<Utc>) -> Event {
        let (key, kind) = self.key_of(seq);
        self.build_for_key(seq, key, kind, occurred_at)
    }

    /// Event `seq` for a chosen key (a global index) and kind, with the values event `seq` would
    /// carry. For senders that assign keys themselves rather than draw them (batches cover a run
    /// of distinct keys).
    pub fn build_for_key(
        &self,
        seq: u64,
        key: u64,
        kind: EventKind,
        occurred_at: DateTime<Utc>,
    ) -> Event {
        let external_id = self.sampler.external_id(key);
        let prefix_len = self.sampler.pool().prefix.len();
        let index_text = external_id.get(prefix_len..).unwrap_or_default();
        let mut fields = Map::new();
        if kind == EventKind::Upsert {
            let ctx = FieldContext {
                seed: self.seed,
                key_index: key,
                external_id: &external_id,
                index_text,
                version: seq,
            };
            for (name, field) in &self.fields {
                fields.insert(name.clone(), field.value(&ctx));
            }
        }
        Event {
            id: self.event_id(seq),
            kind,
            object: self.object.clone(),
            external_id_field: self.external_id_field.clone(),
            external_id,
            fields,
            occurred_at: occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }
}
