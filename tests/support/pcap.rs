//! Classic pcap files of UDP/IPv4 datagrams and of TCP/IPv4 streams, for
//! feeding packets to tshark.
//!
//! The files use link type `LINKTYPE_RAW` (101): every record is an IPv4
//! header, a UDP or TCP header and the payload, with a correct IPv4 header
//! checksum, lengths and UDP or TCP checksum.

use core::net::SocketAddrV4;
use std::fs;
use std::io;
use std::path::Path;

/// `LINKTYPE_RAW`: each packet starts with an IPv4 or IPv6 header.
const LINKTYPE_RAW: u32 = 101;
/// Capture time of the first record; each further record is one millisecond later.
const FIRST_TIMESTAMP: u32 = 1_700_000_000;

/// One UDP datagram: source, destination, payload.
pub(crate) type Datagram<'a> = (SocketAddrV4, SocketAddrV4, &'a [u8]);

/// Writes `packets` to `path` as a classic (microsecond, little-endian) pcap file.
pub(crate) fn write_udp_pcap(path: &Path, packets: &[Datagram<'_>]) -> io::Result<()> {
    let records = packets
        .iter()
        .enumerate()
        .map(|(index, &(src, dst, payload))| {
            let ident = u16::try_from(index & 0xffff).unwrap_or(0);
            ipv4_udp(src, dst, payload, ident)
        })
        .collect::<io::Result<Vec<_>>>()?;
    write_raw_pcap(path, &records)
}

/// Writes IPv4 packets to `path` as a classic (microsecond, little-endian)
/// pcap file of link type `LINKTYPE_RAW`, one millisecond apart.
pub(crate) fn write_raw_pcap(path: &Path, packets: &[Vec<u8>]) -> io::Result<()> {
    let mut file = Vec::new();
    file.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    file.extend_from_slice(&2_u16.to_le_bytes()); // version 2.4
    file.extend_from_slice(&4_u16.to_le_bytes());
    file.extend_from_slice(&0_i32.to_le_bytes()); // GMT offset
    file.extend_from_slice(&0_u32.to_le_bytes()); // timestamp accuracy
    file.extend_from_slice(&65_535_u32.to_le_bytes()); // snap length
    file.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    for (index, packet) in packets.iter().enumerate() {
        let len = u32::try_from(packet.len()).map_err(io::Error::other)?;
        let millis = u32::try_from(index).map_err(io::Error::other)?;
        file.extend_from_slice(&(FIRST_TIMESTAMP + millis / 1000).to_le_bytes());
        file.extend_from_slice(&((millis % 1000) * 1000).to_le_bytes());
        file.extend_from_slice(&len.to_le_bytes()); // captured length
        file.extend_from_slice(&len.to_le_bytes()); // original length
        file.extend_from_slice(packet);
    }
    fs::write(path, file)
}

/// Who sends a piece of a TCP conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The side that connects (SYN).
    Client,
    /// The side that listens.
    Server,
}

/// Writes one TCP conversation between `client` and `server` to `path`: the
/// three-way handshake, then each payload in order from its side, cut into
/// segments of at most `mss` bytes (so that tshark has to reassemble what is
/// longer), with consistent sequence and acknowledgement numbers, then a FIN
/// from each side.
pub(crate) fn write_tcp_pcap(
    path: &Path,
    client: SocketAddrV4,
    server: SocketAddrV4,
    payloads: &[(Side, &[u8])],
    mss: usize,
) -> io::Result<()> {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH: u8 = 0x08;
    const FIN: u8 = 0x01;
    let mut next = [1_000_u32, 500_000_u32]; // client, server: next sequence number
    let mut packets = Vec::new();
    let mut push = |side: Side, flags: u8, payload: &[u8], next: &mut [u32; 2]| {
        let (me, peer, from, to) = match side {
            Side::Client => (0, 1, client, server),
            Side::Server => (1, 0, server, client),
        };
        let ack = if flags & ACK != 0 { next[peer] } else { 0 };
        let ident = u16::try_from(packets.len() & 0xffff).unwrap_or(0);
        let segment = tcp_segment(from, to, next[me], ack, flags, payload);
        packets.push(ipv4(from, to, 6, &segment, ident));
        let consumed = payload.len() + usize::from(flags & (SYN | FIN) != 0);
        next[me] = next[me].wrapping_add(u32::try_from(consumed).unwrap_or(u32::MAX));
    };
    push(Side::Client, SYN, &[], &mut next);
    push(Side::Server, SYN | ACK, &[], &mut next);
    push(Side::Client, ACK, &[], &mut next);
    for &(side, payload) in payloads {
        for piece in payload.chunks(mss.max(1)) {
            push(side, PSH | ACK, piece, &mut next);
        }
    }
    push(Side::Client, FIN | ACK, &[], &mut next);
    push(Side::Server, FIN | ACK, &[], &mut next);
    push(Side::Client, ACK, &[], &mut next);
    let packets = packets.into_iter().collect::<io::Result<Vec<_>>>()?;
    write_raw_pcap(path, &packets)
}

