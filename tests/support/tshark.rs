//! Wireshark's dissectors as an independent judge, through `tshark`.
//!
//! [`dissect`] reads a capture file with `tshark -T pdml` and returns, for
//! each packet, the `nbns.*` fields with their displayed values
//! ([`dissect_fields`] picks other protocols' fields), the expert
//! infos and whether Wireshark flagged the packet as malformed (or raised an
//! error-level expert info). [`capture`] records live traffic on an interface,
//! optionally inside a network namespace.

use core::time::Duration;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

/// Wireshark's numeric severity of an error-level expert info (`PI_ERROR`).
const SEVERITY_ERROR: &str = "8388608";

/// One expert info attached to a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpertInfo {
    /// Wireshark's numeric severity: 2097152 chat, 4194304 note, 6291456
    /// warning, 8388608 error.
    pub(crate) severity: String,
    /// The expert message, such as "Malformed Packet (Exception occurred)".
    pub(crate) message: String,
}

impl ExpertInfo {
    /// Whether this is an error-level expert info.
    pub(crate) fn is_error(&self) -> bool {
        self.severity == SEVERITY_ERROR
    }
}

/// What tshark made of one packet.
#[derive(Debug, Clone, Default)]
pub(crate) struct TsharkPacket {
    /// Frame number, from 1.
    pub(crate) number: usize,
    /// Protocols tshark found, outermost first (`frame`, `raw`, `ip`, `udp`, `nbns`, ...).
    pub(crate) protocols: Vec<String>,
    /// Every field of the protocols asked for (`nbns.*` by default) in
    /// dissection order: (field name, displayed value), for example
    /// `("nbns.name", "FRED<00>")` or `("nbns.flags", "0x0110")`.
    pub(crate) fields: Vec<(String, String)>,
    /// All expert infos of the packet, from any protocol layer.
    pub(crate) expert: Vec<ExpertInfo>,
    /// Set when tshark added a `_ws.malformed` item or an error-level expert info.
    pub(crate) malformed: bool,
}

