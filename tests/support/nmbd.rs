//! Samba's nmbd as a private WINS server, in network namespaces of its own.
//!
//! [`NmbdWins::start`] runs `tests/peer/nmbd-wins.sh start` with a namespace
//! prefix, subnet and state directory unique to the instance, so tests running
//! in parallel threads (or processes) each get their own server:
//!
//! ```text
//!   <prefix>wins  nbw0  <subnet>.1/24        nmbd, WINS server
//!   <prefix>cli   nbc0  <subnet>.2/24        clients (+ <subnet>.3 .. .9)
//! ```
//!
//! Clients run inside the client namespace ([`NmbdWins::run_in_client`],
//! [`NmbdWins::client_command`]). Dropping the value stops nmbd and removes
//! the namespaces; the state directory is kept when the test panicked (or when
//! `NBNS_KEEP` is set), and its path is printed.

use core::fmt;
use core::net::Ipv4Addr;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;

/// Instances started by this process so far; makes prefixes and subnets unique.
pub(super) static INSTANCES: AtomicU32 = AtomicU32::new(0);
/// Start of every namespace name this module creates: `nbt<pid>n<instance>`.
pub(super) const PREFIX_START: &str = "nbt";

/// Settings of the nmbd instance; `Default` gives a plain WINS server.
#[derive(Debug, Clone)]
pub(crate) struct WinsOptions {
    /// NetBIOS name of the server (default `WINSSRV`).
    pub(crate) netbios_name: String,
    /// Workgroup (default `NBNSTEST`).
    pub(crate) workgroup: String,
    /// nmbd log level (default 1; 5 logs each WINS version-ID bump).
    pub(crate) log_level: u8,
    /// nmbd's `min wins ttl` and `max wins ttl`: the TTL a client asks for is
    /// clamped into this range (defaults 10 and 518400 seconds).
    pub(crate) min_ttl: u32,
    /// See `min_ttl`.
    pub(crate) max_ttl: u32,
    /// Wait until nmbd has registered its own names on the subnet (about
    /// 4-7 s more); only then does it defend them against B-node claims.
    pub(crate) wait_settled: bool,
    /// Extra lines for the `[global]` section of nmbd's smb.conf.
    pub(crate) extra_conf: String,
}

impl Default for WinsOptions {
    fn default() -> Self {
        Self {
            netbios_name: "WINSSRV".to_owned(),
            workgroup: "NBNSTEST".to_owned(),
            log_level: 1,
            min_ttl: 10,
            max_ttl: 518_400,
            wait_settled: false,
            extra_conf: String::new(),
        }
    }
}

/// A running nmbd WINS server; see the module documentation.
#[derive(Debug)]
pub(crate) struct NmbdWins {
    dir: PathBuf,
    prefix: String,
    subnet: String,
    netbios_name: String,
    net: NetnsPair,
    cli_extra_ips: Vec<Ipv4Addr>,
    wins_tdb: PathBuf,
    nmbd_pid: u32,
    stopped: bool,
}

/// The pair of namespaces `nmbd-wins.sh` sets up, as its `env` file
/// describes them, and what runs in them. [`NmbdWins`] and
/// [`NmbdClient`](super::NmbdClient) dereference to it.
#[derive(Debug, Clone)]
pub(crate) struct NetnsPair {
    wins_ns: String,
    cli_ns: String,
    wins_if: String,
    cli_if: String,
    wins_ip: Ipv4Addr,
    cli_ip: Ipv4Addr,
    client_conf: PathBuf,
    nmbd_log: PathBuf,
}

impl NetnsPair {
    /// Before the `env` file is read: nothing set yet.
    pub(super) fn unset() -> Self {
        Self {
            wins_ns: String::new(),
            cli_ns: String::new(),
            wins_if: String::new(),
            cli_if: String::new(),
            wins_ip: Ipv4Addr::UNSPECIFIED,
            cli_ip: Ipv4Addr::UNSPECIFIED,
            client_conf: PathBuf::new(),
            nmbd_log: PathBuf::new(),
        }
    }

