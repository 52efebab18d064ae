//! Logging in: the OAuth token endpoint (password, client-credentials and refresh-token grants) and the
//! SOAP partner `login()` (salesforce-api.md §1).
//!
//! Re-login is deliberately explicit: [`SfClient::reauthenticate`] exists, and
//! `SfError::retryability()` says when it is needed, but no call re-logs-in on its own. Whether a 401
//! is worth another login (and another API call) is the caller's policy.

use std::fmt;

use reqwest::Method;
use serde::Deserialize;

use super::client::{Body, Call, Reply, SfClient};
use super::config::LoginMethod;
use super::error::{api_error, SfError};

/// An authenticated session.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The bearer token (`access_token` / SOAP `sessionId`).
    pub access_token: String,
    /// REST base URL, `scheme://host[:port]`, no trailing slash.
    pub instance_url: String,
    /// OAuth refresh token, when the grant returned one.
    pub refresh_token: Option<String>,
    /// OAuth identity URL (`…/id/<orgId>/<userId>`).
    pub id_url: Option<String>,
    /// Organization id.
    pub org_id: Option<String>,
    /// User id.
    pub user_id: Option<String>,
    /// OAuth `issued_at` (epoch ms, as the string Salesforce sends).
    pub issued_at: Option<String>,
    /// How the session was obtained (what `reauthenticate` repeats).
    pub method: LoginMethod,
}

impl Session {
    /// A session from a token obtained elsewhere.
    pub fn new(access_token: impl Into<String>, instance_url: impl Into<String>) -> Self {
        Self {
            access_token: access_token.into(),
            instance_url: super::config::trim_slash(instance_url.into()),
            refresh_token: None,
            id_url: None,
            org_id: None,
            user_id: None,
            issued_at: None,
            method: LoginMethod::Provided,
        }
    }
}

/// Tokens stay out of logs.
impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("access_token", &"<redacted>")
            .field("instance_url", &self.instance_url)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("org_id", &self.org_id)
            .field("user_id", &self.user_id)
            .field("method", &self.method)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    instance_url: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    issued_at: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

impl SfClient {
    /// Log in with the configured [`LoginMethod`] and install the session.
    pub async fn login(&self) -> Result<Session, SfError> {
        match self.config().login_method {
            LoginMethod::OAuthPassword => self.login_password().await,
            LoginMethod::ClientCredentials => self.login_client_credentials().await,
            LoginMethod::SoapPartner => self.login_soap().await,
            LoginMethod::RefreshToken => match self.session().and_then(|s| s.refresh_token) {
                Some(token) => self.login_refresh_token(&token).await,
                None => Err(SfError::InvalidRequest(
                    "refresh-token login needs a session holding a refresh token".to_string(),
                )),
            },
            LoginMethod::Provided => Err(SfError::InvalidRequest(
                "the session was provided; this client has no way to log in".to_string(),
            )),
        }
    }

    /// Log in again after `INVALID_SESSION_ID`: the refresh-token grant when the session holds a refresh
    /// token, otherwise the way the current session was obtained (or the configured method).
    pub async fn reauthenticate(&self) -> Result<Session, SfError> {
        let current = self.session();
        if let Some(token) = current.as_ref().and_then(|s| s.refresh_token.clone()) {
            return self.login_refresh_token(&token).await;
        }
        match current.map(|s| s.method) {
            Some(LoginMethod::OAuthPassword) => self.login_password().await,
            Some(LoginMethod::ClientCredentials) => self.login_client_credentials().await,
            Some(LoginMethod::SoapPartner) => self.login_soap().await,
            _ => self.login().await,
        }
    }

