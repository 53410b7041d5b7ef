//! [`List`]: the borrowed list of fixed-size entries that NB RDATA (address
//! entries, RFC 1002 §4.2.13) and node status RDATA (the name table,
//! RFC 1002 §4.2.18) carry.
//!
//! A list holds its entries in one of three ways: the validated bytes of a
//! parsed datagram (decoded as they are iterated: each entry is a fixed
//! number of bytes whose every value is valid), a caller's slice, or one
//! value. Equality compares entries, whatever the origin.

use core::fmt;

/// An entry of a [`List`]: a fixed-size record that every byte pattern of
/// its length decodes to.
pub trait Entry: Copy + PartialEq + fmt::Debug + sealed::Sealed {
    /// Bytes of one entry on the wire.
    const LEN: usize;

    /// Decodes one entry from exactly [`Entry::LEN`] bytes.
    fn read(bytes: &[u8]) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::wire::NbAddrEntry {}
    impl Sealed for crate::wire::NodeName {}
}

/// A borrowed list of [`Entry`] values: NB address entries ([`NbAddrs`]) or
/// a node status name table ([`NodeNames`]).
///
/// ```
/// use core::net::Ipv4Addr;
/// use nbns::wire::{NbAddrEntry, NbAddrs, NbFlags, NodeType};
/// let e = NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 0, 0, 5));
/// let addrs = NbAddrs::one(e);
/// assert_eq!(addrs.len(), 1);
/// assert_eq!(addrs.first(), Some(e));
/// assert_eq!(addrs, NbAddrs::from_wire(&[0x60, 0, 10, 0, 0, 5]));
/// ```
///
/// [`NbAddrs`]: crate::wire::NbAddrs
/// [`NodeNames`]: crate::wire::NodeNames
#[derive(Clone, Copy)]
pub struct List<'a, T: Entry>(pub(crate) Repr<'a, T>);

/// How the entries are held.
#[derive(Clone, Copy)]
pub(crate) enum Repr<'a, T> {
    /// Validated wire bytes, a whole number of entries.
    Wire(&'a [u8]),
    /// A caller's slice.
    Slice(&'a [T]),
    /// One entry, by value.
    One(T),
}

impl<'a, T: Entry> List<'a, T> {
    /// No entries.
    pub const EMPTY: Self = Self(Repr::Slice(&[]));

    /// A single entry, held by value.
    #[must_use]
    pub const fn one(entry: T) -> Self {
        Self(Repr::One(entry))
    }

    /// Entries borrowed from a slice.
    #[must_use]
    pub const fn from_slice(entries: &'a [T]) -> Self {
        Self(Repr::Slice(entries))
    }

    /// Entries in wire form, [`Entry::LEN`] bytes each; an incomplete last
    /// entry is ignored.
    #[must_use]
    pub const fn from_wire(bytes: &'a [u8]) -> Self {
        Self(Repr::Wire(bytes))
    }

    /// Number of entries.
    #[must_use]
    #[inline]
    pub const fn len(&self) -> usize {
        match self.0 {
            Repr::Wire(b) => b.len() / T::LEN,
            Repr::Slice(s) => s.len(),
            Repr::One(_) => 1,
        }
    }

    /// Whether there are no entries.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first entry.
    #[must_use]
    pub fn first(&self) -> Option<T> {
        self.iter().next()
    }

    /// The entries, in order.
    #[must_use]
    #[inline]
    pub fn iter(&self) -> Iter<'a, T> {
        Iter {
            rest: self.0,
            done: false,
        }
    }

    /// Bytes on the wire: [`Entry::LEN`] per entry.
    #[must_use]
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        self.len() * T::LEN
    }

    /// How the entries are held.
    #[inline]
    pub(crate) const fn repr(&self) -> Repr<'a, T> {
        self.0
    }

    /// The wire bytes of a parsed list (whole entries only).
    #[inline]
    pub(crate) fn wire(&self) -> Option<&'a [u8]> {
        match self.0 {
            Repr::Wire(b) => b.get(..self.buffer_len()),
            _ => None,
        }
    }
}

impl<'a, T: Entry> IntoIterator for &List<'a, T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: Entry> PartialEq for List<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Entry> Eq for List<'_, T> {}

impl<T: Entry> fmt::Debug for List<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(feature = "arbitrary")]
impl<'a, T: Entry> arbitrary::Arbitrary<'a> for List<'a, T> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.int_in_range(0..=10usize)?;
        Ok(Self::from_wire(u.bytes(n * T::LEN)?))
    }
}

/// Iterator over a [`List`].
#[derive(Clone)]
pub struct Iter<'a, T: Entry> {
    /// What is left: wire bytes, a slice's tail, or the one entry.
    rest: Repr<'a, T>,
    /// Whether the one entry of a [`List::one`] was taken.
    done: bool,
}

impl<T: Entry> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("left", &self.len()).finish()
    }
}

impl<T: Entry> Iterator for Iter<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        match &mut self.rest {
            Repr::Wire(b) => {
                let (entry, tail) = b.split_at_checked(T::LEN)?;
                *b = tail;
                Some(T::read(entry))
            }
            Repr::Slice(s) => {
                let (first, tail) = s.split_first()?;
                *s = tail;
                Some(*first)
            }
            Repr::One(e) => {
                let e = *e;
                (!core::mem::replace(&mut self.done, true)).then_some(e)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = match self.rest {
            Repr::One(_) => usize::from(!self.done),
            r => List(r).len(),
        };
        (left, Some(left))
    }
}

impl<T: Entry> ExactSizeIterator for Iter<'_, T> {}
