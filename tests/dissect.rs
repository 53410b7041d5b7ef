//! The dissector example's reading of captures: the corpus captures agree
//! with tshark's reading (tests/data/pcaps/INDEX.tsv), fuzzed captures give
//! error lines and no crash, and captures written here read back exactly.

#[path = "../examples/dissect/capture.rs"]
mod capture;
#[path = "../examples/dissect/counter.rs"]
mod counter;
#[path = "../examples/dissect/decode.rs"]
mod decode;
#[path = "../examples/dissect/filter.rs"]
mod filter;
#[path = "../examples/dissect/pcap_write.rs"]
mod pcap_write;
#[path = "../examples/dissect/render.rs"]
mod render;
#[path = "../examples/dissect/stats.rs"]
mod stats;
mod support;
#[path = "../examples/dissect/tcp.rs"]
mod tcp;
#[path = "../examples/dissect/wrepl.rs"]
mod wrepl;

use core::net::{IpAddr, Ipv4Addr};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use nbns::wire::{Packet, ParseError, RData};

use capture::{CaptureError, read_frames};
use decode::{Decoder, linktype, nbns_datagram};
use render::Origin;
use stats::Stats;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pcaps")
}

/// A datagram found in a capture, owned.
#[derive(Debug, Clone)]
struct Found {
    frame: u64,
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    payload: Vec<u8>,
    udp_len: usize,
}

fn read_datagrams(bytes: &[u8]) -> Result<Vec<Found>, CaptureError> {
    let mut v = Vec::new();
    read_frames(bytes, |f| {
        if let Some(d) = nbns_datagram(f.linktype, f.data) {
            v.push(Found {
                frame: f.number,
                src: (d.src, d.src_port),
                dst: (d.dst, d.dst_port),
                payload: d.payload.to_vec(),
                udp_len: d.udp_payload_len,
            });
        }
    })?;
    Ok(v)
}

fn capture_files() -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".pcap") || n.ends_with(".pcapng")
        })
        .collect();
    v.sort();
    v
}

/// tshark prints names with non-printable bytes as `<NN>` and the suffix as
/// `<NN>`; the wildcard as all 16 bytes. Decodes that form to bytes.
fn tshark_name_bytes(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<'
            && i + 3 < b.len()
            && b[i + 3] == b'>'
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Whether tshark's name text matches the 16 raw bytes of a NetBIOS name.
fn same_name(tshark: &str, raw: &[u8; 16]) -> bool {
    // Strip tshark's annotation: "NAME<00> (Workstation/Redirector)".
    let text = match tshark.find("> (") {
        Some(i) => &tshark[..=i],
        None => tshark,
    };
    let t = tshark_name_bytes(text);
    if t.len() == 16 {
        return t == raw;
    }
    let mut ours = raw[..15].to_vec();
    while ours.last() == Some(&b' ') {
        ours.pop();
    }
    ours.push(raw[15]);
    t == ours
}

fn num(field: &str) -> u32 {
    field
        .split('(')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("number in {field:?}"))
}

/// One row of INDEX.tsv, by column name.
struct Row(BTreeMap<String, String>);

impl Row {
    fn get(&self, k: &str) -> &str {
        self.0.get(k).map(String::as_str).unwrap_or("-")
    }
}

