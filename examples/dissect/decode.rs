//! From a captured frame down to a UDP datagram of the name service or a
//! TCP segment of WINS replication: link layers (sliced with `etherparse`),
//! IPv4 and IPv6, IP fragments put back together with bounded memory, and
//! the choice of ports (UDP 137 and TCP 42, plus any given with `--port`
//! or tshark's `-d`).
//!
//! Shared with `tests/dissect.rs`, which uses a different subset.
#![allow(dead_code)]

use core::net::IpAddr;
use std::collections::VecDeque;

use etherparse::defrag::{IpDefragBuf, MAX_IP_DEFRAG_LEN};
use etherparse::{
    EtherType, Ethernet2Header, IpFragOffset, IpNumber, Ipv6ExtensionSlice, LaxIpSlice, TcpSlice,
};

/// UDP port of the name service.
pub(crate) const NBNS_PORT: u16 = 137;
/// TCP port of WINS replication (MS-WINSRA 2.1).
pub(crate) const WINSREPL_PORT: u16 = nbns::winsrepl::REPLICATION_PORT;

/// IP datagrams being put back together at once; the oldest is dropped
/// when one more starts.
pub(crate) const MAX_PENDING_REASSEMBLIES: usize = 64;
/// A datagram whose fragments have not all come within this much capture
/// time is dropped.
pub(crate) const REASSEMBLY_TIMEOUT_NS: i128 = 30_000_000_000;

/// A UDP datagram to or from one of the NBNS ports, found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Datagram<'a> {
    /// IP source.
    pub(crate) src: IpAddr,
    /// IP destination.
    pub(crate) dst: IpAddr,
    /// UDP source port.
    pub(crate) src_port: u16,
    /// UDP destination port.
    pub(crate) dst_port: u16,
    /// The UDP payload as captured.
    pub(crate) payload: &'a [u8],
    /// The payload length the UDP header claims (more than `payload.len()`
    /// when the capture cut the frame short).
    pub(crate) udp_payload_len: usize,
    /// Whether the datagram was put back together from IP fragments.
    pub(crate) reassembled: bool,
}

impl Datagram<'_> {
    /// Whether the capture cut the payload short.
    pub(crate) fn is_cut(&self) -> bool {
        self.payload.len() < self.udp_payload_len
    }
}

/// A TCP segment to or from one of the WINS replication ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment<'a> {
    /// IP source.
    pub(crate) src: IpAddr,
    /// IP destination.
    pub(crate) dst: IpAddr,
    /// TCP source port.
    pub(crate) src_port: u16,
    /// TCP destination port.
    pub(crate) dst_port: u16,
    /// Sequence number of the first payload byte (of the SYN, with SYN).
    pub(crate) seq: u32,
    /// SYN: the stream starts after this segment's sequence number.
    pub(crate) syn: bool,
    /// FIN: the sender's stream ends after this payload.
    pub(crate) fin: bool,
    /// RST: the connection is gone.
    pub(crate) rst: bool,
    /// The payload as captured.
    pub(crate) payload: &'a [u8],
}

/// What a frame holds that the dissector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    /// A UDP datagram of the name service.
    Nbns(Datagram<'a>),
    /// A TCP segment of WINS replication.
    Winsrepl(Segment<'a>),
}

/// Why a frame gave no NBNS datagram (counted by `--stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// A link type this reader does not know.
    LinkType,
    /// Not IPv4 or IPv6 (ARP, other EtherTypes, a frame cut inside the IP
    /// header).
    NotIp,
    /// IP, but neither UDP nor TCP.
    NotUdp,
    /// UDP or TCP, but no NBNS or replication port at either end.
    OtherPort,
    /// TCP cut before the end of its header.
    CutTcpHeader,
    /// UDP cut before the end of its header.
    CutUdpHeader,
    /// A fragment kept until the rest of its datagram comes.
    FragmentHeld,
    /// A fragment that could not be used: it overlaps or runs past what its
    /// datagram can hold, or the capture cut it short.
    FragmentBad,
}

impl Skip {
    /// Every reason, in the order `--stats` lists them.
    pub(crate) const ALL: [Self; 8] = [
        Self::LinkType,
        Self::NotIp,
        Self::NotUdp,
        Self::OtherPort,
        Self::CutUdpHeader,
        Self::CutTcpHeader,
        Self::FragmentHeld,
        Self::FragmentBad,
    ];

