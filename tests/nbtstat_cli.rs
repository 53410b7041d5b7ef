//! The `nbtstat` program as its users meet it, run as a process against the
//! crate's own WINS server on loopback (in this test process, ephemeral
//! ports, no root): where it finds WINS servers, the `-RR` cooldown, the
//! signals and end of input of `--hold`, `-a`/`-A`'s timeouts and reasons,
//! names files, and Windows' switches.
//!
//! Every run gets `$NBTSTAT_SYSROOT` pointed at a directory of the test's
//! own, so the host's smb.conf and DHCP leases are never read; every file a
//! test writes names only 127.0.0.x addresses of servers the test runs.

mod support;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use nbns::server::{Durability, RecordState, ServerConfig, WinsServer};
use nbns::wire::NetbiosName;
use support::programs::{describe, events, json_lines, nbtstat_bin};

/// The crate's WINS server on 127.0.0.1 (ephemeral port), in memory,
/// counting the datagrams it receives.
struct Wins {
    addr: SocketAddrV4,
    server: Arc<Mutex<WinsServer>>,
    received: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Wins {
    fn start() -> Self {
        let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind WINS");
        let SocketAddr::V4(addr) = sock.local_addr().unwrap() else {
            unreachable!()
        };
        let mut config = ServerConfig::default();
        config.address = *addr.ip();
        config.durability = Durability::Volatile;
        let server = Arc::new(Mutex::new(WinsServer::new(config, Instant::now())));
        let received = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (server, received, stop) = (server.clone(), received.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                sock.set_read_timeout(Some(Duration::from_millis(20)))
                    .unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let got = sock.recv_from(&mut buf);
                    let mut s = server.lock().unwrap_or_else(PoisonError::into_inner);
                    match got {
                        Ok((n, SocketAddr::V4(from))) => {
                            received.fetch_add(1, Ordering::Relaxed);
                            s.handle_datagram(Instant::now(), from, &buf[..n]);
                        }
                        _ => s.handle_timeout(Instant::now()),
                    }
                    while let Some(t) = s.poll_transmit() {
                        if t.destination.ip().is_loopback() {
                            let _ = sock.send_to(&t.contents, t.destination);
                        }
                    }
                    while s.poll_event().is_some() {}
                }
            })
        };
        Self {
            addr,
            server,
            received,
            stop,
            thread: Some(thread),
        }
    }

    fn text(&self) -> String {
        self.addr.to_string()
    }

    fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    fn state(&self, name: &str, suffix: u8) -> Option<RecordState> {
        let s = self.server.lock().unwrap_or_else(PoisonError::into_inner);
        s.record(NetbiosName::new(name, suffix).unwrap(), b"")
            .map(|r| r.state())
    }
}

impl Drop for Wins {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback port that receives and never answers.
fn silent() -> (UdpSocket, String) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let a = s.local_addr().unwrap().to_string();
    (s, a)
}

