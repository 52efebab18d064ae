//! The ten anti-pattern ids of design.md §7, as used in `[expect] min_score`, builtin
//! integration toggles (`builtin:resilient?blind-retries=on`) and reports.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AntiPattern {
    RealtimeDb,
    Polling,
    DataOwnership,
    BlindRetries,
    PartialFailures,
    SchemaAssumptions,
    Observability,
    Rollback,
    BatchRealtimeMixing,
    Availability,
}

impl AntiPattern {
    /// In the order of design.md §7, which is also report order.
    pub const ALL: [AntiPattern; 10] = [
        AntiPattern::RealtimeDb,
        AntiPattern::Polling,
        AntiPattern::DataOwnership,
        AntiPattern::BlindRetries,
        AntiPattern::PartialFailures,
        AntiPattern::SchemaAssumptions,
        AntiPattern::Observability,
        AntiPattern::Rollback,
        AntiPattern::BatchRealtimeMixing,
        AntiPattern::Availability,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AntiPattern::RealtimeDb => "realtime-db",
            AntiPattern::Polling => "polling",
            AntiPattern::DataOwnership => "data-ownership",
            AntiPattern::BlindRetries => "blind-retries",
            AntiPattern::PartialFailures => "partial-failures",
            AntiPattern::SchemaAssumptions => "schema-assumptions",
            AntiPattern::Observability => "observability",
            AntiPattern::Rollback => "rollback",
            AntiPattern::BatchRealtimeMixing => "batch-realtime-mixing",
            AntiPattern::Availability => "availability",
        }
    }

    /// The ids, comma-separated, for error messages.
    pub fn id_list() -> String {
        let ids: Vec<&str> = Self::ALL.iter().map(|a| a.as_str()).collect();
        ids.join(", ")
    }
}

impl fmt::Display for AntiPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AntiPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown anti-pattern id \"{text}\" (expected one of {})",
                    Self::id_list()
                )
            })
    }
}
