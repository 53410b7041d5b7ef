//! Output of WINS replication messages (MS-WINSRA, TCP 42): the one-line
//! summary, the field tree (`-V`) and JSON (`--json`), in the forms the
//! NBNS output uses.
#![allow(dead_code)]

use core::fmt::Write as _;
use std::io::{self, Write};

use nbns::winsrepl::{Addresses, Body, Message, NameRecord, ParseError};

use crate::render::{Origin, json_origin, json_str, write_endpoints, write_prefix};

/// What a message is, in a few words (for `--stats`).
pub(crate) fn kind(m: &Message<'_>) -> &'static str {
    match &m.body {
        Body::StartRequest(_) => "association start request",
        Body::StartReply(_) => "association start reply",
        Body::Stop(_) => "association stop",
        Body::TableQuery => "owner-version map request",
        Body::TableReply(_) => "owner-version map reply",
        Body::SendRequest(_) => "name records request",
        Body::SendReply(_) => "name records reply",
        Body::UpdateNotification(..) => "update notification",
        Body::UnknownCommand { .. } => "unknown command",
        Body::UnknownType(_) => "unknown message type",
    }
}

/// The message in words: what `dissect` prints after the addresses.
pub(crate) fn summary(m: &Message<'_>) -> String {
    match &m.body {
        Body::StartRequest(s) => format!(
            "WINS replication association start request, handle {:#010x}, version {}.{}",
            s.handle, s.major, s.minor
        ),
        Body::StartReply(s) => format!(
            "WINS replication association start reply, handle {:#010x}, version {}.{}",
            s.handle, s.major, s.minor
        ),
        Body::Stop(s) => format!("WINS replication association stop, reason {:?}", s.reason),
        Body::TableQuery => "WINS replication owner-version map request".to_owned(),
        Body::TableReply(t) => {
            let mut s = format!(
                "WINS replication owner-version map reply, {} owners",
                t.owners.len()
            );
            for o in t.owners.iter().take(4) {
                let _ = write!(s, ", {} up to {}", o.owner, o.max_version);
            }
            s
        }
        Body::SendRequest(o) => format!(
            "WINS replication name records request: owner {} versions {} to {}",
            o.owner, o.min_version, o.max_version
        ),
        Body::SendReply(r) => format!("WINS replication name records reply, {} records", r.len()),
        Body::UpdateNotification(kind, t) => format!(
            "WINS replication update notification {kind:?}, {} owners",
            t.owners.len()
        ),
        Body::UnknownCommand { command, .. } => {
            format!("WINS replication message, unknown command {command}")
        }
        Body::UnknownType(_) => format!(
            "WINS replication message of unknown type {:?}",
            m.header.message_type
        ),
    }
}

/// One record in words: name, type, state, version, addresses.
fn record_words(r: &NameRecord<'_>) -> String {
    let name = match r.name.netbios() {
        Some(n) => n.to_string(),
        None => format!("{:?}", r.name),
    };
    let mut s = format!(
        "{name} {:?} {:?} version {}",
        r.flags.record_type(),
        r.flags.state(),
        r.version
    );
    if !r.name.scope().is_empty() {
        let _ = write!(s, " scope {}", String::from_utf8_lossy(r.name.scope()));
    }
    match r.addresses {
        Addresses::Single(a) => {
            let _ = write!(s, " {a}");
        }
        Addresses::List(members) => {
            for m in members.iter() {
                let _ = write!(s, " {} (owner {})", m.address, m.owner);
            }
        }
    }
    s
}

/// Writes the one-line form of a message that ended in frame `o.frame`.
///
/// # Errors
/// Write errors of `out`.
pub(crate) fn line(
    out: &mut impl Write,
    o: &Origin<'_>,
    parsed: &Result<Message<'_>, ParseError>,
) -> io::Result<()> {
    write_prefix(out, o)?;
    write_endpoints(out, o)?;
    match parsed {
        Ok(m) => writeln!(out, " {}", summary(m)),
        Err(e) => writeln!(out, " Malformed WINS replication message: {e}"),
    }
}

/// Writes every field as an indented tree (`-V`).
///
/// # Errors
/// Write errors of `out`.
pub(crate) fn tree(
    out: &mut impl Write,
    o: &Origin<'_>,
    parsed: &Result<Message<'_>, ParseError>,
) -> io::Result<()> {
    if o.show_file {
        write!(out, "{}: ", o.file)?;
    }
    writeln!(
        out,
        "Frame {}: WINS replication message of {} bytes over TCP",
        o.frame, o.len
    )?;
    writeln!(
        out,
        "Transmission Control Protocol, Src: {}:{}, Dst: {}:{}",
        o.src.0, o.src.1, o.dst.0, o.dst.1
    )?;
    let m = match parsed {
        Ok(m) => m,
        Err(e) => return writeln!(out, "  Malformed WINS replication message: {e}\n"),
    };
    writeln!(out, "  Summary: {}", summary(m))?;
    writeln!(out, "  Opcode: {:#010x}", m.header.opcode)?;
    writeln!(out, "  Association handle: {:#010x}", m.header.handle)?;
    writeln!(out, "  Message type: {:?}", m.header.message_type)?;
    match &m.body {
        Body::TableReply(t) | Body::UpdateNotification(_, t) => {
            writeln!(out, "  Initiator: {}", t.initiator)?;
            for owner in t.owners.iter() {
                writeln!(
                    out,
                    "    Owner {}: versions {} to {}",
                    owner.owner, owner.min_version, owner.max_version
                )?;
            }
        }
        Body::SendReply(records) => {
            for r in records.iter() {
                writeln!(out, "    Record: {}", record_words(&r))?;
            }
        }
        _ => {}
    }
    if !m.padding.is_empty() {
        writeln!(out, "  Reserved bytes: {}", m.padding.len())?;
    }
    writeln!(out)
}

/// Writes one JSON object (and a newline) for a message.
///
/// # Errors
/// Write errors of `out`.
pub(crate) fn json(
    out: &mut impl Write,
    buf: &mut String,
    o: &Origin<'_>,
    parsed: &Result<Message<'_>, ParseError>,
) -> io::Result<()> {
    buf.clear();
    buf.push_str("{\"protocol\":\"winsrepl\",");
    json_origin(buf, o);
    match parsed {
        Err(e) => {
            buf.push_str(",\"error\":");
            json_str(buf, &e.to_string());
        }
        Ok(m) => {
            let _ = write!(
                buf,
                ",\"opcode\":{},\"handle\":{},\"message_type\":",
                m.header.opcode, m.header.handle
            );
            json_str(buf, &format!("{:?}", m.header.message_type));
            buf.push_str(",\"summary\":");
            json_str(buf, &summary(m));
            if let Body::SendReply(records) = &m.body {
                buf.push_str(",\"records\":[");
                for (i, r) in records.iter().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    json_str(buf, &record_words(&r));
                }
                buf.push(']');
            }
        }
    }
    buf.push_str("}\n");
    out.write_all(buf.as_bytes())
}
