//! Actors: other Salesforce users editing records while the integration runs, each through the
//! simulator's REST API under its own identity (its own user, and `Sforce-Call-Options:
//! client=<actor name>`), at the actor's rate.
//!
//! Which record: with `keys`, a key drawn from the actor's key space and looked up by external
//! id (a key with no record yet is skipped and recorded as such: people edit records that
//! exist); without, a live record of the object chosen uniformly. Lookups read the org directly,
//! so they cost no API call and leave no journal entry: only the edit itself is traffic.
//!
//! Every edit is a line of `actor-edits.ndjson` ([`ActorEdit`]): the ownership scorer's record of
//! who wrote what, when.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{Map, Value};
use simulator::org::Org;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::convert::{field_specs, key_pool, shard_of, stream_seed, StreamSchedule};
use super::evidence::{NdjsonLog, RunClock};
use super::world::{ACTOR_PASSWORD, CLIENT_ID, CLIENT_SECRET};
use crate::datagen::{FieldContext, FieldGen, KeySampler};
use crate::scenario::{Actor, Shard};
use crate::schedule::{Driver, DriverConfig, Ticket};
use crate::sf::{SfClient, SfConfig, SfError};

/// Edits one actor may have in flight (people do not open a hundred tabs).
const ACTOR_IN_FLIGHT: usize = 8;
const ACTOR_TIMEOUT: Duration = Duration::from_secs(20);

