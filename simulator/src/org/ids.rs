//! Salesforce record IDs: 15-character case-sensitive, returned as 18 characters with a checksum suffix.
//!
//! Layout of our 15 characters: 3-character key prefix + 2 characters naming the org (so IDs stay unique
//! across a multi-org simulator) + a 10-character base-62 counter. The counter is the row's key in
//! storage, so parsing an ID back is arithmetic, not a lookup.

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The parts of a parsed ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordId {
    pub prefix: [u8; 3],
    pub org: u16,
    pub num: u64,
}

impl RecordId {
    pub fn new(prefix: &str, org: u16, num: u64) -> RecordId {
        let mut p = [b'0'; 3];
        for (i, b) in prefix.bytes().take(3).enumerate() {
            p[i] = b;
        }
        RecordId {
            prefix: p,
            org,
            num,
        }
    }

    pub fn prefix(&self) -> &str {
        std::str::from_utf8(&self.prefix).unwrap_or("000")
    }

    pub fn to15(&self) -> String {
        let mut s = String::with_capacity(18);
        s.push_str(self.prefix());
        push_base62(&mut s, self.org as u64, 2);
        push_base62(&mut s, self.num, 10);
        s
    }

    pub fn to18(&self) -> String {
        let mut s = self.to15();
        let suffix = checksum(s.as_bytes());
        s.push_str(std::str::from_utf8(&suffix).unwrap_or("AAA"));
        s
    }

    /// Parse a 15- or 18-character ID. `None` when it is not ID-shaped or the checksum is wrong.
    pub fn parse(s: &str) -> Option<RecordId> {
        let b = s.as_bytes();
        if !(b.len() == 15 || b.len() == 18) || !b.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        let mut fixed = [0u8; 15];
        fixed.copy_from_slice(&b[..15]);
        if b.len() == 18 {
            // The suffix records which letters are upper-case, so an 18-character ID survives a
            // case-insensitive system; restore the case from it.
            for (chunk, s) in fixed.chunks_mut(5).zip(&b[15..18]) {
                let bits = SUFFIX.iter().position(|c| c.eq_ignore_ascii_case(s))?;
                for (i, c) in chunk.iter_mut().enumerate() {
                    if bits & (1 << i) != 0 {
                        if !c.is_ascii_alphabetic() {
                            return None;
                        }
                        *c = c.to_ascii_uppercase();
                    } else {
                        *c = c.to_ascii_lowercase();
                    }
                }
            }
        }
        let b = &fixed;
        let prefix = [b[0], b[1], b[2]];
        let org = parse_base62(&b[3..5])? as u16;
        let num = parse_base62(&b[5..15])?;
        Some(RecordId { prefix, org, num })
    }
}

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to18())
    }
}

fn push_base62(s: &mut String, mut v: u64, width: usize) {
    let mut buf = vec![b'0'; width];
    for slot in buf.iter_mut().rev() {
        *slot = BASE62[(v % 62) as usize];
        v /= 62;
    }
    s.push_str(std::str::from_utf8(&buf).unwrap_or(""));
}

fn parse_base62(b: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for c in b {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            b'a'..=b'z' => c - b'a' + 36,
            _ => return None,
        } as u64;
        v = v.checked_mul(62)?.checked_add(d)?;
    }
    Some(v)
}

/// The 3-character case-safe suffix: for each 5-character chunk, bit i is set when character i is an
/// upper-case letter; the 5-bit number indexes `A–Z0–5`.
pub fn checksum(id15: &[u8]) -> [u8; 3] {
    let mut out = [b'A'; 3];
    for (chunk, slot) in id15.chunks(5).take(3).zip(out.iter_mut()) {
        let mut bits = 0usize;
        for (i, c) in chunk.iter().enumerate() {
            if c.is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        *slot = SUFFIX[bits];
    }
    out
}

/// Whether a URL segment looks like an ID (as opposed to an external-id field name).
pub fn looks_like_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_salesforce() {
        assert_eq!(&checksum(b"001D000000IqhSL"), b"IAZ");
    }

    #[test]
    fn round_trip() {
        let id = RecordId::new("001", 1, 123_456);
        let s18 = id.to18();
        assert_eq!(s18.len(), 18);
        assert_eq!(RecordId::parse(&s18), Some(id));
        assert_eq!(RecordId::parse(&id.to15()), Some(id));
        assert_eq!(RecordId::parse(&s18.to_lowercase()), Some(id));
        assert_eq!(RecordId::parse(&s18.to_uppercase()), Some(id));
        assert_eq!(RecordId::parse("BAD"), None);
    }
}
