//! Name queries through the crate's sans-IO [`Resolver`] on a UDP socket:
//! to the WINS servers (with RD) and/or by broadcast on the local subnet,
//! as the node type says, with the resolver's cache and statistics
//! (`-c`, `-r`, `-R` of a holding node).

use core::net::{Ipv4Addr, SocketAddr};
use core::time::Duration;
use std::time::Instant;

use nbns::node_type::{Method, NodeType};
use nbns::resolver::{QueryError, Resolver, ResolverConfig, ResolverEvent, Subnet};
use nbns::wire::{Name, NetbiosName};
use tokio::net::UdpSocket;
use tokio::time::sleep_until;

use crate::Failure;
use crate::args::Args;
use crate::report::{CacheRow, Reporter, ResolutionStats};

/// The resolver's configuration for `args`: `--node-type`, else a B-node
/// without WINS servers, an H-node (WINS, then broadcast while every WINS
/// server is silent) with WINS servers and `--subnet`, a P-node (WINS only)
/// with WINS servers alone. The subnet is `--subnet`, else, for a type
/// that broadcasts, that of the interface holding `--addr` or of the first
/// interface that is up, is not loopback and has an IPv4 broadcast address
/// (read from the interface list: nothing is sent). `--timeout` is shared
/// among the 3 sends to each server, and among the 3 broadcasts.
pub(crate) fn config(args: &Args) -> Result<ResolverConfig, Failure> {
    let node_type = args
        .node_type
        .unwrap_or(match (args.wins.is_empty(), args.subnet) {
            (true, _) => NodeType::B,
            (false, Some(_)) => NodeType::H,
            (false, None) => NodeType::P,
        });
    let broadcasts = node_type.methods().contains(&Method::Broadcast);
    let subnet = args
        .subnet
        .or_else(|| broadcasts.then(|| interface_subnet(args.addr))?);
    let usable = match node_type {
        NodeType::B => subnet.is_some(),
        NodeType::P => !args.wins.is_empty(),
        _ => subnet.is_some() || !args.wins.is_empty(),
    };
    if !usable {
        return Err(Failure::Usage(
            "nothing to resolve names with: give --wins HOST[:PORT] or --subnet ADDR/LEN (no \
             WINS server is configured, and no interface to broadcast on was found)"
                .to_owned(),
        ));
    }
    let mut config = ResolverConfig::new(node_type, args.wins.iter().copied(), subnet);
    if let Some(t) = args.timeout {
        config.unicast_retry_timeout = (t / 3).max(Duration::from_millis(100));
        config.broadcast_retry_timeout = (t / 3).max(Duration::from_millis(100));
    } else {
        config.unicast_retry_timeout = crate::status::DEFAULT_TIMEOUT / 3;
    }
    Ok(config)
}

/// The subnet the configuration broadcasts on, if its type broadcasts.
pub(crate) fn broadcast_subnet(config: &ResolverConfig) -> Option<Subnet> {
    config
        .subnet
        .filter(|_| config.node_type.methods().contains(&Method::Broadcast))
}

fn interface_subnet(addr: Option<Ipv4Addr>) -> Option<Subnet> {
    use nix::net::if_::InterfaceFlags;
    let v4 = |a: Option<&nix::sys::socket::SockaddrStorage>| {
        a.and_then(|a| a.as_sockaddr_in()).map(|a| a.ip())
    };
    nix::ifaddrs::getifaddrs()
        .ok()?
        .filter(|i| i.flags.contains(InterfaceFlags::IFF_UP))
        .filter_map(|i| {
            let ip = v4(i.address.as_ref())?;
            let mask = v4(i.netmask.as_ref())?;
            let wanted = match addr {
                Some(a) => a == ip,
                None => {
                    !i.flags.contains(InterfaceFlags::IFF_LOOPBACK)
                        && i.flags.contains(InterfaceFlags::IFF_BROADCAST)
                }
            };
            #[allow(clippy::cast_possible_truncation)]
            wanted.then(|| Subnet::new(ip, u32::from(mask).count_ones() as u8))
        })
        .next()
}

