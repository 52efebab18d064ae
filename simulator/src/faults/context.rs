//! The request a handler is serving, as the in-handler hooks see it.
//!
//! Hooks are called deep inside handlers (the write path, composite, Bulk 2.0) with a
//! [`super::hooks::Probe`] but no request id. The layer runs each request's handler inside a
//! task-local [`RequestFacts`], so that a hook's decision is journaled on the request it affected, a
//! request's records share one trigger decision, and code such as `rest::dml::lock` can describe the
//! request without new parameters. Work spawned outside the request (Bulk 2.0 processing, streaming
//! delivery) has no context; its decisions are journaled as separate fault events.

use crate::journal::{Api, FaultTag};
use crate::state::SimState;
use parking_lot::Mutex;
use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static CURRENT: Arc<RequestFacts>;
}

/// What the hooks may know about the current request.
#[derive(Debug)]
pub struct RequestFacts {
    pub api: Api,
    pub method: String,
    pub path: String,
    /// The sObject the URL names, if any.
    pub object: Option<String>,
    /// `username|app[|client]`, when the request carries a session.
    pub client: Option<String>,
    /// The simulator serving it (its clock and hooks, for code that has no `Ctx`).
    pub state: SimState,
    /// In-handler decisions, grouped by rule.
    tags: Mutex<Vec<ItemTag>>,
    /// Trigger decisions already taken for this request, by rule id.
    decisions: Mutex<Vec<(String, bool)>>,
}

#[derive(Debug)]
struct ItemTag {
    rule: String,
    kind: String,
    count: u64,
    details: Vec<String>,
}

/// Details kept per rule and request; the count says how many there were in all.
const MAX_DETAILS: usize = 10;

impl RequestFacts {
    pub fn new(
        state: SimState,
        api: Api,
        method: &str,
        path: &str,
        object: Option<String>,
        client: Option<String>,
    ) -> RequestFacts {
        RequestFacts {
            api,
            method: method.to_string(),
            path: path.to_string(),
            object,
            client,
            state,
            tags: Mutex::new(Vec::new()),
            decisions: Mutex::new(Vec::new()),
        }
    }

    /// Record an in-handler decision: `detail` is e.g. `row 3: UNABLE_TO_LOCK_ROW`.
    pub(crate) fn record(&self, tag: FaultTag) {
        let mut tags = self.tags.lock();
        match tags
            .iter_mut()
            .find(|t| t.rule == tag.rule && t.kind == tag.kind)
        {
            Some(t) => {
                t.count += 1;
                if t.details.len() < MAX_DETAILS {
                    t.details.push(tag.action);
                }
            }
            None => tags.push(ItemTag {
                rule: tag.rule,
                kind: tag.kind,
                count: 1,
                details: vec![tag.action],
            }),
        }
    }

    /// The trigger decision of `rule` for this request, taking it with `decide` the first time.
    pub(crate) fn decision(&self, rule: &str, decide: impl FnOnce() -> bool) -> bool {
        let mut decisions = self.decisions.lock();
        if let Some((_, d)) = decisions.iter().find(|(r, _)| r == rule) {
            return *d;
        }
        let d = decide();
        decisions.push((rule.to_string(), d));
        d
    }

    /// The recorded decisions as journal tags: one per rule, `action` listing the first details
    /// (`3 items: row 1: UNABLE_TO_LOCK_ROW; row 4: …`).
    pub fn tags(&self) -> Vec<FaultTag> {
        self.tags
            .lock()
            .iter()
            .map(|t| FaultTag {
                rule: t.rule.clone(),
                kind: t.kind.clone(),
                action: if t.count == 1 {
                    t.details.join("; ")
                } else {
                    format!("{} items: {}", t.count, t.details.join("; "))
                },
            })
            .collect()
    }
}

/// Run `fut` with `facts` as the current request.
pub async fn scope<F: Future>(facts: Arc<RequestFacts>, fut: F) -> F::Output {
    CURRENT.scope(facts, fut).await
}

/// The request being served by this task, if any.
pub fn current() -> Option<Arc<RequestFacts>> {
    CURRENT.try_with(Arc::clone).ok()
}
