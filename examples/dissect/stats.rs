//! `--stats`: counts by packet kind, opcode and rcode, per file, the names
//! asked about most and the busiest senders, frames skipped and why, and
//! requests paired with their responses (by transaction ID and the
//! requester's address and port) with response times.
//!
//! Memory is bounded whatever the capture holds: at most [`MAX_TRACKED`]
//! distinct names, senders and unanswered requests are kept (more are
//! counted as untracked), and at most [`MAX_SAMPLES`] response times.
//! The tables are keyed by bytes from the capture, so they use a hasher
//! keyed at random for each run (foldhash's `RandomState`: fast, and an
//! attacker who writes the capture cannot pick colliding keys). Names and
//! senders are [`Counter`]s: each distinct one stored once, with a small
//! cache in front for the ones seen again. Each key is fed to the hasher
//! as one word, foldhash's cheapest path: 128 bits for a name or an
//! address, 64 for an IPv4 request (address, ID, port), 128 and 32 for an
//! IPv6 one. The words are a one-to-one image of the key, but for an IPv4
//! address and its IPv4-mapped IPv6 form, which share a word (and so a
//! hash, never a count).
#![allow(dead_code)]

use core::fmt::Write as _;
use core::hash::{Hash, Hasher};
use core::net::IpAddr;
use std::collections::HashMap;

use foldhash::fast::RandomState;
use std::io::{self, Write};

use nbns::winsrepl::{Message, ParseError as WreplError};
use nbns::wire::{NetbiosName, Opcode, Packet, PacketKind, ParseError, Rcode};

use crate::counter::{Counter, Key};
use crate::decode::{Datagram, Skip};
use crate::filter::{KINDS, kind_index};
use crate::render::json_str;
use crate::tcp::StreamNote;
use crate::wrepl;

/// Distinct names, senders or open requests kept at the most.
pub(crate) const MAX_TRACKED: usize = 100_000;
/// Response times kept at the most.
pub(crate) const MAX_SAMPLES: usize = 1_000_000;
/// How many names and senders the report lists.
const TOP: usize = 10;

/// A name as a table key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct NameKey(NetbiosName);

impl Hash for NameKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u128(self.word());
    }
}

impl Key for NameKey {
    #[inline(always)]
    fn word(&self) -> u128 {
        u128::from_le_bytes(*self.0.as_bytes())
    }
}

/// The 128-bit word of an address: IPv6 as it is, IPv4 mapped.
#[inline]
fn addr_word(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().to_bits(),
        IpAddr::V6(v6) => v6.to_bits(),
    }
}

/// An address as a table key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct AddrKey(IpAddr);

impl Hash for AddrKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u128(addr_word(self.0));
    }
}

impl Key for AddrKey {
    #[inline(always)]
    fn word(&self) -> u128 {
        addr_word(self.0)
    }
}

/// A request waiting for its response: transaction ID, requester, port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PairKey {
    id: u16,
    addr: IpAddr,
    port: u16,
}

impl Hash for PairKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u128(addr_word(self.addr));
        state.write_u32(u32::from(self.id) << 16 | u32::from(self.port));
    }
}

impl PairKey {
    /// The key of a request from an IPv4 requester as one word.
    #[inline(always)]
    fn v4_word(&self) -> Option<u64> {
        match self.addr {
            IpAddr::V4(a) => {
                Some(u64::from(a.to_bits()) << 32 | u64::from(self.id) << 16 | u64::from(self.port))
            }
            IpAddr::V6(_) => None,
        }
    }
}

/// Totals of one file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileTotals {
    /// The file's name as given.
    pub(crate) name: String,
    /// Frames read.
    pub(crate) frames: u64,
    /// NBNS datagrams found.
    pub(crate) datagrams: u64,
}

