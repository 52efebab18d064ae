//! Writing one record: the queued path (upsert by external id, no read) and the inline path of the
//! `realtime_db` anti-pattern (look the record up, then update or create it, while the caller waits).

use serde_json::{Map, Value};

use crate::datagen::Event;
use crate::sf::{Preconditions, Record, SfError};

use super::super::calls::CallError;
use super::super::engine::Engine;
use super::super::schema::{known_fields, Schema};
use super::super::store::{Key, Op, Work};
use super::plan::{is_schema_error, plan, Plan};
use super::Outcome;

/// Attempts at a conditional write of shared fields before leaving them to the other writer.
const SHARED_ATTEMPTS: u32 = 3;

impl Engine {
    /// Write one queued record: an upsert by external id (no read first) or a delete — or, with
    /// `realtime_db` on, the same read-then-write as the inline path.
    pub(crate) async fn write_queued(&self, work: &Work) -> Outcome {
        if self.behaviour.realtime_db {
            return Outcome::from(self.read_then_write(work).await);
        }
        let result = match work.op() {
            Op::Delete => self.delete_record(&work.key).await,
            Op::Upsert(fields) => {
                self.with_schema_retry(&work.key.object, || self.upsert_record(work, &fields))
                    .await
            }
        };
        Outcome::from(result)
    }

    /// Write the shared fields (conditionally), then upsert the ones this integration owns.
    async fn upsert_record(
        &self,
        work: &Work,
        fields: &Map<String, Value>,
    ) -> Result<(), CallError> {
        let key = &work.key;
        let plan = self.plan_fields(key, fields).await?;
        let mut body = if self.behaviour.data_ownership {
            self.whole_record(key, &plan.owned, None).await?
        } else {
            plan.owned.clone()
        };
        // Shared fields first: our own upsert would hide whether someone else touched the record.
        if !plan.shared.is_empty()
            && !self
                .write_shared(key, &plan.shared, work.occurred_ms())
                .await?
        {
            // A new record: nobody else has set them yet.
            body.extend(plan.shared.clone());
        }
        // Even with nothing of ours to set, the upsert makes sure the record exists.
        let body = Value::Object(body);
        self.sf
            .call(|c| {
                let body = &body;
                async move {
                    c.upsert(&key.object, &key.ext_field, &key.ext_value, body)
                        .await
                }
            })
            .await?;
        Ok(())
    }

    /// Delete by external id; a record that is already gone counts as deleted.
    async fn delete_record(&self, key: &Key) -> Result<(), CallError> {
        // "Already gone" is an answer, not an error: no retry layer should see it.
        self.sf
            .call(|c| async move {
                match c
                    .delete_by_external_id(&key.object, &key.ext_field, &key.ext_value)
                    .await
                {
                    Err(e) if is_gone(&e) => Ok(()),
                    other => other,
                }
            })
            .await
    }

    /// The inline write of the `realtime_db` anti-pattern: read the record by external id, then
    /// update it by id or create it — two calls or more per event, and the caller waits for all.
    pub(crate) async fn write_inline(&self, event: &Event) -> Result<(), CallError> {
        self.read_then_write(&Work::new(event, 0)).await
    }

    async fn read_then_write(&self, work: &Work) -> Result<(), CallError> {
        let key = &work.key;
        match work.op() {
            Op::Delete => {
                let Some(record) = self.read_record(key, &["Id"]).await? else {
                    return Ok(());
                };
                let id = record_id(&record)?;
                self.sf
                    .call(|c| {
                        let id = &id;
                        async move { c.delete(&key.object, id).await }
                    })
                    .await
            }
            Op::Upsert(fields) => {
                self.with_schema_retry(&key.object, || self.read_then_update(work, &fields))
                    .await
            }
        }
    }

