//! `[[load]]` streams, `[[actors]]` and the key spaces they draw from.

use std::collections::HashSet;
use std::num::NonZeroU64;
use std::time::Duration;

use simulator::faults::plan::{format_duration, RawDuration};

use super::super::model::{
    Actor, BatchSchedule, EventMix, KeyDistribution, KeySpace, LoadStream, SerDuration, Traffic,
};
use super::super::rate::validate_rate;
use super::super::raw::{RawActor, RawKeys, RawLoad, RawStreamType};
use super::super::spans::{push_index, push_key};
use super::super::values::validate_fields;
use super::{Ctx, Run};

const DEFAULT_EXTERNAL_ID_FIELD: &str = "External_Id__c";
const DEFAULT_POOL: u64 = 10_000;
const DEFAULT_ZIPF_EXPONENT: f64 = 1.1;
const DEFAULT_MAX_IN_FLIGHT: u32 = 100;

pub(super) fn streams(ctx: &mut Ctx, raw: &[RawLoad], run: &Run) -> Option<Vec<LoadStream>> {
    let before = ctx.errors.len();
    let mut names = HashSet::new();
    let mut streams = Vec::with_capacity(raw.len());
    for (i, stream) in raw.iter().enumerate() {
        let path = push_index("load", i);
        if let Some(name) = ctx.name(&push_key(&path, "name"), &stream.name) {
            if !names.insert(name.clone()) {
                ctx.error(
                    &push_key(&path, "name"),
                    format!("another [[load]] stream is already named \"{name}\""),
                );
            }
        }
        if let Some(stream) = load_stream(ctx, &path, stream, run) {
            streams.push(stream);
        }
    }
    (ctx.errors.len() == before).then_some(streams)
}

fn load_stream(ctx: &mut Ctx, path: &str, raw: &RawLoad, run: &Run) -> Option<LoadStream> {
    let key = |k: &str| push_key(path, k);
    let object = ctx.api_name(&key("object"), &raw.object);
    let external_id_field = ctx.api_name(
        &key("external_id_field"),
        raw.external_id_field
            .as_deref()
            .unwrap_or(DEFAULT_EXTERNAL_ID_FIELD),
    );
    let keys = key_space(ctx, &key("keys"), raw.keys.as_ref(), &raw.object);
    let fields = validate_fields(ctx, &key("fields"), raw.fields.as_ref());
    let max_in_flight = ctx.nonzero_u32(
        &key("max_in_flight"),
        raw.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
    );
    let window = active_window(ctx, path, raw.start.as_ref(), raw.duration.as_ref(), run);

    let batch = raw.kind == RawStreamType::Batch;
    for (name, present) in [
        ("batch_size", raw.batch_size.is_some()),
        ("every", raw.every.is_some()),
        ("at", raw.at.is_some()),
    ] {
        if present && !batch {
            ctx.error(&key(name), "only applies to type = \"batch\"");
        }
    }
    if raw.weights.is_some() && raw.kind != RawStreamType::Mixed {
        ctx.error(&key("weights"), "only applies to type = \"mixed\"");
    }
    if raw.kind == RawStreamType::Delete && raw.fields.is_some() {
        ctx.warn(
            &key("fields"),
            "delete events carry no field values; ignored",
        );
    }
    let traffic = if batch {
        if raw.rate.is_some() {
            ctx.error(
                &key("rate"),
                "a batch stream sends `batch_size` records on a schedule (`every` or `at`), not \
                 at a rate",
            );
        }
        batches(ctx, path, raw, window)
    } else {
        let mix = match raw.kind {
            RawStreamType::Upsert => Some(EventMix::Upsert),
            RawStreamType::Delete => Some(EventMix::Delete),
            _ => mixed(ctx, path, raw),
        };
        let rate = match &raw.rate {
            Some(rate) => validate_rate(ctx, &key("rate"), rate),
            None => {
                ctx.error(
                    &key("rate"),
                    "missing: how fast events arrive, e.g. rate = { constant = 50 }",
                );
                None
            }
        };
        mix.zip(rate)
            .map(|(mix, rate)| Traffic::Events { mix, rate })
    };
    let (start, duration) = window?;
    Some(LoadStream {
        name: raw.name.clone(),
        object: object?,
        external_id_field: external_id_field?,
        traffic: traffic?,
        keys: keys?,
        fields,
        max_in_flight: max_in_flight?,
        start,
        duration,
    })
}

