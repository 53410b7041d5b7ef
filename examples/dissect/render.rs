//! Output of the dissector: the one-line summary, the field tree (`-V`),
//! JSON (`--json`) and the counts (`--stats`).
//!
//! JSON is written by hand: the output is a flat, fixed schema of numbers,
//! booleans and strings, so a writer of a few dozen lines (string escaping
//! included) does the job without a serialization framework, and the wire
//! types stay free of serde attributes.
//!
//! Shared with `tests/dissect.rs`, which uses a different subset.
#![allow(dead_code)]

use core::fmt::Write as _;
use core::net::IpAddr;
use std::io::{self, Write};

use nbns::wire::{
    Class, Flags, Header, Name, NameForm, NetbiosName, Packet, ParseError, RData, ResourceRecord,
};

/// How times are shown (tshark's `-t`); all of them in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeFormat {
    /// Seconds since the first frame of the file (`r`, the default).
    Relative,
    /// Time of day (`a`, `u`).
    TimeOfDay,
    /// Date and time of day (`ad`, `ud`).
    DateTime,
    /// Seconds since the previous frame of the file (`d`).
    Delta,
    /// Seconds since the previous packet shown (`dd`).
    DeltaShown,
    /// Seconds since 1970-01-01 00:00:00 UTC (`e`).
    Epoch,
}

/// Where a packet came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    /// The capture file's name as given.
    pub(crate) file: &'a str,
    /// Whether lines start with the file's name (several files were given).
    pub(crate) show_file: bool,
    /// Frame number in the file.
    pub(crate) frame: u64,
    /// How the time is shown.
    pub(crate) time: TimeFormat,
    /// Capture time, nanoseconds since the Unix epoch.
    pub(crate) epoch_ns: i128,
    /// Nanoseconds since the file's first frame.
    pub(crate) rel_ns: i128,
    /// Nanoseconds since the file's previous frame.
    pub(crate) delta_ns: i128,
    /// Nanoseconds since the previous packet shown.
    pub(crate) shown_delta_ns: i128,
    /// IP source and UDP port.
    pub(crate) src: (IpAddr, u16),
    /// IP destination and UDP port.
    pub(crate) dst: (IpAddr, u16),
    /// UDP payload bytes captured.
    pub(crate) len: usize,
    /// UDP payload bytes the UDP header claims.
    pub(crate) udp_len: usize,
    /// Whether the datagram was put back together from IP fragments.
    pub(crate) reassembled: bool,
}

impl Origin<'_> {
    /// An origin with the given addresses and everything else zero, for
    /// tests and callers that have no capture times.
    pub(crate) fn bare(
        file: &str,
        frame: u64,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        len: usize,
        udp_len: usize,
    ) -> Origin<'_> {
        Origin {
            file,
            show_file: false,
            frame,
            time: TimeFormat::Relative,
            epoch_ns: 0,
            rel_ns: 0,
            delta_ns: 0,
            shown_delta_ns: 0,
            src,
            dst,
            len,
            udp_len,
            reassembled: false,
        }
    }

    /// Seconds since the file's first frame.
    pub(crate) fn rel_time(&self) -> f64 {
        self.rel_ns as f64 / 1e9
    }
}

/// Writes a time in `format`.
fn write_time(out: &mut impl Write, o: &Origin<'_>) -> io::Result<()> {
    let secs = |ns: i128| ns as f64 / 1e9;
    match o.time {
        TimeFormat::Relative => write!(out, "{:>12.6}", secs(o.rel_ns)),
        TimeFormat::Delta => write!(out, "{:>12.6}", secs(o.delta_ns)),
        TimeFormat::DeltaShown => write!(out, "{:>12.6}", secs(o.shown_delta_ns)),
        TimeFormat::Epoch => write!(out, "{:.6}", secs(o.epoch_ns)),
        TimeFormat::TimeOfDay | TimeFormat::DateTime => {
            match time::OffsetDateTime::from_unix_timestamp_nanos(o.epoch_ns) {
                Ok(t) => {
                    if o.time == TimeFormat::DateTime {
                        write!(
                            out,
                            "{:04}-{:02}-{:02} ",
                            t.year(),
                            u8::from(t.month()),
                            t.day()
                        )?;
                    }
                    write!(
                        out,
                        "{:02}:{:02}:{:02}.{:06}",
                        t.hour(),
                        t.minute(),
                        t.second(),
                        t.microsecond()
                    )
                }
                Err(_) => write!(out, "{:.6}", secs(o.epoch_ns)),
            }
        }
    }
}

