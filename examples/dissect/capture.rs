//! Reading capture files: pcap and pcapng containers (via `pcap-parser`),
//! plain or gzip-compressed, frame by frame. What is inside a frame is
//! `decode.rs`'s job.
//!
//! Streams: a capture is read through a fixed buffer that grows only to
//! hold the largest single record, so memory does not depend on file size.
//! Classic pcap files, nearly every capture that is large, are cut into
//! records here, straight from that buffer (a record header is four
//! words); pcapng and the rare "modified" pcap go through `pcap-parser`'s
//! reader.
//!
//! Shared with `tests/dissect.rs`, which uses a different subset.
#![allow(dead_code)]

use core::fmt;
use std::io::{Cursor, Read};

use flate2::read::MultiGzDecoder;

use pcap_parser::pcap::parse_pcap_header;
use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError, PcapHeader, create_reader};

/// Size of the read buffer; grown on demand for larger records.
const BUFFER: usize = 1 << 20;
/// Largest record accepted (pcapng blocks are at most this big in practice).
const MAX_RECORD: usize = 1 << 26;

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    /// 1-based frame number within the file.
    pub(crate) number: u64,
    /// Capture time in nanoseconds since the Unix epoch.
    pub(crate) time_ns: i128,
    /// The link type (LINKTYPE_* value).
    pub(crate) linktype: i32,
    /// The captured bytes (possibly cut short by the snap length).
    pub(crate) data: &'a [u8],
    /// The frame's length on the wire.
    pub(crate) orig_len: u32,
}

/// Why a capture could not be read.
#[derive(Debug)]
pub(crate) enum CaptureError {
    /// The input is empty.
    Empty,
    /// Neither a pcap nor a pcapng file.
    UnknownFormat,
    /// The file ends inside a record (after `frames` complete frames).
    TruncatedFile {
        /// Frames read before the cut.
        frames: u64,
    },
    /// A record is malformed (after `frames` complete frames).
    Damaged {
        /// Frames read before the damage.
        frames: u64,
        /// What the container parser said.
        detail: String,
    },
    /// Reading failed.
    Io(String),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty input: not a capture file"),
            Self::UnknownFormat => {
                f.write_str("not a capture file: neither pcap nor pcapng header found")
            }
            Self::TruncatedFile { frames } => write!(
                f,
                "capture file ends in the middle of a record (after frame {frames})"
            ),
            Self::Damaged { frames, detail } => {
                write!(f, "capture file is damaged after frame {frames}: {detail}")
            }
            Self::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

impl core::error::Error for CaptureError {}

/// Per-interface facts of a pcapng section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: i32,
    /// Timestamp units per second.
    units_per_sec: u64,
    offset_sec: i64,
}

