//! The 12-byte packet header (RFC 1002 §4.2.1.1): transaction ID, flags word,
//! opcode, result code and the four section counts.

use core::fmt;

use crate::wire::ParseError;
use crate::wire::error::Field;
use crate::wire::macros::enum_with_unknown;

enum_with_unknown! {
    /// The operation of a packet: bits 11–14 of the flags word (RFC 1002
    /// §4.2.1.1, MS-NBTE §2.2.2 for 0xF).
    ///
    /// Total: unassigned values are kept as `Unknown(n)` and compare equal to
    /// the named variant with the same value. Only the low 4 bits are used on
    /// the wire.
    pub enum Opcode(u8, mask 0xF) {
        /// 0: name query and node status.
        Query = 0 => "query",
        /// 5: name registration (and overwrite, and every registration response).
        Registration = 5 => "registration",
        /// 6: name release.
        Release = 6 => "release",
        /// 7: wait for acknowledgement (WACK).
        Wack = 7 => "WACK",
        /// 8: name refresh, as RFC 1002's table says.
        Refresh = 8 => "refresh",
        /// 9: name refresh, as RFC 1002's §4.2.4 diagram draws it.
        RefreshAlt = 9 => "refresh (alternate opcode)",
        /// 0xF: multi-homed name registration (MS-NBTE §2.2.2).
        MultihomedRegistration = 0xF => "multi-homed registration",
    }
    unknown => "unknown opcode {}";
}

impl Opcode {
    /// Whether this opcode asks a name server to store a name: registration,
    /// refresh (8 or 9) or multi-homed registration. Servers answer all of
    /// them with opcode 5.
    #[must_use]
    pub fn is_registration_like(self) -> bool {
        matches!(
            self,
            Self::Registration | Self::Refresh | Self::RefreshAlt | Self::MultihomedRegistration
        )
    }
}

enum_with_unknown! {
    /// The result code: the low 4 bits of the flags word (RFC 1002 §4.2.6,
    /// §4.2.11, §4.2.14).
    ///
    /// Total: unassigned values are kept as `Unknown(n)`.
    pub enum Rcode(u8, mask 0xF) {
        /// 0: no error.
        NoError = 0 => "OK",
        /// 1: FMT_ERR, format error.
        FormatError = 1 => "FMT_ERR",
        /// 2: SRV_ERR, server failure.
        ServerFailure = 2 => "SRV_ERR",
        /// 3: NAM_ERR, name not found.
        NameError = 3 => "NAM_ERR",
        /// 4: IMP_ERR, unsupported request.
        NotImplemented = 4 => "IMP_ERR",
        /// 5: RFS_ERR, refused.
        Refused = 5 => "RFS_ERR",
        /// 6: ACT_ERR, active error: the name is owned by another node.
        Active = 6 => "ACT_ERR",
        /// 7: CFT_ERR, name in conflict.
        Conflict = 7 => "CFT_ERR",
    }
    unknown => "RCODE {}";
}

/// The 16-bit flags word of the header (RFC 1002 §4.2.1.1):
/// `R | OPCODE(4) | AA TC RD RA 0 0 B | RCODE(4)`.
///
/// A newtype over the raw bits: every bit, the two reserved ones included,
/// survives a parse/emit round trip.
///
/// ```
/// use nbns::wire::{Flags, Opcode, Rcode};
/// let f = Flags::request(Opcode::Registration).with_recursion_desired(true);
/// assert_eq!(f.bits(), 0x2900);
/// let r = Flags::response(Opcode::Registration).with_rcode(Rcode::Active);
/// assert_eq!(r.rcode(), Rcode::Active);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Flags(pub u16);

impl Flags {
    /// R: the packet is a response.
    pub const RESPONSE: u16 = 0x8000;
    /// AA: authoritative answer.
    pub const AUTHORITATIVE: u16 = 0x0400;
    /// TC: truncated.
    pub const TRUNCATED: u16 = 0x0200;
    /// RD: recursion desired.
    pub const RECURSION_DESIRED: u16 = 0x0100;
    /// RA: recursion available.
    pub const RECURSION_AVAILABLE: u16 = 0x0080;
    /// The two reserved NM_FLAGS bits, which must be zero but are kept.
    pub const RESERVED: u16 = 0x0060;
    /// B: broadcast.
    pub const BROADCAST: u16 = 0x0010;
    const OPCODE_MASK: u16 = 0x7800;
    const RCODE_MASK: u16 = 0x000F;

    /// Flags of a request with this opcode and nothing else set.
    #[must_use]
    pub const fn request(op: Opcode) -> Self {
        Self(0).with_opcode(op)
    }

