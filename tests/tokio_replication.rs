//! WINS replication through the tokio driver: two [`ServerRunner`]s on
//! loopback (127.0.0.31 and 127.0.0.32, ephemeral ports, no root) with
//! durable in-memory stores replicate over real TCP; what a runner sends
//! a partner waits for the commit of the changes it may show; a
//! non-partner is refused and its connection closed. The periodic pull
//! runs on tokio's paused clock.
#![cfg(feature = "tokio")]

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use std::sync::{Arc, Condvar, Mutex};

use nbns::client::{ClientConfig, NameSpec};
use nbns::server::{Change, EventKind, ServerConfig, ServerEvent, WinsServer};
use nbns::tokio::{NameNode, Persist, ServerRunner, StoreFailure};
use nbns::winsrepl::{
    Body, Message, MessageRepr, PartnerConfig, PartnerEvent, PullConfig, PushConfig, Refusal,
    ReplicationConfig,
};
use nbns::wire::{Name, NetbiosName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio::sync::broadcast;
use tokio::time::{Instant, timeout};

const A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 31);
const B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 32);
const HOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 33);
const STRANGER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 34);

/// A durable store in memory whose commits can be held back: `open`
/// false makes `commit` wait until it is true again.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<GateState>, Condvar)>);

/// Whether commits may go on, and what was committed.
type GateState = (bool, Vec<Change>);

impl Gate {
    fn open() -> Self {
        let g = Self::default();
        g.set(true);
        g
    }

    fn set(&self, open: bool) {
        let (m, cv) = &*self.0;
        m.lock().unwrap().0 = open;
        cv.notify_all();
    }

    fn committed(&self) -> usize {
        self.0.0.lock().unwrap().1.len()
    }
}

impl Persist for Gate {
    fn commit(&mut self, batch: &[Change]) -> Result<(), StoreFailure> {
        let (m, cv) = &*self.0;
        let mut g = cv.wait_while(m.lock().unwrap(), |g| !g.0).unwrap();
        g.1.extend_from_slice(batch);
        Ok(())
    }
}

fn v4(a: SocketAddr) -> SocketAddrV4 {
    match a {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(_) => panic!("IPv4 expected"),
    }
}

fn name(s: &str) -> Name<'static> {
    Name::unscoped(NetbiosName::new(s, 0x20).unwrap())
}

/// A durable WINS server at `ip` committing to `store`, replicating with
/// `partners` on `listener`.
async fn runner(
    ip: Ipv4Addr,
    listener: TcpListener,
    partners: Vec<PartnerConfig>,
    store: Gate,
) -> ServerRunner {
    let socket = UdpSocket::bind((ip, 0)).await.unwrap();
    let mut config = ServerConfig::default();
    config.address = ip;
    let server = WinsServer::new(config, Instant::now().into_std());
    let mut repl = ReplicationConfig::new(ip, partners);
    repl.notify_delay = Duration::from_millis(50);
    ServerRunner::builder(socket, server)
        .store(store)
        .replication(Some(listener), repl)
        .spawn()
        .unwrap()
}

async fn listener(ip: Ipv4Addr) -> (TcpListener, SocketAddrV4) {
    let l = TcpListener::bind((ip, 0)).await.unwrap();
    let a = v4(l.local_addr().unwrap());
    (l, a)
}

fn push_pull(at: SocketAddrV4) -> PartnerConfig {
    PartnerConfig {
        address: at,
        pull: Some(PullConfig::default()),
        push: Some(PushConfig::default()),
    }
}

async fn node(server: &ServerRunner) -> NameNode {
    let mut c = ClientConfig::with_servers([v4(server.local_addr())]);
    c.reregister_cooldown = Duration::ZERO;
    NameNode::bind(SocketAddrV4::new(HOST, 0), c).await.unwrap()
}

