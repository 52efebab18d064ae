//! Event bodies encoded ahead of their send, on a thread of their own.
//!
//! Encoding an event (drawing its key and values from the seed, writing its JSON) is the largest
//! part of what the load's thread does per event besides the HTTP exchange itself. Yet every body
//! is a pure function of the seed, the event's sequence number and its intended instant, and the
//! schedule knows those in advance. So a thread per event stream walks the same schedule and
//! encodes up to [`AHEAD`] events ahead, handing them over in chunks; the dispatcher takes each
//! event's body as it dispatches the event.
//!
//! The thread only saves work, it never decides anything: an event it has not encoded yet is
//! encoded where it is sent, to the same bytes, and bodies of events the driver dropped are
//! skipped. Nothing waits on it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;

use super::convert::Arrivals;
use super::evidence::RunClock;
use crate::datagen::{BodyParts, EventBuilder};

/// Most events encoded and not yet taken, per stream.
pub const AHEAD: usize = 4_096;
/// Events handed over at a time: one lock per chunk, not per event.
const CHUNK: usize = 64;
/// How long the encoder pauses when it is [`AHEAD`] events ahead: the shortest pause while
/// events are being taken, doubling up to the longest while none are (a slow stream).
const PAUSE: Duration = Duration::from_millis(1);
const LONGEST_PAUSE: Duration = Duration::from_millis(16);
/// A typical body's size; buffers start with this much room.
const BODY_CAPACITY: usize = 512;

/// One event's body and where its parts sit.
#[derive(Debug)]
pub struct Prepared {
    pub seq: u64,
    pub body: Bytes,
    pub parts: BodyParts,
}

impl Prepared {
    /// Encodes event `seq` here and now (as the encoder thread would).
    pub fn encode(builder: &EventBuilder, clock: &RunClock, seq: u64, offset: Duration) -> Self {
        let mut body = Vec::with_capacity(BODY_CAPACITY);
        let parts = builder.encode(seq, clock.wall_at(offset), &mut body);
        Prepared {
            seq,
            body: Bytes::from(body),
            parts,
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    chunks: Mutex<VecDeque<Vec<Prepared>>>,
    /// Events in `chunks`.
    queued: AtomicUsize,
    stop: AtomicBool,
}

/// The dispatcher's end; stops the encoder thread when dropped.
#[derive(Debug)]
pub struct Encoder {
    shared: Arc<Shared>,
    /// The chunk being taken from, reversed (next event last).
    current: Vec<Prepared>,
}

impl Encoder {
    /// Starts encoding `arrivals` (a stream's schedule, starting `start` after the run's zero).
    /// Without a thread (none could be started), every event is encoded when sent.
    pub fn spawn(
        name: &str,
        builder: Arc<EventBuilder>,
        arrivals: Arrivals,
        clock: RunClock,
        start: Duration,
    ) -> Self {
        let shared = Arc::new(Shared::default());
        let theirs = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name(format!("sfchaos-encode-{name}"))
            .spawn(move || encode_ahead(&theirs, &builder, arrivals, &clock, start));
        if let Err(e) = spawned {
            tracing::warn!("events of stream {name} are encoded as they are sent: {e}");
        }
        Encoder {
            shared,
            current: Vec::new(),
        }
    }

    /// Events encoded and waiting to be taken (chunks handed over, plus the rest of the chunk
    /// being taken from).
    pub fn ready(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed) + self.current.len()
    }

    /// Event `seq`'s body if it was encoded ahead. Call in dispatch (sequence) order: bodies of
    /// earlier events, which were dropped, are discarded on the way.
    pub fn take(&mut self, seq: u64) -> Option<Prepared> {
        loop {
            match self.current.last() {
                Some(next) if next.seq < seq => {
                    self.current.pop();
                }
                Some(next) if next.seq == seq => return self.current.pop(),
                Some(_) => return None,
                None => {
                    let mut chunk = self.shared.chunks.lock().pop_front()?;
                    self.shared.queued.fetch_sub(chunk.len(), Ordering::Relaxed);
                    chunk.reverse();
                    self.current = chunk;
                }
            }
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn encode_ahead(
    shared: &Shared,
    builder: &EventBuilder,
    arrivals: Arrivals,
    clock: &RunClock,
    start: Duration,
) {
    // A chunk's bodies share one buffer: one allocation per chunk rather than per event, and
    // cloning a body for the ledger only counts a reference. (Bodies are freed on other threads;
    // per-event allocations would make the allocator's cross-thread frees a cost of their own.)
    let mut bodies = BytesMut::new();
    let mut scratch = Vec::with_capacity(BODY_CAPACITY);
    let mut chunk = Vec::with_capacity(CHUNK);
    let publish = |chunk: Vec<Prepared>| {
        shared.queued.fetch_add(chunk.len(), Ordering::Relaxed);
        shared.chunks.lock().push_back(chunk);
    };
    for arrival in arrivals {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let offset = start.saturating_add(arrival.at);
        if bodies.capacity() - bodies.len() < BODY_CAPACITY {
            bodies.reserve(CHUNK * BODY_CAPACITY);
        }
        scratch.clear();
        let parts = builder.encode(arrival.seq, clock.wall_at(offset), &mut scratch);
        bodies.extend_from_slice(&scratch);
        chunk.push(Prepared {
            seq: arrival.seq,
            body: bodies.split().freeze(),
            parts,
        });
        if chunk.len() == CHUNK {
            publish(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
            let mut pause = PAUSE;
            let mut queued = shared.queued.load(Ordering::Relaxed);
            while queued >= AHEAD {
                if shared.stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(pause);
                let now = shared.queued.load(Ordering::Relaxed);
                pause = if now < queued {
                    PAUSE
                } else {
                    (pause * 2).min(LONGEST_PAUSE)
                };
                queued = now;
            }
        }
    }
    if !chunk.is_empty() {
        publish(chunk);
    }
}
