//! [`Jobs`]: every Bulk 2.0 job of every org, and the background tasks processing them.
//!
//! Jobs are kept in creation order (the job list pages through them). Each processing task runs
//! under a cancellation token that is a child of the simulator's shutdown token, so shutdown (or
//! deleting / aborting a job) stops it at the next chunk; the tracker lets tests and shutdown see
//! how many are still running.

use super::ingest::IngestJob;
use super::query::QueryJob;
use crate::org::ids::RecordId;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use tokio_util::task::TaskTracker;

/// One job of either kind.
#[derive(Clone)]
pub enum Job {
    Ingest(Arc<IngestJob>),
    Query(Arc<QueryJob>),
}

impl Job {
    fn org(&self) -> u16 {
        match self {
            Job::Ingest(j) => j.org.num,
            Job::Query(j) => j.org.num,
        }
    }
}

#[derive(Default)]
struct Inner {
    next: u64,
    jobs: BTreeMap<u64, Job>,
    by_id: HashMap<String, u64>,
}

/// The job store (held by [`crate::state::Shared::bulk`]).
#[derive(Default)]
pub struct Jobs {
    inner: Mutex<Inner>,
    tracker: TaskTracker,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("jobs", &self.inner.lock().jobs.len())
            .field("running", &self.tracker.len())
            .finish()
    }
}

impl Jobs {
    /// Allocate a job id (`750…`) in org `org`.
    pub fn new_id(&self, org: u16) -> (u64, String) {
        let mut g = self.inner.lock();
        g.next += 1;
        (g.next, RecordId::new("750", org, g.next).to18())
    }

    pub fn insert(&self, seq: u64, id: String, job: Job) {
        let mut g = self.inner.lock();
        g.by_id.insert(id, seq);
        g.jobs.insert(seq, job);
    }

    fn get(&self, org: u16, id: &str) -> Option<Job> {
        let g = self.inner.lock();
        let seq = g.by_id.get(id)?;
        g.jobs.get(seq).filter(|j| j.org() == org).cloned()
    }

    pub fn ingest(&self, org: u16, id: &str) -> Option<Arc<IngestJob>> {
        match self.get(org, id)? {
            Job::Ingest(j) => Some(j),
            Job::Query(_) => None,
        }
    }

    pub fn query(&self, org: u16, id: &str) -> Option<Arc<QueryJob>> {
        match self.get(org, id)? {
            Job::Query(j) => Some(j),
            Job::Ingest(_) => None,
        }
    }

    /// Forget a job (`DELETE`).
    pub fn remove(&self, id: &str) {
        let mut g = self.inner.lock();
        if let Some(seq) = g.by_id.remove(id) {
            g.jobs.remove(&seq);
        }
    }

    /// Jobs of `org` of one kind, in creation order: `limit` of them from `offset`, and how many there
    /// are in all.
    pub fn page(&self, org: u16, ingest: bool, offset: usize, limit: usize) -> (Vec<Job>, usize) {
        let g = self.inner.lock();
        let all: Vec<&Job> = g
            .jobs
            .values()
            .filter(|j| j.org() == org && matches!(j, Job::Ingest(_)) == ingest)
            .collect();
        let total = all.len();
        let page = all.into_iter().skip(offset).take(limit).cloned().collect();
        (page, total)
    }

    /// Run a processing task under the tracker.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(fut);
    }

    /// Processing tasks still running.
    pub fn running(&self) -> usize {
        self.tracker.len()
    }
}
