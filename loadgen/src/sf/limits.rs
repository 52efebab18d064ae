//! `Sforce-Limit-Info`: the only API-usage signal Salesforce gives (there is no Retry-After), present on
//! every metered REST response as `api-usage=18/5000`, optionally followed by
//! `; per-app-api-usage=17/250(appName=sample-connected-app)`.

/// Parsed `Sforce-Limit-Info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitInfo {
    /// Calls used in the rolling 24 h window.
    pub used: u64,
    /// The org's allocation.
    pub max: u64,
    /// The connected app's share, when reported.
    pub per_app: Option<AppUsage>,
}

/// `per-app-api-usage=used/max(appName=name)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUsage {
    /// Connected-app name.
    pub app: String,
    /// Calls used by the app.
    pub used: u64,
    /// The app's cap.
    pub max: u64,
}

impl LimitInfo {
    /// Parse the header value; `None` when it carries no `api-usage`.
    pub fn parse(header: &str) -> Option<LimitInfo> {
        let mut org = None;
        let mut per_app = None;
        for part in header.split(';').map(str::trim) {
            if let Some(rest) = part.strip_prefix("per-app-api-usage=") {
                let (counts, app) = match rest.split_once('(') {
                    Some((c, tail)) => {
                        let name = tail
                            .trim_end_matches(')')
                            .split_once('=')
                            .map_or(tail.trim_end_matches(')'), |(_, n)| n);
                        (c, name.to_string())
                    }
                    None => (rest, String::new()),
                };
                if let Some((used, max)) = ratio(counts) {
                    per_app = Some(AppUsage { app, used, max });
                }
            } else if let Some(rest) = part.strip_prefix("api-usage=") {
                org = ratio(rest);
            }
        }
        org.map(|(used, max)| LimitInfo { used, max, per_app })
    }

    /// Calls left before the allocation is exhausted.
    pub fn remaining(&self) -> u64 {
        self.max.saturating_sub(self.used)
    }

    /// Whether the allocation is spent.
    pub fn exhausted(&self) -> bool {
        self.max > 0 && self.used >= self.max
    }
}

fn ratio(s: &str) -> Option<(u64, u64)> {
    let (used, max) = s.trim().split_once('/')?;
    Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
}
