//! SOAP partner login and logout, `POST /services/Soap/u/{version}` (salesforce-api.md §1.2).
//!
//! Both simple-salesforce and jsforce log in here by default. simple-salesforce reads `sessionId` and
//! `serverUrl` by unprefixed tag name and fault details by the *qualified* names `sf:exceptionCode` /
//! `sf:exceptionMessage`; jsforce regexes `<serverUrl>` and fails on `<passwordExpired>true`. The shapes
//! below keep exactly those names and prefixes.

use super::session::SessionKind;
use crate::recording::Identity;
use crate::recording::RequestMeta;
use crate::rest::ctx::base_url;
use crate::state::SimState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quick_xml::events::Event;
use quick_xml::Reader;

const XML_CONTENT_TYPE: &str = "text/xml;charset=UTF-8";

fn xml(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(XML_CONTENT_TYPE),
    );
    r
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// A SOAP fault with Salesforce's `sf:` detail elements (HTTP 500).
pub fn fault(code: &str, message: &str) -> Response {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {msg}</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{msg}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#,
        msg = escape(message)
    );
    let mut r = xml(StatusCode::INTERNAL_SERVER_ERROR, body);
    r.extensions_mut()
        .insert(crate::error::ErrorCodeTag(code.to_string()));
    r
}

fn client_fault(message: &str) -> Response {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>{}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#,
        escape(message)
    );
    let mut r = xml(StatusCode::INTERNAL_SERVER_ERROR, body);
    r.extensions_mut()
        .insert(crate::error::ErrorCodeTag("INVALID_XML".into()));
    r
}

/// What a SOAP request asks for.
#[derive(Debug, Default, PartialEq)]
pub struct SoapCall {
    pub operation: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub session_id: Option<String>,
}

/// Parse the envelope: the first element inside `Body` names the operation; `username`, `password` and
/// `SessionHeader/sessionId` are read by local name, whatever their prefixes.
pub fn parse(body: &[u8]) -> Result<SoapCall, String> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut call = SoapCall::default();
    let mut stack: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    let mut saw_envelope = false;
    // Text may arrive in pieces (entity references are separate events); collect it per element.
    let mut text = String::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if stack.is_empty() {
                    saw_envelope = name == "Envelope";
                }
                if stack.last().is_some_and(|p| p == "Body") && call.operation.is_empty() {
                    call.operation = name.clone();
                }
                stack.push(name);
                text.clear();
            }
            Ok(Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if stack.last().is_some_and(|p| p == "Body") && call.operation.is_empty() {
                    call.operation = name;
                }
            }
            Ok(Event::End(_)) => {
                let value = std::mem::take(&mut text);
                match stack.pop().as_deref() {
                    Some("username") => call.username = Some(value),
                    Some("password") => call.password = Some(value),
                    Some("sessionId") => call.session_id = Some(value),
                    _ => {}
                }
            }
            Ok(Event::Text(t)) => {
                if let Ok(d) = t.decode() {
                    text.push_str(&d);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                let name = String::from_utf8_lossy(&r).into_owned();
                let resolved = match name.as_str() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16)
                        .ok()
                        .and_then(char::from_u32),
                    n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
                    _ => None,
                };
                match resolved {
                    Some(c) => text.push(c),
                    None => {
                        return Err(format!("Unable to parse request: unknown entity &{name};"))
                    }
                }
            }
            Ok(Event::CData(t)) => text.push_str(&String::from_utf8_lossy(&t)),
            Ok(Event::Eof) => break,
            Err(e) => return Err(format!("Unable to parse request: {e}")),
            _ => {}
        }
        buf.clear();
    }
    if !saw_envelope {
        return Err("Unable to find Envelope in the request".into());
    }
    if call.operation.is_empty() {
        return Err("Unable to find a SOAP operation in the request body".into());
    }
    Ok(call)
}

/// `POST /services/Soap/u/{version}`
pub async fn handle(
    State(state): State<SimState>,
    Path(version): Path<String>,
    headers: HeaderMap,
    meta: Option<axum::Extension<RequestMeta>>,
    body: Bytes,
) -> Response {
    let meta = meta.map(|m| m.0);
    let major: Option<u32> = version
        .split('.')
        .next()
        .and_then(|v| v.parse().ok())
        .filter(|_| version.ends_with(".0"));
    let Some(major) = major else {
        return fault(
            "UNSUPPORTED_API_VERSION",
            &format!("Invalid Api version specified on URL: {version}"),
        );
    };
    if !(crate::rest::ctx::MIN_VERSION..=crate::rest::ctx::MAX_VERSION).contains(&major) {
        return fault(
            "UNSUPPORTED_API_VERSION",
            &format!("Invalid Api version specified on URL: {version}"),
        );
    }
    let call = match parse(&body) {
        Ok(c) => c,
        Err(msg) => return client_fault(&msg),
    };
    match call.operation.as_str() {
        "login" => {
            if major >= 65 {
                return fault(
                    "INVALID_OPERATION",
                    "login() is not supported in API version 65.0 and later. Use OAuth instead.",
                );
            }
            login(&state, &version, &headers, meta.as_ref(), call)
        }
        "logout" => {
            let Some(sid) = call.session_id.filter(|s| !s.is_empty()) else {
                return fault(
                    "INVALID_SESSION_ID",
                    "Invalid Session ID found in SessionHeader: Illegal Session",
                );
            };
            if state.sessions.peek(&sid).is_none() {
                return fault(
                    "INVALID_SESSION_ID",
                    "Invalid Session ID found in SessionHeader: Illegal Session",
                );
            }
            state.sessions.revoke(&sid);
            xml(
                StatusCode::OK,
                r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><logoutResponse/></soapenv:Body></soapenv:Envelope>"#.into(),
            )
        }
        other => client_fault(&format!(
            "No operation available for request {{urn:partner.soap.sforce.com}}{other}"
        )),
    }
}

