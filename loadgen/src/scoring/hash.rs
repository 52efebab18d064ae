//! A fast non-cryptographic hasher for the detectors' maps (request keys, record ids, paths).
//!
//! The scorer hashes several strings per journal entry; SipHash (std's default, built to resist
//! flooding by untrusted input) is a measurable share of a 10,000,000-entry pass. The journal is the
//! simulator's own output, so flooding is not a concern. This is the Fx multiply-rotate hash used by
//! rustc, eight bytes at a time, with a final avalanche so that hash tables get well-spread low bits.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Clone, Copy, Default)]
pub struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    /// The multiply only carries entropy upwards, so bytes that differ late in a string would
    /// leave the low bits (the table index) equal; a final avalanche (murmur3's fmix64) spreads
    /// every input bit over the whole word.
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// A `HashSet` with [`FastHasher`].
pub type FastSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;

/// The fast hash of one value.
#[inline]
pub fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = FastHasher::default();
    value.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_bits_spread_when_only_the_end_of_a_string_differs() {
        let buckets: std::collections::HashSet<u64> = (0..1_000)
            .map(|i| hash_of(&format!("/services/data/v62.0/sobjects/Account/001{i:015}")) & 0xff)
            .collect();
        assert!(
            buckets.len() > 200,
            "only {} of 256 low-byte values",
            buckets.len()
        );
    }

    #[test]
    fn distinguishes_nearby_strings() {
        let a = hash_of("/services/data/v62.0/sobjects/Account/A-000001");
        let b = hash_of("/services/data/v62.0/sobjects/Account/A-000002");
        assert_ne!(a, b);
        assert_ne!(hash_of("ab"), hash_of("ab\0"));
        assert_eq!(hash_of("same"), hash_of("same"));
    }
}
