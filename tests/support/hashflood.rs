//! Names for hash-flooding tests and benches: names whose keys collide
//! fully under the unkeyed fold-multiply hash the WINS server's table once
//! used (see `tests/server_collisions.rs` for why), and random names.
//! Shared by `tests/server_collisions.rs` and `benches/server.rs`.

use nbns::wire::NetbiosName;

/// The multiplier and fold of the old table hash.
const K: u64 = 0x9E37_79B9_7F4A_7C15;

fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Whether a unique registration of this name is stored (0x1C, 0x1E are
/// refused and 0x1D is never stored: those would skip the table).
fn stored(raw: &[u8; 16]) -> bool {
    !matches!(raw[15], 0x1C..=0x1E)
}

/// `n` names whose keys (name, empty scope) all hash to `fold(C · K)`
/// under the old hash.
pub(crate) fn colliding(n: usize) -> Vec<NetbiosName> {
    const C: u64 = 0x0123_4567_89AB_CDEF;
    (0u64..)
        .map(|i| {
            let lo = i.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ 0x4E41_4D45;
            let hi = fold_mul(lo, K) ^ C;
            let mut raw = [0u8; 16];
            raw[..8].copy_from_slice(&lo.to_le_bytes());
            raw[8..].copy_from_slice(&hi.to_le_bytes());
            raw
        })
        .filter(stored)
        .take(n)
        .map(NetbiosName::from_raw)
        .collect()
}

/// `n` names from a seeded generator: no structure at all.
pub(crate) fn random(n: usize) -> Vec<NetbiosName> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    core::iter::repeat_with(|| {
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&next().to_le_bytes());
        raw[8..].copy_from_slice(&next().to_le_bytes());
        raw
    })
    .filter(stored)
    .take(n)
    .map(NetbiosName::from_raw)
    .collect()
}
