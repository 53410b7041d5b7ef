//! The WINS servers this host is configured with, when no `--wins` is given,
//! looked for in this order (the first that names any wins):
//!
//! 1. Samba: the `[global]` section of `smb.conf` (`--configfile FILE`, else
//!    `/etc/samba/smb.conf`): `wins support = yes` means this host is the
//!    WINS server (127.0.0.1, as Samba's own tools then use); else
//!    `wins server = [tag:]host ...`, separated by spaces or commas.
//! 2. DHCP option 44 (NetBIOS name servers, RFC 2132 §8.5) in the newest
//!    unexpired lease of each interface:
//!    * dhclient: `/var/lib/dhcp/dhclient*.lease*`, `/var/lib/dhclient/*.lease*`
//!      (`option netbios-name-servers a, b;` in `lease { ... }` blocks);
//!    * NetworkManager before 1.58 with its dhclient backend: the same
//!      format, in `/var/lib/NetworkManager/dhclient-<uuid>-<iface>.lease`
//!      (`/run/NetworkManager/` in the initrd);
//!    * NetworkManager's internal client (the only one from 1.58 on, the
//!      default since 1.20) keeps option 44 in memory only: its lease file
//!      (`internal-<uuid>-<iface>.lease`) holds just `ADDRESS=`, and the
//!      device state files `/run/NetworkManager/devices/<ifindex>` hold no
//!      DHCP option but the boot ones. It is asked instead:
//!      `nmcli --terse --fields DHCP4 device show` prints the option as
//!      `DHCP4.OPTION[n]:netbios_name_servers = a b` ([`nmcli_servers`]).
//!      NetworkManager does not request option 44 by default
//!      (`ipv4.dhcp-...` has no knob for it), so it is there only when the
//!      DHCP server sends it unasked.
//!
//!    systemd-networkd is not read: its lease files
//!    (`/run/systemd/netif/leases/*`) do not record option 44.
//!
//! `$NBTSTAT_SYSROOT`, when set, is put in front of every path above except
//! `--configfile` (tests point it at a tree of their own), and `nmcli` is
//! then run only when `$NBTSTAT_NMCLI` names the program to run in its
//! place.

use core::time::Duration;
use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Servers found, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// The file (and setting) they came from, for people.
    pub(crate) source: String,
    /// As written: addresses or host names.
    pub(crate) servers: Vec<String>,
}

/// The system root for the paths of the module docs.
fn sysroot() -> PathBuf {
    std::env::var_os("NBTSTAT_SYSROOT")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/"), PathBuf::from)
}

/// The `nmcli` to run: `$NBTSTAT_NMCLI`, else `nmcli` unless a
/// `$NBTSTAT_SYSROOT` stands for another system.
fn nmcli_program() -> Option<OsString> {
    let given = std::env::var_os("NBTSTAT_NMCLI").filter(|p| !p.is_empty());
    let elsewhere = std::env::var_os("NBTSTAT_SYSROOT").is_some_and(|p| !p.is_empty());
    given.or_else(|| (!elsewhere).then(|| OsString::from("nmcli")))
}

/// How long `nmcli` may take, and how much of its output is read.
const NMCLI_LIMIT: Duration = Duration::from_secs(3);
const NMCLI_MAX_OUTPUT: u64 = 1 << 20;

/// Runs `nmcli --terse --fields DHCP4 device show` (bounded in time and
/// output); `None` when there is no nmcli, NetworkManager does not run, or
/// it did not answer in time.
fn nmcli_dhcp4(program: &OsString, notes: &mut Vec<String>) -> Option<String> {
    let mut child = Command::new(program)
        .args(["--terse", "--fields", "DHCP4", "device", "show"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout
            .by_ref()
            .take(NMCLI_MAX_OUTPUT)
            .read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + NMCLI_LIMIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                notes.push(format!(
                    "{}: no answer within {} s; NetworkManager's DHCP options not read",
                    program.to_string_lossy(),
                    NMCLI_LIMIT.as_secs()
                ));
                return None;
            }
        }
    };
    let text = reader.join().ok()?;
    status.success().then_some(text)
}

fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// Looks for configured WINS servers. `notes` gets what was ignored.
///
/// # Errors
/// An explicit `configfile` that cannot be read.
pub(crate) fn discover(
    configfile: Option<&Path>,
    notes: &mut Vec<String>,
) -> Result<Option<Found>, String> {
    let root = sysroot();
    let conf = configfile.map_or_else(|| under(&root, "/etc/samba/smb.conf"), Path::to_path_buf);
    match fs::read_to_string(&conf) {
        Ok(text) => {
            let g = smb_conf_global(&text);
            for inc in &g.includes {
                notes.push(format!(
                    "{}: `include = {inc}` is not followed; put `wins server` in this file \
                     or give --wins",
                    conf.display()
                ));
            }
            if g.wins_support {
                return Ok(Some(Found {
                    source: format!("{} (wins support = yes: this host)", conf.display()),
                    servers: vec!["127.0.0.1".to_owned()],
                }));
            }
            if let Some(list) = g.wins_server {
                let servers = wins_server_list(&list);
                if !servers.is_empty() {
                    return Ok(Some(Found {
                        source: format!("{} (wins server)", conf.display()),
                        servers,
                    }));
                }
            }
        }
        Err(e) if configfile.is_some() => {
            return Err(format!("--configfile {}: {e}", conf.display()));
        }
        Err(_) => {}
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut files = Vec::new();
    for (dir, keep) in [
        ("/var/lib/dhcp", is_dhclient_name as fn(&str) -> bool),
        ("/var/lib/dhclient", is_lease_name),
        // dhclient-<uuid>-<iface>.lease; the internal client's
        // internal-*.lease files hold no option.
        ("/var/lib/NetworkManager", is_dhclient_name),
        ("/run/NetworkManager", is_dhclient_name),
    ] {
        files.extend(list(&under(&root, dir), keep));
    }
    let mut servers = Vec::new();
    let mut sources = Vec::new();
    for f in &files {
        let Ok(text) = fs::read_to_string(f) else {
            continue;
        };
        let found = dhclient_servers(&text, now);
        if !found.is_empty() {
            sources.push(f.display().to_string());
            servers.extend(found);
        }
    }
    if let Some(program) = nmcli_program()
        && let Some(text) = nmcli_dhcp4(&program, notes)
    {
        let found = nmcli_servers(&text);
        if !found.is_empty() {
            sources.push("NetworkManager (nmcli DHCP4.OPTION netbios_name_servers)".to_owned());
            servers.extend(found);
        }
    }
    let mut unique: Vec<String> = Vec::new();
    for s in servers {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    Ok((!unique.is_empty()).then(|| Found {
        source: format!("DHCP option 44 in {}", sources.join(", ")),
        servers: unique,
    }))
}

fn is_dhclient_name(name: &str) -> bool {
    name.starts_with("dhclient") && name.contains(".lease")
}

fn is_lease_name(name: &str) -> bool {
    name.contains(".lease")
}

/// The files of `dir` whose names pass `keep`, sorted (bounded: the first
/// 256).
fn list(dir: &Path, keep: fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| e.file_name().to_str().is_some_and(keep))
        .map(|e| e.path())
        .take(256)
        .collect();
    files.sort();
    files
}

/// What the `[global]` section of an smb.conf says about WINS.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SambaGlobal {
    pub(crate) wins_server: Option<String>,
    pub(crate) wins_support: bool,
    pub(crate) includes: Vec<String>,
}

/// Reads an smb.conf as Samba does: a line ending in `\` continues on the
/// next; lines starting with `#` or `;` are comments; section names and
/// parameter names are case-insensitive, and spaces in parameter names do
/// not count (`WINS Server` is `winsserver`); parameters before the first
/// section are global; the last value wins; `[global]` may appear again.
pub(crate) fn smb_conf_global(text: &str) -> SambaGlobal {
    let mut g = SambaGlobal::default();
    let mut in_global = true;
    let mut logical = String::new();
    let mut lines = text.lines();
    loop {
        logical.clear();
        let mut any = false;
        for line in lines.by_ref() {
            any = true;
            match line.trim_end().strip_suffix('\\') {
                Some(head) => {
                    logical.push_str(head);
                    logical.push(' ');
                }
                None => {
                    logical.push_str(line);
                    break;
                }
            }
        }
        if !any {
            break;
        }
        let line = logical.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            let name = section.split(']').next().unwrap_or_default();
            in_global = name.trim().eq_ignore_ascii_case("global");
            continue;
        }
        if !in_global {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key: String = key
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let value = value.trim();
        match key.as_str() {
            "winsserver" => g.wins_server = Some(value.to_owned()),
            "winssupport" => {
                g.wins_support = matches!(
                    value.to_ascii_lowercase().as_str(),
                    "yes" | "true" | "1" | "on"
                );
            }
            "include" => g.includes.push(value.to_owned()),
            _ => {}
        }
    }
    g
}