impl TsharkPacket {
    /// The first value of the field `name`.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// All values of the field `name`, in order.
    pub(crate) fn fields_named(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Whether tshark dissected the packet as NBNS.
    pub(crate) fn is_nbns(&self) -> bool {
        self.protocols.iter().any(|p| p == "nbns")
    }
}

/// Dissects the capture at `path` with tshark's default preferences.
pub(crate) fn dissect(path: &Path) -> Result<Vec<TsharkPacket>, String> {
    dissect_with_options(path, &[])
}

/// Dissects the capture at `path`, passing `extra_args` to tshark, for example
/// `["-o", "udp.check_checksum:TRUE"]` (a bad checksum then is an error-level
/// expert info, so the packet counts as malformed).
///
/// Captured traffic often carries checksums the NIC or veth would have
/// filled in later, so checksum validation is off unless asked for.
pub(crate) fn dissect_with_options(
    path: &Path,
    extra_args: &[&str],
) -> Result<Vec<TsharkPacket>, String> {
    dissect_fields(path, extra_args, &["nbns."])
}

/// The NBNS and IP fields of every packet of the capture at `path`,
/// checking that tshark flags none of them malformed (panics otherwise).
pub(crate) fn dissect_nbns_clean(path: &Path) -> Vec<TsharkPacket> {
    let packets = dissect_fields(path, &[], &["nbns.", "ip."]).unwrap_or_else(|e| panic!("{e}"));
    for p in &packets {
        assert!(!p.malformed, "frame {} flagged: {:?}", p.number, p.expert);
    }
    packets
}

/// Dissects the capture at `path`, passing `extra_args` to tshark, and keeps
/// the fields whose names start with one of `prefixes` (for example
/// `["winsrepl.", "netbios."]`).
pub(crate) fn dissect_fields(
    path: &Path,
    extra_args: &[&str],
    prefixes: &[&str],
) -> Result<Vec<TsharkPacket>, String> {
    let output = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(path)
        .args(extra_args)
        .args(["-T", "pdml"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| not_found_or(e, "run tshark"))?;
    if !output.status.success() {
        return Err(format!(
            "tshark -r {} failed ({}): {}",
            path.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let pdml = String::from_utf8_lossy(&output.stdout);
    Ok(parse_pdml(&pdml, prefixes))
}

fn not_found_or(error: std::io::Error, what: &str) -> String {
    if error.kind() == std::io::ErrorKind::NotFound {
        "tshark not found: install it (Debian: apt-get install tshark)".to_owned()
    } else {
        format!("could not {what}: {error}")
    }
}

/// Extracts the packets from tshark's PDML (XML) output.
fn parse_pdml(pdml: &str, prefixes: &[&str]) -> Vec<TsharkPacket> {
    let mut packets = Vec::new();
    let mut current: Option<TsharkPacket> = None;
    let mut pending_severity: Option<String> = None;
    let mut rest = pdml;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        let (tag_name, attrs) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        match tag_name {
            "packet" => {
                current = Some(TsharkPacket {
                    number: packets.len() + 1,
                    ..TsharkPacket::default()
                });
            }
            "/packet" => {
                if let Some(packet) = current.take() {
                    packets.push(packet);
                }
            }
            "proto" | "field" => {
                let Some(packet) = current.as_mut() else {
                    continue;
                };
                let name = attribute(attrs, "name").unwrap_or_default();
                let show = attribute(attrs, "show").unwrap_or_default();
                if tag_name == "proto" {
                    if name == "_ws.malformed" {
                        packet.malformed = true;
                    }
                    if !packet.protocols.contains(&name) {
                        packet.protocols.push(name);
                    }
                    continue;
                }
                match name.as_str() {
                    "_ws.malformed" | "_ws.malformed.expert" => packet.malformed = true,
                    // PDML lists an expert info's message before its severity
                    "_ws.expert.message" => packet.expert.push(ExpertInfo {
                        severity: pending_severity.take().unwrap_or_default(),
                        message: show,
                    }),
                    "_ws.expert.severity" => {
                        if show == SEVERITY_ERROR {
                            packet.malformed = true;
                        }
                        match packet.expert.last_mut() {
                            Some(info) if info.severity.is_empty() => info.severity = show,
                            _ => pending_severity = Some(show),
                        }
                    }
                    _ if prefixes.iter().any(|p| name.starts_with(p)) => {
                        packet.fields.push((name, show));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    packets
}

/// The unescaped value of attribute `name` in the inside of an XML tag.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start();
        let (key, after) = rest.split_once("=\"")?;
        let (value, after) = after.split_once('"')?;
        if key.trim() == name {
            return Some(xml_unescape(value));
        }
        rest = after;
    }
}

fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A running `tshark` capture. Stop it with [`CaptureHandle::stop`]; dropping
/// it kills the capture.
#[derive(Debug)]
pub(crate) struct CaptureHandle {
    child: Option<Child>,
    path: PathBuf,
    stderr: Arc<Mutex<String>>,
}

/// How long a capture may run at most (tshark's own autostop), so that a
/// test that dies without stopping it leaves nothing running for long.
const CAPTURE_AUTOSTOP_SECS: u32 = 1800;
/// Time allowed for tshark to start capturing.
const CAPTURE_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Time given to the capture to write out packets already received before
/// it is told to stop.
const CAPTURE_DRAIN: Duration = Duration::from_millis(500);

/// Starts `tshark -i iface -f filter -w path` (classic pcap format), inside
/// the network namespace `netns` if given, and returns once tshark reports
/// that it is capturing.
///
/// `filter` is a capture (BPF) filter such as `"udp port 137"`.
pub(crate) fn capture(
    netns: Option<&str>,
    iface: &str,
    filter: &str,
    path: &Path,
) -> Result<CaptureHandle, String> {
    let mut command = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "tshark"]);
            c
        }
        None => Command::new("tshark"),
    };
    let _ = fs::remove_file(path);
    command
        .args(["-n", "-q", "-i", iface, "-f", filter, "-F", "pcap", "-w"])
        .arg(path)
        .arg("-a")
        .arg(format!("duration:{CAPTURE_AUTOSTOP_SECS}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if which("tshark").is_none() {
        return Err(not_found_or(
            std::io::ErrorKind::NotFound.into(),
            "start tshark",
        ));
    }
    let mut child = command
        .spawn()
        .map_err(|e| not_found_or(e, "start tshark"))?;

    // tshark prints "Capturing on 'IFACE'" once dumpcap has the interface open.
    let stderr = Arc::new(Mutex::new(String::new()));
    let (ready_tx, ready_rx) = mpsc::channel();
    if let Some(pipe) = child.stderr.take() {
        let log = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if line.contains("Capturing on") {
                    let _ = ready_tx.send(());
                }
                if let Ok(mut log) = log.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
    }
    let mut handle = CaptureHandle {
        child: Some(child),
        path: path.to_owned(),
        stderr,
    };
    let deadline = Instant::now() + CAPTURE_START_TIMEOUT;
    loop {
        if ready_rx.recv_timeout(Duration::from_millis(50)).is_ok() {
            break;
        }
        let exited = handle
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok())
            .flatten();
        if let Some(status) = exited {
            return Err(format!(
                "tshark capture on {iface} exited ({status}): {}",
                handle.stderr_text().trim()
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "tshark did not start capturing on {iface} within {CAPTURE_START_TIMEOUT:?}: {}",
                handle.stderr_text().trim()
            ));
        }
    }
    // dumpcap creates the file when it starts writing; wait for it too.
    while !path.exists() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    Ok(handle)
}

impl CaptureHandle {
    /// The file the capture is written to.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whatever tshark wrote to stderr so far.
    pub(crate) fn stderr_text(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops the capture after a short drain period and returns the path of
    /// the finished file (made world-readable; dumpcap creates it 0600).
    pub(crate) fn stop(mut self) -> Result<PathBuf, String> {
        thread::sleep(CAPTURE_DRAIN);
        let Some(mut child) = self.child.take() else {
            return Ok(self.path.clone());
        };
        // `ip netns exec` execs tshark in place, so this is tshark's pid;
        // on SIGTERM it stops dumpcap and closes the file.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => break None,
            }
        };
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "tshark did not stop within 10 s: {}",
                self.stderr_text().trim()
            ));
        }
        if !self.path.exists() {
            return Err(format!(
                "tshark wrote no capture file {}: {}",
                self.path.display(),
                self.stderr_text().trim()
            ));
        }
        let _ = fs::set_permissions(&self.path, fs::Permissions::from_mode(0o644));
        Ok(self.path.clone())
    }
}

impl Drop for CaptureHandle {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM first, so that tshark also stops its dumpcap child
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The full path of `program` if it is in `PATH`.
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