/// A [`Resolver`] on its own UDP socket (broadcasts allowed).
pub(crate) struct Resolving {
    resolver: Resolver,
    sock: UdpSocket,
    out: Reporter,
    buf: Vec<u8>,
}

impl Resolving {
    pub(crate) fn new(
        sock: UdpSocket,
        config: ResolverConfig,
        out: Reporter,
    ) -> Result<Self, Failure> {
        if config.subnet.is_some() {
            sock.set_broadcast(true)
                .map_err(|e| Failure::Error(format!("cannot allow broadcasts: {e}")))?;
        }
        Ok(Self {
            resolver: Resolver::with_os_ids(config),
            sock,
            out,
            buf: vec![0; 2048],
        })
    }

    /// The cache, as `-c` lists it, by name.
    pub(crate) fn cache_rows(&self) -> Vec<CacheRow> {
        let mut rows: Vec<CacheRow> = self
            .resolver
            .cache(Instant::now())
            .flat_map(|c| {
                c.addresses.iter().map(move |a| CacheRow {
                    name: c.name.netbios,
                    group: c.group,
                    address: a.address,
                    life_secs: c.remaining.as_secs(),
                    via: c.via.to_string(),
                })
            })
            .collect();
        rows.sort_by_key(|r| (*r.name.as_bytes(), r.address));
        rows
    }

    /// `-r`'s figures; the registrations are the holding node's.
    pub(crate) fn stats(
        &self,
        registered_by_broadcast: usize,
        registered_by_name_server: usize,
    ) -> ResolutionStats {
        let s = self.resolver.stats();
        ResolutionStats {
            by_broadcast: s.resolved_by_broadcast,
            by_name_server: s.resolved_by_name_server,
            registered_by_broadcast,
            registered_by_name_server,
            broadcast_names: self
                .resolver
                .resolved_by_broadcast()
                .map(|n| n.netbios)
                .collect(),
        }
    }

    /// `-R`: empties the cache.
    pub(crate) fn purge(&mut self) {
        self.resolver.purge_cache();
    }

    /// Resolves `name`: runs the resolver until the query's outcome
    /// (`Resolved`, `NotFound` or `NoAnswer`). Conflicts it notices on the
    /// way are noted.
    pub(crate) async fn resolve(&mut self, name: NetbiosName) -> Result<ResolverEvent, Failure> {
        let query = self
            .resolver
            .query(Instant::now(), Name::unscoped(name))
            .map_err(|e: QueryError| Failure::Error(e.to_string()))?;
        loop {
            while let Some(t) = self.resolver.poll_transmit() {
                if let Err(e) = self.sock.send_to(&t.contents, t.destination).await {
                    self.out
                        .note(&format!("send to {} failed: {e}", t.destination));
                }
            }
            while let Some(ev) = self.resolver.poll_event() {
                match ev {
                    ResolverEvent::Conflict { .. } => self.out.note(&ev.to_string()),
                    ev if ev.query() == query => return Ok(ev),
                    _ => {}
                }
            }
            let deadline = self.resolver.poll_timeout();
            tokio::select! {
                r = self.sock.recv_from(&mut self.buf) => match r {
                    Ok((n, SocketAddr::V4(from))) => {
                        let data = self.buf.get(..n).unwrap_or_default();
                        self.resolver.handle_datagram(Instant::now(), from, data);
                    }
                    Ok(_) => {}
                    // ICMP reports of earlier datagrams: the retries go on.
                    Err(e) if is_transient(&e) => {}
                    Err(e) => return Err(Failure::Error(format!("receive failed: {e}"))),
                },
                () = sleep_until(deadline.map_or_else(tokio::time::Instant::now, Into::into)),
                    if deadline.is_some() => self.resolver.handle_timeout(Instant::now()),
            }
        }
    }
}

/// A receive error that reports an ICMP error for an earlier datagram, not
/// a broken socket.
fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{
        ConnectionRefused, ConnectionReset, HostUnreachable, Interrupted, NetworkUnreachable,
        WouldBlock,
    };
    matches!(
        e.kind(),
        ConnectionRefused
            | ConnectionReset
            | HostUnreachable
            | NetworkUnreachable
            | Interrupted
            | WouldBlock
    )
}
