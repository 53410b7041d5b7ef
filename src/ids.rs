//! Where transaction IDs come from (NAME_TRN_ID, RFC 1002 §4.2.1.1): the
//! name client's requests and the WINS server's challenge queries.
//!
//! An off-path attacker who predicts the ID of a pending request can forge
//! its answer (nmbd's IDs are time-based and predictable; reference (g),
//! "Use a CSPRNG 16-bit TRN_ID"). Both state machines therefore draw IDs
//! from [`OsRandomIds`], the operating system's random number generator,
//! unless the application injects another [`IdSource`].
//! [`DeterministicIds`] exists for tests and simulations only.

/// A source of 16-bit transaction IDs.
///
/// Any `FnMut() -> u16` is a source. The state machines never use the same
/// ID for two transactions pending at once (they draw again when a drawn ID
/// is in use), so a source need not avoid repeats; it must be unpredictable
/// when the machine faces a network.
///
/// ```
/// use nbns::ids::IdSource;
/// let mut counter = 0u16;
/// let mut ids = move || { counter = counter.wrapping_add(1); counter };
/// assert_eq!(ids.next_id(), 1);
/// assert_eq!(ids.next_id(), 2);
/// ```
pub trait IdSource {
    /// The next transaction ID.
    fn next_id(&mut self) -> u16;
}

impl<F: FnMut() -> u16> IdSource for F {
    fn next_id(&mut self) -> u16 {
        self()
    }
}

impl IdSource for Box<dyn IdSource + Send> {
    fn next_id(&mut self) -> u16 {
        (**self).next_id()
    }
}

/// IDs from the operating system's cryptographically secure random number
/// generator (`getrandom(2)` on Linux, through the `getrandom` crate): the
/// default of [`NameClient`](crate::client::NameClient) and
/// [`WinsServer`](crate::server::WinsServer).
///
/// Draws 64 bytes (32 IDs) at a time. Should the operating system ever fail
/// to deliver, the IDs come from SipHash over a counter keyed by std's
/// `RandomState` (itself seeded from the operating system at start-up)
/// rather than stopping the state machine.
///
/// Deliberately not `Clone`: two copies would hand out the same IDs.
///
/// ```
/// use nbns::ids::{IdSource, OsRandomIds};
/// let mut ids = OsRandomIds::new();
/// let drawn: std::collections::HashSet<u16> = (0..64).map(|_| ids.next_id()).collect();
/// assert!(drawn.len() > 50);
/// ```
pub struct OsRandomIds {
    buf: [u8; 64],
    /// Bytes of `buf` already handed out.
    used: usize,
    fallback: Option<(std::collections::hash_map::RandomState, u64)>,
}

impl OsRandomIds {
    /// A source with an empty buffer; the first ID fills it.
    #[must_use]
    pub fn new() -> Self {
        Self {
            buf: [0; 64],
            used: 64,
            fallback: None,
        }
    }

    fn refill(&mut self) {
        self.used = 0;
        if getrandom::fill(&mut self.buf).is_ok() {
            return;
        }
        use core::hash::BuildHasher;
        let (state, counter) = self.fallback.get_or_insert_with(Default::default);
        for chunk in self.buf.chunks_mut(8) {
            *counter = counter.wrapping_add(1);
            let word = state.hash_one(*counter).to_le_bytes();
            chunk.copy_from_slice(word.get(..chunk.len()).unwrap_or_default());
        }
    }
}

impl Default for OsRandomIds {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for OsRandomIds {
    /// Shows nothing of the buffered IDs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OsRandomIds").finish_non_exhaustive()
    }
}

impl IdSource for OsRandomIds {
    fn next_id(&mut self) -> u16 {
        if self.used + 2 > self.buf.len() {
            self.refill();
        }
        let id = self
            .buf
            .get(self.used..)
            .and_then(<[u8]>::first_chunk::<2>)
            .map_or(0, |b| u16::from_le_bytes(*b));
        self.used += 2;
        id
    }
}

/// A deterministic pseudo-random [`IdSource`] (SplitMix64), **for tests,
/// simulations, fuzzing and benchmarks only**: anyone who sees one ID can
/// compute the rest. Never a default anywhere in the crate; equal seeds
/// give equal sequences.
///
/// ```
/// use nbns::ids::{DeterministicIds, IdSource};
/// let mut a = DeterministicIds::new(7);
/// let mut b = DeterministicIds::new(7);
/// assert_eq!(a.next_id(), b.next_id());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeterministicIds {
    state: u64,
}

impl DeterministicIds {
    /// A source with this seed.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }
}

impl IdSource for DeterministicIds {
    fn next_id(&mut self) -> u16 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        // The low 16 bits of the mixed word: truncation is the point.
        #[allow(clippy::cast_possible_truncation)]
        let id = (z ^ (z >> 31)) as u16;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_ids_spread() {
        let mut ids = DeterministicIds::new(1);
        let drawn: std::collections::HashSet<u16> = (0..1000).map(|_| ids.next_id()).collect();
        assert!(drawn.len() > 980);
    }

    #[test]
    fn os_ids_differ_between_sources_and_refill() {
        let a: Vec<u16> = {
            let mut s = OsRandomIds::new();
            (0..100).map(|_| s.next_id()).collect()
        };
        let b: Vec<u16> = {
            let mut s = OsRandomIds::new();
            (0..100).map(|_| s.next_id()).collect()
        };
        // 100 IDs span three refills; two sources agreeing on all of them
        // has probability 2^-1600.
        assert_ne!(a, b);
        let distinct: std::collections::HashSet<_> = a.iter().collect();
        assert!(distinct.len() > 80, "{}", distinct.len());
    }
}
