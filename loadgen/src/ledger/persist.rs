//! Ledgers on disk: NDJSON, one [`LedgerEntry`] per line, written and flushed entry by entry so a
//! crash of the harness loses nothing it had recorded; and loading several (one per shard) into one
//! [`Ledger`].

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Ledger, LedgerEntry, LedgerError, LedgerLine, Overlap};

/// Appends entries as NDJSON lines. Each entry is encoded in memory and written with a single
/// `write_all` then flushed, so the file only ever ends in a whole line, or in a partial last line if
/// the process dies mid-write (which loading tolerates).
#[derive(Debug)]
pub struct LedgerWriter<W: Write> {
    out: W,
    line: Vec<u8>,
    written: u64,
}

impl LedgerWriter<File> {
    /// Creates (or truncates) `path`. The file is unbuffered on purpose: see the type docs.
    pub fn create(path: &Path) -> Result<Self, LedgerError> {
        let out = File::create(path).map_err(|source| LedgerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(LedgerWriter::new(out))
    }
}

impl<W: Write> LedgerWriter<W> {
    pub fn new(out: W) -> Self {
        LedgerWriter {
            out,
            line: Vec::with_capacity(512),
            written: 0,
        }
    }

    pub fn append(&mut self, entry: &LedgerEntry) -> Result<(), LedgerError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, entry)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.out.flush()?;
        self.written += 1;
        Ok(())
    }

    /// Appends several entries with one write and one flush: under load the writer sees
    /// entries in batches, and a write per batch keeps up where a write per entry would not.
    /// A crash can still only cut the last line short.
    pub fn append_all<L: LedgerLine>(&mut self, entries: &[L]) -> Result<(), LedgerError> {
        self.line.clear();
        for entry in entries {
            entry.write_line(&mut self.line)?;
            self.line.push(b'\n');
        }
        self.out.write_all(&self.line)?;
        self.out.flush()?;
        self.written += entries.len() as u64;
        Ok(())
    }

    /// Entries written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// What loading ledger files found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    pub files: Vec<PathBuf>,
    pub entries: u64,
    /// Files whose last line was cut short by a crash; the complete lines before it were loaded.
    pub truncated: Vec<PathBuf>,
    /// Keys found in more than one file (shards should have disjoint key spaces).
    pub overlap: Overlap,
}

impl Ledger {
    /// Replays NDJSON entries from `reader` into this ledger. `path` is only used in messages.
    /// Returns `(entries, truncated_tail)`.
    pub fn read_ndjson<R: BufRead>(
        &mut self,
        mut reader: R,
        path: &Path,
    ) -> Result<(u64, bool), LedgerError> {
        let io = |source| LedgerError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut buf = String::new();
        let mut line_no = 0;
        let mut entries = 0;
        loop {
            buf.clear();
            let n = reader.read_line(&mut buf).map_err(io)?;
            if n == 0 {
                return Ok((entries, false));
            }
            line_no += 1;
            let complete = buf.ends_with('\n');
            let text = buf.trim();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<LedgerEntry>(text) {
                Ok(entry) => {
                    self.record(&entry);
                    entries += 1;
                }
                // Only the final line can be a partial write.
                Err(_) if !complete => return Ok((entries, true)),
                Err(e) => {
                    return Err(LedgerError::Parse {
                        path: path.to_path_buf(),
                        line: line_no,
                        message: e.to_string(),
                    })
                }
            }
        }
    }

    /// Loads one NDJSON ledger file.
    pub fn load(path: &Path) -> Result<(Ledger, u64, bool), LedgerError> {
        let file = File::open(path).map_err(|source| LedgerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut ledger = Ledger::new();
        let (entries, truncated) = ledger.read_ndjson(BufReader::new(file), path)?;
        Ok((ledger, entries, truncated))
    }
}

/// Loads and merges ledger files (one per shard): totals add, key folds merge, and keys present in
/// more than one file are reported in [`LoadReport::overlap`].
pub fn load_ledgers<P: AsRef<Path>>(paths: &[P]) -> Result<(Ledger, LoadReport), LedgerError> {
    let mut merged = Ledger::new();
    let mut report = LoadReport::default();
    for p in paths {
        let path = p.as_ref();
        let (ledger, entries, truncated) = Ledger::load(path)?;
        report.files.push(path.to_path_buf());
        report.entries += entries;
        if truncated {
            report.truncated.push(path.to_path_buf());
        }
        let overlap = merged.merge(ledger);
        report.overlap.count += overlap.count;
        report.overlap.examples.extend(overlap.examples);
    }
    report.overlap.examples.sort();
    report.overlap.examples.dedup();
    report.overlap.examples.truncate(Ledger::OVERLAP_EXAMPLES);
    Ok((merged, report))
}