/// Counts for `--stats`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    /// Frames read.
    pub(crate) frames: u64,
    /// NBNS datagrams found (and selected).
    pub(crate) datagrams: u64,
    /// Datagrams the parser refused.
    pub(crate) malformed: u64,
    /// Datagrams the capture cut short.
    pub(crate) cut: u64,
    /// Datagrams put back together from IP fragments.
    pub(crate) reassembled: u64,
    /// Datagrams the selection options left out.
    pub(crate) filtered: u64,
    /// Frames with no NBNS datagram, by reason (indexed as `Skip::ALL`).
    pub(crate) skipped: [u64; 8],
    /// Per kind, indexed as `KINDS`.
    pub(crate) kinds: [u64; 19],
    /// Per opcode value.
    pub(crate) opcodes: [u64; 16],
    /// Per rcode value, responses only.
    pub(crate) rcodes: [u64; 16],
    /// Per file, in the order read.
    pub(crate) files: Vec<FileTotals>,
    names: Counter<NameKey>,
    talkers: Counter<AddrKey>,
    /// Requests waiting for a response from IPv4 requesters, by
    /// [`PairKey::v4_word`], and from IPv6 ones; sent time.
    open4: HashMap<u64, i128, RandomState>,
    open6: HashMap<PairKey, i128, RandomState>,
    requests_untracked: u64,
    /// Requests left without a response in the files already ended.
    unanswered_before: u64,
    /// Requests that got a response.
    pub(crate) answered: u64,
    /// Responses that matched no request seen.
    pub(crate) unmatched_responses: u64,
    response_ns: Vec<i128>,
    /// TCP segments of WINS replication read.
    pub(crate) segments: u64,
    /// Replication messages by what they are (`wrepl::kind`), in the order
    /// first seen.
    pub(crate) winsrepl: Vec<(&'static str, u64)>,
    /// Replication messages that did not parse.
    pub(crate) winsrepl_malformed: u64,
    /// Stream troubles: gaps, bad lengths, cut messages.
    pub(crate) stream_notes: [u64; 3],
}

impl Stats {
    /// Starts the totals of a file.
    pub(crate) fn start_file(&mut self, name: &str) {
        self.files.push(FileTotals {
            name: name.to_owned(),
            ..FileTotals::default()
        });
    }

    /// Ends the file started last, which had `frames` frames. Requests are
    /// paired with responses within a file only.
    pub(crate) fn end_file(&mut self, frames: u64) {
        self.frames += frames;
        self.unanswered_before += self.open_len() as u64;
        self.open4.clear();
        self.open6.clear();
        if let Some(f) = self.files.last_mut() {
            f.frames = frames;
        }
    }

