//! One broadcast segment of real network namespaces: a bridge inside a hub
//! namespace, and member namespaces plugged into it by veth pairs.
//!
//! ```text
//!   <prefix>h     br0 (bridge) ── v1 ── v2 ── … ── vN
//!   <prefix>m1    eth0  <subnet>.1/24     (peer of v1)
//!   <prefix>m2    eth0  <subnet>.2/24     (peer of v2)
//!   …
//! ```
//!
//! Everything is created inside namespaces the test owns: nothing is added
//! to the root namespace, no member has a route out, and a broadcast to
//! `<subnet>.255` reaches every other member and nothing else.
//!
//! [`Bridge::start_nmbd`] runs Samba's nmbd in one member as a B-node (no
//! WINS server, no WINS support) under a NetBIOS name, with a private
//! smb.conf and state directory; [`Bridge::command_in`] runs any program in
//! a member (nmblookup, tshark, `ip`), and [`Bridge::run_self_in`] runs a
//! test of the current test binary there, so the crate's own code can sit on
//! the segment beside nmbd. Dropping the value stops nmbd and every other
//! process left in the namespaces, then deletes the namespaces (their veth
//! pairs and the bridge go with them). Namespaces of test processes that
//! died without cleaning up are removed the next time a bridge starts.

use core::net::Ipv4Addr;
use core::sync::atomic::Ordering;
use core::time::Duration;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::Instant;

use super::nmbd::{INSTANCES, check_requirements, remove_or_keep, wait_until};
use super::tshark::{self, CaptureHandle};

/// Start of every namespace name this module creates: `nbb<pid>n<instance>`.
const PREFIX_START: &str = "nbb";
/// Time allowed for nmbd to bind its port.
const NMBD_BIND_TIMEOUT: Duration = Duration::from_secs(30);
/// Time given to nmbd to exit on SIGTERM before SIGKILL.
const NMBD_STOP_TIMEOUT: Duration = Duration::from_secs(8);

/// A running segment; see the module documentation.
#[derive(Debug)]
pub(crate) struct Bridge {
    prefix: String,
    subnet: [u8; 3],
    members: usize,
    dir: PathBuf,
    nmbd: Option<Nmbd>,
    torn_down: bool,
}

/// nmbd running in a member.
#[derive(Debug)]
struct Nmbd {
    member: usize,
    name: String,
    child: Child,
    log: PathBuf,
}

impl Bridge {
    /// Creates the hub namespace with its bridge and `members` member
    /// namespaces (1 to 200) on a subnet of their own. Needs root and
    /// iproute2.
    pub(crate) fn start(members: usize) -> Result<Self, String> {
        check_requirements()?;
        if !(1..=200).contains(&members) {
            return Err(format!("a bridge has 1 to 200 members, not {members}"));
        }
        remove_stale_once();
        let pid = std::process::id();
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{PREFIX_START}{pid}n{instance}");
        let dir = std::env::temp_dir().join(format!("nbns-bridge-{pid}-{instance}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // Namespaces are isolated: equal subnets in two bridges would work;
        // distinct ones keep captures apart.
        let subnet = [10, 138, u8::try_from(1 + instance % 254).unwrap_or(1)];
        let mut bridge = Self {
            prefix,
            subnet,
            members,
            dir,
            nmbd: None,
            torn_down: false,
        };
        // From here on, Drop removes whatever was created.
        bridge.set_up()?;
        Ok(bridge)
    }

    fn set_up(&mut self) -> Result<(), String> {
        let hub = self.hub();
        add_namespace(&hub)?;
        ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &hub, "link", "set", "br0", "up"])?;
        for i in 1..=self.members {
            let ns = self.netns(i);
            let port = format!("v{i}");
            add_namespace(&ns)?;
            ip(&[
                "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns",
                &hub,
            ])?;
            ip(&["-n", &hub, "link", "set", &port, "master", "br0"])?;
            ip(&["-n", &hub, "link", "set", &port, "up"])?;
            let address = format!("{}/24", self.ip(i));
            ip(&[
                "-n", &ns, "addr", "add", &address, "brd", "+", "dev", "eth0",
            ])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        }
        Ok(())
    }