/// `wins server`'s list: entries separated by spaces or commas, each
/// `host` or Samba's `tag:host` (the tag groups servers for multi-homed
/// hosts; all are used here, in order). `host:port` (digits after the
/// colon) is kept as a port.
pub(crate) fn wins_server_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(|t| match t.split_once(':') {
            Some((_, rest)) if !rest.bytes().all(|b| b.is_ascii_digit()) => rest.to_owned(),
            _ => t.to_owned(),
        })
        .collect()
}

/// Option 44 of the newest lease of each interface in a dhclient lease
/// file, when that lease has not expired. Later blocks are newer
/// (dhclient appends).
pub(crate) fn dhclient_servers(text: &str, now: u64) -> Vec<String> {
    // (interface, servers, expired) of the newest block per interface.
    let mut newest: Vec<(String, Vec<String>, bool)> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("lease") {
        let after = &rest[start + "lease".len()..];
        let Some(body) = after.trim_start().strip_prefix('{') else {
            rest = after;
            continue;
        };
        let end = body.find('}').unwrap_or(body.len());
        let block = &body[..end];
        rest = body.get(end + 1..).unwrap_or_default();
        let mut iface = String::new();
        let mut servers = Vec::new();
        let mut expired = false;
        for stmt in block.split(';').map(str::trim) {
            if let Some(v) = stmt.strip_prefix("interface") {
                iface = v.trim().trim_matches('"').to_owned();
            } else if let Some(v) = stmt.strip_prefix("option netbios-name-servers") {
                servers = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            } else if let Some(v) = stmt.strip_prefix("expire") {
                expired = lease_time(v.trim()).is_some_and(|t| t <= now);
            }
        }
        newest.retain(|(i, _, _)| *i != iface);
        newest.push((iface, servers, expired));
    }
    newest
        .into_iter()
        .filter(|(_, _, expired)| !expired)
        .flat_map(|(_, s, _)| s)
        .collect()
}

/// A dhclient time: `W YYYY/MM/DD HH:MM:SS` (UTC), `epoch N`, or `never`
/// (`None`, as is anything unreadable).
fn lease_time(text: &str) -> Option<u64> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    if first == "epoch" {
        return words.next()?.parse().ok();
    }
    let date = words.next()?;
    let time = words.next()?;
    let mut d = date.split('/').map(str::parse::<i64>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':').map(str::parse::<i64>);
    let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
    // civil-from-days, inverted).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + min * 60 + s).ok()
}

