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
use core::net::Ipv4Addr;
use std::io::{self, Write};

use nbns::wire::{
    Class, Flags, Name, NameForm, Opcode, Packet, PacketKind, ParseError, RData, Rcode,
    ResourceRecord,
};

/// Where a packet came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    /// The capture file's name as given.
    pub(crate) file: &'a str,
    /// Frame number in the file.
    pub(crate) frame: u64,
    /// Seconds since the file's first frame.
    pub(crate) rel_time: f64,
    /// IPv4 source and UDP port.
    pub(crate) src: (Ipv4Addr, u16),
    /// IPv4 destination and UDP port.
    pub(crate) dst: (Ipv4Addr, u16),
    /// UDP payload bytes captured.
    pub(crate) len: usize,
    /// UDP payload bytes the UDP header claims.
    pub(crate) udp_len: usize,
}

fn endpoint(out: &mut impl Write, (a, p): (Ipv4Addr, u16)) -> io::Result<()> {
    if p == 137 {
        write!(out, "{a}")
    } else {
        write!(out, "{a}:{p}")
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
    write!(out, "{:>6} {:>12.6} ", o.frame, o.rel_time)?;
    endpoint(out, o.src)?;
    out.write_all(" → ".as_bytes())?;
    endpoint(out, o.dst)?;
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

fn tree_name(out: &mut impl Write, indent: &str, n: &Name<'_>) -> io::Result<()> {
    writeln!(out, "{indent}Name: {n}")?;
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
            writeln!(
                out,
                "    Statistics: {} bytes",
                s.statistics.as_bytes().len()
            )?;
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
    parsed: &Result<Packet<'_>, ParseError>,
) -> io::Result<()> {
    write!(out, "Frame {} ({:.6} s): ", o.frame, o.rel_time)?;
    endpoint(out, o.src)?;
    out.write_all(" → ".as_bytes())?;
    endpoint(out, o.dst)?;
    write!(out, ", {} bytes of NBNS", o.len)?;
    if o.len < o.udp_len {
        write!(out, " (cut by capture; UDP says {})", o.udp_len)?;
    }
    out.write_all(b"\n")?;
    let p = match parsed {
        Ok(p) => p,
        Err(e) => {
            writeln!(out, "  Malformed NBNS packet at byte {}: {e}\n", e.offset())?;
            return Ok(());
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
    buf.push_str("{\"file\":");
    json_str(buf, o.file);
    let _ = write!(
        buf,
        ",\"frame\":{},\"time\":{:.6},\"src\":\"{}\",\"src_port\":{},\"dst\":\"{}\",\"dst_port\":{},\"length\":{},\"udp_length\":{}",
        o.frame, o.rel_time, o.src.0, o.src.1, o.dst.0, o.dst.1, o.len, o.udp_len
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

/// Every packet kind, in the order the counts are printed.
const KINDS: [PacketKind; 19] = [
    PacketKind::NameQueryRequest,
    PacketKind::NodeStatusRequest,
    PacketKind::NameRegistrationRequest,
    PacketKind::NameOverwriteRequest,
    PacketKind::NameRefreshRequest,
    PacketKind::NameReleaseRequest,
    PacketKind::MultihomedRegistrationRequest,
    PacketKind::PositiveNameQueryResponse,
    PacketKind::NegativeNameQueryResponse,
    PacketKind::RedirectNameQueryResponse,
    PacketKind::PositiveRegistrationResponse,
    PacketKind::NegativeRegistrationResponse,
    PacketKind::EndNodeChallengeResponse,
    PacketKind::NameConflictDemand,
    PacketKind::PositiveReleaseResponse,
    PacketKind::NegativeReleaseResponse,
    PacketKind::Wack,
    PacketKind::NodeStatusResponse,
    PacketKind::Unknown,
];

/// Counts for `--stats`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    /// Frames read.
    pub(crate) frames: u64,
    /// UDP port 137 datagrams found.
    pub(crate) datagrams: u64,
    /// Datagrams the parser refused.
    pub(crate) malformed: u64,
    /// Datagrams the capture cut short.
    pub(crate) cut: u64,
    /// Per kind, indexed as `KINDS`.
    pub(crate) kinds: [u64; 19],
    /// Per opcode value.
    pub(crate) opcodes: [u64; 16],
    /// Per rcode value, responses only.
    pub(crate) rcodes: [u64; 16],
}

impl Stats {
    /// Counts one datagram.
    #[inline]
    pub(crate) fn count(&mut self, parsed: &Result<Packet<'_>, ParseError>, cut: bool) {
        self.datagrams += 1;
        self.cut += u64::from(cut);
        match parsed {
            Ok(p) => {
                let k = p.kind();
                let i = KINDS
                    .iter()
                    .position(|&x| x == k)
                    .unwrap_or(KINDS.len() - 1);
                self.kinds[i] += 1;
                self.opcodes[usize::from(u8::from(p.opcode()))] += 1;
                if p.is_response() {
                    self.rcodes[usize::from(u8::from(p.rcode()))] += 1;
                }
            }
            Err(_) => self.malformed += 1,
        }
    }

    /// The count for one kind.
    pub(crate) fn kind(&self, k: PacketKind) -> u64 {
        KINDS
            .iter()
            .position(|&x| x == k)
            .map_or(0, |i| self.kinds[i])
    }

    /// Writes the counts.
    ///
    /// # Errors
    /// Write errors of `out`.
    pub(crate) fn write(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "NBNS datagrams: {} ({} parsed, {} malformed, {} cut by the capture) in {} frames",
            self.datagrams,
            self.datagrams - self.malformed,
            self.malformed,
            self.cut,
            self.frames
        )?;
        writeln!(out, "By kind:")?;
        for (k, &n) in KINDS.iter().zip(&self.kinds) {
            if n > 0 {
                writeln!(out, "  {:<42} {n:>10}", k.description())?;
            }
        }
        writeln!(out, "By opcode:")?;
        for (v, &n) in self.opcodes.iter().enumerate() {
            if n > 0 {
                let label = format!("{v:>2} {}", Opcode::from(v as u8));
                writeln!(out, "  {label:<42} {n:>10}")?;
            }
        }
        writeln!(out, "By rcode (responses):")?;
        for (v, &n) in self.rcodes.iter().enumerate() {
            if n > 0 {
                let label = format!("{v:>2} {}", Rcode::from(v as u8));
                writeln!(out, "  {label:<42} {n:>10}")?;
            }
        }
        Ok(())
    }
}