    /// Words for `--stats`.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::LinkType => "unknown link type",
            Self::NotIp => "not IPv4 or IPv6",
            Self::NotUdp => "IP but neither UDP nor TCP",
            Self::OtherPort => "UDP or TCP on other ports",
            Self::CutUdpHeader => "UDP header cut by the capture",
            Self::CutTcpHeader => "TCP header cut by the capture",
            Self::FragmentHeld => "IP fragment (datagram reassembled later)",
            Self::FragmentBad => "IP fragment not usable",
        }
    }

    /// A short key for JSON.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::LinkType => "link_type",
            Self::NotIp => "not_ip",
            Self::NotUdp => "not_udp",
            Self::OtherPort => "other_port",
            Self::CutUdpHeader => "cut_udp_header",
            Self::CutTcpHeader => "cut_tcp_header",
            Self::FragmentHeld => "fragment_held",
            Self::FragmentBad => "fragment_bad",
        }
    }
}

/// Link types understood by [`Decoder`].
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
    /// Raw IPv6.
    pub(crate) const IPV6: i32 = 229;
    /// Linux cooked capture v2.
    pub(crate) const LINUX_SLL2: i32 = 276;
}

/// The IP packet after an EtherType, unwrapping 802.1Q, 802.1ad and QinQ
/// VLAN tags (4 bytes each: TCI, then the inner EtherType).
fn ip_after_ether_type(mut ether_type: u16, mut rest: &[u8]) -> Result<&[u8], Skip> {
    for _ in 0..4 {
        match EtherType(ether_type) {
            EtherType::IPV4 | EtherType::IPV6 => return Ok(rest),
            EtherType::VLAN_TAGGED_FRAME
            | EtherType::PROVIDER_BRIDGING
            | EtherType::VLAN_DOUBLE_TAGGED_FRAME => {
                let (Some(&hi), Some(&lo)) = (rest.get(2), rest.get(3)) else {
                    return Err(Skip::NotIp);
                };
                ether_type = u16::from_be_bytes([hi, lo]);
                rest = rest.get(4..).ok_or(Skip::NotIp)?;
            }
            _ => return Err(Skip::NotIp),
        }
    }
    Err(Skip::NotIp)
}

/// The IP packet of a frame of the given link type.
pub(crate) fn ip_packet(linktype: i32, data: &[u8]) -> Result<&[u8], Skip> {
    let two = |i: usize| -> Result<u16, Skip> {
        match (data.get(i), data.get(i + 1)) {
            (Some(&hi), Some(&lo)) => Ok(u16::from_be_bytes([hi, lo])),
            _ => Err(Skip::NotIp),
        }
    };
    match linktype {
        // Destination, source, EtherType (IEEE 802.3 §3.1.1).
        linktype::ETHERNET => {
            let rest = data.get(Ethernet2Header::LEN..).ok_or(Skip::NotIp)?;
            ip_after_ether_type(two(12)?, rest)
        }
        linktype::LINUX_SLL => ip_after_ether_type(two(14)?, data.get(16..).ok_or(Skip::NotIp)?),
        linktype::LINUX_SLL2 => ip_after_ether_type(two(0)?, data.get(20..).ok_or(Skip::NotIp)?),
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 | linktype::IPV4 | linktype::IPV6 => {
            Ok(data)
        }
        linktype::NULL | linktype::LOOP => {
            let af: [u8; 4] = data
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(Skip::NotIp)?;
            // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD,
            // OpenBSD), 28 (FreeBSD) or 30 (macOS). NULL stores the family
            // in the writer's byte order, LOOP in network order.
            let family = if u32::from_be_bytes(af) < 256 {
                u32::from_be_bytes(af)
            } else {
                u32::from_le_bytes(af)
            };
            match family {
                2 | 10 | 24 | 28 | 30 => data.get(4..).ok_or(Skip::NotIp),
                _ => Err(Skip::NotIp),
            }
        }
        _ => Err(Skip::LinkType),
    }
}

/// What identifies the fragments of one IP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FragmentKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    protocol: u8,
}

/// One datagram being put back together.
#[derive(Debug)]
struct Reassembly {
    key: FragmentKey,
    started_ns: i128,
    buf: IpDefragBuf,
}