    /// Flags of a response (R set) with this opcode and nothing else set.
    #[must_use]
    pub const fn response(op: Opcode) -> Self {
        Self(Self::RESPONSE).with_opcode(op)
    }

    /// The raw 16 bits.
    #[must_use]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// R: whether this is a response.
    #[must_use]
    pub const fn is_response(self) -> bool {
        self.0 & Self::RESPONSE != 0
    }

    /// The opcode.
    #[must_use]
    pub fn opcode(self) -> Opcode {
        Opcode::from(((self.0 & Self::OPCODE_MASK) >> 11) as u8)
    }

    /// The result code.
    #[must_use]
    pub fn rcode(self) -> Rcode {
        Rcode::from((self.0 & Self::RCODE_MASK) as u8)
    }

    /// AA: authoritative answer.
    #[must_use]
    pub const fn authoritative(self) -> bool {
        self.0 & Self::AUTHORITATIVE != 0
    }

    /// TC: truncated.
    #[must_use]
    pub const fn truncated(self) -> bool {
        self.0 & Self::TRUNCATED != 0
    }

    /// RD: recursion desired.
    #[must_use]
    pub const fn recursion_desired(self) -> bool {
        self.0 & Self::RECURSION_DESIRED != 0
    }

    /// RA: recursion available.
    #[must_use]
    pub const fn recursion_available(self) -> bool {
        self.0 & Self::RECURSION_AVAILABLE != 0
    }

    /// B: broadcast.
    #[must_use]
    pub const fn broadcast(self) -> bool {
        self.0 & Self::BROADCAST != 0
    }

    /// The two reserved bits (mask [`Flags::RESERVED`]).
    #[must_use]
    pub const fn reserved(self) -> u16 {
        self.0 & Self::RESERVED
    }

    const fn with_bit(self, mask: u16, on: bool) -> Self {
        if on {
            Self(self.0 | mask)
        } else {
            Self(self.0 & !mask)
        }
    }

    /// With the opcode replaced.
    #[must_use]
    pub const fn with_opcode(self, op: Opcode) -> Self {
        let v: u16 = match op {
            Opcode::Query => 0,
            Opcode::Registration => 5,
            Opcode::Release => 6,
            Opcode::Wack => 7,
            Opcode::Refresh => 8,
            Opcode::RefreshAlt => 9,
            Opcode::MultihomedRegistration => 0xF,
            Opcode::Unknown(n) => (n & 0xF) as u16,
        };
        Self((self.0 & !Self::OPCODE_MASK) | (v << 11))
    }

    /// With the result code replaced.
    #[must_use]
    pub fn with_rcode(self, rcode: Rcode) -> Self {
        Self((self.0 & !Self::RCODE_MASK) | u16::from(u8::from(rcode)))
    }

    /// With R set or cleared.
    #[must_use]
    pub const fn with_response(self, on: bool) -> Self {
        self.with_bit(Self::RESPONSE, on)
    }

    /// With AA set or cleared.
    #[must_use]
    pub const fn with_authoritative(self, on: bool) -> Self {
        self.with_bit(Self::AUTHORITATIVE, on)
    }

    /// With TC set or cleared.
    #[must_use]
    pub const fn with_truncated(self, on: bool) -> Self {
        self.with_bit(Self::TRUNCATED, on)
    }

    /// With RD set or cleared.
    #[must_use]
    pub const fn with_recursion_desired(self, on: bool) -> Self {
        self.with_bit(Self::RECURSION_DESIRED, on)
    }

    /// With RA set or cleared.
    #[must_use]
    pub const fn with_recursion_available(self, on: bool) -> Self {
        self.with_bit(Self::RECURSION_AVAILABLE, on)
    }

    /// With B set or cleared.
    #[must_use]
    pub const fn with_broadcast(self, on: bool) -> Self {
        self.with_bit(Self::BROADCAST, on)
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#06x}", self.0)?;
        let names = [
            (Self::RESPONSE, "R"),
            (Self::AUTHORITATIVE, "AA"),
            (Self::TRUNCATED, "TC"),
            (Self::RECURSION_DESIRED, "RD"),
            (Self::RECURSION_AVAILABLE, "RA"),
            (Self::BROADCAST, "B"),
        ];
        let mut first = true;
        for (mask, name) in names {
            if self.0 & mask != 0 {
                f.write_str(if first { " [" } else { "," })?;
                f.write_str(name)?;
                first = false;
            }
        }
        if !first {
            f.write_str("]")?;
        }
        Ok(())
    }
}