fn login(
    state: &SimState,
    version: &str,
    headers: &HeaderMap,
    meta: Option<&RequestMeta>,
    call: SoapCall,
) -> Response {
    const INVALID: &str = "Invalid username, password, security token; or user locked out.";
    let (Some(username), Some(password)) = (call.username, call.password) else {
        return fault("INVALID_LOGIN", INVALID);
    };
    let Some((org, user)) = state.find_user(&username) else {
        return fault("INVALID_LOGIN", INVALID);
    };
    if org.check_password(&username, &password).is_none() {
        return fault("INVALID_LOGIN", INVALID);
    }
    let now = state.clock.elapsed();
    let session = state.sessions.create(
        org.num,
        &org.id,
        user.num,
        &user.username,
        None,
        SessionKind::Soap,
        now,
        state.clock.now_ms(),
    );
    let base = base_url(headers, meta);
    let user_id = org.data.read().user_id(user.num);
    let full_name = org.user_field(user.num, "Name").unwrap_or_default();
    let email = org
        .user_field(user.num, "Email")
        .unwrap_or_else(|| user.username.clone());
    let seconds_valid = org.config.session_lifetime.as_secs();
    let org_name = org.config.name.clone();
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result><metadataServerUrl>{base}/services/Soap/m/{version}/{org_id}</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false</sandbox><serverUrl>{base}/services/Soap/u/{version}/{org_id}</serverUrl><sessionId>{sid}</sessionId><userId>{user_id}</userId><userInfo><accessibilityMode>false</accessibilityMode><chatterExternal>false</chatterExternal><currencySymbol>$</currencySymbol><orgAttachmentFileSizeLimit>5242880</orgAttachmentFileSizeLimit><orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode><orgDefaultCurrencyLocale>en_US</orgDefaultCurrencyLocale><orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments><orgHasPersonAccounts>false</orgHasPersonAccounts><organizationId>{org_id}</organizationId><organizationMultiCurrency>false</organizationMultiCurrency><organizationName>{org_name}</organizationName><profileId>00e000000000001AAA</profileId><roleId xsi:nil="true"/><sessionSecondsValid>{seconds_valid}</sessionSecondsValid><userDefaultCurrencyIsoCode xsi:nil="true"/><userEmail>{email}</userEmail><userFullName>{full_name}</userFullName><userId>{user_id}</userId><userLanguage>en_US</userLanguage><userLocale>en_US</userLocale><userName>{username}</userName><userTimeZone>GMT</userTimeZone><userType>Standard</userType><userUiSkin>Theme3</userUiSkin></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"#,
        org_id = org.id,
        sid = escape(&session.token),
        email = escape(&email),
        username = escape(&user.username),
        org_name = escape(&org_name),
    );
    let mut r = xml(StatusCode::OK, body);
    r.extensions_mut().insert(Identity {
        user: user.username,
        app: Some("soap".into()),
        org: Some(org.id.clone()),
    });
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_clients_envelopes() {
        let ss = br#"<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com"><env:Header><urn:CallOptions><urn:client>simple-salesforce</urn:client><urn:defaultNamespace>sf</urn:defaultNamespace></urn:CallOptions></env:Header><env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>admin@sfchaos.test</n1:username><n1:password>sfchaos&amp;x</n1:password></n1:login></env:Body></env:Envelope>"#;
        let c = parse(ss).unwrap();
        assert_eq!(c.operation, "login");
        assert_eq!(c.username.as_deref(), Some("admin@sfchaos.test"));
        assert_eq!(c.password.as_deref(), Some("sfchaos&x"));
        let js = br#"<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>u@x.com</username><password>p</password></login></se:Body></se:Envelope>"#;
        let c = parse(js).unwrap();
        assert_eq!(
            (c.operation.as_str(), c.password.as_deref()),
            ("login", Some("p"))
        );
        assert!(parse(b"not xml <").is_err());
    }
}
