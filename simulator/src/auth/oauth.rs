//! OAuth 2.0: `POST /services/oauth2/token` (password, client_credentials, refresh_token, JWT bearer),
//! `POST /services/oauth2/revoke`, `GET /services/oauth2/userinfo` and the identity URL `GET /id/{org}/{user}`
//! (salesforce-api.md §1.1).
//!
//! Errors are `{"error","error_description"}` with status 400, as Salesforce answers them. JWT bearer
//! assertions are checked for their claims (issuer = a known consumer key, subject = an existing user,
//! audience = a login URL, not expired); the signature is not verified because the simulator holds no
//! certificate for the connected app.

use super::session::{RefreshGrant, Session, SessionKind};
use crate::org::Org;
use crate::recording::{bearer, Identity, RequestMeta};
use crate::rest::ctx::base_url;
use crate::state::{ConnectedApp, SimState};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::sync::Arc;

fn json_resp(status: StatusCode, body: Json) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::error::JSON_CONTENT_TYPE),
    );
    r
}

/// An OAuth error body.
pub fn oauth_error(error: &str, description: &str) -> Response {
    let mut r = json_resp(
        StatusCode::BAD_REQUEST,
        json!({"error": error, "error_description": description}),
    );
    r.extensions_mut()
        .insert(crate::error::ErrorCodeTag(error.to_string()));
    r
}

fn form(
    headers: &HeaderMap,
    body: &[u8],
    query: &HashMap<String, String>,
) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = query.clone();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        if let Ok(Json::Object(o)) = serde_json::from_slice::<Json>(body) {
            for (k, v) in o {
                if let Some(s) = v.as_str() {
                    m.insert(k, s.to_string());
                }
            }
        }
    } else {
        for (k, v) in form_urlencoded::parse(body) {
            m.insert(k.into_owned(), v.into_owned());
        }
    }
    m
}

/// `Authorization: Basic base64(id:secret)`
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let enc = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let dec = base64::engine::general_purpose::STANDARD
        .decode(enc.trim())
        .ok()?;
    let s = String::from_utf8(dec).ok()?;
    let (id, secret) = s.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

