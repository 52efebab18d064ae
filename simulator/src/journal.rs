//! The ground-truth request journal (design.md §7).
//!
//! Every request the simulator answers — or refuses, resets or holds through a fault — becomes one
//! [`JournalEntry`]. Entries go to two places:
//! - a bounded in-memory ring of their encoded lines (the admin API's `GET /__admin/journal` reads
//!   recent entries from it, decoding them then);
//! - an append-only NDJSON file compressed with zstd, the complete record the scorer reads. The file is
//!   written as a sequence of independent zstd frames, one per flush (every second and at shutdown), so
//!   a crash loses at most the last second and a reader never meets a half-written frame it cannot skip.
//!
//! Memory therefore stays bounded however long a run lasts.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Which API family a request belongs to (fault scopes and scoring group by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    Rest,
    Soap,
    Oauth,
    Composite,
    Bulk,
    Streaming,
    Admin,
    #[default]
    Other,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::Rest => "rest",
            Api::Soap => "soap",
            Api::Oauth => "oauth",
            Api::Composite => "composite",
            Api::Bulk => "bulk",
            Api::Streaming => "streaming",
            Api::Admin => "admin",
            Api::Other => "other",
        }
    }

    /// Classify by path (case-insensitively).
    pub fn of_path(path: &str) -> Api {
        let starts = |prefix: &str| {
            path.len() >= prefix.len()
                && path.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        };
        // Both needles start with '/': only compare where the path has one.
        let contains = |needle: &str| {
            let (p, n) = (path.as_bytes(), needle.as_bytes());
            memchr::memchr_iter(b'/', p)
                .any(|i| p.len() - i >= n.len() && p[i..i + n.len()].eq_ignore_ascii_case(n))
        };
        if starts("/__admin") {
            Api::Admin
        } else if starts("/services/soap") {
            Api::Soap
        } else if starts("/services/oauth2") || starts("/id/") {
            Api::Oauth
        } else if starts("/cometd") {
            Api::Streaming
        } else if starts("/services/data/") && contains("/jobs/") {
            Api::Bulk
        } else if starts("/services/data/") && contains("/composite") {
            Api::Composite
        } else if starts("/services/data") {
            Api::Rest
        } else {
            Api::Other
        }
    }
}

/// A fault decision recorded on the request it affected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultTag {
    /// The rule that decided (its name, or `faults[i]`).
    pub rule: String,
    pub kind: String,
    /// What happened on the wire: `delay:120ms`, `respond:503`, `reset`, `hang`, `refuse`, …
    pub action: String,
}

/// One request, as the simulator saw it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Sequence number; shown as `req-000123`.
    pub id: u64,
    /// Arrival on the scenario clock, microseconds.
    pub t_us: u64,
    /// Time to answer, microseconds (for `reset`/`hang`, until the connection ended).
    pub latency_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Username of the session's user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Connected app (`client_id`), or `soap` for partner-API sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// `Sforce-Call-Options: client=` value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Remote address of the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    pub method: String,
    /// Path and query as requested (truncated to 512 bytes).
    pub path: String,
    /// The route template that handled it, e.g. `sobjects.get`.
    pub route: String,
    pub api: Api,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Record ids touched (capped at 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// Fields written, for writes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The request carried `If-Match`/`If-Unmodified-Since` (a conditional write).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conditional: bool,
    /// First 16 hex digits of SHA-256 of the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_hash: Option<String>,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultTag>,
    /// Fault decisions taken inside the handler (record failures, lock holds, bulk, streaming), one
    /// per rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_faults: Vec<FaultTag>,
    /// Normalised SOQL (literals replaced), for queries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Hash of the records returned, to tell a poll that found nothing new.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// API calls charged to the daily allocation.
    #[serde(default)]
    pub api_cost: u32,
    /// Daily usage after this request (`used`, `max`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_usage: Option<(u64, u64)>,
    /// Per-item failures inside a 2xx answer (collections, composite, bulk rows).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub item_failures: u32,
    /// For subrequests of composite calls: the parent request's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    /// Bulk job id, for bulk calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl JournalEntry {
    pub fn req_id(&self) -> String {
        format!("req-{:06}", self.id)
    }
}