/// Writes the start of a line: the file (with several files), the frame
/// number and the time, each followed by a space.
///
/// # Errors
/// Write errors of `out`.
pub(crate) fn write_prefix(out: &mut impl Write, o: &Origin<'_>) -> io::Result<()> {
    if o.show_file {
        write!(out, "{} ", o.file)?;
    }
    write!(out, "{:>6} ", o.frame)?;
    write_time(out, o)?;
    out.write_all(b" ")
}

/// Writes `source → destination` (the port where it is not the
/// protocol's own: 137 for NBNS, 42 for replication).
///
/// # Errors
/// Write errors of `out`.
pub(crate) fn write_endpoints(out: &mut impl Write, o: &Origin<'_>) -> io::Result<()> {
    endpoint(out, o.src)?;
    out.write_all(" → ".as_bytes())?;
    endpoint(out, o.dst)
}

fn endpoint(out: &mut impl Write, (a, p): (IpAddr, u16)) -> io::Result<()> {
    match (a, p) {
        (IpAddr::V4(a), 137 | 42) => write!(out, "{a}"),
        (IpAddr::V6(a), 137 | 42) => write!(out, "{a}"),
        (IpAddr::V4(a), p) => write!(out, "{a}:{p}"),
        (IpAddr::V6(a), p) => write!(out, "[{a}]:{p}"),
    }
}

