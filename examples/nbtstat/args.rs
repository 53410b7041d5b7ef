//! The command line: clap (derive), after a small pre-pass for the spellings
//! of Windows' `nbtstat` that clap cannot express.
//!
//! The pre-pass ([`prepass`]) looks at each argument before `--`:
//!
//! * `-RR` (case-sensitive, as on Windows) becomes `--release-refresh`;
//!   `-rr`, `-Rr` and `-rR` are usage errors that point at `-RR`;
//! * `/?` becomes `--help`;
//! * Windows' `-r`, `-R`, `-c`, `-s` and `-S` on the command line are usage
//!   errors of one line each saying what they do on Windows and what to use
//!   instead ([`windows_only`]): the first three are input commands of a
//!   `--hold` node, which has a cache to act on.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::net::ToSocketAddrs;
use std::path::PathBuf;

use clap::{ArgGroup, Parser};
use nbns::node_type::NodeType;
use nbns::resolver::Subnet;
use nbns::wire::{NAME_SERVICE_PORT, NetbiosName};

/// Exit codes, also listed in `--help`.
pub(crate) mod exit {
    /// Everything asked was done.
    pub(crate) const OK: u8 = 0;
    /// Some names failed, or the request was not answered or failed.
    pub(crate) const FAILED: u8 = 1;
    /// Bad arguments, a bad names file, or a Windows switch with no meaning here.
    pub(crate) const USAGE: u8 = 2;
    /// `-RR` refused: the previous one against the same servers was less than
    /// 2 minutes ago. Nothing was sent.
    pub(crate) const REFUSED: u8 = 3;
}

const AFTER_HELP: &str = "\
NAMES: --name NAME<xx> (unique) and --group NAME<xx>, repeated, or --names-file FILE
  (one NAME<xx> per line, optionally followed by `group` or `unique`; `#` starts a
  comment). Names are upper-cased as Windows does. Default: the host name <00>, <20>.

