//! [`SfConfig`]: where the org is and who we log in as — the `SF_*` variables of the integration
//! contract (design.md §4).

use std::path::PathBuf;
use std::time::Duration;

use super::error::SfError;

/// How [`super::SfClient::login`] authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoginMethod {
    /// OAuth username-password grant (client id/secret + username/password).
    #[default]
    OAuthPassword,
    /// OAuth client-credentials grant (client id/secret only).
    ClientCredentials,
    /// SOAP partner `login()`.
    SoapPartner,
    /// OAuth refresh-token grant (needs a refresh token from an earlier login).
    RefreshToken,
    /// A session handed in by the caller; the client cannot log in again by itself.
    Provided,
}

/// Client configuration.
#[derive(Debug, Clone)]
pub struct SfConfig {
    /// Base URL of the login endpoints, e.g. `https://127.0.0.1:8443`.
    pub login_url: String,
    /// REST base URL used when a session is provided directly (logins return their own).
    pub instance_url: Option<String>,
    /// Integration user name.
    pub username: String,
    /// Password (with security token appended, if the org needs one).
    pub password: String,
    /// Connected-app consumer key.
    pub client_id: String,
    /// Connected-app consumer secret.
    pub client_secret: String,
    /// API version without the `v`, e.g. `62.0`.
    pub api_version: String,
    /// Extra trusted root (PEM), e.g. the simulator's CA.
    pub ca_file: Option<PathBuf>,
    /// Sent as `Sforce-Call-Options: client=<name>`; it becomes the CDC `changeOrigin`, which is how the
    /// scorer tells an integration's writes from everyone else's.
    pub client_name: Option<String>,
    /// Per-request timeout. Without one a hung connection waits for Salesforce's 10-minute cut-off.
    pub timeout: Duration,
    /// Login flow used by [`super::SfClient::login`].
    pub login_method: LoginMethod,
}

/// Default per-request timeout: longer than a 10 s lock wait plus latency, far below 10 minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default API version.
pub const DEFAULT_API_VERSION: &str = "62.0";

impl SfConfig {
    /// A configuration with defaults and no credentials.
    pub fn new(login_url: impl Into<String>) -> Self {
        Self {
            login_url: trim_slash(login_url.into()),
            instance_url: None,
            username: String::new(),
            password: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            api_version: DEFAULT_API_VERSION.to_string(),
            ca_file: None,
            client_name: None,
            timeout: DEFAULT_TIMEOUT,
            login_method: LoginMethod::default(),
        }
    }

    /// Read the integration contract's variables: `SF_LOGIN_URL` (required), `SF_INSTANCE_URL`,
    /// `SF_USERNAME`, `SF_PASSWORD`, `SF_CLIENT_ID`, `SF_CLIENT_SECRET`, `SF_API_VERSION`, and
    /// `SF_CA_FILE` (falling back to `SSL_CERT_FILE`).
    pub fn from_env() -> Result<Self, SfError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let login_url = var("SF_LOGIN_URL")
            .ok_or_else(|| SfError::InvalidRequest("SF_LOGIN_URL is not set".to_string()))?;
        let mut cfg = SfConfig::new(login_url);
        cfg.instance_url = var("SF_INSTANCE_URL").map(trim_slash);
        cfg.username = var("SF_USERNAME").unwrap_or_default();
        cfg.password = var("SF_PASSWORD").unwrap_or_default();
        cfg.client_id = var("SF_CLIENT_ID").unwrap_or_default();
        cfg.client_secret = var("SF_CLIENT_SECRET").unwrap_or_default();
        if let Some(v) = var("SF_API_VERSION") {
            cfg = cfg.with_api_version(&v);
        }
        cfg.ca_file = var("SF_CA_FILE")
            .or_else(|| var("SSL_CERT_FILE"))
            .map(PathBuf::from);
        Ok(cfg)
    }

    /// Set username and password.
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.username = username.into();
        self.password = password.into();
        self
    }

    /// Set the connected app's id and secret.
    pub fn with_client(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.client_id = client_id.into();
        self.client_secret = client_secret.into();
        self
    }

    /// Set the API version (`62.0` or `v62.0`).
    pub fn with_api_version(mut self, version: &str) -> Self {
        self.api_version = version.trim().trim_start_matches(['v', 'V']).to_string();
        self
    }

    /// Trust an extra CA (PEM file).
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Name this client in `Sforce-Call-Options`.
    pub fn with_client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }

    /// Set the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Set the login flow.
    pub fn with_login_method(mut self, method: LoginMethod) -> Self {
        self.login_method = method;
        self
    }

    /// Set the instance URL used with provided sessions.
    pub fn with_instance_url(mut self, url: impl Into<String>) -> Self {
        self.instance_url = Some(trim_slash(url.into()));
        self
    }
}

pub(crate) fn trim_slash(mut s: String) -> String {
    while s.ends_with('/') {
        s.pop();
    }
    s
}
