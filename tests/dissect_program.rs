//! The `dissect` example as a program: its options, run as a process on
//! captures written here (times, several files, decode-as ports, IPv6, IP
//! fragments, gzip, selection and `-w`, `--stats --json`, `-V`, `-x`) and
//! its exit status.

#[path = "../examples/dissect/pcap_write.rs"]
mod pcap_write;
mod support;

use core::net::{Ipv4Addr, Ipv6Addr};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nbns::wire::{Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeType, Rcode};

/// A scratch file unique to this process and test.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("nbns-dissect-{}-{name}", std::process::id()))
}

fn dissect(args: &[&str]) -> Output {
    Command::new(support::programs::example_bin("dissect"))
        .args(args)
        .output()
        .expect("run dissect")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn emitted(p: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; p.buffer_len()];
    let n = p.emit(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// A query for `WORKSTATION1<00>` with `id`, and the positive answer.
fn query_and_answer(id: u16) -> (Vec<u8>, Vec<u8>) {
    let name = Name::unscoped(NetbiosName::new("WORKSTATION1", 0x00).unwrap());
    let q = Message::name_query_request(id, name, false);
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 0, 0, 5));
    let a = Message::positive_name_query_response(
        id,
        name,
        300_000,
        NbAddrs::from_slice(core::slice::from_ref(&entry)),
    );
    (emitted(&q), emitted(&a))
}

/// A classic pcap of raw IP frames at the given (seconds, microseconds).
fn raw_pcap(path: &Path, frames: &[(u32, u32, Vec<u8>)]) {
    let mut file = pcap_write::file_header(101, 65535);
    for (s, us, f) in frames {
        pcap_write::record(&mut file, *s, *us, f, usize::MAX);
    }
    std::fs::write(path, file).unwrap();
}

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// Query at t=1000.25 s, answer 1.5 ms later, a second query 2 s later.
fn conversation(path: &Path) {
    let (q, a) = query_and_answer(0x4242);
    let (q2, _) = query_and_answer(0x4343);
    raw_pcap(
        path,
        &[
            (
                1000,
                250_000,
                pcap_write::ipv4_udp(CLIENT, SERVER, 40000, 137, &q),
            ),
            (
                1000,
                251_500,
                pcap_write::ipv4_udp(SERVER, CLIENT, 137, 40000, &a),
            ),
            (
                1002,
                251_500,
                pcap_write::ipv4_udp(CLIENT, SERVER, 40000, 137, &q2),
            ),
        ],
    );
}

