//! Building the events the harness posts to the integration (design.md §4).

use std::ops::Range;

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

/// Where the parts of an event sit in its encoded body ([`EventBuilder::encode`]): the byte range
/// of each JSON value, quotes included. Lets the ledger write an event's line from the very
/// bytes that were sent, without decoding them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BodyParts {
    /// The event's `type`.
    pub kind: EventKind,
    pub id: Range<usize>,
    pub object: Range<usize>,
    pub external_id_field: Range<usize>,
    pub external_id: Range<usize>,
    pub fields: Range<usize>,
}

/// The constant pieces of a stream's encoded events, as JSON, made once per builder.
#[derive(Clone, Debug)]
struct Encoded {
    /// `"evt-<stream>-` (the sequence number and closing quote follow).
    id_prefix: Vec<u8>,
    object: Vec<u8>,
    external_id_field: Vec<u8>,
    /// `"<field name>":`, in field order.
    field_keys: Vec<Vec<u8>>,
}

impl Encoded {
    fn new(
        name: &str,
        object: &str,
        external_id_field: &str,
        fields: &[(String, FieldGen)],
    ) -> Self {
        let quoted = |s: &str| serde_json::to_vec(s).unwrap_or_default();
        let mut id_prefix = quoted(&format!("evt-{name}-"));
        id_prefix.pop();
        Encoded {
            id_prefix,
            object: quoted(object),
            external_id_field: quoted(external_id_field),
            field_keys: fields
                .iter()
                .map(|(name, _)| {
                    let mut key = quoted(name);
                    key.push(b':');
                    key
                })
                .collect(),
        }
    }
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
    encoded: Encoded,
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
            encoded: Encoded::new(&spec.name, &spec.object, &spec.external_id_field, &fields),
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
        let mut fields = Map::with_capacity(self.fields.len());
        if kind == EventKind::Upsert {
            let ctx = self.field_context(seq, key, &external_id);
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

    /// Appends the JSON body of event `seq` to `body`: byte for byte what `serde_json::to_vec`
    /// makes of [`EventBuilder::build`]'s event, without building it (no map, no copies of field
    /// names). What the event driver sends, once per event.
    pub fn encode(&self, seq: u64, occurred_at: DateTime<Utc>, body: &mut Vec<u8>) -> BodyParts {
        let (key, kind) = self.key_of(seq);
        let external_id = self.sampler.external_id(key);
        let e = &self.encoded;
        let mut parts = BodyParts {
            kind,
            ..BodyParts::default()
        };
        let value = |body: &mut Vec<u8>, bytes: &[u8]| {
            let at = body.len();
            body.extend_from_slice(bytes);
            at..body.len()
        };
        body.extend_from_slice(b"{\"id\":");
        let at = body.len();
        body.extend_from_slice(&e.id_prefix);
        body.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
        body.push(b'"');
        parts.id = at..body.len();
        body.extend_from_slice(match kind {
            EventKind::Upsert => b",\"type\":\"upsert\",\"object\":",
            EventKind::Delete => b",\"type\":\"delete\",\"object\":",
        });
        parts.object = value(body, &e.object);
        body.extend_from_slice(b",\"external_id_field\":");
        parts.external_id_field = value(body, &e.external_id_field);
        body.extend_from_slice(b",\"external_id\":");
        let at = body.len();
        // Writing JSON into a Vec fails only for values JSON cannot hold, which these are not.
        let _ = serde_json::to_writer(&mut *body, external_id.as_str());
        parts.external_id = at..body.len();
        body.extend_from_slice(b",\"fields\":");
        let at = body.len();
        body.push(b'{');
        if kind == EventKind::Upsert {
            let ctx = self.field_context(seq, key, &external_id);
            let mut scratch = String::new();
            for (i, ((_, field), key)) in self.fields.iter().zip(&e.field_keys).enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(key);
                field.write_json(&ctx, body, &mut scratch);
            }
        }
        body.push(b'}');
        parts.fields = at..body.len();
        body.extend_from_slice(b",\"occurred_at\":\"");
        write_rfc3339_millis(occurred_at, body);
        body.extend_from_slice(b"\"}");
        parts
    }

    /// What event `seq`'s field values for `key` are drawn from.
    fn field_context<'a>(&self, seq: u64, key: u64, external_id: &'a str) -> FieldContext<'a> {
        let prefix_len = self.sampler.pool().prefix.len();
        FieldContext {
            seed: self.seed,
            key_index: key,
            external_id,
            index_text: external_id.get(prefix_len..).unwrap_or_default(),
            version: seq,
        }
    }
}

/// `occurred_at` as `to_rfc3339_opts(SecondsFormat::Millis, true)` writes it
/// (`2024-05-01T12:00:00.000Z`), without its formatting machinery; chrono itself for what it
/// writes differently (years outside 0–9999, leap seconds).
fn write_rfc3339_millis(at: DateTime<Utc>, out: &mut Vec<u8>) {
    use chrono::{Datelike, Timelike};
    let (year, nanos) = (at.year(), at.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        out.extend_from_slice(at.to_rfc3339_opts(SecondsFormat::Millis, true).as_bytes());
        return;
    }
    let mut digits = |n: u32, width: usize, then: u8| {
        let mut buf = [b'0'; 4];
        let mut n = n;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.extend_from_slice(&buf[..width]);
        out.push(then);
    };
    digits(year.unsigned_abs(), 4, b'-');
    digits(at.month(), 2, b'-');
    digits(at.day(), 2, b'T');
    digits(at.hour(), 2, b':');
    digits(at.minute(), 2, b':');
    digits(at.second(), 2, b'.');
    digits(nanos / 1_000_000, 3, b'Z');
}
