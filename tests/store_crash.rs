//! The `wins_server` example with its redb store, under a bounded
//! registration load, killed and restarted: nothing it acknowledged is
//! lost and no version ID is handed out twice.
//!
//! Runs in a pair of network namespaces the test creates (see
//! `tests/support`): the server listens on `<subnet>.1:137` in the server
//! namespace; the `loadgen` example registers names from the client
//! namespace and prints every name acknowledged. The server prints each
//! change once it is committed (`added NAME<20> unique IP version V`,
//! `version mark M`). Needs root, iproute2, nmbd's harness (samba) and
//! nmblookup; [`requirements`] checks them in one place.

mod support;

use core::time::Duration;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use support::NmbdClient;
use support::examples::{Proc, example_binary};
use support::nmbd::wait_until;

/// What these tests need, checked in one place: root (namespaces, port
/// 137, mounts) and the programs. The namespaces' own checks follow in
/// [`NmbdClient::setup`].
fn requirements() -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0");
    if !root {
        return Err("the store crash tests must run as root (network namespaces)".to_owned());
    }
    for tool in ["ip", "mount", "umount", "dd"] {
        let found = Command::new("sh")
            .args([
                "-c",
                &format!("command -v {tool} || test -x /usr/sbin/{tool}"),
            ])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Err(format!(
                "{tool} not found (Debian: iproute2, mount, coreutils)"
            ));
        }
    }
    Ok(())
}

struct Bins {
    server: PathBuf,
    loadgen: PathBuf,
}

fn setup() -> (NmbdClient, Bins) {
    requirements().unwrap();
    let bins = Bins {
        server: example_binary("wins_server", &["redb"]),
        loadgen: example_binary("loadgen", &[]),
    };
    (NmbdClient::setup().expect("network namespaces"), bins)
}

/// A small random number generator seeded from the clock (the seed is
/// printed, so a failing run can be told apart).
struct Rng(u64);

impl Rng {
    fn from_clock() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        eprintln!("store_crash: seed {seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Starts the server on `db` and waits until it serves; returns it with
/// the version counter it reports at start.
fn start_server(net: &NmbdClient, bins: &Bins, db: &Path) -> (Proc, u64) {
    start_server_with(net, bins, db, &[])
}

/// [`start_server`] with more arguments.
fn start_server_with(net: &NmbdClient, bins: &Bins, db: &Path, extra: &[&str]) -> (Proc, u64) {
    let mut cmd = net.server_command(&bins.server);
    cmd.args(["--listen", &format!("{}:137", net.wins_ip())])
        .arg("--db")
        .arg(db)
        .args(["--run-for", "120"])
        .args(extra);
    let server = Proc::spawn(cmd);
    let line = server.stderr_line("serving on", Duration::from_secs(20));
    let counter = line
        .split("version counter ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no version counter in {line:?}"));
    (server, counter)
}

/// Starts loadgen in the client namespace: registers `count` names from
/// `LOAD<first>` on, at most `secs` seconds, printing the acknowledged ones.
fn start_load(net: &NmbdClient, bins: &Bins, first: u32, count: u32, secs: u32) -> Proc {
    let mut cmd = net.client_command(&bins.loadgen);
    cmd.args(["--server", &format!("{}:137", net.wins_ip())])
        .args(["--first", &first.to_string()])
        .args(["--names", &count.to_string()])
        .args(["--requests", "0", "--duration", &secs.to_string()])
        .args(["--inflight", "32", "--timeout-ms", "300", "--log-acks"]);
    Proc::spawn(cmd)
}

/// Waits for loadgen to finish; returns the names it saw acknowledged.
fn acks(mut load: Proc) -> HashSet<String> {
    let status = load.child.wait().expect("wait for loadgen");
    assert!(
        wait_until(Duration::from_secs(5), || load.stdout.closed()),
        "loadgen output not closed"
    );
    assert!(status.success(), "loadgen failed:\n{}", load.log());
    load.stdout
        .all()
        .iter()
        .filter_map(|l| l.strip_prefix("ack "))
        .map(str::to_owned)
        .collect()
}

/// The changes the server logged after committing them: the last version
/// of each name added, and the version marks.
#[derive(Default)]
struct Committed {
    added: HashMap<String, u64>,
    marks: Vec<u64>,
}

fn committed(server: &Proc) -> Committed {
    let mut c = Committed::default();
    for line in server.stdout.all() {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            ["added", name, _kind, _ip, "version", v] => {
                c.added.insert((*name).to_owned(), v.parse().unwrap());
            }
            ["version", "mark", m] => c.marks.push(m.parse().unwrap()),
            _ => {}
        }
    }
    c
}

