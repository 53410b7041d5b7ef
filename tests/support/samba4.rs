//! Samba 4's AD DC WINS server (nbtd + wrepl) as a private replication
//! peer, run by `tests/peer/samba4-wins.sh` in a pair of network
//! namespaces: Samba at `<subnet>.1` in the server namespace, partners at
//! `<subnet>.2`–`.9` in the client namespace.
//!
//! Its WINS database is read with `ldbsearch` ([`Samba4Wins::records`]).
//! [`Samba4Wins::start`] runs the single instance (fixed namespace names and
//! state directory; the provisioned domain is cached there between runs);
//! [`Samba4Wins::start_instance`] runs one of two at once, [`PAIR_A`] and
//! [`PAIR_B`], each in its own server namespace with its own address, name,
//! domain and state directory, on one bridged segment with the clients.

use core::net::Ipv4Addr;
use core::time::Duration;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
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

/// How the client namespace of an instance comes about (the script's
/// `S4_CLIENT_NS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientNs {
    /// Made with the instance, the client addresses on its veth end.
    Own,
    /// Made with the instance, the client addresses on a bridge that other
    /// instances can join.
    Bridge,
    /// The client namespace of a running [`ClientNs::Bridge`] instance.
    Join,
}

/// Where one Samba instance runs: the script's environment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Instance {
    /// State directory, under the temporary directory.
    pub(crate) dir: &'static str,
    /// Namespace name prefix (`S4_NS_PREFIX`).
    pub(crate) ns_prefix: &'static str,
    /// First three octets (`S4_SUBNET`).
    pub(crate) subnet: &'static str,
    /// Suffix of the server namespace and veth (`S4_INSTANCE`).
    pub(crate) instance: &'static str,
    /// Last octet of Samba's address (`S4_SRV_OCTET`).
    pub(crate) octet: u8,
    /// NetBIOS name (`S4_NAME`).
    pub(crate) name: &'static str,
    /// Domain (`S4_DOMAIN`).
    pub(crate) domain: &'static str,
    /// The client namespace (`S4_CLIENT_NS`).
    pub(crate) client_ns: ClientNs,
}

/// The single instance of [`Samba4Wins::start`].
pub(crate) const SINGLE: Instance = Instance {
    dir: "nbns-samba4",
    ns_prefix: "nbs4",
    subnet: "10.137.41",
    instance: "",
    octet: 1,
    name: "S4REPL",
    domain: "NBREPL",
    client_ns: ClientNs::Own,
};

/// The first of two instances at once: `10.137.43.1`, owner of the client
/// namespace and its bridge. Stop [`PAIR_B`] first.
pub(crate) const PAIR_A: Instance = Instance {
    dir: "nbns-samba4-a",
    ns_prefix: "nbs4p",
    subnet: "10.137.43",
    instance: "a",
    octet: 1,
    name: "S4REPLA",
    domain: "NBREPLA",
    client_ns: ClientNs::Bridge,
};

/// The second of two instances at once: `10.137.43.11`, on the bridge of
/// [`PAIR_A`]'s client namespace.
pub(crate) const PAIR_B: Instance = Instance {
    dir: "nbns-samba4-b",
    ns_prefix: "nbs4p",
    subnet: "10.137.43",
    instance: "b",
    octet: 11,
    name: "S4REPLB",
    domain: "NBREPLB",
    client_ns: ClientNs::Join,
};

impl Instance {
    /// The script's environment for this instance.
    fn vars(&self) -> Vec<(&'static str, String)> {
        let client_ns = match self.client_ns {
            ClientNs::Own => "own",
            ClientNs::Bridge => "bridge",
            ClientNs::Join => "join",
        };
        vec![
            ("S4_DIR", self.state_dir().display().to_string()),
            ("S4_NS_PREFIX", self.ns_prefix.to_owned()),
            ("S4_SUBNET", self.subnet.to_owned()),
            ("S4_INSTANCE", self.instance.to_owned()),
            ("S4_SRV_OCTET", self.octet.to_string()),
            ("S4_NAME", self.name.to_owned()),
            ("S4_DOMAIN", self.domain.to_owned()),
            ("S4_CLIENT_NS", client_ns.to_owned()),
        ]
    }

    fn state_dir(&self) -> PathBuf {
        std::env::temp_dir().join(self.dir)
    }

    /// Samba's address.
    pub(crate) fn server_ip(&self) -> Ipv4Addr {
        format!("{}.{}", self.subnet, self.octet)
            .parse()
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    /// The client namespace.
    pub(crate) fn client_netns(&self) -> String {
        format!("{}c", self.ns_prefix)
    }
}

/// A running Samba 4 WINS server; stopped on drop.
#[derive(Debug)]
pub(crate) struct Samba4Wins {
    instance: Instance,
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

/// Runs `samba4-wins.sh SUBCOMMAND` for `instance`, with the variables
/// `env` besides the instance's: its output, or an error with its stderr
/// when it fails.
fn run_script(
    instance: &Instance,
    subcommand: &str,
    env: &[(&str, &str)],
) -> Result<Output, String> {
    let out = Command::new("bash")
        .arg(script())
        .arg(subcommand)
        .envs(instance.vars())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run samba4-wins.sh: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "samba4-wins.sh {subcommand} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Samba4Wins {
    /// Starts Samba with these replication partners (the script's
    /// `S4_PARTNERS`: `octet:type:pullInterval:pushChangeCount` entries)
    /// and one extra line for smb.conf's `[global]` (may be empty).
    pub(crate) fn start(partners: &str, extra_conf: &str) -> Result<Self, String> {
        Self::start_instance(SINGLE, partners, extra_conf)
    }

    /// Starts the Samba `instance` with these replication partners and
    /// this extra line for smb.conf, as [`Samba4Wins::start`] does.
    pub(crate) fn start_instance(
        instance: Instance,
        partners: &str,
        extra_conf: &str,
    ) -> Result<Self, String> {
        check_requirements()?;
        let out = run_script(
            &instance,
            "start",
            &[("S4_PARTNERS", partners), ("S4_EXTRA_CONF", extra_conf)],
        )?;
        let env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Self {
            instance,
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

    /// Adds replication partners (entries as for [`Samba4Wins::start`]) to
    /// the running Samba; its next periodic run reads them, and pulls at
    /// once from a new pull partner.
    pub(crate) fn add_partners(&self, partners: &str) -> Result<(), String> {
        run_script(&self.instance, "add-partners", &[("S4_PARTNERS", partners)]).map(drop)
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
            .envs(self.instance.vars())
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
    run_driver_with(samba, test, &[(driver_env, "1".into())], pcap_name, 45)
}

/// [`run_driver`] with the driver's environment `envs` and a limit of
/// `limit_secs` seconds.
pub(crate) fn run_driver_with(
    samba: &Samba4Wins,
    test: &str,
    envs: &[(&str, String)],
    pcap_name: &str,
    limit_secs: u64,
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
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .env("S4_SERVER", samba.server_ip().to_string())
        .env("S4_CLIENT", samba.client_ip().to_string())
        .env("S4_LDB", samba.wins_ldb())
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn the driver");
    let deadline = Instant::now() + Duration::from_secs(limit_secs);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the driver") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the driver did not finish in {limit_secs} s\n{}",
                samba.log()
            );
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
