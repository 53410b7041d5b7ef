//! NetBIOS names (RFC 1001 §14, RFC 1002 §4.1): the 16 raw bytes, their
//! first-level ("half-ASCII") encoding, scope IDs and compression pointers.

use core::fmt;
use core::str::FromStr;

use crate::wire::MAX_POINTERS;
use crate::wire::error::NameError;

/// Most characters a scope ID (or the NS record's domain name) may hold,
/// counting the dots between labels.
///
/// The RFC's 255-byte DNS limit would allow about 221; Samba reads up to 237
/// (it counts the NetBIOS part as 16 bytes, not 32) and its WINS server
/// answers SRV_ERR above that. The parser accepts up to 255 so that a server
/// can see such a request and refuse it.
pub const MAX_SCOPE_LEN: usize = 255;

/// Most labels a scope ID (or domain name) may have.
pub const MAX_LABELS: usize = 128;

/// Most bytes of a single label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Length of a first-level encoded NetBIOS name label.
pub(crate) const ENCODED_LEN: usize = 32;

/// A NetBIOS name: exactly 16 raw bytes, the last being the suffix (the
/// "type" byte). RFC 1001 §14.1; MS-NBTE §2.2.1 ("sixteen 8-bit binary bytes,
/// with no restrictions").
///
/// Byte-exact: any byte value is kept, case is preserved, and two names are
/// equal only when all 16 bytes are.
///
/// ```
/// use nbns::wire::NetbiosName;
/// let n = NetbiosName::new("FRED", 0x20).unwrap();
/// assert_eq!(n.as_bytes(), b"FRED           \x20");
/// assert_eq!(n.to_string(), "FRED<20>");
/// assert_eq!("FRED<20>".parse::<NetbiosName>().unwrap(), n);
/// assert_eq!(NetbiosName::wildcard().as_bytes(), b"*\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
/// ```
#[derive(Clone, Copy, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NetbiosName([u8; 16]);

impl core::hash::Hash for NetbiosName {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for NetbiosName {
    /// All 16 bytes, compared as one 128-bit word (a `memcmp` call costs more
    /// than the comparison).
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        u128::from_ne_bytes(self.0) == u128::from_ne_bytes(other.0)
    }
}

impl NetbiosName {
    /// The name from its 16 raw bytes.
    #[must_use]
    pub const fn from_raw(raw: [u8; 16]) -> Self {
        Self(raw)
    }

    /// The wildcard name `*` used by node status requests: `*` followed by
    /// fifteen NUL bytes (RFC 1002 §4.1; Samba, illumos and Windows pad it
    /// with NUL, not space).
    #[must_use]
    pub const fn wildcard() -> Self {
        let mut raw = [0u8; 16];
        raw[0] = b'*';
        Self(raw)
    }

