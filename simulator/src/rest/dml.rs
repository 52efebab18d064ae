//! The one write path shared by REST, composite and sObject Collections.
//!
//! Each operation: takes its row locks (the row, and the parents a child write locks), then the org's
//! data lock for the in-memory work (validate, apply, commit), then publishes the committed changes. The
//! data lock is never held while waiting for row locks.

use super::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::org::changes::{Change, ChangeType};
use crate::org::ids::RecordId;
use crate::org::locks::{unable_to_lock, LockGuard, RowKey};
use crate::org::schema::FieldType;
use crate::org::store::{OrgData, Writer};
use crate::org::write::{prepare, WriteOp};
use serde_json::{json, Map, Value as Json};

/// What a successful write did.
#[derive(Debug, Clone)]
pub struct DmlResult {
    pub id: String,
    pub created: bool,
    /// Fields named in the request.
    pub fields: Vec<String>,
}

impl DmlResult {
    /// `{"id":…,"success":true,"errors":[]}` (+ `created` for upserts).
    pub fn save_result(&self, with_created: bool) -> Json {
        if with_created {
            json!({"id": self.id, "success": true, "errors": [], "created": self.created})
        } else {
            json!({"id": self.id, "success": true, "errors": []})
        }
    }
}

/// HTTP preconditions of a conditional update (salesforce-api.md §2.5).
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    pub if_match: Option<Vec<String>>,
    pub if_none_match: Option<Vec<String>>,
    pub if_unmodified_since: Option<i64>,
}

impl Preconditions {
    pub fn from_headers(h: &axum::http::HeaderMap) -> ApiResult<Preconditions> {
        let list = |name: &str| {
            h.get(name).and_then(|v| v.to_str().ok()).map(|v| {
                v.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
            })
        };
        let if_unmodified_since = match h.get("if-unmodified-since") {
            Some(v) => {
                let s = v.to_str().unwrap_or("");
                let t = httpdate::parse_http_date(s).map_err(|_| {
                    ApiError::BadRequest(format!("Invalid If-Unmodified-Since header: {s}"))
                })?;
                Some(
                    t.duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() as i64)
                        .unwrap_or(0),
                )
            }
            None => None,
        };
        Ok(Preconditions {
            if_match: list("if-match"),
            if_none_match: list("if-none-match"),
            if_unmodified_since,
        })
    }

    fn check(&self, data: &OrgData, obj: usize, num: u64) -> ApiResult<()> {
        let Some(row) = data.row(obj, num) else {
            return Ok(());
        };
        let etag = data.etag(obj, row);
        if let Some(list) = &self.if_match {
            if !list.iter().any(|t| t == "*" || *t == etag) {
                return Err(ApiError::PreconditionFailed(
                    "The ETag in the If-Match header doesn't match the record's current version."
                        .into(),
                ));
            }
        }
        if let Some(list) = &self.if_none_match {
            if list.iter().any(|t| t == "*" || *t == etag) {
                return Err(ApiError::PreconditionFailed(
                    "The record matches the ETag in the If-None-Match header.".into(),
                ));
            }
        }
        if let Some(t) = self.if_unmodified_since {
            // HTTP dates have second precision.
            if row.modified_ms / 1000 > t / 1000 {
                return Err(ApiError::PreconditionFailed(
                    "The record was modified after the time in the If-Unmodified-Since header."
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

/// Parents a write to `obj` locks: reference fields with a child relationship (Contact → Account).
fn parent_keys(data: &OrgData, obj: usize, body: &Map<String, Json>, row: Option<u64>) -> Vec<RowKey> {
    let o = &data.schema.objects[obj];
    let mut keys = Vec::new();
    for (fi, f) in o.active_fields() {
        if f.ftype != FieldType::Reference || f.child_relationship_name.is_none() {
            continue;
        }
        let new = body
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&f.name))
            .and_then(|(_, v)| v.as_str())
            .and_then(|s| data.resolve_id(s));
        keys.extend(new);
        if let Some(r) = row.and_then(|n| data.row(obj, n)) {
            if let Some(old) = data.value(obj, r, fi).as_str().and_then(|s| data.resolve_id(s)) {
                keys.push(old);
            }
        }
    }
    keys
}

/// Take row locks for a write, with the org's lock wait.
pub async fn lock(ctx: &Ctx, keys: Vec<RowKey>) -> ApiResult<LockGuard> {
    lock_rows(ctx, None, keys).await
}

/// Take row locks for a write to `obj` (the object of the first key when `None`). A
/// `lock-contention` fault first has another transaction take the rows and keep them for its
/// `hold`, so this write — and any other writer of those rows meanwhile — really waits for them.
async fn lock_rows(ctx: &Ctx, obj: Option<usize>, keys: Vec<RowKey>) -> ApiResult<LockGuard> {
    let mut wait = ctx.org.config.read().lock_wait;
    if let Some((hold, busy)) = contention(ctx, obj, &keys) {
        wait = hold.wait.unwrap_or(wait);
        if let Ok(held) = ctx.org.locks.acquire(busy, std::time::Duration::ZERO).await {
            let shutdown = ctx.state.shutdown.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep(hold.hold) => {}
                    _ = shutdown.cancelled() => {}
                }
                drop(held);
            });
        }
    }
    if keys.is_empty() {
        return ctx
            .org
            .locks
            .acquire(vec![], std::time::Duration::ZERO)
            .await
            .map_err(|_| unable_to_lock(&[]));
    }
    match ctx.org.locks.acquire(keys, wait).await {
        Ok(g) => Ok(g),
        Err(failed) => {
            let data = ctx.org.data.read();
            let ids: Vec<String> = failed
                .iter()
                .map(|(o, n)| data.id_of(*o, *n).to18())
                .collect();
            Err(unable_to_lock(&ids))
        }
    }
}

