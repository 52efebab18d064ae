//! The inbound driver: the upstream system posting business events to the integration
//! (`POST /events`, `POST /batch`), in an open model.
//!
//! Per stream, a [`Driver`] hands out tickets at the schedule's intended instants under the
//! stream's in-flight cap; each ticket becomes a task that builds the event (a pure function of
//! the seed and its sequence number), posts it, and reports the outcome twice:
//! - to the recorder: latency from the **intended** instant (corrected) and from the actual send
//!   (raw), under the phase open at the intended instant;
//! - to the ledger: one [`LedgerEntry`] per event (per record, for batches), written to
//!   `ledger.ndjson` as it completes (entries that complete together share one write).
//!
//! The ledger's `sent_us` is the **dispatch** instant, which the driver assigns in sequence order,
//! so two events of one key are ordered as the schedule meant them even when their tasks race to
//! the socket. Raw latency is still timed from the moment the request is written.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::convert::StreamSchedule;
use super::evidence::RunClock;
use super::http::{HttpClient, SendError};
use super::phase::Phases;
use crate::datagen::{Event, EventBuilder, EventKind};
use crate::ledger::{Ledger, LedgerEntry, LedgerError, LedgerWriter, Outcome};
use crate::recorder::{self, Sample, SampleSender};
use crate::schedule::{Arrival, Driver, DriverStats, Ticket};

/// How long the harness waits for the integration to answer one event or batch. Generous: a
/// slow answer is the integration's latency, recorded as such; only a hung one becomes a timeout.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Live counters for the progress display.
#[derive(Debug, Default)]
pub struct LiveStats {
    pub sent: AtomicU64,
    pub completed: AtomicU64,
    /// Completed without a 2xx.
    pub errors: AtomicU64,
}

/// Everything an event task needs; shared by all streams of a run.
#[derive(Debug)]
pub struct Inbound {
    pub client: HttpClient,
    pub events_uri: Uri,
    pub batch_uri: Uri,
    pub clock: RunClock,
    pub phases: Arc<Phases>,
    pub samples: SampleSender,
    pub ledger: mpsc::Sender<LedgerEntry>,
    pub timeout: Duration,
    pub live: Arc<LiveStats>,
    /// Cancelled to give up on requests still in flight (interrupted runs); they are recorded as
    /// transport errors, never silently dropped.
    pub abort: CancellationToken,
    /// Every event task, so the run can wait for the last reply before closing the ledger.
    pub tasks: TaskTracker,
}

/// One `[[load]]` stream of single events.
#[derive(Debug)]
pub struct EventStream {
    pub name: Arc<str>,
    pub builder: Arc<EventBuilder>,
    pub schedule: StreamSchedule,
    /// Offset of the stream's start from the run start.
    pub start: Duration,
    /// The caller keeps [`Driver::counters`], which stay readable if the run is cut short.
    pub driver: Driver,
}

/// One `[[load]]` stream of batches.
#[derive(Debug)]
pub struct BatchStream {
    pub name: Arc<str>,
    pub builder: Arc<EventBuilder>,
    pub batch_size: u32,
    /// Offsets from the run start, ascending.
    pub times: Vec<Duration>,
    pub driver: Driver,
    /// `(index, count)` of the shard, for run-wide unique sequence numbers.
    pub shard: (u64, u64),
}

/// What a stream did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamOutcome {
    pub name: String,
    /// `events` or `batch`.
    pub kind: String,
    pub stats: DriverStats,
}

impl Inbound {
    /// Drives one event stream to its end. Replies may still be outstanding when it returns; wait
    /// on [`Inbound::tasks`].
    pub async fn run_events(self: &Arc<Self>, stream: EventStream) -> StreamOutcome {
        let start = self.clock.start + stream.start;
        let stats = stream
            .driver
            .run(start, stream.schedule.arrivals(), |ticket| {
                let inbound = Arc::clone(self);
                let name = Arc::clone(&stream.name);
                let builder = Arc::clone(&stream.builder);
                self.tasks.spawn(async move {
                    inbound.send_event(name, &builder, ticket).await;
                });
            })
            .await;
        StreamOutcome {
            name: stream.name.to_string(),
            kind: "events".into(),
            stats,
        }
    }