/// `wins_server --db DB --export`, as name -> (state, version), and the
/// stored mark.
fn export(bins: &Bins, db: &Path) -> (BTreeMap<String, (String, u64)>, u64) {
    let out = Command::new(&bins.server)
        .arg("--db")
        .arg(db)
        .arg("--export")
        .stdin(Stdio::null())
        .output()
        .expect("run --export");
    assert!(
        out.status.success(),
        "--export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut records = BTreeMap::new();
    let mut mark = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f.as_slice() {
            ["version-mark", m] => mark = m.parse().unwrap(),
            [name, _scope, _kind, state, "version", v, ..] => {
                records.insert(
                    (*name).to_owned(),
                    ((*state).to_owned(), v.parse().unwrap()),
                );
            }
            _ => {}
        }
    }
    (records, mark)
}

/// Checks one run: every acknowledged name was logged as committed, and
/// is in the store, active, with the logged version. Adds the run's
/// versions to `given` (version -> name), failing on a version given to
/// two names.
fn check_run(
    run: &str,
    acked: &HashSet<String>,
    log: &Committed,
    stored: &BTreeMap<String, (String, u64)>,
    given: &mut HashMap<u64, String>,
) {
    for name in acked {
        let v = *log
            .added
            .get(name)
            .unwrap_or_else(|| panic!("{run}: {name} acknowledged but not logged as committed"));
        let (state, sv) = stored
            .get(name)
            .unwrap_or_else(|| panic!("{run}: {name} acknowledged, then lost"));
        assert_eq!((state.as_str(), *sv), ("active", v), "{run}: {name}");
    }
    for (name, v) in &log.added {
        assert_eq!(
            stored.get(name).map(|r| r.1),
            Some(*v),
            "{run}: {name} committed"
        );
        if let Some(other) = given.insert(*v, name.clone()) {
            assert_eq!(
                &other, name,
                "{run}: version {v} given to {other} and {name}"
            );
        }
    }
}

#[test]
fn sigkill_at_a_random_moment_loses_nothing_acknowledged() {
    if !support::interop_enabled("sigkill_at_a_random_moment_loses_nothing_acknowledged") {
        return;
    }
    let (net, bins) = setup();
    let db = net.dir().join("wins.redb");
    let mut rng = Rng::from_clock();
    let mut given: HashMap<u64, String> = HashMap::new();
    let mut top_version = 0;
    let mut top_mark = 0;
    let started = Instant::now();
    let per_run = 20_000;
    for run in 0..6u32 {
        let (mut server, counter) = start_server(&net, &bins, &db);
        assert!(
            counter >= top_version && counter >= top_mark,
            "run {run}: counter {counter} below a version ({top_version}) or mark ({top_mark}) \
             committed before"
        );
        let load = start_load(&net, &bins, run * per_run, per_run, 2);
        let wait = 200 + rng.below(1300);
        std::thread::sleep(Duration::from_millis(wait));
        server.child.kill().expect("SIGKILL");
        server.child.wait().unwrap();
        let acked = acks(load);
        assert!(
            wait_until(Duration::from_secs(5), || server.stdout.closed()),
            "server output not closed"
        );
        let log = committed(&server);
        let (stored, mark) = export(&bins, &db);
        eprintln!(
            "store_crash: run {run}: killed after {wait} ms, {} acknowledged, {} committed, \
             {} stored, mark {mark}",
            acked.len(),
            log.added.len(),
            stored.len()
        );
        check_run(&format!("run {run}"), &acked, &log, &stored, &mut given);
        // the new versions lie above every version committed before
        if let Some(low) = log.added.values().min() {
            assert!(*low > top_version, "run {run}: version {low} reused");
        }
        top_version = top_version.max(log.added.values().copied().max().unwrap_or(0));
        top_mark = top_mark.max(log.marks.iter().copied().max().unwrap_or(0));
        assert!(
            mark >= top_mark,
            "stored mark {mark} below a committed {top_mark}"
        );
        assert!(
            top_version <= mark,
            "version {top_version} above the mark {mark}"
        );
        drop(server);
    }
    assert!(
        given.len() > 100,
        "too little load: {} versions",
        given.len()
    );
    eprintln!("store_crash: 6 runs in {:?}", started.elapsed());
    net.teardown().expect("teardown");
}

#[test]
fn sigterm_during_load_commits_everything_and_exits_cleanly() {
    if !support::interop_enabled("sigterm_during_load_commits_everything_and_exits_cleanly") {
        return;
    }
    let (net, bins) = setup();
    let db = net.dir().join("wins.redb");
    let (mut server, _) = start_server(&net, &bins, &db);
    let load = start_load(&net, &bins, 0, 20_000, 2);
    std::thread::sleep(Duration::from_millis(700));
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let exit = server.child.wait().unwrap();
    assert!(
        exit.success(),
        "exit after SIGTERM: {exit}\n{}",
        server.log()
    );
    assert!(server.stderr.has("stopping after"), "{}", server.log());
    let acked = acks(load);
    assert!(
        wait_until(Duration::from_secs(5), || server.stdout.closed()),
        "server output not closed"
    );
    let log = committed(&server);
    let (stored, _) = export(&bins, &db);
    assert!(!acked.is_empty(), "nothing acknowledged before SIGTERM");
    check_run("sigterm", &acked, &log, &stored, &mut HashMap::new());
    // everything registered before the signal is stored (nothing waits
    // uncommitted at exit)
    assert_eq!(stored.len(), log.added.len(), "{}", server.log());
    drop(server);
    net.teardown().expect("teardown");
}