fn index_rows() -> Vec<Row> {
    let text = std::fs::read_to_string(data_dir().join("INDEX.tsv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            Row(head
                .iter()
                .zip(l.split('\t'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect())
        })
        .collect()
}

/// Checks our reading of one packet against tshark's row; returns what
/// disagrees.
fn compare(row: &Row, p: &Packet<'_>) -> Vec<String> {
    let mut bad = Vec::new();
    let mut check = |what: &str, ok: bool| {
        if !ok {
            bad.push(what.to_string());
        }
    };
    check(
        "opcode",
        u32::from(u8::from(p.opcode())) == num(row.get("opcode")),
    );
    check(
        "response",
        p.is_response() == (row.get("response") == "yes"),
    );
    check(
        "rcode",
        u32::from(u8::from(p.rcode())) == num(row.get("rcode")),
    );
    let h = p.header();
    check(
        "counts",
        format!("{}/{}/{}/{}", h.qdcount, h.ancount, h.nscount, h.arcount) == row.get("counts"),
    );
    let flags = row.get("nbns_flags");
    check(
        "flags",
        flags.starts_with(&format!("{:#06x}", p.flags.bits())),
    );
    // Names: question first, then each record, as tshark lists them.
    let mut ours: Vec<[u8; 16]> = Vec::new();
    if let Some(q) = &p.question() {
        ours.push(*q.name.netbios.as_bytes());
    }
    for (_, rr) in p.records() {
        ours.push(*rr.name.netbios.as_bytes());
    }
    let names: Vec<&str> = row
        .get("names")
        .split(';')
        .filter(|s| !s.is_empty() && *s != "-")
        .collect();
    check(
        "names",
        names.len() == ours.len() && names.iter().zip(&ours).all(|(t, o)| same_name(t, o)),
    );
    // TTLs, NB flags and addresses, node status.
    let mut ttls = Vec::new();
    let mut nb_flags = Vec::new();
    let mut addrs = Vec::new();
    let mut num_names = None;
    let mut unit_id = None;
    let mut node_names = Vec::new();
    for (_, rr) in p.records() {
        ttls.push(rr.ttl.to_string());
        match &rr.rdata {
            RData::Nb(a) => {
                for e in a.iter() {
                    nb_flags.push(format!("{:#06x}", e.flags.bits()));
                    addrs.push(e.address.to_string());
                }
            }
            RData::NodeStatus(s) => {
                num_names = Some(s.names.len().to_string());
                unit_id = s.statistics.unit_id().map(|m| {
                    m.iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(":")
                });
                for n in s.names.iter() {
                    node_names.push(*n.name.as_bytes());
                }
            }
            _ => {}
        }
    }
    let rr = row.get("tshark_rr");
    if rr != "-" {
        for kv in rr.split(';') {
            let (k, v) = kv.split_once('=').unwrap();
            let values: Vec<String> = v.split(',').map(str::to_string).collect();
            match k {
                "ttl" => check("ttl", values.iter().all(|t| ttls.contains(t))),
                "nb_flags" => check("nb_flags", values == nb_flags),
                "addr" => check("addr", values == addrs),
                "num_names" => check("num_names", Some(v.to_string()) == num_names),
                "unit_id" => check("unit_id", Some(v.to_string()) == unit_id),
                other => panic!("unknown tshark_rr key {other}"),
            }
        }
    }
    let nbstat = row.get("nbstat_names");
    if nbstat != "-" {
        let t: Vec<&str> = nbstat.split(';').collect();
        let ok = t.len() == node_names.len()
            && t.iter().zip(&node_names).all(|(t, raw)| {
                let mut ours = raw[..15].to_vec();
                while ours.last() == Some(&b' ') {
                    ours.pop();
                }
                tshark_name_bytes(t) == ours
            });
        check("nbstat_names", ok);
    }
    bad
}

/// Why tshark's row says our parser may refuse the packet.
fn refusal_expected(row: &Row) -> bool {
    let tags = row.get("tags");
    let counts_over_one = row
        .get("counts")
        .split('/')
        .any(|c| c.parse::<u32>().unwrap_or(0) > 1);
    counts_over_one
        || tags.contains("struct-err")
        || tags.contains("bad-first-level")
        || tags.contains("caplen-trunc")
        || row.get("tshark_malformed") == "yes"
}

#[test]
fn corpus_agrees_with_tshark() {
    let rows = index_rows();
    let mut by_file: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for path in capture_files() {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let found = read_datagrams(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        by_file.insert(name, found);
    }
    let (mut parsed, mut refused) = (0, 0);
    let mut problems = Vec::new();
    for row in &rows {
        let file = row.get("pcap_file");
        let frame: u64 = row.get("pcap_frame").parse().unwrap();
        let Some(found) = by_file.get(file) else {
            problems.push(format!("{file}: capture missing"));
            continue;
        };
        let Some(d) = found.iter().find(|d| d.frame == frame) else {
            problems.push(format!("{file}:{frame}: no UDP/137 datagram found"));
            continue;
        };
        let want_len: usize = row.get("length").parse().unwrap();
        // Where the UDP length field is shorter than the bytes captured, the
        // datagram is what UDP says (what a receiver gets); the index kept
        // every byte.
        let udp_shorter = row.get("tags").contains("udplen-mismatch") && d.payload.len() < want_len;
        if d.payload.len() != want_len && !udp_shorter {
            problems.push(format!(
                "{file}:{frame}: payload {} bytes, index says {want_len}",
                d.payload.len()
            ));
        }
        match Packet::parse(&d.payload) {
            Ok(p) => {
                parsed += 1;
                let bad = compare(row, &p);
                if !bad.is_empty() {
                    problems.push(format!("{file}:{frame}: {bad:?} differ ({p})"));
                }
            }
            Err(e) => {
                refused += 1;
                if !refusal_expected(row) {
                    problems.push(format!(
                        "{file}:{frame}: refused ({e}) but tshark saw nothing wrong"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(parsed + refused, rows.len());
    eprintln!("{parsed} packets agree with tshark, {refused} refused as malformed");
    assert!(parsed > 300, "only {parsed} parsed");
}

/// Every datagram of every capture, in every output mode: no panic, error
/// lines for what the parser refuses, valid JSON.
#[test]
fn every_mode_on_every_capture() {
    let mut stats = Stats::default();
    let mut error_lines = 0;
    for path in capture_files() {
        let bytes = std::fs::read(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for d in read_datagrams(&bytes).unwrap() {
            let parsed = Packet::parse(&d.payload);
            let datagram = decode::Datagram {
                src: d.src.0,
                dst: d.dst.0,
                src_port: d.src.1,
                dst_port: d.dst.1,
                payload: &d.payload,
                udp_payload_len: d.udp_len,
                reassembled: false,
            };
            stats.count(&datagram, &parsed, 0);
            let o = Origin::bare(&file, d.frame, d.src, d.dst, d.payload.len(), d.udp_len);
            let mut line = Vec::new();
            render::line(&mut line, &o, &parsed).unwrap();
            let line = String::from_utf8(line).unwrap();
            assert_eq!(line.matches('\n').count(), 1, "{line}");
            let mut tree = Vec::new();
            render::tree(&mut tree, &o, &d.payload, &d.payload, &parsed).unwrap();
            let mut json = Vec::new();
            let mut buf = String::new();
            render::json(&mut json, &mut buf, &o, &parsed).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&json)
                .unwrap_or_else(|e| panic!("{file}:{}: bad JSON {e}: {buf}", d.frame));
            assert_eq!(v["frame"], d.frame);
            if let Err(e) = parsed {
                error_lines += 1;
                let want = format!("Malformed NBNS packet at byte {}: {e}", e.offset());
                assert!(line.contains(&want), "{line}");
                assert_eq!(v["error_offset"], e.offset());
            } else {
                assert!(v["kind"].is_string());
            }
        }
    }
    assert_eq!(stats.malformed, error_lines);
    assert!(
        error_lines >= 40,
        "fuzzed captures give {error_lines} error lines"
    );
    let mut text = Vec::new();
    stats.write(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("Name query request"), "{text}");
}

#[test]
fn written_capture_reads_back_exactly() {
    let packets = pcap_write::every_kind();
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 255));
    type Wrap = fn(&[u8]) -> Vec<u8>;
    let links: [(u32, Wrap); 6] = [
        (1, |ip| pcap_write::ethernet(ip, None)),
        (1, |ip| pcap_write::ethernet(ip, Some(42))),
        (linktype::LINUX_SLL as u32, pcap_write::sll),
        (linktype::LINUX_SLL2 as u32, pcap_write::sll2),
        (linktype::RAW as u32, <[u8]>::to_vec),
        (linktype::NULL as u32, pcap_write::null),
    ];
    for (lt, wrap) in links {
        let mut file = pcap_write::file_header(lt, 65535);
        for (i, p) in packets.iter().enumerate() {
            let ip = pcap_write::ipv4_udp(a, b, 137, 137, p);
            record_frame(&mut file, i, &wrap(&ip));
            // Traffic that is not NBNS must be skipped.
            let other = pcap_write::ipv4_udp(a, b, 53, 53, p);
            record_frame(&mut file, i, &wrap(&other));
        }
        let found = read_datagrams(&file).unwrap();
        assert_eq!(found.len(), packets.len(), "link type {lt}");
        for (i, (d, bytes)) in found.iter().zip(&packets).enumerate() {
            assert_eq!(d.frame, 2 * i as u64 + 1);
            assert_eq!((d.src, d.dst), ((a.into(), 137), (b.into(), 137)));
            assert_eq!(&d.payload, bytes);
            let back = Packet::parse(&d.payload).unwrap();
            assert_eq!(Packet::parse(bytes).unwrap(), back);
            let mut out = vec![0u8; back.buffer_len()];
            back.emit(&mut out).unwrap();
            assert_eq!(&out, bytes);
        }
    }
    // Every kind is distinct and none is Unknown.
    let kinds: BTreeSet<String> = packets
        .iter()
        .map(|p| Packet::parse(p).unwrap().kind().description().to_string())
        .collect();
    assert!(!kinds.contains("Unknown packet"));
    assert_eq!(kinds.len(), 18, "{kinds:?}");
}

fn record_frame(file: &mut Vec<u8>, i: usize, frame: &[u8]) {
    pcap_write::record(file, 1_700_000_000 + i as u32, 0, frame, usize::MAX);
}

#[test]
fn pcapng_reads_back() {
    let packets = pcap_write::every_kind();
    let ip = pcap_write::ipv4_udp(
        Ipv4Addr::new(192, 168, 1, 2),
        Ipv4Addr::new(192, 168, 1, 3),
        137,
        137,
        &packets[3],
    );
    let frame = pcap_write::ethernet(&ip, None);
    let mut f = Vec::new();
    // Section header block.
    f.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
    f.extend_from_slice(&28u32.to_le_bytes());
    f.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&(-1i64).to_le_bytes());
    f.extend_from_slice(&28u32.to_le_bytes());
    // Interface description block: Ethernet, no options.
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&20u32.to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&20u32.to_le_bytes());
    // Enhanced packet block.
    let padded = frame.len().div_ceil(4) * 4;
    let len = (32 + padded) as u32;
    f.extend_from_slice(&6u32.to_le_bytes());
    f.extend_from_slice(&len.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&1_000_000u32.to_le_bytes());
    f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    f.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    f.extend_from_slice(&frame);
    f.resize(f.len() + padded - frame.len(), 0);
    f.extend_from_slice(&len.to_le_bytes());
    let mut times = Vec::new();
    read_frames(&f[..], |fr| times.push(fr.time_ns)).unwrap();
    assert_eq!(times, [1_000_000_000]);
    let found = read_datagrams(&f).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].payload, packets[3]);
}

#[test]
fn cut_frames_and_damaged_files() {
    let packets = pcap_write::every_kind();
    let ip = pcap_write::ipv4_udp(
        Ipv4Addr::new(10, 0, 0, 5),
        Ipv4Addr::new(10, 0, 0, 6),
        137,
        137,
        &packets[3],
    );
    let frame = pcap_write::ethernet(&ip, None);
    // Snap length cuts the NBNS payload: the datagram is found, marked cut,
    // and the parser reports where it ran out.
    let mut file = pcap_write::file_header(1, 60);
    pcap_write::record(&mut file, 0, 0, &frame, 60);
    pcap_write::record(&mut file, 1, 0, &frame, usize::MAX);
    let found = read_datagrams(&file).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].payload.len(), 60 - 14 - 28);
    assert_eq!(found[0].udp_len, packets[3].len());
    let err = Packet::parse(&found[0].payload).unwrap_err();
    assert!(matches!(err, ParseError::Truncated { .. }), "{err}");
    assert_eq!(found[1].payload, packets[3]);

    // A file cut inside a record: the frames before are read, then an error.
    let cut = &file[..file.len() - 10];
    let mut n = 0;
    let err = read_frames(cut, |_| n += 1).unwrap_err();
    assert_eq!(n, 1);
    assert!(
        matches!(err, CaptureError::TruncatedFile { frames: 1 }),
        "{err}"
    );
    // Not a capture, and nothing at all.
    let err = read_frames(&b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"[..], |_| {}).unwrap_err();
    assert!(matches!(err, CaptureError::UnknownFormat), "{err}");
    assert!(matches!(
        read_frames(&b""[..], |_| {}),
        Err(CaptureError::Empty)
    ));
    // A header alone is an empty, valid capture.
    assert_eq!(read_frames(&file[..24], |_| {}).unwrap(), 0);
}

/// The example binary itself: exit status and error messages.
#[test]
fn example_binary_exit_status() {
    let bin = support::programs::example_bin("dissect");
    let pcap = data_dir().join("tcpdump-eapon1.pcap");
    let ok = std::process::Command::new(&bin)
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(ok.status.success());
    let text = String::from_utf8(ok.stdout).unwrap();
    assert_eq!(text.lines().count(), 36);
    assert!(
        text.contains("Name query request ARBEITSGRUPPE<1b>"),
        "{text}"
    );

    let stats = std::process::Command::new(&bin)
        .args(["--stats".as_ref(), pcap.as_os_str()])
        .output()
        .unwrap();
    let text = String::from_utf8(stats.stdout).unwrap();
    assert!(text.starts_with("NBNS datagrams: 36 "), "{text}");

    let bad = std::process::Command::new(&bin)
        .args([pcap.as_path(), &data_dir().join("SOURCES.md")])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.contains("SOURCES.md: not a capture file"), "{err}");
    assert_eq!(String::from_utf8(bad.stdout).unwrap().lines().count(), 36);
}

