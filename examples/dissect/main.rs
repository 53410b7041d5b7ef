//! `dissect`: read every NBNS packet out of pcap and pcapng captures with the
//! crate's parser.
//!
//! ```text
//! cargo run --release --example dissect -- [OPTIONS] FILE... | -
//! ```
//!
//! * default: one line per packet: frame number, time, source → destination,
//!   the packet in words (with several files, the file's name first);
//! * `-V`: every field, as a tree; `-x` adds a hex dump of the payload;
//! * `--json`: one JSON object per packet;
//! * `--stats`: counts at the end (alone, it prints only the counts; with
//!   `--json`, one JSON object of counts and nothing else);
//! * `--port N`, `-d udp.port==N,nbns`: read UDP port N as NBNS too;
//! * `-t r|a|ad|d|dd|e|u|ud`: times as tshark's `-t` shows them (UTC);
//! * `--kind`, `--opcode`, `--rcode`, `--name GLOB`, `--addr IP`: select
//!   packets; `-w FILE`: write the selected frames to a pcap file;
//! * `--threads 1`: read on one thread (by default a capture is read on a
//!   second thread when the machine has two cores or more; what is
//!   printed is the same either way).
//!
//! WINS replication (MS-WINSRA) on TCP port 42 is read too: each
//! direction of a connection is put back in order, cut into messages, and
//! each message is shown like an NBNS packet, at the frame that completed
//! it.
//!
//! Link types: Ethernet (VLAN tags included), Linux cooked (SLL, SLL2), raw
//! IPv4 and IPv6, BSD loopback. UDP and TCP over IPv4 and IPv6, either
//! direction, IP fragments put back together. Files may be gzip-compressed. Frames cut
//! short by the snap length are parsed as far as they go. A malformed packet
//! is reported with the parser's error and byte offset and the run goes on;
//! a file that is not a capture, or is damaged, is reported and makes the
//! exit status 1 (after the other files have been read). Usage errors exit
//! with 2.

mod capture;
mod counter;
mod decode;
mod filter;
mod pcap_write;
mod pipeline;
mod render;
mod stats;
mod tcp;
#[path = "../cli/usage_exit.rs"]
mod usage_exit;
mod wrepl;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use clap::{Parser, ValueEnum};
use core::net::IpAddr;
use nbns::winsrepl::Message;
use nbns::wire::Packet;

use crate::capture::{CaptureError, Frame, read_frames};
use crate::decode::{Datagram, Decoder, Found, Segment};
use crate::filter::Filter;
use crate::pipeline::{Batch, FrameFacts, IN_FLIGHT, Item, RETURN_GROUP, What};
use crate::render::{Origin, TimeFormat};
use crate::stats::Stats;
use crate::tcp::{StreamEvent, Streams};

/// Reads NBNS (NetBIOS Name Service) packets out of pcap and pcapng files.
#[derive(Debug, Parser)]
#[command(name = "dissect", after_help = AFTER_HELP)]
struct Args {
    /// Every field of every packet, as a tree.
    #[arg(short = 'V', conflicts_with = "json")]
    tree: bool,
    /// A hex dump of each packet's payload (with -V, after the tree).
    #[arg(short = 'x')]
    hex: bool,
    /// One JSON object per packet (with --stats: one object of counts).
    #[arg(long)]
    json: bool,
    /// Counts by kind, opcode, rcode, file, name and talker; request and
    /// response pairs with response times.
    #[arg(long)]
    stats: bool,
    /// Also read UDP port N as NBNS (repeatable).
    #[arg(long = "port", value_name = "N")]
    ports: Vec<u16>,
    /// tshark's decode-as: udp.port==N,nbns or tcp.port==N,winsrepl
    /// (repeatable).
    #[arg(short = 'd', value_name = "udp.port==N,nbns", value_parser = decode_as)]
    decode_as: Vec<DecodeAs>,
    /// Time format, as tshark's -t: r relative to the first frame, a/u time
    /// of day, ad/ud date and time, d delta to the previous frame, dd delta
    /// to the previous packet shown, e seconds since the epoch (all UTC).
    #[arg(
        short = 't',
        value_enum,
        default_value = "r",
        hide_possible_values = true
    )]
    time: TimeArg,
    /// Only packets of this kind (e.g. "name query request"; repeatable).
    #[arg(long = "kind", value_name = "KIND")]
    kinds: Vec<String>,
    /// Only packets with this opcode (number or name, e.g. 5 or registration).
    #[arg(long, value_name = "OPCODE")]
    opcode: Vec<String>,
    /// Only packets with this rcode (number or name, e.g. 3 or NAM_ERR).
    #[arg(long, value_name = "RCODE")]
    rcode: Vec<String>,
    /// Only packets with a name matching GLOB (e.g. 'WORK*', 'DC<1c>').
    #[arg(long, value_name = "GLOB")]
    name: Vec<String>,
    /// Only packets from or to this address.
    #[arg(long, value_name = "IP")]
    addr: Vec<IpAddr>,
    /// Write the selected frames to FILE (classic pcap).
    #[arg(short = 'w', value_name = "FILE")]
    write: Option<PathBuf>,
    /// Threads: 1 reads and dissects on one; 2 reads the capture (records,
    /// link and IP layers, reassembly) on a second thread while the first
    /// parses, selects, counts and prints. The output is the same. Default:
    /// 2 when the machine has two cores or more.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=2))]
    threads: Option<u8>,
    /// Capture files (pcap, pcapng, optionally gzip-compressed); - for
    /// standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
}