/// A fresh directory for this test.
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nbns-nbtstat-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `nbtstat` with the system root `root` (nothing of the host's).
fn command(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(nbtstat_bin());
    c.args(args)
        .env("NBTSTAT_SYSROOT", root)
        .env_remove("NBTSTAT_STATE")
        .stdin(Stdio::null());
    c
}

fn run(root: &Path, args: &[&str]) -> Output {
    command(root, args).output().expect("run nbtstat")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The arguments to register from 127.0.0.1 on an ephemeral port.
const LOCAL: [&str; 4] = ["--addr", "127.0.0.1", "--port", "0"];

#[test]
fn no_configuration_runs_a_labelled_demonstration_without_cooldown() {
    let root = dir("demo");
    let state = root.join("rr.state");
    let state = state.to_str().unwrap();
    for _ in 0..2 {
        let out = run(&root, &["-RR", "--state", state, "--name", "DEMO<00>"]);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let text = stdout(&out);
        assert!(
            text.starts_with("No WINS server is configured on this host"),
            "{text}"
        );
        assert!(text.contains("Demonstration over"), "{text}");
        assert!(text.contains("Version ID before"), "{text}");
        assert!(!text.contains("have been refreshed"), "{text}");
    }
    assert!(!Path::new(state).exists(), "the demonstration kept state");
    let out = run(&root, &["-RR", "--json"]);
    let lines = json_lines(&out);
    let demo = events(&lines, "demonstration");
    assert_eq!(demo.len(), 2, "{}", describe(&out));
    assert_eq!(demo[0]["phase"], "start");
    assert_eq!(demo[1]["phase"], "end");
    for v in events(&lines, "version") {
        assert!(v["after"].as_u64() > v["before"].as_u64(), "{v}");
    }
}

#[test]
fn samba_configuration_names_the_wins_server() {
    let wins = Wins::start();
    let root = dir("samba");
    // Comments, a continuation line, mixed case and spaces in the key, a
    // share section that must not count, an include that is not followed.
    let conf = format!(
        "# wins server = 127.0.0.9:1\n\
         [Global]\n\
         \t; wins server = 127.0.0.9:2\n\
         \tWINS  Server = \\\n\
         \t    primary:{}\n\
         \tinclude = /nowhere/else.conf\n\
         [homes]\n\
         \twins server = 127.0.0.9:3\n",
        wins.text()
    );
    write(&root.join("etc/samba/smb.conf"), &conf);
    let mut args = vec!["--register", "--name", "SAMBACONF<00>"];
    args.extend(LOCAL);
    let out = run(&root, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stderr(&out).contains("WINS servers from"),
        "{}",
        describe(&out)
    );
    assert!(stderr(&out).contains("include = /nowhere/else.conf"));
    assert_eq!(wins.state("SAMBACONF", 0), Some(RecordState::Active));

    // --configfile wins over the system's file.
    let other = root.join("other.conf");
    write(
        &other,
        &format!("[global]\nwins server = {}\n", wins.text()),
    );
    write(
        &root.join("etc/samba/smb.conf"),
        "[global]\nwins server = 127.0.0.9:4\n",
    );
    let mut args = vec![
        "--register",
        "--name",
        "CONFIGFILE<00>",
        "--configfile",
        other.to_str().unwrap(),
    ];
    args.extend(LOCAL);
    let out = run(&root, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(wins.state("CONFIGFILE", 0), Some(RecordState::Active));
    // A missing --configfile is an error, not a fallback.
    let out = run(&root, &["-n", "--configfile", "/nonexistent/smb.conf"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

/// dhclient and NetworkManager leases, used when smb.conf names none. (The
/// test's lease files carry a port after each address, which real ones do
/// not, so that the servers can be on ephemeral ports.)
#[test]
fn dhcp_leases_name_the_wins_servers() {
    let wins = Wins::start();
    let (_quiet, quiet) = silent();
    let root = dir("dhcp");
    write(
        &root.join("etc/samba/smb.conf"),
        "[global]\nworkgroup = W\n",
    );
    write(
        &root.join("var/lib/dhcp/dhclient.eth0.leases"),
        &format!(
            "lease {{\n  interface \"eth0\";\n  option netbios-name-servers {quiet};\n  \
             expire 4 2099/01/01 00:00:00;\n}}\n\
             lease {{\n  interface \"eth0\";\n  option netbios-name-servers {};\n  \
             expire 4 2099/01/01 00:00:00;\n}}\n\
             lease {{\n  interface \"eth1\";\n  option netbios-name-servers 127.0.0.9:5;\n  \
             expire 1 2001/01/01 00:00:00;\n}}\n",
            wins.text()
        ),
    );
    let mut args = vec!["--register", "--name", "LEASED<00>"];
    args.extend(LOCAL);
    let out = run(&root, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("dhclient.eth0.leases: {}", wins.addr)),
        "only the newest, unexpired lease counts: {err}"
    );
    assert_eq!(wins.state("LEASED", 0), Some(RecordState::Active));

    // NetworkManager, alone: its internal DHCP client keeps option 44 in
    // memory, and nmcli prints it (a stand-in nmcli prints what
    // NetworkManager 1.58's does, see config.rs). Neither its lease file
    // nor its device state file holds the option: what they would name
    // here (a silent server) is not used.
    let root = dir("nm");
    let nmcli = root.join("nmcli");
    write(
        &nmcli,
        &format!(
            "#!/bin/sh\n[ \"$*\" = '--terse --fields DHCP4 device show' ] || exit 8\n\
             printf 'DHCP4.OPTION[1]:ip_address = 127.0.0.1\\n\
             DHCP4.OPTION[2]:netbios_name_servers = {}\\n'\n",
            wins.text()
        ),
    );
    std::fs::set_permissions(&nmcli, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    write(
        &root.join("var/lib/NetworkManager/internal-0b1c-eth0.lease"),
        &format!("# This is private data. Do not parse.\nADDRESS={quiet}\n"),
    );
    write(
        &root.join("run/NetworkManager/devices/2"),
        &format!("[device]\nmanaged=true\n[dhcp4]\nnetbios_name_servers={quiet}\n"),
    );
    let mut args = vec!["--register", "--name", "NMLEASE<00>"];
    args.extend(LOCAL);
    let out = command(&root, &args)
        .env("NBTSTAT_NMCLI", &nmcli)
        .output()
        .expect("run nbtstat");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stderr(&out).contains(&format!(
            "(nmcli DHCP4.OPTION netbios_name_servers): {}",
            wins.addr
        )),
        "{}",
        describe(&out)
    );
    assert_eq!(wins.state("NMLEASE", 0), Some(RecordState::Active));

    // NetworkManager before 1.58 with its dhclient backend: dhclient's
    // lease format under NetworkManager's own name.
    let root = dir("nm-dhclient");
    write(
        &root.join("var/lib/NetworkManager/dhclient-0b1c-eth0.lease"),
        &format!(
            "lease {{\n  interface \"eth0\";\n  option netbios-name-servers {};\n  \
             expire 4 2099/01/01 00:00:00;\n}}\n",
            wins.text()
        ),
    );
    let mut args = vec!["--register", "--name", "NMDHCL<00>"];
    args.extend(LOCAL);
    let out = run(&root, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(wins.state("NMDHCL", 0), Some(RecordState::Active));

    // Nothing configured: --register says what to give.
    let out = run(&dir("none"), &["--register", "--name", "X"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("--wins"), "{}", describe(&out));
}

#[test]
fn wins_takes_host_names() {
    let wins = Wins::start();
    let root = dir("hostname");
    let server = format!("localhost:{}", wins.addr.port());
    let mut args = vec!["--register", "--name", "BYNAME<00>", "--wins", &server];
    args.extend(LOCAL);
    let out = run(&root, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(wins.state("BYNAME", 0), Some(RecordState::Active));
    // Dotted numbers that are no address are not looked up as a name.
    let out = run(&root, &["-n", "--wins", "127.0.0.300"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn cooldown_starts_only_when_a_server_answered() {
    let (_quiet, quiet) = silent();
    let root = dir("cool-silent");
    let state = root.join("rr.state");
    let state = state.to_str().unwrap();
    let mut args = vec![
        "-RR",
        "--json",
        "--wins",
        &quiet,
        "--state",
        state,
        "--timeout",
        "2",
        "--name",
        "Q<00>",
    ];
    args.extend(LOCAL);
    for _ in 0..2 {
        let out = run(&root, &args);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(events(&json_lines(&out), "refused").is_empty());
    }
}

#[test]
fn cooldown_key_is_the_set_of_servers_and_refusal_has_exit_3() {
    let a = Wins::start();
    let b = Wins::start();
    let root = dir("cool-key");
    let state = root.join("rr.state");
    let state = state.to_str().unwrap();
    let rr = |servers: &[&String]| {
        let mut args = vec!["-RR", "--json", "--state", state, "--name", "KEYED<00>"];
        for s in servers {
            args.extend(["--wins", s]);
        }
        args.extend(LOCAL);
        run(&root, &args)
    };
    let (ta, tb) = (a.text(), b.text());
    let out = rr(&[&ta, &ta, &tb]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let before = (a.received(), b.received());
    for servers in [&[&tb, &ta][..], &[&ta, &tb], &[&ta, &tb, &tb]] {
        let servers: &[&String] = servers;
        let out = rr(servers);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{servers:?}: {}",
            describe(&out)
        );
        assert_eq!(events(&json_lines(&out), "refused").len(), 1);
    }
    assert_eq!((a.received(), b.received()), before, "a refused -RR sent");
    // Another set of servers is another key.
    let out = rr(&[&ta]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

#[test]
fn an_unwritable_state_file_is_an_error_before_anything_is_sent() {
    let wins = Wins::start();
    let root = dir("cool-unwritable");
    let missing = root.join("no-such-dir/rr.state");
    let server = wins.text();
    let mut args = vec![
        "-RR",
        "--wins",
        &server,
        "--state",
        missing.to_str().unwrap(),
        "--name",
        "S<00>",
    ];
    args.extend(LOCAL);
    let out = run(&root, &args);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr(&out).contains("cannot write the -RR state"),
        "{}",
        describe(&out)
    );
    assert_eq!(wins.received(), 0, "sent despite the state file");
    assert!(
        !missing.parent().unwrap().exists(),
        "--state created a directory"
    );
}

/// An `nbtstat --hold` in the background: its stdout lines.
struct Holder {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Holder {
    fn start(root: &Path, wins: &Wins, name: &str, extra: &[&str]) -> Self {
        let server = wins.text();
        let mut args = vec![
            "--hold",
            "--hold-seconds",
            "60",
            "--wins",
            &server,
            "--name",
            name,
        ];
        args.extend(LOCAL);
        args.extend_from_slice(extra);
        let mut child = command(root, &args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn --hold");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let mut h = Self { child, lines };
        h.wait_for("holding");
        h
    }

    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Ok(l) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if l.contains(text) {
                return;
            }
        }
        panic!("no {text:?} from nbtstat --hold");
    }

    fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sigterm_releases_the_names_of_hold() {
    let wins = Wins::start();
    let root = dir("sigterm");
    let mut h = Holder::start(&root, &wins, "TERMED<00>", &[]);
    assert_eq!(wins.state("TERMED", 0), Some(RecordState::Active));
    let kill = Command::new("kill")
        .args(["-TERM", &h.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = h
        .wait_exit(Duration::from_secs(15))
        .expect("exit after SIGTERM");
    assert!(status.success(), "{status}");
    assert_eq!(wins.state("TERMED", 0), Some(RecordState::Released));
}

#[test]
fn end_of_input_releases_unless_no_stdin() {
    let wins = Wins::start();
    let root = dir("eof");
    let mut h = Holder::start(&root, &wins, "EOFED<00>", &[]);
    drop(h.child.stdin.take());
    let status = h
        .wait_exit(Duration::from_secs(15))
        .expect("exit at end of input");
    assert!(status.success(), "{status}");
    assert_eq!(wins.state("EOFED", 0), Some(RecordState::Released));

    let mut h = Holder::start(&root, &wins, "KEPT<00>", &["--no-stdin"]);
    drop(h.child.stdin.take());
    assert!(
        h.wait_exit(Duration::from_millis(1500)).is_none(),
        "--no-stdin quit at EOF"
    );
    assert_eq!(wins.state("KEPT", 0), Some(RecordState::Active));
}

#[test]
fn node_status_honours_timeout_and_says_what_failed() {
    let wins = Wins::start();
    let (_quiet, quiet) = silent();
    let root = dir("status");
    // -A of a host that does not answer: within --timeout.
    let start = Instant::now();
    let out = run(&root, &["-A", &quiet, "--timeout", "1"]);
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stdout(&out).contains("did not answer"),
        "{}",
        describe(&out)
    );

    // -a: not registered; the WINS server silent; the host silent.
    let server = wins.text();
    let out = run(&root, &["-a", "NOSUCH", "--wins", &server, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(
        events(&json_lines(&out), "host_not_found")[0]["reason"],
        "name_not_registered"
    );
    let start = Instant::now();
    let out = run(&root, &["-a", "NOSUCH", "--wins", &quiet, "--timeout", "1"]);
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
    assert!(
        stdout(&out).contains("no WINS server answered"),
        "{}",
        describe(&out)
    );

    // A name registered for 127.0.0.77, where nobody answers node status.
    let out = run(
        &root,
        &[
            "--register",
            "--wins",
            &server,
            "--addr",
            "127.0.0.77",
            "--port",
            "0",
            "--name",
            "ABSENT<00>",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let out = run(
        &root,
        &[
            "-a",
            "absent",
            "--wins",
            &server,
            "--timeout",
            "1",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let lines = json_lines(&out);
    let ev = &events(&lines, "host_not_found")[0];
    assert_eq!(ev["reason"], "host_no_answer", "{}", describe(&out));
    assert_eq!(ev["address"], "127.0.0.77:137");
}

#[test]
fn names_file_reports_every_error_and_upper_cases() {
    let wins = Wins::start();
    let root = dir("names");
    let file = root.join("names.txt");
    write(
        &file,
        "# comment\nGOOD<00>\nBAD<2>\nTRAIL<00> group extra\nSAME<20>\nsame<20> unique\n",
    );
    let f = file.to_str().unwrap();
    let out = run(
        &root,
        &["--register", "--names-file", f, "--wins", "127.0.0.1:9"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = stderr(&out);
    for want in [
        format!("{f}:3: bad suffix"),
        format!("{f}:4: \"extra\" after `group`"),
        format!("{f}:6: SAME<20> again (first on line 5)"),
    ] {
        assert!(err.contains(&want), "missing {want:?} in {err}");
    }
    assert_eq!(wins.received(), 0);

    write(&file, "# only a comment\n\n");
    let out = run(
        &root,
        &["--register", "--names-file", f, "--wins", "127.0.0.1:9"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("no names"), "{}", describe(&out));

    write(&file, "lower<20>\nmixedCase group\n");
    let server = wins.text();
    let mut args = vec!["--register", "--names-file", f, "--wins", &server];
    args.extend(LOCAL);
    let out = run(&root, &args);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(wins.state("LOWER", 0x20), Some(RecordState::Active));
    assert_eq!(wins.state("MIXEDCASE", 0), Some(RecordState::Active));
    assert_eq!(wins.state("lower", 0x20), None);
}

#[test]
fn register_prints_why_each_name_failed() {
    let (_quiet, quiet) = silent();
    let root = dir("reasons");
    let mut args = vec![
        "--register",
        "--wins",
        &quiet,
        "--timeout",
        "5",
        "--name",
        "LONELY<00>",
    ];
    args.extend(LOCAL);
    let out = run(&root, &args);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert!(
        text.contains("failed       LONELY         <00>  no WINS server answered"),
        "{text}"
    );
}

#[test]
fn windows_switches() {
    let root = dir("switches");
    for s in ["-rr", "-Rr", "-rR"] {
        let out = run(&root, &[s]);
        assert_eq!(out.status.code(), Some(2), "{s}: {}", describe(&out));
        assert!(stderr(&out).contains("-RR"), "{s}: {}", describe(&out));
    }
    for s in ["-r", "-R", "-c", "-s", "-S"] {
        let out = run(&root, &[s]);
        assert_eq!(out.status.code(), Some(2), "{s}: {}", describe(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{s}: {err}");
        assert!(err.contains("on Windows"), "{s}: {err}");
    }
    for help in ["/?", "--help", "-h"] {
        let out = run(&root, &[help]);
        assert_eq!(out.status.code(), Some(0), "{help}: {}", describe(&out));
        assert!(stdout(&out).contains("Exit status"), "{help}");
    }
}
