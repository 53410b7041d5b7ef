//! The `wins_server` example as a process on loopback: its command line
//! and its `--hook` (Samba's `wins hook`). No root needed: the server
//! listens on an ephemeral port of 127.0.0.1 and the test registers names
//! over UDP itself.

mod support;

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::fs;
use std::net::UdpSocket;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nbns::wire::{
    Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType, Packet, PacketKind, Rcode,
};
use support::examples::{Proc, example_binary};
use support::nmbd::wait_until;

fn server_bin() -> PathBuf {
    example_binary("wins_server", &["redb"])
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "nbns-wins-server-cli-{}-{test}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes an executable shell script.
fn script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A hook that appends its arguments to `$HOOK_LOG`, one line per run,
/// the arguments separated by 0x1f, in a single write.
const RECORDING_HOOK: &str =
    "line=$(printf '%s\\037' \"$@\")\nprintf '%s\\n' \"$line\" >> \"$HOOK_LOG\"";

/// The server, started in `dir` with `args`; returns it and its address.
fn start(dir: &Path, args: &[&str]) -> (Proc, SocketAddrV4) {
    let mut cmd = Command::new(server_bin());
    cmd.current_dir(dir)
        .env("HOOK_LOG", dir.join("hook.log"))
        .args(["--listen", "127.0.0.1:0", "--run-for", "60"])
        .args(args);
    let server = Proc::spawn(cmd);
    let line = server.stderr_line("serving on", Duration::from_secs(20));
    let addr = line
        .split("serving on ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (server, addr)
}

/// The processes whose process group is `pgid` (from /proc).
fn processes_in_group(pgid: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if rest.split_whitespace().nth(2) == Some(pgid) {
            found.push(stat);
        }
    }
    found
}

/// A client on 127.0.0.1 talking to the server.
struct Client {
    sock: UdpSocket,
    server: SocketAddrV4,
    id: u16,
}

impl Client {
    fn new(server: SocketAddrV4) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        Self {
            sock,
            server,
            id: 0x4100,
        }
    }

    /// Sends `p` (retrying) and returns the answer's rcode.
    fn ask(&mut self, p: &Message<'_>) -> Rcode {
        let mut out = vec![0; p.buffer_len()];
        p.emit(&mut out).unwrap();
        let mut buf = [0u8; 1024];
        for _ in 0..10 {
            self.sock.send_to(&out, self.server).unwrap();
            while let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                let Ok(r) = Packet::parse(&buf[..n]) else {
                    continue;
                };
                if r.id == p.id && r.is_response() && r.kind() != PacketKind::Wack {
                    return r.rcode();
                }
            }
        }
        panic!("no answer from the server to {p:?}");
    }

    fn next_id(&mut self) -> u16 {
        self.id = self.id.wrapping_add(1);
        self.id
    }

    fn register(&mut self, name: &str, ttl: u32) -> Rcode {
        let id = self.next_id();
        let name = NetbiosName::new(name, 0x00).unwrap();
        self.ask(&Message::registration_request(
            id,
            Name::unscoped(name),
            ttl,
            entry(),
            false,
        ))
    }

    fn refresh(&mut self, name: &str, ttl: u32) -> Rcode {
        let id = self.next_id();
        let name = NetbiosName::new(name, 0x00).unwrap();
        self.ask(&Message::refresh_request(
            id,
            Name::unscoped(name),
            ttl,
            entry(),
            false,
        ))
    }

    fn release(&mut self, name: &str) -> Rcode {
        let id = self.next_id();
        let name = NetbiosName::new(name, 0x00).unwrap();
        self.ask(&Message::release_request(
            id,
            Name::unscoped(name),
            entry(),
            false,
        ))
    }

    fn query(&mut self, name: &str) -> Rcode {
        let id = self.next_id();
        let name = NetbiosName::new(name, 0x00).unwrap();
        self.ask(&Message::name_query_request(
            id,
            Name::unscoped(name),
            false,
        ))
    }
}

fn entry() -> NbAddrEntry {
    NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::LOCALHOST)
}