/// Reads every frame of a pcap or pcapng stream, plain or gzip-compressed
/// (`.pcap.gz`, `.pcapng.gz`), and hands it to `on_frame`.
/// Returns the number of frames.
///
/// # Errors
/// A [`CaptureError`] for input that is not a capture, or that is damaged or
/// cut inside a record; frames before the problem have been handed over.
pub(crate) fn read_frames<R: Read + Send>(
    mut input: R,
    on_frame: impl FnMut(&Frame<'_>),
) -> Result<u64, CaptureError> {
    let head = read_head(&mut input)?;
    if head.starts_with(&GZIP_MAGIC) {
        let mut unzipped = MultiGzDecoder::new(Cursor::new(head).chain(input));
        let head = read_head(&mut unzipped)?;
        return read_any(head, unzipped, on_frame);
    }
    read_any(head, input, on_frame)
}

/// Reads a stream whose first bytes, `head`, have been read already.
fn read_any<R: Read + Send>(
    head: Vec<u8>,
    rest: R,
    on_frame: impl FnMut(&Frame<'_>),
) -> Result<u64, CaptureError> {
    match parse_pcap_header(&head) {
        Ok((_, header)) if !header.is_modified_format() => {
            read_classic(&header, Chunks::new(head, rest), on_frame)
        }
        _ => read_container(Cursor::new(head).chain(rest), on_frame),
    }
}

/// A read buffer over a stream: the bytes read and not yet consumed.
pub(crate) struct Chunks<R> {
    input: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    exhausted: bool,
}

impl<R: Read> Chunks<R> {
    /// A buffer holding `head`, the stream's first bytes, then `input`.
    pub(crate) fn new(mut head: Vec<u8>, input: R) -> Self {
        let end = head.len();
        head.resize(BUFFER.max(end), 0);
        Self {
            input,
            buf: head,
            start: 0,
            end,
            exhausted: false,
        }
    }

    /// The buffer's size.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The bytes buffered.
    pub(crate) fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Drops the first `n` bytes buffered.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Reads until `need` bytes are buffered; false when the stream ends
    /// first. The buffer grows (doubling) only when it is full of bytes
    /// read and more are needed, so its size follows the data, never a
    /// length field.
    #[inline(always)]
    pub(crate) fn fill(&mut self, need: usize) -> Result<bool, CaptureError> {
        if self.end - self.start >= need {
            return Ok(true);
        }
        self.read_more(need)
    }

    /// [`Chunks::fill`] when the bytes buffered are not enough.
    #[cold]
    #[inline(never)]
    fn read_more(&mut self, need: usize) -> Result<bool, CaptureError> {
        while self.end - self.start < need {
            if self.exhausted {
                return Ok(false);
            }
            if self.buf.len() - self.start < need {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let space = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.input.read(space) {
                Ok(0) => self.exhausted = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CaptureError::Io(e.to_string())),
            }
        }
        Ok(true)
    }
}

/// Reads the records of a classic pcap file (its 24-byte header is the
/// first bytes of `chunks`): the 16-byte record header (seconds, micro- or
/// nanoseconds, captured length, length on the wire, in the byte order of
/// the magic number; draft-ietf-opsawg-pcap §5), then the captured bytes.
fn read_classic<R: Read>(
    header: &PcapHeader,
    chunks: Chunks<R>,
    on_frame: impl FnMut(&Frame<'_>),
) -> Result<u64, CaptureError> {
    // A loop for each byte order, so that the words of a record header are
    // read without a test of the order for each.
    if header.is_bigendian() {
        classic_records::<R, true>(header, chunks, on_frame)
    } else {
        classic_records::<R, false>(header, chunks, on_frame)
    }
}

/// [`read_classic`] in the byte order `BIG_ENDIAN`.
fn classic_records<R: Read, const BIG_ENDIAN: bool>(
    header: &PcapHeader,
    mut chunks: Chunks<R>,
    mut on_frame: impl FnMut(&Frame<'_>),
) -> Result<u64, CaptureError> {
    // Seconds of 32 bits in nanoseconds, plus a fraction of 32 bits in
    // micro- or nanoseconds, stay below 2^63: the time is worked out in 64
    // bits.
    let frac_ns: i64 = if header.is_nanosecond_precision() {
        1
    } else {
        1000
    };
    let linktype = header.network.0;
    // The four words of a record header.
    let words = |b: &[u8; 16]| -> [u32; 4] {
        let (w, _) = b.as_chunks::<4>();
        let mut out = [0u32; 4];
        for (o, w) in out.iter_mut().zip(w) {
            *o = if BIG_ENDIAN {
                u32::from_be_bytes(*w)
            } else {
                u32::from_le_bytes(*w)
            };
        }
        out
    };
    chunks.consume(header.size());
    let mut frames = 0u64;
    loop {
        if !chunks.fill(16)? {
            return if chunks.data().is_empty() {
                Ok(frames)
            } else {
                Err(CaptureError::TruncatedFile { frames })
            };
        }
        let Some(rec) = chunks.data().first_chunk::<16>() else {
            return Err(CaptureError::TruncatedFile { frames });
        };
        let [secs, frac, caplen, orig_len] = words(rec);
        let need = 16 + caplen as usize;
        if need > MAX_RECORD {
            return Err(CaptureError::Damaged {
                frames,
                detail: format!("a record is larger than {MAX_RECORD} bytes"),
            });
        }
        if !chunks.fill(need)? {
            return Err(CaptureError::TruncatedFile { frames });
        }
        let data = chunks.data().get(16..need).unwrap_or_default();
        frames += 1;
        on_frame(&Frame {
            number: frames,
            time_ns: i128::from(i64::from(secs) * 1_000_000_000 + i64::from(frac) * frac_ns),
            linktype,
            data,
            orig_len,
        });
        chunks.consume(need);
    }
}

/// The first bytes of a gzip stream (RFC 1952 §2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads enough for format detection even from a pipe that returns short
/// reads: the container reader looks at its first read only.
fn read_head(input: &mut impl Read) -> Result<Vec<u8>, CaptureError> {
    let mut head = Vec::with_capacity(256);
    input
        .take(256)
        .read_to_end(&mut head)
        .map_err(|e| CaptureError::Io(e.to_string()))?;
    if head.is_empty() {
        return Err(CaptureError::Empty);
    }
    Ok(head)
}

/// [`read_frames`] of an uncompressed stream.
fn read_container<R: Read + Send>(
    stream: R,
    mut on_frame: impl FnMut(&Frame<'_>),
) -> Result<u64, CaptureError> {
    let mut reader = match create_reader(BUFFER, stream) {
        Ok(r) => r,
        Err(PcapError::Eof) => return Err(CaptureError::Empty),
        Err(PcapError::ReadError) => return Err(CaptureError::Io("read failed".into())),
        Err(_) => return Err(CaptureError::UnknownFormat),
    };
    let mut frames = 0u64;
    let mut legacy_linktype = 1i32;
    let mut legacy_nanos = false;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut capacity = BUFFER;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                let mut emit = |time_ns: i128, linktype: i32, data: &[u8], orig_len: u32| {
                    frames += 1;
                    on_frame(&Frame {
                        number: frames,
                        time_ns,
                        linktype,
                        data,
                        orig_len,
                    });
                };
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy_linktype = h.network.0;
                        legacy_nanos = h.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let frac = i128::from(b.ts_usec) * if legacy_nanos { 1 } else { 1000 };
                        let t = i128::from(b.ts_sec) * 1_000_000_000 + frac;
                        emit(t, legacy_linktype, b.data, b.origlen);
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(Interface {
                            linktype: idb.linktype.0,
                            units_per_sec: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                            offset_sec: idb.ts_offset(),
                        });
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let ifc = interfaces.get(epb.if_id as usize).copied();
                        let (linktype, units, off) = ifc.map_or((-1, 1_000_000, 0), |i| {
                            (i.linktype, i.units_per_sec, i.offset_sec)
                        });
                        let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                        let t = i128::from(off) * 1_000_000_000
                            + i128::from(ts) * 1_000_000_000 / i128::from(units);
                        let len = (epb.caplen as usize).min(epb.data.len());
                        emit(t, linktype, &epb.data[..len], epb.origlen);
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let linktype = interfaces.first().map_or(-1, |i| i.linktype);
                        let len = (spb.origlen as usize).min(spb.data.len());
                        emit(0, linktype, &spb.data[..len], spb.origlen);
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                // Shifting the buffer is left to refill, where little is left.
                reader.consume_noshift(offset);
            }
            Err(PcapError::Eof) => return Ok(frames),
            Err(PcapError::Incomplete(_)) => {
                if reader.reader_exhausted() {
                    return Err(CaptureError::TruncatedFile { frames });
                }
                reader
                    .refill()
                    .map_err(|e| CaptureError::Io(format!("{e:?}")))?;
            }
            Err(PcapError::BufferTooSmall) => {
                if capacity >= MAX_RECORD {
                    return Err(CaptureError::Damaged {
                        frames,
                        detail: format!("a record is larger than {MAX_RECORD} bytes"),
                    });
                }
                capacity *= 2;
                if !reader.grow(capacity) {
                    return Err(CaptureError::Io("cannot grow read buffer".into()));
                }
                reader
                    .refill()
                    .map_err(|e| CaptureError::Io(format!("{e:?}")))?;
            }
            Err(PcapError::UnexpectedEof) => return Err(CaptureError::TruncatedFile { frames }),
            Err(PcapError::ReadError) => return Err(CaptureError::Io("read failed".into())),
            Err(e) => {
                return Err(CaptureError::Damaged {
                    frames,
                    detail: format!("{e:?}"),
                });
            }
        }
    }
}
