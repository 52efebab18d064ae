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
        let id = self.encode();
        id.as_str()[..15].to_string()
    }

    pub fn to18(&self) -> String {
        self.encode().as_str().to_string()
    }

    /// The 18-character form on the stack (rendering a record writes several ids; each `to18` is an
    /// allocation).
    pub fn encode(&self) -> Id18 {
        let mut b = [b'0'; 18];
        b[..3].copy_from_slice(self.prefix().as_bytes());
        write_base62(&mut b[3..5], self.org as u64);
        write_base62(&mut b[5..15], self.num);
        let suffix = checksum(&b[..15]);
        b[15..].copy_from_slice(&suffix);
        Id18(b)
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

/// An 18-character ID, see [`RecordId::encode`].
#[derive(Clone, Copy)]
pub struct Id18([u8; 18]);

impl Id18 {
    pub fn as_str(&self) -> &str {
        // The prefix of a valid id is alphanumeric, the rest is base-62 and the suffix alphabet.
        std::str::from_utf8(&self.0).unwrap_or("000000000000000AAA")
    }
}

/// `v` in base 62, right-aligned and zero-padded to the slot's width (higher digits are dropped).
fn write_base62(slot: &mut [u8], mut v: u64) {
    for c in slot.iter_mut().rev() {
        *c = BASE62[(v % 62) as usize];
        v /= 62;
    }
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

    #[test]
    fn encoding_is_base62_with_the_case_suffix() {
        let id = RecordId::new("001", 1, 62 * 62 + 61);
        assert_eq!(id.to15(), "00101000000010z");
        assert_eq!(id.to18(), "00101000000010zAAA");
        assert_eq!(RecordId::new("a0B", 61, 36).to18(), "a0B0z000000000aEAA");
    }
}
