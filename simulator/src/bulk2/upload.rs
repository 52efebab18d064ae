//! A job's uploaded CSV: read from the request body (streamed or chunked, up to the size limit) and
//! indexed by record, so rows can be parsed chunk by chunk and echoed into result files without
//! keeping a copy of every row.

use super::job::{Dialect, LineEnding};
use crate::error::ApiError;
use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use std::ops::Range;

/// Read a request body of at most `limit` bytes. A declared `Content-Length` over the limit is
/// refused before reading; a chunked body is refused as soon as it passes the limit.
pub async fn read_body(body: Body, limit: usize, declared: Option<u64>) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::BodyTooLarge { limit };
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut buf = BytesMut::with_capacity(declared.map(|n| n as usize).unwrap_or(1 << 20));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::BadRequest(format!("Error reading the request body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The uploaded data, indexed by record.
#[derive(Debug)]
pub struct Upload {
    pub bytes: Bytes,
    pub header: Vec<String>,
    /// Byte offset where each data record starts.
    starts: Vec<u32>,
}

impl Upload {
    /// Check the data against the job's dialect and index it. `Err` is the job's `errorMessage`.
    pub fn index(bytes: Bytes, dialect: &Dialect) -> Result<Upload, String> {
        if std::str::from_utf8(&bytes).is_err() {
            return Err("InvalidBatch : The data is not valid UTF-8".into());
        }
        let lf_ok = match dialect.line_ending {
            LineEnding::Lf => memchr::memmem::find(&bytes, b"\r\n").is_none(),
            LineEnding::Crlf => {
                memchr::memchr_iter(b'\n', &bytes).all(|i| i > 0 && bytes[i - 1] == b'\r')
            }
        };
        if !lf_ok {
            return Err(format!(
                "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {}",
                dialect.line_ending.name()
            ));
        }
        let body_start = if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut rdr = dialect.reader(&bytes[body_start..]);
        let mut rec = csv::ByteRecord::new();
        let header = match rdr.read_byte_record(&mut rec) {
            Ok(true) => rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).trim().to_string())
                .collect::<Vec<_>>(),
            Ok(false) => return Err("InvalidBatch : The uploaded file has no header row".into()),
            Err(e) => return Err(format!("InvalidBatch : Failed to parse CSV header: {e}")),
        };
        let mut starts = Vec::new();
        loop {
            let pos = rdr.position().byte() as usize + body_start;
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {
                    let at = rec
                        .position()
                        .map(|p| p.byte() as usize + body_start)
                        .unwrap_or(pos);
                    starts.push(at as u32);
                }
                Ok(false) => break,
                Err(e) => return Err(format!("InvalidBatch : Failed to parse CSV: {e}")),
            }
        }
        Ok(Upload {
            bytes,
            header,
            starts,
        })
    }

    /// An upload with a header and no rows (a job closed without data still has result headers).
    pub fn empty() -> Upload {
        Upload {
            bytes: Bytes::new(),
            header: Vec::new(),
            starts: Vec::new(),
        }
    }

    pub fn rows(&self) -> usize {
        self.starts.len()
    }

    /// The bytes of records `range` (whole records, ready for a reader of the job's dialect).
    pub fn slice(&self, range: Range<usize>) -> &[u8] {
        let start = self
            .starts
            .get(range.start)
            .map(|s| *s as usize)
            .unwrap_or(self.bytes.len());
        let end = self
            .starts
            .get(range.end)
            .map(|s| *s as usize)
            .unwrap_or(self.bytes.len());
        &self.bytes[start..end.max(start)]
    }

    /// The fields of records `range`, in order (for results echoing the input).
    pub fn records(&self, dialect: &Dialect, range: Range<usize>) -> Vec<csv::StringRecord> {
        let n = range.len();
        let mut rdr = dialect.reader(self.slice(range));
        let mut out = Vec::with_capacity(n);
        let mut rec = csv::StringRecord::new();
        while out.len() < n {
            match rdr.read_record(&mut rec) {
                Ok(true) => out.push(rec.clone()),
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk2::job::Delimiter;

    fn dialect(d: Delimiter, le: LineEnding) -> Dialect {
        Dialect {
            delimiter: d,
            line_ending: le,
        }
    }

    #[test]
    fn records_are_indexed_with_quotes_and_delimiters() {
        let csv = "Name|Description\n\"A|1\"|\"two\nlines\"\nB|\n";
        let up =
            Upload::index(Bytes::from(csv), &dialect(Delimiter::Pipe, LineEnding::Lf)).unwrap();
        assert_eq!(up.header, vec!["Name", "Description"]);
        assert_eq!(up.rows(), 2);
        let recs = up.records(&dialect(Delimiter::Pipe, LineEnding::Lf), 0..2);
        assert_eq!(&recs[0][0], "A|1");
        assert_eq!(&recs[0][1], "two\nlines");
        assert_eq!(&recs[1][0], "B");
        assert_eq!(&recs[1][1], "");
        let second = up.records(&dialect(Delimiter::Pipe, LineEnding::Lf), 1..2);
        assert_eq!(&second[0][0], "B");
    }

    #[test]
    fn a_line_ending_that_does_not_match_the_job_fails_it() {
        let d = dialect(Delimiter::Comma, LineEnding::Lf);
        let e = Upload::index(Bytes::from("Name\r\nA\r\n"), &d).unwrap_err();
        assert_eq!(
            e,
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
        );
        let d = dialect(Delimiter::Comma, LineEnding::Crlf);
        assert!(Upload::index(Bytes::from("Name\nA\n"), &d).is_err());
        let up = Upload::index(Bytes::from("Name\r\nA\r\nB\r\n"), &d).unwrap();
        assert_eq!(up.rows(), 2);
        assert_eq!(&up.records(&d, 1..2)[0][0], "B");
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let e = read_body(Body::from("abcdef"), 4, None).await.unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
        let e = read_body(Body::from("ab"), 4, Some(10)).await.unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            read_body(Body::from("abcd"), 4, None).await.unwrap(),
            Bytes::from("abcd")
        );
    }
}