/// Mounts a small tmpfs at `dir`; unmounted on drop.
struct SmallFs(PathBuf);

impl SmallFs {
    fn mount(dir: PathBuf, size: &str) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mount tmpfs at {}", dir.display());
        Self(dir)
    }

    /// Fills the file system up with a file; returns its path.
    fn fill(&self) -> PathBuf {
        let fill = self.0.join("fill");
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=4096", "status=none"])
            .arg(format!("of={}", fill.display()))
            .stderr(Stdio::null())
            .status();
        fill
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_acknowledgements_not_queries_and_the_server_recovers() {
    if !support::interop_enabled(
        "a_full_disk_stops_acknowledgements_not_queries_and_the_server_recovers",
    ) {
        return;
    }
    let (net, bins) = setup();
    let fs = SmallFs::mount(net.dir().join("dbfs"), "8m");
    let db = fs.0.join("wins.redb");
    // A hook recording the names it is told of (off the full disk): only
    // committed changes may reach it.
    let hook = net.dir().join("hook.sh");
    let hook_log = net.dir().join("hook.log");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\necho \"$1 $2\" >> '{}'\n", hook_log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let hooked = |first: u32| {
        let log = std::fs::read_to_string(&hook_log).unwrap_or_default();
        (first..first + 200)
            .filter(|i| log.lines().any(|l| l == format!("add LOAD{i:07}")))
            .count()
    };
    let (mut server, _) = start_server_with(&net, &bins, &db, &["--hook", hook.to_str().unwrap()]);
    let wins = net.wins_ip().to_string();
    let query = |name: &str| {
        let out = net.nmblookup(["-U", wins.as_str(), "--recursion", name]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    // 1. a working store: every registration acknowledged
    let acked = acks(start_load(&net, &bins, 0, 200, 3));
    assert_eq!(acked.len(), 200, "{}", server.log());

    // 2. the disk is full: once the free pages inside the file are used
    //    up, commits fail; then registrations wait, queries are answered
    let fill = fs.fill();
    let early = acks(start_load(&net, &bins, 1000, 200, 2));
    assert!(
        wait_until(Duration::from_secs(10), || server.stderr.has("commit of")),
        "no commit failed on a full disk ({} acknowledged):\n{}",
        early.len(),
        server.log()
    );
    let acked = acks(start_load(&net, &bins, 2000, 200, 2));
    assert!(
        acked.is_empty(),
        "acknowledged on a failing store: {acked:?}"
    );
    let answer = query("LOAD0000007#20");
    assert!(
        answer.contains(&format!("{} LOAD0000007<20>", net.client_ip())),
        "query during the failure: {answer}\n{}",
        server.log()
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server stopped"
    );
    // nothing of the changes that cannot be committed was announced
    assert_eq!(hooked(2000), 0, "uncommitted changes reached the hook");

    // 3. space again: the waiting changes are committed, and new
    //    registrations are acknowledged
    std::fs::remove_file(&fill).unwrap();
    let all_logged = |first: u32| {
        (first..first + 200).all(|i| server.stdout.has(&format!("added LOAD{i:07}<20>")))
    };
    assert!(
        wait_until(Duration::from_secs(15), || all_logged(1000)
            && all_logged(2000)),
        "the waiting registrations were not committed after recovery:\n{}",
        server.log()
    );
    let acked = acks(start_load(&net, &bins, 3000, 200, 3));
    assert_eq!(acked.len(), 200, "{}", server.log());
    // once committed, they are announced
    assert!(
        wait_until(Duration::from_secs(15), || hooked(2000) == 200
            && hooked(3000) == 200),
        "committed changes not announced: {} and {} of 200\n{}",
        hooked(2000),
        hooked(3000),
        server.log()
    );

    let pid = server.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(server.child.wait().unwrap().success(), "{}", server.log());
    let (stored, _) = export(&bins, &db);
    for first in [0, 1000, 2000, 3000] {
        for i in first..first + 200 {
            let name = format!("LOAD{i:07}<20>");
            assert!(stored.contains_key(&name), "{name} missing");
        }
    }
    drop(server);
    drop(fs);
    net.teardown().expect("teardown");
}