    /// A name from up to 15 bytes of text and a suffix byte. The text is
    /// padded with spaces, except `*`, which is padded with NULs. The bytes are
    /// kept as given (no case change; see [`NetbiosName::to_ascii_uppercase`]).
    ///
    /// # Errors
    /// [`NameError::Empty`] or [`NameError::TooLong`].
    pub fn from_bytes(name: &[u8], suffix: u8) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.len() > 15 {
            return Err(NameError::TooLong { len: name.len() });
        }
        let pad = if name == b"*" { 0 } else { b' ' };
        let mut raw = [pad; 16];
        for (dst, &b) in raw.iter_mut().zip(name) {
            *dst = b;
        }
        raw[15] = suffix;
        Ok(Self(raw))
    }

    /// Like [`NetbiosName::from_bytes`], from a string.
    ///
    /// # Errors
    /// [`NameError::Empty`] or [`NameError::TooLong`] (counted in bytes).
    pub fn new(name: &str, suffix: u8) -> Result<Self, NameError> {
        Self::from_bytes(name.as_bytes(), suffix)
    }

    /// A name as Windows makes one from what a user typed (`nbtstat`, the
    /// computer name, `net name`): [`NetbiosName::new`], then the ASCII
    /// letters `a`–`z` of the name upper-cased; the suffix is kept.
    ///
    /// Windows upper-cases in the OEM code page (MS-NBTE §2.2.1 leaves the
    /// 15 bytes unrestricted; Windows' NetBIOS interface converts names with
    /// `RtlUpcaseUnicodeStringToOemString`), so on Windows `müller` becomes
    /// `MÜLLER` in, say, code page 850. This constructor knows no code page:
    /// bytes outside ASCII — here the UTF-8 bytes of non-ASCII characters —
    /// are kept as they are, and the length limit counts those bytes. To
    /// match a Windows peer on non-ASCII names, encode and upper-case them
    /// in its code page and use [`NetbiosName::from_bytes`].
    /// [`NetbiosName::new`] keeps case, as names on the wire do.
    ///
    /// ```
    /// use nbns::wire::NetbiosName;
    /// let n = NetbiosName::new_uppercase("fileSrv-1", 0x20).unwrap();
    /// assert_eq!(n.as_bytes(), b"FILESRV-1      \x20");
    /// ```
    ///
    /// # Errors
    /// [`NameError::Empty`] or [`NameError::TooLong`] (counted in bytes).
    pub fn new_uppercase(name: &str, suffix: u8) -> Result<Self, NameError> {
        Self::new(name, suffix).map(|n| n.to_ascii_uppercase())
    }

    /// The 16 raw bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The suffix (16th) byte, which names the service: `<00>` workstation,
    /// `<20>` file server, `<1c>` domain controllers, and so on.
    #[must_use]
    pub const fn suffix(&self) -> u8 {
        self.0[15]
    }

    /// The first 15 bytes without their padding (trailing spaces; trailing
    /// NULs too when the name starts with `*`).
    #[must_use]
    pub fn trimmed(&self) -> &[u8] {
        let pad = if self.0[0] == b'*' { 0 } else { b' ' };
        let (body, _) = self.0.split_at(15);
        let end = body.iter().rposition(|&c| c != pad).map_or(0, |i| i + 1);
        body.split_at(end).0
    }

    /// Whether this is the `*` wildcard (first byte `*`).
    #[must_use]
    pub const fn is_wildcard(&self) -> bool {
        self.0[0] == b'*'
    }

    /// The same name with ASCII letters of the first 15 bytes upper-cased, as
    /// Windows and Samba clients do before registering.
    #[must_use]
    pub fn to_ascii_uppercase(&self) -> Self {
        let mut raw = self.0;
        raw[..15].make_ascii_uppercase();
        Self(raw)
    }

    /// The 32-byte first-level encoding (RFC 1001 §14.1): each nibble as
    /// `'A' + nibble`.
    #[must_use]
    pub fn encode(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        let (quads, _) = self.0.as_chunks::<4>();
        let (octs, _) = out.as_chunks_mut::<8>();
        for (dst, quad) in octs.iter_mut().zip(quads) {
            *dst = encode_quad(*quad);
        }
        out
    }

    /// Decodes a 32-byte first-level label. On a character outside `A`–`P`
    /// returns its index.
    #[inline(always)]
    pub(crate) fn decode(encoded: &[u8; 32]) -> Result<Self, usize> {
        match decode_chars(encoded) {
            Some(raw) => Ok(Self(raw)),
            None => Err(first_bad_char(encoded)),
        }
    }
}

/// The 16 bytes of a 32-character first-level label, or `None` if some
/// character is outside `'A'..='P'`.
///
/// Plain loops over fixed-size arrays, which the compiler turns into a few
/// 16-byte vector operations: two loads, the split into even and odd
/// characters, one subtraction each, a shift and an OR. Each character
/// less `'A'` is 0–15 if valid and has a high-nibble bit set otherwise;
/// `seen` gathers those bits for all 32 at once. Kept out of line: inlined
/// into the parser's larger body, the loops stay byte by byte.
#[inline(never)]
fn decode_chars(encoded: &[u8; 32]) -> Option<[u8; 16]> {
    let (pairs, _) = encoded.as_chunks::<2>();
    let mut raw = [0u8; 16];
    let mut seen = [0u8; 16];
    for ((out, any), &[hi, lo]) in raw.iter_mut().zip(seen.iter_mut()).zip(pairs) {
        let (hi, lo) = (hi.wrapping_sub(b'A'), lo.wrapping_sub(b'A'));
        *any = hi | lo;
        *out = (hi << 4) | lo;
    }
    if u128::from_ne_bytes(seen) & HIGH_NIBBLES != 0 {
        return None;
    }
    Some(raw)
}