/// A fragment's place in its datagram.
struct Fragment<'a> {
    key: FragmentKey,
    offset: IpFragOffset,
    more: bool,
    payload: &'a [u8],
}

/// Reads frames into NBNS datagrams: which UDP ports count as NBNS, and the
/// IP fragments waiting for the rest of their datagram.
///
/// Memory is bounded: at most [`MAX_PENDING_REASSEMBLIES`] datagrams of at
/// most 64 KiB each are held, the oldest dropped first, and each for at
/// most [`REASSEMBLY_TIMEOUT_NS`] of capture time.
#[derive(Debug)]
pub(crate) struct Decoder {
    ports: Vec<u16>,
    /// `ports` as a bit per port number.
    port_bits: Box<[u64; 1024]>,
    tcp_ports: Vec<u16>,
    pending: VecDeque<Reassembly>,
    /// The last datagram put back together (its buffer is reused).
    done: Vec<u8>,
    spare: Vec<Vec<u8>>,
}

impl Decoder {
    /// A decoder for UDP port 137 and `extra_ports`, and TCP port 42.
    pub(crate) fn new(extra_ports: &[u16]) -> Self {
        Self::with_tcp_ports(extra_ports, &[])
    }

    /// A decoder for UDP port 137 and `extra_ports`, and TCP port 42 and
    /// `extra_tcp_ports`.
    pub(crate) fn with_tcp_ports(extra_ports: &[u16], extra_tcp_ports: &[u16]) -> Self {
        let set = |first: u16, extra: &[u16]| {
            let mut ports = vec![first];
            ports.extend_from_slice(extra);
            ports.sort_unstable();
            ports.dedup();
            ports
        };
        let ports = set(NBNS_PORT, extra_ports);
        let mut port_bits = Box::new([0u64; 1024]);
        for &p in &ports {
            if let Some(w) = port_bits.get_mut(usize::from(p >> 6)) {
                *w |= 1 << (p & 63);
            }
        }
        Self {
            ports,
            port_bits,
            tcp_ports: set(WINSREPL_PORT, extra_tcp_ports),
            pending: VecDeque::new(),
            done: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The UDP ports read as NBNS.
    pub(crate) fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Datagrams being put back together now.
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The NBNS datagram or replication segment in a frame captured at
    /// `time_ns`, or why there is none. A frame that completes a
    /// fragmented datagram gives that datagram.
    #[inline(always)]
    pub(crate) fn decode<'a>(
        &'a mut self,
        linktype: i32,
        data: &'a [u8],
        time_ns: i128,
    ) -> Result<Found<'a>, Skip> {
        let ip = ip_packet(linktype, data)?;
        if let Some(v4) = plain_ipv4_udp(ip) {
            return udp_datagram(&self.port_bits, v4.src, v4.dst, v4.payload, false)
                .map(Found::Nbns);
        }
        self.decode_ip(ip, time_ns)
    }