/// The next event about `n` of kind `kind`, within `limit`.
async fn event(
    events: &mut broadcast::Receiver<ServerEvent>,
    kind: EventKind,
    n: &str,
    limit: Duration,
) -> Option<ServerEvent> {
    let want = NetbiosName::new(n, 0x20).unwrap();
    timeout(limit, async {
        loop {
            match events.recv().await {
                Ok(e) if e.kind == kind && e.name == want => return e,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => core::future::pending().await,
            }
        }
    })
    .await
    .ok()
}

#[tokio::test]
async fn two_runners_replicate_and_rr_raises_the_version_at_the_partner() {
    let (la, at_a) = listener(A).await;
    let (lb, at_b) = listener(B).await;
    let (sa, sb) = (Gate::open(), Gate::open());
    let a = runner(A, la, vec![push_pull(at_b)], sa.clone()).await;
    let b = runner(B, lb, vec![push_pull(at_a)], sb.clone()).await;
    assert_eq!(a.replication_addr(), Some(SocketAddr::V4(at_a)));
    let (mut at_a_events, mut at_b_events) = (a.events(), b.events());
    let node = node(&a).await;
    let me = [HOST];

    node.register(NameSpec::unique(name("REPLHOST"), &me))
        .await
        .unwrap();
    let added = event(
        &mut at_a_events,
        EventKind::Added,
        "REPLHOST",
        Duration::ZERO,
    )
    .await
    .expect("added at A");
    let copy = event(
        &mut at_b_events,
        EventKind::Replicated,
        "REPLHOST",
        Duration::from_secs(5),
    )
    .await
    .expect("B holds A's record");
    assert_eq!(copy.version, added.version);
    assert_eq!(copy.address, HOST);

    // -RR at A: released and registered again, with a new version.
    let outcomes = node.reregister_all().await.unwrap();
    assert_eq!(outcomes.len(), 1);
    let raised = event(
        &mut at_b_events,
        EventKind::Replicated,
        "REPLHOST",
        Duration::from_secs(5),
    )
    .await
    .expect("the new version reached B");
    assert!(raised.version > copy.version, "{raised} after {copy}");

    node.shutdown().await;
    let a = a.shutdown().await.unwrap();
    let b = b.shutdown().await.unwrap();
    let rec = b.record(name("REPLHOST").netbios, b"").expect("at B");
    assert_eq!(rec.owner(), A);
    assert!(rec.version() >= raised.version);
    assert_eq!(b.owner_map().find(|(o, _)| *o == A).map(|(_, v)| v), {
        Some(a.version_counter())
    });
    // The replicas and the owner-version entry went through B's store.
    assert!(sb.committed() >= 3, "{}", sb.committed());
}

