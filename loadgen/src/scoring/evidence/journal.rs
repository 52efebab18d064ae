//! Decoding `journal.ndjson.zst` without an allocation per field.
//!
//! A journal entry has a dozen strings; decoding each into fresh `String`s made malloc and free the
//! largest cost of a 10,000,000-entry pass. Here each line is parsed into a borrowing mirror of
//! [`JournalEntry`] (strings point into the line unless they contain escapes) and copied into an
//! entry that is reused, whose strings keep their capacity from one line to the next. Only the
//! fields the scorer reads are mirrored; others in the file are skipped.

use std::borrow::Cow;
use std::path::Path;

use serde::Deserialize;
use simulator::journal::{Api, FaultTag, JournalEntry};

use super::source::{EvidenceError, LineReader};

#[derive(Deserialize)]
struct RawFault<'a> {
    #[serde(borrow)]
    rule: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    action: Cow<'a, str>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    id: u64,
    t_us: u64,
    #[serde(default)]
    latency_us: u64,
    #[serde(default, borrow)]
    user: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    app: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    client: Option<Cow<'a, str>>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    path: Cow<'a, str>,
    #[serde(default, borrow)]
    route: Cow<'a, str>,
    #[serde(default)]
    api: Api,
    #[serde(default, borrow)]
    object: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    ids: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    fields: Vec<Cow<'a, str>>,
    #[serde(default)]
    conditional: bool,
    #[serde(default, borrow)]
    body_hash: Option<Cow<'a, str>>,
    status: u16,
    #[serde(default, borrow)]
    error_code: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    fault: Option<RawFault<'a>>,
    #[serde(default, borrow)]
    query: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    result_hash: Option<Cow<'a, str>>,
    #[serde(default)]
    rows: Option<u64>,
    #[serde(default)]
    api_cost: u32,
    #[serde(default)]
    api_usage: Option<(u64, u64)>,
    #[serde(default)]
    item_failures: u32,
    #[serde(default)]
    parent: Option<u64>,
    #[serde(default, borrow)]
    job: Option<Cow<'a, str>>,
}

fn set(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

fn set_opt(dst: &mut Option<String>, src: &Option<Cow<'_, str>>) {
    match (dst.as_mut(), src) {
        (_, None) => *dst = None,
        (Some(d), Some(s)) => set(d, s),
        (None, Some(s)) => *dst = Some(s.to_string()),
    }
}

fn set_vec(dst: &mut Vec<String>, src: &[Cow<'_, str>]) {
    dst.truncate(src.len());
    for (i, s) in src.iter().enumerate() {
        match dst.get_mut(i) {
            Some(d) => set(d, s),
            None => dst.push(s.to_string()),
        }
    }
}

impl RawEntry<'_> {
    fn assign(&self, e: &mut JournalEntry) {
        e.id = self.id;
        e.t_us = self.t_us;
        e.latency_us = self.latency_us;
        e.org = None;
        e.peer = None;
        set_opt(&mut e.user, &self.user);
        set_opt(&mut e.app, &self.app);
        set_opt(&mut e.client, &self.client);
        set(&mut e.method, &self.method);
        set(&mut e.path, &self.path);
        set(&mut e.route, &self.route);
        e.api = self.api;
        set_opt(&mut e.object, &self.object);
        set_vec(&mut e.ids, &self.ids);
        set_vec(&mut e.fields, &self.fields);
        e.conditional = self.conditional;
        set_opt(&mut e.body_hash, &self.body_hash);
        e.status = self.status;
        set_opt(&mut e.error_code, &self.error_code);
        match (&mut e.fault, &self.fault) {
            (_, None) => e.fault = None,
            (Some(d), Some(s)) => {
                set(&mut d.rule, &s.rule);
                set(&mut d.kind, &s.kind);
                set(&mut d.action, &s.action);
            }
            (None, Some(s)) => {
                e.fault = Some(FaultTag {
                    rule: s.rule.to_string(),
                    kind: s.kind.to_string(),
                    action: s.action.to_string(),
                })
            }
        }
        set_opt(&mut e.query, &self.query);
        set_opt(&mut e.result_hash, &self.result_hash);
        e.rows = self.rows;
        e.api_cost = self.api_cost;
        e.api_usage = self.api_usage;
        e.item_failures = self.item_failures;
        e.parent = self.parent;
        set_opt(&mut e.job, &self.job);
    }
}

/// Reads journal lines into entries whose allocations are reused.
pub(crate) struct JournalReader {
    lines: LineReader,
    path: std::path::PathBuf,
}

impl JournalReader {
    pub(crate) fn open(path: &Path) -> Result<Self, EvidenceError> {
        Ok(JournalReader {
            lines: LineReader::open(path)?,
            path: path.to_path_buf(),
        })
    }

    /// Overwrites `entry` with the next line's; `false` at the end. A line that is not a journal
    /// entry is an error naming file and line (torn tails end the stream, see [`LineReader`]).
    pub(crate) fn next_into(&mut self, entry: &mut JournalEntry) -> Result<bool, EvidenceError> {
        let Some(line) = self.lines.next_line()? else {
            return Ok(false);
        };
        // One UTF-8 check of the whole line (vectorised) instead of one per string field.
        let parsed = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<RawEntry>(text).map_err(|e| e.to_string()));
        match parsed {
            Ok(raw) => {
                raw.assign(entry);
                Ok(true)
            }
            Err(e) => Err(EvidenceError::Parse {
                path: self.path.clone(),
                line: self.lines.line(),
                message: format!("not a journal entry: {e}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reused_entries_match_a_fresh_decode() {
        let a = JournalEntry {
            id: 1,
            t_us: 10,
            latency_us: 3,
            user: Some("u\"q".into()),
            method: "PATCH".into(),
            path: "/a".into(),
            route: "sobjects.upsert".into(),
            api: Api::Rest,
            ids: vec!["x".into(), "y".into()],
            fields: vec!["Name".into()],
            status: 503,
            error_code: Some("SERVER_UNAVAILABLE".into()),
            fault: Some(FaultTag {
                rule: "o".into(),
                kind: "outage".into(),
                action: "respond:503".into(),
            }),
            api_usage: Some((1, 2)),
            ..JournalEntry::default()
        };
        let b = JournalEntry {
            id: 2,
            method: "GET".into(),
            path: "/b".into(),
            route: "query".into(),
            query: Some("SELECT Id FROM Account".into()),
            rows: Some(0),
            status: 200,
            ..JournalEntry::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("journal.ndjson.zst");
        let mut enc =
            zstd::stream::write::Encoder::new(std::fs::File::create(&p).unwrap(), 1).unwrap();
        for e in [&a, &b, &a] {
            serde_json::to_writer(&mut enc, e).unwrap();
            enc.write_all(b"\n").unwrap();
        }
        enc.write_all(b"{\"id\": 3, \"t_us\": ").unwrap();
        enc.finish().unwrap();
        let mut r = JournalReader::open(&p).unwrap();
        let mut e = JournalEntry::default();
        for want in [&a, &b, &a] {
            assert!(r.next_into(&mut e).unwrap());
            assert_eq!(&e, want);
        }
        assert!(!r.next_into(&mut e).unwrap(), "torn tail ends the stream");
    }
}
