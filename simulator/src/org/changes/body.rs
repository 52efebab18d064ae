//! The compact byte form of a change's field values.
//!
//! A retained change keeps its payload as one boxed byte string instead of a map of JSON values: an
//! Account insert with a handful of fields takes ~60–120 bytes here against ~1.5 KB as a
//! `serde_json::Map`, which is what lets the log hold a million changes (a bulk load) without gigabytes.
//! Entries are `field index (u16 LE) · tag (u8) · payload`, with integers as zig-zag varints and strings
//! as a varint length plus UTF-8 bytes. Only this module reads or writes the format.

use crate::org::value::Value;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const NUM: u8 = 4;
const STR: u8 = 5;
const DATE: u8 = 6;
const DATETIME: u8 = 7;
const TIME: u8 = 8;

/// Encode `(field index, value)` entries.
pub fn encode<'a>(entries: impl IntoIterator<Item = (u16, &'a Value)>) -> Box<[u8]> {
    let mut out = Vec::new();
    for (field, value) in entries {
        out.extend_from_slice(&field.to_le_bytes());
        match value {
            Value::Null => out.push(NULL),
            Value::Bool(false) => out.push(FALSE),
            Value::Bool(true) => out.push(TRUE),
            Value::Int(i) => {
                out.push(INT);
                put_varint(&mut out, zigzag(*i));
            }
            Value::Num(n) => {
                out.push(NUM);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Value::Str(s) => {
                out.push(STR);
                put_varint(&mut out, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Date(d) => {
                out.push(DATE);
                put_varint(&mut out, zigzag(i64::from(*d)));
            }
            Value::DateTime(ms) => {
                out.push(DATETIME);
                put_varint(&mut out, zigzag(*ms));
            }
            Value::Time(ms) => {
                out.push(TIME);
                put_varint(&mut out, u64::from(*ms));
            }
        }
    }
    out.into_boxed_slice()
}

/// Iterate the entries of an encoded body. A malformed body (it never is: only [`encode`] writes them)
/// ends the iteration rather than panicking.
pub fn entries(buf: &[u8]) -> Entries<'_> {
    Entries { buf }
}

pub struct Entries<'a> {
    buf: &'a [u8],
}

impl Iterator for Entries<'_> {
    type Item = (u16, Value);

    fn next(&mut self) -> Option<(u16, Value)> {
        let (head, rest) = self.buf.split_first_chunk::<3>()?;
        let field = u16::from_le_bytes([head[0], head[1]]);
        let mut rest = rest;
        let value = match head[2] {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            INT => Value::Int(unzigzag(take_varint(&mut rest)?)),
            NUM => {
                let (n, r) = rest.split_first_chunk::<8>()?;
                rest = r;
                Value::Num(f64::from_le_bytes(*n))
            }
            STR => {
                let len = usize::try_from(take_varint(&mut rest)?).ok()?;
                if rest.len() < len {
                    self.buf = &[];
                    return None;
                }
                let (s, r) = rest.split_at(len);
                rest = r;
                Value::str(std::str::from_utf8(s).ok()?)
            }
            DATE => Value::Date(i32::try_from(unzigzag(take_varint(&mut rest)?)).ok()?),
            DATETIME => Value::DateTime(unzigzag(take_varint(&mut rest)?)),
            TIME => Value::Time(u32::try_from(take_varint(&mut rest)?).ok()?),
            _ => {
                self.buf = &[];
                return None;
            }
        };
        self.buf = rest;
        Some((field, value))
    }
}

fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(buf: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (b, rest) = buf.split_first()?;
        *buf = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>()
                .prop_filter("NaN never equals itself", |n| !n.is_nan())
                .prop_map(Value::Num),
            ".{0,40}".prop_map(Value::str),
            any::<i32>().prop_map(Value::Date),
            any::<i64>().prop_map(Value::DateTime),
            any::<u32>().prop_map(Value::Time),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(list in proptest::collection::vec((any::<u16>(), value()), 0..20)) {
            let buf = encode(list.iter().map(|(f, v)| (*f, v)));
            let back: Vec<(u16, Value)> = entries(&buf).collect();
            prop_assert_eq!(back, list);
        }

        #[test]
        fn truncated_bodies_end_cleanly(list in proptest::collection::vec((any::<u16>(), value()), 1..8),
                                        cut in 0usize..64) {
            let buf = encode(list.iter().map(|(f, v)| (*f, v)));
            let cut = cut.min(buf.len());
            // Never panics; yields at most the entries that fit.
            prop_assert!(entries(&buf[..cut]).count() <= list.len());
        }
    }

    #[test]
    fn small_values_take_few_bytes() {
        let name = Value::str("Acme Corporation");
        let buf = encode([(3, &name), (7, &Value::Int(42)), (9, &Value::Null)]);
        // 3 + 1 + 16, 3 + 1, 3
        assert_eq!(buf.len(), 27);
    }
}
