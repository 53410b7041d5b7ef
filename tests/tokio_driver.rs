//! The tokio driver against the crate's own WINS server on loopback
//! (ephemeral ports, no root), and on tokio's paused clock where timing
//! matters.
#![cfg(feature = "tokio")]

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::io::Write;
use std::process::{Command, Stdio};

use nbns::client::{ClientConfig, ClientEvent, NameSpec, RegistrationOutcome, ReleaseOutcome};
use nbns::server::{RecordState, ServerConfig, WinsServer};
use nbns::tokio::{NameNode, RegisterError, ReleaseError, ReregisterError, ServerRunner};
use nbns::wire::{Name, NetbiosName};
use tokio::net::UdpSocket;
use tokio::time::Instant;

#[allow(dead_code)]
#[path = "support/examples.rs"]
mod examples;
#[path = "support/loopback.rs"]
mod loopback;

use loopback::{v4, wins};

const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn name(s: &str) -> Name<'static> {
    Name::unscoped(NetbiosName::new(s, 0x20).unwrap())
}

fn config(servers: &[SocketAddrV4]) -> ClientConfig {
    let mut c = ClientConfig::with_servers(servers.iter().copied());
    c.retry_interval = Duration::from_millis(100);
    c.retries_per_server = 2;
    c
}

async fn node(servers: &[SocketAddrV4]) -> NameNode {
    NameNode::bind(SocketAddrV4::new(LOCALHOST, 0), config(servers))
        .await
        .unwrap()
}

/// A UDP port with nothing bound to it (the kernel answers ICMP port
/// unreachable).
fn dead_port() -> SocketAddrV4 {
    let s = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
    v4(s.local_addr().unwrap())
}

fn spec<'a>(n: Name<'a>, me: &'a [Ipv4Addr; 1]) -> NameSpec<'a> {
    NameSpec::unique(n, me)
}

#[tokio::test]
async fn register_reregister_release_and_shutdown_against_the_crates_server() {
    let server = wins().await;
    let node = node(&[v4(server.local_addr())]).await;
    let me = [LOCALHOST];
    let mut events = node.events();

    for n in ["ALPHA", "BETA"] {
        let r = node.register(spec(name(n), &me)).await.unwrap();
        assert_eq!(r.server, v4(server.local_addr()));
        assert!(r.ttl > 0);
    }
    assert_eq!(node.names().await.len(), 2);
    assert!(matches!(
        node.register(spec(name("ALPHA"), &me)).await,
        Err(RegisterError::Invalid(_))
    ));

    // -RR: both released at the server and registered again.
    let t0 = Instant::now();
    let outcomes = node.reregister_all().await.unwrap();
    let rr_time = t0.elapsed();
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert_eq!(o.release, Some(ReleaseOutcome::Confirmed), "{o}");
        assert!(
            matches!(o.registration, RegistrationOutcome::Registered { ttl, .. } if ttl > 0),
            "{o}"
        );
    }
    eprintln!("-RR of 2 names through the driver: {rr_time:?}");
    // The second within the cooldown is refused with the time left.
    match node.reregister_all().await {
        Err(ReregisterError::Cooldown(c)) => {
            assert!(
                c.remaining > Duration::from_secs(100) && c.remaining <= Duration::from_secs(120)
            );
        }
        other => panic!("expected the cooldown, got {other:?}"),
    }
    // The stream saw the registrations the -RR started.
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, ClientEvent::Reregistering { .. }))
            .count(),
        2
    );

    assert_eq!(
        node.release(name("ALPHA")).await,
        Ok(ReleaseOutcome::Confirmed)
    );
    assert_eq!(
        node.release(name("ALPHA")).await,
        Err(ReleaseError::NotHeld)
    );
    let held = node.names().await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].name.to_string(), "BETA<20>");

    // Shutdown releases the rest and waits for the answer.
    let released = node.shutdown().await;
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].1, ReleaseOutcome::Confirmed);
    assert!(node.names().await.is_empty());
    assert_eq!(
        node.register(spec(name("GAMMA"), &me)).await,
        Err(RegisterError::Closed)
    );

    let server = server.shutdown().await.unwrap();
    for n in ["ALPHA", "BETA"] {
        let rec = server.record(name(n).netbios, b"").expect("record kept");
        assert_ne!(
            rec.state(),
            RecordState::Active,
            "{n} released at the server"
        );
    }
}

