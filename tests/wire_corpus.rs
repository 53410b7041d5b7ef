//! The real-packet corpus (`tests/data/corpus`): every captured, generated
//! and unit-test packet parses, re-emits byte for byte and agrees field by
//! field with Wireshark's reading in `INDEX.tsv`; every fuzzed packet gives a
//! packet or a parse error.

use std::path::Path;

use nbns::wire::{NetbiosName, Packet, RData};

struct Row {
    cols: Vec<String>,
    header: std::rc::Rc<Vec<String>>,
}

impl Row {
    fn get(&self, col: &str) -> &str {
        let i = self
            .header
            .iter()
            .position(|h| h == col)
            .unwrap_or_else(|| panic!("no column {col}"));
        &self.cols[i]
    }
}

fn rows() -> Vec<Row> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus");
    let text = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let mut lines = text.lines();
    let header = std::rc::Rc::new(
        lines
            .next()
            .unwrap()
            .split('\t')
            .map(String::from)
            .collect::<Vec<_>>(),
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|l| Row {
            cols: l.split('\t').map(String::from).collect(),
            header: header.clone(),
        })
        .collect()
}

fn payload(file: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/corpus")
            .join(file),
    )
    .unwrap()
}

/// A NetBIOS name as tshark prints it: trailing spaces trimmed, bytes
/// outside printable ASCII as `<xx>`, then `<suffix>`.
fn tshark_name(n: &NetbiosName) -> String {
    let raw = n.as_bytes();
    let mut end = 15;
    while end > 0 && raw[end - 1] == b' ' {
        end -= 1;
    }
    let mut s = String::new();
    for &b in &raw[..end] {
        if (0x20..0x7f).contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("<{b:02x}>"));
        }
    }
    s.push_str(&format!("<{:02x}>", raw[15]));
    s
}

/// `5(registration)` → 5.
fn leading_number(s: &str) -> u16 {
    s.split('(').next().unwrap().parse().unwrap()
}

fn check_against_tshark(row: &Row, p: &Packet<'_>) {
    let file = row.get("file");
    assert_eq!(
        u16::from(u8::from(p.opcode())),
        leading_number(row.get("opcode")),
        "{file}: opcode"
    );
    assert_eq!(p.is_response(), row.get("response") == "yes", "{file}: R");
    assert_eq!(
        u16::from(u8::from(p.rcode())),
        leading_number(row.get("rcode")),
        "{file}: rcode"
    );
    let h = p.header();
    let counts = format!("{}/{}/{}/{}", h.qdcount, h.ancount, h.nscount, h.arcount);
    assert_eq!(counts, row.get("counts"), "{file}: counts");
    let flags = row.get("nbns_flags");
    let hex = flags.split('[').next().unwrap();
    assert_eq!(format!("{:#06x}", p.flags.bits()), hex, "{file}: flags");

    // Names, in section order.
    let ours: Vec<String> = p
        .question()
        .iter()
        .map(|q| q.name.netbios)
        .chain(p.records().map(|(_, r)| r.name.netbios))
        .map(|n| tshark_name(&n))
        .collect();
    let theirs: Vec<&str> = row
        .get("names")
        .split(';')
        .map(|n| n.split(" (").next().unwrap())
        .collect();
    assert_eq!(ours, theirs, "{file}: names");

    // Record types: "Q:0x0020,AR:0x0020".
    if row.get("rr_types") != "-" {
        let mut ours = Vec::new();
        if let Some(q) = p.question() {
            ours.push(format!("Q:{:#06x}", u16::from(q.qtype)));
        }
        for (section, r) in p.records() {
            let tag = match section {
                nbns::wire::Section::Answer => "AN",
                nbns::wire::Section::Authority => "NS",
                _ => "AR",
            };
            ours.push(format!("{tag}:{:#06x}", u16::from(r.rr_type())));
        }
        assert_eq!(ours.join(","), row.get("rr_types"), "{file}: rr types");
    }

    // Record data: "ttl=300000;nb_flags=0x6000,0x6000;addr=a,b" or
    // "ttl=0;num_names=3;unit_id=0a:02:..".
    let rr = row.get("tshark_rr");
    if rr != "-" {
        let record = p.data_record().expect("record");
        for kv in rr.split(';') {
            let (k, v) = kv.split_once('=').unwrap();
            match (k, &record.rdata) {
                ("ttl", _) => assert_eq!(record.ttl.to_string(), v, "{file}: ttl"),
                ("nb_flags", RData::Nb(a)) => {
                    let ours: Vec<String> = a
                        .iter()
                        .map(|e| format!("{:#06x}", e.flags.bits()))
                        .collect();
                    assert_eq!(ours.join(","), v, "{file}: nb_flags");
                }
                ("addr", RData::Nb(a)) => {
                    let ours: Vec<String> = a.iter().map(|e| e.address.to_string()).collect();
                    assert_eq!(ours.join(","), v, "{file}: addr");
                }
                ("num_names", RData::NodeStatus(s)) => {
                    assert_eq!(s.names.len().to_string(), v, "{file}: num_names")
                }
                ("unit_id", RData::NodeStatus(s)) => {
                    let mac = s.statistics.unit_id().unwrap();
                    let ours: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
                    assert_eq!(ours.join(":"), v, "{file}: unit_id");
                }
                (k, rdata) => panic!("{file}: unexpected tshark field {k} for {rdata:?}"),
            }
        }
    }

    // Node status names (tshark prints them trimmed, without suffix).
    let nbstat = row.get("nbstat_names");
    if nbstat != "-" {
        let Some(RData::NodeStatus(s)) = p.answer().map(|a| a.rdata) else {
            panic!("{file}: no NBSTAT")
        };
        let ours: Vec<String> = s
            .names
            .iter()
            .map(|n| String::from_utf8_lossy(n.name.trimmed()).into_owned())
            .collect();
        assert_eq!(ours.join(";"), nbstat, "{file}: nbstat names");
    }
}