    /// A bridge of `members` with nmbd in member 1 as `netbios_name`,
    /// once nmbd holds `netbios_name<suffix>` for each of `suffixes`
    /// (panics if it does not within 30 s each).
    pub(crate) fn with_nmbd(members: usize, netbios_name: &str, suffixes: &[u8]) -> Self {
        let mut bridge = Self::start(members).unwrap_or_else(|e| panic!("{e}"));
        bridge
            .start_nmbd(1, netbios_name)
            .unwrap_or_else(|e| panic!("{e}"));
        for &suffix in suffixes {
            assert!(
                bridge.wait_nmbd_name(suffix, Duration::from_secs(30)),
                "nmbd did not claim {netbios_name}<{suffix:02x}>:\n{}",
                bridge.nmbd_log()
            );
        }
        bridge
    }

    /// [`Bridge::run_self_in`] with 60 s to finish, checking that the run
    /// succeeded (panics with its output and nmbd's log, naming it `what`,
    /// otherwise); prints its standard output.
    pub(crate) fn run_driver_in(&self, i: usize, test: &str, envs: &[(&str, String)], what: &str) {
        let out = self
            .run_self_in(i, test, envs, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{what} in {} failed:\n{stdout}{}\nnmbd:\n{}",
            self.netns(i),
            String::from_utf8_lossy(&out.stderr),
            self.nmbd_log()
        );
        eprint!("{stdout}");
    }

    /// A tshark capture of UDP port 137 on member `i`'s interface into
    /// `path` (panics if tshark does not start).
    pub(crate) fn capture_nbns(&self, i: usize, path: &Path) -> CaptureHandle {
        tshark::capture(Some(&self.netns(i)), self.interface(), "udp port 137", path)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The hub namespace (the bridge; no addresses).
    fn hub(&self) -> String {
        format!("{}h", self.prefix)
    }

    /// Number of members.
    pub(crate) fn members(&self) -> usize {
        self.members
    }

    /// The namespace of member `i` (1-based).
    pub(crate) fn netns(&self, i: usize) -> String {
        format!("{}m{i}", self.prefix)
    }

    /// The interface of every member (`eth0`, inside its namespace).
    pub(crate) fn interface(&self) -> &'static str {
        "eth0"
    }