    async fn send_event(&self, stream: Arc<str>, builder: &EventBuilder, ticket: Ticket) {
        let offset = self.clock.offset(ticket.intended);
        let phase = self.phases.at(offset);
        let event = builder.build(ticket.seq, self.clock.wall_at(offset));
        let body = match serde_json::to_vec(&event) {
            Ok(body) => Bytes::from(body),
            Err(e) => Bytes::from(format!("{{\"unencodable\":\"{e}\"}}")),
        };
        let (sent, done, result) = self.post(&self.events_uri, body).await;
        let (seq, intended, dispatched) = (ticket.seq, ticket.intended, ticket.dispatched);
        // Free the in-flight slot before the bookkeeping below.
        drop(ticket);
        let outcome = outcome_of(result);
        self.count(&outcome);
        self.sample(&stream, phase, intended, sent, done, &outcome)
            .await;
        let entry = into_entry(
            event,
            &stream,
            seq,
            self.clock.t_us(dispatched),
            outcome,
            done.saturating_duration_since(sent),
        );
        let _ = self.ledger.send(entry).await;
    }

    /// Drives one batch stream: `batch_size` records per batch, keys assigned in order so a batch
    /// never names one record twice.
    pub async fn run_batches(self: &Arc<Self>, stream: BatchStream) -> StreamOutcome {
        let arrivals: Vec<Arrival> = stream
            .times
            .iter()
            .enumerate()
            .map(|(i, at)| Arrival {
                seq: i as u64,
                at: *at,
            })
            .collect();
        let stream = Arc::new(stream);
        let stats = stream
            .driver
            .run(self.clock.start, arrivals, |ticket| {
                let inbound = Arc::clone(self);
                let stream = Arc::clone(&stream);
                self.tasks.spawn(async move {
                    inbound.send_batch(&stream, ticket).await;
                });
            })
            .await;
        StreamOutcome {
            name: stream.name.to_string(),
            kind: "batch".into(),
            stats,
        }
    }