WINS servers: --wins, else Samba's `wins server` (or `wins support = yes`: this
  host) in the [global] section of /etc/samba/smb.conf (--configfile FILE), else
  DHCP option 44 (NetBIOS name servers) from the leases of dhclient
  (/var/lib/dhcp/dhclient*.leases, /var/lib/dhclient/) and NetworkManager
  (/var/lib/NetworkManager/*.lease, /run/NetworkManager/devices/*).
  $NBTSTAT_SYSROOT prefixes those system paths. With none of them, -RR runs a
  demonstration against a WINS server inside this process.

-RR is refused within 2 minutes of the previous -RR against the same set of
  servers (in any order), as on Windows; the time is kept in --state FILE,
  $NBTSTAT_STATE, or nbns-nbtstat-<uid>.state in the temp directory. A run that
  no server answered does not count.

-a NAME resolves the name as --node-type says: with no WINS server, by broadcast
  on --subnet (default: the subnet of --addr's interface, or of the first
  broadcast-capable interface); then node status of the answering host, unicast.

--hold releases its names on Ctrl-C, SIGTERM, SIGHUP, `quit`, end of input
  (unless --no-stdin) or after --hold-seconds. Input commands: refresh, names, rr,
  resolve NAME (or -a NAME), -c (the remote name cache), -r (resolution
  statistics), -R (purge the cache), quit.

Windows' -r, -R and -c are input commands of --hold; those and -s, -S on the
  command line each say so.

Exit status: 0 all done; 1 some names failed or the request failed or was not
  answered; 2 usage; 3 -RR refused within the 2 minutes (nothing sent).";

/// `nbtstat` for the NetBIOS Name Service: release and register names again
/// at WINS servers (-RR), hold them, list them, ask other nodes for their
/// name tables.
#[derive(Debug, Parser)]
// A repeated option is not an error: the last one counts (lists collect).
#[command(name = "nbtstat", after_help = AFTER_HELP, args_override_self = true)]
#[command(group(ArgGroup::new("mode").args(
    ["release_refresh", "register", "release", "hold", "local_names", "adapter_status",
     "adapter_address"]
)))]
pub(crate) struct Cli {
    /// Release the names at the WINS servers, then register them again
    /// (written -RR).
    #[arg(long = "release-refresh")]
    pub(crate) release_refresh: bool,
    /// Register the names and exit (they stay registered).
    #[arg(long)]
    pub(crate) register: bool,
    /// Release names an earlier --register left at the WINS server, and exit.
    #[arg(long)]
    pub(crate) release: bool,
    /// Register the names and keep them: refresh, answer queries, node status
    /// and WINS challenges; release everything at the end.
    #[arg(long)]
    pub(crate) hold: bool,
    /// The local names and their state at the WINS server.
    #[arg(short = 'n', long = "names")]
    pub(crate) local_names: bool,
    /// Node status of a remote machine by NetBIOS name, resolved through the
    /// WINS server.
    #[arg(short = 'a', long = "adapter-status", value_name = "NAME[<xx>]")]
    pub(crate) adapter_status: Option<String>,
    /// Node status of a remote machine by address.
    #[arg(short = 'A', long = "adapter-address", value_name = "ADDR[:PORT]")]
    pub(crate) adapter_address: Option<String>,

    /// A unique name to register (repeatable).
    #[arg(long = "name", value_name = "NAME<xx>")]
    pub(crate) names: Vec<String>,
    /// A group name to register (repeatable).
    #[arg(long = "group", value_name = "NAME<xx>")]
    pub(crate) groups: Vec<String>,
    /// A file of names, one per line.
    #[arg(long = "names-file", value_name = "FILE")]
    pub(crate) names_file: Option<PathBuf>,
    /// A WINS server, host name or IPv4 address, with an optional port
    /// (default 137); repeatable, primary first.
    #[arg(long = "wins", value_name = "HOST[:PORT]")]
    pub(crate) wins: Vec<String>,
    /// Samba's configuration file, read for `wins server`.
    #[arg(long = "configfile", value_name = "FILE")]
    pub(crate) configfile: Option<PathBuf>,
    /// The address to register and to send from (default: the local address
    /// on the route to the primary WINS server).
    #[arg(long, value_name = "IP")]
    pub(crate) addr: Option<Ipv4Addr>,
    /// The local subnet for broadcast name queries (-a without WINS, and
    /// after silent WINS servers): broadcasts go to its broadcast address.
    /// Default: the subnet of --addr's interface, or of the first
    /// broadcast-capable interface.
    #[arg(long, value_name = "ADDR/LEN")]
    pub(crate) subnet: Option<String>,
    /// How names are looked up (-a, and `resolve` in --hold) and held: b
    /// broadcast, p WINS, m broadcast then WINS, h WINS then broadcast
    /// while every WINS server is silent. Default for lookups: b without
    /// WINS servers, h with WINS and --subnet, p with WINS only. --hold
    /// holds names by broadcast only when b, m or h is given.
    #[arg(long = "node-type", value_name = "b|p|m|h", value_parser = parse_node_type)]
    pub(crate) node_type: Option<NodeType>,
    /// The UDP port to bind (default 137, where WINS servers send challenges;
    /// needs root).
    #[arg(long, value_name = "N")]
    pub(crate) port: Option<u16>,
    /// The -RR cooldown state file (never creates directories).
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
    /// One JSON object per line.
    #[arg(long)]
    pub(crate) json: bool,
    /// With --hold: release and exit after this many seconds.
    #[arg(long = "hold-seconds", value_name = "N", requires = "hold")]
    pub(crate) hold_seconds: Option<u64>,
    /// With --hold: do not read commands from standard input (end of input
    /// then does not release).
    #[arg(long = "no-stdin")]
    pub(crate) no_stdin: bool,
    /// How long to wait for answers, in seconds (registration: 180; -a, -A,
    /// -n: 4.5 in all, over 3 tries).
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<u64>,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    ReleaseRefresh,
    Register,
    Release,
    Hold,
    LocalNames,
    StatusByName(NetbiosName),
    StatusByAddr(SocketAddrV4),
}

/// One name to register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameArg {
    pub(crate) name: NetbiosName,
    pub(crate) group: bool,
}

/// The arguments, checked.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    pub(crate) mode: Mode,
    /// Empty: the host's default names.
    pub(crate) names: Vec<NameArg>,
    /// As given, resolved; not yet deduplicated.
    pub(crate) wins: Vec<SocketAddrV4>,
    pub(crate) configfile: Option<PathBuf>,
    pub(crate) addr: Option<Ipv4Addr>,
    pub(crate) port: Option<u16>,
    pub(crate) subnet: Option<Subnet>,
    pub(crate) node_type: Option<NodeType>,
    pub(crate) json: bool,
    pub(crate) state: Option<PathBuf>,
    pub(crate) hold_seconds: Option<u64>,
    pub(crate) stdin: bool,
    pub(crate) timeout: Option<Duration>,
}

/// What a run of the parser ends in.
pub(crate) enum Parsed {
    Run(Box<Args>),
    /// Print this and exit with this code (help, version, usage errors).
    Exit(String, u8),
}

/// Windows' switches that have nothing to act on here: what each does on
/// Windows, and what to use instead.
pub(crate) fn windows_only(switch: &str) -> Option<&'static str> {
    Some(match switch {
        "-r" => {
            "-r: on Windows, counts the names this host resolved by broadcast and through WINS; \
             here a --hold node keeps those counts: type -r on its standard input"
        }
        "-R" => {
            "-R: on Windows, purges the remote name cache and reloads #PRE entries of LMHOSTS; \
             here only a --hold node has a cache (type -R on its standard input), and no \
             LMHOSTS is read (did you mean -RR?)"
        }
        "-c" => {
            "-c: on Windows, lists the remote name cache; here a --hold node keeps one: type \
             -c on its standard input (a one-shot -a asks afresh)"
        }
        "-s" | "-S" => {
            "-s/-S: on Windows, lists NetBIOS sessions (TCP 139), which are not part of the \
             name service: use `ss -tn state established '( sport = :139 or sport = :445 )'`"
        }
        _ => return None,
    })
}

/// Rewrites Windows' spellings (see the module docs).
pub(crate) fn prepass(args: Vec<String>) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(args.len());
    let mut rest = false;
    for a in args {
        if rest || a == "--" {
            rest = true;
            out.push(a);
            continue;
        }
        match a.as_str() {
            "-RR" => out.push("--release-refresh".to_owned()),
            "-rr" | "-Rr" | "-rR" => {
                return Err(format!(
                    "unknown switch {a}: release and refresh is -RR (upper case, as on Windows)"
                ));
            }
            "/?" => out.push("--help".to_owned()),
            other => {
                if let Some(line) = windows_only(other) {
                    return Err(line.to_owned());
                }
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// Parses the arguments (without the program name).
pub(crate) fn parse(args: Vec<String>) -> Parsed {
    let args = match prepass(args) {
        Ok(a) => a,
        Err(e) => return Parsed::Exit(format!("nbtstat: {e}"), exit::USAGE),
    };
    let cli = match Cli::try_parse_from(core::iter::once("nbtstat".to_owned()).chain(args)) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            // Help as clap writes it; a mistake as one line, as the other
            // errors.
            let text = if e.use_stderr() {
                crate::usage_exit::usage_line("nbtstat", &e)
            } else {
                e.render().to_string()
            };
            return Parsed::Exit(text, code);
        }
    };
    match check(cli) {
        Ok(a) => Parsed::Run(Box::new(a)),
        Err(e) => Parsed::Exit(format!("nbtstat: {e}"), exit::USAGE),
    }
}

fn check(cli: Cli) -> Result<Args, String> {
    let mode = if cli.release_refresh {
        Mode::ReleaseRefresh
    } else if cli.register {
        Mode::Register
    } else if cli.release {
        Mode::Release
    } else if cli.hold {
        Mode::Hold
    } else if cli.local_names {
        Mode::LocalNames
    } else if let Some(n) = &cli.adapter_status {
        Mode::StatusByName(parse_name(n)?)
    } else if let Some(a) = &cli.adapter_address {
        Mode::StatusByAddr(parse_server(a, "-A")?)
    } else {
        return Err(
            "say what to do: -RR, --register, --release, --hold, -n, -a NAME or -A ADDR \
             (--help)"
                .to_owned(),
        );
    };
    let mut names = Vec::new();
    for (text, group) in cli
        .names
        .iter()
        .map(|n| (n, false))
        .chain(cli.groups.iter().map(|g| (g, true)))
    {
        names.push(NameArg {
            name: parse_name(text)?,
            group,
        });
    }
    if let Some(path) = &cli.names_file {
        names.extend(parse_names_file(path)?);
    }
    if let Some(dup) = names
        .iter()
        .enumerate()
        .find(|(i, n)| names[..*i].iter().any(|m| m.name == n.name))
    {
        return Err(format!("{} is given twice", dup.1.name));
    }
    let mut wins = Vec::new();
    for w in &cli.wins {
        wins.push(parse_server(w, "--wins")?);
    }
    if let Some(ip) = cli.addr
        && (ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast())
    {
        return Err(format!(
            "--addr {ip}: give an address of this host to register"
        ));
    }
    Ok(Args {
        mode,
        names,
        wins,
        configfile: cli.configfile,
        addr: cli.addr,
        port: cli.port,
        subnet: cli.subnet.as_deref().map(parse_subnet).transpose()?,
        node_type: cli.node_type,
        json: cli.json,
        state: cli.state,
        hold_seconds: cli.hold_seconds,
        stdin: !cli.no_stdin,
        timeout: cli.timeout.map(|s| Duration::from_secs(s.max(1))),
    })
}

/// Parses a node type letter, as Windows' `ipconfig /all` names them.
fn parse_node_type(text: &str) -> Result<NodeType, String> {
    match text.to_ascii_lowercase().as_str() {
        "b" | "broadcast" => Ok(NodeType::B),
        "p" | "peer-peer" => Ok(NodeType::P),
        "m" | "mixed" => Ok(NodeType::M),
        "h" | "hybrid" => Ok(NodeType::H),
        _ => Err(format!("{text:?}: one of b, p, m, h")),
    }
}

/// Parses `ADDR/LEN` (`10.0.0.7/24`).
pub(crate) fn parse_subnet(text: &str) -> Result<Subnet, String> {
    let bad = || format!("--subnet {text:?}: give ADDR/LEN, such as 10.0.0.7/24");
    let (addr, len) = text.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(bad());
    }
    Ok(Subnet::new(addr, len))
}

/// Parses `NAME<xx>`, `NAME#xx` or `NAME` (suffix 00), upper-cased as
/// Windows does ([`NetbiosName::new_uppercase`]), with errors that say what
/// is wrong.
pub(crate) fn parse_name(text: &str) -> Result<NetbiosName, String> {
    let (body, suffix_text) = if let Some(open) = text.rfind('<') {
        let Some(hex) = text[open + 1..].strip_suffix('>') else {
            return Err(format!(
                "bad name {text:?}: the suffix must be written <xx> with two hex digits"
            ));
        };
        (&text[..open], Some(hex))
    } else if let Some(hash) = text.rfind('#') {
        (&text[..hash], Some(&text[hash + 1..]))
    } else {
        (text, None)
    };
    let suffix = match suffix_text {
        None => 0,
        Some(hex) if hex.len() == 2 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u8::from_str_radix(hex, 16).map_err(|e| format!("bad suffix in {text:?}: {e}"))?
        }
        Some(hex) => {
            return Err(format!(
                "bad suffix in {text:?}: {hex:?} is not two hex digits (such as 00, 20, 1c)"
            ));
        }
    };
    if body.is_empty() {
        return Err(format!("bad name {text:?}: the name is empty"));
    }
    if body.len() > 15 {
        return Err(format!(
            "bad name {text:?}: {} bytes, but NetBIOS names have at most 15",
            body.len()
        ));
    }
    if body.starts_with('*') {
        return Err(format!(
            "bad name {text:?}: names starting with '*' are never registered"
        ));
    }
    if body.chars().any(char::is_control) {
        return Err(format!("bad name {text:?}: control characters"));
    }
    NetbiosName::new_uppercase(body, suffix).map_err(|e| format!("bad name {text:?}: {e}"))
}

/// A server as `HOST`, `HOST:PORT`, `ADDR` or `ADDR:PORT` (port 137 by
/// default); host names are resolved with the system's resolver. Text that
/// looks like a dotted address but is not one is an error, not a host name.
pub(crate) fn parse_server(text: &str, what: &str) -> Result<SocketAddrV4, String> {
    if let Ok(a) = text.parse::<SocketAddrV4>() {
        return Ok(a);
    }
    if let Ok(ip) = text.parse::<Ipv4Addr>() {
        return Ok(SocketAddrV4::new(ip, NAME_SERVICE_PORT));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("{what} {text:?}: {p:?} is not a port number"))?,
        ),
        None => (text, NAME_SERVICE_PORT),
    };
    let host_like = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let dotted_numbers = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !host_like || dotted_numbers {
        return Err(format!(
            "{what} {text:?}: neither an IPv4 address nor a host name"
        ));
    }
    let resolved = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{what} {text:?}: cannot resolve {host}: {e}"))?;
    resolved
        .filter_map(|a| match a {
            core::net::SocketAddr::V4(v4) => Some(v4),
            core::net::SocketAddr::V6(_) => None,
        })
        .next()
        .ok_or_else(|| format!("{what} {text:?}: {host} has no IPv4 address"))
}

/// Reads a names file: every error at once, each as `file:line: what`.
pub(crate) fn parse_names_file(path: &std::path::Path) -> Result<Vec<NameArg>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("--names-file {shown}: {e}"))?;
    let mut names: Vec<(NameArg, usize)> = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        // `#` also introduces Samba's NAME#xx form: only a `#` at the start
        // or after whitespace starts a comment.
        let end = line
            .char_indices()
            .find(|&(i, c)| c == '#' && (i == 0 || line[..i].ends_with(char::is_whitespace)))
            .map_or(line.len(), |(i, _)| i);
        let mut words = line[..end].split_whitespace();
        let Some(word) = words.next() else { continue };
        let group = match words.next() {
            None | Some("unique") => false,
            Some("group") => true,
            Some(other) => {
                errors.push(format!(
                    "{shown}:{line_no}: expected `group` or `unique` after the name, not {other:?}"
                ));
                continue;
            }
        };
        if let Some(extra) = words.next() {
            errors.push(format!(
                "{shown}:{line_no}: {extra:?} after `{}`: one name and at most one of \
                 `group`/`unique` per line",
                if group { "group" } else { "unique" }
            ));
            continue;
        }
        match parse_name(word) {
            Ok(name) => {
                if let Some((_, first)) = names.iter().find(|(n, _)| n.name == name) {
                    errors.push(format!(
                        "{shown}:{line_no}: {name} again (first on line {first})"
                    ));
                } else {
                    names.push((NameArg { name, group }, line_no));
                }
            }
            Err(e) => errors.push(format!("{shown}:{line_no}: {e}")),
        }
    }
    if names.is_empty() && errors.is_empty() {
        errors.push(format!("{shown}: no names in the file"));
    }
    if errors.is_empty() {
        Ok(names.into_iter().map(|(n, _)| n).collect())
    } else {
        Err(errors.join("\nnbtstat: "))
    }
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

    #[test]
    fn servers_never_resolve_bad_dotted_text() {
        assert!(parse_server("10.0.0.300", "--wins").is_err());
        assert!(parse_server("a b", "--wins").is_err());
        assert_eq!(
            parse_server("10.0.0.1", "--wins").unwrap(),
            "10.0.0.1:137".parse().unwrap()
        );
    }

    #[test]
    fn subnets_and_node_types() {
        let s = parse_subnet("10.0.0.7/24").unwrap();
        assert_eq!(s.broadcast_address(), Ipv4Addr::new(10, 0, 0, 255));
        for bad in ["10.0.0.7", "10.0.0.7/33", "10.0.0/24", "10.0.0.7/x"] {
            assert!(parse_subnet(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_node_type("H"), Ok(NodeType::H));
        assert_eq!(parse_node_type("mixed"), Ok(NodeType::M));
        assert!(parse_node_type("x").is_err());
    }
}