fn mixed(ctx: &mut Ctx, path: &str, raw: &RawLoad) -> Option<EventMix> {
    let Some(weights) = &raw.weights else {
        ctx.error(
            &push_key(path, "weights"),
            "missing: type = \"mixed\" needs weights = { upsert = 9, delete = 1 }",
        );
        return None;
    };
    let base = push_key(path, "weights");
    let upsert = ctx.rate(&push_key(&base, "upsert"), weights.upsert);
    let delete = ctx.rate(&push_key(&base, "delete"), weights.delete);
    let (upsert, delete) = (upsert?, delete?);
    if upsert + delete <= 0.0 {
        ctx.error(&base, "the weights must not both be 0");
        return None;
    }
    Some(EventMix::Mixed { upsert, delete })
}

fn batches(
    ctx: &mut Ctx,
    path: &str,
    raw: &RawLoad,
    window: Option<(Duration, Duration)>,
) -> Option<Traffic> {
    let key = |k: &str| push_key(path, k);
    let batch_size = match raw.batch_size {
        Some(size) => ctx.nonzero_u32(&key("batch_size"), size),
        None => {
            ctx.error(
                &key("batch_size"),
                "missing: how many records each batch carries",
            );
            None
        }
    };
    let schedule = match (&raw.every, &raw.at) {
        (Some(_), Some(_)) => {
            ctx.error(&key("at"), "give either every or at, not both");
            None
        }
        (None, None) => {
            ctx.error(
                &key("every"),
                "missing: when batches are sent, every = \"5m\" or at = [\"30s\", \"2m\"]",
            );
            None
        }
        (Some(every), None) => ctx
            .positive_duration(&key("every"), every)
            .map(BatchSchedule::Every),
        (None, Some(times)) => batch_times(ctx, &key("at"), times, window),
    };
    Some(Traffic::Batches {
        batch_size: batch_size?,
        schedule: schedule?,
    })
}

/// `at = [...]`: ascending offsets from the run start, inside the stream's window.
fn batch_times(
    ctx: &mut Ctx,
    path: &str,
    raw: &[RawDuration],
    window: Option<(Duration, Duration)>,
) -> Option<BatchSchedule> {
    if raw.is_empty() {
        ctx.error(path, "must not be empty");
        return None;
    }
    let before = ctx.errors.len();
    let mut times: Vec<SerDuration> = Vec::with_capacity(raw.len());
    for (i, text) in raw.iter().enumerate() {
        let element = push_index(path, i);
        let Some(at) = ctx.duration(&element, text) else {
            continue;
        };
        if let Some((start, duration)) = window {
            let end = start.saturating_add(duration);
            if at < start || at >= end {
                ctx.error(
                    &element,
                    format!(
                        "{} is outside the stream's window {}..{}",
                        format_duration(at),
                        format_duration(start),
                        format_duration(end)
                    ),
                );
            }
        }
        if times.last().is_some_and(|last| last.0 > at) {
            ctx.error(&element, "times must be in ascending order");
        }
        times.push(SerDuration(at));
    }
    (ctx.errors.len() == before).then_some(BatchSchedule::At(times))
}

/// `start` and `duration` of a stream or actor: inside the load period, defaulting to all of
/// what is left of it.
fn active_window(
    ctx: &mut Ctx,
    path: &str,
    start: Option<&RawDuration>,
    duration: Option<&RawDuration>,
    run: &Run,
) -> Option<(Duration, Duration)> {
    let start_path = push_key(path, "start");
    let duration_path = push_key(path, "duration");
    let start = ctx.duration_or(&start_path, start, Duration::ZERO)?;
    if run.known && start >= run.duration {
        ctx.error(
            &start_path,
            format!(
                "starts at {}, after load ends at {}",
                format_duration(start),
                format_duration(run.duration)
            ),
        );
        return None;
    }
    let left = run.duration.saturating_sub(start);
    let duration = match duration {
        Some(raw) => ctx.positive_duration(&duration_path, raw)?,
        None => left,
    };
    if run.known && duration > left {
        ctx.error(
            &duration_path,
            format!(
                "runs until {}, after load ends at {}",
                format_duration(start.saturating_add(duration)),
                format_duration(run.duration)
            ),
        );
        return None;
    }
    Some((start, duration))
}

