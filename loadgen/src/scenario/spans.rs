//! Where each key of a scenario file is: key paths ↔ byte spans ↔ line numbers.
//!
//! serde forgets positions once it has built a struct, and validation works on those structs,
//! so validation errors carry a key path (`faults[1].probability`). This index, built once
//! from toml's span-preserving parse ([`toml::de::DeTable`]), turns such a path back into the
//! line where the key was written, and turns the byte span of a toml deserialization error
//! into the path of the key it happened in.
//!
//! Path syntax: tables are joined with `.`, array elements are `[i]`, and keys that are not
//! bare TOML keys are quoted: `ownership."Account.Phone"`. [`push_key`] and [`push_index`]
//! build paths; validation must use them so that its paths match the index's.

use std::collections::HashMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// `prefix.key`, quoting `key` unless it is a bare TOML key.
pub fn push_key(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let segment = if bare {
        key.to_string()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    };
    if prefix.is_empty() {
        segment
    } else {
        format!("{prefix}.{segment}")
    }
}

/// `prefix[index]`.
pub fn push_index(prefix: &str, index: usize) -> String {
    format!("{prefix}[{index}]")
}

/// The path one level up: `faults[1].mode` → `faults[1]` → `faults` → `` → `None`.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with(']') {
        return path.rfind('[').map(|i| &path[..i]);
    }
    if path.ends_with('"') {
        let bytes = path.as_bytes();
        let mut i = path.len() - 1;
        while i > 0 {
            i -= 1;
            if bytes[i] == b'"' && (i == 0 || bytes[i - 1] != b'\\') {
                let head = &path[..i];
                return Some(head.strip_suffix('.').unwrap_or(head));
            }
        }
        return Some("");
    }
    Some(path.rfind('.').map_or("", |i| &path[..i]))
}

#[derive(Debug)]
struct Entry {
    path: String,
    /// Where the key is written; `None` for array elements.
    key: Option<Range<usize>>,
    /// The value; for `[[array]]` tables and `[table]` headers, the header.
    value: Range<usize>,
}

impl Entry {
    fn start(&self) -> usize {
        self.key.as_ref().map_or(self.value.start, |k| k.start)
    }
}

/// Positions of every key and array element of one document.
#[derive(Debug, Default)]
pub(crate) struct SpanIndex {
    entries: Vec<Entry>,
    by_path: HashMap<String, usize>,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl SpanIndex {
    /// Indexes `doc`, which was parsed from `source`. Without a document (JSON input, or a file
    /// that did not parse) only offsets can be turned into lines.
    pub(crate) fn new(source: &str, doc: Option<&Spanned<DeTable<'_>>>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        let mut index = Self {
            entries: Vec::new(),
            by_path: HashMap::new(),
            line_starts,
        };
        if let Some(doc) = doc {
            index.walk_table("", doc.get_ref());
        }
        index
    }

    fn add(&mut self, path: String, key: Option<Range<usize>>, value: Range<usize>) {
        self.by_path
            .entry(path.clone())
            .or_insert(self.entries.len());
        self.entries.push(Entry { path, key, value });
    }

    fn walk_table(&mut self, prefix: &str, table: &DeTable<'_>) {
        for (key, value) in table.iter() {
            let path = push_key(prefix, key.get_ref());
            self.add(path.clone(), Some(key.span()), value.span());
            self.walk_value(&path, value);
        }
    }

    fn walk_value(&mut self, path: &str, value: &Spanned<DeValue<'_>>) {
        match value.get_ref() {
            DeValue::Table(table) => self.walk_table(path, table),
            DeValue::Array(array) => {
                for (i, element) in array.iter().enumerate() {
                    let element_path = push_index(path, i);
                    self.add(element_path.clone(), None, element.span());
                    self.walk_value(&element_path, element);
                }
            }
            _ => {}
        }
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line_of_offset(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line + 1,
            Err(next) => next,
        }
    }