fn signature(secret: &str, id: &str, issued_at: &str) -> String {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn token_response(
    state: &SimState,
    org: &Arc<Org>,
    session: &Arc<Session>,
    app: &ConnectedApp,
    base: &str,
    refresh: Option<String>,
) -> Response {
    let user_id = org.data.read().user_id(session.user);
    let id = format!("{base}/id/{}/{user_id}", org.id);
    let issued_at = session.issued_ms.to_string();
    let mut body = json!({
        "access_token": session.token,
        "signature": signature(&app.client_secret, &id, &issued_at),
        "scope": if refresh.is_some() { "api refresh_token" } else { "api" },
        "instance_url": base,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "api_instance_url": base,
    });
    if let Some(r) = refresh {
        body["refresh_token"] = Json::String(r);
    }
    let _ = state;
    let mut resp = json_resp(StatusCode::OK, body);
    resp.extensions_mut().insert(Identity {
        user: session.username.clone(),
        app: Some(app.client_id.clone()),
        org: Some(org.id.clone()),
    });
    resp
}

fn new_session(
    state: &SimState,
    org: &Arc<Org>,
    user: u64,
    username: &str,
    app: &str,
) -> Arc<Session> {
    state.sessions.create(
        org.num,
        &org.id,
        user,
        username,
        Some(app.to_string()),
        SessionKind::OAuth,
        state.clock.elapsed(),
        state.clock.now_ms(),
    )
}

/// `POST /services/oauth2/token`
pub async fn token(
    State(state): State<SimState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    meta: Option<axum::Extension<RequestMeta>>,
    body: Bytes,
) -> Response {
    let p = form(&headers, &body, &query);
    let base = base_url(&headers, meta.as_ref().map(|m| &m.0));
    let grant = p.get("grant_type").map(String::as_str).unwrap_or("");
    match grant {
        "password" => password_grant(&state, &p, &headers, &base),
        "client_credentials" => client_credentials(&state, &p, &headers, &base),
        "refresh_token" => refresh_grant(&state, &p, &headers, &base),
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => jwt_grant(&state, &p, &base),
        "" => oauth_error("invalid_request", "grant type not supported"),
        _ => oauth_error("unsupported_grant_type", "grant type not supported"),
    }
}

/// Check client id and (when given or required) secret, from the body or HTTP Basic.
fn client(
    state: &SimState,
    p: &HashMap<String, String>,
    headers: &HeaderMap,
    secret_required: bool,
) -> Result<ConnectedApp, Box<Response>> {
    let basic = basic_auth(headers);
    let id = p
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let secret = p
        .get("client_secret")
        .cloned()
        .or_else(|| basic.as_ref().map(|b| b.1.clone()));
    let Some(app) = id.as_deref().and_then(|id| state.app(id)) else {
        return Err(Box::new(oauth_error(
            "invalid_client_id",
            "client identifier invalid",
        )));
    };
    match secret {
        Some(s) if s != app.client_secret => Err(Box::new(oauth_error(
            "invalid_client",
            "invalid client credentials",
        ))),
        None if secret_required => Err(Box::new(oauth_error(
            "invalid_client",
            "invalid client credentials",
        ))),
        _ => Ok(app),
    }
}

fn password_grant(
    state: &SimState,
    p: &HashMap<String, String>,
    headers: &HeaderMap,
    base: &str,
) -> Response {
    let app = match client(state, p, headers, true) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let (Some(username), Some(password)) = (p.get("username"), p.get("password")) else {
        return oauth_error("invalid_grant", "authentication failure");
    };
    let Some((org, user)) = state.find_user(username) else {
        return oauth_error("invalid_grant", "authentication failure");
    };
    if org.check_password(username, password).is_none() {
        return oauth_error("invalid_grant", "authentication failure");
    }
    let s = new_session(state, &org, user.num, &user.username, &app.client_id);
    // Salesforce gives the password flow no refresh token; asking for the `refresh_token` scope is an
    // extension so clients can exercise the refresh flow against the simulator.
    let refresh = p
        .get("scope")
        .is_some_and(|s| s.split_whitespace().any(|x| x == "refresh_token"))
        .then(|| {
            state.sessions.create_refresh(RefreshGrant {
                org: org.num,
                user: user.num,
                username: user.username.clone(),
                app: app.client_id.clone(),
            })
        });
    token_response(state, &org, &s, &app, base, refresh)
}

fn client_credentials(
    state: &SimState,
    p: &HashMap<String, String>,
    headers: &HeaderMap,
    base: &str,
) -> Response {
    let app = match client(state, p, headers, true) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let Some((org, user)) = state.find_user(&app.run_as) else {
        return oauth_error("invalid_grant", "no client credentials user enabled");
    };
    let s = new_session(state, &org, user.num, &user.username, &app.client_id);
    token_response(state, &org, &s, &app, base, None)
}

fn refresh_grant(
    state: &SimState,
    p: &HashMap<String, String>,
    headers: &HeaderMap,
    base: &str,
) -> Response {
    let app = match client(state, p, headers, false) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let Some(grant) = p
        .get("refresh_token")
        .and_then(|t| state.sessions.refresh_grant(t))
        .filter(|g| g.app == app.client_id)
    else {
        return oauth_error("invalid_grant", "expired access/refresh token");
    };
    let Some(org) = state.org(grant.org) else {
        return oauth_error("invalid_grant", "expired access/refresh token");
    };
    let s = new_session(state, &org, grant.user, &grant.username, &app.client_id);
    token_response(state, &org, &s, &app, base, None)
}

fn jwt_grant(state: &SimState, p: &HashMap<String, String>, base: &str) -> Response {
    let Some(assertion) = p.get("assertion") else {
        return oauth_error("invalid_request", "assertion is required");
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let decode = |s: &str| -> Option<Json> {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&b).ok()
    };
    let (Some(header), Some(claims)) = (
        parts.first().and_then(|h| decode(h)),
        parts.get(1).and_then(|c| decode(c)),
    ) else {
        return oauth_error("invalid_grant", "invalid assertion");
    };
    if parts.len() != 3 || header.get("alg").and_then(Json::as_str) != Some("RS256") {
        return oauth_error("invalid_grant", "invalid assertion");
    }
    let Some(app) = claims
        .get("iss")
        .and_then(Json::as_str)
        .and_then(|iss| state.app(iss))
    else {
        return oauth_error("invalid_client_id", "client identifier invalid");
    };
    let aud_ok = claims
        .get("aud")
        .and_then(Json::as_str)
        .is_some_and(|a| a.starts_with("https://") || a.starts_with("http://"));
    if !aud_ok {
        return oauth_error("invalid_grant", "audience is invalid");
    }
    let now_s = state.clock.now_ms() / 1000;
    if claims
        .get("exp")
        .and_then(Json::as_i64)
        .is_none_or(|exp| exp < now_s)
    {
        return oauth_error("invalid_grant", "expired authorization code");
    }
    let Some((org, user)) = claims
        .get("sub")
        .and_then(Json::as_str)
        .and_then(|sub| state.find_user(sub))
    else {
        return oauth_error("invalid_grant", "user hasn't approved this consumer");
    };
    let s = new_session(state, &org, user.num, &user.username, &app.client_id);
    token_response(state, &org, &s, &app, base, None)
}

/// `POST /services/oauth2/revoke` (form `token=`; also `GET ?token=`).
pub async fn revoke(
    State(state): State<SimState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = form(&headers, &body, &query);
    match p.get("token") {
        Some(t) if state.sessions.revoke(t) => StatusCode::OK.into_response(),
        _ => oauth_error("unsupported_token_type", "this token type is not supported"),
    }
}

fn identity_json(org: &Arc<Org>, s: &Session, base: &str) -> Json {
    let user_id = org.data.read().user_id(s.user);
    let v = crate::rest::ctx::MAX_VERSION;
    let url = |p: &str| format!("{base}{p}");
    json!({
        "id": format!("{base}/id/{}/{user_id}", org.id),
        "asserted_user": true,
        "user_id": user_id,
        "organization_id": org.id,
        "username": s.username,
        "nick_name": s.username.split('@').next().unwrap_or(""),
        "display_name": org.user_field(s.user, "Name").unwrap_or_default(),
        "email": org.user_field(s.user, "Email").unwrap_or_default(),
        "email_verified": true,
        "first_name": org.user_field(s.user, "FirstName"),
        "last_name": org.user_field(s.user, "LastName"),
        "timezone": "GMT",
        "photos": {"picture": url("/img/userprofile/default_profile_200_v2.png"), "thumbnail": url("/img/userprofile/default_profile_45_v2.png")},
        "addr_street": null, "addr_city": null, "addr_state": null, "addr_country": null, "addr_zip": null,
        "mobile_phone": null, "mobile_phone_verified": false, "is_lightning_login_user": false,
        "status": {"created_date": null, "body": null},
        "urls": {
            "enterprise": url(&format!("/services/Soap/c/{{version}}/{}", org.id)),
            "metadata": url(&format!("/services/Soap/m/{{version}}/{}", org.id)),
            "partner": url(&format!("/services/Soap/u/{{version}}/{}", org.id)),
            "rest": url("/services/data/v{version}/"),
            "sobjects": url("/services/data/v{version}/sobjects/"),
            "search": url("/services/data/v{version}/search/"),
            "query": url("/services/data/v{version}/query/"),
            "recent": url("/services/data/v{version}/recent/"),
            "tooling_soap": url(&format!("/services/Soap/T/{{version}}/{}", org.id)),
            "tooling_rest": url("/services/data/v{version}/tooling/"),
            "profile": url(&format!("/{user_id}")),
            "feeds": url("/services/data/v{version}/chatter/feeds"),
            "groups": url("/services/data/v{version}/chatter/groups"),
            "users": url("/services/data/v{version}/chatter/users"),
            "feed_items": url("/services/data/v{version}/chatter/feed-items"),
            "feed_elements": url("/services/data/v{version}/chatter/feed-elements"),
            "custom_domain": base,
        },
        "active": true,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": crate::org::value::format_datetime(s.issued_ms),
        "is_app_installed": s.app.is_some(),
        "api_version_max": format!("{v}.0"),
    })
}

fn session_of(state: &SimState, headers: &HeaderMap) -> Option<(Arc<Session>, Arc<Org>)> {
    bearer(headers).and_then(|t| state.session(t))
}

fn bad_token() -> Response {
    let mut r = (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    r.extensions_mut()
        .insert(crate::error::ErrorCodeTag("Bad_OAuth_Token".into()));
    r
}

/// `GET /id/{orgId}/{userId}`
pub async fn identity(
    State(state): State<SimState>,
    Path((org_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    meta: Option<axum::Extension<RequestMeta>>,
) -> Response {
    let Some((s, org)) = session_of(&state, &headers) else {
        return bad_token();
    };
    let own = org.data.read().user_id(s.user);
    if !org_id.eq_ignore_ascii_case(&org.id) && !org.id.starts_with(&org_id) {
        return bad_token();
    }
    if !user_id.eq_ignore_ascii_case(&own) && !own.starts_with(&user_id) {
        return bad_token();
    }
    let base = base_url(&headers, meta.as_ref().map(|m| &m.0));
    json_resp(StatusCode::OK, identity_json(&org, &s, &base))
}

/// `GET /services/oauth2/userinfo`
pub async fn userinfo(
    State(state): State<SimState>,
    headers: HeaderMap,
    meta: Option<axum::Extension<RequestMeta>>,
) -> Response {
    let Some((s, org)) = session_of(&state, &headers) else {
        return bad_token();
    };
    let base = base_url(&headers, meta.as_ref().map(|m| &m.0));
    let id = identity_json(&org, &s, &base);
    json_resp(
        StatusCode::OK,
        json!({
            "sub": id["id"], "user_id": id["user_id"], "organization_id": id["organization_id"],
            "preferred_username": id["username"], "nickname": id["nick_name"], "name": id["display_name"],
            "email": id["email"], "email_verified": true, "given_name": id["first_name"],
            "family_name": id["last_name"], "zoneinfo": "GMT", "locale": "en_US", "active": true,
            "user_type": "STANDARD", "urls": id["urls"], "utcOffset": 0,
        }),
    )
}
