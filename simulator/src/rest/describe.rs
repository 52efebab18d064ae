//! Metadata: versions, resources, describeGlobal, sObject basic info and full describe.

use super::ctx::{Ctx, MAX_VERSION, MIN_VERSION};
use super::sobjects::{empty_response, json_response, object};
use crate::error::{ApiError, ApiResult};
use crate::journal::JournalNote;
use crate::org::schema::ObjectDef;
use crate::org::store::OrgData;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value as Json};

/// Release name of an API version: 59.0 → "Winter '24".
pub fn release_label(major: u32) -> String {
    let k = major.saturating_sub(31);
    let season = ["Summer", "Winter", "Spring"][(k % 3) as usize];
    // Summer '14 is 31.0; Winter starts each new year.
    let year = 14 + k.div_ceil(3);
    format!("{season} '{year:02}")
}

/// `GET /services/data/` — unauthenticated, unmetered.
pub async fn versions() -> Response {
    let list: Vec<Json> = (MIN_VERSION..=MAX_VERSION)
        .map(|v| {
            json!({"label": release_label(v), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0")})
        })
        .collect();
    json_response(
        StatusCode::OK,
        &Json::Array(list),
        JournalNote {
            route: "versions",
            ..Default::default()
        },
    )
}

/// `GET /services/data/vXX.X/`
pub async fn resources(ctx: Ctx) -> Response {
    let p = ctx.data_path();
    let mut m = serde_json::Map::new();
    for r in [
        "tooling",
        "metadata",
        "eclair",
        "folders",
        "prechatForms",
        "jsonxform",
        "chatter",
        "tabs",
        "appMenu",
        "quickActions",
        "queryAll",
        "commerce",
        "wave",
        "iot",
        "analytics",
        "search",
        "identity",
        "composite",
        "parameterizedSearch",
        "fingerprint",
        "theme",
        "nouns",
        "domino",
        "event",
        "serviceTemplates",
        "recent",
        "connect",
        "licensing",
        "limits",
        "process",
        "async-queries",
        "query",
        "match",
        "emailConnect",
        "compactLayouts",
        "knowledgeManagement",
        "sobjects",
        "actions",
        "support",
        "jobs",
    ] {
        m.insert(r.to_string(), Json::String(format!("{p}/{r}")));
    }
    let data = ctx.org.data.read();
    m.insert(
        "identity".into(),
        Json::String(format!(
            "{}/id/{}/{}",
            ctx.base_url,
            ctx.org.id,
            data.user_id(ctx.session.user)
        )),
    );
    json_response(
        StatusCode::OK,
        &Json::Object(m),
        JournalNote {
            route: "resources",
            ..Default::default()
        },
    )
}

fn object_urls(o: &ObjectDef, data_path: &str) -> Json {
    let base = format!("{data_path}/sobjects/{}", o.name);
    json!({
        "compactLayouts": format!("{base}/describe/compactLayouts"),
        "rowTemplate": format!("{base}/{{ID}}"),
        "approvalLayouts": format!("{base}/describe/approvalLayouts"),
        "defaultValues": format!("{base}/defaultValues?recordTypeId&fields"),
        "listviews": format!("{base}/listviews"),
        "describe": format!("{base}/describe"),
        "quickActions": format!("{base}/quickActions"),
        "layouts": format!("{base}/describe/layouts"),
        "sobject": base,
    })
}

/// The describeGlobal entry / objectDescribe of an object.
fn object_summary(o: &ObjectDef, data_path: &str) -> Json {
    let event = o.is_platform_event();
    json!({
        "activateable": false,
        "associateEntityType": null,
        "associateParentEntity": null,
        "createable": o.createable,
        "custom": o.custom(),
        "customSetting": false,
        "deepCloneable": false,
        "deletable": o.deletable,
        "deprecatedAndHidden": false,
        "feedEnabled": !event,
        "hasSubtypes": false,
        "isInterface": false,
        "isSubtype": false,
        "keyPrefix": o.key_prefix,
        "label": o.label,
        "labelPlural": o.label_plural,
        "layoutable": !event,
        "mergeable": matches!(o.name.as_str(), "Account" | "Contact" | "Lead" | "Case"),
        "mruEnabled": !event,
        "name": o.name,
        "queryable": o.queryable,
        "replicateable": !event,
        "retrieveable": !event,
        "searchable": !event,
        "triggerable": true,
        "undeletable": !event,
        "updateable": o.updateable,
        "urls": object_urls(o, data_path),
    })
}

/// 304 when the schema is unchanged since `If-Modified-Since`.
fn not_modified_since(headers: &HeaderMap, modified_ms: i64) -> ApiResult<bool> {
    let Some(v) = headers
        .get("if-modified-since")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(false);
    };
    let t = httpdate::parse_http_date(v)
        .map_err(|_| ApiError::BadRequest(format!("Invalid If-Modified-Since header: {v}")))?;
    let since = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Ok(modified_ms / 1000 <= since / 1000)
}

fn unmodified_precondition(headers: &HeaderMap, modified_ms: i64) -> ApiResult<()> {
    let Some(v) = headers
        .get("if-unmodified-since")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let t = httpdate::parse_http_date(v)
        .map_err(|_| ApiError::BadRequest(format!("Invalid If-Unmodified-Since header: {v}")))?;
    let since = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    if modified_ms / 1000 > since / 1000 {
        return Err(ApiError::PreconditionFailed(
            "The describe has changed since the time in If-Unmodified-Since.".into(),
        ));
    }
    Ok(())
}

fn note(route: &'static str, object: Option<String>) -> JournalNote {
    JournalNote {
        route,
        object,
        ..Default::default()
    }
}

/// `GET /sobjects` — describeGlobal.
pub async fn describe_global(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    let data = ctx.org.data.read();
    if not_modified_since(&headers, data.schema.last_modified_ms)? {
        return Ok(empty_response(
            StatusCode::NOT_MODIFIED,
            note("describe.global", None),
        ));
    }
    unmodified_precondition(&headers, data.schema.last_modified_ms)?;
    let objs: Vec<Json> = data
        .schema
        .objects
        .iter()
        .filter(|o| o.active)
        .map(|o| object_summary(o, &ctx.data_path()))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objs}),
        note("describe.global", None),
    ))
}

