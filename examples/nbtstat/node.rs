//! The names of this host on the crate's tokio driver
//! ([`NameNode`]): binding with errors that say what to do, registering,
//! adopting and re-registering names while their events are printed, and
//! how each name ended.

use core::future::Future;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::collections::HashMap;
use std::io;

use nbns::client::{
    ClientConfig, ClientEvent, NameSpec, NameState, OwnedName, RegistrationOutcome, ReleaseOutcome,
    ReregisterOutcome,
};
use nbns::tokio::{NameNode, RegisterError, ReregisterError};
use nbns::wire::{Name, NetbiosName};
use tokio::net::UdpSocket;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::Failure;
use crate::args::NameArg;
use crate::report::{Reporter, TableRow};

/// Binds `addr:port`, with errors that say what to do.
pub(crate) fn bind(addr: Ipv4Addr, port: u16) -> Result<UdpSocket, Failure> {
    let fail = |e: io::Error| {
        let what = format!("cannot bind UDP {addr}:{port}: {e}");
        Failure::Error(match e.kind() {
            io::ErrorKind::PermissionDenied => format!(
                "{what}\n  port {port} needs root (or CAP_NET_BIND_SERVICE). Run as root, or pass \
                 --port N (WINS servers challenge a name's owner at port 137, so a node on \
                 another port cannot prove it holds its names)"
            ),
            io::ErrorKind::AddrInUse => {
                format!("{what}\n  another program (nmbd? another nbtstat --hold?) holds it")
            }
            io::ErrorKind::AddrNotAvailable => {
                format!("{what}\n  {addr} is not an address of this host (--addr)")
            }
            _ => what,
        })
    };
    let sock = std::net::UdpSocket::bind((addr, port)).map_err(fail)?;
    sock.set_nonblocking(true).map_err(fail)?;
    UdpSocket::from_std(sock).map_err(fail)
}

/// How a name's current registration ended, if it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Registered,
    /// Failed, and why, in words.
    Failed(String),
}

impl Outcome {
    pub(crate) fn of_register(r: &Result<(), RegisterError>) -> Self {
        match r {
            Ok(()) => Self::Registered,
            Err(e) => Self::Failed(match e {
                RegisterError::Conflict { server, rcode }
                | RegisterError::Refused { server, rcode } => refused(*server, *rcode),
                RegisterError::OwnerDefended { owner } => defended(*owner),
                RegisterError::NoServerAnswered => "no WINS server answered".to_owned(),
                other => other.to_string(),
            }),
        }
    }

    fn of_reregister(o: &RegistrationOutcome) -> Self {
        Self::Failed(match o {
            RegistrationOutcome::Registered { .. } => return Self::Registered,
            RegistrationOutcome::Refused { server, rcode } => refused(*server, *rcode),
            RegistrationOutcome::OwnerDefended { owner } => defended(*owner),
            RegistrationOutcome::NoServerAnswered => "no WINS server answered".to_owned(),
            other => other.to_string(),
        })
    }
}

fn refused(server: SocketAddrV4, rcode: nbns::wire::Rcode) -> String {
    format!(
        "refused by the WINS server {server}: {rcode} (rcode {})",
        u8::from(rcode)
    )
}

fn defended(owner: Ipv4Addr) -> String {
    format!("the WINS server found it held by {owner}, which defended it (ACT_ERR)")
}

/// How each name ended, by name.
#[derive(Debug, Default)]
pub(crate) struct Outcomes(HashMap<NetbiosName, Outcome>);

impl Outcomes {
    pub(crate) fn set(&mut self, name: NetbiosName, outcome: Outcome) {
        self.0.insert(name, outcome);
    }

    /// Takes the registration outcomes of a re-register-all.
    pub(crate) fn set_reregistered(&mut self, outcomes: &[ReregisterOutcome]) {
        for o in outcomes {
            self.set(o.name.netbios, Outcome::of_reregister(&o.registration));
        }
    }

