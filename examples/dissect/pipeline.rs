//! Reading a capture on a thread of its own: the first stage of a
//! two-stage pipeline.
//!
//! This stage does everything about frames that carries state from one
//! frame to the next, in capture order: the records of the file, the link
//! and IP layers, IP reassembly, the TCP streams of replication, the times
//! of frames. What it finds goes to the second stage (the NBNS parse, the
//! selection, the counting and the output, on the calling thread) in
//! [`Batch`]es: the bytes of the datagrams and messages found, one after
//! another, and an [`Item`] per datagram, message or frame to write, in
//! the order the frames came. The second stage takes the batches in the
//! order they were sent, so it sees exactly what a single thread sees.
//!
//! Memory is bounded: [`IN_FLIGHT`] batches exist, each of at most
//! [`BATCH_ITEMS`] items and about [`BATCH_BYTES`] bytes (more only by
//! the last frame or message put in, which the limits of the capture
//! reader and of the replication framer bound; a batch that grew is cut
//! back when it comes round again). They go round: the first stage fills
//! a free one, sends it, and takes the next free one back from the second
//! stage (which gives them back [`RETURN_GROUP`] at a time), so nothing is
//! allocated per batch once every batch has been used. When either stage ends, its channels close and the other one
//! ends too: a reader whose batches are no longer taken stops filling
//! them; a second stage whose reader has gone sees its channel close.

use core::net::IpAddr;
use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender};

use crate::Times;
use crate::capture::{CaptureError, read_frames};
use crate::decode::{Decoder, Found, Skip};
use crate::filter::Filter;
use crate::stats::Stats;
use crate::tcp::{StreamEvent, StreamNote, Streams};

/// Batches in existence for one file: filled, in the channel, or being
/// read.
pub(crate) const IN_FLIGHT: usize = 8;
/// Batches the second stage gives back at once: a first stage that had to
/// wait for a free batch is woken then with several (a wake-up a batch
/// costs as much as the work of a few packets); at most [`IN_FLIGHT`].
pub(crate) const RETURN_GROUP: usize = IN_FLIGHT / 2;
/// Items a batch holds at the most.
pub(crate) const BATCH_ITEMS: usize = 1024;
/// Bytes a batch holds before it is sent (it may pass this by one frame).
pub(crate) const BATCH_BYTES: usize = 1 << 17;

/// What an [`Item`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum What {
    /// An NBNS datagram: its bytes are the UDP payload.
    Nbns,
    /// A WINS replication message, completed by this frame: its bytes
    /// are the message.
    Message,
    /// A replication segment's frame, selected, to be written with `-w`.
    Segment,
}

/// One datagram, message or frame of a batch: what every mode needs.
/// Kept to a cache line (64 bytes), as every item crosses from one core
/// to the other. Its bytes in [`Batch::bytes`] start where the previous
/// item's end.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// Capture time (ns since the epoch): the high and low 64 bits.
    time_hi: i64,
    time_lo: u64,
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) src_port: u16,
    pub(crate) dst_port: u16,
    /// Where the datagram's or message's bytes end in [`Batch::bytes`].
    end: u32,
    /// The UDP payload length the header claims (at most 65,527).
    pub(crate) udp_payload_len: u16,
    pub(crate) what: What,
    /// Whether the datagram was put back together from IP fragments.
    pub(crate) reassembled: bool,
}

impl Item {
    /// Capture time (ns since the epoch).
    #[inline(always)]
    pub(crate) fn time_ns(&self) -> i128 {
        (i128::from(self.time_hi) << 64) | i128::from(self.time_lo)
    }
}

const _: () = assert!(size_of::<Item>() <= 64);

