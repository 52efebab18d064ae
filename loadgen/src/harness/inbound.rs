//! The inbound driver: the upstream system posting business events to the integration
//! (`POST /events`, `POST /batch`), in an open model.
//!
//! Per stream, a [`Driver`] hands out tickets at the schedule's intended instants under the
//! stream's in-flight cap; each ticket becomes a task that builds the event (a pure function of
//! the seed and its sequence number), posts it, and reports the outcome twice:
//! - to the recorder: latency from the **intended** instant (corrected) and from the actual send
//!   (raw), under the phase open at the intended instant;
//! - to the ledger: one line per event (per record, for batches), written to `ledger.ndjson` as
//!   it completes (entries that complete together share one write). A single event's line is
//!   spliced from the body that was sent ([`SentEvent`]), so an event is encoded once.
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
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::convert::StreamSchedule;
use super::evidence::RunClock;
use super::http::{HttpClient, SendError};
use super::phase::Phases;
use super::prepare::{Encoder, Prepared};
use crate::datagen::{Event, EventBuilder, EventKind};
use crate::ledger::{
    Ledger, LedgerEntry, LedgerError, LedgerRecord, LedgerWriter, Outcome, SentEvent,
};
use crate::recorder::{self, Sample, SampleSender};
use crate::schedule::{Arrival, Driver, DriverStats, Ticket};

/// Most ledger lines written with one system call.
const LEDGER_BATCH: usize = 4_096;
/// How often the ledger writer writes what has arrived: what a crash of the harness itself could
/// lose at most (the integration's crashes and interrupted runs lose nothing).
const LEDGER_FLUSH_INTERVAL: Duration = Duration::from_millis(2);

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
    pub ledger: mpsc::Sender<LedgerRecord>,
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

/// One event for a worker: its ticket and its body, if it was encoded ahead.
#[derive(Debug)]
struct Job {
    ticket: Ticket,
    prepared: Option<Prepared>,
}

/// A worker's inbox. Its only sender travels with the worker's job and goes back to the idle
/// list when the worker is free, so closing the list ends idle workers.
#[derive(Debug)]
struct Inbox(mpsc::Sender<(Job, Inbox)>);

/// Idle workers' inboxes; `None` once the stream has ended.
type WorkerPool = parking_lot::Mutex<Option<Vec<Inbox>>>;

/// A stream's event workers: at most one per event in flight, started as needed and reused, so
/// an event costs a hand-over rather than a task of its own. Dropping it (the stream ended, or
/// its driver was dropped) ends them once their events are done.
#[derive(Debug)]
struct Workers {
    pool: Arc<WorkerPool>,
}

impl Workers {
    fn new() -> Self {
        Workers {
            pool: Arc::new(parking_lot::Mutex::new(Some(Vec::new()))),
        }
    }

