//! The hasher of every table the state machines key by bytes from the
//! network: the WINS server's records and scopes, the name client's name
//! index and transaction table.
//!
//! NetBIOS names are 16 bytes an attacker chooses freely. Under an unkeyed
//! hash, names that collide are cheap to find (for a fold-multiply hash,
//! one multiply per name), and each colliding insert or lookup then walks
//! every earlier one: work per request grows with the table. So the tables
//! use foldhash keyed from the operating system's random number generator:
//! one 64-bit key per process expands to foldhash's shared seed, and every
//! table draws its own 64-bit per-table seed. Collisions found for one key,
//! or for another table, say nothing about this one.
//!
//! foldhash rather than std's SipHash-1-3: it hashes a 20-byte key in a
//! few multiplies instead of a SipHash pass. In the `client` benchmark
//! (re-register 10,000 names) SipHash took 1.4–1.6× as long as the former
//! unkeyed hash and foldhash the same; in the server's request mix the two
//! were within noise. foldhash's own `RandomState` is not used because it
//! derives its seeds from stack addresses, not from the operating system.

use core::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::SharedSeed;
use foldhash::fast::{FoldHasher, SeedableRandomState};

/// A random 64-bit word from the operating system; std's `RandomState`
/// (also seeded from the operating system) should that ever fail.
fn os_u64() -> u64 {
    getrandom::u64()
        .unwrap_or_else(|_| std::collections::hash_map::RandomState::new().hash_one(0u64))
}

/// The process-wide seed, drawn once.
fn shared_seed() -> &'static SharedSeed {
    static SEED: OnceLock<SharedSeed> = OnceLock::new();
    SEED.get_or_init(|| SharedSeed::from_u64(os_u64()))
}

/// `BuildHasher` with a key of its own from the operating system.
#[derive(Clone, Debug)]
pub(crate) struct KeyedState(SeedableRandomState);

impl Default for KeyedState {
    fn default() -> Self {
        Self(SeedableRandomState::with_seed(os_u64(), shared_seed()))
    }
}

impl BuildHasher for KeyedState {
    type Hasher = FoldHasher<'static>;

    #[inline(always)]
    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_keyed_differently() {
        let (a, b) = (KeyedState::default(), KeyedState::default());
        let name = *b"NAME           \x00";
        assert_ne!(a.hash_one(name), b.hash_one(name));
        assert_eq!(a.hash_one(name), a.clone().hash_one(name));
    }

    #[test]
    fn last_byte_changes_low_bits() {
        let b = KeyedState::default();
        let mut seen = std::collections::HashSet::new();
        for i in 0u8..=255 {
            let mut name = *b"NAME           \x00";
            name[15] = i;
            seen.insert(b.hash_one(name) & 0xFFF);
        }
        // 256 names over 4096 low-bit buckets: nearly all distinct.
        assert!(seen.len() > 240, "{}", seen.len());
    }
}