/// The whole 12-byte header, counts included (RFC 1002 §4.2.1.1).
///
/// [`Packet`](crate::wire::Packet) derives its counts from its sections; this
/// type is for reading a header on its own (for example to match a reply by
/// transaction ID before a full parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// NAME_TRN_ID.
    pub id: u16,
    /// The flags word.
    pub flags: Flags,
    /// QDCOUNT.
    pub qdcount: u16,
    /// ANCOUNT.
    pub ancount: u16,
    /// NSCOUNT.
    pub nscount: u16,
    /// ARCOUNT.
    pub arcount: u16,
}

impl Header {
    /// Length of the header on the wire.
    pub const LEN: usize = 12;

    /// Reads the header at the start of `data`.
    ///
    /// # Errors
    /// [`ParseError::Truncated`] when `data` is shorter than 12 bytes.
    #[inline]
    pub fn parse(data: &[u8]) -> Result<Self, ParseError> {
        let Some(b) = data.first_chunk::<12>() else {
            return Err(ParseError::Truncated {
                offset: data.len(),
                what: Field::Header,
            });
        };
        let (words, _) = b.as_chunks::<2>();
        let mut w = [0u16; 6];
        for (dst, src) in w.iter_mut().zip(words) {
            *dst = u16::from_be_bytes(*src);
        }
        let [id, flags, qd, an, ns, ar] = w;
        Ok(Self {
            id,
            flags: Flags(flags),
            qdcount: qd,
            ancount: an,
            nscount: ns,
            arcount: ar,
        })
    }

    /// Writes the header into the first 12 bytes of `buf`.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`](crate::wire::EmitError::BufferTooSmall)
    /// when `buf` is shorter than 12 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), crate::wire::EmitError> {
        let have = buf.len();
        let Some(out) = buf.first_chunk_mut::<12>() else {
            return Err(crate::wire::EmitError::BufferTooSmall {
                need: Self::LEN,
                have,
            });
        };
        let words = [
            self.id,
            self.flags.0,
            self.qdcount,
            self.ancount,
            self.nscount,
            self.arcount,
        ];
        for (chunk, w) in out.chunks_exact_mut(2).zip(words) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header of a broadcast name query (tcpdump eapon1.pcap frame 4).
    static HEADER_BYTES: [u8; 12] = [0x80, 0x03, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0];

    #[test]
    fn parse_header() {
        let h = Header::parse(&HEADER_BYTES).unwrap();
        assert_eq!(h.id, 0x8003);
        assert_eq!(h.flags.opcode(), Opcode::Query);
        assert!(h.flags.recursion_desired() && h.flags.broadcast() && !h.flags.is_response());
        assert_eq!((h.qdcount, h.ancount, h.nscount, h.arcount), (1, 0, 0, 0));
    }

    #[test]
    fn emit_header() {
        let h = Header::parse(&HEADER_BYTES).unwrap();
        let mut buf = [0xa5u8; 13];
        h.emit(&mut buf).unwrap();
        assert_eq!(&buf[..12], &HEADER_BYTES);
        assert_eq!(buf[12], 0xa5);
        assert!(h.emit(&mut [0u8; 11]).is_err());
    }

    #[test]
    fn short_header() {
        for n in 0..12 {
            assert_eq!(
                Header::parse(&HEADER_BYTES[..n]),
                Err(ParseError::Truncated {
                    offset: n,
                    what: Field::Header
                })
            );
        }
    }

    #[test]
    fn opcode_and_rcode_are_total() {
        for v in 0..16u8 {
            assert_eq!(u8::from(Opcode::from(v)), v);
            assert_eq!(u8::from(Rcode::from(v)), v);
            let f = Flags(0)
                .with_opcode(Opcode::from(v))
                .with_rcode(Rcode::from(v));
            assert_eq!(f.opcode(), Opcode::from(v));
            assert_eq!(f.rcode(), Rcode::from(v));
        }
        assert_eq!(Opcode::Unknown(8), Opcode::Refresh);
        assert_eq!(Rcode::Unknown(6), Rcode::Active);
    }

    #[test]
    fn flag_words_of_the_rfc() {
        let reg = Flags::request(Opcode::Registration).with_recursion_desired(true);
        assert_eq!(reg.bits(), 0x2900);
        let pos = Flags::response(Opcode::Registration)
            .with_authoritative(true)
            .with_recursion_desired(true)
            .with_recursion_available(true);
        assert_eq!(pos.bits(), 0xAD80);
        assert_eq!(
            Flags::response(Opcode::Wack)
                .with_authoritative(true)
                .bits(),
            0xBC00
        );
        assert_eq!(
            Flags::request(Opcode::MultihomedRegistration)
                .with_recursion_desired(true)
                .bits(),
            0x7900
        );
        assert_eq!(Flags(0x0170).reserved(), 0x0060);
        assert_eq!(Flags(0x2910).to_string(), "0x2910 [RD,B]");
    }
}
