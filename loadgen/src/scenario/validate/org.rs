//! `[org]` and `[integration]`.

use std::path::Path;
use std::time::Duration;

use indexmap::IndexMap;

use super::super::integration::IntegrationCommand;
use super::super::model::{Edition, IntegrationSpec, OrgSpec, SeedSpec};
use super::super::raw::{RawIntegration, RawOrg};
use super::super::spans::{push_index, push_key};
use super::super::values::validate_fields;
use super::Ctx;

const DEFAULT_API_WINDOW: Duration = Duration::from_secs(24 * 3600);
const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);
const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(2 * 3600);
const DEFAULT_API_VERSION: &str = "62.0";
/// The API versions the simulator serves (design.md §3).
const API_VERSIONS: std::ops::RangeInclusive<u32> = 31..=66;
const DEFAULT_CDC_OBJECTS: [&str; 5] = ["Account", "Contact", "Opportunity", "Lead", "Case"];
const DEFAULT_COMMAND: &str = "builtin:resilient";
const DEFAULT_HEALTHZ_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Variables the harness sets for every integration (design.md §4); a scenario may not
/// override them, or the integration would talk to something other than the harness.
const RESERVED_ENV: [&str; 3] = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"];
const RESERVED_ENV_PREFIXES: [&str; 2] = ["SF_", "SFCHAOS_"];

pub(super) fn org(ctx: &mut Ctx, raw: RawOrg, base_dir: &Path) -> Option<OrgSpec> {
    let before = ctx.errors.len();
    let edition = raw.edition.unwrap_or(Edition::Enterprise);
    let licences = raw.licences.unwrap_or(0);
    if edition == Edition::Developer && raw.licences.is_some() {
        ctx.warn(
            "org.licences",
            "developer orgs get 15,000 API requests a day whatever the licences; ignored",
        );
    }
    let daily_api_requests = match raw.daily_api_requests {
        Some(0) => {
            ctx.error(
                "org.daily_api_requests",
                "must be at least 1, got 0 (to start with the allocation used up, set \
                 api_usage_start)",
            );
            None
        }
        Some(n) => Some(n),
        None => Some(edition.daily_api_requests(licences)),
    };
    let api_window = ctx.positive_duration_or(
        "org.api_window",
        raw.api_window.as_ref(),
        DEFAULT_API_WINDOW,
    );
    let api_usage_start = raw.api_usage_start.unwrap_or(0);
    if let Some(max) = daily_api_requests {
        if api_usage_start > max {
            ctx.error(
                "org.api_usage_start",
                format!("must not exceed the daily allocation ({max}), got {api_usage_start}"),
            );
        }
    }
    let long_running_cap = match raw.long_running_cap {
        Some(cap) => ctx
            .nonzero_u32("org.long_running_cap", cap)
            .map(|c| c.get()),
        None => Some(edition.long_running_cap()),
    };
    let lock_wait =
        ctx.positive_duration_or("org.lock_wait", raw.lock_wait.as_ref(), DEFAULT_LOCK_WAIT);
    let session_lifetime = ctx.positive_duration_or(
        "org.session_lifetime",
        raw.session_lifetime.as_ref(),
        DEFAULT_SESSION_LIFETIME,
    );
    let api_version = match &raw.api_version {
        Some(version) => api_version(ctx, &version.0),
        None => Some(DEFAULT_API_VERSION.to_string()),
    };
    let cdc_objects = match &raw.cdc_objects {
        Some(list) => {
            let mut objects: Vec<String> = Vec::new();
            for (i, object) in list.0.iter().enumerate() {
                let path = push_index("org.cdc_objects", i);
                if let Some(object) = ctx.api_name(&path, object) {
                    if objects.contains(&object) {
                        ctx.error(&path, format!("\"{object}\" is listed twice"));
                    }
                    objects.push(object);
                }
            }
            objects
        }
        None => DEFAULT_CDC_OBJECTS.iter().map(|o| o.to_string()).collect(),
    };
    let mut seed = Vec::with_capacity(raw.seed.len());
    for (i, raw_seed) in raw.seed.iter().enumerate() {
        let path = push_index("org.seed", i);
        let object = ctx.api_name(&push_key(&path, "object"), &raw_seed.object);
        let count = ctx.nonzero_u32(&push_key(&path, "count"), raw_seed.count);
        let fields = validate_fields(ctx, &push_key(&path, "fields"), raw_seed.fields.as_ref());
        if let (Some(object), Some(count)) = (object, count) {
            seed.push(SeedSpec {
                object,
                count,
                fields,
            });
        }
    }
    let data_dir = match raw.data_dir.as_deref() {
        Some(dir) if dir.trim().is_empty() => {
            ctx.error("org.data_dir", "must not be empty");
            None
        }
        Some(dir) => Some(base_dir.join(dir)),
        None => None,
    };
    if ctx.errors.len() != before {
        return None;
    }
    Some(OrgSpec {
        edition,
        licences,
        daily_api_requests: daily_api_requests?,
        api_window: api_window?,
        api_usage_start,
        long_running_cap: long_running_cap?,
        lock_wait: lock_wait?,
        session_lifetime: session_lifetime?,
        api_version: api_version?,
        cdc_objects,
        seed,
        data_dir,
    })
}

/// `"62.0"`: a major version the simulator serves, then `.0`.
fn api_version(ctx: &mut Ctx, text: &str) -> Option<String> {
    let major = text
        .strip_suffix(".0")
        .and_then(|major| major.parse::<u32>().ok())
        .filter(|major| API_VERSIONS.contains(major));
    match major {
        Some(major) => Some(format!("{major}.0")),
        None => {
            ctx.error(
                "org.api_version",
                format!(
                    "must be a version from {}.0 to {}.0 such as \"62.0\", got \"{text}\"",
                    API_VERSIONS.start(),
                    API_VERSIONS.end()
                ),
            );
            None
        }
    }
}

pub(super) fn integration(ctx: &mut Ctx, raw: RawIntegration) -> Option<IntegrationSpec> {
    let before = ctx.errors.len();
    let command = match raw
        .command
        .as_deref()
        .unwrap_or(DEFAULT_COMMAND)
        .parse::<IntegrationCommand>()
    {
        Ok(command) => Some(command),
        Err(message) => {
            ctx.error("integration.command", message);
            None
        }
    };
    let healthz_timeout = ctx.positive_duration_or(
        "integration.healthz_timeout",
        raw.healthz_timeout.as_ref(),
        DEFAULT_HEALTHZ_TIMEOUT,
    );
    let stop_timeout = ctx.positive_duration_or(
        "integration.stop_timeout",
        raw.stop_timeout.as_ref(),
        DEFAULT_STOP_TIMEOUT,
    );
    let mut env = IndexMap::new();
    for (name, value) in raw.env.unwrap_or_default() {
        let path = push_key("integration.env", &name);
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            ctx.error(
                &path,
                format!("\"{name}\" is not a valid environment variable name"),
            );
        } else if RESERVED_ENV.contains(&name.as_str())
            || RESERVED_ENV_PREFIXES.iter().any(|p| name.starts_with(p))
        {
            ctx.error(
                &path,
                format!(
                    "{name} is set by the harness (integration contract) and cannot be overridden"
                ),
            );
        } else {
            env.insert(name, value);
        }
    }
    if ctx.errors.len() != before {
        return None;
    }
    Some(IntegrationSpec {
        command: command?,
        healthz_timeout: healthz_timeout?,
        env,
        stop_timeout: stop_timeout?,
    })
}