    /// The line where `path` is written, or where its nearest written ancestor is (a missing
    /// key is reported at the table that lacks it).
    pub(crate) fn line_of_path(&self, path: &str) -> Option<usize> {
        let mut current = path;
        loop {
            if let Some(&i) = self.by_path.get(current) {
                return Some(self.line_of_offset(self.entries[i].start()));
            }
            current = parent(current)?;
            if current.is_empty() {
                return None;
            }
        }
    }

    /// The path of the innermost key or value containing `offset`, or else of the last key
    /// written before it on the same line (syntax errors often sit just after a key).
    pub(crate) fn path_at(&self, offset: usize) -> Option<&str> {
        let contains = |range: &Range<usize>| range.start <= offset && offset < range.end;
        let innermost = self
            .entries
            .iter()
            .filter_map(|entry| {
                let key = entry.key.as_ref().filter(|k| contains(k));
                let value = Some(&entry.value).filter(|v| contains(v));
                key.or(value).map(|range| (range.len(), entry))
            })
            .min_by_key(|(len, _)| *len)
            .map(|(_, entry)| entry.path.as_str());
        innermost.or_else(|| {
            let line = self.line_of_offset(offset);
            self.entries
                .iter()
                .filter_map(|entry| entry.key.as_ref().map(|k| (k.start, entry)))
                .filter(|(start, _)| *start <= offset && self.line_of_offset(*start) == line)
                .max_by_key(|(start, _)| *start)
                .map(|(_, entry)| entry.path.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"name = "x"

[org]
edition = "enterprise"

[[faults]]
kind = "outage"

[[faults]]
kind = "latency"
scope = { api = ["rest", "bulk"] }

[ownership]
"Account.Phone" = "sales"
"#;

    fn index() -> SpanIndex {
        let doc = DeTable::parse(DOC).unwrap();
        SpanIndex::new(DOC, Some(&doc))
    }

    #[test]
    fn paths_map_to_the_lines_they_are_written_on() {
        let index = index();
        assert_eq!(index.line_of_path("name"), Some(1));
        assert_eq!(index.line_of_path("org.edition"), Some(4));
        assert_eq!(index.line_of_path("faults[0]"), Some(6));
        assert_eq!(index.line_of_path("faults[1]"), Some(9));
        assert_eq!(index.line_of_path("faults[1].kind"), Some(10));
        assert_eq!(index.line_of_path("faults[1].scope.api[1]"), Some(11));
        assert_eq!(index.line_of_path("ownership.\"Account.Phone\""), Some(14));
    }

    #[test]
    fn missing_keys_fall_back_to_their_table() {
        let index = index();
        assert_eq!(index.line_of_path("faults[1].mode"), Some(9));
        assert_eq!(index.line_of_path("org.licences"), Some(3));
        assert_eq!(index.line_of_path("duration"), None);
    }

    #[test]
    fn offsets_map_to_the_innermost_path() {
        let index = index();
        let at = |needle: &str| DOC.find(needle).unwrap();
        assert_eq!(
            index.path_at(at("\"bulk\"")),
            Some("faults[1].scope.api[1]")
        );
        assert_eq!(index.path_at(at("\"latency\"")), Some("faults[1].kind"));
        assert_eq!(
            index.path_at(at("\"Account.Phone\"")),
            Some("ownership.\"Account.Phone\"")
        );
    }

    #[test]
    fn parents_respect_quotes_and_indexes() {
        assert_eq!(parent("faults[1].mode"), Some("faults[1]"));
        assert_eq!(parent("faults[1]"), Some("faults"));
        assert_eq!(parent("faults"), Some(""));
        assert_eq!(parent("ownership.\"Account.Phone\""), Some("ownership"));
        assert_eq!(parent(""), None);
        assert_eq!(
            push_key("ownership", "Account.Phone"),
            "ownership.\"Account.Phone\""
        );
        assert_eq!(
            push_key("expect.min_score", "blind-retries"),
            "expect.min_score.blind-retries"
        );
    }
}