/// Details a handler adds to its response for the journal (read by the journal layer, then removed).
#[derive(Debug, Clone, Default)]
pub struct JournalNote {
    pub route: &'static str,
    pub object: Option<String>,
    pub ids: Vec<String>,
    pub fields: Vec<String>,
    pub query: Option<String>,
    pub result_hash: Option<String>,
    pub rows: Option<u64>,
    pub item_failures: u32,
    pub job: Option<String>,
    pub api_cost: Option<u32>,
}

/// In-handler fault decisions for the journal (put in the response by the fault layer, read by the
/// recording layer).
#[derive(Debug, Clone, Default)]
pub struct ItemFaultNote(pub Vec<FaultTag>);

/// The journal.
pub struct Journal {
    next_id: AtomicU64,
    shared: Arc<Shared>,
    /// Encodes batches of appended entries into the file (only when there is a file).
    writer: Option<std::thread::JoinHandle<()>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("inner", &*self.shared.inner.lock())
            .field("path", &self.path)
            .finish()
    }
}

struct Shared {
    inner: parking_lot::Mutex<Inner>,
    /// Whether entries still go to a file (cleared if writing it fails).
    has_file: AtomicBool,
    /// Signalled when a batch is waiting for the writer, and at drop.
    batch_ready: parking_lot::Condvar,
    /// Taken before `inner` whenever both are held, so batches reach the file in append order.
    file: parking_lot::Mutex<Option<FileSink>>,
}

struct Inner {
    /// The NDJSON lines of the most recent entries, oldest first. Lines rather than entries: an
    /// append copies bytes it encoded anyway, and evicting the oldest frees nothing (an entry's
    /// strings, allocated by one worker thread and freed by another, cost more than encoding it).
    ring: VecDeque<u8>,
    /// Each line in `ring`: the entry's id and the line's length.
    lines: VecDeque<(u64, u32)>,
    /// At most this many entries in the ring…
    capacity: usize,
    /// … and at most this many bytes.
    max_ring_bytes: usize,
    written: u64,
    /// NDJSON lines of appended entries not yet compressed into the file, in append order.
    pending: Vec<u8>,
    stop: bool,
}

struct FileSink {
    encoder: zstd::stream::write::Encoder<'static, BufWriter<File>>,
    /// The buffer the next batch of appends will write into (see [`Shared::drain_into`]).
    spare: Vec<u8>,
}

impl Inner {
    /// A copy of lines `first..first + limit` of the ring, to decode once the lock is released
    /// (decoding is far slower than copying, and appends wait for the lock).
    fn copy_lines(&self, first: usize, limit: usize) -> Lines {
        let first = first.min(self.lines.len());
        let offset: usize = self
            .lines
            .range(..first)
            .map(|(_, len)| *len as usize)
            .sum();
        let lens: Vec<u32> = self
            .lines
            .range(first..)
            .take(limit)
            .map(|(_, len)| *len)
            .collect();
        let bytes = lens.iter().map(|len| *len as usize).sum::<usize>();
        // The ring's bytes in up to two slices: copy each part of the range at once.
        let (front, back) = self.ring.as_slices();
        let (start, end) = (offset, offset + bytes);
        let mut text = Vec::with_capacity(bytes);
        if start < front.len() {
            text.extend_from_slice(&front[start..end.min(front.len())]);
        }
        if end > front.len() {
            text.extend_from_slice(&back[start.saturating_sub(front.len())..end - front.len()]);
        }
        Lines { text, lens }
    }
}

/// Lines copied out of the ring.
struct Lines {
    text: Vec<u8>,
    lens: Vec<u32>,
}

impl Lines {
    fn decode(&self) -> Vec<JournalEntry> {
        let mut at = 0;
        self.lens
            .iter()
            .filter_map(|len| {
                let line = &self.text[at..at + *len as usize];
                at += *len as usize;
                serde_json::from_slice(line).ok()
            })
            .collect()
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("ring", &self.lines.len())
            .field("written", &self.written)
            .finish()
    }
}

/// zstd level 1: the cheapest level, still several times smaller than the NDJSON.
const ZSTD_LEVEL: i32 = 1;

