//! The one write path shared by REST, composite and sObject Collections.
//!
//! Each operation: takes its row locks (the row, and the parents a child write locks), then the org's
//! data lock for the in-memory work (validate, apply, commit), then publishes the committed changes. The
//! data lock is never held while waiting for row locks.

use super::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::org::changes::Change;
use crate::org::ids::RecordId;
use crate::org::locks::{unable_to_lock, LockGuard, RowKey};
use crate::org::schema::FieldType;
use crate::org::store::{OrgData, Txn, Writer};
use crate::org::write::{prepare, WriteOp};
use crate::org::Org;
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

    pub fn check(&self, data: &OrgData, obj: usize, num: u64) -> ApiResult<()> {
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

/// Parents a write to `obj` locks: reference fields with a child relationship (Contact → Account), both
/// the new parent named in `body` and, for an update of `row`, the current one.
pub fn parent_keys(
    data: &OrgData,
    obj: usize,
    body: &Map<String, Json>,
    row: Option<u64>,
) -> Vec<RowKey> {
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
            if let Some(old) = data
                .value(obj, r, fi)
                .as_str()
                .and_then(|s| data.resolve_id(s))
            {
                keys.push(old);
            }
        }
    }
    keys
}

/// Take row locks for a write, with the org's lock wait, then a processing slot of the org (see
/// [`crate::org::capacity`]). The write's service time (`contention.write_time`) is spent here,
/// holding both.
pub async fn lock(ctx: &Ctx, keys: Vec<RowKey>) -> ApiResult<LockGuard> {
    let mut guard = lock_rows(&ctx.org, keys).await?;
    guard.attach(ctx.org.capacity.acquire().await);
    let hold = ctx.org.config.contention.write_time;
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    Ok(guard)
}

/// Take row locks only, with the org's lock wait (the caller takes its processing slot after them).
/// A timeout answers `UNABLE_TO_LOCK_ROW` naming the row that stayed locked.
///
/// Under a `lock-contention` fault another transaction first takes the rows and keeps them for the
/// fault's `hold`, so this write — and any other writer of those rows meanwhile — really waits for
/// them, up to the fault's `wait`.
pub async fn lock_rows(org: &Org, keys: Vec<RowKey>) -> ApiResult<LockGuard> {
    if keys.is_empty() {
        return org
            .locks
            .acquire(vec![], std::time::Duration::ZERO)
            .await
            .map_err(|_| unable_to_lock(&[]));
    }
    let mut wait = org.config.lock_wait;
    if let Some((hold, busy, shutdown)) = contention(org, &keys) {
        wait = hold.wait.unwrap_or(wait);
        if let Ok(held) = org.locks.acquire(busy, std::time::Duration::ZERO).await {
            tokio::spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep(hold.hold) => {}
                    _ = shutdown.cancelled() => {}
                }
                drop(held);
            });
        }
    }
    match org.locks.acquire(keys, wait).await {
        Ok(g) => Ok(g),
        Err(failed) => {
            let data = org.data.read();
            let ids: Vec<String> = failed
                .iter()
                .map(|(o, n)| data.id_of(*o, *n).to18())
                .collect();
            Err(unable_to_lock(&ids))
        }
    }
}

/// Whether a `lock-contention` fault holds some of these rows for the request being served: the
/// fault, the rows it holds, and the simulator's shutdown (which releases them early).
fn contention(
    org: &Org,
    keys: &[RowKey],
) -> Option<(
    crate::faults::hooks::LockHold,
    Vec<RowKey>,
    tokio_util::sync::CancellationToken,
)> {
    let facts = crate::faults::context::current()?;
    let name = |data: &OrgData, o: usize| data.schema.objects[o].name.clone();
    let (first, mut names) = {
        let data = org.data.read();
        let names: Vec<String> = keys.iter().map(|(o, _)| name(&data, *o)).collect();
        (keys.first().map(|(o, _)| name(&data, *o)), names)
    };
    names.dedup();
    let probe = crate::faults::hooks::Probe {
        api: facts.api,
        object: facts.object.as_deref().or(first.as_deref()),
        client: facts.client.as_deref(),
        method: &facts.method,
        path: &facts.path,
        now: facts.state.clock.elapsed(),
    };
    let locking: Vec<&str> = names.iter().map(String::as_str).collect();
    let hold = facts.state.faults.lock_contention(&probe, &locking)?;
    let busy: Vec<RowKey> = if hold.objects.is_empty() {
        keys.to_vec()
    } else {
        let data = org.data.read();
        keys.iter()
            .filter(|(o, _)| {
                let object = &data.schema.objects[*o].name;
                hold.objects.iter().any(|x| x.eq_ignore_ascii_case(object))
            })
            .copied()
            .collect()
    };
    Some((hold, busy, facts.state.shutdown.clone()))
}

