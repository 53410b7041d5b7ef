//! TCP streams of WINS replication, put back in order and cut into
//! messages with the crate's [`Framer`].
//!
//! Each direction of a connection is a stream of its own. Segments are
//! taken in sequence order; a retransmitted or overlapping one gives only
//! its new bytes; a few segments that arrive early wait for the gap to
//! fill, and when it does not fill the stream starts again after the gap
//! (the message it cut is reported as lost). A stream seen without its SYN
//! starts at its first segment.
//!
//! Memory is bounded: at most [`MAX_STREAMS`] streams (the least recently
//! seen one is dropped for a new one), each holding at most
//! [`MAX_EARLY_SEGMENTS`] early segments and one message of at most the
//! framer's limit.
#![allow(dead_code)]

use core::net::IpAddr;

use nbns::winsrepl::{Framer, MAX_MESSAGE_LEN};

use crate::decode::Segment;

/// Streams followed at once.
pub(crate) const MAX_STREAMS: usize = 1024;
/// Segments held per stream while a gap before them is open.
pub(crate) const MAX_EARLY_SEGMENTS: usize = 8;
/// Largest message accepted: the crate's limit (replies of many records
/// are large).
pub(crate) const MAX_MESSAGE: usize = MAX_MESSAGE_LEN;

type StreamKey = (IpAddr, u16, IpAddr, u16);

/// One direction of a connection.
struct Stream {
    key: StreamKey,
    /// The sequence number of the next byte expected.
    next: Option<u32>,
    framer: Framer,
    early: Vec<(u32, Vec<u8>)>,
    last_seen: u64,
}

impl Stream {
    fn new(key: StreamKey, last_seen: u64) -> Self {
        Self {
            key,
            next: None,
            framer: Framer::with_limit(MAX_MESSAGE),
            early: Vec::new(),
            last_seen,
        }
    }
}

/// What a segment gave: whole messages, and notes on what went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamEvent<'a> {
    /// A whole message, Packet Length included.
    Message(&'a [u8]),
    /// Something went wrong.
    Note(StreamNote),
}

/// What went wrong in a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamNote {
    /// A gap that did not fill: the message in progress was lost.
    Gap,
    /// A length field above [`MAX_MESSAGE`]: the stream is not replication
    /// (or is damaged); it is dropped.
    BadLength,
    /// The connection ended in the middle of a message.
    Cut,
}

/// Every stream of the capture.
#[derive(Default)]
pub(crate) struct Streams {
    streams: Vec<Stream>,
    tick: u64,
}

/// Whether sequence number `a` comes before `b` (RFC 9293 §3.4).
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl Streams {
    /// Streams followed now.
    pub(crate) fn len(&self) -> usize {
        self.streams.len()
    }

    /// Takes a segment; calls `on` for each whole message it completes and
    /// for what went wrong.
    pub(crate) fn segment(&mut self, seg: &Segment<'_>, mut on: impl FnMut(StreamEvent<'_>)) {
        self.tick += 1;
        let key = (seg.src, seg.src_port, seg.dst, seg.dst_port);
        if seg.rst {
            self.streams.retain(|s| s.key != key);
            return;
        }
        let index = match self.streams.iter().position(|s| s.key == key) {
            Some(i) => i,
            None => {
                if self.streams.len() >= MAX_STREAMS
                    && let Some(oldest) = (0..self.streams.len())
                        .min_by_key(|&i| self.streams.get(i).map_or(0, |s| s.last_seen))
                {
                    self.streams.swap_remove(oldest);
                }
                self.streams.push(Stream::new(key, self.tick));
                self.streams.len() - 1
            }
        };
        let Some(stream) = self.streams.get_mut(index) else {
            return;
        };
        stream.last_seen = self.tick;
        let mut seq = seg.seq;
        if seg.syn {
            // The stream starts after the SYN's sequence number.
            *stream = Stream::new(key, self.tick);
            seq = seq.wrapping_add(1);
            stream.next = Some(seq);
        }
        let next = *stream.next.get_or_insert(seq);
        let mut dropped = false;
        if before(next, seq) {
            // Early: hold it for the gap to fill, or give up on the gap.
            if stream.early.len() < MAX_EARLY_SEGMENTS {
                stream.early.push((seq, seg.payload.to_vec()));
            } else {
                on(StreamEvent::Note(StreamNote::Gap));
                stream.framer = Framer::with_limit(MAX_MESSAGE);
                stream.early.clear();
                stream.next = Some(seq);
                dropped = !feed(stream, seq, seg.payload, &mut on);
            }
        } else {
            dropped = !feed(stream, seq, seg.payload, &mut on);
        }
        // Early segments that now fit.
        while !dropped {
            let Some(next) = self.streams.get(index).and_then(|s| s.next) else {
                break;
            };
            let Some(stream) = self.streams.get_mut(index) else {
                break;
            };
            let Some(pos) = stream.early.iter().position(|(s, _)| !before(next, *s)) else {
                break;
            };
            let (s, bytes) = stream.early.swap_remove(pos);
            dropped = !feed(stream, s, &bytes, &mut on);
        }
        if dropped {
            self.streams.retain(|s| s.key != key);
            return;
        }
        if seg.fin
            && let Some(stream) = self.streams.get(index)
        {
            if !stream.framer.is_at_boundary() {
                on(StreamEvent::Note(StreamNote::Cut));
            }
            self.streams.swap_remove(index);
        }
    }
}

/// Feeds the new bytes of a segment at `seq` (skipping what the stream
/// already had); false when the stream must be dropped.
fn feed(
    stream: &mut Stream,
    seq: u32,
    payload: &[u8],
    on: &mut impl FnMut(StreamEvent<'_>),
) -> bool {
    let next = stream.next.unwrap_or(seq);
    let skip = next.wrapping_sub(seq) as usize;
    let Some(new) = payload.get(skip..) else {
        return true; // all of it seen before
    };
    stream.next = Some(next.wrapping_add(new.len() as u32));
    if stream
        .framer
        .feed_all(new, |m| on(StreamEvent::Message(m)))
        .is_ok()
    {
        return true;
    }
    on(StreamEvent::Note(StreamNote::BadLength));
    false
}
