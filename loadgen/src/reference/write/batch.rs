//! Many queued upserts in one sObject Collections call (`PATCH /composite/sobjects/{T}/{Ext}`,
//! up to 200 records, one API call) — how the resilient profile keeps up when events pile up.
//!
//! A collections call answers 200 whatever happened to the records; each item says for itself. With
//! `partial_failures` off every failed item is looked at: transient ones (lock timeouts) go back in
//! the queue alone, schema ones trigger a re-describe, the rest are dead-lettered. With it on, the
//! 200 is taken as "all done" and failed records are silently lost.

use serde_json::Value;

use super::super::calls::CallError;
use super::super::engine::Engine;
use super::super::store::{Op, Work};
use super::plan::is_schema_error;
use super::Outcome;
use crate::retry::Retryability;
use crate::sf::MAX_COLLECTION_RECORDS;

impl Engine {
    /// Upsert `works` (same object and external id field, all upserts) in one collections call.
    pub(crate) async fn write_collection(&self, works: &[Work]) -> Vec<Outcome> {
        let n = works.len();
        debug_assert!(n <= MAX_COLLECTION_RECORDS);
        let (object, ext_field) = (&works[0].key.object, &works[0].key.ext_field);
        let mut records = Vec::with_capacity(n);
        for work in works {
            let Op::Upsert(fields) = work.op() else {
                return vec![Outcome::Retry(std::time::Duration::ZERO); n];
            };
            let plan = match self.plan_fields(&work.key, &fields).await {
                Ok(p) => p,
                Err(e) => return vec![Outcome::from(Err(e)); n],
            };
            let mut body = if self.behaviour.data_ownership {
                match self.whole_record(&work.key, &plan.owned, None).await {
                    Ok(b) => b,
                    Err(e) => return vec![Outcome::from(Err(e)); n],
                }
            } else {
                plan.owned.clone()
            };
            // Shared fields first (see `upsert_record`); a new record gets them in the batch.
            if !plan.shared.is_empty() {
                match self
                    .write_shared(&work.key, &plan.shared, work.occurred_ms())
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => body.extend(plan.shared),
                    Err(e) => return vec![Outcome::from(Err(e)); n],
                }
            }
            body.insert(ext_field.clone(), Value::String(work.key.ext_value.clone()));
            records.push(Value::Object(body));
        }

        let result = self
            .sf
            .call(|c| {
                let records = &records;
                async move {
                    c.collections_upsert(object, ext_field, records, false)
                        .await
                }
            })
            .await;
        let results = match result {
            Ok(r) => r,
            Err(CallError::Rejected(e)) if e.error_code() == Some("NOT_FOUND") => {
                tracing::warn!(
                    "sObject Collections upsert is not available here ({e}); writing records one by one"
                );
                self.caps.set_collections(false);
                return vec![Outcome::Retry(std::time::Duration::ZERO); n];
            }
            Err(CallError::Rejected(e))
                if !self.behaviour.schema_assumptions && is_schema_error(e.error_code()) =>
            {
                self.schema_changed(object, &e.to_string());
                return vec![Outcome::Retry(std::time::Duration::ZERO); n];
            }
            Err(e) => return vec![Outcome::from(Err(e)); n],
        };

        let mut outcomes = Vec::with_capacity(n);
        for (i, work) in works.iter().enumerate() {
            let Some(item) = results.get(i) else {
                outcomes.push(Outcome::Retry(self.gate.item_delay(work.failures)));
                continue;
            };
            if item.success || self.behaviour.partial_failures {
                if !item.success {
                    tracing::debug!("{}: collections item failed; ignored", work.key);
                }
                outcomes.push(Outcome::Written);
                continue;
            }
            let Some(error) = item.errors.first().cloned() else {
                outcomes.push(Outcome::Retry(self.gate.item_delay(work.failures)));
                continue;
            };
            let code = Some(error.error_code.as_str());
            let outcome = if !self.behaviour.schema_assumptions && is_schema_error(code) {
                self.schema_changed(object, &error.message);
                Outcome::Retry(std::time::Duration::ZERO)
            } else if error.retryability(400) == Retryability::Retryable {
                Outcome::Retry(self.gate.item_delay(work.failures))
            } else {
                Outcome::Rejected(format!("{}: {}", error.error_code, error.message))
            };
            outcomes.push(outcome);
        }
        outcomes
    }
}
