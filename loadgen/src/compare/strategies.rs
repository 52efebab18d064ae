//! `--strategies a,b,c`: which retry strategies to compare, and the integration each one runs.
//!
//! A strategy is a name or a full strategy string (`crate::retry::spec`). Its parameters are
//! `,`-separated too (`full-jitter?base=5ms,cap=2s`), so the list is split on `,` and every piece of
//! the form `key=value` is a parameter of the strategy before it.
//!
//! The integration is the scenario's own `builtin:` profile with the retry strategy swapped (so
//! `write=occ` and the anti-pattern toggles stay), or `builtin:resilient` when the scenario runs a
//! shell command. A bare name inherits the parameters of the scenario's own retry setting that the
//! strategy accepts (`retry-storm-occ.toml` sets Brooker's `base=5ms,cap=2s,max-attempts=inf,
//! budget=off` once, and `exponential` runs with them); a strategy with parameters is taken as
//! written.

use crate::retry::spec::STRATEGY_NAMES;
use crate::retry::RetrySpec;
use crate::scenario::{BuiltinBase, BuiltinProfile, IntegrationCommand, RetryStrategyId};

/// One strategy of `--strategies`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyChoice {
    /// As given (`full-jitter`, `exponential?base=50ms,cap=5s`): the label in the outputs.
    pub label: String,
    pub id: RetryStrategyId,
    /// Parameters as given (`base=50ms,cap=5s`), if any.
    pub params: Option<String>,
}

/// Parse `--strategies`. Unknown names and bad parameters are errors naming the valid names.
pub fn parse_strategies(text: &str) -> Result<Vec<StrategyChoice>, String> {
    let mut pieces: Vec<String> = Vec::new();
    for piece in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let is_param = piece.contains('=') && !piece.contains('?');
        match pieces.last_mut() {
            Some(last) if is_param => {
                last.push(if last.contains('?') { ',' } else { '?' });
                last.push_str(piece);
            }
            _ => pieces.push(piece.to_string()),
        }
    }
    if pieces.is_empty() {
        return Err(format!(
            "--strategies: give at least one of {}",
            STRATEGY_NAMES.join(", ")
        ));
    }
    let mut out: Vec<StrategyChoice> = Vec::new();
    for piece in pieces {
        let (name, params) = match piece.split_once('?') {
            Some((n, p)) => (n.trim(), Some(p.trim().to_string())),
            None => (piece.as_str(), None),
        };
        let id: RetryStrategyId = name.parse().map_err(|_| {
            format!(
                "--strategies: unknown retry strategy \"{name}\" (valid: {})",
                STRATEGY_NAMES.join(", ")
            )
        })?;
        piece
            .parse::<RetrySpec>()
            .map_err(|e| format!("--strategies: {piece}: {e}"))?;
        if out.iter().any(|c| c.label == piece) {
            return Err(format!("--strategies: \"{piece}\" is given twice"));
        }
        out.push(StrategyChoice {
            label: piece.clone(),
            id,
            params: params.filter(|p| !p.is_empty()),
        });
    }
    Ok(out)
}

/// The integration a strategy runs against `scenario_command` (see the module docs).
pub fn integration_for(
    scenario_command: &IntegrationCommand,
    choice: &StrategyChoice,
) -> IntegrationCommand {
    let mut profile = match scenario_command {
        IntegrationCommand::Builtin(p) => p.clone(),
        IntegrationCommand::Shell(_) => BuiltinProfile {
            base: BuiltinBase::Resilient,
            toggles: Default::default(),
            retry: None,
            retry_params: None,
            write: Default::default(),
        },
    };
    let params = match &choice.params {
        Some(p) => Some(p.clone()),
        None => profile
            .retry_params
            .as_deref()
            .map(|inherited| accepted_params(choice.id, inherited))
            .filter(|p| !p.is_empty()),
    };
    profile.retry = Some(choice.id);
    profile.retry_params = params;
    IntegrationCommand::Builtin(profile)
}

/// The parameters of `params` that strategy `id` takes (`none` has no `base`, for instance).
fn accepted_params(id: RetryStrategyId, params: &str) -> String {
    params
        .split([',', '&', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter(|p| format!("{id}?{p}").parse::<RetrySpec>().is_ok())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_stay_with_their_strategy() {
        let s = parse_strategies("none, full-jitter?base=5ms,cap=2s,exponential,max-attempts=inf")
            .unwrap();
        let labels: Vec<&str> = s.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "none",
                "full-jitter?base=5ms,cap=2s",
                "exponential?max-attempts=inf"
            ]
        );
        assert_eq!(s[1].params.as_deref(), Some("base=5ms,cap=2s"));
        assert_eq!(s[0].params, None);
    }

    #[test]
    fn bad_names_list_the_valid_ones() {
        let e = parse_strategies("none,yolo").unwrap_err();
        assert!(
            e.contains("yolo") && e.contains("full-jitter, equal-jitter"),
            "{e}"
        );
        assert!(parse_strategies("none?base=5ms").is_err());
        assert!(parse_strategies("exponential?speed=9").is_err());
        assert!(parse_strategies("").is_err());
        assert!(parse_strategies("none,none").is_err());
    }

    #[test]
    fn bare_names_inherit_what_they_accept_from_the_scenario() {
        let scenario: IntegrationCommand =
            "builtin:resilient?write=occ&retry=full-jitter?base=5ms,cap=2s,max-attempts=inf,budget=off"
                .parse()
                .unwrap();
        let pick = |text: &str| parse_strategies(text).unwrap().remove(0);
        assert_eq!(
            integration_for(&scenario, &pick("exponential")).to_string(),
            "builtin:resilient?write=occ&retry=exponential?base=5ms,cap=2s,max-attempts=inf,budget=off"
        );
        assert_eq!(
            integration_for(&scenario, &pick("none")).to_string(),
            "builtin:resilient?write=occ&retry=none?max-attempts=inf,budget=off"
        );
        assert_eq!(
            integration_for(&scenario, &pick("decorrelated?cap=1s")).to_string(),
            "builtin:resilient?write=occ&retry=decorrelated?cap=1s"
        );
        let shell = IntegrationCommand::Shell("python3 sync.py".into());
        assert_eq!(
            integration_for(&shell, &pick("equal-jitter")).to_string(),
            "builtin:resilient?retry=equal-jitter"
        );
    }
}
