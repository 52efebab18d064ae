//! Ingest result files: `successfulResults` (`sf__Id`, `sf__Created`, original columns),
//! `failedResults` (`sf__Id`, `sf__Error`, original columns) and `unprocessedrecords` (original
//! columns), in input order, every value quoted, in the job's delimiter and line ending. An empty set
//! still has its header.
//!
//! Files are streamed in blocks rendered on demand from the job's outcomes and the uploaded bytes, so
//! the results of a million-row job never sit in memory as one string.

use super::ingest::{IngestJob, Outcome};
use super::note;
use super::upload::Upload;
use crate::org::ids::RecordId;
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::sync::Arc;

/// Which result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Successful,
    Failed,
    Unprocessed,
}

impl Kind {
    fn route(self) -> &'static str {
        match self {
            Kind::Successful => "bulk2.ingest.successfulResults",
            Kind::Failed => "bulk2.ingest.failedResults",
            Kind::Unprocessed => "bulk2.ingest.unprocessedrecords",
        }
    }

    fn wants(self, o: &Outcome) -> bool {
        matches!(
            (self, o),
            (Kind::Successful, Outcome::Done { .. })
                | (Kind::Failed, Outcome::Failed { .. })
                | (Kind::Unprocessed, Outcome::Pending)
        )
    }
}

/// Rows rendered per streamed block.
const BLOCK: usize = 2_000;

fn outcome(outcomes: &[Outcome], i: usize) -> Outcome {
    outcomes.get(i).cloned().unwrap_or(Outcome::Pending)
}

/// The result file as a streamed `text/csv` response.
pub fn response(job: &Arc<IngestJob>, kind: Kind) -> Response {
    let (upload, raw, matching) = {
        let p = job.progress.lock();
        let rows = p.upload.as_ref().map(|u| u.rows()).unwrap_or(0);
        let matching = (0..rows)
            .filter(|i| kind.wants(&outcome(&p.outcomes, *i)))
            .count();
        (p.upload.clone(), p.data.clone(), matching)
    };
    let dialect = job.dialect();
    let mut n = note(kind.route(), &job.header.object, &job.header.id);
    n.rows = Some(matching as u64);
    // Data that never got indexed (the job was aborted or failed before processing): every row is
    // unprocessed, exactly as uploaded.
    if let (None, Some(raw), Kind::Unprocessed) = (&upload, &raw, kind) {
        return csv_response(Body::from(raw.clone()), n);
    }
    let upload = upload.unwrap_or_else(|| Arc::new(Upload::empty()));
    let mut head = Vec::new();
    {
        let mut w = dialect.writer(&mut head);
        let mut cols: Vec<&str> = match kind {
            Kind::Successful => vec!["sf__Id", "sf__Created"],
            Kind::Failed => vec!["sf__Id", "sf__Error"],
            Kind::Unprocessed => vec![],
        };
        cols.extend(upload.header.iter().map(String::as_str));
        let _ = w.write_record(&cols);
        let _ = w.flush();
    }
    let job = job.clone();
    let total = upload.rows();
    let stream = futures::stream::unfold(0usize, move |start| {
        let job = job.clone();
        let upload = upload.clone();
        async move {
            if start >= total {
                return None;
            }
            let end = (start + BLOCK).min(total);
            let block: Vec<Outcome> = {
                let p = job.progress.lock();
                (start..end).map(|i| outcome(&p.outcomes, i)).collect()
            };
            let mut out = Vec::new();
            if block.iter().any(|o| kind.wants(o)) {
                let records = upload.records(&job.dialect(), start..end);
                let mut w = job.dialect().writer(&mut out);
                for (o, rec) in block.iter().zip(&records) {
                    if !kind.wants(o) {
                        continue;
                    }
                    let id = |num: &Option<u64>| {
                        num.map(|n| RecordId::new(&job.key_prefix, job.org.num, n).to18())
                            .unwrap_or_default()
                    };
                    let mut line: Vec<String> = match o {
                        Outcome::Done { num, created } => {
                            vec![id(&Some(*num)), created.to_string()]
                        }
                        Outcome::Failed { num, error } => vec![id(num), error.to_string()],
                        Outcome::Pending => vec![],
                    };
                    line.extend(rec.iter().map(str::to_string));
                    let _ = w.write_record(&line);
                }
                let _ = w.flush();
            }
            Some((Ok::<Bytes, std::io::Error>(Bytes::from(out)), end))
        }
    });
    let head = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(head)) });
    csv_response(
        Body::from_stream(futures::StreamExt::chain(head, stream)),
        n,
    )
}

fn csv_response(body: Body, n: crate::journal::JournalNote) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    r.extensions_mut().insert(n);
    r
}