/// The NBNS datagram of a decoder's result.
fn nbns_of(
    found: Result<decode::Found<'_>, decode::Skip>,
) -> Result<decode::Datagram<'_>, decode::Skip> {
    match found? {
        decode::Found::Nbns(d) => Ok(d),
        decode::Found::Winsrepl(_) => panic!("a TCP segment where a datagram was expected"),
    }
}

/// IPv6 UDP datagrams on Ethernet, raw IPv6 and BSD loopback are found with
/// their addresses.
#[test]
fn ipv6_datagrams_are_read() {
    let packets = pcap_write::every_kind();
    let (a, b): (core::net::Ipv6Addr, core::net::Ipv6Addr) =
        ("fe80::1".parse().unwrap(), "ff02::1".parse().unwrap());
    let ip = pcap_write::ipv6_udp(a, b, 137, 137, &packets[0]);
    let mut bsd = 24u32.to_le_bytes().to_vec();
    bsd.extend_from_slice(&ip);
    for (lt, frame) in [
        (linktype::ETHERNET, pcap_write::ethernet_typed(&ip, 0x86dd)),
        (linktype::IPV6, ip.clone()),
        (linktype::RAW, ip.clone()),
        (linktype::NULL, bsd),
    ] {
        let d = nbns_datagram(lt, &frame).unwrap_or_else(|| panic!("link type {lt}"));
        assert_eq!((d.src, d.dst), (IpAddr::V6(a), IpAddr::V6(b)));
        assert_eq!(d.payload, &packets[0][..]);
        let mut decoder = Decoder::new(&[]);
        assert_eq!(
            nbns_of(decoder.decode(lt, &frame, 0)).unwrap().payload,
            &packets[0][..]
        );
    }
}

