//! The crate's replication `Partner` with Samba 4's AD DC WINS server, over
//! real TCP inside network namespaces (needs root and Samba; runs only with
//! `NBNS_INTEROP=1`).
//!
//! The test starts Samba (partner entry: our address, push and pull, no
//! periodic pull), a capture of TCP 42, and then runs itself again inside
//! the client namespace as the driver: a small std-thread loop around a
//! `Partner` and a `MemoryDb` holding three names of ours. There it checks,
//! reading Samba's `wins.ldb` with `ldbsearch`:
//!
//! 1. we push (UPDATE, Samba pulls on our stream): our records appear in
//!    Samba's database with our address as owner and our version IDs;
//! 2. we pull: Samba's names (its own, and one a client registers over
//!    UDP 137 first) appear in ours with Samba as owner and Samba's
//!    version IDs;
//! 3. a `-RR` of one name and a tombstone of another, one notification:
//!    Samba holds the new version and the tombstone;
//! 4. Samba pulls from us on a connection it opens, and we serve it;
//! 5. a conflict (our record against the active one Samba holds for a
//!    client that is gone) resolves at Samba as `decide` says: a
//!    challenge nobody answers, then our replica replaces Samba's record.
//!
//! Back outside, tshark must read every captured TCP 42 packet as
//! `winsrepl` without a malformed flag.

mod support;

use core::net::Ipv4Addr;
use core::time::Duration;
use std::thread;
use std::time::Instant;

use nbns::winsrepl::{
    ChallengeAnswer, ChallengeOutcome, Decision, MemoryDb, PartnerEvent, RecordState, RecordType,
    after_challenge, decide,
};
use nbns::wire::NetbiosName;
use support::repl_tcp::{TcpDriver, nbns_register, samba_partner};
use support::samba4::{LdbRecord, ldb_records};

const TEST: &str = "samba4_replicates_with_our_partner";
/// Set in the environment of the driver run inside the namespace.
const CHILD: &str = "NBNS_SAMBA4_DRIVER";

#[test]
fn samba4_replicates_with_our_partner() {
    let started = Instant::now();
    let Some((samba, packets, messages)) = support::samba4::replication_test(
        TEST,
        CHILD,
        "nbns-samba4-replication.pcap",
        "3:3:0",
        driver,
    ) else {
        return;
    };
    // Samba's challenge of the gone holder of S4CLIENT<00>: name query
    // requests (not responses, opcode 0) to <subnet>.4, port 137.
    let holder = Ipv4Addr::from(u32::from(samba.client_ip()) + 2).to_string();
    let challenges = packets
        .iter()
        .filter(|p| p.protocols.iter().any(|x| x == "nbns"))
        .filter(|p| p.field("ip.dst") == Some(holder.as_str()))
        .filter(|p| p.field("ip.src") == Some(samba.server_ip().to_string().as_str()))
        .filter_map(|p| p.field("nbns.flags"))
        .filter_map(|f| u16::from_str_radix(f.trim_start_matches("0x"), 16).ok())
        .filter(|f| f & 0xf800 == 0)
        .count();
    assert!(challenges >= 1, "no challenge from Samba to {holder}");
    // Three associations: a pull (7 messages: start, its response, map
    // request and response, name records request and response, stop) and
    // two notifications (6 each: start, response, UPDATE, Samba's request,
    // our response, Samba's stop).
    support::samba4::finish_replication_test(TEST, samba, &packets, messages, 19, started);
}

// ---- The driver, inside the client namespace --------------------------------

fn name(s: &str, suffix: u8) -> NetbiosName {
    NetbiosName::new(s, suffix).unwrap()
}

type Driver = TcpDriver<MemoryDb>;

fn served(events: &[PartnerEvent], owner: Ipv4Addr) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, PartnerEvent::Served { owner: o, records, .. } if *o == owner && *records > 0))
        .count()
}

fn one(records: &[LdbRecord], suffix: u8) -> LdbRecord {
    records
        .iter()
        .find(|r| r.suffix == suffix)
        .cloned()
        .unwrap_or_else(|| panic!("no <{suffix:02x}> record in {records:?}"))
}