/// Whether a `lock-contention` fault holds some of these rows: the fault and the rows it holds.
fn contention(
    ctx: &Ctx,
    obj: Option<usize>,
    keys: &[RowKey],
) -> Option<(crate::faults::hooks::LockHold, Vec<RowKey>)> {
    if keys.is_empty() || !ctx.state.fault_engine.snapshot().has_item_rules {
        return None;
    }
    let (object, names) = {
        let data = ctx.org.data.read();
        let name = |o: usize| data.schema.objects[o].name.clone();
        let mut names: Vec<String> = keys.iter().map(|(o, _)| name(*o)).collect();
        names.dedup();
        (obj.or(keys.first().map(|k| k.0)).map(name), names)
    };
    let facts = crate::faults::context::current();
    let identity = ctx.identity();
    let probe = crate::faults::hooks::Probe {
        api: facts.as_ref().map_or(crate::journal::Api::Rest, |f| f.api),
        object: object.as_deref(),
        client: Some(&identity),
        method: facts.as_ref().map_or("", |f| f.method.as_str()),
        path: facts.as_ref().map_or("", |f| f.path.as_str()),
        now: ctx.state.clock.elapsed(),
    };
    let locking: Vec<&str> = names.iter().map(String::as_str).collect();
    let hold = ctx.state.faults.lock_contention(&probe, &locking)?;
    let busy: Vec<RowKey> = if hold.objects.is_empty() {
        keys.to_vec()
    } else {
        let data = ctx.org.data.read();
        keys.iter()
            .filter(|(o, _)| {
                hold.objects
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(&data.schema.objects[*o].name))
            })
            .copied()
            .collect()
    };
    Some((hold, busy))
}

fn field_names(body: &Map<String, Json>) -> Vec<String> {
    body.keys()
        .filter(|k| k.as_str() != "attributes")
        .cloned()
        .collect()
}