    /// Whether every name has an outcome.
    pub(crate) fn all_settled(&self, names: &[NameArg]) -> bool {
        names.iter().all(|n| self.0.contains_key(&n.name))
    }

    /// Counts the names whose last registration ended well.
    pub(crate) fn registered_count(&self, names: &[NameArg]) -> usize {
        names
            .iter()
            .filter(|n| self.0.get(&n.name) == Some(&Outcome::Registered))
            .count()
    }

    /// The names that did not end registered, each with why.
    pub(crate) fn failures(&self, names: &[NameArg]) -> Vec<(NetbiosName, String)> {
        names
            .iter()
            .filter_map(|n| match self.0.get(&n.name) {
                Some(Outcome::Registered) => None,
                Some(Outcome::Failed(why)) => Some((n.name, why.clone())),
                None => Some((n.name, "no outcome within the timeout".to_owned())),
            })
            .collect()
    }
}

/// Prints a node's events as they come, and notes whether a WINS server
/// answered anything (the `-RR` cooldown starts only then).
pub(crate) struct Printer {
    events: broadcast::Receiver<ClientEvent>,
    out: Reporter,
    /// Whether any WINS server answered since this was last reset.
    pub(crate) answered: bool,
}

impl Printer {
    /// Waits for the next event and prints it (`None` when the node is
    /// gone).
    pub(crate) async fn next(&mut self) -> Option<ClientEvent> {
        loop {
            match self.events.recv().await {
                Ok(ev) => {
                    self.print(&ev);
                    return Some(ev);
                }
                Err(RecvError::Lagged(n)) => self.out.note(&format!("{n} events not shown")),
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Prints the events that have arrived.
    pub(crate) fn drain(&mut self) {
        loop {
            match self.events.try_recv() {
                Ok(ev) => self.print(&ev),
                Err(TryRecvError::Lagged(n)) => self.out.note(&format!("{n} events not shown")),
                Err(_) => return,
            }
        }
    }

    /// Runs `work`, printing events while it runs and those that came
    /// with its end.
    pub(crate) async fn during<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = core::pin::pin!(work);
        let result = loop {
            tokio::select! {
                r = &mut work => break r,
                ev = self.next() => if ev.is_none() { break work.await },
            }
        };
        self.drain();
        result
    }

    fn print(&mut self, ev: &ClientEvent) {
        self.answered |= match ev {
            ClientEvent::Registered { .. }
            | ClientEvent::RegistrationRefused { .. }
            | ClientEvent::OwnerDefended { .. }
            | ClientEvent::Refreshed { .. } => true,
            ClientEvent::Released { outcome, .. } => !matches!(
                outcome,
                ReleaseOutcome::Unconfirmed | ReleaseOutcome::NotRegistered
            ),
            _ => false,
        };
        self.out.event(ev);
    }
}

/// The host's names on a [`NameNode`], with its events printed.
pub(crate) struct Node {
    pub(crate) node: NameNode,
    pub(crate) printer: Printer,
    /// The address the names are registered with.
    pub(crate) addr: Ipv4Addr,
}

impl Node {
    /// Starts a node on `sock` for `servers`.
    pub(crate) fn start(
        sock: UdpSocket,
        servers: &[SocketAddrV4],
        out: Reporter,
    ) -> Result<Self, Failure> {
        let addr = match sock.local_addr() {
            Ok(core::net::SocketAddr::V4(a)) => *a.ip(),
            _ => Ipv4Addr::UNSPECIFIED,
        };
        let config = ClientConfig::with_servers(servers.iter().copied());
        Self::start_with(sock, config, addr, out)
    }

    /// Starts a node on `sock` with `config`, for names of `addr` (the
    /// socket may be bound to 0.0.0.0, to receive broadcasts).
    pub(crate) fn start_with(
        sock: UdpSocket,
        config: ClientConfig,
        addr: Ipv4Addr,
        out: Reporter,
    ) -> Result<Self, Failure> {
        let node =
            NameNode::from_socket(sock, config).map_err(|e| Failure::Error(e.to_string()))?;
        let printer = Printer {
            events: node.events(),
            out,
            answered: false,
        };
        Ok(Self {
            node,
            printer,
            addr,
        })
    }

    pub(crate) fn local(&self) -> SocketAddrV4 {
        self.node.local_addr()
    }

    /// Registers every name at once and waits, at most `limit`, for each
    /// outcome.
    pub(crate) async fn register(&mut self, names: &[NameArg], limit: Duration) -> Outcomes {
        let mut tasks = tokio::task::JoinSet::new();
        for n in names {
            let (node, n, addr) = (self.node.clone(), *n, self.addr);
            tasks.spawn(async move { (n.name, register_one(&node, n, addr).await) });
        }
        let mut outcomes = Outcomes::default();
        let collect = async {
            while let Some(Ok((name, r))) = tasks.join_next().await {
                outcomes.set(name, Outcome::of_register(&r));
            }
        };
        let _ = self
            .printer
            .during(tokio::time::timeout(limit, collect))
            .await;
        outcomes
    }

    /// Takes over names registered at the primary WINS server by an earlier
    /// run ([`NameNode::adopt`]): nothing is sent for them now.
    pub(crate) async fn adopt(&self, names: &[NameArg]) -> Result<(), Failure> {
        let ttl = ClientConfig::default().requested_ttl;
        let addrs = [self.addr];
        for n in names {
            self.node
                .adopt(spec(n, &addrs), ttl)
                .await
                .map_err(|e| Failure::Usage(format!("{}: {e}", n.name)))?;
        }
        Ok(())
    }

    /// `-RR`: releases every name and registers it again, waiting at most
    /// `limit`.
    pub(crate) async fn reregister(
        &mut self,
        limit: Duration,
    ) -> Result<Outcomes, ReregisterError> {
        let mut outcomes = Outcomes::default();
        let work = tokio::time::timeout(limit, self.node.reregister_all());
        if let Ok(done) = self.printer.during(work).await {
            outcomes.set_reregistered(&done?);
        }
        Ok(outcomes)
    }

    /// Releases every name and ends the node (bounded by the client's
    /// retries); prints each release and returns how each ended.
    pub(crate) async fn release_all(&mut self) -> Vec<(OwnedName, ReleaseOutcome)> {
        let node = self.node.clone();
        self.printer.during(node.shutdown()).await
    }

    /// The local name table (for `-n` in hold mode).
    pub(crate) async fn table_rows(&self) -> Vec<TableRow> {
        let mut rows: Vec<TableRow> = self
            .node
            .names()
            .await
            .into_iter()
            .map(|held| TableRow {
                name: held.name.netbios,
                group: held.group,
                status: state_text(held.state),
            })
            .collect();
        rows.sort_by_key(|r| *r.name.as_bytes());
        rows
    }
}

fn spec<'a>(n: &NameArg, addrs: &'a [Ipv4Addr]) -> NameSpec<'a> {
    let name = Name::unscoped(n.name);
    if n.group {
        NameSpec::group(name, addrs)
    } else {
        NameSpec::unique(name, addrs)
    }
}

/// Registers one name for `addr`.
pub(crate) async fn register_one(
    node: &NameNode,
    n: NameArg,
    addr: Ipv4Addr,
) -> Result<(), RegisterError> {
    let addrs = [addr];
    node.register(spec(&n, &addrs)).await.map(|_| ())
}

pub(crate) fn state_text(s: NameState) -> String {
    match s {
        // Windows says Registered for names claimed by broadcast too.
        NameState::Registered | NameState::Refreshing | NameState::Claimed => {
            "Registered".to_owned()
        }
        NameState::Registering => "Registering".to_owned(),
        NameState::Releasing | NameState::AwaitingReregister => "Deregistering".to_owned(),
        NameState::Refused(rc) => format!("Conflict ({rc})"),
        NameState::Conflict => "Conflict".to_owned(),
        NameState::Local => "Registered (local)".to_owned(),
        other => format!("{other:?}"),
    }
}