/// Bytes of encoded entries the writer thread compresses at a time. An append encodes its entry's
/// line on the appending thread, outside any lock, and copies it to the pending batch in append
/// order; compressing (the larger part of the cost) happens on the writer thread, off the request
/// path.
const BATCH_BYTES: usize = 64 * 1024;

/// The in-memory ring never holds more than this many bytes of lines, whatever its entry capacity.
const MAX_RING_BYTES: usize = 256 * 1024 * 1024;

/// A journal line's usual size (a REST call's entry is 400–600 bytes).
const TYPICAL_LINE_BYTES: usize = 640;

/// If the writer falls this far behind, appenders compress the backlog themselves, so memory stays
/// bounded however fast requests arrive.
const MAX_PENDING_BYTES: usize = 32 * 1024 * 1024;

thread_local! {
    /// Where an append encodes its line before taking the journal's lock.
    static LINE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(1024));
}

impl Journal {
    /// A journal keeping `capacity` recent entries in memory and, when `path` is given, every entry in
    /// that file.
    pub fn new(capacity: usize, path: Option<&Path>) -> std::io::Result<Journal> {
        let file = match path {
            Some(p) => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let f = BufWriter::with_capacity(256 * 1024, File::create(p)?);
                Some(FileSink {
                    encoder: zstd::stream::write::Encoder::new(f, ZSTD_LEVEL)?,
                    spare: Vec::with_capacity(2 * BATCH_BYTES),
                })
            }
            None => None,
        };
        let has_file = file.is_some();
        let shared = Arc::new(Shared {
            inner: parking_lot::Mutex::new(Inner {
                // Room for a full ring of typical lines from the start: growing it later would copy
                // tens of MiB under the lock every append waits for. Pages are only touched as
                // lines arrive.
                ring: VecDeque::with_capacity(
                    capacity
                        .saturating_mul(TYPICAL_LINE_BYTES)
                        .min(MAX_RING_BYTES),
                ),
                lines: VecDeque::with_capacity(capacity.min(65_536)),
                capacity: capacity.max(1),
                max_ring_bytes: MAX_RING_BYTES,
                written: 0,
                pending: Vec::with_capacity(if has_file { 2 * BATCH_BYTES } else { 0 }),
                stop: false,
            }),
            has_file: AtomicBool::new(has_file),
            batch_ready: parking_lot::Condvar::new(),
            file: parking_lot::Mutex::new(file),
        });
        let writer = if has_file {
            let shared = shared.clone();
            Some(
                std::thread::Builder::new()
                    .name("journal-writer".into())
                    .spawn(move || shared.write_batches())?,
            )
        } else {
            None
        };
        Ok(Journal {
            next_id: AtomicU64::new(1),
            shared,
            writer,
            path: path.map(Path::to_path_buf),
        })
    }

    /// Reserve the next request id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Append an entry (its `id` must come from [`Journal::next_id`]). It is in memory (and visible
    /// to [`Journal::recent`]) at once, and in the file after the next [`Journal::flush`].
    pub fn append(&self, entry: JournalEntry) {
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            // Encoding an entry cannot fail (string keys, finite data); if it ever did, the entry
            // would still count as appended.
            if serde_json::to_writer(&mut *line, &entry).is_ok() {
                line.push(b'\n');
            } else {
                line.clear();
            }
            self.push(entry.id, &line);
        });
    }

    fn push(&self, id: u64, line: &[u8]) {
        let backlog = {
            let mut g = self.shared.inner.lock();
            let inner = &mut *g;
            inner.written += 1;
            if line.is_empty() {
                return;
            }
            if self.shared.has_file.load(Ordering::Relaxed) {
                let before = inner.pending.len();
                inner.pending.extend_from_slice(line);
                if before < BATCH_BYTES && inner.pending.len() >= BATCH_BYTES {
                    self.shared.batch_ready.notify_one();
                }
            }
            inner.ring.extend(line);
            inner.lines.push_back((id, line.len() as u32));
            while inner.lines.len() > inner.capacity || inner.ring.len() > inner.max_ring_bytes {
                let Some((_, len)) = inner.lines.pop_front() else {
                    break;
                };
                inner.ring.drain(..len as usize);
            }
            inner.pending.len() >= MAX_PENDING_BYTES
        };
        if backlog {
            self.shared.drain();
        }
    }

    /// Entries in memory with `id > after`, oldest first, at most `limit`.
    pub fn recent(&self, after: u64, limit: usize) -> Vec<JournalEntry> {
        let lines = {
            let g = self.shared.inner.lock();
            let start = g.lines.partition_point(|(id, _)| *id <= after);
            g.copy_lines(start, limit)
        };
        lines.decode()
    }

    /// Entries appended after the first `seen` (as far as the ring still holds them), in append
    /// order, and the new total to pass next time. Entries are appended when requests finish, so
    /// their ids are not in order; following the journal by count sees every entry once.
    pub fn appended_since(&self, seen: u64) -> (u64, Vec<JournalEntry>) {
        let (written, lines) = {
            let g = self.shared.inner.lock();
            let new = usize::try_from(g.written.saturating_sub(seen)).unwrap_or(usize::MAX);
            let skip = g.lines.len().saturating_sub(new);
            (g.written, g.copy_lines(skip, usize::MAX))
        };
        (written, lines.decode())
    }

    /// How many entries were appended in total.
    pub fn len(&self) -> u64 {
        self.shared.inner.lock().written
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Compress everything appended so far, close the current zstd frame and push it to the file,
    /// so every entry appended before the call is readable.
    pub fn flush(&self) -> std::io::Result<()> {
        let mut file = self.shared.file.lock();
        self.shared.drain_into(&mut file);
        let Some(sink) = file.take() else {
            return Ok(());
        };
        let mut w = sink.encoder.finish()?;
        w.flush()?;
        *file = Some(FileSink {
            encoder: zstd::stream::write::Encoder::new(w, ZSTD_LEVEL)?,
            spare: sink.spare,
        });
        Ok(())
    }

    /// Forget in-memory entries (admin reset). The file keeps everything.
    pub fn clear_memory(&self) {
        let mut g = self.shared.inner.lock();
        g.ring.clear();
        g.lines.clear();
    }
}

