//! Samba's nmbd as a plain WINS *client* of a server under test.
//!
//! [`NmbdClient::setup`] creates the same pair of namespaces as
//! [`NmbdWins`](super::NmbdWins) (`tests/peer/nmbd-wins.sh netns`) but starts
//! nothing in them. The test then starts its own WINS server in the server
//! namespace ([`NmbdClient::server_command`], listening on
//! [`NmbdClient::wins_ip`]`:137`) and only then nmbd in the client namespace
//! ([`NmbdClient::start_nmbd`], `nmbd-wins.sh client-start`), configured with
//! `wins support = no` and `wins server = <wins_ip>`: it registers its names
//! at the server under test, refreshes them, and releases them when stopped
//! ([`NmbdClient::stop_nmbd`]).
//!
//! ```text
//!   <prefix>wins  nbw0  <subnet>.1/24   the server under test
//!   <prefix>cli   nbc0  <subnet>.2/24   nmbd as WINS client, nmblookup
//! ```
//!
//! Dropping the value stops nmbd, every process left in the namespaces (the
//! server under test included) and removes the namespaces.

use core::net::Ipv4Addr;
use core::sync::atomic::Ordering;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::nmbd::{
    INSTANCES, PREFIX_START, check_requirements, harness, harness_stop, instance_dir,
    netns_command, read_env_file, remove_or_keep, remove_stale_instances_once,
};

/// Settings of the client nmbd.
#[derive(Debug, Clone)]
pub(crate) struct ClientOptions {
    /// nmbd's NetBIOS name (default `NMBDCLI`).
    pub(crate) netbios_name: String,
    /// Workgroup, registered as a group name (default `NBNSTEST`).
    pub(crate) workgroup: String,
    /// nmbd log level (default 1).
    pub(crate) log_level: u8,
    /// nmbd's `max ttl`: the TTL it asks for, from which it derives its
    /// refresh interval (default 30 s; nmbd then refreshes about every 30 s).
    pub(crate) ttl: u32,
    /// Extra lines for the `[global]` section of nmbd's smb.conf.
    pub(crate) extra_conf: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            netbios_name: "NMBDCLI".to_owned(),
            workgroup: "NBNSTEST".to_owned(),
            log_level: 1,
            ttl: 30,
            extra_conf: String::new(),
        }
    }
}

/// Namespaces for a server under test, and nmbd as its client.
#[derive(Debug)]
pub(crate) struct NmbdClient {
    dir: PathBuf,
    prefix: String,
    subnet: String,
    wins_ns: String,
    cli_ns: String,
    wins_if: String,
    cli_if: String,
    wins_ip: Ipv4Addr,
    cli_ip: Ipv4Addr,
    client_conf: PathBuf,
    nmbd_log: PathBuf,
    nmbd_pid: Option<u32>,
    torn_down: bool,
}