    /// The address of member `i` (`<subnet>.i`).
    pub(crate) fn ip(&self, i: usize) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, u8::try_from(i).unwrap_or(0))
    }

    /// The subnet's broadcast address (`<subnet>.255`).
    pub(crate) fn broadcast(&self) -> Ipv4Addr {
        self.ip(255)
    }

    /// The subnet (`<subnet>.0`) and its prefix length, 24.
    pub(crate) fn subnet(&self) -> (Ipv4Addr, u8) {
        (self.ip(0), 24)
    }

    /// A directory for this bridge's files (configurations, logs, captures).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A command that runs `program` inside member `i`.
    pub(crate) fn command_in(&self, i: usize, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.netns(i)])
            .arg(program)
            .stdin(Stdio::null());
        command
    }

    /// Runs the test `test` of the current test binary again inside member
    /// `i`, with `envs` set, and waits for it (at most `timeout`; then it is
    /// killed). The test tells a run inside from the run outside by its
    /// environment. The member's address and the segment's broadcast address
    /// are passed as `NBNS_BRIDGE_IP` and `NBNS_BRIDGE_BROADCAST`.
    pub(crate) fn run_self_in(
        &self,
        i: usize,
        test: &str,
        envs: &[(&str, String)],
        timeout: Duration,
    ) -> Result<Output, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut command = self.command_in(i, exe);
        command
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env("NBNS_BRIDGE_IP", self.ip(i).to_string())
            .env("NBNS_BRIDGE_BROADCAST", self.broadcast().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {test} in {}: {e}", self.netns(i)))?;
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let out = child.wait_with_output().ok();
                    return Err(format!(
                        "{test} in {} did not finish within {timeout:?}; its output:\n{}",
                        self.netns(i),
                        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                            .unwrap_or_default()
                    ));
                }
                Err(e) => return Err(format!("waiting for {test}: {e}")),
            }
        }
        child
            .wait_with_output()
            .map_err(|e| format!("reading the output of {test}: {e}"))
    }

    /// Writes an smb.conf for Samba's tools in member `i` (bound to its
    /// address, broadcast resolution only, state under [`Self::dir`], and
    /// nmbd's unexpected-packet socket there too: its default directory,
    /// `/run/samba/nmbd`, is shared by every nmbd on the host, and two
    /// starting at once race for it); returns its path.
    pub(crate) fn samba_conf(&self, i: usize, netbios_name: &str) -> Result<PathBuf, String> {
        let d = self.dir.join(format!("m{i}"));
        for sub in ["lock", "state", "cache", "pid", "private", "ncalrpc", "log"] {
            fs::create_dir_all(d.join(sub)).map_err(|e| format!("mkdir: {e}"))?;
        }
        let conf = d.join("smb.conf");
        let d = d.display();
        let text = format!(
            "[global]
  netbios name = {netbios_name}
  workgroup = NBNSTEST
  server role = standalone server
  wins support = no
  wins proxy = no
  dns proxy = no
  name resolve order = bcast
  interfaces = {ip}/24
  bind interfaces only = yes
  local master = no
  domain master = no
  preferred master = no
  os level = 0
  enhanced browsing = no
  lock directory = {d}/lock
  state directory = {d}/state
  cache directory = {d}/cache
  pid directory = {d}/pid
  private dir = {d}/private
  ncalrpc dir = {d}/ncalrpc
  nmbd:socket dir = {d}/nmbd
  log file = {d}/log/log.%m
  max log size = 0
  log level = 3
",
            ip = self.ip(i),
        );
        fs::write(&conf, text).map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        Ok(conf)
    }

    /// Starts nmbd in member `i` as a B-node named `netbios_name` (no WINS)
    /// and waits until it has bound `<member address>:137`. nmbd then claims
    /// its names by broadcast for a few seconds before it answers for them;
    /// [`Self::wait_nmbd_name`] waits for that.
    pub(crate) fn start_nmbd(&mut self, i: usize, netbios_name: &str) -> Result<(), String> {
        if self.nmbd.is_some() {
            return Err("nmbd already runs on this bridge".to_owned());
        }
        let conf = self.samba_conf(i, netbios_name)?;
        let log = self.dir.join(format!("m{i}")).join("nmbd.out");
        let out = fs::File::create(&log).map_err(|e| format!("cannot create nmbd.out: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("dup: {e}"))?;
        // `ip netns exec` execs nmbd in place: the child's pid is nmbd's.
        // -F: foreground; stdin must not be a pipe (nmbd exits on its EOF).
        let child = self
            .command_in(i, find_program("nmbd").unwrap_or_else(|| "nmbd".into()))
            .args(["-F", "--debug-stdout", "-d", "3"])
            .arg(format!("--configfile={}", conf.display()))
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start nmbd: {e}"))?;
        self.nmbd = Some(Nmbd {
            member: i,
            name: netbios_name.to_uppercase(),
            child,
            log,
        });
        let listening = format!("src {}:137", self.ip(i));
        let bound = wait_until(NMBD_BIND_TIMEOUT, || {
            if self.nmbd_exited() {
                return true;
            }
            self.command_in(i, "ss")
                .args(["-Huln", &listening])
                .output()
                .is_ok_and(|o| !o.stdout.is_empty())
        });
        if self.nmbd_exited() {
            return Err(format!("nmbd exited during start-up:\n{}", self.nmbd_log()));
        }
        if !bound {
            return Err(format!(
                "nmbd did not bind {listening} within {NMBD_BIND_TIMEOUT:?}:\n{}",
                self.nmbd_log()
            ));
        }
        Ok(())
    }

    fn nmbd_exited(&mut self) -> bool {
        self.nmbd
            .as_mut()
            .is_none_or(|n| !matches!(n.child.try_wait(), Ok(None)))
    }

    /// Waits (at most `timeout`) until nmbd has claimed `<its name><suffix>`
    /// on the segment, as its log says; whether it did.
    pub(crate) fn wait_nmbd_name(&mut self, suffix: u8, timeout: Duration) -> bool {
        let Some((name, ip)) = self
            .nmbd
            .as_ref()
            .map(|n| (n.name.clone(), self.ip(n.member)))
        else {
            return false;
        };
        // Logged once per subnet; the broadcast subnet is named by nmbd's
        // address, and that line comes when the claim succeeded.
        let head = format!("Added netbios name {name}<{suffix:02x}> ");
        let tail = format!(" to subnet {ip}");
        wait_until(timeout, || {
            self.nmbd_log()
                .lines()
                .any(|line| line.contains(&head) && line.trim_end().ends_with(&tail))
        })
    }

    /// The member nmbd runs in, and its address.
    pub(crate) fn nmbd_member(&self) -> Option<(usize, Ipv4Addr)> {
        self.nmbd.as_ref().map(|n| (n.member, self.ip(n.member)))
    }

    /// What nmbd has written so far.
    pub(crate) fn nmbd_log(&self) -> String {
        self.nmbd
            .as_ref()
            .and_then(|n| fs::read_to_string(&n.log).ok())
            .unwrap_or_default()
    }

    /// Runs `nmblookup -s <conf of member i> args...` inside member `i`
    /// (from an ephemeral port; broadcasts to the segment).
    pub(crate) fn nmblookup<I, S>(&self, i: usize, args: I) -> Result<Output, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let conf = self.samba_conf(i, &format!("LOOKUP{i}"))?;
        self.command_in(
            i,
            find_program("nmblookup").unwrap_or_else(|| "nmblookup".into()),
        )
        .arg("-s")
        .arg(conf)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run nmblookup: {e}"))
    }

    /// Stops nmbd (SIGTERM: it releases its names by broadcast; SIGKILL
    /// after a while).
    pub(crate) fn stop_nmbd(&mut self) {
        let Some(mut nmbd) = self.nmbd.take() else {
            return;
        };
        if matches!(nmbd.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &nmbd.child.id().to_string()])
                .status();
            let deadline = Instant::now() + NMBD_STOP_TIMEOUT;
            while matches!(nmbd.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = nmbd.child.kill();
        }
        let _ = nmbd.child.wait();
    }

    /// Stops everything and removes the namespaces; errors say what was left.
    pub(crate) fn stop(mut self) -> Result<(), String> {
        self.tear_down()
    }

    fn tear_down(&mut self) -> Result<(), String> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        self.stop_nmbd();
        let mut namespaces: Vec<String> = (1..=self.members).map(|i| self.netns(i)).collect();
        namespaces.push(self.hub());
        remove_namespaces(&namespaces)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Err(e) = self.tear_down() {
            eprintln!("{e}");
        }
        remove_or_keep(&self.dir, "bridge files and logs");
    }
}

