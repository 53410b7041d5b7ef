//! The layout of a row of the `log` table: the last state of each record
//! a large commit changed, written as one value instead of one row per
//! record (see [`Store`](super::Store)), until it is folded into the
//! record tables.
//!
//! ```text
//! row:   entry count n (4) | n × entry
//! entry: key length (2) | key | value length (2, 0: the record was removed) | value
//! ```
//!
//! Keys and values are those of the record tables (`codec`); lengths are
//! big-endian.

/// Bytes of a row before its entries.
const HEAD: usize = 4;

/// Starts a row in `out`.
pub(crate) fn start(out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&[0; HEAD]);
}

/// Appends an entry to the row in `out`: `value` `None` for a removal.
/// Keys and values are short (a name with its scope, a record with at
/// most 25 addresses), far below the 65,535 bytes a length can say.
pub(crate) fn push(out: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) {
    let value = value.unwrap_or_default();
    let len = |b: &[u8]| u16::try_from(b.len()).unwrap_or(u16::MAX).to_be_bytes();
    out.extend_from_slice(&len(key));
    out.extend_from_slice(key);
    out.extend_from_slice(&len(value));
    out.extend_from_slice(value);
    let n = count(out).unwrap_or(0).saturating_add(1);
    if let Some(head) = out.first_chunk_mut::<HEAD>() {
        *head = n.to_be_bytes();
    }
}

/// The number of entries a row says it has.
pub(crate) fn count(row: &[u8]) -> Option<u32> {
    row.first_chunk::<HEAD>().map(|b| u32::from_be_bytes(*b))
}

/// An entry of a row: the record's key, and its value (`None`: removed).
pub(crate) type Entry<'a> = (&'a [u8], Option<&'a [u8]>);

/// The entries of `row`, in order; an `Err` carries the offset in the
/// row where it stops making sense, and ends the iteration.
pub(crate) fn entries(row: &[u8]) -> impl Iterator<Item = Result<Entry<'_>, usize>> {
    let mut at = HEAD;
    // entries still to read; `None` once the row has ended or failed
    let mut left = count(row).map(u64::from);
    let mut failed = left.is_none().then_some(0);
    core::iter::from_fn(move || {
        if let Some(offset) = failed.take() {
            left = None;
            return Some(Err(offset));
        }
        let n = left.as_mut()?;
        if *n == 0 {
            left = None;
            // bytes after the last entry
            return (at != row.len()).then_some(Err(at));
        }
        *n -= 1;
        let start = at;
        let mut field = || {
            let len = usize::from(u16::from_be_bytes(*row.get(at..)?.first_chunk::<2>()?));
            let bytes = row.get(at + 2..at + 2 + len)?;
            at += 2 + len;
            Some(bytes)
        };
        match (field(), field()) {
            (Some(key), Some(value)) => Some(Ok((key, (!value.is_empty()).then_some(value)))),
            _ => {
                left = None;
                Some(Err(start))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two entries: key `AB` with value `\x01\x02\x03`, key `C` removed.
    static ROW: [u8; 18] = [
        0, 0, 0, 2, // two entries
        0, 2, b'A', b'B', 0, 3, 1, 2, 3, // AB = 01 02 03
        0, 1, b'C', 0, 0, // C removed
    ];

    #[test]
    fn a_row_is_written_and_read_back() {
        let mut out = Vec::new();
        start(&mut out);
        push(&mut out, b"AB", Some(&[1, 2, 3]));
        push(&mut out, b"C", None);
        assert_eq!(out, ROW);
        let read: Vec<_> = entries(&ROW).collect();
        assert_eq!(
            read,
            [
                Ok((&b"AB"[..], Some(&[1u8, 2, 3][..]))),
                Ok((&b"C"[..], None))
            ]
        );
    }

    #[test]
    fn a_damaged_row_says_where() {
        // cut inside the second entry: that entry's offset
        let cut: Vec<_> = entries(&ROW[..15]).collect();
        assert_eq!(cut.len(), 2);
        assert_eq!(cut[1], Err(13));
        // a count above the entries present
        let mut more = ROW.to_vec();
        more[3] = 3;
        assert_eq!(entries(&more).last(), Some(Err(18)));
        // bytes after the last entry
        let mut long = ROW.to_vec();
        long.push(0);
        assert_eq!(entries(&long).last(), Some(Err(18)));
        // no header
        assert_eq!(entries(&[0, 0]).collect::<Vec<_>>(), [Err(0)]);
        // a count of four billion over an empty row ends at once
        assert_eq!(entries(&[0xff; 4]).count(), 1);
    }

    proptest::proptest! {
        /// Any bytes read as a row end in entries or one error, never a
        /// panic, and never more items than the bytes allow.
        #[test]
        fn any_bytes_read_as_a_row_end(row in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let items: Vec<_> = entries(&row).take(100).collect();
            proptest::prop_assert!(items.len() <= row.len() / 4 + 1);
            let errors = items.iter().filter(|e| e.is_err()).count();
            proptest::prop_assert!(errors <= 1);
            if errors == 1 {
                proptest::prop_assert!(items.last().is_some_and(Result::is_err));
            }
        }

        /// What is written is read back.
        #[test]
        fn entries_round_trip(list in proptest::collection::vec(
            (proptest::collection::vec(proptest::prelude::any::<u8>(), 16..40),
             proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..80))),
            0..20,
        )) {
            let mut out = Vec::new();
            start(&mut out);
            for (k, v) in &list {
                push(&mut out, k, v.as_deref());
            }
            let back: Vec<_> = entries(&out).map(|e| e.map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))).collect();
            let want: Vec<_> = list.into_iter().map(Ok).collect();
            proptest::prop_assert_eq!(back, want);
        }
    }
}
