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
    EnvFile, INSTANCES, NetnsPair, PREFIX_START, check_requirements, harness, harness_stop,
    instance_dir, remove_or_keep, remove_stale_instances_once, run_harness,
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
    net: NetnsPair,
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
        let mut me = Self {
            dir: dir.clone(),
            prefix,
            subnet,
            net: NetnsPair::unset(),
            nmbd_pid: None,
            torn_down: false,
        };
        let mut netns = harness(&dir, &me.prefix, &me.subnet);
        netns.arg("netns");
        run_harness(netns, "netns")?;
        me.net = NetnsPair::from_env(&EnvFile::read(&dir)?)?;
        Ok(me)
    }

    /// Starts nmbd in the client namespace as a WINS client of
    /// [`Self::wins_ip`]; returns once it has bound its port 137. Its
    /// registrations start at once, so the server should be up by then.
    pub(crate) fn start_nmbd(&mut self, options: &ClientOptions) -> Result<(), String> {
        let mut start = harness(&self.dir, &self.prefix, &self.subnet);
        start
            .arg("client-start")
            .env("NBNS_CLIENT_NAME", &options.netbios_name)
            .env("NBNS_WORKGROUP", &options.workgroup)
            .env("NBNS_LOG_LEVEL", options.log_level.to_string())
            .env("NBNS_CLIENT_TTL", options.ttl.to_string())
            .env("NBNS_EXTRA_CONF", &options.extra_conf);
        run_harness(start, "client-start")?;
        let pid = EnvFile::read(&self.dir)?
            .var("NMBD_PID")?
            .parse()
            .map_err(|_| "client-start wrote no NMBD_PID".to_owned())?;
        self.nmbd_pid = Some(pid);
        Ok(())
    }

    /// Stops nmbd with SIGTERM and waits for it: it releases its names at the
    /// WINS server first. The namespaces stay.
    pub(crate) fn stop_nmbd(&mut self) -> Result<(), String> {
        if self.nmbd_pid.take().is_none() {
            return Ok(());
        }
        let mut stop = harness(&self.dir, &self.prefix, &self.subnet);
        stop.arg("client-stop");
        run_harness(stop, "client-stop")
    }

    /// The state directory (smb.conf, logs).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// nmbd's process id while it runs.
    pub(crate) fn nmbd_pid(&self) -> Option<u32> {
        self.nmbd_pid
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

impl core::ops::Deref for NmbdClient {
    type Target = NetnsPair;
    fn deref(&self) -> &NetnsPair {
        &self.net
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
