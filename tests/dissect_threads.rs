//! `dissect --threads 2` (the capture read on a second thread, handed over
//! in batches) prints exactly what `--threads 1` prints: on every capture
//! under tests/data, in every mode, with selection and `-w`, several files
//! at once, and on a capture written here that spans many batches, with IP
//! fragments, request/response pairs and a replication stream crossing
//! the batch boundaries.

#[path = "../examples/dissect/pcap_write.rs"]
mod pcap_write;
mod support;

use core::net::{Ipv4Addr, Ipv6Addr};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use nbns::winsrepl::{MessageRepr, StopReason};
use nbns::wire::{Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeType};

/// A scratch file unique to this process and test.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "nbns-dissect-threads-{}-{name}",
        std::process::id()
    ))
}

fn dissect(args: &[&str]) -> Output {
    // Built once: a build per run would be most of the time taken.
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    Command::new(BIN.get_or_init(|| support::programs::example_bin("dissect")))
        .args(args)
        .output()
        .expect("run dissect")
}

/// Runs `args` with one thread and with two; both must print the same
/// bytes, on both outputs, with the same exit status (and, with `-w`,
/// write the same file). Returns the output of the one-thread run.
fn same_with_two_threads(args: &[&str]) -> Output {
    let write_at = args.iter().position(|a| *a == "-w");
    let mut outs = Vec::new();
    let mut written = Vec::new();
    for threads in ["1", "2"] {
        let mut a: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        if let Some(i) = write_at {
            a[i + 1] = format!("{}.{threads}", args[i + 1]);
        }
        let mut full = vec!["--threads".to_owned(), threads.to_owned()];
        full.extend(a.iter().cloned());
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        outs.push(dissect(&refs));
        if let Some(i) = write_at {
            written.push(std::fs::read(&a[i + 1]).unwrap_or_default());
            let _ = std::fs::remove_file(&a[i + 1]);
        }
    }
    let (one, two) = (&outs[0], &outs[1]);
    assert!(
        one.stdout == two.stdout,
        "{args:?}: standard output differs\n--- 1 thread\n{}\n--- 2 threads\n{}",
        String::from_utf8_lossy(&one.stdout),
        String::from_utf8_lossy(&two.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&one.stderr),
        String::from_utf8_lossy(&two.stderr),
        "{args:?}: standard error differs"
    );
    assert_eq!(one.status.code(), two.status.code(), "{args:?}");
    if write_at.is_some() {
        assert!(written[0] == written[1], "{args:?}: -w files differ");
    }
    outs.swap_remove(0)
}

/// The option sets every capture is read with.
const MODES: [&[&str]; 9] = [
    &[],
    &["--stats"],
    &["--stats", "--json"],
    &["--json"],
    &["-V", "-x"],
    &["-t", "dd"],
    &["--stats", "--name", "*<00>"],
    &["--kind", "name query request", "--port", "138"],
    &["--stats", "-d", "tcp.port==4242,winsrepl"],
];

/// Every capture file under tests/data.
fn captures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".pcap"))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
        &mut out,
    );
    out
}

#[test]
fn every_capture_of_tests_data_reads_the_same_with_two_threads() {
    let files = captures();
    assert!(files.len() >= 30, "{files:?}");
    let w = scratch("data-w.pcap");
    let w = w.to_str().unwrap();
    for f in &files {
        let f = f.to_str().unwrap();
        for mode in MODES {
            let mut args = mode.to_vec();
            args.push(f);
            same_with_two_threads(&args);
        }
        same_with_two_threads(&["--stats", "-w", w, f]);
    }
    // All at once: per-file totals, the file column.
    let all: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    for mode in [&[][..], &["--stats"], &["--stats", "--json"], &["--json"]] {
        let mut args = mode.to_vec();
        args.extend(&all);
        same_with_two_threads(&args);
    }
    let mut args = vec!["--addr", "10.0.0.1", "-w", w];
    args.extend(&all);
    same_with_two_threads(&args);
}