/// Index of the first character outside `'A'..='P'` (the error path of
/// [`NetbiosName::decode`], kept out of line).
#[cold]
#[inline(never)]
fn first_bad_char(encoded: &[u8; 32]) -> usize {
    encoded
        .iter()
        .position(|c| c.wrapping_sub(b'A') > 15)
        .unwrap_or(0)
}

const LANES_LO: u64 = 0x00FF_00FF_00FF_00FF;
const NIBBLES: u64 = 0x000F_000F_000F_000F;
const EACH_41: u64 = 0x4141_4141_4141_4141;
/// The high nibble of each of 16 bytes.
const HIGH_NIBBLES: u128 = 0xF0F0_F0F0_F0F0_F0F0_F0F0_F0F0_F0F0_F0F0;

/// The first-level encoding as four 8-character pieces, each made in a
/// register, for callers that store them straight into their output.
#[inline(always)]
pub(crate) fn encode_pieces(name: &NetbiosName) -> [[u8; 8]; 4] {
    let (quads, _) = name.0.as_chunks::<4>();
    let mut out = [[0u8; 8]; 4];
    for (dst, quad) in out.iter_mut().zip(quads) {
        *dst = encode_quad(*quad);
    }
    out
}

/// Four name bytes to their eight half-ASCII characters, in one 64-bit word:
/// each byte is spread into a 16-bit lane, split into nibbles, and `'A'` is
/// added to every resulting byte.
#[inline]
fn encode_quad(quad: [u8; 4]) -> [u8; 8] {
    let mut s = u64::from(u32::from_le_bytes(quad));
    s = (s | (s << 16)) & 0x0000_FFFF_0000_FFFF;
    s = (s | (s << 8)) & LANES_LO;
    let hi = (s >> 4) & NIBBLES;
    let lo = (s & NIBBLES) << 8;
    (hi | lo).wrapping_add(EACH_41).to_le_bytes()
}

/// Writes bytes, escaping what is not printable ASCII (and `\`) as `\xNN`.
fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            fmt::Write::write_char(f, char::from(b))?;
        } else {
            write!(f, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

impl fmt::Display for NetbiosName {
    /// `NAME<xx>`: the trimmed name, bytes outside printable ASCII as `\xNN`,
    /// and the suffix in hex. [`FromStr`] reads the same form back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.trimmed())?;
        write!(f, "<{:02x}>", self.suffix())
    }
}

impl fmt::Debug for NetbiosName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetbiosName(\"{self}\")")
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex_byte(s: &[u8]) -> Option<u8> {
    match s {
        [a, b] => Some(hex_val(*a)? << 4 | hex_val(*b)?),
        _ => None,
    }
}

impl FromStr for NetbiosName {
    type Err = NameError;

    /// Reads `NAME<xx>` or Samba's `NAME#xx` (suffix in hex; `NAME` alone
    /// means suffix `00`). `\xNN` escapes stand for any byte. The text is
    /// padded as [`NetbiosName::from_bytes`] does; no case change.
    fn from_str(s: &str) -> Result<Self, NameError> {
        let b = s.as_bytes();
        let (body, suffix) = if let Some(stripped) = b.strip_suffix(b">") {
            let open = stripped
                .iter()
                .rposition(|&c| c == b'<')
                .ok_or(NameError::BadSuffix)?;
            let (body, hex) = stripped.split_at(open);
            (
                body,
                hex.get(1..)
                    .and_then(hex_byte)
                    .ok_or(NameError::BadSuffix)?,
            )
        } else if let Some(hash) = b.iter().rposition(|&c| c == b'#') {
            let (body, hex) = b.split_at(hash);
            (
                body,
                hex.get(1..)
                    .and_then(hex_byte)
                    .ok_or(NameError::BadSuffix)?,
            )
        } else {
            (b, 0)
        };
        let mut raw = [0u8; 15];
        let mut len = 0;
        let mut rest = body;
        while let Some((&c, tail)) = rest.split_first() {
            let byte = if c == b'\\' {
                let (esc, tail) = tail.split_at_checked(3).ok_or(NameError::BadEscape)?;
                rest = tail;
                match esc {
                    [b'x', h @ ..] => hex_byte(h).ok_or(NameError::BadEscape)?,
                    _ => return Err(NameError::BadEscape),
                }
            } else {
                rest = tail;
                c
            };
            *raw.get_mut(len).ok_or(NameError::TooLong { len: 16 })? = byte;
            len += 1;
        }
        Self::from_bytes(raw.get(..len).unwrap_or_default(), suffix)
    }
}

/// A sequence of DNS-style labels: a NetBIOS scope ID (RFC 1001 §14.2), or
/// the domain name in a redirect's NS record.
///
/// Zero-copy: a parsed scope borrows the datagram and follows its compression
/// pointers when iterated; a scope built with [`Labels::from_dotted`] borrows
/// the caller's text. Two scopes are equal when their labels are, byte for
/// byte, whatever their origin.
///
/// ```
/// use nbns::wire::Labels;
/// let s = Labels::from_dotted(b"corp.example").unwrap();
/// assert_eq!(s.iter().collect::<Vec<_>>(), [&b"corp"[..], b"example"]);
/// assert_eq!(s.to_string(), "corp.example");
/// assert!(Labels::EMPTY.is_empty());
/// ```
#[derive(Clone, Copy)]
pub struct Labels<'a>(Repr<'a>);