/// One line of `actor-edits.ndjson`.
#[derive(Clone, Debug, Serialize)]
pub struct ActorEdit {
    /// When the edit was sent, scenario clock.
    pub t_us: u64,
    pub done_us: u64,
    pub actor: String,
    pub username: String,
    pub object: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The values written (or that would have been).
    pub fields: Map<String, Value>,
    /// `ok`, `error` (the API refused), or `skipped` (no record to edit).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Counts for the report.
#[derive(Debug, Default)]
pub struct ActorCounts {
    pub ok: AtomicU64,
    pub errors: AtomicU64,
    pub skipped: AtomicU64,
}

/// What all actors share.
#[derive(Debug, Clone)]
pub struct ActorWorld {
    pub org: Arc<Org>,
    /// `http://127.0.0.1:PORT` of the simulator.
    pub http_url: String,
    pub api_version: String,
    pub clock: RunClock,
    pub log: NdjsonLog,
    pub seed: u64,
    pub shard: Option<Shard>,
    pub counts: Arc<ActorCounts>,
}

struct Prepared {
    actor: Actor,
    client: SfClient,
    fields: Vec<(String, FieldGen)>,
    keys: Option<KeySampler>,
    key_seed: u64,
    value_seed: u64,
}

/// Runs one actor until its window ends or `stop` is cancelled. Errors setting it up (a field
/// generator that does not compile) are returned; edits that fail are evidence, not errors.
pub async fn run_actor(
    world: ActorWorld,
    actor: Actor,
    stop: CancellationToken,
) -> Result<(), String> {
    let config = SfConfig::new(world.http_url.clone())
        .with_credentials(actor.username.clone(), ACTOR_PASSWORD)
        .with_client(CLIENT_ID, CLIENT_SECRET)
        .with_api_version(&world.api_version)
        .with_client_name(actor.name.clone())
        .with_timeout(ACTOR_TIMEOUT);
    let client = SfClient::new(config).map_err(|e| format!("actor {}: {e}", actor.name))?;
    let object_def = world.org.data.read().schema.object(&actor.object).cloned();
    let fields = field_specs(&actor.fields, object_def.as_ref())
        .iter()
        .map(|(name, spec)| spec.compile(name).map(|g| (name.clone(), g)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("actor {}: {e}", actor.name))?;
    let keys = match &actor.keys {
        Some(space) => {
            let (index, count) = shard_of(space);
            Some(
                key_pool(space)
                    .shard(index, count)
                    .map_err(|e| format!("actor {}: {e}", actor.name))?,
            )
        }
        None => None,
    };
    let part = format!("actor:{}", actor.name);
    let schedule = StreamSchedule::new(
        &actor.rate,
        actor.duration,
        stream_seed(world.seed, &part, world.shard),
        world.shard,
    )
    .map_err(|e| format!("actor {}: {e}", actor.name))?;
    let prepared = Arc::new(Prepared {
        key_seed: stream_seed(world.seed, &format!("{part}:keys"), world.shard),
        value_seed: stream_seed(world.seed, &format!("{part}:values"), None),
        actor,
        client,
        fields,
        keys,
    });
    let driver = Driver::new(DriverConfig {
        max_in_flight: ACTOR_IN_FLIGHT,
        ..DriverConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let tasks = TaskTracker::new();
    let start = world.clock.start + prepared.actor.start;
    let world = Arc::new(world);
    let run = driver.run(start, schedule.arrivals(), |ticket| {
        let world = Arc::clone(&world);
        let prepared = Arc::clone(&prepared);
        tasks.spawn(async move { edit(&world, &prepared, ticket).await });
    });
    tokio::select! {
        _ = run => {}
        _ = stop.cancelled() => {}
    }
    tasks.close();
    tasks.wait().await;
    Ok(())
}

async fn edit(world: &ActorWorld, p: &Prepared, ticket: Ticket) {
    let actor = &p.actor;
    let (key_index, record_id, external_id) = choose(world, p, ticket.seq).unwrap_or_default();
    let ext_text = external_id.clone().unwrap_or_default();
    let index_text = ext_text
        .strip_prefix(actor.keys.as_ref().map_or("", |k| k.prefix.as_str()))
        .unwrap_or(&ext_text)
        .to_owned();
    let ctx = FieldContext {
        seed: p.value_seed,
        key_index,
        external_id: &ext_text,
        index_text: &index_text,
        version: ticket.seq,
    };
    let fields: Map<String, Value> = p
        .fields
        .iter()
        .map(|(name, g)| (name.clone(), g.value(&ctx)))
        .collect();
    let t_us = world.clock.now_us();
    let mut line = ActorEdit {
        t_us,
        done_us: t_us,
        actor: actor.name.clone(),
        username: actor.username.clone(),
        object: actor.object.clone(),
        record_id: record_id.clone(),
        external_id,
        fields,
        status: "skipped",
        http_status: None,
        error: None,
    };
    let Some(id) = record_id else {
        line.error = Some("no record to edit".into());
        world.counts.skipped.fetch_add(1, Ordering::Relaxed);
        world.log.write(&line);
        return;
    };
    let body = Value::Object(line.fields.clone());
    let result = update(&p.client, &actor.object, &id, &body).await;
    drop(ticket);
    line.done_us = world.clock.now_us();
    match result {
        Ok(()) => {
            line.status = "ok";
            world.counts.ok.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            line.status = "error";
            line.http_status = e.status();
            line.error = Some(e.to_string());
            world.counts.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    world.log.write(&line);
}

/// Logs in when there is no session yet, and once more when the session has expired.
async fn update(client: &SfClient, object: &str, id: &str, body: &Value) -> Result<(), SfError> {
    if client.session().is_none() {
        client.login().await?;
    }
    match client.update(object, id, body).await {
        Err(e) if e.is_invalid_session() => {
            client.reauthenticate().await?;
            client.update(object, id, body).await
        }
        other => other,
    }
}

/// `(key index, record id, external id)` of the record edit `seq` touches.
fn choose(
    world: &ActorWorld,
    p: &Prepared,
    seq: u64,
) -> Option<(u64, Option<String>, Option<String>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(p.key_seed);
    rng.set_stream(seq);
    let data = world.org.data.read();
    let obj = data.schema.object_index(&p.actor.object)?;
    let table = data.tables.get(obj)?;
    match &p.keys {
        Some(sampler) => {
            let key = sampler.draw(&mut rng);
            let ext = sampler.external_id(key);
            let field = data.schema.objects[obj].field_index(&p.actor.external_id_field)?;
            let id = table
                .find_by_index(field, &ext)
                .first()
                .map(|num| data.id_of(obj, *num).to18());
            Some((key, id, Some(ext)))
        }
        None => {
            if table.live == 0 {
                return Some((0, None, None));
            }
            let pick = rng.random_range(0..table.live);
            let row = table.rows.values().filter(|r| !r.deleted).nth(pick)?;
            let ext = data.schema.objects[obj]
                .field_index(&p.actor.external_id_field)
                .and_then(|fi| row.get_raw(fi))
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            Some((row.num, Some(data.id_of(obj, row.num).to18()), ext))
        }
    }
}
