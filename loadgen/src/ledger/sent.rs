//! Ledger lines straight from the bytes that were sent.
//!
//! The event driver posts each event as a body [`EventBuilder::encode`] wrote, and knows where the
//! event's parts sit in it ([`BodyParts`]). A [`SentEvent`] keeps that body (shared with the
//! request, not copied) and becomes its ledger line by splicing those parts into the line — the
//! same line, byte for byte, that serializing its [`LedgerEntry`] would give, without building one
//! or encoding the fields a second time.
//!
//! [`EventBuilder::encode`]: crate::datagen::EventBuilder::encode

use std::sync::Arc;

use bytes::Bytes;

use super::{LedgerEntry, Outcome};
use crate::datagen::BodyParts;

/// One event as the driver sent it, and what became of it.
#[derive(Clone, Debug)]
pub struct SentEvent {
    pub stream: Arc<str>,
    pub seq: u64,
    /// When the request was sent, in microseconds from the run start.
    pub sent_us: u64,
    /// The body as posted.
    pub body: Bytes,
    pub parts: BodyParts,
    pub outcome: Outcome,
    pub latency_us: u64,
}

impl SentEvent {
    /// The entry its line stands for (decodes the body's parts).
    pub fn to_entry(&self) -> Result<LedgerEntry, serde_json::Error> {
        let mut line = Vec::new();
        self.write_line(&mut line)?;
        serde_json::from_slice(&line)
    }
}

/// Anything the ledger file takes as one line: JSON, no newline.
pub trait LedgerLine {
    fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error>;
}

impl LedgerLine for LedgerEntry {
    fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(out, self)
    }
}

impl LedgerLine for SentEvent {
    /// The fields in [`LedgerEntry`]'s order.
    fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        let part = |range: &std::ops::Range<usize>| self.body.get(range.clone()).unwrap_or(b"null");
        let mut digits = itoa::Buffer::new();
        out.extend_from_slice(b"{\"event_id\":");
        out.extend_from_slice(part(&self.parts.id));
        out.extend_from_slice(b",\"stream\":");
        serde_json::to_writer(&mut *out, &*self.stream)?;
        out.extend_from_slice(b",\"seq\":");
        out.extend_from_slice(digits.format(self.seq).as_bytes());
        out.extend_from_slice(b",\"sent_us\":");
        out.extend_from_slice(digits.format(self.sent_us).as_bytes());
        out.extend_from_slice(b",\"object\":");
        out.extend_from_slice(part(&self.parts.object));
        out.extend_from_slice(b",\"external_id_field\":");
        out.extend_from_slice(part(&self.parts.external_id_field));
        out.extend_from_slice(b",\"external_id\":");
        out.extend_from_slice(part(&self.parts.external_id));
        out.extend_from_slice(b",\"type\":\"");
        out.extend_from_slice(self.parts.kind.as_str().as_bytes());
        out.extend_from_slice(b"\",\"fields\":");
        out.extend_from_slice(part(&self.parts.fields));
        out.extend_from_slice(b",\"outcome\":");
        serde_json::to_writer(&mut *out, &self.outcome)?;
        out.extend_from_slice(b",\"latency_us\":");
        out.extend_from_slice(digits.format(self.latency_us).as_bytes());
        out.push(b'}');
        Ok(())
    }
}

/// What the ledger writer is handed: an entry, or an event as sent.
#[derive(Clone, Debug)]
pub enum LedgerRecord {
    Entry(LedgerEntry),
    Sent(SentEvent),
}

impl LedgerRecord {
    pub fn to_entry(&self) -> Result<LedgerEntry, serde_json::Error> {
        match self {
            LedgerRecord::Entry(entry) => Ok(entry.clone()),
            LedgerRecord::Sent(sent) => sent.to_entry(),
        }
    }
}

impl LedgerLine for LedgerRecord {
    fn write_line(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match self {
            LedgerRecord::Entry(entry) => entry.write_line(out),
            LedgerRecord::Sent(sent) => sent.write_line(out),
        }
    }
}