    async fn read_then_update(
        &self,
        work: &Work,
        fields: &Map<String, Value>,
    ) -> Result<(), CallError> {
        let key = &work.key;
        let plan = self.plan_fields(key, fields).await?;
        // A whole-record writer reads every field it knows; otherwise only the id is needed.
        let known = if self.behaviour.data_ownership {
            self.known_fields(&key.object).await?
        } else {
            vec!["Id".to_string()]
        };
        let names: Vec<&str> = known.iter().map(String::as_str).collect();
        let existing = self.read_record(key, &names).await?;
        let mut body = if self.behaviour.data_ownership {
            self.whole_record(key, &plan.owned, existing.as_ref())
                .await?
        } else {
            plan.owned.clone()
        };
        match existing {
            Some(record) => {
                let id = record_id(&record)?;
                if !plan.shared.is_empty() {
                    self.write_shared(key, &plan.shared, work.occurred_ms())
                        .await?;
                }
                if !body.is_empty() {
                    let body = Value::Object(body);
                    self.sf
                        .call(|c| {
                            let (id, body) = (&id, &body);
                            async move { c.update(&key.object, id, body).await }
                        })
                        .await?;
                }
            }
            None => {
                body.extend(plan.shared.clone());
                body.insert(key.ext_field.clone(), Value::String(key.ext_value.clone()));
                let body = Value::Object(body);
                self.sf
                    .call(|c| {
                        let body = &body;
                        async move { c.create(&key.object, body).await }
                    })
                    .await?;
            }
        }
        Ok(())
    }

    /// Shared fields go out only with `If-Match` on a fresh read, and not at all when someone else
    /// changed the record after our event happened (their edit is newer business information).
    /// `Ok(false)` when there is no such record yet (the caller creates it with these fields).
    pub(super) async fn write_shared(
        &self,
        key: &Key,
        shared: &Map<String, Value>,
        occurred_ms: i64,
    ) -> Result<bool, CallError> {
        let mut names: Vec<&str> = shared.keys().map(String::as_str).collect();
        names.extend(["LastModifiedDate", "LastModifiedById"]);
        let me = self.sf.user_id();
        for _ in 0..SHARED_ATTEMPTS {
            let Some(record) = self.read_record(key, &names).await? else {
                return Ok(false);
            };
            let by_other = record.get("LastModifiedById").and_then(Value::as_str) != me.as_deref();
            let later = record
                .last_modified_date()
                .is_some_and(|t| t.timestamp_millis() > occurred_ms);
            if by_other && later {
                tracing::info!("{key}: leaving {names:?} to the newer edit made in Salesforce");
                return Ok(true);
            }
            let id = record_id(&record)?;
            let pre = Preconditions::unchanged_since_read(&record);
            let body = Value::Object(shared.clone());
            // 412: someone wrote since our read — an answer (look again), not an error.
            let applied = self.update_if(&key.object, &id, &body, &pre).await?;
            if applied {
                return Ok(true);
            }
        }
        tracing::info!("{key}: the record kept changing; leaving its shared fields as they are");
        Ok(true)
    }

