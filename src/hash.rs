//! A small, fast, non-cryptographic hasher for the state machines' tables:
//! the WINS server's records (a 16-byte NetBIOS name plus a scope number,
//! hashed as three words) and the name client's pending transaction IDs.
//! Each word is mixed in with a folded 64×64→128-bit multiply, which
//! spreads every input bit over both halves of the state; that matters
//! because the table indexes buckets with the low bits and NetBIOS names
//! usually differ only in their last bytes.
//!
//! Not resistant to deliberate collisions (HashDoS): the server's table is
//! bounded by [`ServerConfig::max_records`](crate::server::ServerConfig::max_records),
//! so the worst case is slower lookups, not unbounded memory; the client's
//! keys are transaction IDs it draws itself.

use core::hash::{BuildHasherDefault, Hasher};

/// Odd multiplier: the 64-bit golden ratio.
const K: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    // Truncation is the point: fold the high half onto the low half.
    #[allow(clippy::cast_possible_truncation)]
    let (lo, hi) = (p as u64, (p >> 64) as u64);
    lo ^ hi
}

/// The hasher state.
#[derive(Default, Clone, Copy)]
pub(crate) struct FoldHasher {
    state: u64,
}

impl Hasher for FoldHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            if let Some(dst) = word.get_mut(..chunk.len()) {
                dst.copy_from_slice(chunk);
            }
            self.write_u64(u64::from_le_bytes(word));
        }
        self.write_u64(bytes.len() as u64);
    }

    #[inline]
    fn write_u64(&mut self, word: u64) {
        self.state = fold_mul(self.state ^ word, K);
    }

    #[inline]
    fn write_u32(&mut self, word: u32) {
        self.write_u64(u64::from(word));
    }

    #[inline]
    fn write_u16(&mut self, word: u16) {
        self.write_u64(u64::from(word));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.state
    }
}

/// `BuildHasher` for [`FoldHasher`].
pub(crate) type BuildFold = BuildHasherDefault<FoldHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use core::hash::BuildHasher;

    #[test]
    fn last_byte_changes_low_bits() {
        let b = BuildFold::default();
        let mut seen = std::collections::HashSet::new();
        for i in 0u8..=255 {
            let mut name = *b"NAME           \x00";
            name[15] = i;
            let h = b.hash_one(name);
            seen.insert(h & 0xFFF);
        }
        // 256 names over 4096 low-bit buckets: nearly all distinct.
        assert!(seen.len() > 240, "{}", seen.len());
    }

    #[test]
    fn byte_strings_differ_by_length() {
        let b = BuildFold::default();
        assert_ne!(b.hash_one(&b"a"[..]), b.hash_one(&b"a\0"[..]));
    }
}
