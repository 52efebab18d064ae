//! From the scenario's words to the engines' types: rates to [`crate::schedule`] arrivals, key
//! spaces and field values to [`crate::datagen`] generators.
//!
//! The two sides were designed apart and differ in two places, both settled here in the
//! scenario's favour (docs/scenarios.md is what users read):
//! - `steps`: the scenario's last rate **holds** after the last step; the schedule's steps end.
//!   A final step at the last rate, as long as the stream, is appended.
//! - `burst`: the scenario fires a burst **at the stream start** and every `every` after; the
//!   schedule's bursts start at `every`. The first burst is prepended as `size` arrivals at 0.
//!
//! Sequence numbers: a shard numbers its arrivals `local · N + I`, so event ids
//! (`evt-<stream>-<seq>`) and generated values never collide across the shards of one run.

use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;
use simulator::org::schema::{FieldType, ObjectDef};

use crate::datagen::{
    combine, hash_str, preset, DatagenError, EventKind, FieldSpec, KeyDistribution, KeyPool,
    StreamSpec,
};
use crate::scenario::{
    EventMix, FakeKind, FieldSpecs, KeyDistribution as ScenarioDistribution, KeySpace, Literal,
    LoadStream, RateSpec as ScenarioRate, Shard, ValueSpec,
};
use crate::schedule::{Arrival, Instants, RateSpec, Schedule, ScheduleError, Step};

/// Digits of the zero-padded key index, as `KeySpace::key` formats it.
const KEY_WIDTH: usize = 6;

/// The schedule for one rate over `duration`, plus the burst the scenario fires at offset 0.
#[derive(Clone, Debug)]
pub struct StreamSchedule {
    schedule: Schedule,
    upfront: u64,
    shard: Option<Shard>,
}

impl StreamSchedule {
    /// `seed` should already be specific to the stream (see [`stream_seed`]).
    pub fn new(
        rate: &ScenarioRate,
        duration: Duration,
        seed: u64,
        shard: Option<Shard>,
    ) -> Result<Self, ScheduleError> {
        let (spec, upfront) = match rate {
            ScenarioRate::Constant { rate } => (RateSpec::Constant(*rate), 0),
            ScenarioRate::Poisson { rate } => (RateSpec::Poisson(*rate), 0),
            ScenarioRate::Ramp { from, to, over } => (
                RateSpec::Ramp {
                    from: *from,
                    to: *to,
                    over: *over,
                },
                0,
            ),
            ScenarioRate::Steps { steps } => {
                let mut out: Vec<Step> = steps
                    .iter()
                    .map(|s| Step {
                        rate: s.rate,
                        duration: s.hold,
                    })
                    .collect();
                if let Some(last) = steps.last() {
                    out.push(Step {
                        rate: last.rate,
                        duration: duration.max(Duration::from_millis(1)),
                    });
                }
                (RateSpec::Steps(out), 0)
            }
            ScenarioRate::Burst { rate, every, size } => (
                RateSpec::Burst {
                    base_rate: *rate,
                    every: *every,
                    size: size.get(),
                },
                u64::from(size.get()),
            ),
        };
        Ok(StreamSchedule {
            schedule: Schedule::new(spec, duration, seed)?,
            upfront: if duration.is_zero() { 0 } else { upfront },
            shard,
        })
    }

    /// Arrivals in order with shard-global sequence numbers.
    pub fn arrivals(&self) -> Arrivals {
        let (index, count) = self
            .shard
            .map_or((0, 1), |s| (u64::from(s.index), u64::from(s.count.get())));
        Arrivals {
            upfront: self.upfront,
            inner: self.schedule.instants(),
            local: 0,
            index,
            count,
        }
    }
}

/// See [`StreamSchedule::arrivals`].
#[derive(Clone, Debug)]
pub struct Arrivals {
    upfront: u64,
    inner: Instants,
    local: u64,
    index: u64,
    count: u64,
}

impl Iterator for Arrivals {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        let at = if self.upfront > 0 {
            self.upfront -= 1;
            Duration::ZERO
        } else {
            self.inner.next()?
        };
        let seq = self
            .local
            .saturating_mul(self.count)
            .saturating_add(self.index);
        self.local += 1;
        Some(Arrival { seq, at })
    }
}

/// A seed for one named part of the run (a stream, an actor, a sink), so that adding a stream
/// never changes another's draws. Shards get their own streams of the same seed.
pub fn stream_seed(seed: u64, part: &str, shard: Option<Shard>) -> u64 {
    let base = combine(seed, hash_str(part));
    match shard {
        Some(s) => combine(combine(base, u64::from(s.index)), u64::from(s.count.get())),
        None => base,
    }
}

