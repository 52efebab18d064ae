//! [`ReferenceError`]: why a reference integration could not start or stopped.

use std::path::PathBuf;

use crate::sf::SfError;

/// A configuration problem or a fatal runtime failure of a reference integration.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// An environment variable (or config field) is missing or malformed; the message names it.
    #[error("{var}: {message}")]
    Config { var: &'static str, message: String },
    /// The profile string could not be parsed.
    #[error("--profile {profile}: {message}")]
    Profile { profile: String, message: String },
    /// The state directory could not be read or written.
    #[error("{}: {source}", path.display())]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The inbound listener failed.
    #[error("inbound server: {0}")]
    Server(#[source] std::io::Error),
    /// Salesforce refused the login and the profile does not keep trying (the `availability`
    /// anti-pattern: it assumes Salesforce is up when it starts).
    #[error("cannot log in to Salesforce: {0}")]
    Login(#[source] SfError),
    /// The Salesforce client could not be built (bad CA file, …).
    #[error("Salesforce client: {0}")]
    Client(#[source] SfError),
}

impl ReferenceError {
    pub(crate) fn config(var: &'static str, message: impl Into<String>) -> Self {
        ReferenceError::Config {
            var,
            message: message.into(),
        }
    }

    pub(crate) fn state(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReferenceError::State {
            path: path.into(),
            source,
        }
    }
}