#[test]
fn help_and_usage_errors() {
    let help = dissect(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(
        stdout(&help).contains("-d <udp.port==N,nbns>"),
        "{}",
        stdout(&help)
    );
    for bad in [
        &["--frobnicate", "x.pcap"][..],
        &[][..],
        &["-d", "tcp.port==42,http", "x.pcap"][..],
        &["-t", "q", "x.pcap"][..],
        &["--kind", "no such kind", "x.pcap"][..],
        &["--rcode", "99", "x.pcap"][..],
    ] {
        let o = dissect(bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {o:?}");
        assert!(o.stdout.is_empty(), "{bad:?}");
        // One line saying what is wrong.
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err:?}");
        assert!(err.starts_with("dissect: "), "{bad:?}: {err:?}");
    }
}

#[test]
fn times_like_tshark() {
    let pcap = scratch("times.pcap");
    conversation(&pcap);
    let p = pcap.to_str().unwrap();
    let column = |o: &Output| -> Vec<String> {
        stdout(o)
            .lines()
            .map(|l| l.split_whitespace().nth(1).unwrap().to_owned())
            .collect()
    };
    assert_eq!(column(&dissect(&[p])), ["0.000000", "0.001500", "2.001500"]);
    assert_eq!(
        column(&dissect(&["-t", "d", p])),
        ["0.000000", "0.001500", "2.000000"]
    );
    assert_eq!(
        column(&dissect(&["-t", "e", p])),
        ["1000.250000", "1000.251500", "1002.251500"]
    );
    assert_eq!(
        column(&dissect(&["-t", "a", p])),
        ["00:16:40.250000", "00:16:40.251500", "00:16:42.251500"]
    );
    let ad = stdout(&dissect(&["-t", "ad", p]));
    assert!(
        ad.lines()
            .next()
            .unwrap()
            .contains("1970-01-01 00:16:40.250000"),
        "{ad}"
    );
    // Delta to the previous packet shown, with the answer selected away.
    let dd = dissect(&["-t", "dd", "--kind", "name query request", p]);
    assert_eq!(column(&dd), ["0.000000", "2.001500"]);
    let _ = std::fs::remove_file(pcap);
}

#[test]
fn several_files_get_a_file_column_and_per_file_stats() {
    let (one, two) = (scratch("one.pcap"), scratch("two.pcap"));
    conversation(&one);
    conversation(&two);
    let (a, b) = (one.to_str().unwrap(), two.to_str().unwrap());
    let text = stdout(&dissect(&[a, b]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(lines[0].starts_with(a) && lines[5].starts_with(b), "{text}");
    let single = stdout(&dissect(&[a]));
    assert!(!single.contains(a), "one file, no file column: {single}");

    let json = dissect(&["--json", a, b]);
    let files: Vec<String> = stdout(&json)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["file"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(files, [a, a, a, b, b, b]);

    let stats = dissect(&["--stats", "--json", a, b]);
    let out = stdout(&stats);
    assert_eq!(out.lines().count(), 1, "one JSON object: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["datagrams"], 6);
    assert_eq!(v["files"][0]["file"], a);
    assert_eq!(v["files"][1]["datagrams"], 3);
    assert_eq!(v["answered"], 2);
    assert_eq!(v["unanswered"], 2);
    assert_eq!(v["response_time_median_us"], 1500.0);
    assert_eq!(v["top_names"][0]["name"], "WORKSTATION1<00>");
    assert_eq!(v["top_names"][0]["count"], 6);
    assert_eq!(v["top_senders"][0]["addr"], CLIENT.to_string());
    assert_eq!(v["kinds"]["Name query request"], 4);
    let text = stdout(&dissect(&["--stats", a, b]));
    assert!(text.contains("By file:"), "{text}");
    assert!(text.contains("response time median 1500 µs"), "{text}");
    for f in [one, two] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn decode_as_ipv6_and_fragments() {
    let (q, a) = query_and_answer(7);
    let big = {
        let name = Name::unscoped(NetbiosName::new("BIGGROUP", 0x1c).unwrap());
        let members: Vec<NbAddrEntry> = (1..=200u8)
            .map(|i| NbAddrEntry::new(NbFlags::new(true, NodeType::H), Ipv4Addr::new(10, 1, 0, i)))
            .collect();
        emitted(&Message::positive_name_query_response(
            9,
            name,
            300,
            NbAddrs::from_slice(&members),
        ))
    };
    let v6: (Ipv6Addr, Ipv6Addr) = ("fe80::7".parse().unwrap(), "fe80::1".parse().unwrap());
    let whole = pcap_write::ipv4_udp(SERVER, CLIENT, 137, 40000, &big);
    let mut frames = vec![
        (1, 0, pcap_write::ipv4_udp(CLIENT, SERVER, 40000, 1137, &q)),
        (1, 1, pcap_write::ipv6_udp(v6.0, v6.1, 137, 137, &a)),
    ];
    for (i, f) in pcap_write::ipv4_fragments(&whole, 77, 400)
        .into_iter()
        .enumerate()
    {
        frames.push((2, i as u32, f));
    }
    let pcap = scratch("v6frag.pcap");
    raw_pcap(&pcap, &frames);
    let p = pcap.to_str().unwrap();
    let text = stdout(&dissect(&[p]));
    assert!(
        !text.contains(":1137"),
        "port 1137 is not NBNS by default: {text}"
    );
    assert!(
        text.contains("fe80::7 → fe80::1 Positive name query response"),
        "{text}"
    );
    assert!(
        text.contains(
            "10.0.0.1 → 10.0.0.7:40000 Positive name query response BIGGROUP<1c> 200 addresses"
        ) || text.contains("BIGGROUP<1c>"),
        "{text}"
    );
    for args in [
        &["--port", "1137", p][..],
        &["-d", "udp.port==1137,nbns", p][..],
    ] {
        let text = stdout(&dissect(args));
        assert!(
            text.contains("10.0.0.7:40000 → 10.0.0.1:1137 Name query request WORKSTATION1<00>"),
            "{args:?}: {text}"
        );
    }
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&dissect(&["--stats", "--json", p]))).unwrap();
    assert_eq!(v["datagrams"], 2);
    assert_eq!(v["reassembled"], 1);
    assert_eq!(v["skipped"]["other_port"], 1);
    let held = v["skipped"]["fragment_held"].as_u64().unwrap();
    assert_eq!(held as usize, frames.len() - 3);
    let _ = std::fs::remove_file(pcap);
}

#[test]
fn gzip_captures_read_like_plain_ones() {
    let pcap = scratch("plain.pcap");
    conversation(&pcap);
    let gz = scratch("plain.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&std::fs::read(&pcap).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let plain = dissect(&[pcap.to_str().unwrap()]);
    let zipped = dissect(&[gz.to_str().unwrap()]);
    assert!(zipped.status.success(), "{zipped:?}");
    assert_eq!(stdout(&plain), stdout(&zipped));
    assert_eq!(stdout(&plain).lines().count(), 3);
    for f in [pcap, gz] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn selection_and_write() {
    let pcap = scratch("select.pcap");
    let (q, a) = query_and_answer(1);
    let other = {
        let name = Name::unscoped(NetbiosName::new("FILESRV", 0x20).unwrap());
        emitted(&Message::negative_name_query_response(
            2,
            name,
            Rcode::NameError,
        ))
    };
    raw_pcap(
        &pcap,
        &[
            (1, 0, pcap_write::ipv4_udp(CLIENT, SERVER, 137, 137, &q)),
            (1, 1, pcap_write::ipv4_udp(SERVER, CLIENT, 137, 137, &a)),
            (
                1,
                2,
                pcap_write::ipv4_udp(SERVER, Ipv4Addr::new(10, 0, 0, 9), 137, 137, &other),
            ),
        ],
    );
    let p = pcap.to_str().unwrap();
    let count = |args: &[&str]| stdout(&dissect(args)).lines().count();
    assert_eq!(count(&["--name", "work*", p]), 2);
    assert_eq!(count(&["--name", "FILESRV<20>", p]), 1);
    assert_eq!(count(&["--name", "FILESRV<00>", p]), 0);
    assert_eq!(count(&["--rcode", "NAM_ERR", p]), 1);
    assert_eq!(count(&["--rcode", "3", "--rcode", "0", p]), 3);
    assert_eq!(count(&["--kind", "positive name query response", p]), 1);
    assert_eq!(count(&["--addr", "10.0.0.9", p]), 1);
    assert_eq!(count(&["--addr", "10.0.0.9", "--name", "WORK*", p]), 0);
    assert_eq!(count(&["--opcode", "query", p]), 3);

    let out = scratch("selected.pcap");
    let w = dissect(&["--name", "WORK*", "-w", out.to_str().unwrap(), p]);
    assert!(w.status.success(), "{w:?}");
    let again = stdout(&dissect(&[out.to_str().unwrap()]));
    let want = stdout(&dissect(&["--name", "WORK*", p]));
    assert_eq!(again, want);
    for f in [pcap, out] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn tree_and_hex_dump() {
    let pcap = scratch("tree.pcap");
    let (q, _) = query_and_answer(0x0102);
    let mut malformed = q.clone();
    malformed.truncate(30);
    raw_pcap(
        &pcap,
        &[
            (1, 0, pcap_write::ipv4_udp(CLIENT, SERVER, 137, 137, &q)),
            (
                1,
                1,
                pcap_write::ipv4_udp(CLIENT, SERVER, 137, 137, &malformed),
            ),
        ],
    );
    let p = pcap.to_str().unwrap();
    let tree = stdout(&dissect(&["-V", p]));
    for want in [
        "Internet Protocol Version 4, Src: 10.0.0.7, Dst: 10.0.0.1",
        "User Datagram Protocol, Src Port: 137, Dst Port: 137, Length: 58",
        "Name: WORKSTATION1<00> (workstation service, or domain/workgroup name)",
        "Transaction ID: 0x0102",
        "Malformed NBNS packet at byte 30",
    ] {
        assert!(tree.contains(want), "{want:?} missing in:\n{tree}");
    }
    // The malformed packet's header fields are still shown.
    let after = &tree[tree.find("Malformed").unwrap()..];
    assert!(after.contains("Transaction ID: 0x0102"), "{after}");
    let hex = stdout(&dissect(&["-x", p]));
    assert!(
        hex.contains("0000  01 02 01 00 00 01 00 00  00 00 00 00 20 46 48 45"),
        "{hex}"
    );
    let _ = std::fs::remove_file(pcap);
}

/// The replication messages of a Samba capture, each shown once at the
/// frame that completed it.
#[test]
fn winsrepl_streams_of_a_samba_capture() {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/winsrepl/samba-pull.pcap");
    let text = stdout(&dissect(&[pcap.to_str().unwrap()]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 14, "{text}");
    assert!(
        lines.iter().all(|l| l.contains("WINS replication")),
        "{text}"
    );
    assert!(
        text.contains(
            "10.137.9.1 → 10.137.9.2:40559 WINS replication name records reply, 13 records"
        ),
        "{text}"
    );
    assert!(text.contains("versions 7 to 9"), "{text}");
    let tree = stdout(&dissect(&["-V", pcap.to_str().unwrap()]));
    assert_eq!(tree.matches("    Record: ").count(), 13 + 3, "{tree}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&dissect(&[
        "--stats",
        "--json",
        pcap.to_str().unwrap(),
    ])))
    .unwrap();
    assert_eq!(v["winsrepl"]["messages"]["name records reply"], 2);
    assert_eq!(v["winsrepl"]["malformed"], 0);
}

/// A replication stream cut into 3-byte segments, sent out of order and
/// with a retransmission, on a port given with `-d`: every message once,
/// in order.
#[test]
fn winsrepl_segments_out_of_order_and_decode_as() {
    use nbns::winsrepl::{MessageRepr, StopReason};
    let mut stream = Vec::new();
    for m in [
        MessageRepr::start_request(0x1111),
        MessageRepr::table_query(0x2222),
        MessageRepr::stop(0x2222, StopReason::Normal),
    ] {
        let mut buf = vec![0u8; m.buffer_len()];
        let n = m.emit(&mut buf).unwrap();
        stream.extend_from_slice(&buf[..n]);
    }
    let tcp = |seq: u32, syn: bool, payload: &[u8]| {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .tcp(40000, 4242, seq, 65535);
        let b = if syn { b.syn() } else { b.ack(1) };
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    };
    let isn = 1000u32;
    let mut frames = vec![(1, 0, tcp(isn, true, &[]))];
    let chunks: Vec<(u32, &[u8])> = stream
        .chunks(3)
        .enumerate()
        .map(|(i, c)| (isn + 1 + 3 * i as u32, c))
        .collect();
    // Swap each pair of segments, and send the third one twice.
    let mut order: Vec<usize> = (0..chunks.len()).collect();
    for pair in order.chunks_mut(2) {
        pair.reverse();
    }
    order.insert(3, order[2]);
    for (n, &i) in order.iter().enumerate() {
        let (seq, bytes) = chunks[i];
        frames.push((1, 1 + n as u32, tcp(seq, false, bytes)));
    }
    let pcap = scratch("wrepl.pcap");
    raw_pcap(&pcap, &frames);
    let p = pcap.to_str().unwrap();
    assert_eq!(
        stdout(&dissect(&[p])),
        "",
        "port 4242 is not replication by default"
    );
    let text = stdout(&dissect(&["-d", "tcp.port==4242,winsrepl", p]));
    let summaries: Vec<&str> = text
        .lines()
        .map(|l| l.split(" WINS replication ").nth(1).unwrap_or(l))
        .collect();
    assert_eq!(
        summaries,
        [
            "association start request, handle 0x00001111, version 2.5",
            "owner-version map request",
            "association stop, reason Normal",
        ],
        "{text}"
    );
    let _ = std::fs::remove_file(pcap);
}