#[tokio::test]
async fn icmp_port_unreachable_does_not_end_the_node() {
    let server = wins().await;
    let dead = dead_port();
    let me = [LOCALHOST];
    // Nobody listens: the kernel answers ICMP port unreachable (an error
    // on the next recv where the system reports it to an unconnected
    // socket); the node gives a typed error and goes on.
    let lonely = node(&[dead]).await;
    assert_eq!(
        lonely.register(spec(name("LONELY"), &me)).await,
        Err(RegisterError::NoServerAnswered)
    );
    assert!(
        lonely.names().await.is_empty(),
        "a failed registration holds nothing"
    );
    // The same node goes on: the name registers again (and fails again).
    assert_eq!(
        lonely.register(spec(name("LONELY"), &me)).await,
        Err(RegisterError::NoServerAnswered)
    );
    // A dead primary, then the real server as secondary.
    let node = node(&[dead, v4(server.local_addr())]).await;
    let r = node.register(spec(name("FAILOVER"), &me)).await.unwrap();
    assert_eq!(r.server, v4(server.local_addr()));
    assert_eq!(node.shutdown().await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn silent_server_gives_a_typed_error_after_the_configured_retries() {
    // Bound but never answering: no ICMP either.
    let silent = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
    silent.set_nonblocking(true).unwrap();
    let mut c = ClientConfig::with_servers([v4(silent.local_addr().unwrap())]);
    c.retries_per_server = 3; // every 1.5 s, the default interval
    let node = NameNode::bind(SocketAddrV4::new(LOCALHOST, 0), c)
        .await
        .unwrap();
    let me = [LOCALHOST];
    let wall = std::time::Instant::now();
    let t0 = Instant::now();
    assert_eq!(
        node.register(spec(name("SILENT"), &me)).await,
        Err(RegisterError::NoServerAnswered)
    );
    assert_eq!(t0.elapsed(), Duration::from_millis(4500));
    assert!(wall.elapsed() < Duration::from_secs(2), "no real waiting");
    let mut buf = [0u8; 1500];
    let mut requests = 0;
    while silent.recv_from(&mut buf).is_ok() {
        requests += 1;
    }
    assert_eq!(requests, 3);
    // Idle: nothing armed, the node does not wake (the clock would jump).
    assert!(node.names().await.is_empty());
}

#[tokio::test]
async fn a_dropped_register_future_leaves_the_node_consistent() {
    let server = wins().await;
    let node = node(&[v4(server.local_addr())]).await;
    let me = [LOCALHOST];
    let mut events = node.events();
    // Dropped after the command was sent, before the answer.
    let _ = tokio::time::timeout(Duration::ZERO, node.register(spec(name("DROPPED"), &me))).await;
    loop {
        match events.recv().await.unwrap() {
            ClientEvent::Registered { name: n, .. } => {
                assert_eq!(n.to_string(), "DROPPED<20>");
                break;
            }
            _ => continue,
        }
    }
    assert_eq!(node.names().await.len(), 1);
    assert_eq!(
        node.release(name("DROPPED")).await,
        Ok(ReleaseOutcome::Confirmed)
    );
}

/// A folder of its own for this process, `tag`-PID, and `wins.redb` in it,
/// with no file left there by an earlier run.
#[cfg(feature = "redb")]
fn fresh_db(tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wins.redb");
    let _ = std::fs::remove_file(&path);
    (dir, path)
}

#[cfg(feature = "redb")]
#[tokio::test]
async fn the_runner_commits_before_it_answers_and_on_shutdown() {
    use core::sync::atomic::{AtomicU64, Ordering};
    use nbns::tokio::{Persist, StoreFailure};
    use std::sync::Arc;

    let (dir, path) = fresh_db("nbns-tokio");
    /// The store, counting the changes it committed.
    struct Counted(nbns::store::Store, Arc<AtomicU64>);
    impl Persist for Counted {
        fn commit(&mut self, batch: &[nbns::server::Change]) -> Result<(), StoreFailure> {
            Persist::commit(&mut self.0, batch)?;
            self.1.fetch_add(batch.len() as u64, Ordering::SeqCst);
            Ok(())
        }
    }
    let committed = Arc::new(AtomicU64::new(0));
    let store = Counted(nbns::store::Store::open(&path).unwrap(), committed.clone());
    let server = WinsServer::new(ServerConfig::default(), Instant::now().into_std());
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let runner = ServerRunner::spawn(socket, server, Some(Box::new(store))).unwrap();
    let node = node(&[v4(runner.local_addr())]).await;
    let me = [LOCALHOST];
    node.register(spec(name("DURABLE"), &me)).await.unwrap();
    // The grant left only after its change was committed.
    assert!(committed.load(Ordering::SeqCst) >= 1);
    let server = runner.shutdown().await.unwrap();
    assert_eq!(server.unpersisted(), 0);
    drop(server);
    let store = nbns::store::Store::open(&path).unwrap();
    let loaded = store
        .load(
            ServerConfig::default(),
            std::time::Instant::now(),
            std::time::SystemTime::now(),
        )
        .unwrap();
    let rec = loaded.record(name("DURABLE").netbios, b"").expect("stored");
    assert_eq!(rec.state(), RecordState::Active);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_embedding_example_runs_against_the_embedded_server() {
    let server = wins().await;
    let bin = tokio::task::spawn_blocking(|| examples::example_binary("embed_tokio", &["tokio"]))
        .await
        .unwrap();
    let wins_addr = server.local_addr().to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(bin)
            .args(["--wins", &wins_addr, "--bind", "127.0.0.1:0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // One -RR, a second refused by the cooldown, then the end of stdin.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"rr\nrr\n").unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count = |p: &str| stdout.lines().filter(|l| l.starts_with(p)).count();
    assert_eq!(count("registered EMBEDDED"), 2, "{stdout}");
    assert_eq!(count("re-registered EMBEDDED"), 2, "{stdout}");
    assert_eq!(count("re-register refused"), 1, "{stdout}");
    assert_eq!(count("released EMBEDDED"), 2, "{stdout}");
    let server = server.shutdown().await.unwrap();
    assert!(
        server.records().all(|r| r.state() != RecordState::Active),
        "{stdout}"
    );
}

/// What happens later reaches the event stream: the refresh at half the
/// granted TTL, then, with the server gone, the refresh that times out.
/// On the paused clock, hours pass in no time: the node sleeps until
/// its deadlines.
#[tokio::test(start_paused = true)]
async fn refreshes_and_their_failures_reach_the_event_stream() {
    let server = wins().await;
    let node = node(&[v4(server.local_addr())]).await;
    let me = [LOCALHOST];
    let granted = node.register(spec(name("LATER"), &me)).await.unwrap();
    let mut events = node.events();
    let t0 = Instant::now();
    let wall = std::time::Instant::now();
    let refreshed = tokio::time::timeout(Duration::from_secs(30 * 86_400), events.recv())
        .await
        .expect("a refresh within 30 days")
        .unwrap();
    assert!(
        matches!(refreshed, ClientEvent::Refreshed { .. }),
        "{refreshed}"
    );
    let half = Duration::from_secs(u64::from(granted.ttl).max(300)) / 2;
    assert_eq!(t0.elapsed(), half);

    server.shutdown().await.unwrap();
    let failed = loop {
        let e = tokio::time::timeout(Duration::from_secs(30 * 86_400), events.recv())
            .await
            .expect("an event within 30 days")
            .unwrap();
        if !matches!(e, ClientEvent::Refreshed { .. }) {
            break e;
        }
    };
    assert!(
        matches!(failed, ClientEvent::RefreshTimedOut { .. }),
        "{failed}"
    );
    assert!(wall.elapsed() < Duration::from_secs(5), "no real waiting");
}

/// An H-node whose WINS server is silent claims the name by broadcast, and
/// `register` returns that claim. The segment is a loopback socket standing
/// in for the subnet's broadcast address (no broadcast leaves the host).
#[tokio::test(start_paused = true)]
async fn an_h_node_with_a_silent_server_claims_by_broadcast() {
    let silent = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
    silent.set_nonblocking(true).unwrap();
    let segment = std::net::UdpSocket::bind((LOCALHOST, 0)).unwrap();
    segment.set_nonblocking(true).unwrap();
    let segment_addr = v4(segment.local_addr().unwrap());
    let c = ClientConfig::with_servers([v4(silent.local_addr().unwrap())])
        .node_type(nbns::wire::NodeType::H)
        .broadcast(segment_addr);
    let node = NameNode::bind(SocketAddrV4::new(LOCALHOST, 0), c)
        .await
        .unwrap();
    let me = [LOCALHOST];
    let t0 = Instant::now();
    let granted = node.register(spec(name("HFALLBACK"), &me)).await.unwrap();
    // Three WINS tries 1.5 s apart, then three broadcasts 750 ms apart.
    assert_eq!(t0.elapsed(), Duration::from_millis(4500 + 2250));
    assert_eq!(granted.server, segment_addr);
    assert_eq!(granted.ttl, 0);
    let mut buf = [0u8; 1500];
    let mut flags = Vec::new();
    while let Ok((n, _)) = segment.recv_from(&mut buf) {
        let p = nbns::wire::Packet::parse(&buf[..n]).unwrap();
        flags.push(p.flags.broadcast());
    }
    assert_eq!(flags, [true; 4], "three registrations and the demand");
    assert_eq!(
        node.names().await[0].state,
        nbns::client::NameState::Claimed
    );
}

/// A B-node's claim answered negatively by a node on the segment fails
/// with the conflict, and the name is not held.
#[tokio::test]
async fn a_b_node_claim_defended_by_another_node_is_a_conflict() {
    let segment = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let segment_addr = v4(segment.local_addr().unwrap());
    let c = ClientConfig::default()
        .node_type(nbns::wire::NodeType::B)
        .broadcast(segment_addr);
    let node = NameNode::bind(SocketAddrV4::new(LOCALHOST, 0), c)
        .await
        .unwrap();
    let defender = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        let (n, from) = segment.recv_from(&mut buf).await.unwrap();
        let p = nbns::wire::Packet::parse(&buf[..n]).unwrap();
        let q = p.question().unwrap();
        let entry = p.additional().unwrap().nb().unwrap().first().unwrap();
        let answer = nbns::wire::Message::negative_registration_response(
            p.id,
            q.name,
            nbns::wire::Rcode::Active,
            entry,
        );
        let mut out = Vec::new();
        answer.emit_buf(&mut out).unwrap();
        segment.send_to(&out, from).await.unwrap();
        v4(segment.local_addr().unwrap())
    });
    let me = [LOCALHOST];
    let result = node.register(spec(name("TAKEN"), &me)).await;
    let defender = defender.await.unwrap();
    assert_eq!(
        result,
        Err(RegisterError::InConflict(
            nbns::client::ConflictCause::Defended {
                by: defender,
                rcode: nbns::wire::Rcode::Active
            }
        ))
    );
    assert!(node.names().await.is_empty());
}

/// A store that refuses its first `fail` commits (or all of them).
struct Flaky {
    fail: u32,
    attempts: std::sync::Arc<core::sync::atomic::AtomicU32>,
}

impl nbns::tokio::Persist for Flaky {
    fn commit(&mut self, _: &[nbns::server::Change]) -> Result<(), nbns::tokio::StoreFailure> {
        let n = self
            .attempts
            .fetch_add(1, core::sync::atomic::Ordering::SeqCst);
        if n < self.fail {
            return Err("disk full".into());
        }
        Ok(())
    }
}

/// A WINS server on loopback that commits to `store`, retrying refused
/// commits ([`nbns::tokio::CommitRetry::default`]).
async fn retrying(store: Flaky) -> ServerRunner {
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let server = WinsServer::new(ServerConfig::default(), Instant::now().into_std());
    ServerRunner::builder(socket, server)
        .store(store)
        .retry_commits(nbns::tokio::CommitRetry::default())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn a_refused_commit_is_retried_and_the_grant_waits_for_it() {
    let attempts = std::sync::Arc::default();
    let store = Flaky {
        fail: 3,
        attempts: std::sync::Arc::clone(&attempts),
    };
    let runner = retrying(store).await;
    let node = node(&[v4(runner.local_addr())]).await;
    let me = [LOCALHOST];
    // 20 + 40 + 80 ms of retries: within the client's retries.
    node.register(spec(name("RETRIED"), &me)).await.unwrap();
    assert!(attempts.load(core::sync::atomic::Ordering::SeqCst) >= 4);
    let server = runner.shutdown().await.unwrap();
    assert_eq!(server.unpersisted(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_store_that_keeps_refusing_loses_the_changes_at_shutdown_never_acknowledged() {
    use nbns::server::EventKind;
    use nbns::tokio::RunnerError;
    use nbns::wire::{Message, NbAddrEntry, NbFlags, NodeType, Packet};
    let store = Flaky {
        fail: u32::MAX,
        attempts: std::sync::Arc::default(),
    };
    let runner = retrying(store).await;
    let mut events = runner.events();
    let client = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::H), LOCALHOST);
    let reg = Message::registration_request(9, name("LOST"), 300, entry, false);
    let mut bytes = vec![0; reg.buffer_len()];
    reg.emit(&mut bytes).unwrap();
    client.send_to(&bytes, runner.local_addr()).await.unwrap();
    loop {
        let e = events.recv().await.unwrap();
        if e.kind == EventKind::Added {
            break;
        }
    }
    // A minute of refusals (paused clock): no answer but WACKs.
    let mut buf = [0u8; 1500];
    let silent = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let (n, _) = client.recv_from(&mut buf).await.unwrap();
            let p = Packet::parse(&buf[..n]).unwrap();
            if p.kind() != nbns::wire::PacketKind::Wack {
                return p.kind();
            }
        }
    })
    .await;
    assert!(silent.is_err(), "answered on a failing store: {silent:?}");
    let t0 = Instant::now();
    match runner.shutdown().await {
        Err(RunnerError::Uncommitted { changes, .. }) => assert!(changes >= 1),
        other => panic!("expected lost changes, got {other:?}"),
    }
    // Given up after CommitRetry::at_shutdown (10 s), not before.
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(13),
        "{took:?}"
    );
}

/// A store with `steps` steps of idle work, failing them while `fail` is
/// set, recording the size of every batch it is given.
struct Idle {
    steps: std::sync::Arc<core::sync::atomic::AtomicU32>,
    fail: std::sync::Arc<core::sync::atomic::AtomicBool>,
    calls: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
}

impl nbns::tokio::Persist for Idle {
    fn commit(&mut self, batch: &[nbns::server::Change]) -> Result<(), nbns::tokio::StoreFailure> {
        use core::sync::atomic::Ordering::SeqCst;
        self.calls.lock().unwrap().push(batch.len());
        if batch.is_empty() {
            if self.fail.load(SeqCst) {
                return Err("fold failed".into());
            }
            self.steps.fetch_sub(1, SeqCst);
        }
        Ok(())
    }

    fn has_idle_work(&self) -> bool {
        self.steps.load(core::sync::atomic::Ordering::SeqCst) > 0
    }
}

#[tokio::test]
async fn the_runner_does_the_stores_idle_work_between_batches() {
    use core::sync::atomic::Ordering::SeqCst;
    let steps = std::sync::Arc::new(core::sync::atomic::AtomicU32::new(3));
    let fail = std::sync::Arc::new(core::sync::atomic::AtomicBool::new(true));
    let calls = std::sync::Arc::<std::sync::Mutex<Vec<usize>>>::default();
    let store = Idle {
        steps: steps.clone(),
        fail: fail.clone(),
        calls: calls.clone(),
    };
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let server = WinsServer::new(ServerConfig::default(), Instant::now().into_std());
    let runner = ServerRunner::builder(socket, server)
        .store(store)
        .spawn()
        .unwrap();
    // A failing step is tried once, and not again while no batch commits.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(*calls.lock().unwrap(), [0]);
    fail.store(false, SeqCst);
    let node = node(&[v4(runner.local_addr())]).await;
    node.register(spec(name("IDLE"), &[LOCALHOST]))
        .await
        .unwrap();
    // After the batch, the three steps, one at a time, then nothing.
    for _ in 0..100 {
        if steps.load(SeqCst) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let seen = calls.lock().unwrap().clone();
    assert_eq!(seen.first(), Some(&0));
    assert!(seen.get(1).is_some_and(|&n| n > 0), "{seen:?}");
    assert_eq!(seen.iter().filter(|&&n| n == 0).count(), 4, "{seen:?}");
    assert_eq!(steps.load(SeqCst), 0);
    drop(node);
    runner.shutdown().await.unwrap();
}

#[cfg(feature = "redb")]
#[tokio::test]
async fn a_log_left_by_a_large_commit_is_folded_while_the_runner_is_idle() {
    use nbns::server::{Change, ChangeItem, EventKind, RecordKind, StoredRecord};
    use nbns::store::Store;
    use nbns::wire::{NbAddrEntry, NbFlags, NodeType};

    let (dir, path) = fresh_db("nbns-tokio-fold");
    let now = std::time::Instant::now();
    let records = nbns::store::LOG_MIN as u64 * 3;
    let batch: Vec<Change> = (1..=records)
        .map(|v| Change {
            seq: v,
            item: ChangeItem::Put {
                event: EventKind::Added,
                record: StoredRecord {
                    name: NetbiosName::new(&format!("R{v}"), 0x20).unwrap(),
                    scope: Box::default(),
                    kind: RecordKind::Unique,
                    state: RecordState::Active,
                    version: v,
                    owner: Ipv4Addr::new(10, 0, 0, 9),
                    addresses: [NbAddrEntry::new(
                        NbFlags::new(false, NodeType::H),
                        Ipv4Addr::new(10, 1, (v >> 8) as u8, v as u8),
                    )]
                    .into(),
                    member_owners: Box::default(),
                    deadline: now + Duration::from_secs(3600),
                },
            },
        })
        .collect();
    let mut store = Store::open(&path).unwrap();
    store.commit(&batch).unwrap();
    assert_eq!(store.unfolded(), records);
    let server = store
        .load(ServerConfig::default(), now, std::time::SystemTime::now())
        .unwrap();
    assert_eq!(server.len() as u64, records);
    /// The store, telling how much of its log is left after each call.
    struct Watched(Store, std::sync::Arc<core::sync::atomic::AtomicU64>);
    impl nbns::tokio::Persist for Watched {
        fn commit(&mut self, batch: &[Change]) -> Result<(), nbns::tokio::StoreFailure> {
            let r = nbns::tokio::Persist::commit(&mut self.0, batch);
            self.1
                .store(self.0.unfolded(), core::sync::atomic::Ordering::SeqCst);
            r
        }
        fn has_idle_work(&self) -> bool {
            nbns::tokio::Persist::has_idle_work(&self.0)
        }
    }
    let left = std::sync::Arc::new(core::sync::atomic::AtomicU64::new(records));
    let socket = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let runner = ServerRunner::builder(socket, server)
        .store(Watched(store, left.clone()))
        .spawn()
        .unwrap();
    // The runner folds while idle; a registration meanwhile is granted.
    let node = node(&[v4(runner.local_addr())]).await;
    node.register(spec(name("DURING"), &[LOCALHOST]))
        .await
        .unwrap();
    for _ in 0..500 {
        if left.load(core::sync::atomic::Ordering::SeqCst) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(left.load(core::sync::atomic::Ordering::SeqCst), 0);
    drop(node);
    let server = runner.shutdown().await.unwrap();
    drop(server);
    let store = Store::open(&path).unwrap();
    let loaded = store
        .load(
            ServerConfig::default(),
            std::time::Instant::now(),
            std::time::SystemTime::now(),
        )
        .unwrap();
    assert_eq!(loaded.len() as u64, records + 1);
    assert_eq!(store.unfolded(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
