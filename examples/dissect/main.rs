//! `dissect`: read every NBNS packet out of pcap and pcapng captures with the
//! crate's parser.
//!
//! ```text
//! cargo run --release --example dissect -- [-V | --json] [--stats] FILE... | -
//! ```
//!
//! * default: one line per packet: frame number, time since the file's first
//!   frame, source → destination, the packet in words;
//! * `-V`: every field, as a tree;
//! * `--json`: one JSON object per packet;
//! * `--stats`: counts by packet kind, opcode and rcode at the end (alone, it
//!   prints only the counts).
//!
//! Link types: Ethernet (VLAN tags included), Linux cooked (SLL, SLL2), raw
//! IPv4, BSD loopback. UDP port 137 over IPv4, either direction. Frames cut
//! short by the snap length are parsed as far as they go. A malformed packet
//! is reported with the parser's error and byte offset and the run goes on;
//! a file that is not a capture, or is damaged, is reported and makes the
//! exit status 1 (after the other files have been read).

mod capture;
mod render;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use nbns::wire::Packet;

use crate::capture::{CaptureError, nbns_datagram, read_frames};
use crate::render::{Origin, Stats};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lines,
    Tree,
    Json,
    StatsOnly,
}

const USAGE: &str =
    "usage: dissect [-V | --json] [--stats] FILE... (FILE may be - for standard input)";

/// Reads one capture, writing per-packet output in `mode` and counting into
/// `stats`. Output errors (a closed pipe) end the program quietly.
fn dissect_one(
    name: &str,
    input: impl io::Read + Send,
    mode: Mode,
    out: &mut impl Write,
    stats: &mut Stats,
) -> Result<(), CaptureError> {
    let mut first_ns: Option<i128> = None;
    let mut json_buf = String::new();
    let mut write_error: Option<io::Error> = None;
    let frames = read_frames(input, |frame| {
        let Some(d) = nbns_datagram(frame.linktype, frame.data) else {
            return;
        };
        let parsed = Packet::parse(d.payload);
        stats.count(&parsed, d.is_cut());
        if mode == Mode::StatsOnly || write_error.is_some() {
            return;
        }
        let t0 = *first_ns.get_or_insert(frame.time_ns);
        let origin = Origin {
            file: name,
            frame: frame.number,
            rel_time: (frame.time_ns - t0) as f64 / 1e9,
            src: (d.src, d.src_port),
            dst: (d.dst, d.dst_port),
            len: d.payload.len(),
            udp_len: d.udp_payload_len,
        };
        let r = match mode {
            Mode::Lines => render::line(out, &origin, &parsed),
            Mode::Tree => render::tree(out, &origin, &parsed),
            Mode::Json => render::json(out, &mut json_buf, &origin, &parsed),
            Mode::StatsOnly => Ok(()),
        };
        if let Err(e) = r {
            write_error = Some(e);
        }
    });
    if let Some(e) = write_error {
        // Typically a closed pipe (`dissect … | head`): stop quietly.
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("dissect: write error: {e}");
        }
        std::process::exit(if e.kind() == io::ErrorKind::BrokenPipe {
            0
        } else {
            1
        });
    }
    stats.frames += frames?;
    Ok(())
}

fn main() -> ExitCode {
    let mut mode = Mode::Lines;
    let mut want_stats = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-V" => mode = Mode::Tree,
            "--json" => mode = Mode::Json,
            "--stats" => want_stats = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            s if s.starts_with('-') && s != "-" => {
                eprintln!("dissect: unknown option {s}\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let explicit_mode = std::env::args().any(|a| a == "-V" || a == "--json");
    if want_stats && !explicit_mode {
        mode = Mode::StatsOnly;
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut stats = Stats::default();
    let mut failed = false;
    for name in &files {
        let result = if name == "-" {
            dissect_one("-", io::stdin(), mode, &mut out, &mut stats)
        } else {
            match File::open(name) {
                Ok(f) => dissect_one(name, f, mode, &mut out, &mut stats),
                Err(e) => Err(CaptureError::Io(e.to_string())),
            }
        };
        if let Err(e) = result {
            let _ = out.flush();
            eprintln!("dissect: {name}: {e}");
            failed = true;
        }
    }
    if want_stats {
        let _ = stats.write(&mut out);
    }
    if let Err(e) = out.flush()
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("dissect: write error: {e}");
        return ExitCode::FAILURE;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