/// Writes the default one-line form: frame, time, source → destination, the
/// packet in words (or the parse error).
///
/// # Errors
/// Write errors of `out`.
pub(crate) fn line(
    out: &mut impl Write,
    o: &Origin<'_>,
    parsed: &Result<Packet<'_>, ParseError>,
) -> io::Result<()> {
    write_prefix(out, o)?;
    write_endpoints(out, o)?;
    match parsed {
        Ok(p) => write!(out, " {p}")?,
        Err(e) => write!(out, " Malformed NBNS packet at byte {}: {e}", e.offset())?,
    }
    if o.len < o.udp_len {
        write!(out, " [cut by capture: {} of {} bytes]", o.len, o.udp_len)?;
    }
    out.write_all(b"\n")
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn class_name(c: Class) -> String {
    match c {
        Class::In => "IN".to_string(),
        Class::Unknown(n) => format!("CLASS{n}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn mac(b: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5]
    )
}

fn tree_flags(out: &mut impl Write, f: Flags) -> io::Result<()> {
    writeln!(out, "  Flags: {f}")?;
    writeln!(out, "    Response: {}", yes(f.is_response()))?;
    writeln!(out, "    Opcode: {} ({})", u8::from(f.opcode()), f.opcode())?;
    writeln!(out, "    Authoritative answer: {}", yes(f.authoritative()))?;
    writeln!(out, "    Truncated: {}", yes(f.truncated()))?;
    writeln!(out, "    Recursion desired: {}", yes(f.recursion_desired()))?;
    writeln!(
        out,
        "    Recursion available: {}",
        yes(f.recursion_available())
    )?;
    writeln!(out, "    Broadcast: {}", yes(f.broadcast()))?;
    if f.reserved() != 0 {
        writeln!(out, "    Reserved bits: {:#06x}", f.reserved())?;
    }
    writeln!(out, "    Rcode: {} ({})", u8::from(f.rcode()), f.rcode())
}

/// What a well-known suffix (the 16th byte) says about a name: Microsoft's
/// conventions for NetBIOS suffixes, as nbtstat users know them.
pub(crate) fn suffix_meaning(name: &NetbiosName) -> Option<&'static str> {
    if name.as_bytes().starts_with(b"\x01\x02__MSBROWSE__\x02") {
        return Some("master browser announcement name");
    }
    Some(match name.suffix() {
        0x00 => "workstation service, or domain/workgroup name",
        0x01 => "messenger service",
        0x03 => "messenger service (user name)",
        0x06 => "RAS server service",
        0x1b => "domain master browser",
        0x1c => "domain controllers",
        0x1d => "master browser",
        0x1e => "browser service elections",
        0x1f => "NetDDE service",
        0x20 => "file server service",
        0x21 => "RAS client service",
        0x22 => "Exchange interchange",
        0x23 => "Exchange store",
        0x24 => "Exchange directory",
        0x6a => "Exchange IMC",
        0x87 => "Exchange MTA",
        0xbe => "network monitor agent",
        0xbf => "network monitor application",
        _ => return None,
    })
}

fn tree_name(out: &mut impl Write, indent: &str, n: &Name<'_>) -> io::Result<()> {
    match suffix_meaning(&n.netbios) {
        Some(m) => writeln!(out, "{indent}Name: {n} ({m})")?,
        None => writeln!(out, "{indent}Name: {n}")?,
    }
    if !n.scope.is_empty() {
        writeln!(out, "{indent}  Scope: {}", n.scope)?;
    }
    Ok(())
}

fn tree_record(out: &mut impl Write, title: &str, rr: &ResourceRecord<'_>) -> io::Result<()> {
    writeln!(out, "  {title}")?;
    tree_name(out, "    ", &rr.name)?;
    if rr.name_form == NameForm::QuestionPointer {
        writeln!(out, "      (pointer to the question name)")?;
    }
    let t = rr.rr_type();
    writeln!(out, "    Type: {t} ({:#06x})", u16::from(t))?;
    writeln!(
        out,
        "    Class: {} ({:#06x})",
        class_name(rr.class),
        u16::from(rr.class)
    )?;
    writeln!(out, "    TTL: {}", rr.ttl)?;
    writeln!(out, "    Data length: {}", rr.rdata.buffer_len())?;
    match &rr.rdata {
        RData::Nb(addrs) => {
            for e in addrs.iter() {
                writeln!(
                    out,
                    "    Address: {} ({}, {}, NB_FLAGS {:#06x})",
                    e.address,
                    if e.flags.group() { "group" } else { "unique" },
                    e.flags.node_type(),
                    e.flags.bits()
                )?;
            }
        }
        RData::NodeStatus(s) => {
            writeln!(out, "    Number of names: {}", s.names.len())?;
            for n in s.names.iter() {
                let fl = n.flags;
                write!(
                    out,
                    "      {:<22} {} {}",
                    n.name.to_string(),
                    if fl.group() { "group " } else { "unique" },
                    fl.node_type()
                )?;
                for (on, word) in [
                    (fl.is_active(), " active"),
                    (fl.permanent(), " permanent"),
                    (fl.conflict(), " conflict"),
                    (fl.deregistering(), " deregistering"),
                ] {
                    if on {
                        write!(out, "{word}")?;
                    }
                }
                writeln!(out, " (NAME_FLAGS {:#06x})", fl.0)?;
            }
            match s.statistics.unit_id() {
                Some(id) => writeln!(out, "    Unit ID: {}", mac(id))?,
                None => writeln!(out, "    Unit ID: (missing)")?,
            }
            let st = &s.statistics;
            writeln!(out, "    Statistics: {} bytes", st.as_bytes().len())?;
            let fields: [(&str, Option<u64>); 8] = [
                ("Jumpers", st.jumpers().map(u64::from)),
                ("Test result", st.test_result().map(u64::from)),
                ("Version number", st.version_number().map(u64::from)),
                (
                    "Period of statistics",
                    st.period_of_statistics().map(u64::from),
                ),
                ("Good sends", st.good_sends().map(u64::from)),
                ("Good receives", st.good_receives().map(u64::from)),
                ("Max sessions", st.max_sessions().map(u64::from)),
                (
                    "Session data packet size",
                    st.session_data_packet_size().map(u64::from),
                ),
            ];
            for (label, value) in fields {
                if let Some(v) = value {
                    writeln!(out, "      {label}: {v}")?;
                }
            }
        }
        RData::Null(d) => {
            if !d.is_empty() {
                writeln!(out, "    Data: {}", hex(d))?;
            }
        }
        RData::A(a) => writeln!(out, "    Address: {a}")?,
        RData::Ns(l) => writeln!(out, "    Name server: {l}")?,
        RData::Wack(w) => writeln!(out, "    Request flags: {}", w.request_flags)?,
        RData::Unknown { data, .. } => writeln!(out, "    Data: {}", hex(data))?,
    }
    Ok(())
}

/// Writes every field as an indented tree (`-V`).
///
/// # Errors
/// Write errors of `out`.
pub(crate) fn tree(
    out: &mut impl Write,
    o: &Origin<'_>,
    frame: &[u8],
    payload: &[u8],
    parsed: &Result<Packet<'_>, ParseError>,
) -> io::Result<()> {
    if o.show_file {
        write!(out, "{}: ", o.file)?;
    }
    write!(
        out,
        "Frame {}: {} bytes captured, time ",
        o.frame,
        frame.len()
    )?;
    write_time(out, o)?;
    out.write_all(b"\n")?;
    let version = if o.src.0.is_ipv4() { 4 } else { 6 };
    write!(
        out,
        "Internet Protocol Version {version}, Src: {}, Dst: {}",
        o.src.0, o.dst.0
    )?;
    if o.reassembled {
        out.write_all(b" (reassembled from fragments)")?;
    }
    out.write_all(b"\n")?;
    writeln!(
        out,
        "User Datagram Protocol, Src Port: {}, Dst Port: {}, Length: {}",
        o.src.1,
        o.dst.1,
        o.udp_len + 8
    )?;
    write!(out, "NetBIOS Name Service: ")?;
    endpoint(out, o.src)?;
    out.write_all(" → ".as_bytes())?;
    endpoint(out, o.dst)?;
    write!(out, ", {} bytes", o.len)?;
    if o.len < o.udp_len {
        write!(out, " (cut by capture; UDP says {})", o.udp_len)?;
    }
    out.write_all(b"\n")?;
    let p = match parsed {
        Ok(p) => p,
        Err(e) => {
            writeln!(out, "  Malformed NBNS packet at byte {}: {e}", e.offset())?;
            // What the header says, when there is a whole one.
            if let Ok(h) = Header::parse(payload) {
                writeln!(out, "  Transaction ID: {:#06x}", h.id)?;
                tree_flags(out, h.flags)?;
                writeln!(
                    out,
                    "  Questions: {}, Answer RRs: {}, Authority RRs: {}, Additional RRs: {}",
                    h.qdcount, h.ancount, h.nscount, h.arcount
                )?;
            }
            return writeln!(out);
        }
    };
    writeln!(out, "  Summary: {p}")?;
    writeln!(out, "  Transaction ID: {:#06x}", p.id)?;
    tree_flags(out, p.flags)?;
    let h = p.header();
    writeln!(
        out,
        "  Questions: {}, Answer RRs: {}, Authority RRs: {}, Additional RRs: {}",
        h.qdcount, h.ancount, h.nscount, h.arcount
    )?;
    if let Some(q) = &p.question() {
        writeln!(out, "  Question")?;
        tree_name(out, "    ", &q.name)?;
        writeln!(out, "    Type: {} ({:#06x})", q.qtype, u16::from(q.qtype))?;
        writeln!(
            out,
            "    Class: {} ({:#06x})",
            class_name(q.qclass),
            u16::from(q.qclass)
        )?;
    }
    for (title, rr) in [
        ("Answer", &p.answer()),
        ("Authority", &p.authority()),
        ("Additional", &p.additional()),
    ] {
        if let Some(rr) = rr {
            tree_record(out, title, rr)?;
        }
    }
    if !p.trailing().is_empty() {
        writeln!(
            out,
            "  Trailing bytes: {} ({})",
            p.trailing().len(),
            hex(p.trailing())
        )?;
    }
    out.write_all(b"\n")
}

/// Appends `s` as a JSON string literal.
pub(crate) fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_name(out: &mut String, n: &Name<'_>) {
    out.push_str("{\"name\":");
    json_str(out, &n.to_string());
    out.push_str(",\"netbios\":");
    json_str(out, &n.netbios.to_string());
    let _ = write!(out, ",\"suffix\":{},\"scope\":", n.netbios.suffix());
    json_str(out, &n.scope.to_string());
    out.push('}');
}

fn json_record(out: &mut String, rr: &ResourceRecord<'_>) {
    out.push_str("{\"name\":");
    json_name(out, &rr.name);
    let t = rr.rr_type();
    let _ = write!(
        out,
        ",\"name_pointer\":{},\"type\":{},\"type_name\":",
        rr.name_form == NameForm::QuestionPointer,
        u16::from(t)
    );
    json_str(out, &t.to_string());
    let _ = write!(
        out,
        ",\"class\":{},\"ttl\":{},\"rdlength\":{}",
        u16::from(rr.class),
        rr.ttl,
        rr.rdata.buffer_len()
    );
    match &rr.rdata {
        RData::Nb(addrs) => {
            out.push_str(",\"addresses\":[");
            for (i, e) in addrs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(
                    out,
                    "{{\"address\":\"{}\",\"group\":{},\"node_type\":\"{}\",\"nb_flags\":{}}}",
                    e.address,
                    e.flags.group(),
                    e.flags.node_type(),
                    e.flags.bits()
                );
            }
            out.push(']');
        }
        RData::NodeStatus(s) => {
            out.push_str(",\"node_names\":[");
            for (i, n) in s.names.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"name\":");
                json_str(out, &n.name.to_string());
                let _ = write!(
                    out,
                    ",\"suffix\":{},\"group\":{},\"node_type\":\"{}\",\"name_flags\":{}}}",
                    n.name.suffix(),
                    n.flags.group(),
                    n.flags.node_type(),
                    n.flags.0
                );
            }
            out.push_str("],\"unit_id\":");
            match s.statistics.unit_id() {
                Some(id) => json_str(out, &mac(id)),
                None => out.push_str("null"),
            }
            let _ = write!(out, ",\"statistics_len\":{}", s.statistics.as_bytes().len());
        }
        RData::A(a) => {
            let _ = write!(out, ",\"address\":\"{a}\"");
        }
        RData::Ns(l) => {
            out.push_str(",\"name_server\":");
            json_str(out, &l.to_string());
        }
        RData::Wack(w) => {
            let _ = write!(out, ",\"request_flags\":{}", w.request_flags.bits());
        }
        RData::Null(d) | RData::Unknown { data: d, .. } => {
            let _ = write!(out, ",\"data\":\"{}\"", hex(d));
        }
    }
    out.push('}');
}