/// The hook's runs so far, each as its argument list.
fn runs(dir: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(dir.join("hook.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            l.trim_end_matches('\u{1f}')
                .split('\u{1f}')
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[test]
fn help_exits_0_and_bad_arguments_exit_2() {
    let bin = server_bin();
    let help = Command::new(&bin).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0), "{help:?}");
    let text = String::from_utf8_lossy(&help.stdout);
    for option in ["--listen", "--db", "--hook", "--hook-timeout", "--hook-max"] {
        assert!(
            text.contains(option),
            "--help does not mention {option}:\n{text}"
        );
    }
    for bad in [
        &["--bogus"][..],
        &["--listen", "nope"],
        &["--min-ttl", "x"],
        &["--hook-max", "0"],
        &["--hook-timeout", "0"],
        &["--export"],
        &["--ack-before-persist"],
        &["--min-ttl", "600", "--max-ttl", "60"],
        &["--db"],
    ] {
        let out = Command::new(&bin)
            .args(bad)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err:?}");
        assert!(err.starts_with("wins_server: "), "{bad:?}: {err:?}");
        assert!(out.stdout.is_empty(), "{bad:?}: {out:?}");
    }
}

/// Names with shell metacharacters or spaces never reach the hook; safe
/// names reach it with Samba's arguments, after the change is committed;
/// a release calls `delete`.
#[test]
fn hook_runs_for_safe_names_only_with_samba_arguments() {
    let dir = scratch("names");
    let hook = dir.join("hook.sh");
    script(&hook, RECORDING_HOOK);
    let db = dir.join("wins.redb");
    let (server, addr) = start(
        &dir,
        &[
            "--db",
            db.to_str().unwrap(),
            "--min-ttl",
            "60",
            "--max-ttl",
            "3600",
            "--hook",
            hook.to_str().unwrap(),
        ],
    );
    let mut client = Client::new(addr);
    let unsafe_names = [
        "|look|",
        "look&true",
        "look\\;false",
        "&ls>foo",
        "has spaces",
    ];
    for name in unsafe_names {
        assert_eq!(client.register(name, 300), Rcode::NoError, "{name}");
    }
    assert!(
        wait_until(Duration::from_secs(10), || server
            .stderr
            .count("hook not run for")
            == unsafe_names.len()),
        "not every unsafe name was refused:\n{}",
        server.log()
    );
    for name in ["NORMAL", "hyphen-dot.0"] {
        assert_eq!(client.register(name, 300), Rcode::NoError, "{name}");
    }
    assert!(
        wait_until(Duration::from_secs(10), || runs(&dir).len() >= 2),
        "hook not run twice:\n{:?}\n{}",
        runs(&dir),
        server.log()
    );
    assert_eq!(client.release("NORMAL"), Rcode::NoError);
    assert!(
        wait_until(Duration::from_secs(10), || runs(&dir).len() >= 3),
        "no delete:\n{:?}\n{}",
        runs(&dir),
        server.log()
    );
    // A query changes nothing: no run.
    assert_eq!(client.query("hyphen-dot.0"), Rcode::NoError);
    std::thread::sleep(Duration::from_millis(300));

    let mut got = runs(&dir);
    let delete = got.pop().unwrap();
    got.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    for (run, name) in got.iter().zip(["NORMAL", "hyphen-dot.0"]) {
        let [action, n, kind, ttl, ip] = &run[..] else {
            panic!("not five arguments: {run:?}");
        };
        assert_eq!(
            (action.as_str(), n.as_str(), kind.as_str(), ip.as_str()),
            ("add", name, "00", "127.0.0.1")
        );
        // Whole seconds until expiry: the granted 300, or 299 once the
        // commit took longer than the deadline's rounding.
        assert!(ttl == "300" || ttl == "299", "{run:?}");
    }
    assert_eq!(delete, ["delete", "NORMAL", "00", "0", "127.0.0.1"]);
    let log = fs::read_to_string(dir.join("hook.log")).unwrap();
    for name in unsafe_names {
        assert!(!log.contains(name), "{name} reached the hook:\n{log}");
    }
    for bit in ["look", "ls", "spaces"] {
        assert!(!log.contains(bit), "{bit} reached the hook:\n{log}");
    }
    assert!(!dir.join("foo").exists(), "a shell ran the name &ls>foo");
    // Each refusal is logged with the name, escaped.
    assert!(
        server.stderr.has("hook not run for add &ls>foo<00>"),
        "{}",
        server.log()
    );
    // Committed first: the change lines were printed.
    assert!(server.stdout.has("added NORMAL<00>"), "{}", server.log());
    assert!(server.stdout.has("released NORMAL<00>"), "{}", server.log());
}