#[derive(Clone, Copy)]
enum Repr<'a> {
    /// Dotted text, already validated.
    Dotted(&'a [u8]),
    /// A validated label sequence in a datagram, starting at `at`.
    Wire { msg: &'a [u8], at: usize },
}

impl<'a> Labels<'a> {
    /// No labels: the empty scope.
    pub const EMPTY: Labels<'static> = Labels(Repr::Dotted(b""));

    /// The label sequence at `at` of a datagram the grammar validated.
    #[inline(always)]
    pub(crate) const fn wire(msg: &'a [u8], at: usize) -> Self {
        Self(Repr::Wire { msg, at })
    }

    /// Labels from dotted text such as `corp.example`. Each label must be 1 to
    /// 63 bytes; any byte but `.` may appear in a label. Empty text gives the
    /// empty scope.
    ///
    /// # Errors
    /// [`NameError::BadLabel`] or [`NameError::ScopeTooLong`].
    pub fn from_dotted(text: &'a [u8]) -> Result<Self, NameError> {
        if text.is_empty() {
            return Ok(Self(Repr::Dotted(text)));
        }
        if text.len() > MAX_SCOPE_LEN {
            return Err(NameError::ScopeTooLong);
        }
        let mut count = 0;
        for (index, label) in text.split(|&c| c == b'.').enumerate() {
            if label.is_empty() || label.len() > MAX_LABEL_LEN {
                return Err(NameError::BadLabel { index });
            }
            count += 1;
        }
        if count > MAX_LABELS {
            return Err(NameError::ScopeTooLong);
        }
        Ok(Self(Repr::Dotted(text)))
    }

    /// Like [`Labels::from_dotted`], from a string.
    ///
    /// # Errors
    /// As [`Labels::from_dotted`].
    pub fn from_dotted_str(text: &'a str) -> Result<Self, NameError> {
        Self::from_dotted(text.as_bytes())
    }

    /// The labels, in order.
    #[must_use]
    pub fn iter(&self) -> LabelIter<'a> {
        match self.0 {
            Repr::Dotted(t) => LabelIter::Dotted(if t.is_empty() { None } else { Some(t) }),
            Repr::Wire { msg, at } => LabelIter::Wire {
                msg,
                at,
                limit: msg.len(),
                hops: 0,
            },
        }
    }

    /// Whether there are no labels.
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        match self.0 {
            Repr::Dotted(t) => t.is_empty(),
            Repr::Wire { .. } => self.iter().next().is_none(),
        }
    }

    /// Length in dotted form: label bytes plus the dots between them.
    #[must_use]
    pub fn dotted_len(&self) -> usize {
        let (n, bytes) = self.iter().fold((0, 0), |(n, b), l| (n + 1, b + l.len()));
        if n == 0 { 0 } else { bytes + n - 1 }
    }

    /// Bytes on the wire without compression: a length byte per label plus
    /// the label bytes, not counting the terminating zero.
    #[must_use]
    pub fn wire_len(&self) -> usize {
        match self.0 {
            Repr::Dotted([]) => 0,
            Repr::Dotted(t) => t.len() + 1,
            Repr::Wire { .. } => self.iter().map(|l| l.len() + 1).sum(),
        }
    }
}

