//! `--hook PROGRAM`: Samba's `wins hook` (smb.conf(5)), run for every
//! change of the database once it is committed.
//!
//! PROGRAM runs as `PROGRAM add|refresh|delete NAME TYPE TTL ADDRESS...`:
//! NAME without its padding, suffix and scope ID, TYPE the suffix as two
//! hex digits, TTL the seconds until the record expires (0 for `delete`),
//! then the record's addresses. Which change gives which action:
//!
//! | change | action |
//! |---|---|
//! | a new record, or a released or tombstoned one active again | `add` |
//! | a refresh, or an active record changed (an address added or removed, a takeover after a challenge) | `refresh` |
//! | released by its owner, or its TTL ran out | `delete` |
//! | tombstoned, removed, a version mark | none (the name stopped answering at `delete`) |
//!
//! nmbd calls the hook on release but not on expiry; a DNS updater needs
//! both, so expiry is announced too.
//!
//! PROGRAM is run directly (no shell), and only for names made of
//! `A-Z a-z 0-9 . _ -`: others are logged and skipped (a name with shell
//! metacharacters once ran commands on a Samba server, CVE-2025-10230).
//! At most `--hook-max` runs at a time, each killed (with its process
//! group) after `--hook-timeout`; up to `--hook-queue` calls wait, and
//! beyond that calls are dropped and counted. Runs for one name never
//! overlap, so they see its changes in order. Failures (a non-zero exit, a
//! kill, a program that cannot start) are logged; the server goes on.
//! Nothing here blocks the server's loop: calls are queued under a lock
//! held for a few instructions.

use core::fmt;
use core::net::Ipv4Addr;
use core::time::Duration;
use std::collections::VecDeque;
use std::os::fd::AsFd as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use nbns::server::{Change, ChangeItem, EventKind};
use nbns::wire::NetbiosName;

use crate::args::HookArgs;

/// The first argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Add,
    Refresh,
    Delete,
}

impl Action {
    fn word(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Refresh => "refresh",
            Self::Delete => "delete",
        }
    }
}

/// One run of the hook.
#[derive(Debug, Clone)]
struct Call {
    action: Action,
    name: NetbiosName,
    ttl: u64,
    addresses: Vec<Ipv4Addr>,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.action.word(), self.name)
    }
}

impl Call {
    /// The run announcing `change`, committed at `now`, if it has one.
    fn for_change(change: &Change, now: Instant) -> Option<Self> {
        let ChangeItem::Put { event, record } = &change.item else {
            return None;
        };
        let action = match event {
            EventKind::Added => Action::Add,
            EventKind::Refreshed | EventKind::Changed => Action::Refresh,
            EventKind::Released | EventKind::Expired => Action::Delete,
            _ => return None,
        };
        let ttl = match action {
            Action::Delete => 0,
            Action::Add | Action::Refresh => {
                // Whole seconds: the granted TTL, or one less when the
                // commit took longer than the deadline's rounding.
                record.deadline.saturating_duration_since(now).as_secs()
            }
        };
        Some(Self {
            action,
            name: record.name,
            ttl,
            addresses: record.addresses.iter().map(|e| e.address).collect(),
        })
    }

    /// The arguments after the program, or why there are none.
    fn argv(&self) -> Result<[String; 4], &'static str> {
        let name = self.name.trimmed();
        if name.is_empty() {
            return Err("the name is empty");
        }
        if !name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        {
            return Err("the name has characters other than A-Z a-z 0-9 . _ -");
        }
        // Checked above: ASCII only.
        let name = String::from_utf8_lossy(name).into_owned();
        Ok([
            self.action.word().to_owned(),
            name,
            format!("{:02x}", self.name.suffix()),
            self.ttl.to_string(),
        ])
    }
}

struct Queue {
    calls: VecDeque<Call>,
    closed: bool,
    dropped: u64,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// Where committed changes are announced: a handle on the runner's queue.
#[derive(Clone)]
pub(crate) struct Hook {
    shared: Arc<Shared>,
    max_queued: usize,
}

/// The runner: a thread that starts and watches the runs.
pub(crate) struct Runner {
    shared: Arc<Shared>,
    thread: JoinHandle<()>,
}

impl Hook {
    /// Starts the runner thread.
    pub(crate) fn start(args: HookArgs) -> std::io::Result<(Self, Runner)> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                calls: VecDeque::new(),
                closed: false,
                dropped: 0,
            }),
            wake: Condvar::new(),
        });
        let max_queued = args.max_queued;
        let s = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("hook".to_owned())
            .spawn(move || run(&s, &args))?;
        let runner = Runner {
            shared: Arc::clone(&shared),
            thread,
        };
        Ok((Self { shared, max_queued }, runner))
    }

    /// Queues the runs announcing `changes`, committed just now. Never
    /// blocks for longer than the queue's lock is held.
    pub(crate) fn announce(&self, changes: &[Change]) {
        let now = Instant::now();
        let calls: Vec<Call> = changes
            .iter()
            .filter_map(|c| Call::for_change(c, now))
            .filter(|c| match c.argv() {
                Ok(_) => true,
                Err(why) => {
                    eprintln!("wins_server: hook not run for {c}: {why}");
                    false
                }
            })
            .collect();
        if calls.is_empty() {
            return;
        }
        let mut q = self
            .shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let before = q.dropped;
        for call in calls {
            if q.calls.len() < self.max_queued {
                q.calls.push_back(call);
            } else {
                q.dropped += 1;
            }
        }
        let dropped = q.dropped;
        drop(q);
        self.shared.wake.notify_one();
        // Logged at the first drop and whenever the total doubles.
        if dropped > before && (before == 0 || dropped.ilog2() > before.ilog2()) {
            eprintln!(
                "wins_server: hook queue full ({} waiting): {} changes not announced, {dropped} so far",
                self.max_queued,
                dropped - before
            );
        }
    }
}