/// `GET /sobjects/{T}` — basic info with recent items.
pub async fn basic_info(ctx: Ctx, Path((_, t)): Path<(String, String)>) -> ApiResult<Response> {
    let data = ctx.org.data.read();
    let obj = object(&data, &t)?;
    let o = &data.schema.objects[obj];
    let recent: Vec<Json> = data.tables[obj]
        .rows
        .values()
        .rev()
        .filter(|r| !r.deleted)
        .take(5)
        .map(|r| {
            let mut m = serde_json::Map::new();
            m.insert(
                "attributes".into(),
                super::render::attributes(&data, obj, r, &ctx.data_path()),
            );
            m.insert("Id".into(), Json::String(data.id_of(obj, r.num).to18()));
            if let Some(fi) = o.name_field().and_then(|f| o.field_index(&f.name)) {
                m.insert(o.fields[fi].name.clone(), data.value(obj, r, fi).to_json());
            }
            Json::Object(m)
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({"objectDescribe": object_summary(o, &ctx.data_path()), "recentItems": recent}),
        note("describe.basic", Some(o.name.clone())),
    ))
}

/// The full describe of one object.
pub fn describe_json(data: &OrgData, obj: usize, data_path: &str) -> Json {
    let o = &data.schema.objects[obj];
    let mut d = object_summary(o, data_path);
    let fields: Vec<Json> = o.active_fields().map(|(_, f)| f.describe()).collect();
    let children: Vec<Json> = data
        .schema
        .children_of(obj)
        .iter()
        .map(|c| {
            json!({"cascadeDelete": c.cascade_delete, "childSObject": c.child_object, "deprecatedAndHidden": false,
                   "field": c.field, "junctionIdListNames": [], "junctionReferenceTo": [],
                   "relationshipName": c.name, "restrictedDelete": false})
        })
        .collect();
    if let Json::Object(m) = &mut d {
        m.insert("fields".into(), Json::Array(fields));
        m.insert("childRelationships".into(), Json::Array(children));
        m.insert(
            "recordTypeInfos".into(),
            json!([{"active": true, "available": true, "defaultRecordTypeMapping": true, "developerName": "Master",
                    "master": true, "name": "Master", "recordTypeId": "012000000000000AAA",
                    "urls": {"layout": format!("{data_path}/sobjects/{}/describe/layouts/012000000000000AAA", o.name)}}]),
        );
        m.insert(
            "supportedScopes".into(),
            json!([{"label": "All", "name": "everything"}]),
        );
        m.insert("namedLayoutInfos".into(), json!([]));
        m.insert("actionOverrides".into(), json!([]));
        m.insert("networkScopeFieldName".into(), Json::Null);
        m.insert("listviewable".into(), Json::Null);
        m.insert("lookupLayoutable".into(), Json::Null);
        m.insert("searchLayoutable".into(), json!(!o.is_platform_event()));
        m.insert("sobjectDescribeOption".into(), json!("FULL"));
    }
    d
}