    /// [`Decoder::decode`] of the IP packet `ip` by `etherparse`: every
    /// case, including those [`plain_ipv4_udp`] reads.
    pub(crate) fn decode_ip<'a>(
        &'a mut self,
        ip: &'a [u8],
        time_ns: i128,
    ) -> Result<Found<'a>, Skip> {
        let (ip, _) = LaxIpSlice::from_slice(ip).map_err(|_| Skip::NotIp)?;
        let (src, dst) = match &ip {
            LaxIpSlice::Ipv4(v4) => (
                IpAddr::V4(v4.header().source_addr()),
                IpAddr::V4(v4.header().destination_addr()),
            ),
            LaxIpSlice::Ipv6(v6) => (
                IpAddr::V6(v6.header().source_addr()),
                IpAddr::V6(v6.header().destination_addr()),
            ),
        };
        let payload = ip.payload();
        if payload.ip_number == IpNumber::TCP && !payload.fragmented {
            return tcp_segment(&self.tcp_ports, src, dst, payload.payload).map(Found::Winsrepl);
        }
        if payload.ip_number != IpNumber::UDP {
            return Err(Skip::NotUdp);
        }
        if !payload.fragmented {
            return udp_datagram(&self.port_bits, src, dst, payload.payload, false)
                .map(Found::Nbns);
        }
        let Some(fragment) = fragment_of(&ip, src, dst) else {
            return Err(Skip::FragmentBad);
        };
        if payload.incomplete {
            return Err(Skip::FragmentBad);
        }
        self.expire(time_ns);
        if !self.reassemble(fragment, time_ns)? {
            return Err(Skip::FragmentHeld);
        }
        udp_datagram(&self.port_bits, src, dst, &self.done, true).map(Found::Nbns)
    }

    /// Drops the datagrams whose first fragment is older than the timeout.
    fn expire(&mut self, now_ns: i128) {
        while let Some(oldest) = self.pending.front() {
            if now_ns - oldest.started_ns <= REASSEMBLY_TIMEOUT_NS {
                break;
            }
            if let Some(r) = self.pending.pop_front() {
                self.spare.push(r.buf.take_bufs().0);
            }
        }
    }

    /// Adds a fragment; true when its datagram is complete (then in
    /// `self.done`).
    fn reassemble(&mut self, f: Fragment<'_>, now_ns: i128) -> Result<bool, Skip> {
        let index = match self.pending.iter().position(|r| r.key == f.key) {
            Some(i) => i,
            None => {
                if self.pending.len() >= MAX_PENDING_REASSEMBLIES
                    && let Some(r) = self.pending.pop_front()
                {
                    self.spare.push(r.buf.take_bufs().0);
                }
                let data = self.spare.pop().unwrap_or_default();
                self.pending.push_back(Reassembly {
                    key: f.key,
                    started_ns: now_ns,
                    buf: IpDefragBuf::new(IpNumber::UDP, data, Vec::new()),
                });
                self.pending.len() - 1
            }
        };
        let Some(r) = self.pending.get_mut(index) else {
            return Err(Skip::FragmentBad);
        };
        let end = usize::from(f.offset.byte_offset()) + f.payload.len();
        let added = end <= MAX_IP_DEFRAG_LEN && r.buf.add(f.offset, f.more, f.payload).is_ok();
        if !added {
            if let Some(r) = self.pending.remove(index) {
                self.spare.push(r.buf.take_bufs().0);
            }
            return Err(Skip::FragmentBad);
        }
        if !r.buf.is_complete() {
            return Ok(false);
        }
        let Some(r) = self.pending.remove(index) else {
            return Err(Skip::FragmentBad);
        };
        let old = core::mem::replace(&mut self.done, r.buf.take_bufs().0);
        self.spare.push(old);
        self.spare.truncate(MAX_PENDING_REASSEMBLIES);
        Ok(true)
    }
}

/// An unfragmented IPv4 packet carrying UDP: its addresses and the UDP
/// bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlainIpv4<'a> {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) payload: &'a [u8],
}

/// The IPv4 packet nearly every NBNS frame holds, read in a few
/// instructions: IPv4 (RFC 791 §3.1) with a whole header, not a fragment,
/// protocol UDP. Anything else is `None`, and left to `etherparse`. The
/// payload is what `LaxIpSlice` gives: up to the total length, or to the
/// end of the captured bytes when the total length is below the header's or
/// beyond the capture. `tests/dissect.rs` checks the two agree.
#[inline]
pub(crate) fn plain_ipv4_udp(ip: &[u8]) -> Option<PlainIpv4<'_>> {
    let h = ip.first_chunk::<20>()?;
    let header_len = usize::from(h[0] & 0x0F) * 4;
    // Version 4, protocol 17, and neither more fragments nor an offset.
    if h[0] >> 4 != 4
        || header_len < 20
        || ip.len() < header_len
        || h[9] != IpNumber::UDP.0
        || u16::from_be_bytes([h[6], h[7]]) & 0x3FFF != 0
    {
        return None;
    }
    let total_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let end = if total_len < header_len || ip.len() < total_len {
        ip.len()
    } else {
        total_len
    };
    let addr = |at: usize| IpAddr::from([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    Some(PlainIpv4 {
        src: addr(12),
        dst: addr(16),
        payload: ip.get(header_len..end)?,
    })
}

/// The fragment header fields of a fragmented IPv4 or IPv6 packet.
fn fragment_of<'a>(ip: &LaxIpSlice<'a>, src: IpAddr, dst: IpAddr) -> Option<Fragment<'a>> {
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            Some(Fragment {
                key: FragmentKey {
                    src,
                    dst,
                    id: u32::from(h.identification()),
                    protocol: v4.payload().ip_number.0,
                },
                offset: h.fragments_offset(),
                more: h.more_fragments(),
                payload: v4.payload().payload,
            })
        }
        LaxIpSlice::Ipv6(v6) => {
            let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                Ipv6ExtensionSlice::Fragment(f) => Some(f.to_header()),
                _ => None,
            })?;
            Some(Fragment {
                key: FragmentKey {
                    src,
                    dst,
                    id: frag.identification,
                    protocol: v6.payload().ip_number.0,
                },
                offset: frag.fragment_offset,
                more: frag.more_fragments,
                payload: v6.payload().payload,
            })
        }
    }
}