    pub(super) fn from_env(env: &EnvFile) -> Result<Self, String> {
        Ok(Self {
            wins_ns: env.var("WINS_NS")?,
            cli_ns: env.var("CLI_NS")?,
            wins_if: env.var("WINS_IF")?,
            cli_if: env.var("CLI_IF")?,
            wins_ip: env.ip("WINS_IP")?,
            cli_ip: env.ip("CLI_IP")?,
            client_conf: PathBuf::from(env.var("CLIENT_CONF")?),
            nmbd_log: PathBuf::from(env.var("NMBD_LOG")?),
        })
    }

    /// The server namespace's address (`<subnet>.1`, UDP port 137): nmbd as
    /// WINS server, or the server under test.
    pub(crate) fn wins_ip(&self) -> Ipv4Addr {
        self.wins_ip
    }

    /// The main client address (`<subnet>.2`).
    pub(crate) fn client_ip(&self) -> Ipv4Addr {
        self.cli_ip
    }

    /// The server namespace.
    pub(crate) fn server_netns(&self) -> &str {
        &self.wins_ns
    }

    /// The client namespace.
    pub(crate) fn client_netns(&self) -> &str {
        &self.cli_ns
    }

    /// The server's veth interface (inside [`Self::server_netns`]).
    pub(crate) fn server_interface(&self) -> &str {
        &self.wins_if
    }

    /// The client's veth interface (inside [`Self::client_netns`]).
    pub(crate) fn client_interface(&self) -> &str {
        &self.cli_if
    }

    /// An smb.conf for Samba client tools in the client namespace
    /// (`nmblookup -s <this>`), pointing at the WINS server.
    pub(crate) fn client_conf(&self) -> &Path {
        &self.client_conf
    }

    /// What nmbd has logged so far.
    pub(crate) fn nmbd_log(&self) -> String {
        fs::read_to_string(&self.nmbd_log).unwrap_or_default()
    }

    /// A command that runs `program` inside the client namespace; spawn it
    /// for clients that must run alongside the test.
    pub(crate) fn client_command(&self, program: impl AsRef<OsStr>) -> Command {
        netns_command(&self.cli_ns, program.as_ref())
    }

    /// A command that runs `program` inside the server namespace.
    pub(crate) fn server_command(&self, program: impl AsRef<OsStr>) -> Command {
        netns_command(&self.wins_ns, program.as_ref())
    }

    /// Runs `program args...` inside the client namespace and waits for it.
    /// Panics if it cannot be started.
    pub(crate) fn run_in_client<I, S>(&self, program: &str, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.client_command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("could not run {program} in netns {}: {e}", self.cli_ns))
    }

    /// Runs `nmblookup -s <client.conf> args...` inside the client namespace
    /// (from an ephemeral port, beside nmbd's port 137).
    pub(crate) fn nmblookup<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut all: Vec<std::ffi::OsString> = vec!["-s".into(), self.client_conf.clone().into()];
        all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self.run_in_client("nmblookup", all)
    }
}

/// The harness's `env` file of one instance.
pub(super) struct EnvFile {
    path: PathBuf,
    vars: HashMap<String, String>,
}

impl EnvFile {
    /// Reads `<dir>/env`.
    pub(super) fn read(dir: &Path) -> Result<Self, String> {
        let path = dir.join("env");
        let vars = read_env_file(&path)?;
        Ok(Self { path, vars })
    }

    /// The value of `key`; an error when the file lacks it.
    pub(super) fn var(&self, key: &str) -> Result<String, String> {
        self.vars
            .get(key)
            .cloned()
            .ok_or_else(|| format!("{} lacks {key}", self.path.display()))
    }

    /// The value of `key` as an IPv4 address.
    pub(super) fn ip(&self, key: &str) -> Result<Ipv4Addr, String> {
        let text = self.var(key)?;
        text.parse()
            .map_err(|_| format!("{key}={text} is not an IPv4 address"))
    }
}

