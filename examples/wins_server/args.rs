//! The command line, parsed with clap: `--help` exits 0, a bad argument
//! exits 2 with a line saying what is wrong, followed by the usage.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::path::PathBuf;

use clap::Parser;
use nbns::server::{Durability, ServerConfig};
use nbns::winsrepl::PartnerConfig;

/// A WINS server on UDP, with its database in a redb file.
#[derive(Debug, Parser)]
#[command(name = "wins_server", version)]
struct Cli {
    /// Where to serve (port 137 needs privileges).
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:137")]
    listen: SocketAddrV4,
    /// The database (created if missing). Every change is committed before
    /// the answer that acknowledges it is sent. Without it the records live
    /// in memory only.
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Print the records of --db FILE as text and exit.
    #[arg(long)]
    export: bool,
    /// Shortest TTL granted, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = ServerConfig::default().min_ttl)]
    min_ttl: u32,
    /// Longest TTL granted, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = ServerConfig::default().max_ttl)]
    max_ttl: u32,
    /// The server's own address, owner of its records (default: the
    /// listening address).
    #[arg(long, value_name = "IP")]
    address: Option<Ipv4Addr>,
    /// Stop after this many seconds (for bounded test runs).
    #[arg(long, value_name = "SECS")]
    run_for: Option<u64>,
    /// Stop after this many datagrams (for bounded test runs).
    #[arg(long, value_name = "N")]
    max_datagrams: Option<u64>,
    /// Print one line per request received (costs throughput).
    #[arg(long)]
    log_requests: bool,
    /// Answer before the change is committed (a crash loses what was
    /// acknowledged since the last commit).
    #[arg(long)]
    ack_before_persist: bool,
    /// Run PROGRAM for every committed change of the database, as Samba's
    /// `wins hook`: PROGRAM add|refresh|delete NAME TYPE TTL ADDRESS...
    /// (run directly, without a shell; only for names made of A-Z a-z 0-9
    /// . _ -).
    #[arg(long, value_name = "PROGRAM")]
    hook: Option<PathBuf>,
    /// Kill a run of the hook that lasts longer than this.
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    hook_timeout: u64,
    /// Runs of the hook at a time.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    hook_max: u64,
    /// Runs waiting for a free slot; beyond this, changes are not announced
    /// (counted and logged).
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    hook_queue: u64,
    /// Serve WINS replication (MS-WINSRA) on TCP at ADDR:PORT (port 42 for
    /// real partners); off by default.
    #[arg(long, value_name = "ADDR:PORT")]
    replication: Option<SocketAddrV4>,
    /// A replication partner (repeatable):
    /// IP[:PORT][,push][,pull][,interval=SECS][,changes=N][,inform]; port 42
    /// and both roles by default.
    #[arg(long = "partner", value_name = "SPEC", value_parser = crate::replication::parse_partner)]
    partners: Vec<PartnerConfig>,
    /// Replication partners in FILE, one a line: ADDRESS[:PORT] and the
    /// words of --partner separated by blanks; # or ; starts a comment.
    #[arg(long = "partners", value_name = "FILE")]
    partners_file: Option<PathBuf>,
}

/// The hook's settings.
#[derive(Debug, Clone)]
pub(crate) struct HookArgs {
    pub(crate) program: PathBuf,
    pub(crate) timeout: Duration,
    pub(crate) max_running: usize,
    pub(crate) max_queued: usize,
}

/// What the program was asked to do.
#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) listen: SocketAddrV4,
    pub(crate) db: Option<PathBuf>,
    pub(crate) export: bool,
    pub(crate) config: ServerConfig,
    pub(crate) run_for: Option<Duration>,
    pub(crate) max_datagrams: Option<u64>,
    pub(crate) log_requests: bool,
    pub(crate) hook: Option<HookArgs>,
    pub(crate) replication: Option<SocketAddrV4>,
    pub(crate) partners: Vec<PartnerConfig>,
}

/// Parses the command line; exits 0 after `--help` or `--version`, 2 on a
/// bad argument.
pub(crate) fn parse() -> Args {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => crate::usage_exit::usage_exit("wins_server", &e),
    };
    let wrong = if cli.min_ttl > cli.max_ttl {
        Some(format!(
            "--min-ttl {} is above --max-ttl {}",
            cli.min_ttl, cli.max_ttl
        ))
    } else if cli.db.is_none() && cli.export {
        Some("--export needs --db FILE".to_owned())
    } else if cli.db.is_none() && cli.ack_before_persist {
        Some("--ack-before-persist needs --db FILE".to_owned())
    } else {
        None
    };
    if let Some(what) = wrong {
        crate::usage_exit::usage_refused("wins_server", &what);
    }
    let mut partners = cli.partners;
    if let Some(file) = &cli.partners_file
        && let Err(errors) = crate::partners::read(file, &mut partners)
    {
        for e in errors {
            eprintln!("wins_server: {e}");
        }
        std::process::exit(2);
    }
    let mut config = ServerConfig::default();
    config.min_ttl = cli.min_ttl;
    config.max_ttl = cli.max_ttl;
    config.address = cli.address.unwrap_or(*cli.listen.ip());
    config.durability = match (&cli.db, cli.ack_before_persist, &cli.hook) {
        (Some(_), false, _) => Durability::Durable,
        (Some(_), true, _) => Durability::AckBeforePersist,
        // Without a database the hook still needs the changes: they are
        // complete as soon as they are made.
        (None, _, Some(_)) => Durability::AckBeforePersist,
        (None, _, None) => Durability::Volatile,
    };
    Args {
        listen: cli.listen,
        db: cli.db,
        export: cli.export,
        config,
        run_for: cli.run_for.map(Duration::from_secs),
        max_datagrams: cli.max_datagrams,
        log_requests: cli.log_requests,
        hook: cli.hook.map(|program| HookArgs {
            program,
            timeout: Duration::from_secs(cli.hook_timeout),
            max_running: usize::try_from(cli.hook_max).unwrap_or(4),
            max_queued: usize::try_from(cli.hook_queue).unwrap_or(1024),
        }),
        replication: cli.replication,
        partners,
    }
}