const AFTER_HELP: &str = "\
Exit status: 0 all files read, 1 a file could not be read, 2 usage error.";

/// `-t` values, as tshark spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TimeArg {
    R,
    A,
    Ad,
    D,
    Dd,
    E,
    U,
    Ud,
}

impl From<TimeArg> for TimeFormat {
    fn from(t: TimeArg) -> Self {
        match t {
            TimeArg::R => Self::Relative,
            TimeArg::A | TimeArg::U => Self::TimeOfDay,
            TimeArg::Ad | TimeArg::Ud => Self::DateTime,
            TimeArg::D => Self::Delta,
            TimeArg::Dd => Self::DeltaShown,
            TimeArg::E => Self::Epoch,
        }
    }
}

/// A `-d` rule: a port read as one of the two protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodeAs {
    /// `udp.port==N,nbns`.
    Nbns(u16),
    /// `tcp.port==N,winsrepl`.
    Winsrepl(u16),
}

/// Parses tshark's `udp.port==N,nbns` and `tcp.port==N,winsrepl`.
fn decode_as(s: &str) -> Result<DecodeAs, String> {
    let rule = s.replace(' ', "");
    let (port, make): (&str, fn(u16) -> DecodeAs) = if let Some(p) = rule
        .strip_prefix("udp.port==")
        .and_then(|r| r.strip_suffix(",nbns"))
    {
        (p, DecodeAs::Nbns)
    } else if let Some(p) = rule
        .strip_prefix("tcp.port==")
        .and_then(|r| r.strip_suffix(",winsrepl"))
    {
        (p, DecodeAs::Winsrepl)
    } else {
        return Err(format!(
            "{s:?}: only udp.port==N,nbns and tcp.port==N,winsrepl are understood"
        ));
    };
    let port = port
        .parse()
        .map_err(|_| format!("{s:?}: {port:?} is not a port number"))?;
    Ok(make(port))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lines,
    Tree,
    Json,
    StatsOnly,
}

/// Everything one run carries from frame to frame and file to file.
struct Run<'o, W: Write> {
    mode: Mode,
    hex: bool,
    time: TimeFormat,
    show_file: bool,
    /// Whether captures are read on a second thread ([`pipeline`]).
    pipelined: bool,
    filter: &'o Filter,
    udp_ports: &'o [u16],
    tcp_ports: &'o [u16],
    out: &'o mut W,
    json_buf: String,
    stats: Stats,
    writer: Option<pcap_write::Writer>,
    write_error: Option<io::Error>,
}

/// The times of one file: its first frame, the previous frame, and the
/// previous packet shown.
#[derive(Default)]
struct Clock {
    first_ns: Option<i128>,
    prev_ns: Option<i128>,
    prev_shown_ns: Option<i128>,
}

/// A frame's times, from the [`Clock`] of its file.
#[derive(Debug, Clone, Copy, Default)]
struct Times {
    rel_ns: i128,
    delta_ns: i128,
}