/// Fragments of an IPv4 datagram, in order or not, give the whole datagram
/// once, on the frame that completes it; the others count as held.
#[test]
fn ipv4_fragments_are_reassembled() {
    let packets = pcap_write::every_kind();
    // The node status response is the largest packet.
    let payload = packets.iter().max_by_key(|p| p.len()).unwrap();
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6));
    let whole = pcap_write::ipv4_udp(a, b, 137, 137, payload);
    let frags = pcap_write::ipv4_fragments(&whole, 0x1234, 64);
    assert!(frags.len() >= 3, "{} fragments", frags.len());
    for order in [vec![0, 1, 2], vec![2, 0, 1], vec![1, 2, 0]] {
        let mut decoder = Decoder::new(&[]);
        let mut sequence: Vec<usize> = order.clone();
        sequence.extend(3..frags.len());
        let mut found = Vec::new();
        for (n, &i) in sequence.iter().enumerate() {
            match nbns_of(decoder.decode(linktype::RAW, &frags[i], n as i128)) {
                Ok(d) => {
                    assert!(d.reassembled);
                    found.push(d.payload.to_vec());
                }
                Err(skip) => assert_eq!(skip, decode::Skip::FragmentHeld),
            }
        }
        assert_eq!(found, vec![payload.clone()], "order {sequence:?}");
        assert_eq!(decoder.pending(), 0);
    }
    // A fragment alone is held, never shown, and expires.
    let mut decoder = Decoder::new(&[]);
    assert_eq!(
        nbns_of(decoder.decode(linktype::RAW, &frags[1], 0)).unwrap_err(),
        decode::Skip::FragmentHeld
    );
    let later = decode::REASSEMBLY_TIMEOUT_NS + 1;
    let other = pcap_write::ipv4_fragments(&whole, 0x9999, 64);
    let _ = decoder.decode(linktype::RAW, &other[0], later);
    assert_eq!(decoder.pending(), 1, "the old datagram expired");
}

