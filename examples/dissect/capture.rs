//! Reading capture files: pcap and pcapng containers (via `pcap-parser`),
//! link layers down to IPv4/UDP (sliced with `etherparse`), and the UDP port 137
//! datagrams in them.
//!
//! Streams: a capture is read through a fixed buffer that grows only to
//! hold the largest single record, so memory does not depend on file size.
//!
//! Shared with `tests/dissect.rs`, which uses a different subset.
#![allow(dead_code)]

use core::fmt;
use core::net::Ipv4Addr;
use std::io::{Cursor, Read};

use etherparse::{
    EtherType, Ethernet2Header, Ethernet2HeaderSlice, IpNumber, LaxIpv4Slice, UdpSlice,
};
use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};

/// UDP port of the name service.
pub(crate) const NBNS_PORT: u16 = 137;

/// Size of the read buffer; grown on demand for larger records.
const BUFFER: usize = 1 << 18;
/// Largest record accepted (pcapng blocks are at most this big in practice).
const MAX_RECORD: usize = 1 << 26;

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    /// 1-based frame number within the file.
    pub(crate) number: u64,
    /// Capture time in nanoseconds since the Unix epoch.
    pub(crate) time_ns: i128,
    /// The link type (LINKTYPE_* value).
    pub(crate) linktype: i32,
    /// The captured bytes (possibly cut short by the snap length).
    pub(crate) data: &'a [u8],
    /// The frame's length on the wire.
    pub(crate) orig_len: u32,
}

/// Why a capture could not be read.
#[derive(Debug)]
pub(crate) enum CaptureError {
    /// The input is empty.
    Empty,
    /// Neither a pcap nor a pcapng file.
    UnknownFormat,
    /// The file ends inside a record (after `frames` complete frames).
    TruncatedFile {
        /// Frames read before the cut.
        frames: u64,
    },
    /// A record is malformed (after `frames` complete frames).
    Damaged {
        /// Frames read before the damage.
        frames: u64,
        /// What the container parser said.
        detail: String,
    },
    /// Reading failed.
    Io(String),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty input: not a capture file"),
            Self::UnknownFormat => {
                f.write_str("not a capture file: neither pcap nor pcapng header found")
            }
            Self::TruncatedFile { frames } => write!(
                f,
                "capture file ends in the middle of a record (after frame {frames})"
            ),
            Self::Damaged { frames, detail } => {
                write!(f, "capture file is damaged after frame {frames}: {detail}")
            }
            Self::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

impl core::error::Error for CaptureError {}

/// Per-interface facts of a pcapng section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: i32,
    /// Timestamp units per second.
    units_per_sec: u64,
    offset_sec: i64,
}

/// Reads every frame of a pcap or pcapng stream and hands it to `on_frame`.
/// Returns the number of frames.
///
/// # Errors
/// A [`CaptureError`] for input that is not a capture, or that is damaged or
/// cut inside a record; frames before the problem have been handed over.
pub(crate) fn read_frames<R: Read + Send>(
    mut input: R,
    mut on_frame: impl FnMut(&Frame<'_>),
) -> Result<u64, CaptureError> {
    // Read enough for format detection even from a pipe that returns short
    // reads: the container reader looks at its first read only.
    let mut head = Vec::with_capacity(256);
    (&mut input)
        .take(256)
        .read_to_end(&mut head)
        .map_err(|e| CaptureError::Io(e.to_string()))?;
    if head.is_empty() {
        return Err(CaptureError::Empty);
    }
    let stream = Cursor::new(head).chain(input);
    let mut reader = match create_reader(BUFFER, stream) {
        Ok(r) => r,
        Err(PcapError::Eof) => return Err(CaptureError::Empty),
        Err(PcapError::ReadError) => return Err(CaptureError::Io("read failed".into())),
        Err(_) => return Err(CaptureError::UnknownFormat),
    };
    let mut frames = 0u64;
    let mut legacy_linktype = 1i32;
    let mut legacy_nanos = false;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut capacity = BUFFER;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                let mut emit = |time_ns: i128, linktype: i32, data: &[u8], orig_len: u32| {
                    frames += 1;
                    on_frame(&Frame {
                        number: frames,
                        time_ns,
                        linktype,
                        data,
                        orig_len,
                    });
                };
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_linktype = h.network.0;
                        legacy_nanos = h.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = i128::from(b.ts_usec) * if legacy_nanos { 1 } else { 1000 };
                        let t = i128::from(b.ts_sec) * 1_000_000_000 + frac;
                        emit(t, legacy_linktype, b.data, b.origlen);
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(Interface {
                            linktype: idb.linktype.0,
                            units_per_sec: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                            offset_sec: idb.ts_offset(),
                        });
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let ifc = interfaces.get(epb.if_id as usize).copied();
                        let (linktype, units, off) = ifc.map_or((-1, 1_000_000, 0), |i| {
                            (i.linktype, i.units_per_sec, i.offset_sec)
                        });
                        let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let t = i128::from(off) * 1_000_000_000
                            + i128::from(ts) * 1_000_000_000 / i128::from(units);
                        let len = (epb.caplen as usize).min(epb.data.len());
                        emit(t, linktype, &epb.data[..len], epb.origlen);
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let linktype = interfaces.first().map_or(-1, |i| i.linktype);
                        let len = (spb.origlen as usize).min(spb.data.len());
                        emit(0, linktype, &spb.data[..len], spb.origlen);
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                // Shifting the buffer is left to refill, where little is left.
                reader.consume_noshift(offset);
            }
            Err(PcapError::Eof) => return Ok(frames),
            Err(PcapError::Incomplete(_)) => {
                if reader.reader_exhausted() {
                    return Err(CaptureError::TruncatedFile { frames });
                }
                reader
                    .refill()
                    .map_err(|e| CaptureError::Io(format!("{e:?}")))?;
            }
            Err(PcapError::BufferTooSmall) => {
                if capacity >= MAX_RECORD {
                    return Err(CaptureError::Damaged {
                        frames,
                        detail: format!("a record is larger than {MAX_RECORD} bytes"),
                    });
                }
                capacity *= 2;
                if !reader.grow(capacity) {
                    return Err(CaptureError::Io("cannot grow read buffer".into()));
                }
                reader
                    .refill()
                    .map_err(|e| CaptureError::Io(format!("{e:?}")))?;
            }
            Err(PcapError::UnexpectedEof) => return Err(CaptureError::TruncatedFile { frames }),
            Err(PcapError::ReadError) => return Err(CaptureError::Io("read failed".into())),
            Err(e) => {
                return Err(CaptureError::Damaged {
                    frames,
                    detail: format!("{e:?}"),
                });
            }
        }
    }
}

