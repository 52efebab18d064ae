//! Preparing a load's rows, and loading small loads through sObject Collections.

use serde_json::{Map, Value};

use crate::retry::Retryability;
use crate::sf::MAX_COLLECTION_RECORDS;

use super::super::calls::CallError;
use super::super::engine::Engine;
use super::super::store::{BatchLoad, Key};

/// Rounds of resubmitting failed rows before counting them failed.
pub(super) const ROUNDS: u32 = 3;

impl Engine {
    /// Each row checked against the schema and ownership like an event's fields, keeping its
    /// external id. Waits (with jittered pauses) while the describe cannot be read; `None` on shutdown.
    pub(super) async fn plan_rows(
        &self,
        load: &BatchLoad,
        records: Vec<Map<String, Value>>,
    ) -> Option<Vec<Map<String, Value>>> {
        let ext = &load.external_id_field;
        let mut out = Vec::with_capacity(records.len());
        let mut shared_left_out = 0usize;
        for record in records {
            let key = Key {
                object: load.object.clone(),
                ext_field: ext.clone(),
                ext_value: value_text(record.get(ext)),
            };
            let mut failures = 0;
            let plan = loop {
                match self.plan_fields(&key, &record).await {
                    Ok(p) => break p,
                    Err(CallError::Shutdown) => return None,
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(
                            "bulk: cannot check {} rows against the schema: {e}",
                            load.object
                        );
                        if !self.pause(failures).await {
                            return None;
                        }
                    }
                }
            };
            shared_left_out += plan.shared.len();
            let mut row = plan.owned;
            row.insert(ext.clone(), Value::String(key.ext_value.clone()));
            out.push(row);
        }
        if shared_left_out > 0 {
            tracing::warn!(
                "bulk: left out {shared_left_out} shared field value(s); a bulk load cannot write them conditionally"
            );
        }
        Some(out)
    }

    /// Upsert a small load through Collections, 200 rows per call, yielding to real-time work.
    /// `None` on shutdown.
    pub(super) async fn collections_load(
        &self,
        load: &BatchLoad,
        records: Vec<Map<String, Value>>,
    ) -> Option<()> {
        let rows = self.plan_rows(load, records).await?;
        for chunk in rows.chunks(MAX_COLLECTION_RECORDS) {
            if !self.yield_to_realtime().await {
                return None;
            }
            let mut pending: Vec<Value> = chunk.iter().cloned().map(Value::Object).collect();
            let mut written = 0;
            for round in 1..=ROUNDS {
                let (ok, retry, failed) = match self.upsert_rows(load, &pending).await {
                    Ok(r) => r,
                    Err(CallError::Shutdown) => return None,
                    Err(e) => {
                        tracing::warn!("bulk: collections call failed: {e}");
                        if !self.pause(round).await {
                            return None;
                        }
                        continue;
                    }
                };
                written += ok;
                self.count_rows(0, failed);
                pending = retry;
                if pending.is_empty() {
                    break;
                }
                tracing::info!("bulk: resubmitting {} failed rows", pending.len());
                if !self.pause(round).await {
                    return None;
                }
            }
            self.count_rows(written, pending.len());
        }
        Some(())
    }

    /// One collections upsert (or, where Collections are missing, one upsert per row): rows written,
    /// rows worth retrying, rows failed for good.
    async fn upsert_rows(
        &self,
        load: &BatchLoad,
        rows: &[Value],
    ) -> Result<(usize, Vec<Value>, usize), CallError> {
        let (object, ext) = (&load.object, &load.external_id_field);
        if !self.caps.collections() {
            return self.upsert_rows_one_by_one(load, rows).await;
        }
        let result = self
            .sf
            .call(|c| async move { c.collections_upsert(object, ext, rows, false).await })
            .await;
        let results = match result {
            Err(CallError::Rejected(e)) if e.error_code() == Some("NOT_FOUND") => {
                tracing::warn!(
                    "bulk: sObject Collections are not available ({e}); upserting rows one by one"
                );
                self.caps.set_collections(false);
                return self.upsert_rows_one_by_one(load, rows).await;
            }
            other => other?,
        };
        let (mut ok, mut retry, mut failed) = (0, Vec::new(), 0);
        for (row, item) in rows.iter().zip(&results) {
            let retryable = item
                .errors
                .first()
                .is_some_and(|e| e.retryability(400) == Retryability::Retryable);
            if item.success || self.behaviour.partial_failures {
                ok += 1;
            } else if retryable {
                retry.push(row.clone());
            } else {
                failed += 1;
            }
        }
        Ok((ok, retry, failed))
    }

    async fn upsert_rows_one_by_one(
        &self,
        load: &BatchLoad,
        rows: &[Value],
    ) -> Result<(usize, Vec<Value>, usize), CallError> {
        let (object, ext) = (&load.object, &load.external_id_field);
        let (mut ok, mut failed) = (0, 0);
        for row in rows {
            let mut body = row.as_object().cloned().unwrap_or_default();
            let value = value_text(body.remove(ext).as_ref());
            let body = Value::Object(body);
            let result = self
                .sf
                .call(|c| {
                    let (value, body) = (&value, &body);
                    async move { c.upsert(object, ext, value, body).await }
                })
                .await;
            match result {
                Ok(_) => ok += 1,
                Err(CallError::Rejected(_)) => failed += 1,
                Err(e) => return Err(e),
            }
        }
        Ok((ok, Vec::new(), failed))
    }

    /// Wait while real-time events are queued. `false` on shutdown.
    async fn yield_to_realtime(&self) -> bool {
        while self.store.depth() >= self.config.tuning.batch_threshold {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                _ = self.shutdown.cancelled() => return false,
            }
        }
        true
    }

    /// A jittered pause after `failures` failures. `false` on shutdown.
    pub(super) async fn pause(&self, failures: u32) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(self.gate.item_delay(failures)) => true,
            _ = self.shutdown.cancelled() => false,
        }
    }
}

/// A cell or field value as text (external ids may be numbers).
pub(super) fn value_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}
