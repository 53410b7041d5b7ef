//! The yardstick of the replication benches: the bytes of a Name Records
//! Response read as big-endian words and added, measured in the same run
//! as the figures it anchors (the shared host's speed drifts).

/// The wrapping sum of `bytes` as big-endian 32-bit words.
pub(crate) fn sum_words(bytes: &[u8]) -> u32 {
    let (words, _) = bytes.as_chunks::<4>();
    words
        .iter()
        .fold(0u32, |acc, w| acc.wrapping_add(u32::from_be_bytes(*w)))
}
