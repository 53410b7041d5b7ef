//! Samba 4's AD DC WINS server (nbtd + wrepl) as a private replication
//! peer, run by `tests/peer/samba4-wins.sh` in a pair of network
//! namespaces: Samba at `<subnet>.1` in the server namespace, partners at
//! `<subnet>.2`–`.9` in the client namespace.
//!
//! Its WINS database is read with `ldbsearch` ([`Samba4Wins::records`]).
//! One instance at a time (fixed namespace names and state directory; the
//! provisioned domain is cached there between runs).

use core::net::Ipv4Addr;
use core::time::Duration;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

use super::tshark::{self, TsharkPacket};

/// The Debian packages the harness needs, for error messages and `.ci/run`.
pub(crate) const PACKAGES: &str =
    "samba samba-dsdb-modules samba-ad-provision samba-common-bin ldb-tools iproute2";

/// One record of Samba's `wins.ldb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LdbRecord {
    /// The name without suffix.
    pub(crate) name: String,
    /// The suffix (`type`).
    pub(crate) suffix: u8,
    /// `versionID`.
    pub(crate) version: u64,
    /// `winsOwner`.
    pub(crate) owner: Ipv4Addr,
    /// `recordState`: 0 active, 1 released, 2 tombstone.
    pub(crate) state: u8,
    /// `recordType`: 0 unique, 1 group, 2 special group, 3 multihomed.
    pub(crate) record_type: u8,
}

/// A running Samba 4 WINS server; stopped on drop.
#[derive(Debug)]
pub(crate) struct Samba4Wins {
    dir: PathBuf,
    env: HashMap<String, String>,
    stopped: bool,
}

/// Root and the programs the harness runs; one place for the checks.
pub(crate) fn check_requirements() -> Result<(), String> {
    let status = fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1));
    if euid != Some("0") {
        return Err("the Samba 4 interop tests must run as root (namespaces, ports 42/137)".into());
    }
    for tool in [
        "ip",
        "samba",
        "samba-tool",
        "ldbadd",
        "ldbsearch",
        "nmblookup",
        "tshark",
    ] {
        let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(tool).is_file());
        if !found {
            return Err(format!(
                "{tool} not found: apt-get install {PACKAGES} tshark"
            ));
        }
    }
    // samba-tool provision fails late, and obscurely, without these.
    let dsdb = Command::new("dpkg")
        .args(["-s", "samba-dsdb-modules", "samba-ad-provision"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !dsdb {
        return Err(format!(
            "samba-dsdb-modules or samba-ad-provision missing: apt-get install {PACKAGES}"
        ));
    }
    Ok(())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer/samba4-wins.sh")
}

impl Samba4Wins {
    /// Starts Samba with these replication partners (the script's
    /// `S4_PARTNERS`: `octet:type:pullInterval:pushChangeCount` entries)
    /// and one extra line for smb.conf's `[global]` (may be empty).
    pub(crate) fn start(partners: &str, extra_conf: &str) -> Result<Self, String> {
        check_requirements()?;
        let dir = std::env::temp_dir().join("nbns-samba4");
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .env("S4_DIR", &dir)
            .env("S4_PARTNERS", partners)
            .env("S4_EXTRA_CONF", extra_conf)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run samba4-wins.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "samba4-wins.sh start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Self {
            dir,
            env,
            stopped: false,
        })
    }

    fn var(&self, key: &str) -> &str {
        self.env.get(key).map_or("", String::as_str)
    }

    /// Samba's address (also its owner address).
    pub(crate) fn server_ip(&self) -> Ipv4Addr {
        self.var("SRV_IP").parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    /// The first client address: the configured partner.
    pub(crate) fn client_ip(&self) -> Ipv4Addr {
        self.var("CLI_IP").parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    /// The client namespace.
    pub(crate) fn client_netns(&self) -> &str {
        self.var("CLI_NS")
    }

    /// The client namespace's veth interface.
    pub(crate) fn client_interface(&self) -> &str {
        self.var("CLI_IF")
    }

    /// Samba's WINS database.
    pub(crate) fn wins_ldb(&self) -> &str {
        self.var("WINS_LDB")
    }

    /// Samba's log.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(self.var("SAMBA_LOG")).unwrap_or_default()
    }

    /// `program` inside the client namespace.
    pub(crate) fn client_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.client_netns()]).arg(program);
        c
    }

    /// The records of `wins.ldb` named `name` (all suffixes).
    pub(crate) fn records(&self, name: &str) -> Vec<LdbRecord> {
        ldb_records(Path::new(self.wins_ldb()), &format!("(name={name})"))
    }

    /// Every record of `wins.ldb`.
    pub(crate) fn all_records(&self) -> Vec<LdbRecord> {
        ldb_records(Path::new(self.wins_ldb()), "(objectClass=winsRecord)")
    }

    /// Stops Samba and removes the namespaces.
    pub(crate) fn stop(mut self) -> Result<(), String> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), String> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let status = Command::new("bash")
            .arg(script())
            .arg("stop")
            .env("S4_DIR", &self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("samba4-wins.sh stop: {status}"))
        }
    }
}