/// A UDP datagram to or from port 137 found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Datagram<'a> {
    /// IPv4 source.
    pub(crate) src: Ipv4Addr,
    /// IPv4 destination.
    pub(crate) dst: Ipv4Addr,
    /// UDP source port.
    pub(crate) src_port: u16,
    /// UDP destination port.
    pub(crate) dst_port: u16,
    /// The UDP payload as captured.
    pub(crate) payload: &'a [u8],
    /// The payload length the UDP header claims (more than `payload.len()`
    /// when the capture cut the frame short).
    pub(crate) udp_payload_len: usize,
}

impl Datagram<'_> {
    /// Whether the capture cut the payload short.
    pub(crate) fn is_cut(&self) -> bool {
        self.payload.len() < self.udp_payload_len
    }
}

/// Link types understood by [`nbns_datagram`].
pub(crate) mod linktype {
    /// BSD loopback: 4-byte address family in the writer's byte order.
    pub(crate) const NULL: i32 = 0;
    /// Ethernet II, with 802.1Q/802.1ad VLAN tags.
    pub(crate) const ETHERNET: i32 = 1;
    /// Raw IP as some systems number it (DLT_RAW 12 or 14).
    pub(crate) const RAW_12: i32 = 12;
    /// Raw IP, DLT 14 on some systems.
    pub(crate) const RAW_14: i32 = 14;
    /// Raw IP.
    pub(crate) const RAW: i32 = 101;
    /// OpenBSD loopback: address family in network byte order.
    pub(crate) const LOOP: i32 = 108;
    /// Linux cooked capture v1.
    pub(crate) const LINUX_SLL: i32 = 113;
    /// Raw IPv4.
    pub(crate) const IPV4: i32 = 228;
    /// Linux cooked capture v2.
    pub(crate) const LINUX_SLL2: i32 = 276;
}

/// The IPv4 packet after an EtherType, unwrapping 802.1Q, 802.1ad and
/// QinQ VLAN tags (4 bytes each: TCI, then the inner EtherType).
fn ipv4_after_ether_type(mut ether_type: u16, mut rest: &[u8]) -> Option<&[u8]> {
    for _ in 0..4 {
        match EtherType(ether_type) {
            EtherType::IPV4 => return Some(rest),
            EtherType::VLAN_TAGGED_FRAME
            | EtherType::PROVIDER_BRIDGING
            | EtherType::VLAN_DOUBLE_TAGGED_FRAME => {
                ether_type = u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]);
                rest = rest.get(4..)?;
            }
            _ => return None,
        }
    }
    None
}

/// Finds an IPv4/UDP datagram with port 137 at either end in a frame of the
/// given link type. `None` for other traffic, other link types, non-first
/// IP fragments and frames cut before the UDP header.
///
/// Each layer is sliced with etherparse's lax slices, which accept length
/// fields larger than what was captured (frames cut by the snap length).
pub(crate) fn nbns_datagram(linktype: i32, data: &[u8]) -> Option<Datagram<'_>> {
    let ip = match linktype {
        linktype::ETHERNET => {
            let eth = Ethernet2HeaderSlice::from_slice(data).ok()?;
            ipv4_after_ether_type(eth.ether_type().0, data.get(Ethernet2Header::LEN..)?)?
        }
        linktype::LINUX_SLL => {
            let proto = u16::from_be_bytes([*data.get(14)?, *data.get(15)?]);
            ipv4_after_ether_type(proto, data.get(16..)?)?
        }
        linktype::LINUX_SLL2 => {
            let proto = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
            ipv4_after_ether_type(proto, data.get(20..)?)?
        }
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 | linktype::IPV4 => data,
        linktype::NULL | linktype::LOOP => {
            let af: [u8; 4] = data.get(..4)?.try_into().ok()?;
            // AF_INET is 2 everywhere; NULL stores it in the writer's order.
            if u32::from_be_bytes(af) != 2 && u32::from_le_bytes(af) != 2 {
                return None;
            }
            &data[4..]
        }
        _ => return None,
    };
    let (ipv4, _) = LaxIpv4Slice::from_slice(ip).ok()?;
    let payload = ipv4.payload();
    if payload.ip_number != IpNumber::UDP || payload.fragmented {
        return None;
    }
    let udp = UdpSlice::from_slice_lax(payload.payload).ok()?;
    let (src_port, dst_port) = (udp.source_port(), udp.destination_port());
    if src_port != NBNS_PORT && dst_port != NBNS_PORT {
        return None;
    }
    let header = ipv4.header();
    Some(Datagram {
        src: header.source_addr(),
        dst: header.destination_addr(),
        src_port,
        dst_port,
        payload: udp.payload(),
        udp_payload_len: usize::from(udp.length()).saturating_sub(8),
    })
}