fn emitted(p: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; p.buffer_len()];
    let n = p.emit(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// A query for `HOST<n><00>` with `id`, and its positive answer with
/// `members` addresses (many make a datagram that is sent in fragments).
fn query_and_answer(id: u16, n: u32, members: u8) -> (Vec<u8>, Vec<u8>) {
    let name = Name::unscoped(NetbiosName::new(&format!("HOST{n}"), 0x00).unwrap());
    let q = Message::name_query_request(id, name, false);
    let entries: Vec<NbAddrEntry> = (1..=members)
        .map(|i| NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 1, 0, i)))
        .collect();
    let a = Message::positive_name_query_response(id, name, 300, NbAddrs::from_slice(&entries));
    (emitted(&q), emitted(&a))
}

/// A replication conversation's client stream, cut into 7-byte pieces.
fn replication_pieces() -> Vec<Vec<u8>> {
    let mut stream = Vec::new();
    for i in 0..40u32 {
        for m in [
            MessageRepr::start_request(0x1000 + i),
            MessageRepr::table_query(0x2000 + i),
        ] {
            let mut buf = vec![0u8; m.buffer_len()];
            let n = m.emit(&mut buf).unwrap();
            stream.extend_from_slice(&buf[..n]);
        }
    }
    let stop = MessageRepr::stop(0x2222, StopReason::Normal);
    let mut buf = vec![0u8; stop.buffer_len()];
    let n = stop.emit(&mut buf).unwrap();
    stream.extend_from_slice(&buf[..n]);
    stream.chunks(7).map(<[u8]>::to_vec).collect()
}

/// Writes a raw-IP capture of `requests` conversations, a frame a
/// millisecond: each query's answer comes 1,500 frames later (so pairs
/// cross batches); every 50th answer is large and sent in IP fragments,
/// its first fragment right away and the rest 1,200 frames later; every
/// 10th conversation is over IPv6; one frame in 7 is other traffic or a
/// piece of a replication stream on TCP port 42. Returns the frame count.
fn big_capture(path: &Path, requests: u32) -> usize {
    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    let v6: (Ipv6Addr, Ipv6Addr) = ("fe80::7".parse().unwrap(), "fe80::1".parse().unwrap());
    // Frames to send at a later slot: (slot, frame).
    let mut later: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut pieces = replication_pieces().into_iter();
    let mut seq = 1u32;
    let tcp = |seq: u32, payload: &[u8]| {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .tcp(40000, 42, seq, 65535)
            .ack(1);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    };
    for i in 0..requests {
        let slot = frames.len();
        let id = (i % 60_000) as u16;
        let port = 40_000 + (i % 1000) as u16;
        let big = i % 50 == 0;
        let (q, a) = query_and_answer(id, i % 300, if big { 200 } else { 1 });
        if i % 10 == 3 {
            frames.push(pcap_write::ipv6_udp(v6.0, v6.1, port, 137, &q));
            later.push((slot + 1500, pcap_write::ipv6_udp(v6.1, v6.0, 137, port, &a)));
        } else {
            frames.push(pcap_write::ipv4_udp(CLIENT, SERVER, port, 137, &q));
            let answer = pcap_write::ipv4_udp(SERVER, CLIENT, 137, port, &a);
            if big {
                let mut frags = pcap_write::ipv4_fragments(&answer, i as u16, 400).into_iter();
                later.push((slot + 1, frags.next().unwrap()));
                for f in frags {
                    later.push((slot + 1200, f));
                }
            } else {
                later.push((slot + 1500, answer));
            }
        }
        if i % 7 == 0 {
            match pieces.next() {
                Some(p) => {
                    frames.push(tcp(seq, &p));
                    seq += p.len() as u32;
                }
                None => frames.push(pcap_write::ipv4_udp(CLIENT, SERVER, 5000, 5001, &q)),
            }
        }
        // What is due by now, in the order it was queued.
        let now = frames.len();
        let (due, rest): (Vec<_>, Vec<_>) = later.into_iter().partition(|(s, _)| *s <= now);
        later = rest;
        frames.extend(due.into_iter().map(|(_, f)| f));
    }
    frames.extend(later.into_iter().map(|(_, f)| f));
    let mut file = pcap_write::file_header(101, 65535);
    for (n, f) in frames.iter().enumerate() {
        let ms = n as u32;
        pcap_write::record(
            &mut file,
            1_000 + ms / 1000,
            (ms % 1000) * 1000,
            f,
            usize::MAX,
        );
    }
    std::fs::write(path, file).unwrap();
    frames.len()
}