/// A TCP header (20 bytes, window 65535, no options) and payload, with its
/// checksum over the IPv4 pseudo-header.
fn tcp_segment(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut tcp = Vec::with_capacity(20 + payload.len());
    tcp.extend_from_slice(&src.port().to_be_bytes());
    tcp.extend_from_slice(&dst.port().to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.extend_from_slice(&[5 << 4, flags]); // data offset 5 words
    tcp.extend_from_slice(&65_535_u16.to_be_bytes()); // window
    tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum (below), urgent pointer
    tcp.extend_from_slice(payload);
    let len = u16::try_from(tcp.len()).unwrap_or(u16::MAX);
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src.ip().octets());
    pseudo.extend_from_slice(&dst.ip().octets());
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&len.to_be_bytes());
    let sum = internet_checksum(&[&pseudo, &tcp]);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    tcp
}

/// An IPv4 packet (TTL 64, no options, no fragmentation) around `payload`
/// of protocol `protocol`. Fails if it does not fit into an IPv4 packet.
fn ipv4(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    protocol: u8,
    payload: &[u8],
    ident: u16,
) -> io::Result<Vec<u8>> {
    let total_len = u16::try_from(20 + payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "payload too large for IPv4"))?;
    let mut packet = Vec::with_capacity(usize::from(total_len));
    packet.extend_from_slice(&[0x45, 0x00]); // version 4, IHL 5; DSCP/ECN 0
    packet.extend_from_slice(&total_len.to_be_bytes());
    packet.extend_from_slice(&ident.to_be_bytes());
    packet.extend_from_slice(&[0x00, 0x00]); // no flags, offset 0
    packet.extend_from_slice(&[64, protocol]); // TTL, protocol
    packet.extend_from_slice(&[0x00, 0x00]); // header checksum, below
    packet.extend_from_slice(&src.ip().octets());
    packet.extend_from_slice(&dst.ip().octets());
    let header_sum = internet_checksum(&[&packet]);
    packet[10..12].copy_from_slice(&header_sum.to_be_bytes());
    packet.extend_from_slice(payload);
    Ok(packet)
}

/// Builds an IPv4 packet (TTL 64, no options, no fragmentation) carrying one
/// UDP datagram. Fails if the payload does not fit into an IPv4 packet.
pub(crate) fn ipv4_udp(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: &[u8],
    ident: u16,
) -> io::Result<Vec<u8>> {
    let too_big = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "UDP payload too large for IPv4",
        )
    };
    let udp_len = u16::try_from(8 + payload.len()).map_err(|_| too_big())?;
    let mut udp = Vec::with_capacity(usize::from(udp_len));
    udp.extend_from_slice(&src.port().to_be_bytes());
    udp.extend_from_slice(&dst.port().to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0x00, 0x00]); // checksum, below
    udp.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src.ip().octets());
    pseudo.extend_from_slice(&dst.ip().octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&udp_len.to_be_bytes());
    let udp_sum = match internet_checksum(&[&pseudo, &udp]) {
        0 => 0xffff, // RFC 768: a computed zero is sent as all ones
        sum => sum,
    };
    udp[6..8].copy_from_slice(&udp_sum.to_be_bytes());

    ipv4(src, dst, 17, &udp, ident)
}

/// RFC 1071 checksum over the concatenation of `parts` (each part but the
/// last must have even length).
fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        for pair in part.chunks(2) {
            let hi = pair[0];
            let lo = pair.get(1).copied().unwrap_or(0);
            sum += u32::from(u16::from_be_bytes([hi, lo]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}