/// Runs one `nmbd-wins.sh` subcommand, prepared in `command`; an error with
/// its output when it fails.
pub(super) fn run_harness(mut command: Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("could not run nmbd-wins.sh {what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nmbd-wins.sh {what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// State of a WINS record (the `wins_flags` state bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordState {
    /// In use.
    Active,
    /// Released by its owner, kept until it becomes a tombstone.
    Released,
    /// Extinct, kept for replication.
    Tombstoned,
    /// Marked for deletion.
    Deleted,
}

/// Kind of a WINS record (the `wins_flags` type bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordType {
    /// A unique name.
    Unique,
    /// A normal group.
    NormalGroup,
    /// A special (internet, 0x1C) group.
    SpecialGroup,
    /// A multi-homed unique name.
    MultiHomed,
}

/// One record of nmbd's WINS database, as `tests/peer/wins-db.py` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WinsRecord {
    /// The name as stored (upper case, no padding), bytes as they are.
    pub(crate) name_bytes: Vec<u8>,
    /// `name_bytes` as text (invalid UTF-8 replaced).
    pub(crate) name: String,
    /// The name type (suffix byte), such as 0x00, 0x20, 0x1C.
    pub(crate) suffix: u8,
    /// The WINS version ID.
    pub(crate) version: u64,
    /// Active, released, ...
    pub(crate) state: RecordState,
    /// Unique, group, ...
    pub(crate) record_type: RecordType,
    /// The NB flags word stored with the record.
    pub(crate) nb_flags: u16,
    /// Owning WINS server (0.0.0.0 for records this nmbd owns).
    pub(crate) owner: Ipv4Addr,
    /// Addresses of the record (0.0.0.0 stands for a normal group).
    pub(crate) ips: Vec<Ipv4Addr>,
}

impl fmt::Display for WinsRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}<{:02x}> version {} {:?} {:?} flags {:#06x} ips {:?}",
            self.name,
            self.suffix,
            self.version,
            self.state,
            self.record_type,
            self.nb_flags,
            self.ips
        )
    }
}

impl NmbdWins {
    /// Starts nmbd with the default [`WinsOptions`].
    pub(crate) fn start() -> Result<Self, String> {
        Self::start_with(&WinsOptions::default())
    }

    /// Starts nmbd with `options`, in namespaces and a state directory of its
    /// own. Fails (with what is missing) when not run as root or without
    /// nmbd / iproute2.
    pub(crate) fn start_with(options: &WinsOptions) -> Result<Self, String> {
        check_requirements()?;
        remove_stale_instances_once();

        let pid = std::process::id();
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{PREFIX_START}{pid}n{instance}");
        // the namespaces are isolated, so equal subnets would work as well;
        // distinct ones keep captures and logs easy to tell apart
        let subnet = format!("10.137.{}", 1 + instance % 254);
        let dir = instance_dir(pid, instance);

        let mut start = harness(&dir, &prefix, &subnet);
        start
            .arg("start")
            .env("NBNS_NAME", &options.netbios_name)
            .env("NBNS_WORKGROUP", &options.workgroup)
            .env("NBNS_LOG_LEVEL", options.log_level.to_string())
            .env("NBNS_MIN_TTL", options.min_ttl.to_string())
            .env("NBNS_MAX_TTL", options.max_ttl.to_string())
            .env(
                "NBNS_WAIT_SETTLED",
                if options.wait_settled { "1" } else { "0" },
            )
            .env("NBNS_EXTRA_CONF", &options.extra_conf);
        run_harness(start, "start")?;
        // From here on, Drop stops the server if anything below fails.
        let mut server = Self {
            dir: dir.clone(),
            prefix,
            subnet,
            netbios_name: options.netbios_name.to_uppercase(),
            net: NetnsPair::unset(),
            cli_extra_ips: Vec::new(),
            wins_tdb: PathBuf::new(),
            nmbd_pid: 0,
            stopped: false,
        };
        let env = EnvFile::read(&dir)?;
        server.net = NetnsPair::from_env(&env)?;
        server.cli_extra_ips = env
            .var("CLI_EXTRA_IPS")?
            .split_whitespace()
            .map(|text| {
                text.parse()
                    .map_err(|_| format!("bad CLI_EXTRA_IPS entry {text}"))
            })
            .collect::<Result<_, String>>()?;
        server.wins_tdb = PathBuf::from(env.var("WINS_TDB")?);
        server.nmbd_pid = env
            .var("NMBD_PID")?
            .parse()
            .map_err(|_| "NMBD_PID is not a number".to_owned())?;
        Ok(server)
    }