pub(super) fn key_space(
    ctx: &mut Ctx,
    path: &str,
    raw: Option<&RawKeys>,
    object: &str,
) -> Option<KeySpace> {
    let default = RawKeys::default();
    let raw = raw.unwrap_or(&default);
    let pool = match NonZeroU64::new(raw.pool.unwrap_or(DEFAULT_POOL)) {
        Some(pool) => Some(pool),
        None => {
            ctx.error(&push_key(path, "pool"), "must be at least 1, got 0");
            None
        }
    };
    let distribution = match raw.distribution.as_deref().unwrap_or("uniform") {
        "uniform" => {
            if raw.exponent.is_some() {
                ctx.error(
                    &push_key(path, "exponent"),
                    "only applies to distribution = \"zipf\"",
                );
                None
            } else {
                Some(KeyDistribution::Uniform)
            }
        }
        "zipf" => {
            let exponent = raw.exponent.unwrap_or(DEFAULT_ZIPF_EXPONENT);
            if exponent.is_finite() && exponent > 0.0 {
                Some(KeyDistribution::Zipf { exponent })
            } else {
                ctx.error(
                    &push_key(path, "exponent"),
                    format!("must be a number above 0, got {exponent}"),
                );
                None
            }
        }
        other => {
            ctx.error(
                &push_key(path, "distribution"),
                format!("unknown value \"{other}\" (expected one of \"uniform\", \"zipf\")"),
            );
            None
        }
    };
    let prefix = raw.prefix.clone().unwrap_or_else(|| default_prefix(object));
    Some(KeySpace {
        pool: pool?,
        distribution: distribution?,
        prefix,
        shard: None,
    })
}

/// `A-` for Account, `C-` for Contact: short keys that still say what they are.
fn default_prefix(object: &str) -> String {
    match object.chars().next() {
        Some(c) => format!("{}-", c.to_ascii_uppercase()),
        None => String::new(),
    }
}

pub(super) fn actors(ctx: &mut Ctx, raw: &[RawActor], run: &Run) -> Option<Vec<Actor>> {
    let before = ctx.errors.len();
    let mut names = HashSet::new();
    let mut actors = Vec::with_capacity(raw.len());
    for (i, actor) in raw.iter().enumerate() {
        let path = push_index("actors", i);
        let key = |k: &str| push_key(&path, k);
        let name = ctx.name(&key("name"), &actor.name);
        if let Some(name) = &name {
            if name == "integration" {
                ctx.error(
                    &key("name"),
                    "\"integration\" is reserved: it names the integration in [ownership]",
                );
            } else if !names.insert(name.clone()) {
                ctx.error(
                    &key("name"),
                    format!("another actor is already named \"{name}\""),
                );
            }
        }
        let object = ctx.api_name(&key("object"), &actor.object);
        let fields = validate_fields(ctx, &key("fields"), actor.fields.as_ref());
        if actor.fields.is_none() {
            ctx.error(
                &key("fields"),
                "missing: which fields the actor edits, e.g. fields = [\"Phone\"]",
            );
        }
        let rate = validate_rate(ctx, &key("rate"), &actor.rate);
        let keys = match &actor.keys {
            Some(keys) => key_space(ctx, &key("keys"), Some(keys), &actor.object).map(Some),
            None => Some(None),
        };
        let external_id_field = ctx.api_name(
            &key("external_id_field"),
            actor
                .external_id_field
                .as_deref()
                .unwrap_or(DEFAULT_EXTERNAL_ID_FIELD),
        );
        let username = match &actor.username {
            Some(username) if username.contains('@') && !username.contains(char::is_whitespace) => {
                Some(username.clone())
            }
            Some(username) => {
                ctx.error(
                    &key("username"),
                    format!(
                        "must look like a Salesforce username (name@domain), got \"{username}\""
                    ),
                );
                None
            }
            None => Some(default_username(&actor.name)),
        };
        let window = active_window(
            ctx,
            &path,
            actor.start.as_ref(),
            actor.duration.as_ref(),
            run,
        );
        if let (
            Some(name),
            Some(object),
            Some(rate),
            Some(keys),
            Some(external_id_field),
            Some(username),
            Some((start, duration)),
        ) = (
            name,
            object,
            rate,
            keys,
            external_id_field,
            username,
            window,
        ) {
            actors.push(Actor {
                name,
                object,
                fields,
                rate,
                keys,
                external_id_field,
                username,
                start,
                duration,
            });
        }
    }
    (ctx.errors.len() == before).then_some(actors)
}

/// `sales-users` → `sales-users@sfchaos.test`, next to the org's `admin@sfchaos.test`.
fn default_username(name: &str) -> String {
    let local: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{local}@sfchaos.test")
}