/// `GET /sobjects/{T}/describe`
pub async fn describe(
    ctx: Ctx,
    Path((_, t)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let data = ctx.org.data.read();
    let obj = object(&data, &t)?;
    let o = &data.schema.objects[obj];
    let modified = o.last_modified_ms.max(data.schema.last_modified_ms);
    let n = note("describe.object", Some(o.name.clone()));
    if not_modified_since(&headers, modified)? {
        return Ok(empty_response(StatusCode::NOT_MODIFIED, n));
    }
    unmodified_precondition(&headers, modified)?;
    let mut resp = json_response(
        StatusCode::OK,
        &describe_json(&data, obj, &ctx.data_path()),
        n,
    );
    let lm = httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(modified.max(0) as u64),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&lm) {
        resp.headers_mut()
            .insert(axum::http::header::LAST_MODIFIED, v);
    }
    Ok(resp)
}

/// `GET /limits`
pub async fn limits(ctx: Ctx) -> Response {
    let (used, max) = ctx.org.allocation.usage(ctx.state.clock.elapsed());
    let app = ctx.session.app_label();
    let mut daily = serde_json::Map::new();
    daily.insert("Max".into(), json!(max));
    daily.insert("Remaining".into(), json!(max.saturating_sub(used)));
    daily.insert(app, json!({"Max": 0, "Remaining": 0}));
    let lim = |max: u64, remaining: u64| json!({"Max": max, "Remaining": remaining});
    let (delivered, delivery_max) = ctx
        .state
        .streaming
        .delivery_usage(&ctx.org, ctx.state.clock.elapsed());
    let body = json!({
        "ActiveScratchOrgs": lim(3, 3),
        "AnalyticsExternalDataSizeMB": lim(40960, 40960),
        "ConcurrentAsyncGetReportInstances": lim(200, 200),
        "ConcurrentEinsteinDataInsightsStoryCreation": lim(5, 5),
        "ConcurrentSyncReportRuns": lim(20, 20),
        "DailyAnalyticsDataflowJobExecutions": lim(60, 60),
        "DailyApiRequests": Json::Object(daily),
        "DailyAsyncApexExecutions": lim(250000, 250000),
        "DailyBulkApiBatches": lim(15000, 15000),
        "DailyBulkV2QueryFileStorageMB": lim(976562, 976562),
        "DailyBulkV2QueryJobs": lim(10000, 10000),
        "DailyDeliveredPlatformEvents": lim(delivery_max, delivery_max.saturating_sub(delivered)),
        "DailyDurableGenericStreamingApiEvents": lim(10000, 10000),
        "DailyDurableStreamingApiEvents": lim(200000, 200000),
        "DailyGenericStreamingApiEvents": lim(10000, 10000),
        "DailyStandardVolumePlatformEvents": lim(25000, 25000),
        "DailyStreamingApiEvents": lim(200000, 200000),
        "DailyWorkflowEmails": lim(1815, 1815),
        "DataStorageMB": lim(1024, 1024),
        "DurableStreamingApiConcurrentClients": lim(1000, 1000),
        "FileStorageMB": lim(20480, 20480),
        "HourlyAsyncReportRuns": lim(1200, 1200),
        "HourlyDashboardRefreshes": lim(200, 200),
        "HourlyDashboardResults": lim(5000, 5000),
        "HourlyDashboardStatuses": lim(999999999, 999999999),
        "HourlyODataCallout": lim(20000, 20000),
        "HourlyPublishedPlatformEvents": lim(250000, 250000),
        "HourlyPublishedStandardVolumePlatformEvents": lim(50000, 50000),
        "HourlySyncReportRuns": lim(500, 500),
        "HourlyTimeBasedWorkflow": lim(1000, 1000),
        "MassEmail": lim(5000, 5000),
        "MonthlyPlatformEventsUsageEntitlement": lim(0, 0),
        "Package2VersionCreates": lim(6, 6),
        "PermissionSets": lim(1500, 1500),
        "PrivateConnectOutboundCalloutHourlyLimitMB": lim(0, 0),
        "SingleEmail": lim(5000, 5000),
        "StreamingApiConcurrentClients": lim(1000, 1000),
    });
    json_response(
        StatusCode::OK,
        &body,
        JournalNote {
            route: "limits",
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_labels_match_salesforce() {
        assert_eq!(release_label(59), "Winter '24");
        assert_eq!(release_label(62), "Winter '25");
        assert_eq!(release_label(31), "Summer '14");
        assert_eq!(release_label(60), "Spring '24");
    }
}
