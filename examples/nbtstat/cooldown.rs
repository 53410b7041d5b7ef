//! The `-RR` cooldown across invocations: a small text file of
//! `<key>\t<unix seconds>` lines, one per set of WINS servers ([`key`]).
//! The embedded demonstration keeps no state here.
//!
//! Windows refuses `nbtstat -RR` for 2 minutes after the previous one (MS KB
//! 188598). A fresh process knows nothing of the previous run, so the time
//! of each accepted `-RR` is kept here. The path is `--state FILE`, else
//! `$NBTSTAT_STATE`, else `nbns-nbtstat-<uid>.state` in the temp directory.
//!
//! The cooldown protects the servers, so it must neither fail open nor fire
//! wrongly: the file is checked to be writable before anything is sent
//! ([`check_writable`]); a run is recorded only when a server answered;
//! directories are never created.

use core::net::SocketAddrV4;

use core::time::Duration;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// How long after an accepted `-RR` another is refused.
pub(crate) const COOLDOWN: Duration = Duration::from_secs(120);

/// Entries older than this are dropped when the file is rewritten.
const KEEP: Duration = Duration::from_secs(24 * 3600);

pub(crate) fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("NBTSTAT_STATE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    // Per user: the temp directory is shared.
    let user = uid().or_else(|| {
        std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .ok()
            .map(|u| {
                u.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect()
            })
    });
    let file = match user.filter(|u| !u.is_empty()) {
        Some(u) => format!("nbns-nbtstat-{u}.state"),
        None => "nbns-nbtstat.state".to_owned(),
    };
    std::env::temp_dir().join(file)
}

/// The real user ID, from `/proc/self/status` (Linux).
fn uid() -> Option<String> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().next().map(str::to_owned)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn read(path: &Path) -> io::Result<Vec<(String, u64)>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter_map(|(k, t)| Some((k.to_owned(), t.trim().parse().ok()?)))
        .collect())
}

/// Time still to wait before a `-RR` for `key` is accepted; `None` when
/// it may go ahead. A time in the future (the clock was set back) counts as
/// "just now".
pub(crate) fn remaining(path: &Path, key: &str) -> io::Result<Option<Duration>> {
    let now = now_secs();
    let last = read(path)?
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, t)| t.min(now))
        .max();
    Ok(last.and_then(|t| COOLDOWN.checked_sub(Duration::from_secs(now - t))))
        .map(|r| r.filter(|d| !d.is_zero()))
}

/// Records an accepted `-RR` for `key` now.
pub(crate) fn record(path: &Path, key: &str) -> io::Result<()> {
    let now = now_secs();
    let mut entries: Vec<(String, u64)> = read(path)?
        .into_iter()
        .filter(|(k, t)| k != key && now.saturating_sub(*t) < KEEP.as_secs())
        .collect();
    entries.push((key.to_owned(), now));
    let mut text = String::new();
    for (k, t) in entries {
        text.push_str(&format!("{k}\t{t}\n"));
    }
    let tmp = tmp_path(path);
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path)
}

/// The file beside `path` that [`record`] writes and renames.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// Whether [`record`] will be able to write `path`: its directory exists and
/// takes a new file, and the file itself, if there, is a readable regular
/// file. Writes and removes the temporary file; creates no directory.
pub(crate) fn check_writable(path: &Path) -> io::Result<()> {
    if let Ok(meta) = fs::metadata(path)
        && !meta.is_file()
    {
        return Err(io::Error::other("not a regular file"));
    }
    let tmp = tmp_path(path);
    fs::write(&tmp, b"")?;
    fs::remove_file(&tmp)
}

/// The cooldown key of a set of WINS servers: the addresses and ports,
/// sorted and without repeats, so `--wins A --wins B`, `--wins B --wins A`
/// and `--wins A --wins A --wins B` are the same set (a -RR reaches the same
/// servers, whatever the order of failover).
pub(crate) fn key(servers: &[SocketAddrV4]) -> String {
    let mut list: Vec<SocketAddrV4> = servers.to_vec();
    list.sort();
    list.dedup();
    let text: Vec<String> = list.iter().map(ToString::to_string).collect();
    format!("wins={}", text.join(","))
}
