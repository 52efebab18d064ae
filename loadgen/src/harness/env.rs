//! The environment an integration build runs with: design.md §4's contract, plus what the
//! reference integrations need to know about the scenario.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::scenario::{Owner, Scenario};

/// Proxy variables removed from the integration's environment: every address it is given is on
/// loopback, and a proxy would put something else between it and the harness.
pub const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Where everything is; the values the contract variables are made of.
#[derive(Clone, Debug)]
pub struct Endpoints<'a> {
    /// `https://127.0.0.1:PORT` of the simulator.
    pub https_url: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub ca_file: &'a Path,
    pub listen: SocketAddr,
    pub sink_url: &'a str,
    pub alert_url: &'a str,
    pub state_dir: &'a Path,
}

/// The contract variables, in a stable order. The scenario's own `[integration] env` comes
/// first so the contract's values win (validation already forbids overlaps).
pub fn contract_env(scenario: &Scenario, seed: u64, at: &Endpoints<'_>) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = scenario
        .integration
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let ca = at.ca_file.display().to_string();
    let mut set = |k: &str, v: String| vars.push((k.to_owned(), v));
    set("SF_LOGIN_URL", at.https_url.to_owned());
    set("SF_INSTANCE_URL", at.https_url.to_owned());
    set("SF_USERNAME", at.username.to_owned());
    set("SF_PASSWORD", at.password.to_owned());
    set("SF_CLIENT_ID", at.client_id.to_owned());
    set("SF_CLIENT_SECRET", at.client_secret.to_owned());
    set("SF_API_VERSION", scenario.org.api_version.clone());
    set("SF_CA_FILE", ca.clone());
    set("SSL_CERT_FILE", ca.clone());
    set("REQUESTS_CA_BUNDLE", ca.clone());
    set("NODE_EXTRA_CA_CERTS", ca);
    set("SFCHAOS_LISTEN", at.listen.to_string());
    set("SFCHAOS_SINK_URL", at.sink_url.to_owned());
    set("SFCHAOS_ALERT_URL", at.alert_url.to_owned());
    set("SFCHAOS_STATE_DIR", at.state_dir.display().to_string());
    set("SFCHAOS_SEED", seed.to_string());
    set("SFCHAOS_OWNED_FIELDS", owned_fields(scenario));
    set("SFCHAOS_PEAK", peak_windows(scenario));
    if let Some(shard) = scenario.shard {
        set("SFCHAOS_SHARD", shard.to_string());
    }
    vars
}

/// `Object.Field` of every field `[ownership]` gives to the integration, comma-separated.
pub fn owned_fields(scenario: &Scenario) -> String {
    let fields: Vec<String> = scenario
        .ownership
        .0
        .iter()
        .filter(|(_, owner)| **owner == Owner::Integration)
        .map(|(field, _)| field.to_string())
        .collect();
    fields.join(",")
}

/// Declared peak windows as `start-end` offsets, comma-separated: `0s-60s,120s-180s`.
pub fn peak_windows(scenario: &Scenario) -> String {
    let windows: Vec<String> = scenario
        .peak
        .iter()
        .map(|w| {
            let end = w.end().unwrap_or(scenario.total_duration());
            format!("{}-{}", offset(w.start), offset(end))
        })
        .collect();
    windows.join(",")
}

/// Whole seconds as `90s`, anything finer as milliseconds (`1500ms`).
fn offset(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_fields_and_peaks_are_spelled_for_the_reference_integrations() {
        let scenario = Scenario::from_str(
            r#"
name = "env"
duration = "3m"
drain = "30s"
peak = [{ start = "0s", duration = "60s" }, { start = "120s", duration = "1500ms" }]

[[actors]]
name = "sales"
object = "Account"
fields = ["Phone"]
rate = { constant = 1 }

[ownership]
"Account.Phone" = "sales"
"Account.Credit_Limit__c" = "integration"
"Account.Region__c" = "integration"
"#,
            "env.toml",
        )
        .unwrap();
        let owned = owned_fields(&scenario);
        let mut fields: Vec<&str> = owned.split(',').collect();
        fields.sort();
        assert_eq!(fields, ["Account.Credit_Limit__c", "Account.Region__c"]);
        assert_eq!(peak_windows(&scenario), "0s-60s,120s-121500ms");
    }
}