    /// `GET /sobjects/{T}/{Ext}/{value}`; `None` when there is no such record.
    /// A conditional update: `false` when Salesforce answered 412 (someone wrote since the
    /// read) — an answer to look again at, not an error for the retry layer.
    pub(super) async fn update_if(
        &self,
        object: &str,
        id: &str,
        body: &Value,
        pre: &Preconditions,
    ) -> Result<bool, CallError> {
        self.sf
            .call(|c| async move {
                match c.update_if(object, id, body, pre).await {
                    Ok(()) => Ok(true),
                    Err(e) if e.status() == Some(412) => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await
    }

    async fn read_record(&self, key: &Key, fields: &[&str]) -> Result<Option<Record>, CallError> {
        // The id is always needed to write the record back.
        let mut names: Vec<&str> = fields.to_vec();
        if !names.is_empty() && !names.iter().any(|f| f.eq_ignore_ascii_case("Id")) {
            names.insert(0, "Id");
        }
        let fields = names.as_slice();
        // "No such record" is an answer, not an error: no retry layer should see it.
        self.sf
            .call(|c| async move {
                match c
                    .get_by_external_id(&key.object, &key.ext_field, &key.ext_value, fields)
                    .await
                {
                    Ok(r) => Ok(Some(r)),
                    Err(e) if is_gone(&e) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await
    }

    /// Check the fields against the schema (unless it is assumed) and sort them by ownership.
    pub(crate) async fn plan_fields(
        &self,
        key: &Key,
        fields: &Map<String, Value>,
    ) -> Result<Plan, CallError> {
        let describe = if self.behaviour.schema_assumptions {
            None
        } else {
            Some(self.schema.describe(&self.sf, &key.object).await?)
        };
        let plan = plan(
            &key.object,
            &key.ext_field,
            fields,
            &self.behaviour,
            &self.config.ownership,
            describe.as_deref(),
        );
        for (field, reason) in &plan.dropped {
            if *reason != "owned by someone else" {
                super::super::metrics::inc(&self.metrics.fields_dropped);
                tracing::warn!("{key}: leaving out {field}: {reason}");
            }
        }
        Ok(plan)
    }

    /// The fields this build believes the object has: hard-coded, or every writable field of the
    /// describe.
    async fn known_fields(&self, object: &str) -> Result<Vec<String>, CallError> {
        if self.behaviour.schema_assumptions {
            return Ok(known_fields(object).iter().map(|f| f.to_string()).collect());
        }
        let d = self.schema.describe(&self.sf, object).await?;
        Ok(Schema::writable_fields(&d))
    }

    /// `data_ownership` on: the whole record as this build knows it, with the event's fields on
    /// top — every known field goes back to Salesforce whoever owns it, with whatever value the copy
    /// holds. The copy comes from `read` (inline path) or from a local cache of what it last read
    /// and wrote (queued path), so values edited in Salesforce since are silently reverted.
    pub(super) async fn whole_record(
        &self,
        key: &Key,
        event_fields: &Map<String, Value>,
        read: Option<&Record>,
    ) -> Result<Map<String, Value>, CallError> {
        let known = self.known_fields(&key.object).await?;
        let base = match read {
            Some(r) => Some(r.fields.clone()),
            None if self.behaviour.realtime_db => None,
            None => match self.records.get(key) {
                Some(copy) => Some(copy),
                None if self.records.first_load(key) => {
                    self.load_copies(key, &known).await?;
                    self.records.get(key)
                }
                // Loaded already and not there: a record this build has not seen yet.
                None => None,
            },
        };
        let mut body: Map<String, Value> = base
            .unwrap_or_default()
            .into_iter()
            .filter(|(name, _)| known.iter().any(|k| k.eq_ignore_ascii_case(name)))
            .collect();
        body.extend(event_fields.clone());
        if !self.behaviour.realtime_db {
            self.records.put(key, &body);
        }
        Ok(body)
    }

    /// A whole-record writer's copy of its object, loaded once with one query (the usual "mirror
    /// the object at start" of such builds) rather than a read per record.
    async fn load_copies(&self, key: &Key, known: &[String]) -> Result<(), CallError> {
        let mut names: Vec<&str> = known.iter().map(String::as_str).collect();
        if !names.iter().any(|n| n.eq_ignore_ascii_case(&key.ext_field)) {
            names.push(&key.ext_field);
        }
        let soql = format!(
            "SELECT {} FROM {} WHERE {} != null",
            names.join(", "),
            key.object,
            key.ext_field
        );
        let rows = self
            .sf
            .call(|c| {
                let soql = &soql;
                async move { c.query_all(soql).await }
            })
            .await?;
        for row in rows {
            let Value::Object(mut fields) = row else {
                continue;
            };
            fields.remove("attributes");
            let ext = fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&key.ext_field))
                .and_then(|(_, v)| v.as_str().map(str::to_owned));
            if let Some(ext_value) = ext {
                let k = Key {
                    object: key.object.clone(),
                    ext_field: key.ext_field.clone(),
                    ext_value,
                };
                self.records.put(&k, &fields);
            }
        }
        Ok(())
    }

    /// Run `write`; if Salesforce says a field is unknown (and the profile reads the schema),
    /// re-describe and run it once more with the fresh mapping.
    async fn with_schema_retry<F, Fut>(&self, object: &str, write: F) -> Result<(), CallError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), CallError>>,
    {
        match write().await {
            Err(CallError::Rejected(e))
                if !self.behaviour.schema_assumptions && is_schema_error(e.error_code()) =>
            {
                self.schema_changed(object, &e.to_string());
                write().await
            }
            other => other,
        }
    }
}

pub(super) fn is_gone(e: &SfError) -> bool {
    matches!(e.error_code(), Some("NOT_FOUND" | "ENTITY_IS_DELETED"))
}

pub(super) fn record_id(record: &Record) -> Result<String, CallError> {
    record.id().map(str::to_string).ok_or_else(|| {
        CallError::Unavailable("Salesforce returned a record without an Id".to_string())
    })
}
