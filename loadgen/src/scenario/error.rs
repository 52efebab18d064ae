//! Errors that point at the file, line and key that caused them.

use std::fmt;

use serde::Serialize;

/// One problem in a scenario file.
///
/// Displays as `scenarios/x.toml:42: faults[1].probability: must be between 0 and 1, got 1.5`.
/// The line is absent when the key is not in the file (a required key that is missing at the
/// top level, or an I/O error); the key is empty for syntax errors outside any key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based.
    pub line: Option<usize>,
    /// Key path such as `faults[1].probability` or `ownership."Account.Phone"`.
    pub key: String,
    pub message: String,
}

impl ScenarioError {
    pub fn new(
        file: impl Into<String>,
        line: Option<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            line,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a scenario file, in file order (like a compiler, sfchaos reports all
/// it can find instead of stopping at the first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl ScenarioErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ScenarioError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorts by line (errors without a line last), keeping the order of errors on one line.
    pub(crate) fn sorted(mut errors: Vec<ScenarioError>) -> Self {
        errors.sort_by_key(|e| e.line.unwrap_or(usize::MAX));
        errors.dedup();
        Self(errors)
    }
}

impl fmt::Display for ScenarioErrors {
    /// One error per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl From<ScenarioError> for ScenarioErrors {
    fn from(error: ScenarioError) -> Self {
        Self(vec![error])
    }
}

impl IntoIterator for ScenarioErrors {
    type Item = ScenarioError;
    type IntoIter = std::vec::IntoIter<ScenarioError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ScenarioErrors {
    type Item = &'a ScenarioError;
    type IntoIter = std::slice::Iter<'a, ScenarioError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_file_line_key_message() {
        let error = ScenarioError::new(
            "scenarios/x.toml",
            Some(42),
            "faults[1].probability",
            "must be between 0 and 1, got 1.5",
        );
        assert_eq!(
            error.to_string(),
            "scenarios/x.toml:42: faults[1].probability: must be between 0 and 1, got 1.5"
        );
        let no_line = ScenarioError::new("x.toml", None, "name", "missing");
        assert_eq!(no_line.to_string(), "x.toml: name: missing");
        let no_key = ScenarioError::new("x.toml", Some(3), "", "invalid string");
        assert_eq!(no_key.to_string(), "x.toml:3: invalid string");
    }
}
