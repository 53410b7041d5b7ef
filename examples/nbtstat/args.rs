//! Command line parsing, by hand (std only).

use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::str::FromStr;
use core::time::Duration;
use std::path::PathBuf;

use nbns::wire::{NAME_SERVICE_PORT, NetbiosName};

pub(crate) const USAGE: &str = "\
usage: nbtstat -RR       [NAMES] [--wins ADDR[:PORT]]... [--addr IP] [--port N] [--state FILE]
       nbtstat --register [NAMES] --wins ADDR[:PORT]... [--addr IP] [--port N]
       nbtstat --hold     [NAMES] --wins ADDR[:PORT]... [--addr IP] [--port N]
                          [--hold-seconds N] [--no-stdin]
       nbtstat -n         [NAMES] [--wins ADDR[:PORT]] [--addr IP]
       nbtstat -a NAME[<xx>] --wins ADDR[:PORT]
       nbtstat -A ADDR[:PORT]
common: [--json] [--timeout SECS]

NAMES:  --name NAME<xx> (unique) and --group NAME<xx>, repeated, or
        --names-file FILE (one NAME<xx> per line, optionally followed by
        `group`; `#` starts a comment). Default: the host name <00> and <20>.
-RR     release the names at the WINS servers, then register them again.
        Refused within 2 minutes of the previous -RR against the same servers
        (state in --state FILE, $NBTSTAT_STATE, or a file in the temp dir).
        With no --wins: against an embedded WINS server on loopback, printing
        each record's version ID before and after.
--register  register the names and exit (they stay registered at the server).
--hold  register the names and keep them: refresh, answer queries, node status
        and WINS challenges, defend unique names; release everything on Ctrl-C,
        end of input, `quit`, or after --hold-seconds. Input commands:
        refresh, names, rr, quit.
-n      the local names and their state at the WINS server.
-a / -A node status of a remote machine by name (resolved through --wins) or
        by address.
--addr  the address to register and to send from (default: the local address
        on the route to the primary WINS server). --port: the UDP port to bind
        (default 137, where WINS servers send challenges; needs root).
exit:   0 all fine, 1 some names failed or the request failed, 2 usage.";

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    ReleaseRefresh,
    Register,
    Hold,
    LocalNames,
    StatusByName(NetbiosName),
    StatusByAddr(SocketAddrV4),
    Help,
}

/// One name to register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameArg {
    pub(crate) name: NetbiosName,
    pub(crate) group: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Args {
    pub(crate) mode: Mode,
    pub(crate) names: Vec<NameArg>,
    pub(crate) wins: Vec<SocketAddrV4>,
    pub(crate) addr: Option<Ipv4Addr>,
    pub(crate) port: Option<u16>,
    pub(crate) json: bool,
    pub(crate) state: Option<PathBuf>,
    pub(crate) hold_seconds: Option<u64>,
    pub(crate) stdin: bool,
    pub(crate) timeout: Duration,
}

/// A usage error (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// Parses `NAME<xx>`, `NAME#xx` or `NAME` (suffix 00), upper-cased, with
/// errors that say what is wrong.
pub(crate) fn parse_name(text: &str) -> Result<NetbiosName, UsageError> {
    let (body, suffix_text) = if let Some(open) = text.rfind('<') {
        let Some(hex) = text[open + 1..].strip_suffix('>') else {
            return Err(usage(format!(
                "bad name {text:?}: the suffix must be written <xx> with two hex digits"
            )));
        };
        (&text[..open], Some(hex))
    } else if let Some(hash) = text.rfind('#') {
        (&text[..hash], Some(&text[hash + 1..]))
    } else {
        (text, None)
    };
    if let Some(hex) = suffix_text
        && (hex.len() != 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(usage(format!(
            "bad suffix in {text:?}: {hex:?} is not two hex digits (such as 00, 20, 1c)"
        )));
    }
    if body.is_empty() {
        return Err(usage(format!("bad name {text:?}: the name is empty")));
    }
    if body.len() > 15 {
        return Err(usage(format!(
            "bad name {text:?}: {} characters, but NetBIOS names have at most 15",
            body.len()
        )));
    }
    if body.starts_with('*') {
        return Err(usage(format!(
            "bad name {text:?}: names starting with '*' are never registered"
        )));
    }
    if body.bytes().any(|b| b.is_ascii_control()) {
        return Err(usage(format!("bad name {text:?}: control characters")));
    }
    let name = NetbiosName::from_str(&format!("{body}<{}>", suffix_text.unwrap_or("00")))
        .map_err(|e| usage(format!("bad name {text:?}: {e}")))?;
    Ok(name.to_ascii_uppercase())
}

/// `ADDR` or `ADDR:PORT`, port 137 by default.
fn parse_server(text: &str, what: &str) -> Result<SocketAddrV4, UsageError> {
    if let Ok(a) = text.parse::<SocketAddrV4>() {
        return Ok(a);
    }
    text.parse::<Ipv4Addr>()
        .map(|ip| SocketAddrV4::new(ip, NAME_SERVICE_PORT))
        .map_err(|_| usage(format!("{what} {text:?}: not an IPv4 address[:port]")))
}