fn driver() {
    let var = |k: &str| std::env::var(k).unwrap();
    let server: Ipv4Addr = var("S4_SERVER").parse().unwrap();
    let us: Ipv4Addr = var("S4_CLIENT").parse().unwrap();
    let ldb = var("S4_LDB");
    let ldb = std::path::Path::new(&ldb);
    let other = Ipv4Addr::from(u32::from(us) + 1);

    let client = Ipv4Addr::from(u32::from(us) + 2);
    assert!(
        nbns_register(client, server, "S4CLIENT"),
        "registration at Samba"
    );

    let mut db = MemoryDb::new(us, 1000);
    db.register(name("RUSTUNIQ", 0), RecordType::Unique, &[us])
        .unwrap();
    db.register(
        name("RUSTDOM", 0x1C),
        RecordType::SpecialGroup,
        &[us, other],
    )
    .unwrap();
    db.register(name("RUSTMULTI", 0), RecordType::Multihomed, &[us, other])
        .unwrap();
    let mut d = Driver::new(us, vec![samba_partner(server)], db, 0x5eed_0001, |_, _| {});

    // 1 and 2: the pull at start and the notification at start.
    d.run_until(Duration::from_secs(15), |e| {
        served(e, us) >= 1
            && e.iter().any(|e| matches!(e, PartnerEvent::PullDone { .. }))
            && !e.is_empty()
    });
    d.run_until(Duration::from_secs(5), |_| true);
    let deadline = Instant::now() + Duration::from_secs(5);
    while ldb_records(ldb, "(name=RUSTMULTI)").is_empty() && Instant::now() < deadline {
        d.step();
        thread::sleep(Duration::from_millis(20));
    }
    for (n, suffix, version, record_type) in [
        ("RUSTUNIQ", 0x00, 1, 0),
        ("RUSTDOM", 0x1C, 2, 2),
        ("RUSTMULTI", 0x00, 3, 3),
    ] {
        let r = one(&ldb_records(ldb, &format!("(name={n})")), suffix);
        assert_eq!(
            (r.owner, r.version, r.state, r.record_type),
            (us, version, 0, record_type),
            "{n}"
        );
    }
    eprintln!("driver: Samba holds our three records with our owner and versions");

    let samba_own: Vec<LdbRecord> = ldb_records(ldb, "(objectClass=winsRecord)")
        .into_iter()
        .filter(|r| r.owner == server && r.state == 0)
        .collect();
    assert!(samba_own.len() >= 6, "Samba's names: {samba_own:?}");
    assert!(
        samba_own.iter().any(|r| r.name == "S4CLIENT"),
        "{samba_own:?}"
    );
    for r in &samba_own {
        let got =
            d.db.record(name(&r.name, r.suffix))
                .unwrap_or_else(|| panic!("{}<{:02x}> not pulled", r.name, r.suffix));
        assert_eq!(
            (got.owner, got.version),
            (server, r.version),
            "{}<{:02x}>",
            r.name,
            r.suffix
        );
    }
    eprintln!(
        "driver: we hold Samba's {} names with Samba as owner",
        samba_own.len()
    );

    // 3: -RR of RUSTMULTI and a tombstone of RUSTUNIQ, then one notification.
    assert!(d.db.release(name("RUSTMULTI", 0)));
    let rr =
        d.db.register(name("RUSTMULTI", 0), RecordType::Multihomed, &[us, other])
            .unwrap();
    assert!(d.db.tombstone(name("RUSTUNIQ", 0)));
    assert_eq!(
        d.db.record(name("RUSTUNIQ", 0)).unwrap().state(),
        RecordState::Tombstone
    );
    d.partner.handle_db_changed(&d.db, Instant::now());
    let notifications = |e: &[PartnerEvent]| {
        e.iter()
            .filter(|e| matches!(e, PartnerEvent::NotificationSent { .. }))
            .count()
    };
    d.run_until(Duration::from_secs(10), |e| notifications(e) == 2);
    wait_for(&mut d, ldb, "RUSTMULTI", |r| {
        r.version == rr && r.owner == us
    });
    wait_for(&mut d, ldb, "RUSTUNIQ", |r| {
        (r.owner, r.version, r.state) == (us, 5, 2)
    });
    assert_eq!(
        notifications(&d.events),
        2,
        "one at start, one for the -RR and the tombstone"
    );
    eprintln!("driver: -RR version {rr} and the tombstone reached Samba");

    // 4: a new name, without a notification: Samba's periodic pull (every
    // 3 s) fetches it on a connection it opens to our port 42.
    let quiet =
        d.db.register(name("RUSTQUIET", 0), RecordType::Unique, &[us])
            .unwrap();
    let from = d.events.len();
    d.run_until(Duration::from_secs(15), |e| {
        let inbound = e.iter().any(|e| {
            matches!(e, PartnerEvent::AssociationUp { initiator: false, peer, .. } if *peer.ip() == server)
        });
        let served = e.get(from..).unwrap_or_default().iter().any(|e| {
            matches!(e, PartnerEvent::Served { owner, records: 1, .. } if *owner == us)
        });
        inbound && served
    });
    wait_for(&mut d, ldb, "RUSTQUIET", |r| {
        (r.owner, r.version) == (us, quiet)
    });
    assert_eq!(notifications(&d.events), 2);
    eprintln!("driver: Samba pulled version {quiet} from us on its own connection");

    // 5: a conflict. We take over S4CLIENT<00>, which Samba owns (its
    // client at .4 registered it, and that client is gone): Samba's record
    // is active with another address, so Samba challenges .4, hears
    // nothing, and takes our replica, as our rules say it must.
    let theirs = d.db.record(name("S4CLIENT", 0)).unwrap().clone();
    assert_eq!(theirs.owner, server);
    let v =
        d.db.register(name("S4CLIENT", 0), RecordType::Unique, &[us])
            .unwrap();
    let ours = d.db.record(name("S4CLIENT", 0)).unwrap().clone();
    // Samba's view: its own record (r1) against our replica (r2).
    let expect = decide(Some(&theirs.side()), &ours.side(), server);
    assert_eq!(expect, Decision::Challenge);
    assert_eq!(
        after_challenge(&theirs.side(), &ours.side(), ChallengeAnswer::NoAnswer),
        ChallengeOutcome::Replace
    );
    d.partner.handle_db_changed(&d.db, Instant::now());
    d.wait_for_ldb(ldb, "S4CLIENT", 20, |r| (r.owner, r.version) == (us, v));
    eprintln!("driver: Samba challenged its silent holder and took our S4CLIENT<00>");
}

/// Drives `d` until Samba's record `name<00>` satisfies `ok` (at most 5 s).
fn wait_for(d: &mut Driver, ldb: &std::path::Path, name: &str, ok: impl Fn(&LdbRecord) -> bool) {
    d.wait_for_ldb(ldb, name, 5, ok);
}