impl Shared {
    /// The writer thread: compress a batch whenever one is waiting, until the journal is dropped.
    fn write_batches(&self) {
        loop {
            {
                let mut g = self.inner.lock();
                while g.pending.len() < BATCH_BYTES && !g.stop {
                    self.batch_ready.wait(&mut g);
                }
                if g.stop {
                    return;
                }
            }
            self.drain();
        }
    }

    fn drain(&self) {
        self.drain_into(&mut self.file.lock());
    }

    /// Compress the pending lines into the file. The caller holds the file lock, so two drains
    /// cannot interleave their batches.
    fn drain_into(&self, file: &mut Option<FileSink>) {
        let Some(sink) = file.as_mut() else {
            self.inner.lock().pending.clear();
            return;
        };
        // The pending buffer and the sink's spare trade places, so appends keep writing into
        // memory that is already mapped instead of a fresh allocation per batch.
        let mut batch = std::mem::take(&mut sink.spare);
        std::mem::swap(&mut batch, &mut self.inner.lock().pending);
        let written = sink.encoder.write_all(&batch);
        batch.clear();
        // A backlog may have grown it far beyond a batch; don't keep that.
        batch.shrink_to(2 * BATCH_BYTES);
        sink.spare = batch;
        if written.is_err() {
            tracing::warn!("journal write failed; further entries stay in memory only");
            *file = None;
            self.has_file.store(false, Ordering::Relaxed);
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.shared.inner.lock().stop = true;
        self.shared.batch_ready.notify_all();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        let _ = self.flush();
    }
}

/// Read a journal file: every complete entry, in order. A torn final frame (the process was killed
/// mid-write) ends the iteration quietly.
pub fn read_file(path: &Path) -> std::io::Result<impl Iterator<Item = JournalEntry>> {
    let f = File::open(path)?;
    let dec = zstd::stream::read::Decoder::new(BufReader::with_capacity(256 * 1024, f))?;
    Ok(TornTolerant {
        lines: BufReader::with_capacity(256 * 1024, dec),
        buf: String::new(),
    })
}

struct TornTolerant<R: Read> {
    lines: BufReader<R>,
    buf: String,
}

impl<R: Read> Iterator for TornTolerant<R> {
    type Item = JournalEntry;