/// Insert one record.
pub async fn create(
    ctx: &Ctx,
    obj: usize,
    body: &Map<String, Json>,
    writer: &Writer,
) -> ApiResult<DmlResult> {
    let keys = parent_keys(&ctx.org.data.read(), obj, body, None);
    let _guard = lock_rows(ctx, Some(obj), keys).await?;
    let changes;
    let id;
    {
        let mut data = ctx.org.data.write();
        let fields = prepare(&data, obj, body, WriteOp::Create, None)?;
        let now = ctx.now_ms();
        let mut txn = data.txn();
        id = txn.insert(obj, fields, writer, now);
        changes = txn.commit();
    }
    ctx.org.publish(changes);
    Ok(DmlResult {
        id: id.to18(),
        created: true,
        fields: field_names(body),
    })
}

/// Update one record by row number.
pub async fn update(
    ctx: &Ctx,
    obj: usize,
    num: u64,
    body: &Map<String, Json>,
    pre: &Preconditions,
    writer: &Writer,
) -> ApiResult<DmlResult> {
    let keys = {
        let data = ctx.org.data.read();
        let mut k = parent_keys(&data, obj, body, Some(num));
        k.push((obj, num));
        k
    };
    let _guard = lock_rows(ctx, Some(obj), keys).await?;
    let changes;
    let id;
    {
        let mut data = ctx.org.data.write();
        live_row(&data, obj, num)?;
        pre.check(&data, obj, num)?;
        let fields = prepare(&data, obj, body, WriteOp::Update, Some(num))?;
        let now = ctx.now_ms();
        id = data.id_of(obj, num);
        let mut txn = data.txn();
        txn.update(obj, num, fields, writer, now);
        changes = txn.commit();
    }
    ctx.org.publish(changes);
    Ok(DmlResult {
        id: id.to18(),
        created: false,
        fields: field_names(body),
    })
}

/// Delete one record by row number.
pub async fn delete(ctx: &Ctx, obj: usize, num: u64, writer: &Writer) -> ApiResult<DmlResult> {
    let _guard = lock_rows(ctx, Some(obj), vec![(obj, num)]).await?;
    let changes;
    let id;
    {
        let mut data = ctx.org.data.write();
        live_row(&data, obj, num)?;
        if !data.schema.objects[obj].deletable {
            return Err(ApiError::InsufficientAccess(
                "insufficient access rights on object id".into(),
            ));
        }
        let now = ctx.now_ms();
        id = data.id_of(obj, num);
        let mut txn = data.txn();
        txn.delete(obj, num, writer, now);
        changes = txn.commit();
    }
    ctx.org.publish(changes);
    Ok(DmlResult {
        id: id.to18(),
        created: false,
        fields: vec![],
    })
}

/// The outcome of an upsert lookup.
pub enum UpsertTarget {
    Insert,
    Update(u64),
    Multiple(Vec<u64>),
}

/// Find the rows an external-id value matches (`Id` as the field means the record id).
pub fn match_external(data: &OrgData, obj: usize, field: usize, value: &str) -> UpsertTarget {
    let f = &data.schema.objects[obj].fields[field];
    let nums: Vec<u64> = if f.ftype == FieldType::Id {
        RecordId::parse(value)
            .filter(|r| data.row(obj, r.num).is_some_and(|row| !row.deleted))
            .map(|r| vec![r.num])
            .unwrap_or_default()
    } else {
        data.tables[obj]
            .find_by_index(field, value)
            .into_iter()
            .collect()
    };
    match nums.as_slice() {
        [] => UpsertTarget::Insert,
        [one] => UpsertTarget::Update(*one),
        _ => UpsertTarget::Multiple(nums),
    }
}