/// Whether bit `port` of `bits` is set.
#[inline]
fn has_port(bits: &[u64; 1024], port: u16) -> bool {
    bits.get(usize::from(port >> 6))
        .is_some_and(|w| w & (1 << (port & 63)) != 0)
}

/// The UDP datagram in `bytes` (RFC 768: source port, destination port,
/// length, checksum, then the data) when one of its ports has its bit set
/// in `ports`. As `etherparse`'s lax reading: the payload ends where the
/// length says, or at the end of the bytes when the length is below the
/// header's or beyond the bytes.
#[inline]
fn udp_datagram<'a>(
    ports: &[u64; 1024],
    src: IpAddr,
    dst: IpAddr,
    bytes: &'a [u8],
    reassembled: bool,
) -> Result<Datagram<'a>, Skip> {
    let Some(&[s0, s1, d0, d1, l0, l1, _, _]) = bytes.first_chunk::<8>() else {
        return Err(Skip::CutUdpHeader);
    };
    let (src_port, dst_port) = (u16::from_be_bytes([s0, s1]), u16::from_be_bytes([d0, d1]));
    if !has_port(ports, src_port) && !has_port(ports, dst_port) {
        return Err(Skip::OtherPort);
    }
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    let end = if bytes.len() < len || len < 8 {
        bytes.len()
    } else {
        len
    };
    Ok(Datagram {
        src,
        dst,
        src_port,
        dst_port,
        payload: bytes.get(8..end).unwrap_or_default(),
        udp_payload_len: len.saturating_sub(8),
        reassembled,
    })
}

/// The TCP segment in `bytes` when one of its ports is in `ports`.
fn tcp_segment<'a>(
    ports: &[u16],
    src: IpAddr,
    dst: IpAddr,
    bytes: &'a [u8],
) -> Result<Segment<'a>, Skip> {
    let tcp = TcpSlice::from_slice(bytes).map_err(|_| Skip::CutTcpHeader)?;
    let (src_port, dst_port) = (tcp.source_port(), tcp.destination_port());
    if !ports.contains(&src_port) && !ports.contains(&dst_port) {
        return Err(Skip::OtherPort);
    }
    Ok(Segment {
        src,
        dst,
        src_port,
        dst_port,
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload: tcp.payload(),
    })
}

/// The NBNS datagram (UDP port 137, no reassembly) in one frame: `None` for
/// other traffic, other link types, IP fragments and frames cut before the
/// UDP header.
pub(crate) fn nbns_datagram(linktype: i32, data: &[u8]) -> Option<Datagram<'_>> {
    let ip = ip_packet(linktype, data).ok()?;
    let (ip, _) = LaxIpSlice::from_slice(ip).ok()?;
    let payload = ip.payload();
    if payload.ip_number != IpNumber::UDP || payload.fragmented {
        return None;
    }
    let (src, dst) = match &ip {
        LaxIpSlice::Ipv4(v4) => (
            IpAddr::V4(v4.header().source_addr()),
            IpAddr::V4(v4.header().destination_addr()),
        ),
        LaxIpSlice::Ipv6(v6) => (
            IpAddr::V6(v6.header().source_addr()),
            IpAddr::V6(v6.header().destination_addr()),
        ),
    };
    let mut ports = [0u64; 1024];
    ports[usize::from(NBNS_PORT >> 6)] = 1 << (NBNS_PORT & 63);
    udp_datagram(&ports, src, dst, payload.payload, false).ok()
}
