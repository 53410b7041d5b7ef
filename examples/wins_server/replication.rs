//! WINS replication for `wins_server` (MS-WINSRA, TCP 42): the partners
//! of the command line and what the program logs. The protocol, the TCP
//! connections and the durability of replicas are the library's
//! ([`nbns::tokio::RunnerBuilder::replication`]).
//!
//! Options (`--replication ADDR:PORT` turns it on; off by default):
//!
//! * `--replication 0.0.0.0:42` listens for partners on TCP there.
//! * `--partner IP[:PORT][,push][,pull][,interval=SECS][,changes=N][,inform]`,
//!   repeatable: a partner at IP (port 42 by default); `pull` pulls from
//!   it at start, every `interval` seconds (default 1800, 0 for never) and
//!   when it notifies; `push` serves its pulls and notifies it after
//!   `changes` of our own changes (default 1, 0 for never). With neither
//!   word, both.
//! * `--partners FILE`: more partners, one a line ([`crate::partners`]).
//!
//! Log lines on stderr: each association up and down, each applied batch
//! of replicas (partner, owner, versions, what became of them); stdout
//! has one `replicated NAME ...` line per replica once committed.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

use nbns::winsrepl::{PartnerConfig, PartnerEvent, PullConfig, PushConfig, REPLICATION_PORT};
use tokio::sync::broadcast;

/// A partner from its address and its words (`push`, `pull`,
/// `interval=SECS`, `changes=N`, `inform`); each wrong word is one error.
pub(crate) fn partner<'a>(
    address: &str,
    words: impl IntoIterator<Item = &'a str>,
) -> Result<PartnerConfig, Vec<String>> {
    let mut errors = Vec::new();
    let address = match address.parse::<SocketAddrV4>() {
        Ok(a) => a,
        Err(_) => match address.parse::<Ipv4Addr>() {
            Ok(ip) => SocketAddrV4::new(ip, REPLICATION_PORT),
            Err(_) => {
                errors.push(format!("{address:?} is not an IPv4 address[:port]"));
                SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)
            }
        },
    };
    let (mut push, mut pull, mut inform) = (false, false, false);
    let mut interval = Some(Duration::from_secs(1800));
    let mut changes = 1;
    for w in words {
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|e| format!("{w}: {e} (a whole number is expected)"))
        };
        match w.split_once('=') {
            None if w == "push" => push = true,
            None if w == "pull" => pull = true,
            None if w == "inform" => inform = true,
            Some(("interval", v)) => match number(v) {
                Ok(s) => interval = (s > 0).then(|| Duration::from_secs(s)),
                Err(e) => errors.push(e),
            },
            Some(("changes", v)) => match number(v) {
                Ok(n) => changes = n,
                Err(e) => errors.push(e),
            },
            _ => errors.push(format!(
                "unknown word {w:?} (push, pull, interval=SECS, changes=N, inform)"
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if !push && !pull {
        (push, pull) = (true, true);
    }
    Ok(PartnerConfig {
        address,
        pull: pull.then_some(PullConfig {
            interval,
            retry: Duration::from_secs(30),
        }),
        push: push.then_some(PushConfig {
            change_count: changes,
            use_inform: inform,
        }),
    })
}

/// Parses one `--partner` value (see the module docs).
pub(crate) fn parse_partner(spec: &str) -> Result<PartnerConfig, String> {
    let mut parts = spec.split(',');
    let address = parts.next().unwrap_or_default();
    partner(address, parts).map_err(|e| format!("--partner {spec}: {}", e.join("; ")))
}

/// Logs what the partner reports until the runner ends.
pub(crate) async fn log(mut events: broadcast::Receiver<PartnerEvent>) {
    loop {
        match events.recv().await {
            Ok(e) => log_event(&e),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                eprintln!("wins_server: replication: {n} events not shown");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

fn log_event(e: &PartnerEvent) {
    match e {
        PartnerEvent::AssociationUp {
            peer, initiator, ..
        } => eprintln!(
            "wins_server: association up with {peer} ({})",
            if *initiator {
                "we opened it"
            } else {
                "it opened it"
            }
        ),
        PartnerEvent::AssociationDown { peer, why, .. } => {
            eprintln!("wins_server: association down with {peer}: {why:?}");
        }
        PartnerEvent::Pulled {
            partner,
            owner,
            versions,
            records,
            applied,
        } => eprintln!(
            "wins_server: applied {records} replicas of owner {owner} versions {}..={} from \
             {partner}: {applied:?}",
            versions.0, versions.1,
        ),
        other => eprintln!("wins_server: replication: {other:?}"),
    }
}