    /// OAuth username-password grant.
    pub async fn login_password(&self) -> Result<Session, SfError> {
        let c = self.config();
        let form = [
            ("grant_type", "password"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("username", c.username.as_str()),
            ("password", c.password.as_str()),
        ];
        self.token_request(&form, LoginMethod::OAuthPassword, None)
            .await
    }

    /// OAuth client-credentials grant (id and secret as body parameters).
    pub async fn login_client_credentials(&self) -> Result<Session, SfError> {
        let c = self.config();
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
        ];
        self.token_request(&form, LoginMethod::ClientCredentials, None)
            .await
    }

    /// OAuth refresh-token grant. The reply carries no new refresh token, so the old one is kept.
    pub async fn login_refresh_token(&self, refresh_token: &str) -> Result<Session, SfError> {
        let c = self.config();
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", c.client_id.as_str()),
        ];
        if !c.client_secret.is_empty() {
            form.push(("client_secret", c.client_secret.as_str()));
        }
        let method = self
            .session()
            .map_or(LoginMethod::RefreshToken, |s| s.method);
        self.token_request(&form, method, Some(refresh_token)).await
    }

    async fn token_request(
        &self,
        form: &[(&str, &str)],
        method: LoginMethod,
        keep_refresh: Option<&str>,
    ) -> Result<Session, SfError> {
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| SfError::InvalidRequest(format!("cannot encode login form: {e}")))?;
        let call = Call::new(Method::POST, "/services/oauth2/token")
            .unauthenticated()
            .any_status()
            .body(Body::Form(body));
        let reply = self.send(call).await?;
        let mut session = parse_token_response(&reply, method)?;
        if session.refresh_token.is_none() {
            session.refresh_token = keep_refresh.map(str::to_string);
        }
        self.set_session(session.clone());
        Ok(session)
    }

    /// SOAP partner `login()`: `POST /services/Soap/u/{version}`.
    pub async fn login_soap(&self) -> Result<Session, SfError> {
        let c = self.config();
        let envelope = soap_login_envelope(
            &c.username,
            &c.password,
            c.client_name.as_deref().unwrap_or("sfchaos"),
        );
        let call = Call::new(Method::POST, format!("/services/Soap/u/{}", c.api_version))
            .unauthenticated()
            .any_status()
            .accept("text/xml")
            .header("SOAPAction", "login")
            .body(Body::Xml(envelope));
        let reply = self.send(call).await?;
        let session = parse_soap_login(reply.status, &reply.text())?;
        self.set_session(session.clone());
        Ok(session)
    }
}

fn parse_token_response(reply: &Reply, method: LoginMethod) -> Result<Session, SfError> {
    if !(200..300).contains(&reply.status) {
        if let Ok(err) = serde_json::from_slice::<OAuthError>(&reply.body) {
            return Err(SfError::Auth {
                status: reply.status,
                code: err.error,
                message: err.error_description,
            });
        }
        // Not an OAuth error: an outage page or a Salesforce error array.
        return Err(api_error(reply.status, &reply.body));
    }
    let token: TokenResponse = reply.json("OAuth token response")?;
    let instance_url = token
        .instance_url
        .map(super::config::trim_slash)
        .ok_or_else(|| SfError::decode("OAuth token response", "no instance_url"))?;
    let (org_id, user_id) = token.id.as_deref().map(split_identity).unwrap_or_default();
    Ok(Session {
        access_token: token.access_token,
        instance_url,
        refresh_token: token.refresh_token,
        id_url: token.id,
        org_id,
        user_id,
        issued_at: token.issued_at,
        method,
    })
}

/// `…/id/<orgId>/<userId>` → (org, user).
fn split_identity(id: &str) -> (Option<String>, Option<String>) {
    let mut parts = id.trim_end_matches('/').rsplit('/');
    let user = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    let org = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    (org, user)
}

pub(crate) fn soap_login_envelope(username: &str, password: &str, client: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">"#,
            r#"<env:Header><urn:CallOptions><urn:client>{}</urn:client></urn:CallOptions></env:Header>"#,
            r#"<env:Body><urn:login><urn:username>{}</urn:username><urn:password>{}</urn:password></urn:login></env:Body>"#,
            r#"</env:Envelope>"#
        ),
        xml_escape(client),
        xml_escape(username),
        xml_escape(password)
    )
}