/// However many datagrams an attacker starts, the reassembler holds at
/// most its cap of them.
#[test]
fn reassembly_memory_is_bounded() {
    let payload = vec![0u8; 1000];
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6));
    let whole = pcap_write::ipv4_udp(a, b, 137, 137, &payload);
    let mut decoder = Decoder::new(&[]);
    for id in 0..10_000u16 {
        let first = &pcap_write::ipv4_fragments(&whole, id, 512)[0];
        assert!(decoder.decode(linktype::RAW, first, 0).is_err());
        assert!(decoder.pending() <= decode::MAX_PENDING_REASSEMBLIES);
    }
    assert_eq!(decoder.pending(), decode::MAX_PENDING_REASSEMBLIES);
}

/// Extra ports are read as NBNS; without them, the same datagram is
/// skipped as another port's.
#[test]
fn decode_as_ports() {
    let packets = pcap_write::every_kind();
    let (a, b) = (Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2));
    let ip = pcap_write::ipv4_udp(a, b, 40000, 1137, &packets[0]);
    let mut plain = Decoder::new(&[]);
    assert_eq!(
        nbns_of(plain.decode(linktype::RAW, &ip, 0)).unwrap_err(),
        decode::Skip::OtherPort
    );
    let mut extra = Decoder::new(&[1137]);
    assert_eq!(extra.ports(), &[137, 1137]);
    let d = nbns_of(extra.decode(linktype::RAW, &ip, 0)).unwrap();
    assert_eq!((d.src_port, d.dst_port), (40000, 1137));
}

