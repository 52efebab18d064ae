//! The commands behind the `sfchaos` binary. `main.rs` parses flags into these option structs and maps
//! the returned [`Outcome`] to an exit code.

pub mod compare;
pub mod reference;
pub mod report;
pub mod run;
pub mod sim;
pub mod sim_scenario;
pub mod validate;

/// How a command ended; the binary maps it to the exit code (0 / 1 / 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything held.
    Ok,
    /// The integration fell short of an expectation or baseline.
    Fell,
}

/// A usage, configuration or harness error (exit code 2). The message names the file, line and key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(msg: impl Into<String>) -> Self {
        UsageError(msg.into())
    }
}

/// `--out DIR` (or `default`), created; and the path of this executable (what `builtin:` profiles
/// launch).
pub fn out_dir_and_self(
    out: Option<&std::path::Path>,
    default: &str,
) -> Result<(std::path::PathBuf, std::path::PathBuf), UsageError> {
    let out = out.map_or_else(|| std::path::PathBuf::from(default), |p| p.to_path_buf());
    std::fs::create_dir_all(&out)
        .map_err(|e| UsageError::new(format!("--out {}: {e}", out.display())))?;
    let self_exe = std::env::current_exe()
        .map_err(|e| UsageError::new(format!("cannot find the sfchaos executable: {e}")))?;
    Ok((out, self_exe))
}

/// `--baseline REPORT.json`, read when given.
pub fn baseline_opt(
    path: Option<&std::path::Path>,
) -> Result<Option<crate::report::view::ReportView>, UsageError> {
    path.map(crate::report::read_baseline)
        .transpose()
        .map_err(|e| UsageError::new(format!("--baseline: {e}")))
}

/// Resolve when SIGINT or SIGTERM arrives.
pub async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