impl PartialEq for Labels<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        // The empty scope, the usual case, inline and without `bcmp`.
        if let (Repr::Dotted([]), Repr::Dotted([])) = (self.0, other.0) {
            return true;
        }
        labels_eq(self, other)
    }
}

/// The general case of `Labels` equality, out of line.
#[inline(never)]
fn labels_eq(a: &Labels<'_>, b: &Labels<'_>) -> bool {
    match (a.0, b.0) {
        (Repr::Dotted(x), Repr::Dotted(y)) => x == y,
        (Repr::Wire { msg: m1, at: a1 }, Repr::Wire { msg: m2, at: a2 })
            if a1 == a2 && core::ptr::eq(m1, m2) =>
        {
            true
        }
        _ => a.iter().eq(b.iter()),
    }
}

impl Eq for Labels<'_> {}

impl core::hash::Hash for Labels<'_> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        for l in self.iter() {
            l.hash(state);
        }
    }
}

impl Default for Labels<'_> {
    fn default() -> Self {
        Labels::EMPTY
    }
}

impl fmt::Display for Labels<'_> {
    /// Dotted form; bytes outside printable ASCII, `\` and `.` inside a label
    /// are escaped as `\xNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, label) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                if b == b'.' {
                    f.write_str("\\x2e")?;
                } else {
                    write_escaped(f, &[b])?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Labels<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Labels(\"{self}\")")
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Labels<'a> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.int_in_range(0..=MAX_SCOPE_LEN)?;
        let text = u.bytes(len)?;
        Ok(Self::from_dotted(text).unwrap_or(Labels::EMPTY))
    }
}

/// Iterator over the labels of a [`Labels`].
#[derive(Debug, Clone)]
pub enum LabelIter<'a> {
    #[doc(hidden)]
    Dotted(Option<&'a [u8]>),
    #[doc(hidden)]
    Wire {
        msg: &'a [u8],
        at: usize,
        limit: usize,
        hops: usize,
    },
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            Self::Dotted(rest) => {
                let text = (*rest)?;
                match text.iter().position(|&c| c == b'.') {
                    Some(dot) => {
                        *rest = text.get(dot + 1..);
                        text.get(..dot)
                    }
                    None => {
                        *rest = None;
                        Some(text)
                    }
                }
            }
            Self::Wire {
                msg,
                at,
                limit,
                hops,
            } => loop {
                // The sequence was validated when parsed, with the same
                // pointer rule and limit; these checks only keep iteration
                // total should that ever not hold.
                let len = *msg.get(*at)?;
                match len >> 6 {
                    0b00 if len == 0 => return None,
                    0b00 => {
                        let start = *at + 1;
                        let label = msg.get(start..start + usize::from(len))?;
                        *at = start + usize::from(len);
                        return Some(label);
                    }
                    0b11 => {
                        let lo = *msg.get(*at + 1)?;
                        let target = usize::from(u16::from_be_bytes([len & 0x3F, lo]));
                        *hops += 1;
                        if target >= *limit || *hops > MAX_POINTERS {
                            return None;
                        }
                        *limit = target;
                        *at = target;
                    }
                    _ => return None,
                }
            },
        }
    }
}

/// A NetBIOS name with its scope: what a question or resource record names
/// (RFC 1002 §4.1, second-level encoding).
///
/// ```
/// use nbns::wire::{Labels, Name, NetbiosName};
/// let n = Name::new(NetbiosName::new("HOST", 0x00).unwrap(), Labels::from_dotted(b"corp").unwrap());
/// assert_eq!(n.to_string(), "HOST<00>.corp");
/// assert_eq!(n.buffer_len(), 34 + 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name<'a> {
    /// The 16-byte NetBIOS name.
    pub netbios: NetbiosName,
    /// The scope ID (often empty).
    pub scope: Labels<'a>,
}

impl<'a> Name<'a> {
    /// A name in a scope.
    #[must_use]
    pub const fn new(netbios: NetbiosName, scope: Labels<'a>) -> Self {
        Self { netbios, scope }
    }

    /// A name in the empty scope.
    #[must_use]
    pub const fn unscoped(netbios: NetbiosName) -> Self {
        Self {
            netbios,
            scope: Labels::EMPTY,
        }
    }

