//! One-shot requests: node status (`-a`, `-A`) and name queries (`-a`'s
//! resolution, `-n`'s state at the WINS server).

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use std::io;

use tokio::net::UdpSocket;
use tokio::time::{Instant, timeout_at};

use nbns::ids::{IdSource, OsRandomIds};
use nbns::wire::{Message, Name, NetbiosName, Packet, PacketKind, RData, Rcode};

use crate::Failure;
use crate::report::TableRow;

/// Transmissions of a one-shot request; the `--timeout` is shared among
/// them.
const TRIES: u32 = 3;

/// The whole wait for a one-shot request when `--timeout` is not given (3
/// tries of 1.5 s, as Windows' nbtstat waits).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_millis(4500);

/// A node status answer: the name table and the unit ID (MAC address).
pub(crate) type NameTable = (Vec<TableRow>, Option<[u8; 6]>);

/// A socket for one-shot requests, with transaction IDs from the operating
/// system's random number generator.
pub(crate) struct Asker {
    pub(crate) sock: UdpSocket,
    ids: OsRandomIds,
    buf: Vec<u8>,
    /// The wait after each transmission.
    retry: Duration,
}

impl Asker {
    /// An asker that waits `timeout` in all for each request.
    pub(crate) fn new(sock: UdpSocket, timeout: Duration) -> Self {
        Self {
            sock,
            ids: OsRandomIds::new(),
            buf: vec![0; 2048],
            retry: (timeout / TRIES).max(Duration::from_millis(100)),
        }
    }

    pub(crate) fn local_ip(&self) -> Ipv4Addr {
        match self.sock.local_addr() {
            Ok(SocketAddr::V4(a)) => *a.ip(),
            _ => Ipv4Addr::UNSPECIFIED,
        }
    }

    /// Sends `build(id, name)` to `to` up to [`TRIES`] times and calls
    /// `accept` on every response that comes from exactly `to` (address and
    /// port), carries the request's ID and answers for `name` (name and
    /// scope), as the name client checks its answers, until it returns
    /// `Some`. `None` when nothing acceptable came.
    async fn ask<T>(
        &mut self,
        to: SocketAddrV4,
        name: Name<'static>,
        build: impl Fn(u16, Name<'static>) -> Message<'static>,
        mut accept: impl FnMut(&Packet<'_>) -> Option<T>,
    ) -> Result<Option<T>, Failure> {
        let id = self.ids.next_id();
        let packet = build(id, name);
        let mut bytes = Vec::with_capacity(packet.buffer_len());
        packet
            .emit_buf(&mut bytes)
            .map_err(|e| Failure::Error(format!("cannot encode the request: {e}")))?;
        for _ in 0..TRIES {
            self.sock
                .send_to(&bytes, to)
                .await
                .map_err(|e| Failure::Error(format!("send to {to} failed: {e}")))?;
            let deadline = Instant::now() + self.retry;
            loop {
                let Ok(received) = timeout_at(deadline, self.sock.recv_from(&mut self.buf)).await
                else {
                    break;
                };
                match received {
                    Ok((n, SocketAddr::V4(from))) if from == to => {
                        let Ok(p) = Packet::parse(self.buf.get(..n).unwrap_or_default()) else {
                            continue;
                        };
                        if p.id != id || !p.is_response() {
                            continue;
                        }
                        if p.answer().map(|a| a.name) != Some(name) {
                            continue;
                        }
                        if let Some(v) = accept(&p) {
                            return Ok(Some(v));
                        }
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                        return Err(Failure::Error(format!(
                            "{to} is unreachable (ICMP port unreachable)"
                        )));
                    }
                    Err(e) => return Err(Failure::Error(format!("receive failed: {e}"))),
                }
            }
        }
        Ok(None)
    }

    /// Node status of `to`: its name table and MAC address.
    pub(crate) async fn node_status(
        &mut self,
        to: SocketAddrV4,
    ) -> Result<Option<NameTable>, Failure> {
        self.ask(
            to,
            Name::unscoped(NetbiosName::wildcard()),
            Message::node_status_request,
            |p| {
                if p.kind() != PacketKind::NodeStatusResponse {
                    return None;
                }
                let Some(RData::NodeStatus(status)) = p.answer().map(|a| a.rdata) else {
                    return None;
                };
                let rows = status
                    .names
                    .iter()
                    .map(|n| TableRow::from_node_name(n.name, n.flags))
                    .collect();
                Some((rows, status.statistics.unit_id()))
            },
        )
        .await
    }

    /// Queries `name` at a WINS server: `Ok(Some(Ok(addresses)))` for a
    /// positive answer, `Ok(Some(Err(rcode)))` for a negative one.
    pub(crate) async fn query(
        &mut self,
        server: SocketAddrV4,
        name: NetbiosName,
    ) -> Result<Option<Result<Vec<Ipv4Addr>, Rcode>>, Failure> {
        self.ask(
            server,
            Name::unscoped(name),
            |id, name| Message::name_query_request(id, name, false),
            |p| match p.kind() {
                PacketKind::PositiveNameQueryResponse => {
                    let addrs = p
                        .answer()
                        .as_ref()
                        .and_then(|a| a.nb())
                        .map(|nb| nb.iter().map(|e| e.address).collect())
                        .unwrap_or_default();
                    Some(Ok(addrs))
                }
                PacketKind::NegativeNameQueryResponse => Some(Err(p.rcode())),
                // A WACK or anything else: keep waiting.
                _ => None,
            },
        )
        .await
    }
}