impl Clock {
    fn frame(&mut self, t: i128) -> Times {
        let t0 = *self.first_ns.get_or_insert(t);
        let delta_ns = t - self.prev_ns.unwrap_or(t);
        self.prev_ns = Some(t);
        Times {
            rel_ns: t - t0,
            delta_ns,
        }
    }

    fn shown(&mut self, t: i128) -> i128 {
        let d = t - self.prev_shown_ns.unwrap_or(t);
        self.prev_shown_ns = Some(t);
        d
    }
}

impl<W: Write> Run<'_, W> {
    /// Reads one capture, writing per-packet output and counting.
    fn file(&mut self, name: &str, input: impl io::Read + Send) -> Result<(), CaptureError> {
        if self.pipelined {
            return self.file_pipelined(name, input);
        }
        let mut decoder = Decoder::with_tcp_ports(self.udp_ports, self.tcp_ports);
        let mut streams = Streams::default();
        let mut clock = Clock::default();
        self.stats.start_file(name);
        // Counting alone shows no times.
        let timed = self.mode != Mode::StatsOnly;
        let frames = read_frames(input, |frame| {
            let times = if timed {
                clock.frame(frame.time_ns)
            } else {
                Times::default()
            };
            // Matched by reference: moving the datagram out of the result
            // copied it on the stack once more, field by field.
            match &decoder.decode(frame.linktype, frame.data, frame.time_ns) {
                Err(skip) => self.stats.skip(*skip),
                Ok(Found::Nbns(d)) => self.nbns(name, frame, d, times, &mut clock),
                Ok(Found::Winsrepl(seg)) => {
                    if !self.filter.selects_addresses(seg.src, seg.dst) {
                        self.stats.filtered += 1;
                        return;
                    }
                    self.stats.segments += 1;
                    if let Some(w) = &mut self.writer {
                        w.frame(frame.linktype, frame.time_ns, frame.data, frame.orig_len);
                    }
                    streams.segment(seg, |event| match event {
                        StreamEvent::Message(m) => {
                            self.winsrepl(name, frame, seg, m, times, &mut clock);
                        }
                        StreamEvent::Note(note) => self.stats.stream_note(note),
                    });
                }
            }
        });
        self.end_file(frames)
    }

    /// [`Run::file`] in two stages: the capture is read on a second thread
    /// ([`pipeline::read`]), and what it holds is parsed, selected, counted
    /// and shown here, batch by batch, in the order read.
    fn file_pipelined(
        &mut self,
        name: &str,
        input: impl io::Read + Send,
    ) -> Result<(), CaptureError> {
        self.stats.start_file(name);
        let reader = pipeline::Reader {
            udp_ports: self.udp_ports,
            tcp_ports: self.tcp_ports,
            filter: self.filter,
            timed: self.mode != Mode::StatsOnly,
            frames: self.mode == Mode::Tree || self.writer.is_some(),
            write: self.writer.is_some(),
        };
        let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
        let (free_tx, free_rx) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
        for _ in 0..IN_FLIGHT {
            let _ = free_tx.send(Batch::new());
        }
        let mut clock = Clock::default();
        let frames = thread::scope(|scope| {
            let ends = pipeline::Ends {
                full: full_tx,
                free: free_rx,
            };
            let reader = &reader;
            let stage = scope.spawn(move || pipeline::read(reader, input, &ends));
            // Batches read go back in groups, so that a reader waiting for
            // one is woken once a group rather than once a batch.
            let mut spent = Vec::with_capacity(RETURN_GROUP);
            // Ends when the reader has sent its last batch, or has gone.
            for batch in &full_rx {
                batch.tally.add_to(&mut self.stats);
                if batch.facts.is_empty() {
                    for item in batch.items() {
                        self.item(name, &batch, item, None, &mut clock);
                    }
                } else {
                    for (item, facts) in batch.items().zip(&batch.facts) {
                        self.item(name, &batch, item, Some(facts), &mut clock);
                    }
                }
                spent.push(batch);
                if spent.len() >= RETURN_GROUP {
                    // A reader that has ended takes no more batches.
                    for b in spent.drain(..) {
                        let _ = free_tx.send(b);
                    }
                }
            }
            stage
                .join()
                .unwrap_or_else(|_| Err(CaptureError::Io("the reading thread failed".into())))
        });
        self.end_file(frames)
    }

    /// One item of a batch of [`Run::file_pipelined`], with the facts of
    /// its frame when the batch has them, handled as [`Run::file`] handles
    /// what a frame holds.
    #[inline(always)]
    fn item(
        &mut self,
        name: &str,
        batch: &Batch,
        (item, payload): (&Item, &[u8]),
        facts: Option<&FrameFacts>,
        clock: &mut Clock,
    ) {
        let (times, frame) = match facts {
            Some(f) => (
                f.times,
                Frame {
                    number: f.number,
                    time_ns: item.time_ns(),
                    linktype: f.linktype,
                    data: batch.frame(f),
                    orig_len: f.orig_len,
                },
            ),
            None => (
                Times::default(),
                // Counting alone needs no frame number.
                Frame {
                    number: 0,
                    time_ns: item.time_ns(),
                    linktype: 0,
                    data: &[],
                    orig_len: 0,
                },
            ),
        };
        match item.what {
            What::Nbns => {
                let d = Datagram {
                    src: item.src,
                    dst: item.dst,
                    src_port: item.src_port,
                    dst_port: item.dst_port,
                    payload,
                    udp_payload_len: usize::from(item.udp_payload_len),
                    reassembled: item.reassembled,
                };
                self.nbns(name, &frame, &d, times, clock);
            }
            What::Segment => {
                if let Some(w) = &mut self.writer {
                    w.frame(frame.linktype, frame.time_ns, frame.data, frame.orig_len);
                }
            }
            What::Message => {
                let seg = Segment {
                    src: item.src,
                    dst: item.dst,
                    src_port: item.src_port,
                    dst_port: item.dst_port,
                    seq: 0,
                    syn: false,
                    fin: false,
                    rst: false,
                    payload: &[],
                };
                self.winsrepl(name, &frame, &seg, payload, times, clock);
            }
        }
    }

    /// Ends a file read: a write error ends the program; else the file's
    /// totals are kept, unless it could not be read to its end.
    fn end_file(&mut self, frames: Result<u64, CaptureError>) -> Result<(), CaptureError> {
        if let Some(e) = self.write_error.take() {
            // Typically a closed pipe (`dissect … | head`): stop quietly.
            if e.kind() == io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("dissect: write error: {e}");
            std::process::exit(1);
        }
        let frames = frames?;
        self.stats.end_file(frames);
        Ok(())
    }

    fn origin<'n>(
        &self,
        name: &'n str,
        frame: &Frame<'_>,
        times: Times,
        shown_delta_ns: i128,
        ends: ((IpAddr, u16), (IpAddr, u16)),
        lens: (usize, usize),
    ) -> Origin<'n> {
        Origin {
            file: name,
            show_file: self.show_file,
            frame: frame.number,
            time: self.time,
            epoch_ns: frame.time_ns,
            rel_ns: times.rel_ns,
            delta_ns: times.delta_ns,
            shown_delta_ns,
            src: ends.0,
            dst: ends.1,
            len: lens.0,
            udp_len: lens.1,
            reassembled: false,
        }
    }

    /// One NBNS datagram: select, count, write, show.
    #[inline(always)]
    fn nbns(
        &mut self,
        name: &str,
        frame: &Frame<'_>,
        d: &Datagram<'_>,
        times: Times,
        clock: &mut Clock,
    ) {
        let parsed = Packet::parse(d.payload);
        if !self.filter.selects(d, &parsed) {
            self.stats.filtered += 1;
            return;
        }
        self.stats.count(d, &parsed, frame.time_ns);
        if let Some(w) = &mut self.writer {
            w.frame(frame.linktype, frame.time_ns, frame.data, frame.orig_len);
        }
        if self.mode == Mode::StatsOnly || self.write_error.is_some() {
            return;
        }
        let shown = clock.shown(frame.time_ns);
        let mut origin = self.origin(
            name,
            frame,
            times,
            shown,
            ((d.src, d.src_port), (d.dst, d.dst_port)),
            (d.payload.len(), d.udp_payload_len),
        );
        origin.reassembled = d.reassembled;
        let out = &mut *self.out;
        let r = match self.mode {
            Mode::Lines => render::line(out, &origin, &parsed),
            Mode::Tree => render::tree(out, &origin, frame.data, d.payload, &parsed),
            Mode::Json => render::json(out, &mut self.json_buf, &origin, &parsed),
            Mode::StatsOnly => Ok(()),
        };
        let r = r.and_then(|()| {
            if self.hex {
                render::hex_dump(out, d.payload)
            } else {
                Ok(())
            }
        });
        if let Err(e) = r {
            self.write_error = Some(e);
        }
    }

    /// One replication message, completed by the segment `seg` of `frame`.
    fn winsrepl(
        &mut self,
        name: &str,
        frame: &Frame<'_>,
        seg: &Segment<'_>,
        message: &[u8],
        times: Times,
        clock: &mut Clock,
    ) {
        let parsed = Message::parse(message);
        self.stats.winsrepl(&parsed);
        if self.mode == Mode::StatsOnly || self.write_error.is_some() {
            return;
        }
        let shown = clock.shown(frame.time_ns);
        let origin = self.origin(
            name,
            frame,
            times,
            shown,
            ((seg.src, seg.src_port), (seg.dst, seg.dst_port)),
            (message.len(), message.len()),
        );
        let out = &mut *self.out;
        let r = match self.mode {
            Mode::Lines => wrepl::line(out, &origin, &parsed),
            Mode::Tree => wrepl::tree(out, &origin, &parsed),
            Mode::Json => wrepl::json(out, &mut self.json_buf, &origin, &parsed),
            Mode::StatsOnly => Ok(()),
        };
        let r = r.and_then(|()| {
            if self.hex {
                render::hex_dump(out, message)
            } else {
                Ok(())
            }
        });
        if let Err(e) = r {
            self.write_error = Some(e);
        }
    }
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => usage_exit::usage_exit("dissect", &e),
    };
    let filter = match Filter::new(
        &args.kinds,
        &args.opcode,
        &args.rcode,
        &args.name,
        &args.addr,
    ) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("dissect: {e}");
            return ExitCode::from(2);
        }
    };
    let writer = match &args.write {
        None => None,
        Some(path) => match pcap_write::Writer::create(path) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("dissect: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
    };
    let mode = match (args.tree, args.json, args.stats) {
        (true, _, _) => Mode::Tree,
        (false, true, false) => Mode::Json,
        (false, _, true) => Mode::StatsOnly,
        (false, false, false) => Mode::Lines,
    };
    let mut udp_ports = args.ports.clone();
    let mut tcp_ports = Vec::new();
    for d in &args.decode_as {
        match *d {
            DecodeAs::Nbns(p) => udp_ports.push(p),
            DecodeAs::Winsrepl(p) => tcp_ports.push(p),
        }
    }
    let threads = args.threads.unwrap_or_else(|| {
        if thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
            2
        } else {
            1
        }
    });
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut run = Run {
        mode,
        hex: args.hex,
        time: args.time.into(),
        show_file: args.files.len() > 1,
        pipelined: threads > 1,
        filter: &filter,
        udp_ports: &udp_ports,
        tcp_ports: &tcp_ports,
        out: &mut out,
        json_buf: String::new(),
        stats: Stats::default(),
        writer,
        write_error: None,
    };
    let mut failed = false;
    for name in &args.files {
        let result = if name == "-" {
            run.file("-", io::stdin())
        } else {
            match File::open(name) {
                Ok(f) => run.file(name, f),
                Err(e) => Err(CaptureError::Io(e.to_string())),
            }
        };
        if let Err(e) = result {
            let _ = run.out.flush();
            eprintln!("dissect: {name}: {e}");
            failed = true;
        }
    }
    if let Some(w) = run.writer.take() {
        match w.finish() {
            Ok(skipped) if skipped > 0 => eprintln!(
                "dissect: {skipped} selected frames of another link type than the first were not written"
            ),
            Ok(_) => {}
            Err(e) => {
                eprintln!("dissect: write error: {e}");
                failed = true;
            }
        }
    }
    if args.stats {
        let r = if args.json {
            run.stats.write_json(run.out)
        } else {
            run.stats.write(run.out)
        };
        if let Err(e) = r
            && e.kind() != io::ErrorKind::BrokenPipe
        {
            eprintln!("dissect: write error: {e}");
            return ExitCode::FAILURE;
        }
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