    /// Bytes of the name on the wire, uncompressed: `0x20`, 32 encoded bytes,
    /// the scope labels and the terminating zero.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        1 + ENCODED_LEN + self.scope.wire_len() + 1
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.netbios)?;
        if !self.scope.is_empty() {
            write!(f, ".{}", self.scope)?;
        }
        Ok(())
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Name<'a> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self {
            netbios: u.arbitrary()?,
            scope: u.arbitrary()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::error::{Field, ParseError};
    use crate::wire::grammar::{parse_labels, parse_name};

    /// "FRED" padded with spaces, suffix 0x00, unscoped (RFC 1001 §14.1 example).
    static FRED: [u8; 34] = *b"\x20EGFCEFEECACACACACACACACACACACAAA\x00";

    #[test]
    fn parse_fred() {
        let (n, end) = parse_name(&FRED, 0).unwrap();
        assert_eq!(end, 34);
        assert_eq!(n.netbios, NetbiosName::new("FRED", 0).unwrap());
        assert!(n.scope.is_empty());
    }

    #[test]
    fn encode_fred() {
        let n = NetbiosName::new("FRED", 0).unwrap();
        assert_eq!(&n.encode()[..], &FRED[1..33]);
    }

    /// `new_uppercase`: ASCII letters upper-cased, padding, suffix and
    /// non-ASCII bytes (UTF-8 `ü` is C3 BC) kept; `new` keeps case.
    #[test]
    fn new_uppercase_bytes() {
        let n = NetbiosName::new_uppercase("host-a.b", 0x1c).unwrap();
        assert_eq!(n.as_bytes(), b"HOST-A.B       \x1c");
        let n = NetbiosName::new_uppercase("m\u{fc}ller", 0x00).unwrap();
        assert_eq!(n.as_bytes(), b"M\xc3\xbcLLER        \x00");
        assert_eq!(
            NetbiosName::new("host", 0x20).unwrap().as_bytes(),
            b"host           \x20"
        );
        // 13 letters and `ü` are 15 bytes: fits; one more letter does not.
        let n = NetbiosName::new_uppercase("abcdefghijklm\u{fc}", 0).unwrap();
        assert_eq!(n.as_bytes(), b"ABCDEFGHIJKLM\xc3\xbc\x00");
        assert_eq!(
            NetbiosName::new_uppercase("abcdefghijklmn\u{fc}", 0),
            Err(NameError::TooLong { len: 16 })
        );
        assert_eq!(NetbiosName::new_uppercase("", 0), Err(NameError::Empty));
    }

    #[test]
    fn wildcard_is_nul_padded() {
        let enc = NetbiosName::wildcard().encode();
        assert_eq!(&enc, b"CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(NetbiosName::wildcard().to_string(), "*<00>");
        assert_eq!(
            "*<00>".parse::<NetbiosName>().unwrap(),
            NetbiosName::wildcard()
        );
    }

    #[test]
    fn scoped_name_with_pointer_in_scope() {
        // offset 0: "corp" "example" 0 ; offset 14: name with scope "x" then pointer to 5 ("example").
        let mut msg = vec![
            4, b'c', b'o', b'r', b'p', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0,
        ];
        let start = msg.len();
        msg.push(32);
        msg.extend_from_slice(&NetbiosName::new("HOST", 0x20).unwrap().encode());
        msg.extend_from_slice(&[1, b'x', 0xC0, 5]);
        let (n, end) = parse_name(&msg, start).unwrap();
        assert_eq!(end, msg.len());
        assert_eq!(n.scope, Labels::from_dotted(b"x.example").unwrap());
        assert_eq!(n.to_string(), "HOST<20>.x.example");
    }

    #[test]
    fn pointer_rules() {
        // A pointer to itself.
        assert_eq!(
            parse_name(&[0xC0, 0x00], 0),
            Err(ParseError::PointerNotPrior {
                offset: 0,
                target: 0
            })
        );
        // A forward pointer.
        assert_eq!(
            parse_name(&[0xC0, 0x05, 0, 0, 0, 0], 0),
            Err(ParseError::PointerNotPrior {
                offset: 0,
                target: 5
            })
        );
        // A loop through a label back onto the pointer: 0: len 1 'a', 2: ptr -> 0.
        let msg = [1, b'a', 0xC0, 0x00];
        assert_eq!(
            parse_labels(&msg, 2),
            Err(ParseError::PointerNotPrior {
                offset: 2,
                target: 0
            })
        );
        // Truncated pointer.
        assert_eq!(
            parse_name(&[0xC0], 0),
            Err(ParseError::Truncated {
                offset: 1,
                what: Field::Name
            })
        );
    }

    #[test]
    fn bad_names() {
        assert_eq!(
            parse_name(&[0x40], 0),
            Err(ParseError::BadLabelType {
                offset: 0,
                byte: 0x40
            })
        );
        assert_eq!(
            parse_name(&[0x80], 0),
            Err(ParseError::BadLabelType {
                offset: 0,
                byte: 0x80
            })
        );
        assert_eq!(
            parse_name(&[3, b'A', b'B', b'C', 0], 0),
            Err(ParseError::BadNameLength { offset: 0, len: 3 })
        );
        let mut bad = FRED;
        bad[7] = b'Q';
        assert_eq!(
            parse_name(&bad, 0),
            Err(ParseError::BadNameEncoding {
                offset: 7,
                byte: b'Q'
            })
        );
        assert_eq!(
            parse_name(&FRED[..20], 0),
            Err(ParseError::Truncated {
                offset: 20,
                what: Field::Name
            })
        );
        assert_eq!(
            parse_name(&FRED[..33], 0),
            Err(ParseError::Truncated {
                offset: 33,
                what: Field::Name
            })
        );
    }

    #[test]
    fn scope_limits() {
        let mut msg = FRED[..33].to_vec();
        for _ in 0..5 {
            msg.push(63);
            msg.extend_from_slice(&[b'a'; 63]);
        }
        msg.push(0);
        assert!(matches!(
            parse_name(&msg, 0),
            Err(ParseError::NameTooLong { .. })
        ));
        assert_eq!(
            Labels::from_dotted(&[b'a'; 64]),
            Err(NameError::BadLabel { index: 0 })
        );
        assert_eq!(
            Labels::from_dotted(b"a..b"),
            Err(NameError::BadLabel { index: 1 })
        );
    }

    #[test]
    fn first_level_coding_of_every_byte_and_character() {
        for b in 0..=255u8 {
            let n = NetbiosName::from_raw([b; 16]);
            let enc = n.encode();
            for pair in enc.chunks(2) {
                assert_eq!(pair, [b'A' + (b >> 4), b'A' + (b & 15)]);
            }
            assert_eq!(NetbiosName::decode(&enc), Ok(n));
        }
        let good = NetbiosName::new("FRED", 0).unwrap().encode();
        for i in 0..32 {
            for c in 0..=255u8 {
                let mut e = good;
                e[i] = c;
                let expect_ok = (b'A'..=b'P').contains(&c);
                assert_eq!(
                    NetbiosName::decode(&e).is_ok(),
                    expect_ok,
                    "char {c:#04x} at {i}"
                );
                if !expect_ok {
                    assert_eq!(NetbiosName::decode(&e), Err(i));
                }
            }
        }
    }

    #[test]
    fn byte_exact_names() {
        let raw = *b"\xff\x80\xc0lower\x01  \x00abc\x1b";
        let n = NetbiosName::from_raw(raw);
        let mut enc = vec![32];
        enc.extend_from_slice(&n.encode());
        enc.push(0);
        let (back, _) = parse_name(&enc, 0).unwrap();
        assert_eq!(back.netbios.as_bytes(), &raw);
        let text = n.to_string();
        assert_eq!(text.parse::<NetbiosName>().unwrap(), n);
    }

    #[test]
    fn text_forms() {
        assert_eq!(
            "dc01#1c".parse::<NetbiosName>().unwrap(),
            NetbiosName::new("dc01", 0x1c).unwrap()
        );
        assert_eq!("HOST".parse::<NetbiosName>().unwrap().suffix(), 0);
        assert_eq!("A<zz>".parse::<NetbiosName>(), Err(NameError::BadSuffix));
        assert_eq!(
            "SIXTEENCHARSLONG<00>".parse::<NetbiosName>(),
            Err(NameError::TooLong { len: 16 })
        );
        assert_eq!(NetbiosName::new("", 0), Err(NameError::Empty));
        assert_eq!(
            NetbiosName::new("has spaces", 0).unwrap().to_string(),
            "has spaces<00>"
        );
    }
}