impl Drop for Samba4Wins {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

/// `ldbsearch` of `ldb` with `filter`, parsed.
pub(crate) fn ldb_records(ldb: &Path, filter: &str) -> Vec<LdbRecord> {
    let Ok(out) = Command::new("ldbsearch")
        .arg("-H")
        .arg(ldb)
        .arg(filter)
        .args([
            "name",
            "type",
            "versionID",
            "winsOwner",
            "recordState",
            "recordType",
        ])
        .stdin(Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("\n# record ")
        .filter_map(|block| {
            let mut fields = HashMap::new();
            for line in block.lines() {
                if let Some((k, v)) = line.split_once(": ") {
                    fields.insert(k.trim(), v.trim());
                }
            }
            let suffix = fields.get("type")?;
            // Suffixes of 0x80 and above show sign-extended (0xFFFFFFBE).
            let suffix = u32::from_str_radix(suffix.trim_start_matches("0x"), 16).ok()? as u8;
            Some(LdbRecord {
                name: (*fields.get("name")?).to_owned(),
                suffix,
                version: fields.get("versionID")?.parse().ok()?,
                owner: fields.get("winsOwner")?.parse().ok()?,
                state: fields.get("recordState")?.parse().ok()?,
                record_type: fields.get("recordType")?.parse().ok()?,
            })
        })
        .collect()
}

/// Runs the test `test` of this test binary again inside Samba's client
/// namespace, with `driver_env` set (the driver: the side that talks to
/// Samba), while tshark captures TCP 42 and UDP 137 there into
/// `<temp>/<pcap_name>`. Panics unless the driver succeeds within 45 s.
/// Returns the captured packets, each checked to be read without a
/// malformed flag and every TCP payload as `winsrepl`, and the number of
/// replication messages tshark read.
pub(crate) fn run_driver(
    samba: &Samba4Wins,
    test: &str,
    driver_env: &str,
    pcap_name: &str,
) -> (Vec<TsharkPacket>, usize) {
    let pcap = std::env::temp_dir().join(pcap_name);
    let capture = tshark::capture(
        Some(samba.client_netns()),
        samba.client_interface(),
        "tcp port 42 or udp port 137",
        &pcap,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = samba
        .client_command(exe)
        .args([
            "--exact",
            test,
            "--nocapture",
            "--test-threads=1",
            "--include-ignored",
        ])
        .env(driver_env, "1")
        .env("S4_SERVER", samba.server_ip().to_string())
        .env("S4_CLIENT", samba.client_ip().to_string())
        .env("S4_LDB", samba.wins_ldb())
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn the driver");
    let deadline = Instant::now() + Duration::from_secs(45);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the driver") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the driver did not finish in 45 s\n{}", samba.log());
        }
        thread::sleep(Duration::from_millis(50));
    };
    let pcap = capture.stop().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.success(),
        "the driver failed ({status})\nSamba's log:\n{}",
        samba.log()
    );
    let packets = tshark::dissect_fields(
        &pcap,
        &[],
        &[
            "winsrepl.",
            "tcp.len",
            "tcp.segment_data",
            "ip.src",
            "ip.dst",
            "nbns.flags",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut messages = 0;
    for p in &packets {
        assert!(!p.malformed, "frame {} flagged: {:?}", p.number, p.expert);
        let payload = p.field("tcp.len").is_some_and(|l| l != "0");
        // A segment of a message that spans segments is read with the
        // message, in the frame that completes it.
        let winsrepl =
            p.protocols.iter().any(|x| x == "winsrepl") || p.field("tcp.segment_data").is_some();
        assert_eq!(payload, winsrepl, "frame {}: {:?}", p.number, p.protocols);
        messages += p.fields_named("winsrepl.size").len();
    }
    (packets, messages)
}

/// The body of a Samba 4 replication interop test `test` of this binary:
/// inside the client namespace (`driver_env` set) it runs `driver` and
/// returns `None`; outside, unless the gate says no, it starts Samba with
/// our first client address as push and pull partner (`partner`: its
/// `type:pullInterval:pushChangeCount`; Samba's periodic run every
/// second), runs the driver through
/// [`run_driver`] with its capture in `<temp>/<pcap_name>`, and returns
/// Samba, the captured packets and the number of replication messages.
pub(crate) fn replication_test(
    test: &str,
    driver_env: &str,
    pcap_name: &str,
    partner: &str,
    driver: fn(),
) -> Option<(Samba4Wins, Vec<TsharkPacket>, usize)> {
    if std::env::var_os(driver_env).is_some() {
        driver();
        return None;
    }
    if !super::interop_enabled(test) {
        return None;
    }
    let samba = Samba4Wins::start(&format!("2:{partner}"), "wreplsrv:periodic_interval = 1")
        .unwrap_or_else(|e| panic!("{e}"));
    let (packets, messages) = run_driver(&samba, test, driver_env, pcap_name);
    Some((samba, packets, messages))
}

/// The end of a Samba 4 replication interop test `test` begun at
/// `started`: tshark read at least `min_messages` replication messages in
/// its capture (`packets`, `messages` as [`replication_test`] returned
/// them), a line of figures, and Samba stopped.
pub(crate) fn finish_replication_test(
    test: &str,
    samba: Samba4Wins,
    packets: &[TsharkPacket],
    messages: usize,
    min_messages: usize,
    started: Instant,
) {
    assert!(
        messages >= min_messages,
        "tshark read only {messages} replication messages"
    );
    eprintln!(
        "{test}: {} frames, {messages} winsrepl messages, none malformed; {:.1} s in all",
        packets.len(),
        started.elapsed().as_secs_f64()
    );
    samba.stop().unwrap();
}
