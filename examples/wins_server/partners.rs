//! `--partners FILE`: replication partners in a file, one a line.
//!
//! ```text
//! # WINS replication partners of this server.
//! # ADDRESS[:PORT]  [push] [pull] [interval=SECS] [changes=N] [inform]
//! 10.0.0.2          push pull interval=600
//! 10.0.0.3:42       pull                    ; pulls every 1800 s (the default)
//! 10.0.0.4          push changes=5 inform
//! ```
//!
//! Each line holds one partner: its IPv4 address (port 42 unless given),
//! then the words of `--partner` separated by blanks instead of commas,
//! with the same defaults (neither `push` nor `pull`: both). `#` or `;`
//! starts a comment to the end of the line; blank lines are skipped. The
//! partners of the file come after those of `--partner`; one address may
//! appear once in all. Every error of the file is reported, each as
//! `FILE:LINE: what`, and the server does not start.

use core::net::Ipv4Addr;
use std::collections::BTreeMap;
use std::path::Path;

use nbns::winsrepl::PartnerConfig;

use crate::replication::partner;

/// Reads `path`, adding its partners to `partners` (those of
/// `--partner`). Returns every error, as `FILE:LINE: what`.
pub(crate) fn read(path: &Path, partners: &mut Vec<PartnerConfig>) -> Result<(), Vec<String>> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{shown}: {e}")])?;
    let mut seen: BTreeMap<Ipv4Addr, String> = partners
        .iter()
        .map(|p| (*p.address.ip(), "--partner".to_owned()))
        .collect();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = format!("{shown}:{}", i + 1);
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let Some(address) = words.next() else {
            continue;
        };
        match partner(address, words) {
            Ok(p) => match seen.get(p.address.ip()) {
                Some(first) => errors.push(format!(
                    "{at}: partner {} already listed ({first})",
                    p.address.ip()
                )),
                None => {
                    seen.insert(*p.address.ip(), format!("line {}", i + 1));
                    partners.push(p);
                }
            },
            Err(what) => errors.extend(what.into_iter().map(|w| format!("{at}: {w}"))),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
