//! Where transaction IDs come from: an injected source, so the state machine
//! draws no randomness itself and tests are deterministic.

/// A source of 16-bit transaction IDs (NAME_TRN_ID, RFC 1002 §4.2.1.1).
///
/// IDs should be unpredictable: an off-path attacker who guesses the ID of a
/// pending request can forge its answer (nmbd's IDs are time-based and
/// predictable). In production, feed this from the operating system's random
/// number generator. Any `FnMut() -> u16` is a source.
///
/// The client never uses the same ID for two transactions pending at once;
/// when a drawn ID is in use it draws again (then probes upward), so the
/// source need not avoid repeats.
///
/// ```
/// use nbns::client::IdSource;
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

/// A deterministic pseudo-random [`IdSource`] (SplitMix64) for tests,
/// simulations and benchmarks. **Not** unpredictable: seed it from a real
/// random source, or use another source, when facing a network.
///
/// ```
/// use nbns::client::{IdSource, SeededIds};
/// let mut a = SeededIds::new(7);
/// let mut b = SeededIds::new(7);
/// assert_eq!(a.next_id(), b.next_id());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededIds {
    state: u64,
}

impl SeededIds {
    /// A source with this seed; equal seeds give equal sequences.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }
}

impl Default for SeededIds {
    /// Seed 0.
    fn default() -> Self {
        Self::new(0)
    }
}

impl IdSource for SeededIds {
    fn next_id(&mut self) -> u16 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_spread() {
        let mut ids = SeededIds::new(1);
        let drawn: std::collections::HashSet<u16> = (0..1000).map(|_| ids.next_id()).collect();
        assert!(drawn.len() > 980);
    }
}