fn field_names(body: &Map<String, Json>) -> Vec<String> {
    body.keys()
        .filter(|k| k.as_str() != "attributes")
        .cloned()
        .collect()
}

/// Insert one record inside `txn` (validation included; nothing is written on error).
pub fn create_in(
    txn: &mut Txn<'_>,
    obj: usize,
    body: &Map<String, Json>,
    writer: &Writer,
    now_ms: i64,
) -> ApiResult<DmlResult> {
    let fields = prepare(txn.data(), obj, body, WriteOp::Create, None)?;
    let id = txn.insert(obj, fields, writer, now_ms);
    Ok(DmlResult {
        id: id.to18(),
        created: true,
        fields: field_names(body),
    })
}

/// Update one live record inside `txn`, checking `pre` first.
pub fn update_in(
    txn: &mut Txn<'_>,
    obj: usize,
    num: u64,
    body: &Map<String, Json>,
    pre: &Preconditions,
    writer: &Writer,
    now_ms: i64,
) -> ApiResult<DmlResult> {
    live_row(txn.data(), obj, num)?;
    pre.check(txn.data(), obj, num)?;
    let fields = prepare(txn.data(), obj, body, WriteOp::Update, Some(num))?;
    let id = txn.data().id_of(obj, num);
    txn.update(obj, num, fields, writer, now_ms);
    Ok(DmlResult {
        id: id.to18(),
        created: false,
        fields: field_names(body),
    })
}

/// Delete one live record inside `txn` (cascading as the schema says).
pub fn delete_in(
    txn: &mut Txn<'_>,
    obj: usize,
    num: u64,
    writer: &Writer,
    now_ms: i64,
) -> ApiResult<DmlResult> {
    live_row(txn.data(), obj, num)?;
    if !txn.data().schema.objects[obj].deletable {
        return Err(ApiError::InsufficientAccess(
            "insufficient access rights on object id".into(),
        ));
    }
    let id = txn.data().id_of(obj, num);
    txn.delete(obj, num, writer, now_ms);
    Ok(DmlResult {
        id: id.to18(),
        created: false,
        fields: vec![],
    })
}

/// Rows an upsert locks: the parents named in `body` and the record `value` matches now.
pub fn upsert_keys(
    data: &OrgData,
    obj: usize,
    field: usize,
    value: &str,
    body: &Map<String, Json>,
) -> Vec<RowKey> {
    let mut k = parent_keys(data, obj, body, None);
    if let UpsertTarget::Update(n) = match_external(data, obj, field, value) {
        k.push((obj, n));
    }
    k
}