fn parse_names_file(path: &str, names: &mut Vec<NameArg>) -> Result<(), UsageError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("--names-file {path}: {e}")))?;
    for (i, line) in text.lines().enumerate() {
        // `#` also introduces Samba's NAME#xx form: only a `#` at the start
        // or after whitespace starts a comment.
        let end = line
            .char_indices()
            .find(|&(i, c)| c == '#' && (i == 0 || line[..i].ends_with(char::is_whitespace)))
            .map_or(line.len(), |(i, _)| i);
        let line = line[..end].trim();
        let mut words = line.split_whitespace();
        let Some(word) = words.next() else { continue };
        let group = match words.next() {
            None | Some("unique") => false,
            Some("group") => true,
            Some(other) => {
                return Err(usage(format!(
                    "{path}:{}: expected `group` or `unique` after the name, not {other:?}",
                    i + 1
                )));
            }
        };
        let name = parse_name(word).map_err(|e| usage(format!("{path}:{}: {e}", i + 1)))?;
        names.push(NameArg { name, group });
    }
    Ok(())
}

/// Parses the arguments (without the program name).
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, UsageError> {
    let mut a = Args {
        mode: Mode::Help,
        names: Vec::new(),
        wins: Vec::new(),
        addr: None,
        port: None,
        json: false,
        state: None,
        hold_seconds: None,
        stdin: true,
        timeout: Duration::from_secs(180),
    };
    let mut mode = None;
    let mut set_mode = |m: Mode| -> Result<(), UsageError> {
        if mode.is_some() {
            return Err(usage(
                "give only one of -RR, --register, --hold, -n, -a, -A",
            ));
        }
        mode = Some(m);
        Ok(())
    };
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .ok_or_else(|| usage(format!("{flag} needs {what}")))
        };
        match flag.as_str() {
            "-h" | "--help" | "-?" => set_mode(Mode::Help)?,
            "-RR" | "--release-refresh" => set_mode(Mode::ReleaseRefresh)?,
            "--register" => set_mode(Mode::Register)?,
            "--hold" => set_mode(Mode::Hold)?,
            "-n" | "--names" => set_mode(Mode::LocalNames)?,
            "-a" | "--adapter-status" => {
                let v = value("a NAME")?;
                set_mode(Mode::StatusByName(parse_name(&v)?))?;
            }
            "-A" | "--adapter-address" => {
                let v = value("an address")?;
                set_mode(Mode::StatusByAddr(parse_server(&v, "-A")?))?;
            }
            "--name" | "--group" => {
                let group = flag == "--group";
                let v = value("NAME<xx>")?;
                a.names.push(NameArg {
                    name: parse_name(&v)?,
                    group,
                });
            }
            "--names-file" => parse_names_file(&value("a file")?, &mut a.names)?,
            "--wins" => {
                let v = value("ADDR[:PORT]")?;
                a.wins.push(parse_server(&v, "--wins")?);
            }
            "--addr" => {
                let v = value("an IPv4 address")?;
                let ip: Ipv4Addr = v
                    .parse()
                    .map_err(|_| usage(format!("--addr {v:?}: not an IPv4 address")))?;
                if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
                    return Err(usage(format!(
                        "--addr {ip}: give an address of this host to register"
                    )));
                }
                a.addr = Some(ip);
            }
            "--port" => {
                let v = value("a UDP port")?;
                a.port = Some(
                    v.parse()
                        .map_err(|_| usage(format!("--port {v:?}: not a port number")))?,
                );
            }
            "--state" => a.state = Some(PathBuf::from(value("a file")?)),
            "--json" => a.json = true,
            "--hold-seconds" => {
                let v = value("seconds")?;
                a.hold_seconds = Some(
                    v.parse()
                        .map_err(|_| usage(format!("--hold-seconds {v:?}: not a number")))?,
                );
            }
            "--no-stdin" => a.stdin = false,
            "--timeout" => {
                let v = value("seconds")?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| usage(format!("--timeout {v:?}: not a number")))?;
                a.timeout = Duration::from_secs(secs.max(1));
            }
            other => {
                return Err(usage(format!("unknown argument {other:?}")));
            }
        }
    }
    a.mode = mode.unwrap_or(Mode::Help);
    let needs_wins = matches!(a.mode, Mode::Register | Mode::Hold | Mode::StatusByName(_));
    if needs_wins && a.wins.is_empty() {
        return Err(usage("this mode needs a WINS server: --wins ADDR[:PORT]"));
    }
    if a.hold_seconds.is_some() && a.mode != Mode::Hold {
        return Err(usage("--hold-seconds goes with --hold"));
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(parse_name("host<20>").unwrap().to_string(), "HOST<20>");
        assert_eq!(parse_name("host#1c").unwrap().to_string(), "HOST<1c>");
        assert_eq!(parse_name("host").unwrap().to_string(), "HOST<00>");
        assert!(parse_name("ABCDEFGHIJKLMNOP").is_err());
        assert!(parse_name("HOST<2>").is_err());
        assert!(parse_name("HOST<zz>").is_err());
        assert!(parse_name("HOST<200>").is_err());
        assert!(parse_name("<20>").is_err());
    }
}