/// Parse a SOAP `loginResponse` or login fault.
pub(crate) fn parse_soap_login(status: u16, body: &str) -> Result<Session, SfError> {
    if let Some(faultstring) = xml_text(body, "faultstring") {
        let code = xml_text(body, "exceptionCode")
            .or_else(|| {
                xml_text(body, "faultcode")
                    .map(|c| c.rsplit(':').next().unwrap_or_default().to_string())
            })
            .unwrap_or_else(|| "UNKNOWN_FAULT".to_string());
        let message = xml_text(body, "exceptionMessage").unwrap_or(faultstring);
        return Err(SfError::Auth {
            status,
            code,
            message,
        });
    }
    if !(200..300).contains(&status) {
        return Err(api_error(status, body.as_bytes()));
    }
    if xml_text(body, "passwordExpired").as_deref() == Some("true") {
        return Err(SfError::Auth {
            status,
            code: "PASSWORD_EXPIRED".to_string(),
            message: "the password has expired".to_string(),
        });
    }
    let session_id = xml_text(body, "sessionId")
        .ok_or_else(|| SfError::decode("SOAP login", "no <sessionId>"))?;
    let server_url = xml_text(body, "serverUrl")
        .ok_or_else(|| SfError::decode("SOAP login", "no <serverUrl>"))?;
    let parsed =
        reqwest::Url::parse(&server_url).map_err(|e| SfError::decode("SOAP serverUrl", e))?;
    Ok(Session {
        access_token: session_id,
        instance_url: parsed.origin().ascii_serialization(),
        refresh_token: None,
        id_url: None,
        org_id: xml_text(body, "organizationId"),
        user_id: xml_text(body, "userId"),
        issued_at: None,
        method: LoginMethod::SoapPartner,
    })
}

/// The text of the first element whose local name is `name`, ignoring any namespace prefix.
/// Enough XML for a login reply: no CDATA, entities limited to the five predefined ones.
pub(crate) fn xml_text(doc: &str, name: &str) -> Option<String> {
    let mut rest = doc;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        let end = rest
            .find(['>', ' ', '\t', '\n', '\r', '/'])
            .unwrap_or(rest.len());
        let tag = &rest[..end];
        let local = tag.rsplit(':').next().unwrap_or(tag);
        if local == name && !tag.starts_with(['/', '?', '!']) {
            let gt = rest.find('>')?;
            if rest[..gt].ends_with('/') {
                return Some(String::new());
            }
            let content = &rest[gt + 1..];
            let stop = content.find('<').unwrap_or(content.len());
            return Some(xml_unescape(content[..stop].trim()));
        }
    }
    None
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_ignores_prefixes_and_closing_tags() {
        let doc = "<a:root><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><x/><y>1 &amp; 2</y></a:root>";
        assert_eq!(
            xml_text(doc, "exceptionCode").as_deref(),
            Some("INVALID_LOGIN")
        );
        assert_eq!(xml_text(doc, "x").as_deref(), Some(""));
        assert_eq!(xml_text(doc, "y").as_deref(), Some("1 & 2"));
        assert_eq!(xml_text(doc, "missing"), None);
    }

    #[test]
    fn identity_url_splits_into_org_and_user() {
        let (org, user) =
            split_identity("https://login.salesforce.com/id/00D5e000000abcdEAA/0055e000001xyzAAA");
        assert_eq!(org.as_deref(), Some("00D5e000000abcdEAA"));
        assert_eq!(user.as_deref(), Some("0055e000001xyzAAA"));
    }

    #[test]
    fn envelope_escapes_credentials() {
        let env = soap_login_envelope("a&b@x.com", "p<w>", "c");
        assert!(env.contains("a&amp;b@x.com"));
        assert!(env.contains("p&lt;w&gt;"));
    }
}