/// Upsert by external id. `Err(Multiple)` is reported by the caller as 300.
pub async fn upsert(
    ctx: &Ctx,
    obj: usize,
    field: usize,
    value: &str,
    body: &Map<String, Json>,
    update_only: bool,
    writer: &Writer,
) -> ApiResult<Result<DmlResult, Vec<u64>>> {
    let field_name = ctx.org.data.read().schema.objects[obj].fields[field]
        .name
        .clone();
    let mut body = body.clone();
    body.retain(|k, _| !k.eq_ignore_ascii_case(&field_name));
    // Lock the matched row (if any) and parents, then re-check the match under the data lock: another
    // writer may have inserted the key meanwhile.
    let keys = {
        let data = ctx.org.data.read();
        let mut k = parent_keys(&data, obj, &body, None);
        if let UpsertTarget::Update(n) = match_external(&data, obj, field, value) {
            k.push((obj, n));
        }
        k
    };
    let _guard = lock_rows(ctx, Some(obj), keys).await?;
    let changes;
    let result;
    {
        let mut data = ctx.org.data.write();
        let now = ctx.now_ms();
        match match_external(&data, obj, field, value) {
            UpsertTarget::Multiple(nums) => return Ok(Err(nums)),
            UpsertTarget::Insert => {
                if update_only || field_name == "Id" {
                    return Err(ApiError::NotFound);
                }
                let mut with_key = body.clone();
                with_key.insert(field_name.clone(), Json::String(value.to_string()));
                let fields = prepare(&data, obj, &with_key, WriteOp::Create, None)?;
                let mut txn = data.txn();
                let id = txn.insert(obj, fields, writer, now);
                changes = txn.commit();
                result = DmlResult {
                    id: id.to18(),
                    created: true,
                    fields: field_names(&with_key),
                };
            }
            UpsertTarget::Update(num) => {
                let fields = prepare(&data, obj, &body, WriteOp::Update, Some(num))?;
                let id = data.id_of(obj, num);
                let mut txn = data.txn();
                txn.update(obj, num, fields, writer, now);
                changes = txn.commit();
                result = DmlResult {
                    id: id.to18(),
                    created: false,
                    fields: field_names(&body),
                };
            }
        }
    }
    ctx.org.publish(changes);
    Ok(Ok(result))
}

/// 404 unless the row exists and is live.
pub fn live_row(data: &OrgData, obj: usize, num: u64) -> ApiResult<()> {
    match data.row(obj, num) {
        Some(r) if !r.deleted => Ok(()),
        Some(_) => Err(ApiError::EntityIsDeleted),
        None => Err(ApiError::NotFound),
    }
}

/// Publish a platform event (`POST /sobjects/Name__e`): validated like a create, delivered on
/// `/event/Name__e`, never stored as a record. Returns the publish result body.
pub fn publish_event(
    ctx: &Ctx,
    obj: usize,
    body: &Map<String, Json>,
    writer: &Writer,
) -> ApiResult<Json> {
    let (name, mut fields) = {
        let data = ctx.org.data.read();
        let o = &data.schema.objects[obj];
        let values = prepare(&data, obj, body, WriteOp::Create, None)?;
        let mut m = Map::new();
        for (fi, v) in values {
            m.insert(o.fields[fi].name.clone(), v.to_json());
        }
        (o.name.clone(), m)
    };
    let now = ctx.now_ms();
    fields.insert(
        "CreatedDate".into(),
        Json::String(crate::org::value::format_datetime_z(now)),
    );
    fields.insert("CreatedById".into(), Json::String(ctx.org.data.read().user_id(writer.user)));
    let change = Change {
        seq: 0,
        object: name,
        record_id: String::new(),
        change_type: ChangeType::Create,
        commit_ms: now,
        commit_user: ctx.org.data.read().user_id(writer.user),
        origin: writer.origin.clone(),
        client: writer.client.clone(),
        transaction_key: String::new(),
        sequence_number: 1,
        changed_fields: vec![],
        nulled_fields: vec![],
        fields,
    };
    let published = ctx.org.publish(vec![change]);
    let seq = published.first().map(|c| c.seq).unwrap_or(0);
    let id = RecordId::new("e00", ctx.org.num, seq).to18();
    Ok(json!({
        "id": id,
        "success": true,
        "errors": [{"statusCode": "OPERATION_ENQUEUED", "message": event_uuid(ctx.org.num, seq), "fields": []}]
    }))
}

/// A deterministic UUID for a published event.
pub fn event_uuid(org: u16, seq: u64) -> String {
    use sha2::Digest;
    let h = hex::encode(&sha2::Sha256::digest(format!("event:{org}:{seq}").as_bytes())[..16]);
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}