#[test]
fn every_real_packet_parses_re_emits_and_agrees_with_tshark() {
    let mut checked = 0;
    // Non-fuzz rows that Wireshark itself calls malformed (a scapy-built
    // node status response whose RDLENGTH overstates its data) are checked by
    // `tshark_malformed_rows_are_rejected_by_the_parser`.
    for row in rows()
        .iter()
        .filter(|r| r.get("source_kind") != "fuzz" && r.get("tshark_malformed") == "no")
    {
        let file = row.get("file");
        let bytes = payload(file);
        let p = Packet::parse(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut out = vec![0u8; p.buffer_len()];
        p.emit(&mut out).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(out, bytes, "{file}: re-emission differs");
        check_against_tshark(row, &p);
        checked += 1;
    }
    assert_eq!(checked, 342, "every non-fuzz corpus packet was checked");
}

#[test]
fn every_fuzzed_packet_gives_a_packet_or_an_error() {
    let (mut ok, mut err) = (0, 0);
    for row in rows().iter().filter(|r| r.get("source_kind") == "fuzz") {
        let bytes = payload(row.get("file"));
        match Packet::parse(&bytes) {
            Ok(p) => {
                ok += 1;
                let mut out = vec![0u8; p.buffer_len()];
                p.emit(&mut out).unwrap();
                assert_eq!(Packet::parse(&out).unwrap(), p);
            }
            Err(e) => {
                err += 1;
                assert!(e.offset() <= bytes.len(), "{e} points past the datagram");
            }
        }
    }
    assert_eq!(ok + err, 62);
    assert!(err > 0 && ok > 0, "fuzz rows: {ok} parsed, {err} rejected");
}

#[test]
fn tshark_malformed_rows_are_rejected_by_the_parser() {
    // Everything Wireshark flags as malformed, our parser refuses too.
    for row in rows().iter().filter(|r| r.get("tshark_malformed") == "yes") {
        let file = row.get("file");
        assert!(
            Packet::parse(&payload(file)).is_err(),
            "{file} parsed although tshark calls it malformed"
        );
    }
}