/// However many connections a capture opens, at most the cap of streams
/// is followed, and each holds a bounded number of early segments.
#[test]
fn tcp_streams_are_bounded() {
    let mut streams = tcp::Streams::default();
    let src: IpAddr = Ipv4Addr::new(10, 0, 0, 2).into();
    let dst: IpAddr = Ipv4Addr::new(10, 0, 0, 1).into();
    let mut messages = 0;
    for port in 0..5000u16 {
        // A message's first bytes, then segments far ahead of it.
        for (seq, payload) in [(0u32, &[0u8, 0, 0, 16][..]), (1_000_000, &[1u8; 100][..])] {
            let seg = decode::Segment {
                src,
                dst,
                src_port: port,
                dst_port: 42,
                seq: seq + u32::from(port),
                syn: false,
                fin: false,
                rst: false,
                payload,
            };
            streams.segment(&seg, |e| {
                if matches!(e, tcp::StreamEvent::Message(_)) {
                    messages += 1;
                }
            });
        }
        assert!(streams.len() <= tcp::MAX_STREAMS);
    }
    assert_eq!(streams.len(), tcp::MAX_STREAMS);
    assert_eq!(messages, 0);
}

/// A deterministic stream of numbers for the mutations below.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// IPv4 packets of every kind with their headers mutated where the fast
/// path decides (version, header length, total length, fragment bits,
/// protocol, UDP length) and cut at every length.
fn mutated_ip_packets() -> Vec<Vec<u8>> {
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6));
    let mut out = Vec::new();
    let mut rng = Lcg(7);
    for p in pcap_write::every_kind() {
        let base = pcap_write::ipv4_udp(a, b, 137, 40000, &p);
        for cut in 0..=base.len() {
            out.push(base[..cut].to_vec());
        }
        let len = base.len() as u16;
        for _ in 0..400 {
            let mut ip = base.clone();
            let pick = |rng: &mut Lcg, v: &[u16]| v[rng.next() as usize % v.len()];
            if rng.next().is_multiple_of(3) {
                ip[0] = [0x45, 0x44, 0x46, 0x4F, 0x40, 0x55, 0x65][rng.next() as usize % 7];
            }
            if rng.next().is_multiple_of(3) {
                let total = pick(
                    &mut rng,
                    &[0, 19, 20, 27, 28, len - 1, len, len + 1, 0xFFFF],
                );
                ip[2..4].copy_from_slice(&total.to_be_bytes());
            }
            if rng.next().is_multiple_of(3) {
                let flags = pick(
                    &mut rng,
                    &[0, 0x4000, 0x2000, 0x0001, 0x8000, 0x1FFF, 0x6000],
                );
                ip[6..8].copy_from_slice(&flags.to_be_bytes());
            }
            if rng.next().is_multiple_of(4) {
                ip[9] = [17, 6, 51, 1, 0][rng.next() as usize % 5];
            }
            if rng.next().is_multiple_of(3) {
                let udp = len - 20;
                let l = pick(&mut rng, &[0, 7, 8, 9, udp - 1, udp, udp + 1, 0xFFFF]);
                ip[24..26].copy_from_slice(&l.to_be_bytes());
            }
            if rng.next().is_multiple_of(4) {
                // Either port, or neither, the NBNS one.
                let port = pick(&mut rng, &[137, 138, 40000]);
                let at = if rng.next().is_multiple_of(2) { 20 } else { 22 };
                ip[at..at + 2].copy_from_slice(&port.to_be_bytes());
            }
            if rng.next().is_multiple_of(4) {
                ip.truncate(rng.next() as usize % (ip.len() + 1));
            }
            out.push(ip);
        }
    }
    out
}

/// The in-place reading of plain IPv4 and of UDP gives what `etherparse`
/// gives: the decoder's fast path against its general path, and the UDP
/// fields against `UdpSlice`'s lax reading, on thousands of mutated
/// packets.
#[test]
fn in_place_ipv4_and_udp_agree_with_etherparse() {
    let packets = mutated_ip_packets();
    let mut fast_taken = 0;
    for ip in &packets {
        let (mut fast, mut general) = (Decoder::new(&[]), Decoder::new(&[]));
        let by_fast = fast.decode(linktype::RAW, ip, 0);
        let by_general = general.decode_ip(ip, 0);
        assert_eq!(by_fast, by_general, "{ip:02x?}");
        if decode::plain_ipv4_udp(ip).is_some() {
            fast_taken += 1;
        }
        // UDP as etherparse reads it, for the unfragmented IP packets.
        let Ok((lax, _)) = etherparse::LaxIpSlice::from_slice(ip) else {
            continue;
        };
        let payload = lax.payload();
        if payload.ip_number != etherparse::IpNumber::UDP || payload.fragmented {
            continue;
        }
        let expected = etherparse::UdpSlice::from_slice_lax(payload.payload).ok();
        match (expected, by_fast) {
            (None, r) => assert_eq!(r, Err(decode::Skip::CutUdpHeader), "{ip:02x?}"),
            (Some(u), Ok(decode::Found::Nbns(d))) => {
                assert_eq!(
                    (d.src_port, d.dst_port),
                    (u.source_port(), u.destination_port())
                );
                assert_eq!(d.payload, u.payload(), "{ip:02x?}");
                assert_eq!(d.udp_payload_len, usize::from(u.length()).saturating_sub(8));
            }
            (Some(u), r) => {
                assert_eq!(r, Err(decode::Skip::OtherPort), "{ip:02x?}");
                assert!(u.source_port() != 137 && u.destination_port() != 137);
            }
        }
    }
    // Both paths were exercised.
    assert!(
        fast_taken > packets.len() / 4,
        "{fast_taken} of {}",
        packets.len()
    );
    assert!(
        fast_taken < packets.len() * 3 / 4,
        "{fast_taken} of {}",
        packets.len()
    );
}

