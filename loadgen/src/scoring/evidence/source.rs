//! [`Source`]: a stream of evidence records that can be read more than once, from memory (tests,
//! small runs) or from an NDJSON file, plain or zstd-compressed. Files are read line by line with
//! a reused buffer, so memory stays flat however long the run was.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Problems reading evidence; each names the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// Where a stream of records comes from.
#[derive(Clone, Debug)]
pub enum Source<T> {
    /// Records in memory.
    Items(Vec<T>),
    /// An NDJSON file; `.zst` files are decompressed (a sequence of independent frames, as the
    /// simulator's journal writes them).
    File(PathBuf),
}

impl<T> Default for Source<T> {
    fn default() -> Self {
        Source::Items(Vec::new())
    }
}

impl<T> From<Vec<T>> for Source<T> {
    fn from(items: Vec<T>) -> Self {
        Source::Items(items)
    }
}

impl<T: DeserializeOwned + Clone> Source<T> {
    /// Visits every record in order. A malformed complete line is an error naming file and line;
    /// a final line without its newline (the writer was killed mid-line) and a torn final zstd
    /// frame end the stream quietly, as the journal's own reader does.
    pub fn for_each(&self, mut f: impl FnMut(&T)) -> Result<(), EvidenceError> {
        match self {
            Source::Items(items) => {
                items.iter().for_each(f);
                Ok(())
            }
            Source::File(_) => self.for_each_owned(|t| f(&t)),
        }
    }

    /// As [`Source::for_each`], handing over each record (records in memory are cloned).
    pub fn for_each_owned(&self, mut f: impl FnMut(T)) -> Result<(), EvidenceError> {
        match self {
            Source::Items(items) => {
                items.iter().cloned().for_each(f);
                Ok(())
            }
            Source::File(path) => {
                let mut reader = LineReader::open(path)?;
                while let Some(item) = reader.next_record::<T>()? {
                    f(item);
                }
                Ok(())
            }
        }
    }

    /// All records, for small files (alerts, lifecycle, metrics).
    pub fn collect(&self) -> Result<Vec<T>, EvidenceError> {
        let mut out = Vec::new();
        self.for_each(|t| out.push(t.clone()))?;
        Ok(out)
    }
}

/// Line-by-line NDJSON reader over a plain or zstd file.
pub(crate) struct LineReader {
    path: PathBuf,
    inner: BufReader<Box<dyn Read + Send>>,
    buf: Vec<u8>,
    line: u64,
    compressed: bool,
}

impl LineReader {
    pub(crate) fn open(path: &Path) -> Result<Self, EvidenceError> {
        let io = |source| EvidenceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let compressed = path.extension().is_some_and(|e| e == "zst");
        let inner: Box<dyn Read + Send> = if compressed {
            let dec = zstd::stream::read::Decoder::new(file).map_err(io)?;
            Box::new(dec)
        } else {
            Box::new(file)
        };
        Ok(LineReader {
            path: path.to_path_buf(),
            inner: BufReader::with_capacity(1 << 20, inner),
            buf: Vec::with_capacity(4096),
            line: 0,
            compressed,
        })
    }

    /// The next complete, non-empty line (without its newline), or `None` at the end.
    pub(crate) fn next_line(&mut self) -> Result<Option<&[u8]>, EvidenceError> {
        loop {
            self.buf.clear();
            let n = match self.inner.read_until(b'\n', &mut self.buf) {
                Ok(n) => n,
                // A torn zstd frame at the end of a killed writer's file.
                Err(_) if self.compressed => return Ok(None),
                Err(source) => {
                    return Err(EvidenceError::Io {
                        path: self.path.clone(),
                        source,
                    })
                }
            };
            if n == 0 || self.buf.last() != Some(&b'\n') {
                return Ok(None);
            }
            self.line += 1;
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some(&self.buf));
        }
    }

    /// The number of the line last returned.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    pub(crate) fn next_record<T: DeserializeOwned>(&mut self) -> Result<Option<T>, EvidenceError> {
        let Some(line) = self.next_line()? else {
            return Ok(None);
        };
        match serde_json::from_slice(line) {
            Ok(v) => Ok(Some(v)),
            Err(e) => Err(EvidenceError::Parse {
                path: self.path.clone(),
                line: self.line,
                message: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Clone, Debug, serde::Deserialize, PartialEq)]
    struct Line {
        a: u32,
    }

    #[test]
    fn reads_plain_and_compressed_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("x.ndjson");
        std::fs::write(&plain, "{\"a\":1}\n\n{\"a\":2}\n{\"a\":3").unwrap();
        let got = Source::<Line>::File(plain).collect().unwrap();
        assert_eq!(
            got,
            vec![Line { a: 1 }, Line { a: 2 }],
            "torn last line ignored"
        );

        let zst = dir.path().join("x.ndjson.zst");
        let mut enc = zstd::stream::write::Encoder::new(File::create(&zst).unwrap(), 1).unwrap();
        enc.write_all(b"{\"a\":7}\n").unwrap();
        enc.finish().unwrap();
        assert_eq!(
            Source::<Line>::File(zst).collect().unwrap(),
            vec![Line { a: 7 }]
        );

        let bad = dir.path().join("bad.ndjson");
        std::fs::write(&bad, "{\"a\":1}\nnot json\n").unwrap();
        let err = Source::<Line>::File(bad).collect().unwrap_err().to_string();
        assert!(err.contains("bad.ndjson:2:"), "{err}");

        let missing = Source::<Line>::File(dir.path().join("nope.ndjson"));
        assert!(missing
            .collect()
            .unwrap_err()
            .to_string()
            .contains("nope.ndjson"));
    }
}
