//! Classic pcap files of UDP/IPv4 datagrams, for feeding packets to tshark.
//!
//! The files use link type `LINKTYPE_RAW` (101): every record is an IPv4
//! header, a UDP header and the payload, with a correct IPv4 header checksum,
//! UDP length and UDP checksum.

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
    let mut file = Vec::new();
    file.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    file.extend_from_slice(&2_u16.to_le_bytes()); // version 2.4
    file.extend_from_slice(&4_u16.to_le_bytes());
    file.extend_from_slice(&0_i32.to_le_bytes()); // GMT offset
    file.extend_from_slice(&0_u32.to_le_bytes()); // timestamp accuracy
    file.extend_from_slice(&65_535_u32.to_le_bytes()); // snap length
    file.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    for (index, &(src, dst, payload)) in packets.iter().enumerate() {
        let ident = u16::try_from(index & 0xffff).unwrap_or(0);
        let packet = ipv4_udp(src, dst, payload, ident)?;
        let len = u32::try_from(packet.len()).map_err(io::Error::other)?;
        let millis = u32::try_from(index).map_err(io::Error::other)?;
        file.extend_from_slice(&(FIRST_TIMESTAMP + millis / 1000).to_le_bytes());
        file.extend_from_slice(&((millis % 1000) * 1000).to_le_bytes());
        file.extend_from_slice(&len.to_le_bytes()); // captured length
        file.extend_from_slice(&len.to_le_bytes()); // original length
        file.extend_from_slice(&packet);
    }
    fs::write(path, file)
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
    let total_len = udp_len.checked_add(20).ok_or_else(too_big)?;

    let mut packet = Vec::with_capacity(usize::from(total_len));
    packet.extend_from_slice(&[0x45, 0x00]); // version 4, IHL 5; DSCP/ECN 0
    packet.extend_from_slice(&total_len.to_be_bytes());
    packet.extend_from_slice(&ident.to_be_bytes());
    packet.extend_from_slice(&[0x00, 0x00]); // no flags, offset 0
    packet.extend_from_slice(&[64, 17]); // TTL, protocol UDP
    packet.extend_from_slice(&[0x00, 0x00]); // header checksum, below
    packet.extend_from_slice(&src.ip().octets());
    packet.extend_from_slice(&dst.ip().octets());
    let header_sum = internet_checksum(&[&packet]);
    packet[10..12].copy_from_slice(&header_sum.to_be_bytes());

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

    packet.extend_from_slice(&udp);
    Ok(packet)
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