/// A reader that hands out at most a few bytes a call, and is interrupted
/// now and then, as a pipe may be.
struct Trickle<'a> {
    data: &'a [u8],
    calls: u64,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(5) {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let n = (self.calls as usize % 7 + 1)
            .min(buf.len())
            .min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A classic pcap in either byte order, in micro- or nanoseconds, read
/// whole, in dribs and drabs, or with a record larger than the read
/// buffer: every frame comes out with its number, time, bytes and length.
#[test]
fn classic_pcap_records_in_any_byte_order_and_chunking() {
    let packets = pcap_write::every_kind();
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6));
    let mut frames: Vec<Vec<u8>> = packets
        .iter()
        .map(|p| pcap_write::ethernet(&pcap_write::ipv4_udp(a, b, 137, 137, p), None))
        .collect();
    // Tiny frames end records a byte or two past a read.
    for len in 1..=9 {
        frames.insert(len * 2, vec![len as u8; len]);
    }
    // Larger than the 1 MiB read buffer.
    frames.push(vec![0x5A; 3 << 20]);
    frames.push(Vec::new());
    for (magic, big_endian, frac_ns) in [
        (0xA1B2_C3D4u32, false, 1000i128),
        (0xA1B2_C3D4, true, 1000),
        (0xA1B2_3C4D, false, 1),
        (0xA1B2_3C4D, true, 1),
    ] {
        let word = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut file = Vec::new();
        file.extend_from_slice(&word(magic));
        let version = if big_endian {
            [0, 2, 0, 4]
        } else {
            [2, 0, 4, 0]
        };
        file.extend_from_slice(&version);
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&word(0x0040_0000));
        file.extend_from_slice(&word(1));
        for (i, f) in frames.iter().enumerate() {
            file.extend_from_slice(&word(1_700_000_000 + i as u32));
            file.extend_from_slice(&word(i as u32 * 3));
            file.extend_from_slice(&word(f.len() as u32));
            file.extend_from_slice(&word(f.len() as u32 + 4));
            file.extend_from_slice(f);
        }
        let check = |got: Vec<(u64, i128, Vec<u8>, u32)>| {
            assert_eq!(got.len(), frames.len(), "{magic:x} {big_endian}");
            for (i, (number, t, data, orig)) in got.into_iter().enumerate() {
                assert_eq!(number, i as u64 + 1);
                let secs = i128::from(1_700_000_000 + i as u32);
                assert_eq!(t, secs * 1_000_000_000 + i as i128 * 3 * frac_ns);
                assert_eq!(data, frames[i]);
                assert_eq!(orig, frames[i].len() as u32 + 4);
            }
        };
        let mut whole = Vec::new();
        let n = read_frames(&file[..], |f| {
            whole.push((f.number, f.time_ns, f.data.to_vec(), f.orig_len));
        })
        .unwrap();
        assert_eq!(n, frames.len() as u64);
        check(whole);
        // The large record alone would take long in 1-to-7-byte reads:
        // trickle the file without it.
        let small = frames.len() - 2;
        let cut_at = file.len() - (16 + (3 << 20)) - 16;
        let mut head = file[..cut_at].to_vec();
        head.extend_from_slice(&file[cut_at + 16 + (3 << 20)..]);
        let mut trickled = Vec::new();
        let trickle = Trickle {
            data: &head,
            calls: 0,
        };
        let n = read_frames(trickle, |f| trickled.push(f.data.to_vec())).unwrap();
        assert_eq!(n, frames.len() as u64 - 1);
        assert_eq!(trickled[..small], frames[..small]);
        // Cut inside the large record: the frames before it, then an error.
        let mut count = 0;
        let err = read_frames(&file[..cut_at + 1000], |_| count += 1).unwrap_err();
        assert!(matches!(err, CaptureError::TruncatedFile { .. }), "{err}");
        assert_eq!(count, small);
    }
}