/// A refresh calls `refresh`; a TTL running out calls `delete`, as a
/// release does.
#[test]
fn refresh_and_expiry_call_refresh_and_delete() {
    let dir = scratch("expiry");
    let hook = dir.join("hook.sh");
    script(&hook, RECORDING_HOOK);
    let db = dir.join("wins.redb");
    let (server, addr) = start(
        &dir,
        &[
            "--db",
            db.to_str().unwrap(),
            "--min-ttl",
            "1",
            "--hook",
            hook.to_str().unwrap(),
        ],
    );
    let mut client = Client::new(addr);
    assert_eq!(client.register("SHORT", 3), Rcode::NoError);
    // A refresh that moves the expiry (deadlines are whole seconds).
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(client.refresh("SHORT", 3), Rcode::NoError);
    assert!(
        wait_until(Duration::from_secs(10), || runs(&dir).len() >= 3),
        "{:?}\n{}",
        runs(&dir),
        server.log()
    );
    let got = runs(&dir);
    assert_eq!(got.len(), 3, "{got:?}");
    let ttl_ok = |t: &str| t == "3" || t == "2";
    assert!(
        got[0][..3] == ["add", "SHORT", "00"] && ttl_ok(&got[0][3]) && got[0][4..] == ["127.0.0.1"],
        "{got:?}"
    );
    assert!(
        got[1][..3] == ["refresh", "SHORT", "00"]
            && ttl_ok(&got[1][3])
            && got[1][4..] == ["127.0.0.1"],
        "{got:?}"
    );
    assert_eq!(got[2], ["delete", "SHORT", "00", "0", "127.0.0.1"]);
    assert!(server.stdout.has("expired SHORT<00>"), "{}", server.log());
}

/// A hook that outlives `--hook-timeout` is killed (with what it
/// started) and logged; the server answers meanwhile.
#[test]
fn slow_hook_is_killed_and_the_server_keeps_answering() {
    let dir = scratch("slow");
    let hook = dir.join("hook.sh");
    let done = dir.join("finished");
    let group = dir.join("group");
    // The shell leads a process group of its own; `sleep` is its child.
    script(
        &hook,
        &format!(
            "echo $$ >> '{}'\nsleep 30\ntouch '{}'",
            group.display(),
            done.display()
        ),
    );
    let (server, addr) = start(
        &dir,
        &[
            "--hook",
            hook.to_str().unwrap(),
            "--hook-timeout",
            "1",
            "--hook-max",
            "1",
        ],
    );
    let mut client = Client::new(addr);
    assert_eq!(client.register("SLOW1", 300), Rcode::NoError);
    // While the run lasts, registrations and queries are answered.
    assert_eq!(client.register("SLOW2", 300), Rcode::NoError);
    assert_eq!(client.query("SLOW1"), Rcode::NoError);
    assert!(
        wait_until(Duration::from_secs(10), || server
            .stderr
            .has("hook add SLOW1<00>: killed after 1 s")),
        "{}",
        server.log()
    );
    assert!(
        wait_until(Duration::from_secs(10), || server
            .stderr
            .has("hook add SLOW2<00>: killed after 1 s")),
        "{}",
        server.log()
    );
    assert_eq!(client.query("SLOW2"), Rcode::NoError);
    assert!(!done.exists(), "the hook went on after its time limit");
    // Nothing of either run is left: not the shell, not its `sleep`.
    let groups: Vec<String> = fs::read_to_string(&group)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(
        wait_until(Duration::from_secs(2), || groups
            .iter()
            .all(|g| processes_in_group(g).is_empty())),
        "processes left of the killed hooks: {:?}",
        groups
            .iter()
            .map(|g| processes_in_group(g))
            .collect::<Vec<_>>()
    );
}

/// A hook that fails, or cannot be started, is logged; the server goes on.
#[test]
fn failing_hook_is_logged() {
    let dir = scratch("failing");
    let hook = dir.join("hook.sh");
    script(&hook, "echo 'cannot reach the DNS server' >&2\nexit 3");
    let (server, addr) = start(&dir, &["--hook", hook.to_str().unwrap()]);
    let mut client = Client::new(addr);
    assert_eq!(client.register("FAILS", 300), Rcode::NoError);
    assert!(
        wait_until(Duration::from_secs(10), || server
            .stderr
            .has("hook add FAILS<00> failed: exit status: 3")),
        "{}",
        server.log()
    );
    // Its output goes to the server's log.
    assert!(
        server.stderr.has("cannot reach the DNS server"),
        "{}",
        server.log()
    );
    assert_eq!(client.query("FAILS"), Rcode::NoError);
    drop(server);

    let missing = dir.join("no-such-hook");
    let (server, addr) = start(&dir, &["--hook", missing.to_str().unwrap()]);
    let mut client = Client::new(addr);
    assert_eq!(client.register("MISSING", 300), Rcode::NoError);
    assert!(
        wait_until(Duration::from_secs(10), || server
            .stderr
            .has("hook add MISSING<00>: cannot run")),
        "{}",
        server.log()
    );
    assert_eq!(client.query("MISSING"), Rcode::NoError);
}