/// What the modes that show times, write or show frames need of an
/// item's frame, kept beside the items only then.
#[derive(Debug, Clone, Default)]
pub(crate) struct FrameFacts {
    /// Frame number within the file.
    pub(crate) number: u64,
    /// The frame's times.
    pub(crate) times: Times,
    pub(crate) linktype: i32,
    pub(crate) orig_len: u32,
    /// The frame's captured bytes in [`Batch::frames`] (empty unless
    /// frames are written or shown).
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// Counts the first stage keeps for frames that give no item; they add up
/// the same in any order.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    /// By reason, indexed as `Skip::ALL`.
    skipped: [u64; 8],
    /// Replication segments the address selection left out.
    filtered: u64,
    /// Replication segments read.
    segments: u64,
    /// Stream troubles: gaps, bad lengths, cut messages (as
    /// `Stats::stream_notes`).
    notes: [u64; 3],
}

impl Tally {
    /// Adds these counts to `stats`.
    pub(crate) fn add_to(&self, stats: &mut Stats) {
        for (total, n) in stats.skipped.iter_mut().zip(self.skipped) {
            *total += n;
        }
        stats.filtered += self.filtered;
        stats.segments += self.segments;
        for (total, n) in stats.stream_notes.iter_mut().zip(self.notes) {
            *total += n;
        }
    }
}

/// A run of items and the bytes they point into.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) items: Vec<Item>,
    /// One for each item, when times are shown or frames written or shown.
    pub(crate) facts: Vec<FrameFacts>,
    /// The datagrams and messages, one after another.
    pub(crate) bytes: Vec<u8>,
    /// The frames, when they are written or shown.
    pub(crate) frames: Vec<u8>,
    pub(crate) tally: Tally,
}

impl Batch {
    /// An empty batch with room for a full one.
    pub(crate) fn new() -> Self {
        Self {
            items: Vec::with_capacity(BATCH_ITEMS),
            facts: Vec::new(),
            bytes: Vec::with_capacity(BATCH_BYTES),
            frames: Vec::new(),
            tally: Tally::default(),
        }
    }

    fn clear(&mut self) {
        self.items.clear();
        self.facts.clear();
        self.bytes.clear();
        self.frames.clear();
        // What one large frame or message made room for is not kept (a
        // batch's usual overshoot, one small frame, is).
        for v in [&mut self.bytes, &mut self.frames] {
            if v.capacity() > 4 * BATCH_BYTES {
                v.shrink_to(2 * BATCH_BYTES);
            }
        }
        self.tally = Tally::default();
    }

    fn is_full(&self) -> bool {
        self.items.len() >= BATCH_ITEMS || self.bytes.len() + self.frames.len() >= BATCH_BYTES
    }

    /// The items, each with its bytes, in order.
    pub(crate) fn items(&self) -> impl Iterator<Item = (&Item, &[u8])> {
        self.items.iter().scan(0, |start, item| {
            let end = item.end as usize;
            let bytes = self.bytes.get(*start..end).unwrap_or_default();
            *start = end;
            Some((item, bytes))
        })
    }

    /// The captured bytes of `facts`' frame.
    pub(crate) fn frame(&self, facts: &FrameFacts) -> &[u8] {
        self.frames
            .get(facts.start as usize..facts.end as usize)
            .unwrap_or_default()
    }
}

/// Copies `b` to the end of `to`; where it went. A batch holds far less
/// than 4 GiB (its limit and one frame or message more).
fn keep(to: &mut Vec<u8>, b: &[u8]) -> (u32, u32) {
    let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let start = at(to.len());
    to.extend_from_slice(b);
    (start, at(to.len()))
}

/// Source, destination, source port, destination port.
type Ends4 = (IpAddr, IpAddr, u16, u16);

/// What the first stage needs to know of the run.
pub(crate) struct Reader<'r> {
    pub(crate) udp_ports: &'r [u16],
    pub(crate) tcp_ports: &'r [u16],
    pub(crate) filter: &'r Filter,
    /// Whether frame times are shown (else they stay zero).
    pub(crate) timed: bool,
    /// Whether the second stage needs each frame's bytes (`-w`, `-V`).
    pub(crate) frames: bool,
    /// Whether replication frames are written (`-w`).
    pub(crate) write: bool,
}