/// The datagen key pool of a scenario key space (same ids: `prefix` + index padded to 6+).
pub fn key_pool(keys: &KeySpace) -> KeyPool {
    KeyPool {
        size: keys.pool.get(),
        distribution: match keys.distribution {
            ScenarioDistribution::Uniform => KeyDistribution::Uniform,
            ScenarioDistribution::Zipf { exponent } => KeyDistribution::Zipf { exponent },
        },
        prefix: keys.prefix.clone(),
        width: Some(KEY_WIDTH),
    }
}

/// `(index, count)` of a key space's shard, `(0, 1)` when not sharded.
pub fn shard_of(keys: &KeySpace) -> (u64, u64) {
    keys.shard
        .map_or((0, 1), |s| (u64::from(s.index), u64::from(s.count.get())))
}

/// The datagen stream of a `[[load]]` stream. `object` is the org's definition of the stream's
/// object, used for `fields = [...]` (values generated from the field type).
pub fn stream_spec(stream: &LoadStream, object: Option<&ObjectDef>) -> StreamSpec {
    let (kind, delete_fraction) = match &stream.traffic {
        crate::scenario::Traffic::Events { mix, .. } => match mix {
            EventMix::Upsert => (EventKind::Upsert, 0.0),
            EventMix::Delete => (EventKind::Delete, 0.0),
            EventMix::Mixed { upsert, delete } => {
                let total = upsert + delete;
                let share = if total > 0.0 { delete / total } else { 0.0 };
                (EventKind::Upsert, share.clamp(0.0, 1.0))
            }
        },
        crate::scenario::Traffic::Batches { .. } => (EventKind::Upsert, 0.0),
    };
    StreamSpec {
        name: stream.name.clone(),
        object: stream.object.clone(),
        external_id_field: stream.external_id_field.clone(),
        kind,
        delete_fraction,
        keys: key_pool(&stream.keys),
        fields: field_specs(&stream.fields, object),
    }
}

/// Scenario field values → datagen generators. Unsupported combinations cannot occur: every
/// [`ValueSpec`] has a generator.
pub fn field_specs(fields: &FieldSpecs, object: Option<&ObjectDef>) -> IndexMap<String, FieldSpec> {
    fields
        .iter()
        .map(|(name, spec)| (name.clone(), field_spec(name, spec, object)))
        .collect()
}

fn field_spec(name: &str, spec: &ValueSpec, object: Option<&ObjectDef>) -> FieldSpec {
    match spec {
        ValueSpec::Auto => auto(name, object),
        ValueSpec::Fixed(literal) => FieldSpec::Fixed(literal_json(literal)),
        ValueSpec::OneOf(values) => FieldSpec::Choice(values.iter().map(literal_json).collect()),
        ValueSpec::IntRange { min, max } => FieldSpec::Number {
            min: *min as f64,
            max: *max as f64,
            decimals: 0,
        },
        ValueSpec::FloatRange { min, max } => FieldSpec::Number {
            min: *min,
            max: *max,
            decimals: 2,
        },
        ValueSpec::Fake(kind) => FieldSpec::Pattern(fake_pattern(*kind).to_owned()),
        ValueSpec::Sequence { prefix } => {
            FieldSpec::Pattern(format!("{}{{index}}", escape(prefix)))
        }
    }
}

pub(crate) fn literal_json(literal: &Literal) -> Value {
    match literal {
        Literal::String(s) => Value::from(s.as_str()),
        Literal::Int(i) => Value::from(*i),
        Literal::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        Literal::Bool(b) => Value::from(*b),
    }
}