    async fn send_batch(&self, stream: &BatchStream, ticket: Ticket) {
        let offset = self.clock.offset(ticket.intended);
        let phase = self.phases.at(offset);
        let occurred_at = self.clock.wall_at(offset);
        let size = u64::from(stream.batch_size);
        let (index, count) = stream.shard;
        let sampler = stream.builder.keys();
        let keys = sampler.len().max(1);
        let events: Vec<(u64, Event)> = (0..size)
            .map(|j| {
                let local = ticket.seq.saturating_mul(size).saturating_add(j);
                let seq = local.saturating_mul(count).saturating_add(index);
                let key = sampler.key_at(local % keys);
                let event = stream
                    .builder
                    .build_for_key(seq, key, EventKind::Upsert, occurred_at);
                (seq, event)
            })
            .collect();
        let (object, ext_field) = events
            .first()
            .map(|(_, e)| (e.object.clone(), e.external_id_field.clone()))
            .unwrap_or_default();
        let records: Vec<Value> = events
            .iter()
            .map(|(_, e)| {
                let mut record = Map::with_capacity(e.fields.len() + 1);
                record.insert(
                    e.external_id_field.clone(),
                    Value::from(e.external_id.as_str()),
                );
                record.extend(e.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                Value::Object(record)
            })
            .collect();
        let body = json!({
            "id": format!("batch-{}-{}", stream.name, ticket.seq),
            "object": object,
            "external_id_field": ext_field,
            "records": records,
        });
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let (sent, done, result) = self.post(&self.batch_uri, body).await;
        let (intended, dispatched) = (ticket.intended, ticket.dispatched);
        drop(ticket);
        let outcome = outcome_of(result);
        self.count(&outcome);
        self.sample(&stream.name, phase, intended, sent, done, &outcome)
            .await;
        let latency = done.saturating_duration_since(sent);
        let sent_us = self.clock.t_us(dispatched);
        for (seq, event) in events {
            let entry = into_entry(event, &stream.name, seq, sent_us, outcome.clone(), latency);
            let _ = self.ledger.send(entry).await;
        }
    }

    async fn post(&self, uri: &Uri, body: Bytes) -> (Instant, Instant, Result<u16, SendError>) {
        self.live.sent.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let result = tokio::select! {
            biased;
            _ = self.abort.cancelled() => Err(SendError::Transport("interrupted: the run was stopped".into())),
            reply = self.client.post_json(uri, body, self.timeout) => reply.map(|r| r.status),
        };
        (sent, Instant::now(), result)
    }

    fn count(&self, outcome: &Outcome) {
        self.live.completed.fetch_add(1, Ordering::Relaxed);
        if !outcome.is_accepted() {
            self.live.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn sample(
        &self,
        stream: &Arc<str>,
        phase: Arc<str>,
        intended: Instant,
        sent: Instant,
        done: Instant,
        outcome: &Outcome,
    ) {
        let sample = Sample {
            stream: Arc::clone(stream),
            phase,
            intended,
            sent,
            done,
            outcome: if outcome.is_accepted() {
                recorder::Outcome::Ok
            } else {
                recorder::Outcome::Error
            },
        };
        let _ = self.samples.send(sample).await;
    }
}

/// The ledger entry of a sent event, taking the event's strings instead of copying them.
fn into_entry(
    event: Event,
    stream: &str,
    seq: u64,
    sent_us: u64,
    outcome: Outcome,
    latency: Duration,
) -> LedgerEntry {
    LedgerEntry {
        event_id: event.id,
        stream: stream.to_owned(),
        seq,
        sent_us,
        object: event.object,
        external_id_field: event.external_id_field,
        external_id: event.external_id,
        kind: event.kind,
        fields: event.fields,
        outcome,
        latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
    }
}

fn outcome_of(result: Result<u16, SendError>) -> Outcome {
    match result {
        Ok(status) => Outcome::from_status(status),
        Err(SendError::Timeout(_)) => Outcome::Timeout,
        Err(SendError::Transport(message)) => Outcome::TransportError { message },
    }
}

/// The ledger's writer: appends every entry to `ledger.ndjson` (entries that arrive together
/// share one write and flush) while the run goes on, and folds the file into a [`Ledger`] when
/// the run is over.
///
/// Folding afterwards rather than entry by entry keeps the per-key bookkeeping (hashing,
/// copying every field value) off the hot path, where it would compete with the driver for CPU;
/// and it makes the reconciliation read exactly the file the report and `sfchaos report` read.
/// Should writing fail, the entries from then on are kept in memory and folded too.
#[derive(Debug)]
pub struct LedgerTask {
    path: PathBuf,
    tx: mpsc::Sender<LedgerEntry>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Written>,
}

#[derive(Debug, Default)]
struct Written {
    lines: u64,
    error: Option<String>,
    /// Entries that could not be written.
    unwritten: Vec<LedgerEntry>,
}

/// What the ledger task hands back.
#[derive(Debug, Default)]
pub struct LedgerResult {
    pub ledger: Ledger,
    pub written: u64,
    /// The first write (or read-back) error.
    pub error: Option<String>,
}

impl LedgerTask {
    pub fn spawn(path: &Path) -> Result<Self, LedgerError> {
        let mut writer = LedgerWriter::create(path)?;
        let (tx, mut rx) = mpsc::channel::<LedgerEntry>(65_536);
        let (stop, mut stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut out = Written::default();
            // Whatever arrived together is written together: one write per batch, never a
            // batch held back waiting for more.
            let mut write = |batch: &mut Vec<LedgerEntry>, out: &mut Written| {
                if out.error.is_none() {
                    match writer.append_all(batch) {
                        Ok(()) => {
                            out.lines += batch.len() as u64;
                            batch.clear();
                            return;
                        }
                        Err(e) => out.error = Some(e.to_string()),
                    }
                }
                out.unwritten.append(batch);
            };
            let mut batch = Vec::with_capacity(1024);
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stop_rx => break,
                    n = rx.recv_many(&mut batch, 1024) => {
                        if n == 0 {
                            break;
                        }
                        if n < 64 {
                            // Let the tasks that are ready finish their events first, so a busy
                            // run writes many lines per system call instead of one.
                            tokio::task::yield_now().await;
                            while batch.len() < 1024 {
                                match rx.try_recv() {
                                    Ok(entry) => batch.push(entry),
                                    Err(_) => break,
                                }
                            }
                        }
                        write(&mut batch, &mut out);
                    }
                }
            }
            rx.close();
            while let Ok(entry) = rx.try_recv() {
                batch.push(entry);
            }
            write(&mut batch, &mut out);
            out
        });
        Ok(LedgerTask {
            path: path.to_path_buf(),
            tx,
            stop,
            task,
        })
    }

    pub fn sender(&self) -> mpsc::Sender<LedgerEntry> {
        self.tx.clone()
    }

    /// Stops once everything already sent is written, then folds the ledger. Call after the
    /// event tasks are done.
    pub async fn finish(self) -> LedgerResult {
        let _ = self.stop.send(());
        drop(self.tx);
        let written = match self.task.await {
            Ok(written) => written,
            Err(e) => Written {
                error: Some(format!("the ledger task failed: {e}")),
                ..Written::default()
            },
        };
        let path = self.path;
        let folded = tokio::task::spawn_blocking(move || Ledger::load(&path)).await;
        let (mut ledger, error) = match folded {
            Ok(Ok((ledger, _, _))) => (ledger, written.error),
            Ok(Err(e)) => (
                Ledger::new(),
                Some(written.error.unwrap_or_else(|| e.to_string())),
            ),
            Err(e) => (Ledger::new(), Some(format!("folding the ledger: {e}"))),
        };
        for entry in &written.unwritten {
            ledger.record(entry);
        }
        LedgerResult {
            ledger,
            written: written.lines,
            error,
        }
    }
}