/// Upsert by external id inside `txn`; the match is made here, under the data lock. `Ok(Err(rows))`
/// when several records match (reported by the caller as 300 or per record).
#[allow(clippy::too_many_arguments)]
pub fn upsert_in(
    txn: &mut Txn<'_>,
    obj: usize,
    field: usize,
    value: &str,
    body: &Map<String, Json>,
    update_only: bool,
    writer: &Writer,
    now_ms: i64,
) -> ApiResult<Result<DmlResult, Vec<u64>>> {
    let field_name = txn.data().schema.objects[obj].fields[field].name.clone();
    let mut body = body.clone();
    body.retain(|k, _| !k.eq_ignore_ascii_case(&field_name));
    match match_external(txn.data(), obj, field, value) {
        UpsertTarget::Multiple(nums) => Ok(Err(nums)),
        UpsertTarget::Insert => {
            if update_only || field_name == "Id" {
                return Err(ApiError::NotFound);
            }
            let mut with_key = body;
            with_key.insert(field_name, Json::String(value.to_string()));
            create_in(txn, obj, &with_key, writer, now_ms).map(Ok)
        }
        UpsertTarget::Update(num) => {
            let fields = prepare(txn.data(), obj, &body, WriteOp::Update, Some(num))?;
            let id = txn.data().id_of(obj, num);
            txn.update(obj, num, fields, writer, now_ms);
            Ok(Ok(DmlResult {
                id: id.to18(),
                created: false,
                fields: field_names(&body),
            }))
        }
    }
}

/// Insert one record.
pub async fn create(
    ctx: &Ctx,
    obj: usize,
    body: &Map<String, Json>,
    writer: &Writer,
) -> ApiResult<DmlResult> {
    let keys = parent_keys(&ctx.org.data.read(), obj, body, None);
    let _guard = lock(ctx, keys).await?;
    let (r, changes) = {
        let mut data = ctx.org.data.write();
        let mut txn = data.txn();
        let r = create_in(&mut txn, obj, body, writer, ctx.now_ms())?;
        (r, txn.commit())
    };
    ctx.org.publish(changes);
    Ok(r)
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
    let _guard = lock(ctx, keys).await?;
    let (r, changes) = {
        let mut data = ctx.org.data.write();
        let mut txn = data.txn();
        let r = update_in(&mut txn, obj, num, body, pre, writer, ctx.now_ms())?;
        (r, txn.commit())
    };
    ctx.org.publish(changes);
    Ok(r)
}

/// Delete one record by row number.
pub async fn delete(ctx: &Ctx, obj: usize, num: u64, writer: &Writer) -> ApiResult<DmlResult> {
    let _guard = lock(ctx, vec![(obj, num)]).await?;
    let (r, changes) = {
        let mut data = ctx.org.data.write();
        let mut txn = data.txn();
        let r = delete_in(&mut txn, obj, num, writer, ctx.now_ms())?;
        (r, txn.commit())
    };
    ctx.org.publish(changes);
    Ok(r)
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
    // Lock the matched row (if any) and parents; `upsert_in` re-checks the match under the data lock,
    // as another writer may have inserted the key meanwhile.
    let keys = upsert_keys(&ctx.org.data.read(), obj, field, value, body);
    let _guard = lock(ctx, keys).await?;
    let (r, changes) = {
        let mut data = ctx.org.data.write();
        let mut txn = data.txn();
        let now = ctx.now_ms();
        let r = upsert_in(&mut txn, obj, field, value, body, update_only, writer, now)?;
        (r, txn.commit())
    };
    ctx.org.publish(changes);
    Ok(r)
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
/// `/event/Name__e` (see [`crate::streaming`]), never stored as a record. Returns the publish result body,
/// whose OPERATION_ENQUEUED message is the event's `EventUuid`.
pub fn publish_event(
    ctx: &Ctx,
    obj: usize,
    body: &Map<String, Json>,
    writer: &Writer,
) -> ApiResult<Json> {
    let change = {
        let data = ctx.org.data.read();
        let values = prepare(&data, obj, body, WriteOp::Create, None)?;
        Change::event(&data, obj, &values, ctx.now_ms(), writer)
    };
    let published = ctx.org.publish(vec![change]);
    let Some(event) = published.first() else {
        return Err(ApiError::Internal("the event was not published".into()));
    };
    let id = RecordId::new("e00", ctx.org.num, event.seq).to18();
    Ok(json!({
        "id": id,
        "success": true,
        "errors": [{"statusCode": "OPERATION_ENQUEUED", "message": event.event_uuid(), "fields": []}]
    }))
}

/// A deterministic UUID for a published event.
pub fn event_uuid(org: u16, seq: u64) -> String {
    crate::org::changes::event_uuid(org, seq)
}