impl Runner {
    /// Lets the runs queued so far finish (for at most one time limit),
    /// then stops the thread.
    pub(crate) fn finish(self) {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.shared.wake.notify_one();
        let _ = self.thread.join();
    }
}

/// A run under way.
struct Running {
    call: Call,
    child: Child,
    started: Instant,
}

/// The runner thread: starts queued calls while fewer than
/// `max_running` run, reaps and kills, until closed and done.
fn run(shared: &Shared, args: &HookArgs) {
    let mut running: Vec<Running> = Vec::new();
    let mut closing_since = None;
    loop {
        running.retain_mut(|r| !reap(r, args.timeout));
        let mut q = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.closed {
            let since = *closing_since.get_or_insert_with(Instant::now);
            if q.calls.is_empty() && running.is_empty() {
                break;
            }
            if since.elapsed() >= args.timeout {
                let left = q.calls.len();
                drop(q);
                for mut r in running.drain(..) {
                    kill(&mut r);
                    eprintln!("wins_server: hook {}: killed at exit", r.call);
                }
                if left > 0 {
                    eprintln!("wins_server: hook: {left} changes not announced at exit");
                }
                break;
            }
        }
        // The oldest call for a name that has no run under way.
        let next = (running.len() < args.max_running)
            .then(|| {
                q.calls
                    .iter()
                    .position(|c| running.iter().all(|r| r.call.name != c.name))
            })
            .flatten();
        if let Some(i) = next {
            let call = q.calls.remove(i);
            drop(q);
            if let Some(call) = call
                && let Some(r) = spawn(&args.program, call)
            {
                running.push(r);
            }
            continue;
        }
        // Wait for a call, or poll the runs under way.
        let wait = if running.is_empty() {
            Duration::from_millis(500)
        } else {
            Duration::from_millis(10)
        };
        let _ = shared.wake.wait_timeout(q, wait);
    }
}

fn spawn(program: &std::path::Path, call: Call) -> Option<Running> {
    let Ok(argv) = call.argv() else {
        return None; // checked when queued
    };
    let mut cmd = Command::new(program);
    cmd.args(&argv)
        .args(call.addresses.iter().map(Ipv4Addr::to_string))
        .stdin(Stdio::null())
        // A process group of its own: killed as a whole, and spared the
        // terminal's SIGINT meant for the server.
        .process_group(0);
    // Its output goes to the server's log (stderr), not among the change
    // lines on stdout.
    if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
        if let Ok(fd2) = fd.try_clone() {
            cmd.stdout(Stdio::from(fd2));
        }
        cmd.stderr(Stdio::from(fd));
    }
    match cmd.spawn() {
        Ok(child) => Some(Running {
            call,
            child,
            started: Instant::now(),
        }),
        Err(e) => {
            eprintln!(
                "wins_server: hook {call}: cannot run {}: {e}",
                program.display()
            );
            None
        }
    }
}

/// Whether the run is over: exited (a failure logged) or killed after
/// `limit`.
fn reap(r: &mut Running, limit: Duration) -> bool {
    match r.child.try_wait() {
        Ok(Some(status)) => {
            if !status.success() {
                eprintln!("wins_server: hook {} failed: {status}", r.call);
            }
            true
        }
        Ok(None) if r.started.elapsed() >= limit => {
            kill(r);
            eprintln!(
                "wins_server: hook {}: killed after {} s (--hook-timeout)",
                r.call,
                limit.as_secs()
            );
            true
        }
        Ok(None) => false,
        Err(e) => {
            eprintln!("wins_server: hook {}: wait: {e}", r.call);
            true
        }
    }
}

/// Kills the run's process group and waits for it.
fn kill(r: &mut Running) {
    if let Ok(pid) = i32::try_from(r.child.id()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = r.child.kill();
    let _ = r.child.wait();
}