#[tokio::test]
async fn a_partner_gets_nothing_before_the_commit() {
    let (la, at_a) = listener(A).await;
    let sa = Gate::open();
    let a = runner(A, la, vec![push_pull(SocketAddrV4::new(B, 1))], sa.clone()).await;
    let mut at_a_events = a.events();
    // A's store stops committing; a registration is made but not stored.
    sa.set(false);
    // (Opened again if the test fails, so that the runtime can end.)
    struct Reopen(Gate);
    impl Drop for Reopen {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let _reopen = Reopen(sa.clone());
    let udp = std::net::UdpSocket::bind((HOST, 0)).unwrap();
    let reg = nbns::wire::Message::registration_request(
        7,
        name("HELDBACK"),
        300,
        nbns::wire::NbAddrEntry::new(
            nbns::wire::NbFlags::new(false, nbns::wire::NodeType::H),
            HOST,
        ),
        false,
    );
    let mut bytes = vec![0; reg.buffer_len()];
    reg.emit(&mut bytes).unwrap();
    udp.send_to(&bytes, a.local_addr()).unwrap();
    event(
        &mut at_a_events,
        EventKind::Added,
        "HELDBACK",
        Duration::from_secs(5),
    )
    .await
    .expect("made at A");

    // B pulls at start; nothing of A's may reach it while A's change waits.
    let (lb, _) = listener(B).await;
    let sb = Gate::open();
    let b = runner(B, lb, vec![push_pull(at_a)], sb.clone()).await;
    let mut at_b_events = b.events();
    assert!(
        event(
            &mut at_b_events,
            EventKind::Replicated,
            "HELDBACK",
            Duration::from_millis(700),
        )
        .await
        .is_none(),
        "B got a record A had not committed"
    );
    sa.set(true);
    event(
        &mut at_b_events,
        EventKind::Replicated,
        "HELDBACK",
        Duration::from_secs(5),
    )
    .await
    .expect("B holds the record once A committed it");
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_non_partner_gets_a_stop_and_its_connection_is_closed() {
    let (la, at_a) = listener(A).await;
    let a = runner(
        A,
        la,
        vec![push_pull(SocketAddrV4::new(B, 1))],
        Gate::open(),
    )
    .await;
    let s = TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::V4(SocketAddrV4::new(STRANGER, 0)))
        .unwrap();
    let mut stream = s.connect(SocketAddr::V4(at_a)).await.unwrap();
    let mut seen = a.replication_events();
    // An association, then a request for A's owner-version map.
    let start = MessageRepr::start_request(0x1234_5678);
    let mut out = vec![0; start.buffer_len()];
    start.emit(&mut out).unwrap();
    stream.write_all(&out).await.unwrap();
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await.unwrap();
    let mut reply = len.to_vec();
    reply.resize(4 + u32::from_be_bytes(len) as usize, 0);
    stream.read_exact(&mut reply[4..]).await.unwrap();
    let Body::StartReply(their) = Message::parse(&reply).unwrap().body else {
        panic!("no start response: {reply:02x?}");
    };
    let query = MessageRepr::table_query(their.handle);
    let mut out = vec![0; query.buffer_len()];
    query.emit(&mut out).unwrap();
    stream.write_all(&out).await.unwrap();
    let mut got = Vec::new();
    timeout(Duration::from_secs(5), stream.read_to_end(&mut got))
        .await
        .expect("A closed the connection")
        .unwrap();
    // A stop (reason 4, as Samba does), and nothing else.
    let m = Message::parse(&got).unwrap();
    let stop = matches!(m.body, Body::Stop(_));
    assert!(stop, "no stop in {got:02x?}");
    let mut refused = false;
    while let Ok(e) = seen.try_recv() {
        refused |= matches!(
            e,
            PartnerEvent::Refused {
                reason: Refusal::NonPartner,
                ..
            }
        );
    }
    assert!(refused);
    a.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_pull_partner_pulls_on_its_interval() {
    let (la, at_a) = listener(A).await;
    let (lb, at_b) = listener(B).await;
    // A only answers B (no notification); B pulls every 10 minutes.
    let to_b = PartnerConfig {
        address: at_b,
        pull: None,
        push: Some(PushConfig {
            change_count: 0,
            use_inform: false,
        }),
    };
    let interval = Duration::from_secs(600);
    let from_a = PartnerConfig {
        address: at_a,
        pull: Some(PullConfig {
            interval: Some(interval),
            retry: Duration::from_secs(30),
        }),
        push: None,
    };
    let a = runner(A, la, vec![to_b], Gate::open()).await;
    let b = runner(B, lb, vec![from_a], Gate::open()).await;
    let mut at_b_events = b.events();
    let mut pulls = b.replication_events();
    // The pull at start, of nothing yet.
    timeout(Duration::from_secs(5), async {
        while !matches!(pulls.recv().await, Ok(PartnerEvent::PullDone { .. })) {}
    })
    .await
    .expect("B pulled at start");
    let pulled = Instant::now();
    let node = node(&a).await;
    node.register(NameSpec::unique(name("PERIODIC"), &[HOST]))
        .await
        .unwrap();
    assert!(
        event(
            &mut at_b_events,
            EventKind::Replicated,
            "PERIODIC",
            interval / 2,
        )
        .await
        .is_none(),
        "B pulled before its interval"
    );
    event(
        &mut at_b_events,
        EventKind::Replicated,
        "PERIODIC",
        interval,
    )
    .await
    .expect("B pulled on its interval");
    let took = pulled.elapsed();
    assert!(
        took >= interval && took < interval + Duration::from_secs(5),
        "{took:?}"
    );
    node.shutdown().await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