#[test]
fn a_capture_of_many_batches_reads_the_same_with_two_threads() {
    let pcap = scratch("big.pcap");
    // Far more frames than the batches in flight hold.
    let frames = big_capture(&pcap, 30_000);
    assert!(frames > 60_000, "{frames}");
    let gz = scratch("big.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(&pcap).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let (p, g) = (pcap.to_str().unwrap(), gz.to_str().unwrap());

    let stats = same_with_two_threads(&["--stats", "--json", p]);
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    // Every request is answered, fragmented answers included: nothing was
    // lost or reordered on the way.
    assert_eq!(v["frames"], frames);
    assert_eq!(v["datagrams"], 60_000);
    assert_eq!(v["answered"], 30_000, "{v}");
    assert_eq!(v["reassembled"], 600);
    assert_eq!(v["unmatched_responses"], 0);
    assert_eq!(v["winsrepl"]["malformed"], 0);
    assert_eq!(v["winsrepl"]["messages"]["association start request"], 40);

    let w = scratch("big-w.pcap");
    let w = w.to_str().unwrap();
    for args in [
        &["--stats", p][..],
        &[p],
        &["--json", "-t", "d", p],
        &["-V", "-x", p],
        &["--stats", g],
        &["--stats", "--name", "HOST1*", "-w", w, p],
        &["--addr", "fe80::1", p],
        &["--stats", p, g, p],
        &["-t", "dd", "--rcode", "0", p, g],
    ] {
        same_with_two_threads(args);
    }
    for f in [pcap, gz] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn threads_is_one_or_two() {
    let pcap = scratch("threads.pcap");
    big_capture(&pcap, 1000);
    let p = pcap.to_str().unwrap();
    for bad in ["0", "3", "two"] {
        let o = dissect(&["--threads", bad, p]);
        assert_eq!(o.status.code(), Some(2), "--threads {bad}: {o:?}");
    }
    let default = dissect(&["--stats", p]);
    assert!(default.status.success());
    assert_eq!(
        default.stdout,
        same_with_two_threads(&["--stats", p]).stdout
    );
    let _ = std::fs::remove_file(pcap);
}

/// A capture cut inside a record, a file that is no capture, an empty one
/// and standard input: the same messages, output and exit status.
#[test]
fn damaged_inputs_and_standard_input_read_the_same_with_two_threads() {
    let pcap = scratch("whole.pcap");
    big_capture(&pcap, 3000);
    let bytes = std::fs::read(&pcap).unwrap();
    let cut = scratch("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3 + 5]).unwrap();
    let foreign = scratch("foreign.txt");
    std::fs::write(&foreign, "not a capture\n").unwrap();
    let empty = scratch("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let (p, c, f, e) = (
        pcap.to_str().unwrap(),
        cut.to_str().unwrap(),
        foreign.to_str().unwrap(),
        empty.to_str().unwrap(),
    );
    let o = same_with_two_threads(&["--stats", c, p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ends in the middle of a record"));
    same_with_two_threads(&[c]);
    same_with_two_threads(&["--stats", "--json", f, e, p, c]);

    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let child = Command::new(support::programs::example_bin("dissect"))
            .args(["--threads", threads, "--stats", "-"])
            .stdin(std::fs::File::open(&pcap).unwrap())
            .output()
            .unwrap();
        assert!(child.status.success(), "{child:?}");
        outs.push(child.stdout);
    }
    assert!(outs[0] == outs[1], "standard input read differently");
    for file in [pcap, cut, foreign, empty] {
        let _ = std::fs::remove_file(file);
    }
}
