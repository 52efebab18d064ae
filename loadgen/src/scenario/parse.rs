//! TOML text → raw structs, with every toml error turned into `file:line: key: message`.
//!
//! The document is parsed once with spans ([`DeTable::parse_recoverable`], which also reports
//! every syntax error rather than the first). serde stops at the first error in a struct, so
//! when the whole file fails to deserialize, each top-level section, and each element of a
//! top-level array such as `[[faults]]`, is deserialized again on its own to find the errors
//! in the others too.

use serde::Deserialize;
use toml::de::{DeArray, DeTable, DeValue, Deserializer};
use toml::Spanned;

use super::error::ScenarioError;
use super::raw::RawScenario;
use super::spans::SpanIndex;

pub(crate) fn parse(
    source: &str,
    file: &str,
) -> Result<(RawScenario, SpanIndex), Vec<ScenarioError>> {
    let (doc, syntax_errors) = DeTable::parse_recoverable(source);
    let index = SpanIndex::new(source, Some(&doc));
    if !syntax_errors.is_empty() {
        return Err(syntax_errors
            .iter()
            .map(|error| toml_error(file, error, &index))
            .collect());
    }
    match RawScenario::deserialize(Deserializer::from(doc.clone())) {
        Ok(raw) => Ok((raw, index)),
        Err(first) => {
            let mut errors = section_errors(&doc, file, &index);
            if errors.is_empty() {
                errors.push(toml_error(file, &first, &index));
            }
            Err(errors)
        }
    }
}

/// Deserializes each top-level section (and each element of top-level arrays) alone.
fn section_errors(doc: &Spanned<DeTable<'_>>, file: &str, index: &SpanIndex) -> Vec<ScenarioError> {
    let mut errors = Vec::new();
    let mut try_alone = |key: &Spanned<std::borrow::Cow<'_, str>>, value: Spanned<DeValue<'_>>| {
        let mut table = DeTable::new();
        table.insert(key.clone(), value);
        if let Err(error) =
            RawScenario::deserialize(Deserializer::from(Spanned::new(doc.span(), table)))
        {
            errors.push(toml_error(file, &error, index));
        }
    };
    for (key, value) in doc.get_ref().iter() {
        match value.get_ref() {
            DeValue::Array(elements) if !elements.is_empty() => {
                for element in elements.iter() {
                    let mut alone = DeArray::new();
                    alone.push(element.clone());
                    try_alone(key, Spanned::new(value.span(), DeValue::Array(alone)));
                }
            }
            _ => try_alone(key, value.clone()),
        }
    }
    errors
}

/// Locates a toml error by its span and rewrites serde's wording for people writing TOML.
fn toml_error(file: &str, error: &toml::de::Error, index: &SpanIndex) -> ScenarioError {
    let span = error.span();
    let line = span.as_ref().map(|s| index.line_of_offset(s.start));
    let key = span
        .and_then(|s| index.path_at(s.start))
        .unwrap_or_default()
        .to_string();
    ScenarioError::new(file, line, key, tidy(error.message()))
}

/// serde says "field" and "variant"; a TOML author thinks in keys and values. Long lists of
/// expected keys become a "did you mean" when one is close.
fn tidy(message: &str) -> String {
    let message = message.trim().replace('\n', "; ");
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (unknown, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
        let unknown = unknown.trim_end_matches(',');
        let choices = backticked(expected);
        let name = unknown.trim_matches('`');
        if let Some(close) = closest(name, &choices) {
            return format!("unknown key {unknown} (did you mean `{close}`?)");
        }
        if choices.is_empty() {
            return format!("unknown key {unknown}");
        }
        if choices.len() <= 12 {
            let list: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
            return format!(
                "unknown key {unknown} (expected one of {})",
                list.join(", ")
            );
        }
        return format!("unknown key {unknown} (see docs/scenarios.md for this table's keys)");
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("missing key {rest}");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return format!("unknown value {rest}");
    }
    message
}

fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The choice within edit distance 2 of `name`, if exactly one is closest.
fn closest<'a>(name: &str, choices: &[&'a str]) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for choice in choices {
        let distance = edit_distance(name, choice);
        if distance <= 2 && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, choice));
        }
    }
    best.map(|(_, choice)| choice)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_serde_wording() {
        assert_eq!(
            tidy("unknown field `probabilty`, expected one of `kind`, `probability`, `first`"),
            "unknown key `probabilty` (did you mean `probability`?)"
        );
        assert_eq!(
            tidy("unknown field `bogus`, expected one of `a`, `b`"),
            "unknown key `bogus` (expected one of `a`, `b`)"
        );
        assert_eq!(tidy("missing field `kind`"), "missing key `kind`");
        assert_eq!(
            tidy("unknown variant `enterprize`, expected one of `enterprise`"),
            "unknown value `enterprize`, expected one of `enterprise`"
        );
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