    /// Counts one replication message.
    pub(crate) fn winsrepl(&mut self, parsed: &Result<Message<'_>, WreplError>) {
        let Ok(m) = parsed else {
            self.winsrepl_malformed += 1;
            return;
        };
        let kind = wrepl::kind(m);
        match self.winsrepl.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.winsrepl.push((kind, 1)),
        }
    }

    /// Counts a stream trouble.
    pub(crate) fn stream_note(&mut self, note: StreamNote) {
        let i = match note {
            StreamNote::Gap => 0,
            StreamNote::BadLength => 1,
            StreamNote::Cut => 2,
        };
        self.stream_notes[i] += 1;
    }

    /// Counts a frame that gave no datagram.
    pub(crate) fn skip(&mut self, why: Skip) {
        if let Some(i) = Skip::ALL.iter().position(|&s| s == why) {
            self.skipped[i] += 1;
        }
    }

    /// Counts one datagram captured at `time_ns`.
    #[inline]
    pub(crate) fn count(
        &mut self,
        d: &Datagram<'_>,
        parsed: &Result<Packet<'_>, ParseError>,
        time_ns: i128,
    ) {
        self.datagrams += 1;
        self.cut += u64::from(d.is_cut());
        self.reassembled += u64::from(d.reassembled);
        if let Some(f) = self.files.last_mut() {
            f.datagrams += 1;
        }
        self.talkers.bump(AddrKey(d.src));
        let Ok(p) = parsed else {
            self.malformed += 1;
            return;
        };
        self.kinds[kind_index(p.kind())] += 1;
        self.opcodes[usize::from(u8::from(p.opcode()))] += 1;
        // The name a packet is about: its question's, or (responses) its
        // first record's.
        let name = p
            .question()
            .map(|q| q.name.netbios)
            .or_else(|| p.answer().map(|rr| rr.name.netbios));
        if let Some(name) = name {
            self.names.bump(NameKey(name));
        }
        if p.is_response() {
            self.rcodes[usize::from(u8::from(p.rcode()))] += 1;
            // A WACK says "wait": the final response is still to come.
            if p.opcode() == Opcode::Wack {
                return;
            }
            let key = PairKey {
                id: p.id,
                addr: d.dst,
                port: d.dst_port,
            };
            match self.open_remove(&key) {
                Some(sent) => {
                    self.answered += 1;
                    if self.response_ns.len() < MAX_SAMPLES {
                        self.response_ns.push(time_ns - sent);
                    }
                }
                None => self.unmatched_responses += 1,
            }
        } else if self.open_len() < MAX_TRACKED {
            let key = PairKey {
                id: p.id,
                addr: d.src,
                port: d.src_port,
            };
            match key.v4_word() {
                Some(w) => self.open4.insert(w, time_ns),
                None => self.open6.insert(key, time_ns),
            };
        } else {
            self.requests_untracked += 1;
        }
    }

    /// Requests waiting for a response.
    #[inline(always)]
    fn open_len(&self) -> usize {
        self.open4.len() + self.open6.len()
    }

    /// Takes the request `key` waits for, if any: its sent time.
    #[inline(always)]
    fn open_remove(&mut self, key: &PairKey) -> Option<i128> {
        match key.v4_word() {
            Some(w) => self.open4.remove(&w),
            None => self.open6.remove(key),
        }
    }

    /// The count for one kind.
    pub(crate) fn kind(&self, k: PacketKind) -> u64 {
        self.kinds[kind_index(k)]
    }

    /// Requests still without a response.
    pub(crate) fn unanswered(&self) -> u64 {
        self.unanswered_before + self.open_len() as u64 + self.requests_untracked
    }

    /// Median and largest response time in microseconds.
    pub(crate) fn response_times_us(&self) -> Option<(f64, f64)> {
        let mut v = self.response_ns.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let median = v[v.len() / 2] as f64 / 1e3;
        let max = v[v.len() - 1] as f64 / 1e3;
        Some((median, max))
    }

    /// The names seen most, most first.
    pub(crate) fn top_names(&self) -> Vec<(NetbiosName, u64)> {
        top(self.names.counts())
            .into_iter()
            .map(|(k, n)| (k.0, n))
            .collect()
    }

    /// The senders of the most datagrams, most first.
    pub(crate) fn top_talkers(&self) -> Vec<(IpAddr, u64)> {
        top(self.talkers.counts())
            .into_iter()
            .map(|(k, n)| (k.0, n))
            .collect()
    }

    /// Writes the counts as text.
    ///
    /// # Errors
    /// Write errors of `out`.
    pub(crate) fn write(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "NBNS datagrams: {} ({} parsed, {} malformed, {} cut by the capture, {} reassembled) in {} frames",
            self.datagrams,
            self.datagrams - self.malformed,
            self.malformed,
            self.cut,
            self.reassembled,
            self.frames
        )?;
        if self.filtered > 0 {
            writeln!(out, "Left out by the selection: {}", self.filtered)?;
        }
        if self.files.len() > 1 {
            writeln!(out, "By file:")?;
            for f in &self.files {
                writeln!(
                    out,
                    "  {:<42} {:>10} datagrams in {} frames",
                    f.name, f.datagrams, f.frames
                )?;
            }
        }
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
        writeln!(out, "Top names:")?;
        for (name, n) in self.top_names() {
            writeln!(out, "  {:<42} {n:>10}", name.to_string())?;
        }
        writeln!(out, "Top senders:")?;
        for (addr, n) in self.top_talkers() {
            writeln!(out, "  {:<42} {n:>10}", addr.to_string())?;
        }
        write!(
            out,
            "Requests answered: {}, unanswered: {}, responses without a request: {}",
            self.answered,
            self.unanswered(),
            self.unmatched_responses
        )?;
        match self.response_times_us() {
            Some((median, max)) => writeln!(
                out,
                "; response time median {median:.0} µs, max {max:.0} µs"
            )?,
            None => writeln!(out)?,
        }
        if self.segments > 0 {
            let messages: u64 = self.winsrepl.iter().map(|(_, n)| n).sum();
            writeln!(
                out,
                "WINS replication: {messages} messages ({} malformed) in {} TCP segments; {} gaps, {} bad lengths, {} cut",
                self.winsrepl_malformed,
                self.segments,
                self.stream_notes[0],
                self.stream_notes[1],
                self.stream_notes[2]
            )?;
            for (k, n) in &self.winsrepl {
                writeln!(out, "  {k:<42} {n:>10}")?;
            }
        }
        if self.skipped.iter().any(|&n| n > 0) {
            writeln!(out, "Frames without NBNS:")?;
            for (s, &n) in Skip::ALL.iter().zip(&self.skipped) {
                if n > 0 {
                    writeln!(out, "  {:<42} {n:>10}", s.description())?;
                }
            }
        }
        Ok(())
    }

    /// Writes the counts as one JSON object and a newline.
    ///
    /// # Errors
    /// Write errors of `out`.
    pub(crate) fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        let mut s = String::new();
        let _ = write!(
            s,
            "{{\"frames\":{},\"datagrams\":{},\"malformed\":{},\"cut\":{},\"reassembled\":{},\"filtered\":{}",
            self.frames, self.datagrams, self.malformed, self.cut, self.reassembled, self.filtered
        );
        s.push_str(",\"files\":[");
        for (i, f) in self.files.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str("{\"file\":");
            json_str(&mut s, &f.name);
            let _ = write!(
                s,
                ",\"frames\":{},\"datagrams\":{}}}",
                f.frames, f.datagrams
            );
        }
        s.push_str("],\"kinds\":{");
        let mut first = true;
        for (k, &n) in KINDS.iter().zip(&self.kinds) {
            if n > 0 {
                if !first {
                    s.push(',');
                }
                first = false;
                json_str(&mut s, k.description());
                let _ = write!(s, ":{n}");
            }
        }
        for (key, table) in [("opcodes", &self.opcodes), ("rcodes", &self.rcodes)] {
            let _ = write!(s, "}},\"{key}\":{{");
            let mut first = true;
            for (v, &n) in table.iter().enumerate() {
                if n > 0 {
                    if !first {
                        s.push(',');
                    }
                    first = false;
                    let _ = write!(s, "\"{v}\":{n}");
                }
            }
        }
        s.push_str("},\"top_names\":[");
        for (i, (name, n)) in self.top_names().into_iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str("{\"name\":");
            json_str(&mut s, &name.to_string());
            let _ = write!(s, ",\"count\":{n}}}");
        }
        s.push_str("],\"top_senders\":[");
        for (i, (addr, n)) in self.top_talkers().into_iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{{\"addr\":\"{addr}\",\"count\":{n}}}");
        }
        let _ = write!(
            s,
            "],\"answered\":{},\"unanswered\":{},\"unmatched_responses\":{}",
            self.answered,
            self.unanswered(),
            self.unmatched_responses
        );
        if let Some((median, max)) = self.response_times_us() {
            let _ = write!(
                s,
                ",\"response_time_median_us\":{median:.1},\"response_time_max_us\":{max:.1}"
            );
        }
        let _ = write!(
            s,
            ",\"winsrepl\":{{\"segments\":{},\"malformed\":{},\"gaps\":{},\"bad_lengths\":{},\"cut\":{},\"messages\":{{",
            self.segments,
            self.winsrepl_malformed,
            self.stream_notes[0],
            self.stream_notes[1],
            self.stream_notes[2]
        );
        for (i, (k, n)) in self.winsrepl.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            json_str(&mut s, k);
            let _ = write!(s, ":{n}");
        }
        s.push_str("}}");
        s.push_str(",\"skipped\":{");
        for (i, (why, &n)) in Skip::ALL.iter().zip(&self.skipped).enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "\"{}\":{n}", why.key());
        }
        s.push_str("}}\n");
        out.write_all(s.as_bytes())
    }
}

/// The [`TOP`] largest counts, largest first (ties in key order).
fn top<K: Copy + Ord>(counts: &[(K, u64)]) -> Vec<(K, u64)> {
    let mut v = counts.to_vec();
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(TOP);
    v
}