    /// Further addresses of the client namespace (`<subnet>.3` to `.9`).
    pub(crate) fn client_extra_ips(&self) -> &[Ipv4Addr] {
        &self.cli_extra_ips
    }

    /// The server's NetBIOS name (upper case).
    pub(crate) fn netbios_name(&self) -> &str {
        &self.netbios_name
    }

    /// The state directory (smb.conf, logs, WINS database).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// nmbd's live WINS database.
    pub(crate) fn wins_tdb(&self) -> &Path {
        &self.wins_tdb
    }

    /// nmbd's process id.
    pub(crate) fn nmbd_pid(&self) -> u32 {
        self.nmbd_pid
    }

    /// All records of the WINS database. Panics if it cannot be read.
    pub(crate) fn records(&self) -> Vec<WinsRecord> {
        self.try_records()
            .unwrap_or_else(|e| panic!("reading the WINS database failed: {e}"))
    }

    /// All records of the WINS database.
    pub(crate) fn try_records(&self) -> Result<Vec<WinsRecord>, String> {
        let python = if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let script = peer_dir().join("wins-db.py");
        let output = Command::new(python)
            .arg(&script)
            .arg(&self.wins_tdb)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run {python} {}: {e}", script.display()))?;
        if !output.status.success() {
            return Err(format!(
                "wins-db.py failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| !line.is_empty())
            .map(parse_record)
            .collect()
    }

    /// The record `name<suffix>` (name compared case-insensitively).
    pub(crate) fn record(&self, name: &str, suffix: u8) -> Option<WinsRecord> {
        let wanted = name.trim_end().to_uppercase();
        self.records()
            .into_iter()
            .find(|r| r.suffix == suffix && r.name.to_uppercase() == wanted)
    }

    /// The version ID of `name<suffix>`, if the database holds that name.
    pub(crate) fn version_of(&self, name: &str, suffix: u8) -> Option<u64> {
        self.record(name, suffix).map(|r| r.version)
    }

    /// Stops nmbd and removes the namespaces. Dropping does the same.
    pub(crate) fn stop(mut self) -> Result<(), String> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), String> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        harness_stop(&self.dir, &self.prefix, &self.subnet)
    }
}

/// Runs the harness's `stop`: ends everything in the namespaces of
/// `prefix` and removes them.
pub(crate) fn harness_stop(dir: &Path, prefix: &str, subnet: &str) -> Result<(), String> {
    let mut stop = harness(dir, prefix, subnet);
    stop.arg("stop");
    run_harness(stop, "stop")
}

/// Removes a test's state directory, or keeps it (and says where) when the
/// test panicked or `NBNS_KEEP` is set.
pub(crate) fn remove_or_keep(dir: &Path, what: &str) {
    if std::thread::panicking() || std::env::var_os("NBNS_KEEP").is_some() {
        eprintln!("{what} kept in {}", dir.display());
    } else {
        let _ = fs::remove_dir_all(dir);
    }
}

impl core::ops::Deref for NmbdWins {
    type Target = NetnsPair;
    fn deref(&self) -> &NetnsPair {
        &self.net
    }
}

impl Drop for NmbdWins {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            eprintln!("{e}");
        }
        remove_or_keep(&self.dir, "nmbd state and logs");
    }
}

fn netns_command(netns: &str, program: &OsStr) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", netns]).arg(program);
    command
}

fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("peer")
}

fn harness_path() -> PathBuf {
    peer_dir().join("nmbd-wins.sh")
}

pub(super) fn instance_dir(pid: u32, instance: u32) -> PathBuf {
    std::env::temp_dir().join(format!("nbns-wins-{pid}-{instance}"))
}

/// `bash nmbd-wins.sh` for one instance (subcommand still to be added).
pub(super) fn harness(dir: &Path, prefix: &str, subnet: &str) -> Command {
    let mut command = Command::new("bash");
    command
        .arg(harness_path())
        .env("NBNS_DIR", dir)
        .env("NBNS_NS_PREFIX", prefix)
        .env("NBNS_SUBNET", subnet)
        .stdin(Stdio::null());
    command
}

