//! The store's log under SIGKILL: a child process (this test binary again)
//! commits large batches, which go to the log, and folds the log between
//! them, printing each batch number once its commit has returned; the
//! test kills it at a random moment and opens the store. Every record must
//! be in the state of the last batch reported or of the one after it (the
//! commit that may have finished unreported), never a mixture, and the
//! version mark must cover every version stored.
#![cfg(feature = "redb")]

use core::net::Ipv4Addr;
use core::time::Duration;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use nbns::server::{
    Change, ChangeItem, EventKind, RecordKind, RecordState, ServerConfig, StoredRecord,
};
use nbns::store::{LOG_ROW_ENTRIES, Store};
use nbns::wire::{NbAddrEntry, NbFlags, NetbiosName, NodeType};

/// Records in each batch: three log rows, of which a fold step folds one.
const RECORDS: u64 = 2 * LOG_ROW_ENTRIES as u64 + 100;
const CHILD: &str = "NBNS_STORE_LOG_CRASH_CHILD";

/// Batch `b`: every record at version `b * RECORDS + i`, and a mark above.
fn batch(b: u64, now: Instant) -> Vec<Change> {
    let mut out: Vec<Change> = (0..RECORDS)
        .map(|i| {
            let version = b * RECORDS + i + 1;
            Change {
                seq: version,
                item: ChangeItem::Put {
                    event: EventKind::Added,
                    record: StoredRecord {
                        name: NetbiosName::new(&format!("R{i}"), 0x20).unwrap(),
                        scope: Box::default(),
                        kind: RecordKind::Unique,
                        state: RecordState::Active,
                        version,
                        owner: Ipv4Addr::new(10, 0, 0, 9),
                        addresses: [NbAddrEntry::new(
                            NbFlags::new(false, NodeType::H),
                            Ipv4Addr::new(10, (b % 200) as u8, (i >> 8) as u8, i as u8),
                        )]
                        .into(),
                        member_owners: Box::default(),
                        deadline: now + Duration::from_secs(3600),
                    },
                },
            }
        })
        .collect();
    out.push(Change {
        seq: (b + 1) * RECORDS + 1,
        item: ChangeItem::VersionMark((b + 1) * RECORDS),
    });
    out
}

/// Batches the child commits at most, should the kill never come (it
/// also ends when the test's end of its output closes).
const MAX_BATCHES: u64 = 200;

/// The child: commits batch after batch, folding a step between them.
fn child(path: &str) {
    let mut store = Store::open(path).unwrap();
    let now = Instant::now();
    let mut out = std::io::stdout().lock();
    for b in 0..MAX_BATCHES {
        store.commit(&batch(b, now)).unwrap();
        writeln!(out, "{b}").unwrap();
        out.flush().unwrap();
        store.fold_step().unwrap();
    }
}

#[test]
fn a_kill_during_log_commits_and_folds_leaves_one_whole_batch() {
    if let Ok(path) = std::env::var(CHILD) {
        child(&path);
        return;
    }
    let dir = std::env::temp_dir().join(format!("nbns-log-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wins.redb");
    // Kill moments spread over commits and folds: a pseudo-random delay
    // after a pseudo-random number of reported batches.
    let mut seed = u64::from(std::process::id()) | 1;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..4 {
        let _ = std::fs::remove_file(&path);
        let mut c = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_kill_during_log_commits_and_folds_leaves_one_whole_batch",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(c.stdout.take().unwrap()).lines();
        let wait_for = 1 + next() % 4;
        let mut reported = None;
        for line in lines.by_ref() {
            let Ok(b) = line.unwrap().trim().parse::<u64>() else {
                continue;
            };
            reported = Some(b);
            if b + 1 >= wait_for {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(next() % 40));
        c.kill().unwrap();
        c.wait().unwrap();
        // Batches reported after the kill was decided count too.
        for line in lines.map_while(Result::ok) {
            if let Ok(b) = line.trim().parse::<u64>() {
                reported = Some(b);
            }
        }
        let last = reported.expect("the child committed a batch");

        let store = Store::open(&path).unwrap();
        let server = store
            .load(ServerConfig::default(), Instant::now(), SystemTime::now())
            .unwrap();
        assert_eq!(server.len() as u64, RECORDS, "round {round}");
        let versions: Vec<u64> = server.records().map(|r| r.version()).collect();
        let held = (versions.iter().min().unwrap() - 1) / RECORDS;
        assert!(
            held == last || held == last + 1,
            "round {round}: batch {held} held, {last} reported"
        );
        for r in server.records() {
            let i: u64 = r.name().to_string()[1..]
                .split('<')
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert_eq!(
                r.version(),
                held * RECORDS + i + 1,
                "round {round}: {}",
                r.name()
            );
        }
        assert!(store.version_mark().unwrap() >= (held + 1) * RECORDS);
        eprintln!(
            "round {round}: killed after batch {last}, batch {held} held, {} of the log unfolded",
            store.unfolded()
        );
        drop(store);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
