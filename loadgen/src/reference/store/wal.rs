//! The durable queue's file: an append-only log of JSON lines in `SFCHAOS_STATE_DIR/queue.log`.
//!
//! * An accepted event is appended and **fsynced before the 2xx goes out**; that is the promise
//!   `POST /events` makes. Appends from concurrent requests are committed together (one `fsync` per
//!   group), so durability costs one disk flush per burst, not per event.
//! * "Done" markers are appended without waiting: losing one in a crash only means the event is
//!   written again on replay, and an upsert of the same values is harmless.
//! * On start the log is replayed (accepted minus done = pending; every id ever accepted is
//!   remembered, so a re-sent event is not applied twice) and rewritten compactly. A torn last line
//!   — a crash mid-append — is ignored: its event was never acknowledged.
//!
//! One writer thread owns the file; the async side talks to it over a channel and never blocks a
//! runtime worker on disk I/O.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::datagen::Event;

use super::BatchLoad;

/// One line of the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// An event was accepted.
    Accept(Event),
    /// These events are written (or given up for good).
    Done(Vec<String>),
    /// Ids accepted and done before the last compaction (kept so re-sends stay idempotent).
    Seen(Vec<String>),
    /// A `/batch` load was accepted.
    Batch(BatchLoad),
    /// That load is finished.
    BatchDone(String),
}

/// What a replay found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Accepted, not done, in acceptance order.
    pub pending: Vec<Event>,
    /// Every event id ever accepted (pending included).
    pub seen: HashSet<String>,
    /// Batch loads not finished.
    pub batches: Vec<BatchLoad>,
}

struct Msg {
    line: Vec<u8>,
    ack: Option<oneshot::Sender<Result<(), String>>>,
}

/// Handle to the log's writer thread. Dropping every handle ends the thread after a final flush.
#[derive(Debug, Clone)]
pub struct Wal {
    tx: mpsc::Sender<Msg>,
}

/// Ids per `seen` line in a compacted log.
const SEEN_PER_LINE: usize = 1_000;

impl Wal {
    /// Replay `dir/queue.log`, compact it, and start the writer.
    pub fn open(dir: &Path) -> std::io::Result<(Wal, Recovered)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("queue.log");
        let recovered = replay(&path)?;
        compact(&path, &recovered)?;
        let file = OpenOptions::new().append(true).create(true).open(&path)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sfchaos-queue-log".into())
            .spawn(move || writer(file, rx))?;
        Ok((Wal { tx }, recovered))
    }

    /// Append `record` and wait until it is on disk.
    pub async fn append(&self, record: &Record) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.send(record, Some(ack))?;
        done.await
            .map_err(|_| "the queue log writer stopped".to_string())?
    }

    /// Append `record`; it reaches the disk with the next group commit.
    pub fn append_later(&self, record: &Record) {
        if let Err(e) = self.send(record, None) {
            tracing::warn!("queue log: {e}");
        }
    }

    /// Wait until everything appended so far is on disk.
    pub async fn sync(&self) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Msg {
                line: Vec::new(),
                ack: Some(ack),
            })
            .map_err(|_| "the queue log writer stopped".to_string())?;
        done.await
            .map_err(|_| "the queue log writer stopped".to_string())?
    }

    fn send(
        &self,
        record: &Record,
        ack: Option<oneshot::Sender<Result<(), String>>>,
    ) -> Result<(), String> {
        let mut line = serde_json::to_vec(record).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.tx
            .send(Msg { line, ack })
            .map_err(|_| "the queue log writer stopped".to_string())
    }
}

/// Group commit: take everything queued, write it, one fsync, then answer every waiter.
fn writer(mut file: File, rx: mpsc::Receiver<Msg>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while let Ok(more) = rx.try_recv() {
            group.push(more);
            if group.len() >= 4_096 {
                break;
            }
        }
        let bytes: Vec<u8> = group.iter().flat_map(|m| m.line.iter().copied()).collect();
        let result = file
            .write_all(&bytes)
            .and_then(|()| file.sync_data())
            .map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!("queue log write failed: {e}");
        }
        for msg in group {
            if let Some(ack) = msg.ack {
                let _ = ack.send(result.clone());
            }
        }
    }
}

fn replay(path: &Path) -> std::io::Result<Recovered> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recovered::default()),
        Err(e) => return Err(e),
    };
    let mut accepted: Vec<Event> = Vec::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut batches: Vec<BatchLoad> = Vec::new();
    let mut batches_done: HashSet<String> = HashSet::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(&line) {
            Ok(Record::Accept(e)) => {
                seen.insert(e.id.clone());
                accepted.push(e);
            }
            Ok(Record::Done(ids)) => done.extend(ids),
            Ok(Record::Seen(ids)) => seen.extend(ids),
            Ok(Record::Batch(b)) => batches.push(b),
            Ok(Record::BatchDone(id)) => {
                batches_done.insert(id);
            }
            Err(e) => {
                // Only a crash mid-append produces this, and only on the last line.
                tracing::warn!("{}:{}: ignoring a torn record ({e})", path.display(), n + 1);
            }
        }
    }
    // An id accepted twice (a re-send racing a crash) is pending once.
    let mut first: HashMap<String, usize> = HashMap::new();
    let pending = accepted
        .into_iter()
        .filter(|e| !done.contains(&e.id))
        .filter(|e| {
            let k = first.len();
            *first.entry(e.id.clone()).or_insert(k) == k
        })
        .collect();
    batches.retain(|b| !batches_done.contains(&b.id));
    Ok(Recovered {
        pending,
        seen,
        batches,
    })
}

/// Rewrite the log as `seen` lines for finished ids, then the pending accepts and batches.
fn compact(path: &Path, r: &Recovered) -> std::io::Result<()> {
    let tmp = path.with_extension("log.compacting");
    {
        let mut out = std::io::BufWriter::new(File::create(&tmp)?);
        let pending: HashSet<&str> = r.pending.iter().map(|e| e.id.as_str()).collect();
        let mut finished: Vec<&String> = r
            .seen
            .iter()
            .filter(|id| !pending.contains(id.as_str()))
            .collect();
        finished.sort();
        for chunk in finished.chunks(SEEN_PER_LINE) {
            let ids = chunk.iter().map(|s| s.to_string()).collect();
            write_line(&mut out, &Record::Seen(ids))?;
        }
        for e in &r.pending {
            write_line(&mut out, &Record::Accept(e.clone()))?;
        }
        for b in &r.batches {
            write_line(&mut out, &Record::Batch(b.clone()))?;
        }
        out.flush()?;
        out.get_ref().sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable.
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn write_line(out: &mut impl Write, record: &Record) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")
}