impl NmbdClient {
    /// Creates the namespaces; starts nothing. Fails (saying what is
    /// missing) when not run as root or without nmbd / iproute2.
    pub(crate) fn setup() -> Result<Self, String> {
        check_requirements()?;
        remove_stale_instances_once();
        let pid = std::process::id();
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{PREFIX_START}{pid}n{instance}");
        let subnet = format!("10.137.{}", 1 + instance % 254);
        let dir = instance_dir(pid, instance);
        let output = harness(&dir, &prefix, &subnet)
            .arg("netns")
            .output()
            .map_err(|e| format!("could not run nmbd-wins.sh netns: {e}"))?;
        let mut me = Self {
            dir: dir.clone(),
            prefix,
            subnet,
            wins_ns: String::new(),
            cli_ns: String::new(),
            wins_if: String::new(),
            cli_if: String::new(),
            wins_ip: Ipv4Addr::UNSPECIFIED,
            cli_ip: Ipv4Addr::UNSPECIFIED,
            client_conf: PathBuf::new(),
            nmbd_log: PathBuf::new(),
            nmbd_pid: None,
            torn_down: false,
        };
        if !output.status.success() {
            return Err(format!(
                "nmbd-wins.sh netns failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let env = read_env_file(&dir.join("env"))?;
        let var = |key: &str| {
            env.get(key)
                .cloned()
                .ok_or_else(|| format!("{}/env lacks {key}", dir.display()))
        };
        let ip = |key: &str| -> Result<Ipv4Addr, String> {
            let text = var(key)?;
            text.parse()
                .map_err(|_| format!("{key}={text} is not an IPv4 address"))
        };
        me.wins_ns = var("WINS_NS")?;
        me.cli_ns = var("CLI_NS")?;
        me.wins_if = var("WINS_IF")?;
        me.cli_if = var("CLI_IF")?;
        me.wins_ip = ip("WINS_IP")?;
        me.cli_ip = ip("CLI_IP")?;
        me.client_conf = PathBuf::from(var("CLIENT_CONF")?);
        me.nmbd_log = PathBuf::from(var("NMBD_LOG")?);
        Ok(me)
    }

    /// Starts nmbd in the client namespace as a WINS client of
    /// [`Self::wins_ip`]; returns once it has bound its port 137. Its
    /// registrations start at once, so the server should be up by then.
    pub(crate) fn start_nmbd(&mut self, options: &ClientOptions) -> Result<(), String> {
        let output = harness(&self.dir, &self.prefix, &self.subnet)
            .arg("client-start")
            .env("NBNS_CLIENT_NAME", &options.netbios_name)
            .env("NBNS_WORKGROUP", &options.workgroup)
            .env("NBNS_LOG_LEVEL", options.log_level.to_string())
            .env("NBNS_CLIENT_TTL", options.ttl.to_string())
            .env("NBNS_EXTRA_CONF", &options.extra_conf)
            .output()
            .map_err(|e| format!("could not run nmbd-wins.sh client-start: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "nmbd-wins.sh client-start failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let env = read_env_file(&self.dir.join("env"))?;
        let pid = env
            .get("NMBD_PID")
            .and_then(|p| p.parse().ok())
            .ok_or("client-start wrote no NMBD_PID")?;
        self.nmbd_pid = Some(pid);
        Ok(())
    }

    /// Stops nmbd with SIGTERM and waits for it: it releases its names at the
    /// WINS server first. The namespaces stay.
    pub(crate) fn stop_nmbd(&mut self) -> Result<(), String> {
        if self.nmbd_pid.take().is_none() {
            return Ok(());
        }
        let output = harness(&self.dir, &self.prefix, &self.subnet)
            .arg("client-stop")
            .output()
            .map_err(|e| format!("could not run nmbd-wins.sh client-stop: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "nmbd-wins.sh client-stop failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// The server namespace's address (`<subnet>.1`), where the server
    /// under test must listen (UDP port 137).
    pub(crate) fn wins_ip(&self) -> Ipv4Addr {
        self.wins_ip
    }

    /// nmbd's address (`<subnet>.2`).
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

    /// The state directory (smb.conf, logs).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// nmbd's process id while it runs.
    pub(crate) fn nmbd_pid(&self) -> Option<u32> {
        self.nmbd_pid
    }

    /// What nmbd has logged so far.
    pub(crate) fn nmbd_log(&self) -> String {
        fs::read_to_string(&self.nmbd_log).unwrap_or_default()
    }

    /// A command that runs `program` inside the server namespace.
    pub(crate) fn server_command(&self, program: impl AsRef<OsStr>) -> Command {
        netns_command(&self.wins_ns, program.as_ref())
    }

    /// A command that runs `program` inside the client namespace.
    pub(crate) fn client_command(&self, program: impl AsRef<OsStr>) -> Command {
        netns_command(&self.cli_ns, program.as_ref())
    }

    /// Runs `nmblookup -s <client.conf> args...` inside the client namespace
    /// (from an ephemeral port, beside nmbd's port 137).
    pub(crate) fn nmblookup<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.client_command("nmblookup")
            .arg("-s")
            .arg(&self.client_conf)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("could not run nmblookup in netns {}: {e}", self.cli_ns))
    }

    /// Stops nmbd and everything else in the namespaces, and removes them.
    /// Dropping does the same.
    pub(crate) fn teardown(mut self) -> Result<(), String> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), String> {
        if self.torn_down {
            return Ok(());
        }
        self.torn_down = true;
        self.nmbd_pid = None;
        harness_stop(&self.dir, &self.prefix, &self.subnet)
    }
}

impl Drop for NmbdClient {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            eprintln!("{e}");
        }
        remove_or_keep(&self.dir, "nmbd client state and logs");
    }
}