/// Root, nmbd and iproute2 are required; say which one is missing.
pub(super) fn check_requirements() -> Result<(), String> {
    let status = fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .ok_or("no Uid line in /proc/self/status")?;
    if euid != "0" {
        return Err(format!(
            "the nmbd interop tests must run as root (network namespaces, UDP port 137); \
             effective uid is {euid}"
        ));
    }
    for (tool, package) in [("nmbd", "samba"), ("ip", "iproute2"), ("ss", "iproute2")] {
        if find_program(tool).is_none() {
            return Err(format!(
                "{tool} not found: install it (Debian: apt-get install {package})"
            ));
        }
    }
    Ok(())
}

/// `program` in `PATH` or in the sbin directories (often not in a user's PATH).
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// [`remove_stale_instances`], once per process.
pub(super) fn remove_stale_instances_once() {
    static CLEANUP: Once = Once::new();
    CLEANUP.call_once(remove_stale_instances);
}

/// Removes namespaces left behind by earlier test processes that died
/// without stopping their servers (only those of processes no longer alive).
fn remove_stale_instances() {
    let Ok(listing) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    let mut stale: Vec<(u32, u32)> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(parse_instance_netns)
        .filter(|(pid, _)| !Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    stale.sort_unstable();
    stale.dedup();
    for (pid, instance) in stale {
        let dir = instance_dir(pid, instance);
        let _ = harness(&dir, &format!("{PREFIX_START}{pid}n{instance}"), "10.137.0")
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = fs::remove_dir_all(&dir);
    }
}

/// `nbt<pid>n<instance>wins` or `...cli` -> (pid, instance).
fn parse_instance_netns(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix(PREFIX_START)?;
    let rest = rest
        .strip_suffix("wins")
        .or_else(|| rest.strip_suffix("cli"))?;
    let (pid, instance) = rest.split_once('n')?;
    Some((pid.parse().ok()?, instance.parse().ok()?))
}

/// Reads the harness's `KEY=value` / `KEY="value"` env file.
fn read_env_file(path: &Path) -> Result<HashMap<String, String>, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (key.trim().to_owned(), value.to_owned())
        })
        .collect())
}

/// One tab-separated line of `wins-db.py`.
fn parse_record(line: &str) -> Result<WinsRecord, String> {
    let bad = |what: &str| format!("wins-db.py: bad {what} in line {line:?}");
    let cols: Vec<&str> = line.split('\t').collect();
    let [
        name,
        suffix,
        version,
        state,
        record_type,
        nb_flags,
        owner,
        ips,
    ] = cols[..]
    else {
        return Err(bad("column count"));
    };
    let name_bytes = unescape_name(name).ok_or_else(|| bad("name"))?;
    Ok(WinsRecord {
        name: String::from_utf8_lossy(&name_bytes).into_owned(),
        name_bytes,
        suffix: u8::from_str_radix(suffix, 16).map_err(|_| bad("type"))?,
        version: version.parse().map_err(|_| bad("version"))?,
        state: match state {
            "ACTIVE" => RecordState::Active,
            "RELEASED" => RecordState::Released,
            "TOMBSTONED" => RecordState::Tombstoned,
            "DELETED" => RecordState::Deleted,
            _ => return Err(bad("state")),
        },
        record_type: match record_type {
            "UNIQUE" => RecordType::Unique,
            "NGROUP" => RecordType::NormalGroup,
            "SGROUP" => RecordType::SpecialGroup,
            "MHOMED" => RecordType::MultiHomed,
            _ => return Err(bad("record type")),
        },
        nb_flags: u16::from_str_radix(nb_flags, 16).map_err(|_| bad("nb_flags"))?,
        owner: owner.parse().map_err(|_| bad("owner"))?,
        ips: if ips == "-" {
            Vec::new()
        } else {
            ips.split(',')
                .map(|ip| ip.parse().map_err(|_| bad("ip")))
                .collect::<Result<_, _>>()?
        },
    })
}

/// Undoes wins-db.py's `\xHH` escapes.
fn unescape_name(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'\\' {
            if bytes.next()? != b'x' {
                return None;
            }
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(core::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// Lets a test wait a bounded time for a condition, e.g. a database change.
pub(crate) fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