/// The channels of the first stage: filled batches out, free ones back.
pub(crate) struct Ends {
    pub(crate) full: SyncSender<Batch>,
    pub(crate) free: Receiver<Batch>,
}

impl Ends {
    /// The next free batch, or `None` when the second stage has gone.
    fn next(&self) -> Option<Batch> {
        let mut b = self.free.recv().ok()?;
        b.clear();
        Some(b)
    }
}

/// Reads one capture and sends what it holds to the second stage, in
/// order. Returns the number of frames, as [`read_frames`] does.
///
/// # Errors
/// The [`CaptureError`] of [`read_frames`]; the batches of the frames
/// before it have been sent.
pub(crate) fn read(
    reader: &Reader<'_>,
    input: impl Read + Send,
    ends: &Ends,
) -> Result<u64, CaptureError> {
    let mut decoder = Decoder::with_tcp_ports(reader.udp_ports, reader.tcp_ports);
    let mut streams = Streams::default();
    let mut clock = crate::Clock::default();
    let mut batch = ends.next();
    let frames = read_frames(input, |frame| {
        // The second stage has gone: nothing more to do.
        let Some(b) = &mut batch else {
            return;
        };
        let times = if reader.timed {
            clock.frame(frame.time_ns)
        } else {
            Times::default()
        };
        // An item of this frame, its bytes copied in.
        let item = |b: &mut Batch, what: What, payload: &[u8], ends: Ends4, udp: (usize, bool)| {
            if reader.timed || reader.frames {
                let (start, end) = if reader.frames {
                    keep(&mut b.frames, frame.data)
                } else {
                    (0, 0)
                };
                b.facts.push(FrameFacts {
                    number: frame.number,
                    times,
                    linktype: frame.linktype,
                    orig_len: frame.orig_len,
                    start,
                    end,
                });
            }
            let (_, end) = keep(&mut b.bytes, payload);
            b.items.push(Item {
                time_hi: (frame.time_ns >> 64) as i64,
                time_lo: frame.time_ns as u64,
                src: ends.0,
                dst: ends.1,
                src_port: ends.2,
                dst_port: ends.3,
                end,
                udp_payload_len: u16::try_from(udp.0).unwrap_or(u16::MAX),
                what,
                reassembled: udp.1,
            });
        };
        match &decoder.decode(frame.linktype, frame.data, frame.time_ns) {
            Err(skip) => {
                if let Some(i) = Skip::ALL.iter().position(|s| s == skip)
                    && let Some(n) = b.tally.skipped.get_mut(i)
                {
                    *n += 1;
                }
            }
            Ok(Found::Nbns(d)) => item(
                b,
                What::Nbns,
                d.payload,
                (d.src, d.dst, d.src_port, d.dst_port),
                (d.udp_payload_len, d.reassembled),
            ),
            Ok(Found::Winsrepl(seg)) => {
                if !reader.filter.selects_addresses(seg.src, seg.dst) {
                    b.tally.filtered += 1;
                    return;
                }
                b.tally.segments += 1;
                let ends = (seg.src, seg.dst, seg.src_port, seg.dst_port);
                if reader.write {
                    item(b, What::Segment, &[], ends, (0, false));
                }
                streams.segment(seg, |event| match event {
                    StreamEvent::Message(m) => item(b, What::Message, m, ends, (0, false)),
                    StreamEvent::Note(note) => {
                        let i = match note {
                            StreamNote::Gap => 0,
                            StreamNote::BadLength => 1,
                            StreamNote::Cut => 2,
                        };
                        if let Some(n) = b.tally.notes.get_mut(i) {
                            *n += 1;
                        }
                    }
                });
            }
        }
        if b.is_full() {
            let full = core::mem::take(b);
            batch = ends.full.send(full).ok().and_then(|()| ends.next());
        }
    });
    if let Some(b) = batch {
        // The last batch, even empty: it carries the last counts. A
        // second stage that has gone does not need it.
        let _ = ends.full.send(b);
    }
    frames
}