/// `{` and `}` are pattern syntax; a prefix is literal text.
fn escape(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// `fields = ["Phone"]`: the datagen preset when there is one, else a generator for the field's
/// type in the org schema, else text.
fn auto(name: &str, object: Option<&ObjectDef>) -> FieldSpec {
    if let Some(spec) = preset(name) {
        return spec;
    }
    let Some(field) = object.and_then(|o| o.field(name)) else {
        return FieldSpec::Pattern(format!("{} {{external_id}} v{{version}}", escape(name)));
    };
    let choice =
        |values: &[&str]| FieldSpec::Choice(values.iter().map(|v| Value::from(*v)).collect());
    match field.ftype {
        FieldType::Boolean => FieldSpec::Choice(vec![Value::Bool(true), Value::Bool(false)]),
        FieldType::Picklist | FieldType::Multipicklist | FieldType::Combobox => {
            let values: Vec<Value> = field
                .picklist
                .iter()
                .filter(|p| p.active)
                .map(|p| Value::from(p.value.as_str()))
                .collect();
            if values.is_empty() {
                FieldSpec::Pattern(format!("{} {{letters:4}}", escape(name)))
            } else {
                FieldSpec::Choice(values)
            }
        }
        FieldType::Currency | FieldType::Double | FieldType::Percent => {
            let decimals = field.scale.min(2);
            let max = if field.ftype == FieldType::Percent {
                100.0
            } else {
                1_000_000.0
            };
            FieldSpec::Number {
                min: 0.0,
                max,
                decimals,
            }
        }
        FieldType::Int | FieldType::Long => FieldSpec::Number {
            min: 0.0,
            max: 100_000.0,
            decimals: 0,
        },
        FieldType::Date => FieldSpec::Pattern(fake_pattern(FakeKind::Date).to_owned()),
        FieldType::Datetime => FieldSpec::Pattern(fake_pattern(FakeKind::Datetime).to_owned()),
        FieldType::Email => FieldSpec::Pattern(fake_pattern(FakeKind::Email).to_owned()),
        FieldType::Phone => FieldSpec::Pattern(fake_pattern(FakeKind::Phone).to_owned()),
        FieldType::Url => FieldSpec::Pattern(fake_pattern(FakeKind::Url).to_owned()),
        FieldType::Time => choice(&["09:00:00.000Z", "12:30:00.000Z", "17:45:00.000Z"]),
        _ => {
            // Text: short enough for the field, different per event.
            let text = format!("{} {{index}} v{{version}}", escape(name));
            if field.length > 0 && field.length < 24 {
                FieldSpec::Pattern(format!("{{letters:{}}}", field.length.clamp(1, 8)))
            } else {
                FieldSpec::Pattern(text)
            }
        }
    }
}

/// Fake data as datagen patterns: realistic enough to look at, cheap to generate, and a pure
/// function of the seed like every other value.
fn fake_pattern(kind: FakeKind) -> &'static str {
    match kind {
        FakeKind::Company => {
            "{choice:Acme|Globex|Initech|Umbrella|Stark|Wayne|Hooli|Vandelay|Soylent|Tyrell} \
             {choice:Corp|Inc|Ltd|GmbH|LLC|Group} {index}"
        }
        FakeKind::Name => {
            "{choice:Ada|Alan|Grace|Linus|Barbara|Edsger|Donald|Frances|Ken|Margaret} \
             {choice:Lovelace|Turing|Hopper|Torvalds|Liskov|Dijkstra|Knuth|Allen|Thompson|Hamilton}"
        }
        FakeKind::FirstName => {
            "{choice:Ada|Alan|Grace|Linus|Barbara|Edsger|Donald|Frances|Ken|Margaret}"
        }
        FakeKind::LastName => {
            "{choice:Lovelace|Turing|Hopper|Torvalds|Liskov|Dijkstra|Knuth|Allen|Thompson|Hamilton}"
        }
        FakeKind::Email => "{choice:ada|alan|grace|linus|barbara|ken}.{digits:6}@example.com",
        FakeKind::Phone => "+1-555-{digits:3}-{digits:4}",
        FakeKind::Street => "{digits:3} {choice:Main|Oak|Pine|Maple|Cedar|Elm|Market|Mission} St",
        FakeKind::City => {
            "{choice:San Francisco|New York|London|Paris|Berlin|Tokyo|Sydney|Toronto|Singapore}"
        }
        FakeKind::Country => "{choice:US|GB|FR|DE|JP|AU|CA|SG|BR|IN}",
        FakeKind::PostalCode => "{digits:5}",
        FakeKind::Url => "https://www.example-{index}.com",
        FakeKind::Words => {
            "{choice:alpha|bravo|charlie|delta|echo|foxtrot} {choice:golf|hotel|india|juliet|kilo} \
             {choice:lima|mike|november|oscar|papa}"
        }
        FakeKind::Sentence => {
            "The {choice:quick|lazy|bright|quiet} {choice:fox|dog|owl|cat} \
             {choice:jumps|sleeps|sings|waits} {choice:today|again|twice|now}."
        }
        FakeKind::Uuid => "{digits:8}-{digits:4}-4{digits:3}-8{digits:3}-{digits:12}",
        FakeKind::Date => {
            "20{choice:23|24|25}-{choice:01|02|03|04|05|06|07|08|09|10|11|12}-\
             {choice:01|05|09|13|17|21|25|28}"
        }
        FakeKind::Datetime => {
            "20{choice:23|24|25}-{choice:01|02|03|04|05|06|07|08|09|10|11|12}-\
             {choice:01|05|09|13|17|21|25|28}T{choice:08|10|12|14|16}:{choice:00|15|30|45}:00.000Z"
        }
    }
}

/// Checks that the generators compile (they always should; a failure is a bug worth naming).
pub fn check_fields(fields: &IndexMap<String, FieldSpec>) -> Result<(), DatagenError> {
    for (name, spec) in fields {
        spec.compile(name)?;
    }
    Ok(())
}