/// Option 44 in `nmcli --terse --fields DHCP4 device show` output, every
/// device's: lines `DHCP4.OPTION[n]:netbios_name_servers = a b` (nmcli
/// prints each option as `name = value`; NetworkManager's internal client
/// writes option 44 as the addresses separated by single spaces). Plain
/// (non-terse) output, with spaces after the colon, reads the same.
pub(crate) fn nmcli_servers(text: &str) -> Vec<String> {
    let mut servers = Vec::new();
    for line in text.lines() {
        let Some((field, option)) = line.split_once("]:") else {
            continue;
        };
        if !field.trim_start().starts_with("DHCP4.OPTION[") {
            continue;
        }
        let Some((name, value)) = option.split_once(" = ") else {
            continue;
        };
        if name.trim() == "netbios_name_servers" {
            servers.extend(value.split_whitespace().map(str::to_owned));
        }
    }
    servers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samba_global_only_with_continuations_and_comments() {
        let text = "\
# wins server = 10.9.9.9
; wins server = 10.8.8.8
  WINS Server = 10.0.0.9
[global]
   workgroup = W
   wins   SERVER = mary:10.0.0.1 \\
        fred:10.0.0.2, 10.0.0.3
   include = /etc/samba/more.conf
[share]
   wins server = 10.7.7.7
";
        let g = smb_conf_global(text);
        assert_eq!(
            wins_server_list(g.wins_server.as_deref().unwrap()),
            ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
        );
        assert!(!g.wins_support);
        assert_eq!(g.includes, ["/etc/samba/more.conf"]);
        assert!(smb_conf_global("[GLOBAL]\nwins support = Yes\n").wins_support);
    }

    #[test]
    fn dhclient_newest_unexpired_lease_per_interface() {
        let text = r#"
lease {
  interface "eth0";
  option netbios-name-servers 10.0.0.1;
  expire 4 2030/01/02 03:04:05;
}
lease {
  interface "eth0";
  option netbios-name-servers 10.0.0.2, 10.0.0.3;
  expire 4 2030/01/02 03:04:05;
}
lease {
  interface "eth1";
  option netbios-name-servers 10.1.0.1;
  expire epoch 100;
}
"#;
        assert_eq!(dhclient_servers(text, 1_000), ["10.0.0.2", "10.0.0.3"]);
        // 2030-01-02 03:04:05 UTC
        assert_eq!(lease_time("4 2030/01/02 03:04:05"), Some(1_893_553_445));
        assert!(dhclient_servers(text, 1_893_553_445).is_empty());
    }

    /// `nmcli --terse --fields DHCP4 device show` of two devices (options
    /// left out; nmcli sorts them by name), in the
    /// format of NetworkManager 1.58.1 (commit 355bc902): the `%s[%d]:`
    /// prefix of an array field in multiline terse output
    /// (`src/nmcli/utils.c`, print_required_fields), each option as
    /// `"%s = %s"` (`src/nmcli/common.c`, _metagen_dhcp_config_get_fcn),
    /// option 44 as space-separated addresses (`src/core/dhcp/
    /// nm-dhcp-nettools.c`, lease_parse_address_list). Option names as
    /// `src/core/dhcp/nm-dhcp-options.c` spells them.
    const NMCLI_TERSE: &str = "\
DHCP4.OPTION[1]:broadcast_address = 192.168.1.255
DHCP4.OPTION[2]:dhcp_lease_time = 86400
DHCP4.OPTION[3]:dhcp_server_identifier = 192.168.1.1
DHCP4.OPTION[4]:domain_name_servers = 192.168.1.1
DHCP4.OPTION[5]:expiry = 1764700000
DHCP4.OPTION[6]:ip_address = 192.168.1.23
DHCP4.OPTION[7]:netbios_name_servers = 192.168.1.5 192.168.1.6
DHCP4.OPTION[8]:requested_broadcast_address = 1
DHCP4.OPTION[9]:routers = 192.168.1.1
DHCP4.OPTION[10]:subnet_mask = 255.255.255.0

DHCP4.OPTION[1]:ip_address = 10.1.0.7
DHCP4.OPTION[2]:netbios_name_servers = 10.1.0.2
";

    #[test]
    fn network_manager_dhcp4_options_from_nmcli() {
        assert_eq!(
            nmcli_servers(NMCLI_TERSE),
            ["192.168.1.5", "192.168.1.6", "10.1.0.2"]
        );
        // nmcli without --terse pads the value column.
        let plain = "DHCP4.OPTION[7]:                        netbios_name_servers = 10.3.0.1\n";
        assert_eq!(nmcli_servers(plain), ["10.3.0.1"]);
        // Request markers (`requested_` + the name of each option asked
        // for), other options and other sections are not servers.
        let other = "DHCP4.OPTION[1]:requested_routers = 1\n\
                     IP4.DNS[1]:netbios_name_servers = 10.9.9.9\n";
        assert!(nmcli_servers(other).is_empty());
    }

    /// The internal client's lease file, as `lease_save` of
    /// `src/core/dhcp/nm-dhcp-nettools.c` (NetworkManager 1.58.1) writes
    /// it: no option, so nothing is read from it.
    #[test]
    fn network_manager_internal_lease_has_no_servers() {
        let text = "# This is private data. Do not parse.\nADDRESS=192.168.1.23\n";
        assert!(dhclient_servers(text, 0).is_empty());
        assert!(!is_dhclient_name("internal-0b1c2d3e-eth0.lease"));
        assert!(is_dhclient_name("dhclient-0b1c2d3e-eth0.lease"));
    }
}
