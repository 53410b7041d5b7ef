//! Writing small classic pcap files: headers of Ethernet, VLAN, Linux
//! cooked, loopback, IPv4 and UDP built by hand, and one packet of every
//! kind the crate can build, for the tests and the benchmark; and
//! [`Writer`], the dissector's `-w`.

#![allow(dead_code)]

use core::net::{Ipv4Addr, Ipv6Addr};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use nbns::wire::{
    Flags, Labels, Message, Name, NameFlags, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeName,
    NodeNames, NodeStatus, NodeType, Opcode, Rcode, RrType, Statistics,
};

/// The 24-byte header of a classic (microsecond) pcap file.
pub(crate) fn file_header(linktype: u32, snaplen: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&snaplen.to_le_bytes());
    h.extend_from_slice(&linktype.to_le_bytes());
    h
}

/// Appends one record: the first `caplen` bytes of `frame` (all of it when
/// `caplen` is larger).
pub(crate) fn record(out: &mut Vec<u8>, ts_sec: u32, ts_usec: u32, frame: &[u8], caplen: usize) {
    let cap = caplen.min(frame.len());
    out.extend_from_slice(&ts_sec.to_le_bytes());
    out.extend_from_slice(&ts_usec.to_le_bytes());
    out.extend_from_slice(&(cap as u32).to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(&frame[..cap]);
}

/// An IPv4 header (with its checksum) and a UDP header (checksum 0, which
/// IPv4 allows) around `payload`.
pub(crate) fn ipv4_udp(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let total = 20 + udp_len;
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let mut sum: u32 = p
        .chunks_exact(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&(udp_len as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

/// An IPv6 header and a UDP header (with its checksum, which IPv6
/// requires) around `payload`.
pub(crate) fn ipv6_udp(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let mut p = Vec::with_capacity(40 + udp_len);
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&(udp_len as u16).to_be_bytes());
    p.extend_from_slice(&[17, 64]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let mut udp = Vec::with_capacity(udp_len);
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    // Pseudo-header: addresses, length, next header (RFC 8200 §8.1).
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for w in bytes.chunks(2) {
            let hi = w[0];
            let lo = w.get(1).copied().unwrap_or(0);
            sum += u32::from(u16::from_be_bytes([hi, lo]));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(udp_len as u32).to_be_bytes());
    add(&[0, 0, 0, 17]);
    add(&udp);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let check = match !(sum as u16) {
        0 => 0xffff,
        c => c,
    };
    udp[6..8].copy_from_slice(&check.to_be_bytes());
    p.extend_from_slice(&udp);
    p
}

/// Splits an IPv4 packet (20-byte header, no options) into fragments whose
/// payloads are `chunk` bytes (a multiple of 8) at most, with IP ID `id`.
pub(crate) fn ipv4_fragments(packet: &[u8], id: u16, chunk: usize) -> Vec<Vec<u8>> {
    assert!(chunk.is_multiple_of(8) && chunk > 0);
    let (header, data) = packet.split_at(20);
    let pieces: Vec<&[u8]> = data.chunks(chunk).collect();
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let mut h = header.to_vec();
            let total = (20 + piece.len()) as u16;
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h[4..6].copy_from_slice(&id.to_be_bytes());
            let more = if i + 1 < pieces.len() { 0x2000 } else { 0 };
            let offset = ((i * chunk) / 8) as u16;
            h[6..8].copy_from_slice(&(more | offset).to_be_bytes());
            h[10..12].copy_from_slice(&[0, 0]);
            let mut sum: u32 = h
                .chunks_exact(2)
                .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
                .sum();
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
            h.extend_from_slice(piece);
            h
        })
        .collect()
}

/// An Ethernet II frame of EtherType `ether_type` (0x86dd for IPv6).
pub(crate) fn ethernet_typed(ip: &[u8], ether_type: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + ip.len());
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f.extend_from_slice(&ether_type.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

/// An Ethernet II frame carrying IPv4, with an 802.1Q tag when `vlan` is set.
pub(crate) fn ethernet(ip: &[u8], vlan: Option<u16>) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + ip.len());
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    if let Some(id) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&(id & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(ip);
    f
}

/// A Linux cooked (SLL, 16-byte header) frame carrying IPv4.
pub(crate) fn sll(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
    f.extend_from_slice(ip);
    f
}

/// A Linux cooked v2 (SLL2, 20-byte header) frame carrying IPv4.
pub(crate) fn sll2(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0,
    ];
    f.extend_from_slice(ip);
    f
}

/// A BSD loopback (NULL) frame: AF_INET in little-endian, then IPv4.
pub(crate) fn null(ip: &[u8]) -> Vec<u8> {
    let mut f = 2u32.to_le_bytes().to_vec();
    f.extend_from_slice(ip);
    f
}

/// One packet of every kind the crate builds, emitted to bytes.
pub(crate) fn every_kind() -> Vec<Vec<u8>> {
    static ENTRIES: [NbAddrEntry; 2] = [
        NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 0, 0, 5)),
        NbAddrEntry::new(NbFlags::new(true, NodeType::B), Ipv4Addr::new(10, 0, 0, 6)),
    ];
    let ws = Name::unscoped(NetbiosName::new("WORKSTATION1", 0x00).unwrap());
    let scoped = Name::new(
        NetbiosName::new("FILESERVER", 0x20).unwrap(),
        Labels::from_dotted(b"corp.example").unwrap(),
    );
    let e = ENTRIES[0];
    let names = [
        NodeName {
            name: NetbiosName::new("WORKSTATION1", 0x00).unwrap(),
            flags: NameFlags::active(false, NodeType::H),
        },
        NodeName {
            name: NetbiosName::new("WORKGROUP", 0x00).unwrap(),
            flags: NameFlags::active(true, NodeType::H),
        },
    ];
    let stats = Statistics::block_with_unit_id([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    let reg = Flags::request(Opcode::Registration).with_recursion_desired(true);
    let packets = [
        Message::name_query_request(1, ws, true),
        Message::name_query_request(2, scoped, false),
        Message::node_status_request(3, Name::unscoped(NetbiosName::wildcard())),
        Message::registration_request(4, ws, 300_000, e, true),
        Message::overwrite_request(5, ws, 300_000, e, true),
        Message::refresh_request(6, ws, 300_000, e, false),
        Message::refresh_request(7, ws, 300_000, e, true),
        Message::release_request(8, ws, e, false),
        Message::multihomed_registration_request(9, ws, 300_000, e),
        Message::positive_name_query_response(10, ws, 300_000, NbAddrs::from_slice(&ENTRIES)),
        Message::negative_name_query_response(11, ws, Rcode::NameError),
        Message::redirect_name_query_response(
            12,
            scoped,
            3600,
            Labels::from_dotted(b"wins.corp.example").unwrap(),
            Ipv4Addr::new(10, 0, 0, 1),
        ),
        Message::positive_registration_response(13, ws, 3600, e),
        Message::negative_registration_response(14, ws, Rcode::Active, e),
        Message::end_node_challenge_response(15, ws, 3600, ENTRIES[1]),
        Message::name_conflict_demand(16, ws, NodeType::H),
        Message::positive_release_response(17, ws, e),
        Message::negative_release_response(18, ws, Rcode::Refused, e),
        Message::wack(19, ws, 60, reg, RrType::Null),
        Message::wack(20, ws, 2, reg, RrType::Nb),
        Message::node_status_response(
            21,
            Name::unscoped(NetbiosName::wildcard()),
            NodeStatus {
                names: NodeNames::from_slice(&names),
                statistics: Statistics(&stats),
            },
        ),
    ];
    packets
        .iter()
        .map(|p| {
            let mut buf = vec![0u8; p.buffer_len()];
            let n = p.emit(&mut buf).expect("constructors emit");
            buf.truncate(n);
            buf
        })
        .collect()
}

/// A classic pcap file with nanosecond timestamps, written frame by frame
/// (`dissect -w`). Its link type is that of the first frame; frames of
/// another link type are counted and left out, since a classic pcap file
/// has one.
pub(crate) struct Writer {
    out: BufWriter<File>,
    linktype: Option<i32>,
    skipped: u64,
    error: Option<io::Error>,
}

impl Writer {
    /// Creates (or truncates) `path`.
    ///
    /// # Errors
    /// The file cannot be created.
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        Ok(Self {
            out: BufWriter::new(File::create(path)?),
            linktype: None,
            skipped: 0,
            error: None,
        })
    }

    fn header(&mut self, linktype: i32) -> io::Result<()> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&linktype.to_le_bytes());
        self.out.write_all(&h)
    }

    /// Appends a frame captured at `time_ns` (nanoseconds since the epoch)
    /// that was `orig_len` bytes long on the wire. The first error is kept
    /// for [`Self::finish`].
    pub(crate) fn frame(&mut self, linktype: i32, time_ns: i128, data: &[u8], orig_len: u32) {
        if self.error.is_some() {
            return;
        }
        let r = (|| {
            match self.linktype {
                None => {
                    self.header(linktype)?;
                    self.linktype = Some(linktype);
                }
                Some(l) if l != linktype => {
                    self.skipped += 1;
                    return Ok(());
                }
                Some(_) => {}
            }
            let secs = u32::try_from(time_ns.div_euclid(1_000_000_000)).unwrap_or(0);
            let nanos = u32::try_from(time_ns.rem_euclid(1_000_000_000)).unwrap_or(0);
            let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
            let mut r = Vec::with_capacity(16);
            r.extend_from_slice(&secs.to_le_bytes());
            r.extend_from_slice(&nanos.to_le_bytes());
            r.extend_from_slice(&caplen.to_le_bytes());
            r.extend_from_slice(&orig_len.max(caplen).to_le_bytes());
            self.out.write_all(&r)?;
            self.out.write_all(data)
        })();
        if let Err(e) = r {
            self.error = Some(e);
        }
    }

    /// Flushes the file; returns how many frames were left out for their
    /// link type.
    ///
    /// # Errors
    /// The first write error.
    pub(crate) fn finish(mut self) -> io::Result<u64> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.linktype.is_none() {
            self.header(1)?;
        }
        self.out.flush()?;
        Ok(self.skipped)
    }
}
