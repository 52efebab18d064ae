//! `/__admin/faults`: install, list and remove fault rules while the simulator runs.
//!
//! - `GET /__admin/faults`: the installed rules in order, each with whether its window is open, how
//!   many requests it matched and how many it affected; plus the scenario clock (`elapsed_ms`).
//! - `POST /__admin/faults`: one rule (a JSON object with the keys of a `[[faults]]` table) or a list
//!   of them, appended after the installed rules. Times are offsets from the scenario start, as in
//!   files. Invalid rules install nothing and answer 400 with every problem:
//!   `{"errors": [{"path": "probability", "message": "must be between 0 and 1, got 1.5"}]}` (paths
//!   are `[i].key` when a list was posted).
//! - `DELETE /__admin/faults/{id}`: remove one rule; `DELETE /__admin/faults`: remove all.
//!
//! Rules posted without an `id` get `{kind}-{n}` with the first `n` not in use.

use crate::faults::plan::{join_path, FaultPlan, PathError, RawFault};
use crate::faults::schedule;
use crate::state::SimState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The fault routes (merged into the admin router, behind its token check).
pub fn routes() -> Router<SimState> {
    Router::new()
        .route("/__admin/faults", get(list).post(install).delete(clear))
        .route("/__admin/faults/{id}", delete(remove))
}

async fn list(State(state): State<SimState>) -> Json<Value> {
    let now = state.clock.elapsed();
    Json(json!({
        "elapsed_ms": now.as_millis() as u64,
        "seed": state.config.seed,
        "rules": state.fault_engine.status(now),
    }))
}

fn errors_response(errors: Vec<PathError>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "errors": errors }))).into_response()
}

async fn install(State(state): State<SimState>, body: Bytes) -> Response {
    let doc: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return errors_response(vec![PathError::new("", format!("invalid JSON: {e}"))]),
    };
    let (items, single) = match doc {
        Value::Array(items) => (items, false),
        obj @ Value::Object(_) => (vec![obj], true),
        _ => {
            return errors_response(vec![PathError::new(
                "",
                "expected a fault rule (a JSON object) or a list of them",
            )])
        }
    };
    let located = |index: usize, e: PathError| -> PathError {
        if single {
            e
        } else {
            e.prefixed(&format!("[{index}]"))
        }
    };
    let mut raws = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match parse_rule(item) {
            Ok(raw) => raws.push(raw),
            Err(e) => errors.push(located(index, e)),
        }
    }
    if !errors.is_empty() {
        return errors_response(errors);
    }
    name_unnamed(&state, &mut raws);
    let plan = match FaultPlan::compile(&raws) {
        Ok(plan) => plan,
        Err(errors) => return errors_response(relative(errors, single)),
    };
    let ids: Vec<String> = plan.rules.iter().map(|r| r.id.clone()).collect();
    let now = state.clock.elapsed();
    if let Err(errors) = state.fault_engine.install(plan.rules, now) {
        return errors_response(relative(errors, single));
    }
    schedule::tick(&state, now);
    (
        StatusCode::CREATED,
        Json(json!({ "installed": ids, "rules": state.fault_engine.status(now) })),
    )
        .into_response()
}

/// `[0].probability` → `probability` when a single rule was posted.
fn relative(errors: Vec<PathError>, single: bool) -> Vec<PathError> {
    if !single {
        return errors;
    }
    errors
        .into_iter()
        .map(|mut e| {
            if let Some(rest) = e.path.strip_prefix("[0]") {
                e.path = rest.trim_start_matches('.').to_string();
            }
            e
        })
        .collect()
}

/// One rule from JSON. serde stops at the first problem without saying where; when it fails, each
/// key is tried alone (with `kind`) to name the key at fault.
fn parse_rule(item: &Value) -> Result<RawFault, PathError> {
    let err = match serde_json::from_value::<RawFault>(item.clone()) {
        Ok(raw) => return Ok(raw),
        Err(e) => e.to_string(),
    };
    let Some(obj) = item.as_object() else {
        return Err(PathError::new("", "a fault rule must be a JSON object"));
    };
    if let Some(unknown) = err
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        return Err(PathError::new(unknown, format!("unknown key `{unknown}`")));
    }
    let Some(kind) = obj.get("kind") else {
        return Err(PathError::new(
            "kind",
            "missing: every fault rule needs `kind`",
        ));
    };
    for (key, value) in obj {
        let mut alone = serde_json::Map::new();
        alone.insert("kind".into(), kind.clone());
        alone.insert(key.clone(), value.clone());
        if let Err(e) = serde_json::from_value::<RawFault>(Value::Object(alone)) {
            return Err(PathError::new(join_path("", key), e.to_string()));
        }
    }
    Err(PathError::new("", err))
}

/// Give rules without an id `{kind}-{n}`, avoiding ids installed or posted.
fn name_unnamed(state: &SimState, raws: &mut [RawFault]) {
    let mut taken: Vec<String> = state
        .fault_engine
        .snapshot()
        .all
        .iter()
        .map(|r| r.rule.id.clone())
        .collect();
    taken.extend(raws.iter().filter_map(|r| r.id.clone()));
    for raw in raws.iter_mut().filter(|r| r.id.is_none()) {
        let id = (0..)
            .map(|n| format!("{}-{n}", raw.kind))
            .find(|id| !taken.contains(id))
            .unwrap_or_default();
        taken.push(id.clone());
        raw.id = Some(id);
    }
}

async fn remove(State(state): State<SimState>, Path(id): Path<String>) -> Response {
    if state.fault_engine.remove(&id) {
        schedule::tick(&state, state.clock.elapsed());
        Json(json!({ "removed": [id] })).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "errors": [PathError::new("id", format!("no fault with id \"{id}\" is installed"))] })),
        )
            .into_response()
    }
}

async fn clear(State(state): State<SimState>) -> Json<Value> {
    let n = state.fault_engine.clear();
    schedule::tick(&state, state.clock.elapsed());
    Json(json!({ "removed": n }))
}