    /// Gives `job` to an idle worker; when none is, hands it back with the inbox of a worker to
    /// start for it.
    #[allow(clippy::type_complexity)]
    fn hand_over(&self, job: Job) -> Option<(Job, Inbox, mpsc::Receiver<(Job, Inbox)>)> {
        let idle = self.pool.lock().as_mut().and_then(Vec::pop);
        let job = match idle {
            Some(inbox) => {
                let tx = inbox.0.clone();
                match tx.try_send((job, inbox)) {
                    Ok(()) => return None,
                    // An idle worker always has room; should it be gone, start another.
                    Err(
                        mpsc::error::TrySendError::Full((job, _))
                        | mpsc::error::TrySendError::Closed((job, _)),
                    ) => job,
                }
            }
            None => job,
        };
        let (tx, rx) = mpsc::channel(1);
        Some((job, Inbox(tx), rx))
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.pool.lock().take();
    }
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
        let mut encoder = Encoder::spawn(
            &stream.name,
            Arc::clone(&stream.builder),
            stream.schedule.arrivals(),
            self.clock,
            stream.start,
        );
        let workers = Workers::new();
        let stats = stream
            .driver
            .run(start, stream.schedule.arrivals(), |ticket| {
                let job = Job {
                    prepared: encoder.take(ticket.seq),
                    ticket,
                };
                let Some((job, inbox, rx)) = workers.hand_over(job) else {
                    return;
                };
                let inbound = Arc::clone(self);
                let name = Arc::clone(&stream.name);
                let builder = Arc::clone(&stream.builder);
                let pool = Arc::clone(&workers.pool);
                self.tasks.spawn(async move {
                    inbound.work(&name, &builder, &pool, job, inbox, rx).await;
                });
            })
            .await;
        StreamOutcome {
            name: stream.name.to_string(),
            kind: "events".into(),
            stats,
        }
    }

    /// An event worker: sends its job's event, offers itself for the next, and ends when the
    /// stream's workers are closed.
    async fn work(
        &self,
        stream: &Arc<str>,
        builder: &EventBuilder,
        pool: &WorkerPool,
        mut job: Job,
        mut inbox: Inbox,
        mut rx: mpsc::Receiver<(Job, Inbox)>,
    ) {
        loop {
            self.send_event(Arc::clone(stream), builder, job.ticket, job.prepared)
                .await;
            match pool.lock().as_mut() {
                Some(idle) => idle.push(inbox),
                None => return,
            }
            match rx.recv().await {
                Some((next, own)) => (job, inbox) = (next, own),
                None => return,
            }
        }
    }

    async fn send_event(
        &self,
        stream: Arc<str>,
        builder: &EventBuilder,
        ticket: Ticket,
        prepared: Option<Prepared>,
    ) {
        let offset = self.clock.offset(ticket.intended);
        let phase = self.phases.at(offset);
        let Prepared { body, parts, .. } =
            prepared.unwrap_or_else(|| Prepared::encode(builder, &self.clock, ticket.seq, offset));
        let (sent, done, result) = self.post(&self.events_uri, body.clone()).await;
        let (seq, intended, dispatched) = (ticket.seq, ticket.intended, ticket.dispatched);
        // Free the in-flight slot before the bookkeeping below.
        drop(ticket);
        let outcome = outcome_of(result);
        self.count(&outcome);
        self.sample(&stream, phase, intended, sent, done, &outcome)
            .await;
        let record = LedgerRecord::Sent(SentEvent {
            stream,
            seq,
            sent_us: self.clock.t_us(dispatched),
            body,
            parts,
            outcome,
            latency_us: micros(done.saturating_duration_since(sent)),
        });
        let _ = self.ledger.send(record).await;
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
            let _ = self.ledger.send(LedgerRecord::Entry(entry)).await;
        }
    }

    async fn post(&self, uri: &Uri, body: Bytes) -> (Instant, Instant, Result<u16, SendError>) {
        self.live.sent.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let result = tokio::select! {
            biased;
            _ = self.abort.cancelled() => Err(SendError::Transport("interrupted: the run was stopped".into())),
            status = self.client.post_json_status(uri, body, sent, self.timeout) => status,
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
        latency_us: micros(latency),
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
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
///
/// The writer has a thread of its own and writes what has arrived every
/// [`LEDGER_FLUSH_INTERVAL`] (at once when a full batch is waiting): writing a line per event is a
/// fair share of what an event costs, and on the load's thread it would delay dispatches and cap
/// the rate one core can drive. Waking a writer thread per entry would cost more than the line;
/// an entry that waits for the next interval costs nothing.
#[derive(Debug)]
pub struct LedgerTask {
    path: PathBuf,
    tx: mpsc::Sender<LedgerRecord>,
    stop: oneshot::Sender<()>,
    done: oneshot::Receiver<Written>,
}

#[derive(Debug, Default)]
struct Written {
    lines: u64,
    error: Option<String>,
    /// Entries that could not be written.
    unwritten: Vec<LedgerRecord>,
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
        let (tx, mut rx) = mpsc::channel::<LedgerRecord>(65_536);
        let (stop, mut stop_rx) = oneshot::channel::<()>();
        let (written, done) = oneshot::channel::<Written>();
        let mut run = move || {
            let mut out = Written::default();
            let mut write = |batch: &mut Vec<LedgerRecord>, out: &mut Written| {
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
            let mut batch = Vec::with_capacity(LEDGER_BATCH);
            // Stop is checked first, so a steady stream of entries cannot delay `finish`; the
            // drain below still writes everything sent before it.
            while matches!(stop_rx.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
                while batch.len() < LEDGER_BATCH {
                    match rx.try_recv() {
                        Ok(entry) => batch.push(entry),
                        Err(_) => break,
                    }
                }
                let full = batch.len() == LEDGER_BATCH;
                if !batch.is_empty() {
                    write(&mut batch, &mut out);
                }
                if !full {
                    std::thread::sleep(LEDGER_FLUSH_INTERVAL);
                }
            }
            rx.close();
            while let Ok(entry) = rx.try_recv() {
                batch.push(entry);
            }
            write(&mut batch, &mut out);
            out
        };
        std::thread::Builder::new()
            .name("sfchaos-ledger".into())
            .spawn(move || {
                let _ = written.send(run());
            })
            .map_err(LedgerError::Write)?;
        Ok(LedgerTask {
            path: path.to_path_buf(),
            tx,
            stop,
            done,
        })
    }

    pub fn sender(&self) -> mpsc::Sender<LedgerRecord> {
        self.tx.clone()
    }

    /// Stops once everything already sent is written, then folds the ledger. Call after the
    /// event tasks are done.
    pub async fn finish(self) -> LedgerResult {
        let _ = self.stop.send(());
        drop(self.tx);
        let written = match self.done.await {
            Ok(written) => written,
            Err(_) => Written {
                error: Some("the ledger writer stopped unexpectedly".into()),
                ..Written::default()
            },
        };
        let path = self.path;
        let folded = tokio::task::spawn_blocking(move || Ledger::load(&path)).await;
        let (mut ledger, mut error) = match folded {
            Ok(Ok((ledger, _, _))) => (ledger, written.error),
            Ok(Err(e)) => (
                Ledger::new(),
                Some(written.error.unwrap_or_else(|| e.to_string())),
            ),
            Err(e) => (Ledger::new(), Some(format!("folding the ledger: {e}"))),
        };
        for record in &written.unwritten {
            match record.to_entry() {
                Ok(entry) => ledger.record(&entry),
                Err(e) => {
                    error.get_or_insert_with(|| format!("decoding an unwritten entry: {e}"));
                }
            }
        }
        LedgerResult {
            ledger,
            written: written.lines,
            error,
        }
    }
}