/// Appends the JSON fields every record has, from `"file"` to `"length"`
/// (no braces): where the datagram or message was found.
pub(crate) fn json_origin(buf: &mut String, o: &Origin<'_>) {
    buf.push_str("\"file\":");
    json_str(buf, o.file);
    let _ = write!(
        buf,
        ",\"frame\":{},\"time\":{:.6},\"epoch\":{:.6},\"src\":\"{}\",\"src_port\":{},\"dst\":\"{}\",\"dst_port\":{},\"length\":{}",
        o.frame,
        o.rel_time(),
        o.epoch_ns as f64 / 1e9,
        o.src.0,
        o.src.1,
        o.dst.0,
        o.dst.1,
        o.len
    );
}

/// Writes one JSON object (and a newline) for a packet or its parse error.
///
/// # Errors
/// Write errors of `out`.
pub(crate) fn json(
    out: &mut impl Write,
    buf: &mut String,
    o: &Origin<'_>,
    parsed: &Result<Packet<'_>, ParseError>,
) -> io::Result<()> {
    buf.clear();
    buf.push('{');
    json_origin(buf, o);
    let _ = write!(
        buf,
        ",\"udp_length\":{},\"reassembled\":{}",
        o.udp_len, o.reassembled
    );
    match parsed {
        Err(e) => {
            buf.push_str(",\"error\":");
            json_str(buf, &e.to_string());
            let _ = write!(buf, ",\"error_offset\":{}", e.offset());
        }
        Ok(p) => {
            let f = p.flags;
            let _ = write!(
                buf,
                ",\"id\":{},\"flags\":{},\"response\":{},\"opcode\":{},\"opcode_name\":\"{}\",\"rcode\":{},\"rcode_name\":\"{}\",\"aa\":{},\"tc\":{},\"rd\":{},\"ra\":{},\"broadcast\":{},\"kind\":\"{}\",\"summary\":",
                p.id,
                f.bits(),
                f.is_response(),
                u8::from(f.opcode()),
                f.opcode(),
                u8::from(f.rcode()),
                f.rcode(),
                f.authoritative(),
                f.truncated(),
                f.recursion_desired(),
                f.recursion_available(),
                f.broadcast(),
                p.kind().description(),
            );
            json_str(buf, &p.to_string());
            buf.push_str(",\"question\":");
            match &p.question() {
                Some(q) => {
                    buf.push_str("{\"name\":");
                    json_name(buf, &q.name);
                    let _ = write!(
                        buf,
                        ",\"type\":{},\"class\":{}}}",
                        u16::from(q.qtype),
                        u16::from(q.qclass)
                    );
                }
                None => buf.push_str("null"),
            }
            for (key, rr) in [
                ("answer", &p.answer()),
                ("authority", &p.authority()),
                ("additional", &p.additional()),
            ] {
                let _ = write!(buf, ",\"{key}\":");
                match rr {
                    Some(rr) => json_record(buf, rr),
                    None => buf.push_str("null"),
                }
            }
            let _ = write!(buf, ",\"trailing\":\"{}\"", hex(p.trailing()));
        }
    }
    buf.push_str("}\n");
    out.write_all(buf.as_bytes())
}

/// Writes `bytes` as a hex dump: offset, 16 bytes in hex, the same bytes
/// as ASCII (`.` for the rest), as tshark's `-x` does.
///
/// # Errors
/// Write errors of `out`.
pub(crate) fn hex_dump(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    for (i, chunk) in bytes.chunks(16).enumerate() {
        write!(out, "{:04x}  ", i * 16)?;
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => write!(out, "{b:02x} ")?,
                None => out.write_all(b"   ")?,
            }
            if j == 7 {
                out.write_all(b" ")?;
            }
        }
        out.write_all(b" ")?;
        for &b in chunk {
            let c = if b.is_ascii_graphic() || b == b' ' {
                b
            } else {
                b'.'
            };
            out.write_all(&[c])?;
        }
        out.write_all(b"\n")?;
    }
    out.write_all(b"\n")
}