/// A record claiming more than the largest record accepted is refused
/// without waiting for, or allocating, its bytes.
#[test]
fn an_oversized_record_is_refused() {
    let mut file = pcap_write::file_header(1, 65535);
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&u32::MAX.to_le_bytes());
    file.extend_from_slice(&u32::MAX.to_le_bytes());
    file.extend_from_slice(&[0; 64]);
    let err = read_frames(&file[..], |_| {}).unwrap_err();
    assert!(
        matches!(err, CaptureError::Damaged { frames: 0, .. }),
        "{err}"
    );
}

/// `--stats` keeps an IPv4 sender and its IPv4-mapped IPv6 form apart
/// (their table words are the same, their keys are not), and counts each
/// packet kind at its own place.
#[test]
fn stats_tables_keep_keys_apart() {
    let packets = pcap_write::every_kind();
    let mut stats = Stats::default();
    stats.start_file("x");
    let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));
    let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 5).to_ipv6_mapped());
    for (i, src) in [v4, mapped, mapped].into_iter().enumerate() {
        let d = decode::Datagram {
            src,
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 6)),
            src_port: 137,
            dst_port: 137,
            payload: &packets[0],
            udp_payload_len: packets[0].len(),
            reassembled: false,
        };
        stats.count(&d, &Packet::parse(&packets[0]), i as i128);
    }
    assert_eq!(stats.top_talkers(), [(mapped, 2), (v4, 1)]);
    for (i, k) in filter::KINDS.iter().enumerate() {
        assert_eq!(filter::kind_index(*k), i, "{k:?}");
    }
    for p in &packets {
        let parsed = Packet::parse(p).unwrap();
        let mut one = Stats::default();
        let d = decode::Datagram {
            src: v4,
            dst: v4,
            src_port: 137,
            dst_port: 137,
            payload: p,
            udp_payload_len: p.len(),
            reassembled: false,
        };
        one.count(&d, &Ok(parsed.clone()), 0);
        assert_eq!(one.kind(parsed.kind()), 1, "{:?}", parsed.kind());
    }
}

/// A stream generated on the fly, `records` copies of one record.
struct Repeat {
    record: Vec<u8>,
    at: usize,
    left: u64,
}

impl std::io::Read for Repeat {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.left > 0 {
            let chunk = (self.record.len() - self.at).min(buf.len() - n);
            buf[n..n + chunk].copy_from_slice(&self.record[self.at..self.at + chunk]);
            n += chunk;
            self.at += chunk;
            if self.at == self.record.len() {
                self.at = 0;
                self.left -= 1;
            }
        }
        Ok(n)
    }
}

/// The read buffer keeps its size over a long capture, and grows for a
/// large record only as far as the record's bytes (a doubling past them),
/// never to what a length field claims.
#[test]
fn the_read_buffer_follows_the_data() {
    let mut record = Vec::new();
    pcap_write::record(&mut record, 1, 2, &[7u8; 333], usize::MAX);
    let stream = Repeat {
        record: record.clone(),
        at: 0,
        left: 200_000,
    };
    let mut chunks = capture::Chunks::new(Vec::new(), stream);
    let start = chunks.capacity();
    let mut n = 0u64;
    while chunks.fill(16).unwrap() {
        assert!(chunks.fill(record.len()).unwrap());
        assert_eq!(&chunks.data()[..record.len()], &record[..]);
        chunks.consume(record.len());
        n += 1;
        assert_eq!(chunks.capacity(), start);
    }
    assert_eq!(n, 200_000);
    // One record of 3 MiB.
    let mut big = Vec::new();
    pcap_write::record(&mut big, 1, 2, &vec![9u8; 3 << 20], usize::MAX);
    let stream = Repeat {
        record: big.clone(),
        at: 0,
        left: 1,
    };
    let mut chunks = capture::Chunks::new(Vec::new(), stream);
    assert!(chunks.fill(big.len()).unwrap());
    assert!(chunks.capacity() <= 2 * big.len(), "{}", chunks.capacity());
    // A header claiming 64 MiB with 100 bytes behind it: no growth.
    let mut liar = big[..16].to_vec();
    liar[8..12].copy_from_slice(&(64u32 << 20).to_le_bytes());
    liar.extend_from_slice(&[0; 100]);
    let mut chunks = capture::Chunks::new(Vec::new(), &liar[..]);
    assert!(!chunks.fill(16 + (64 << 20)).unwrap());
    assert_eq!(chunks.capacity(), start);
}
