//! Output: lines of text for people, or one JSON object per line (`--json`).

use core::fmt::Write as _;
use core::net::Ipv4Addr;

use nbns::client::{ClientEvent, ConflictCause, ReleaseOutcome};
use nbns::wire::{NameFlags, NetbiosName};
use serde_json::{Value, json};

/// `NAME           <xx>`: the name padded to 15 columns, as nbtstat prints it.
pub(crate) fn padded(name: &NetbiosName) -> String {
    let mut s = String::new();
    for &b in name.trimmed() {
        if (0x20..0x7f).contains(&b) {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    let width = 15usize.max(s.len());
    format!("{s:<width$}<{:02X}>", name.suffix())
}

fn plain(name: &NetbiosName) -> String {
    padded(name)
        .rsplit_once('<')
        .map_or_else(String::new, |(n, _)| n.trim_end().to_owned())
}

/// The name as JSON fields.
pub(crate) fn name_json(name: &NetbiosName) -> Value {
    json!({ "name": plain(name), "suffix": format!("{:02x}", name.suffix()) })
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// One row of a name table.
#[derive(Debug, Clone)]
pub(crate) struct TableRow {
    pub(crate) name: NetbiosName,
    pub(crate) group: bool,
    pub(crate) status: String,
}

impl TableRow {
    pub(crate) fn from_node_name(name: NetbiosName, flags: NameFlags) -> Self {
        let status = if flags.conflict() {
            "Conflict"
        } else if flags.deregistering() {
            "Deregistered"
        } else if flags.is_active() {
            "Registered"
        } else {
            "Inactive"
        };
        Self {
            name,
            group: flags.group(),
            status: status.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Reporter {
    pub(crate) json: bool,
}

impl Reporter {
    /// Prints `text`, or `value` as one JSON line.
    pub(crate) fn emit(&self, text: &str, value: &Value) {
        if self.json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    }

    /// A note for people (stderr in text mode, a `note` object in JSON).
    pub(crate) fn note(&self, text: &str) {
        if self.json {
            println!("{}", json!({ "event": "note", "message": text }));
        } else {
            eprintln!("{text}");
        }
    }

    /// Prints a client event as it happens.
    pub(crate) fn event(&self, ev: &ClientEvent) {
        let (text, value) = match ev {
            ClientEvent::Registered { name, server, ttl } => (
                format!(
                    "registered   {}  TTL {ttl} s (WINS {server})",
                    padded(&name.netbios)
                ),
                merge(
                    json!({ "event": "registered", "ttl": ttl, "server": server.to_string() }),
                    name_json(&name.netbios),
                ),
            ),
            ClientEvent::RegistrationRefused {
                name,
                server,
                rcode,
            } => (
                format!(
                    "conflict     {}  {rcode} (rcode {}) from WINS {server}",
                    padded(&name.netbios),
                    u8::from(*rcode)
                ),
                merge(
                    json!({ "event": "conflict", "rcode": u8::from(*rcode),
                            "rcode_name": rcode.to_string(), "server": server.to_string() }),
                    name_json(&name.netbios),
                ),
            ),
            ClientEvent::OwnerDefended { name, owner } => (
                format!(
                    "conflict     {}  ACT_ERR: the owner {owner} defended it",
                    padded(&name.netbios)
                ),
                merge(
                    json!({ "event": "conflict", "rcode": 6, "rcode_name": "ACT_ERR",
                            "owner": owner.to_string() }),
                    name_json(&name.netbios),
                ),
            ),
            ClientEvent::NoServerAnswered { name } => (
                format!(
                    "timed out    {}  no WINS server answered",
                    padded(&name.netbios)
                ),
                merge(json!({ "event": "timed_out" }), name_json(&name.netbios)),
            ),
            ClientEvent::Refreshed { name, server, ttl } => (
                format!(
                    "refreshed    {}  TTL {ttl} s (WINS {server})",
                    padded(&name.netbios)
                ),
                merge(
                    json!({ "event": "refreshed", "ttl": ttl, "server": server.to_string() }),
                    name_json(&name.netbios),
                ),
            ),
            ClientEvent::RefreshTimedOut { name } => (
                format!(
                    "timed out    {}  refresh unanswered; registering again",
                    padded(&name.netbios)
                ),
                merge(
                    json!({ "event": "refresh_timed_out" }),
                    name_json(&name.netbios),
                ),
            ),
            ClientEvent::Claimed { name } => (
                format!(
                    "claimed      {}  by broadcast: no node defended it",
                    padded(&name.netbios)
                ),
                merge(json!({ "event": "claimed" }), name_json(&name.netbios)),
            ),
            ClientEvent::Conflict { name, cause } => {
                let why = match cause {
                    ConflictCause::NegativeRefresh(rc) => format!("refresh refused with {rc}"),
                    ConflictCause::ConflictDemand => "name conflict demand".to_owned(),
                    other => other.to_string(),
                };
                (
                    format!("conflict     {}  {why}", padded(&name.netbios)),
                    merge(
                        json!({ "event": "conflict", "cause": why }),
                        name_json(&name.netbios),
                    ),
                )
            }
            ClientEvent::Released { name, outcome } => {
                let (word, why) = match outcome {
                    ReleaseOutcome::Confirmed => ("confirmed", "confirmed".to_owned()),
                    ReleaseOutcome::NotFound => (
                        "not_found",
                        "NAM_ERR: the server did not hold it for this address".to_owned(),
                    ),
                    ReleaseOutcome::Unconfirmed => {
                        ("unconfirmed", "no answer; released anyway".to_owned())
                    }
                    ReleaseOutcome::Refused(rc) => {
                        ("refused", format!("refused with {rc}; released locally"))
                    }
                    ReleaseOutcome::Broadcast => ("broadcast", "released by broadcast".to_owned()),
                    ReleaseOutcome::NotRegistered => (
                        "not_registered",
                        "nothing sent: it was not registered".to_owned(),
                    ),
                    other => ("other", other.to_string()),
                };
                (
                    format!("released     {}  {why}", padded(&name.netbios)),
                    merge(
                        json!({ "event": "released", "outcome": word }),
                        name_json(&name.netbios),
                    ),
                )
            }
            ClientEvent::ReregistrationStarted { names } => (
                format!("registering {names} names again"),
                json!({ "event": "reregistration_started", "names": names }),
            ),
            // Each name's registration is reported as it completes, and the
            // version table follows the run: these add nothing to read.
            ClientEvent::Reregistering { .. } | ClientEvent::ReregistrationDone { .. } => return,
            other => (
                format!("{other:?}"),
                json!({ "event": "other", "debug": format!("{other:?}") }),
            ),
        };
        self.emit(&text, &value);
    }

    /// A name table as Windows' nbtstat prints it.
    pub(crate) fn table(
        &self,
        kind: &str,
        node: Ipv4Addr,
        rows: &[TableRow],
        mac: Option<[u8; 6]>,
        remote: Option<Ipv4Addr>,
    ) {
        if self.json {
            let names: Vec<Value> = rows
                .iter()
                .map(|r| {
                    merge(
                        json!({ "type": type_word(r.group),
                                "status": r.status }),
                        name_json(&r.name),
                    )
                })
                .collect();
            let mut v = json!({ "event": "name_table", "table": kind,
                                "node": node.to_string(), "names": names });
            if let Some(obj) = v.as_object_mut() {
                if let Some(m) = mac {
                    obj.insert("mac".to_owned(), Value::String(mac_text(m)));
                }
                if let Some(r) = remote {
                    obj.insert("address".to_owned(), Value::String(r.to_string()));
                }
            }
            println!("{v}");
            return;
        }
        let mut out = String::new();
        if let Some(r) = remote {
            let _ = writeln!(out, "\n{r}:");
        }
        let _ = writeln!(out, "Node IpAddress: [{node}] Scope Id: []\n");
        let _ = writeln!(out, "           NetBIOS {kind} Name Table\n");
        let _ = writeln!(out, "       Name               Type         Status");
        let _ = writeln!(out, "    ---------------------------------------------");
        write_rows(&mut out, rows, |r| {
            format!(
                "    {}  {:<10}  {}",
                padded(&r.name),
                type_word(r.group),
                r.status
            )
        });
        if let Some(m) = mac {
            let _ = writeln!(out, "\n    MAC Address = {}", mac_text(m));
        }
        print!("{out}");
    }
}

/// `GROUP` or `UNIQUE`, as nbtstat's tables name a name's type.
fn type_word(group: bool) -> &'static str {
    if group { "GROUP" } else { "UNIQUE" }
}

/// Writes one line per row, or `No names in cache` when there is none.
fn write_rows<R>(out: &mut String, rows: &[R], line: impl Fn(&R) -> String) {
    if rows.is_empty() {
        let _ = writeln!(out, "    No names in cache");
    }
    for r in rows {
        let _ = writeln!(out, "{}", line(r));
    }
}

pub(crate) fn mac_text(m: [u8; 6]) -> String {
    format!(
        "{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// One name of the remote name cache (`-c`).
pub(crate) struct CacheRow {
    pub(crate) name: NetbiosName,
    pub(crate) group: bool,
    pub(crate) address: Ipv4Addr,
    pub(crate) life_secs: u64,
    /// How it was learnt, in words.
    pub(crate) via: String,
}

/// `-r`'s figures.
pub(crate) struct ResolutionStats {
    pub(crate) by_broadcast: u64,
    pub(crate) by_name_server: u64,
    pub(crate) registered_by_broadcast: usize,
    pub(crate) registered_by_name_server: usize,
    /// The names resolved by broadcast, oldest first.
    pub(crate) broadcast_names: Vec<NetbiosName>,
}

impl Reporter {
    /// The remote name cache as Windows' `nbtstat -c` prints it.
    pub(crate) fn cache_table(&self, node: Ipv4Addr, rows: &[CacheRow]) {
        if self.json {
            let names: Vec<Value> = rows
                .iter()
                .map(|r| {
                    merge(
                        json!({ "type": type_word(r.group),
                                "address": r.address.to_string(), "life": r.life_secs,
                                "via": r.via }),
                        name_json(&r.name),
                    )
                })
                .collect();
            println!(
                "{}",
                json!({ "event": "cache", "node": node.to_string(), "names": names })
            );
            return;
        }
        let mut out = String::new();
        let _ = writeln!(out, "Node IpAddress: [{node}] Scope Id: []\n");
        let _ = writeln!(out, "                  NetBIOS Remote Cache Name Table\n");
        let _ = writeln!(
            out,
            "        Name              Type       Host Address    Life [sec]"
        );
        let _ = writeln!(
            out,
            "    ------------------------------------------------------------"
        );
        write_rows(&mut out, rows, |r| {
            format!(
                "    {}  {:<6}  {:>15}  {:>12}",
                padded(&r.name),
                type_word(r.group),
                r.address,
                r.life_secs
            )
        });
        print!("{out}");
    }

    /// The resolution statistics as Windows' `nbtstat -r` prints them.
    pub(crate) fn resolution_stats(&self, s: &ResolutionStats) {
        if self.json {
            let names: Vec<Value> = s.broadcast_names.iter().map(name_json).collect();
            println!(
                "{}",
                json!({ "event": "resolution_stats",
                        "resolved_by_broadcast": s.by_broadcast,
                        "resolved_by_name_server": s.by_name_server,
                        "registered_by_broadcast": s.registered_by_broadcast,
                        "registered_by_name_server": s.registered_by_name_server,
                        "resolved_by_broadcast_names": names })
            );
            return;
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "    NetBIOS Names Resolution and Registration Statistics"
        );
        let _ = writeln!(
            out,
            "    ----------------------------------------------------\n"
        );
        let _ = writeln!(out, "    Resolved By Broadcast     = {}", s.by_broadcast);
        let _ = writeln!(
            out,
            "    Resolved By Name Server   = {}\n",
            s.by_name_server
        );
        let _ = writeln!(
            out,
            "    Registered By Broadcast   = {}",
            s.registered_by_broadcast
        );
        let _ = writeln!(
            out,
            "    Registered By Name Server = {}",
            s.registered_by_name_server
        );
        if !s.broadcast_names.is_empty() {
            let _ = writeln!(out, "\n    NetBIOS Names Resolved By Broadcast");
            let _ = writeln!(out, "---------------------------------------------");
            for n in &s.broadcast_names {
                let _ = writeln!(out, "           {}", padded(n));
            }
        }
        print!("{out}");
    }
}