/// Runs `ip args...`; an error with its output when it fails.
fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A namespace with `lo` up and IPv6 off (captures free of neighbour
/// discovery).
fn add_namespace(ns: &str) -> Result<(), String> {
    ip(&["netns", "add", ns])?;
    ip(&["-n", ns, "link", "set", "lo", "up"])?;
    for key in [
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
    ] {
        let _ = Command::new("ip")
            .args(["netns", "exec", ns, "sysctl", "-qw", key])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    Ok(())
}

/// Stops every process in `namespaces` (SIGTERM, then SIGKILL) and deletes
/// them. A namespace deleted while processes run in it lives on, invisible,
/// hence the processes first.
fn remove_namespaces(namespaces: &[String]) -> Result<(), String> {
    let existing = list_namespaces();
    let mut left = Vec::new();
    for ns in namespaces.iter().filter(|ns| existing.contains(ns)) {
        for signal in ["-TERM", "-KILL"] {
            let pids = namespace_pids(ns);
            if pids.is_empty() {
                break;
            }
            let _ = Command::new("kill")
                .arg(signal)
                .args(&pids)
                .stderr(Stdio::null())
                .status();
            wait_until(Duration::from_secs(3), || namespace_pids(ns).is_empty());
        }
        if ip(&["netns", "del", ns]).is_err() {
            left.push(ns.clone());
        }
    }
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!("could not delete the namespaces {left:?}"))
    }
}

fn namespace_pids(ns: &str) -> Vec<String> {
    Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn list_namespaces() -> Vec<String> {
    Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|line| line.split_whitespace().next())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Removes the namespaces of bridges whose test process is gone, once per
/// process.
fn remove_stale_once() {
    static CLEANUP: Once = Once::new();
    CLEANUP.call_once(|| {
        let stale: Vec<String> = list_namespaces()
            .into_iter()
            .filter(|ns| {
                ns.strip_prefix(PREFIX_START)
                    .and_then(|rest| rest.split_once('n'))
                    .and_then(|(pid, _)| pid.parse::<u32>().ok())
                    .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
            })
            .collect();
        // Members first: their processes go before the hub's bridge.
        let (hubs, members): (Vec<String>, Vec<String>) =
            stale.into_iter().partition(|ns| ns.ends_with('h'));
        let _ = remove_namespaces(&members);
        let _ = remove_namespaces(&hubs);
    });
}

/// `program` in `PATH` or in the sbin directories.
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
