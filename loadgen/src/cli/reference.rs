//! `sfchaos reference --profile PROFILE`: run a reference integration — the program
//! `--integration builtin:PROFILE` launches — reading the design.md §4 environment, until SIGINT or
//! SIGTERM, then stop gracefully (the durable queue is flushed). Once serving it prints one line,
//! `builtin:PROFILE listening on http://ADDR`.

use tokio::net::TcpListener;

use super::{interrupted, Outcome, UsageError};
use crate::reference::{self, Config};
use crate::scenario::{BuiltinProfile, IntegrationCommand};

/// Options of `sfchaos reference`.
#[derive(Debug, Clone)]
pub struct ReferenceOptions {
    /// `naive`, `resilient`, optionally with `?<anti-pattern>=on|off&retry=<strategy>`; the
    /// `builtin:` prefix is optional.
    pub profile: String,
    /// A full retry strategy string (`exponential?base=50ms,cap=5s`), overriding `retry=`.
    pub retry: Option<String>,
}

/// Parse `--profile` with the same grammar as `--integration builtin:…`.
pub fn parse_profile(text: &str) -> Result<BuiltinProfile, UsageError> {
    let full = if text.trim_start().starts_with("builtin:") {
        text.trim().to_string()
    } else {
        format!("builtin:{}", text.trim())
    };
    match full.parse::<IntegrationCommand>() {
        Ok(IntegrationCommand::Builtin(profile)) => Ok(profile),
        Ok(IntegrationCommand::Shell(_)) => Err(UsageError::new(format!(
            "--profile {text}: expected naive or resilient"
        ))),
        Err(e) => Err(UsageError::new(format!("--profile {text}: {e}"))),
    }
}

pub async fn run(opts: ReferenceOptions) -> Result<Outcome, UsageError> {
    let profile = parse_profile(&opts.profile)?;
    let config = Config::from_env(profile, opts.retry.as_deref())
        .map_err(|e| UsageError::new(e.to_string()))?;
    let listen = config
        .listen
        .ok_or_else(|| UsageError::new("SFCHAOS_LISTEN: is not set"))?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| UsageError::new(format!("SFCHAOS_LISTEN {listen}: {e}")))?;
    let name = IntegrationCommand::Builtin(config.profile.clone());
    let running = reference::start(config, listener)
        .await
        .map_err(|e| UsageError::new(e.to_string()))?;
    // The harness waits for /healthz; this line is for people (and for tests binding port 0).
    println!("{name} listening on http://{}", running.local_addr());
    interrupted().await;
    running
        .shutdown()
        .await
        .map_err(|e| UsageError::new(e.to_string()))?;
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_with_and_without_the_prefix() {
        assert!(parse_profile("naive").is_ok());
        assert!(parse_profile("builtin:resilient?blind-retries=on&retry=adaptive").is_ok());
        let e = parse_profile("clever").unwrap_err().to_string();
        assert!(e.contains("--profile clever"), "{e}");
        assert!(parse_profile("resilient?speed=on").is_err());
    }
}