    fn next(&mut self) -> Option<JournalEntry> {
        loop {
            self.buf.clear();
            match self.lines.read_line(&mut self.buf) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {
                    if !self.buf.ends_with('\n') {
                        return None;
                    }
                    if let Ok(e) = serde_json::from_str(&self.buf) {
                        return Some(e);
                    }
                }
            }
        }
    }
}

/// SHA-256 of a body, first 8 bytes as hex.
pub fn body_hash(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(body)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_is_bounded_and_file_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.ndjson.zst");
        let j = Journal::new(10, Some(&p)).unwrap();
        for _ in 0..25 {
            let id = j.next_id();
            j.append(JournalEntry {
                id,
                method: "GET".into(),
                status: 200,
                ..Default::default()
            });
        }
        // Evictions and appends have wrapped the ring's bytes around: every line still decodes.
        let ids: Vec<u64> = j.recent(0, 100).iter().map(|e| e.id).collect();
        assert_eq!(ids, (16..=25).collect::<Vec<_>>());
        assert!(j.recent(0, 100).iter().all(|e| e.method == "GET"));
        j.flush().unwrap();
        let all: Vec<_> = read_file(&p).unwrap().collect();
        assert_eq!(all.len(), 25);
        assert_eq!(all[24].id, 25);
    }

    /// The ring keeps lines; what it gives back is the entry that was appended, every field.
    #[test]
    fn entries_read_back_from_the_ring_as_appended() {
        let j = Journal::new(10, None).unwrap();
        let full = JournalEntry {
            id: j.next_id(),
            t_us: 12,
            latency_us: 34,
            org: Some("00D000000000001AAA".into()),
            user: Some("admin@sfchaos.test".into()),
            app: Some("sfchaos-client".into()),
            client: Some("sync \"nightly\"\n".into()),
            peer: Some("127.0.0.1:40000".into()),
            method: "PATCH".into(),
            path: "/services/data/v62.0/sobjects/Account/001?x=é".into(),
            route: "sobjects.update".into(),
            api: Api::Rest,
            object: Some("Account".into()),
            ids: vec!["001000000000001AAA".into()],
            fields: vec!["Name".into(), "Industry".into()],
            conditional: true,
            body_hash: Some("0123456789abcdef".into()),
            status: 503,
            error_code: Some("SERVER_UNAVAILABLE".into()),
            fault: Some(FaultTag {
                rule: "faults[0]".into(),
                kind: "outage".into(),
                action: "respond:503".into(),
            }),
            item_faults: vec![FaultTag {
                rule: "locks".into(),
                kind: "lock".into(),
                action: "hold:2s".into(),
            }],
            query: Some("SELECT Id FROM Account WHERE Name = ?".into()),
            result_hash: Some("feedface".into()),
            rows: Some(3),
            api_cost: 2,
            api_usage: Some((17, 115_000)),
            item_failures: 1,
            parent: Some(4),
            job: Some("750000000000001AAA".into()),
        };
        j.append(full.clone());
        let sparse = JournalEntry {
            id: j.next_id(),
            method: "GET".into(),
            ..Default::default()
        };
        j.append(sparse.clone());
        assert_eq!(j.recent(0, 10), vec![full.clone(), sparse.clone()]);
        assert_eq!(j.recent(1, 10), vec![sparse.clone()]);
        assert_eq!(j.recent(0, 1), vec![full.clone()]);
        assert_eq!(j.appended_since(1), (2, vec![sparse]));
    }

    /// Lines that straddle the end of the ring's buffer (its bytes wrapped around) read back whole.
    #[test]
    fn lines_across_the_ring_buffers_end_read_back() {
        let j = Journal::new(50, None).unwrap();
        let wrapped = |j: &Journal| !j.shared.inner.lock().ring.as_slices().1.is_empty();
        for _ in 0..10_000 {
            let id = j.next_id();
            j.append(JournalEntry {
                id,
                path: format!("/services/data/v62.0/sobjects/Account/{id}"),
                ..Default::default()
            });
            if j.len() > 100 && wrapped(&j) {
                break;
            }
        }
        assert!(wrapped(&j), "the ring never wrapped");
        let last = j.len();
        let entries = j.recent(0, usize::MAX);
        assert_eq!(
            entries.iter().map(|e| e.id).collect::<Vec<_>>(),
            (last - 49..=last).collect::<Vec<_>>()
        );
        assert!(entries
            .iter()
            .all(|e| e.path.ends_with(&format!("/{}", e.id))));
    }

    /// However large the entries, the ring stays within its byte bound (the newest entry stays).
    #[test]
    fn the_ring_is_bounded_in_bytes_too() {
        let j = Journal::new(1_000, None).unwrap();
        j.shared.inner.lock().max_ring_bytes = 10_000;
        for _ in 0..100 {
            let id = j.next_id();
            j.append(JournalEntry {
                id,
                query: Some("x".repeat(3_000)),
                ..Default::default()
            });
        }
        let g = j.shared.inner.lock();
        assert!(g.ring.len() <= 10_000, "{} bytes", g.ring.len());
        assert_eq!(g.lines.len(), 3);
        assert_eq!(
            g.lines.iter().map(|(_, n)| *n as usize).sum::<usize>(),
            g.ring.len()
        );
        drop(g);
        let kept = j.recent(0, usize::MAX);
        assert_eq!(
            kept.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![98, 99, 100]
        );
        assert_eq!(j.len(), 100);
    }

    #[test]
    fn paths_classify_case_insensitively() {
        for (path, api) in [
            ("/__admin/journal", Api::Admin),
            ("/services/Soap/u/62.0", Api::Soap),
            ("/services/oauth2/token", Api::Oauth),
            ("/id/00D/005", Api::Oauth),
            ("/cometd/62.0", Api::Streaming),
            ("/services/data/v62.0/jobs/ingest/750", Api::Bulk),
            ("/services/data/v62.0/JOBS/query", Api::Bulk),
            ("/services/data/v62.0/composite/sobjects", Api::Composite),
            ("/SERVICES/DATA/v62.0/sobjects/Account/001", Api::Rest),
            ("/services/data", Api::Rest),
            ("/services/datax", Api::Rest),
            ("/services/dat", Api::Other),
            ("/", Api::Other),
            ("", Api::Other),
        ] {
            assert_eq!(Api::of_path(path), api, "{path}");
        }
    }

    /// Entries reach the file in append order across many batches, from several threads, whether
    /// the journal is flushed or dropped.
    #[test]
    fn the_file_keeps_every_entry_in_append_order() {
        let dir = tempfile::tempdir().unwrap();
        for flush in [true, false] {
            let p = dir.path().join(format!("j-{flush}.ndjson.zst"));
            let j = Journal::new(100, Some(&p)).unwrap();
            std::thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| {
                        for _ in 0..5_000 {
                            let id = j.next_id();
                            j.append(JournalEntry {
                                id,
                                method: "GET".into(),
                                path: format!("/services/data/v62.0/sobjects/Account/{id}"),
                                status: 200,
                                ..Default::default()
                            });
                        }
                    });
                }
            });
            let in_memory: Vec<u64> = j.recent(0, usize::MAX).iter().map(|e| e.id).collect();
            if flush {
                j.flush().unwrap();
            } else {
                drop(j);
            }
            let all: Vec<JournalEntry> = read_file(&p).unwrap().collect();
            assert_eq!(all.len(), 20_000);
            let mut ids: Vec<u64> = all.iter().map(|e| e.id).collect();
            // The file ends with what the ring holds, in the same (append) order.
            assert_eq!(&ids[ids.len() - in_memory.len()..], &in_memory[..]);
            assert!(all.iter().all(|e| e.path.ends_with(&e.id.to_string())));
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), 20_000);
        }
    }

    #[test]
    fn a_torn_tail_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.ndjson.zst");
        let j = Journal::new(10, Some(&p)).unwrap();
        for _ in 0..5 {
            let id = j.next_id();
            j.append(JournalEntry {
                id,
                ..Default::default()
            });
        }
        j.flush().unwrap();
        // Simulate a crash mid-frame: append garbage bytes after the complete frame.
        std::mem::forget(j);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x01]).unwrap();
        let all: Vec<_> = read_file(&p).unwrap().collect();
        assert_eq!(all.len(), 5);
    }
}
