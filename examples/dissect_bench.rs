//! Benchmark of `dissect --stats` against tshark on the same capture.
//!
//! ```text
//! cargo build --release --example dissect --example dissect_bench
//! target/release/examples/dissect_bench [--packets N] [--runs N] [--tshark-runs N]
//!     [--dissect PATH] [--dissect-arg ARG]...
//! ```
//!
//! Builds a classic pcap of `--packets` (default 1,000,000) NBNS packets of
//! every kind the crate emits, Ethernet/IPv4/UDP, and one of a tenth as
//! many, in a temporary folder. Then, in rounds, times as whole processes
//! on the large file:
//!
//! * `dissect --stats FILE`, which prints totals only, as tshark's `-q -z`
//!   does, after parsing every datagram in full (and counting by kind,
//!   opcode, rcode, name and sender, pairing requests with responses);
//! * `tshark -r FILE -Y nbns -q -z io,stat,0`: tshark dissects every frame,
//!   keeps the NBNS ones and counts their frames and bytes.
//!
//! Each round runs ours `--runs` times and tshark once (for the first
//! `--tshark-runs` rounds, ours alone after), so both see the same state of
//! the shared host; the report gives the medians and their ratio, and the
//! median of the per-round ratios. Both programs must report the expected
//! packet count. Peak memory (max RSS) comes from `/usr/bin/time -v` around
//! every run when it is there, and is given for ours on both files, to show
//! it does not grow with the file.

#[path = "dissect/pcap_write.rs"]
mod pcap_write;
#[path = "cli/usage_exit.rs"]
mod usage_exit;

use core::net::Ipv4Addr;
use core::time::Duration;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Parser;
use usage_exit::usage_exit;

/// Times `dissect --stats` against `tshark -q -z io,stat,0` on one capture.
#[derive(Debug, Parser)]
#[command(name = "dissect_bench")]
struct Cli {
    /// NBNS packets in the capture (1,000 to 100,000,000).
    #[arg(long, value_name = "N", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1_000..=100_000_000))]
    packets: u64,
    /// Passes over the capture in each run of ours (1 to 100): the file is
    /// given that many times to one `dissect --stats` process, so that a
    /// run lasts long enough (about a second) to average out the shared
    /// host's moments, as tshark's long run does.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=100))]
    passes: u64,
    /// Runs of `dissect --stats` per round (1 to 50).
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..=50))]
    runs: u64,
    /// Rounds with a tshark run (0 to 10; 0 times ours alone).
    #[arg(long = "tshark-runs", value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(0..=10))]
    tshark_runs: u64,
    /// Rounds in all (at least --tshark-runs; 1 to 20).
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..=20))]
    rounds: u64,
    /// The dissect program (default: next to this one).
    #[arg(long, value_name = "PATH")]
    dissect: Option<PathBuf>,
    /// An argument for every dissect run, before `--stats` (repeatable;
    /// e.g. `--dissect-arg=--threads --dissect-arg=1`).
    #[arg(long = "dissect-arg", value_name = "ARG", allow_hyphen_values = true)]
    dissect_args: Vec<String>,
    /// Keep the capture files (their folder is printed).
    #[arg(long)]
    keep: bool,
}

/// Parses the command line: `--help` prints the options and exits 0; a
/// bad argument is one line on stderr and exit status 2.
fn parse_args() -> Cli {
    match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => usage_exit("dissect_bench", &e),
    }
}

/// Writes a capture of `n` packets cycling through every kind.
fn build_capture(path: &Path, n: u64) -> std::io::Result<u64> {
    let kinds = pcap_write::every_kind();
    let frames: Vec<Vec<u8>> = kinds
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let src = Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250) as u8 + 1);
            let ip = pcap_write::ipv4_udp(src, Ipv4Addr::new(10, 0, 255, 255), 137, 137, p);
            pcap_write::ethernet(&ip, None)
        })
        .collect();
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(&pcap_write::file_header(1, 65535))?;
    let mut rec = Vec::with_capacity(256);
    for (i, frame) in (0..n).zip(frames.iter().cycle()) {
        rec.clear();
        pcap_write::record(
            &mut rec,
            1_700_000_000 + (i / 1000) as u32,
            (i % 1000) as u32 * 1000,
            frame,
            usize::MAX,
        );
        out.write_all(&rec)?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// One run of a program: wall time, CPU time (user and system, when
/// measured), standard output, max RSS in KiB.
struct Measured {
    wall: Duration,
    cpu: Option<Duration>,
    stdout: String,
    max_rss_kib: Option<u64>,
}

/// Runs `program args`, under `/usr/bin/time -v` when `time` is given.
fn measure(time: Option<&Path>, program: &Path, args: &[&str]) -> Result<Measured, String> {
    let mut cmd = match time {
        Some(t) => {
            let mut c = Command::new(t);
            c.arg("-v").arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.args(args);
    let start = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let wall = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{} {args:?} failed: {stderr}", program.display()));
    }
    let field = |name: &str| {
        stderr.lines().find_map(|l| {
            l.trim()
                .strip_prefix(name)
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
    };
    let cpu = match (
        field("User time (seconds): "),
        field("System time (seconds): "),
    ) {
        (Some(u), Some(s)) => Some(Duration::from_secs_f64(u + s)),
        _ => None,
    };
    Ok(Measured {
        wall,
        cpu,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        max_rss_kib: field("Maximum resident set size (kbytes): ").map(|k| k as u64),
    })
}

/// `dissect ARGS --stats FILE...` (the file `passes` times), checking the
/// count.
fn ours(
    time: Option<&Path>,
    (dissect, extra): (&Path, &[String]),
    file: &str,
    n: u64,
    passes: u64,
) -> Result<Measured, String> {
    let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
    args.push("--stats");
    args.extend((0..passes).map(|_| file));
    let m = measure(time, dissect, &args)?;
    let all = n * passes;
    if !m
        .stdout
        .starts_with(&format!("NBNS datagrams: {all} ({all} parsed"))
    {
        return Err(format!("unexpected dissect output: {}", m.stdout));
    }
    Ok(m)
}

/// `tshark -r FILE -Y nbns -q -z io,stat,0`, checking the count.
fn theirs(time: Option<&Path>, tshark: &Path, file: &str, n: u64) -> Result<Measured, String> {
    let m = measure(
        time,
        tshark,
        &["-r", file, "-Y", "nbns", "-q", "-z", "io,stat,0"],
    )?;
    // The interval row: "|   0.0 <> 12.3 | FRAMES | BYTES |".
    let frames = m
        .stdout
        .lines()
        .find(|l| l.contains("<>"))
        .and_then(|l| l.split('|').nth(2))
        .and_then(|f| f.trim().parse::<u64>().ok());
    if frames != Some(n) {
        return Err(format!("unexpected tshark frame count: {}", m.stdout));
    }
    Ok(m)
}

/// The median (of a slice it sorts).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Packets per second by wall time and by CPU time.
#[derive(Default)]
struct Rates {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl Rates {
    fn add(&mut self, packets: u64, m: &Measured) -> (f64, Option<f64>) {
        let wall = packets as f64 / m.wall.as_secs_f64();
        self.wall.push(wall);
        let cpu = m.cpu.map(|c| packets as f64 / c.as_secs_f64().max(0.005));
        self.cpu.extend(cpu);
        (wall, cpu)
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dissect = cli
        .dissect
        .clone()
        .unwrap_or_else(|| exe.with_file_name(format!("dissect{}", std::env::consts::EXE_SUFFIX)));
    if !dissect.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release --example dissect` first",
            dissect.display()
        ));
    }
    let time = Some(Path::new("/usr/bin/time")).filter(|t| t.exists());
    let tshark = Path::new("/usr/bin/tshark");
    let tshark = (cli.tshark_runs > 0
        && Command::new(tshark)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()))
    .then_some(tshark);
    let dir = std::env::temp_dir().join(format!("nbns-dissect-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (n, small_n) = (cli.packets, cli.packets / 10);
    let big = dir.join("big.pcap");
    let small = dir.join("small.pcap");
    let size = build_capture(&big, n).map_err(|e| e.to_string())?;
    let small_size = build_capture(&small, small_n).map_err(|e| e.to_string())?;
    println!(
        "capture: {n} NBNS packets of {} kinds, {:.1} MB ({}); ours reads it {} times a run",
        pcap_write::every_kind().len(),
        size as f64 / 1e6,
        big.display(),
        cli.passes
    );
    let (big_s, small_s) = (
        big.to_str().ok_or("temp path")?,
        small.to_str().ok_or("temp path")?,
    );
    let (mut mine, mut their, mut ratios) = (Rates::default(), Rates::default(), Vec::new());
    let (mut our_rss, mut their_rss) = (None::<u64>, None::<u64>);
    let k = |r: Option<f64>| match r {
        None => "?".to_owned(),
        Some(r) if r >= 1e6 => format!("{:.2} M", r / 1e6),
        Some(r) => format!("{:.1} k", r / 1e3),
    };
    for round in 0..cli.rounds.max(cli.tshark_runs) {
        let mut round_mine = Rates::default();
        for _ in 0..cli.runs {
            let m = ours(time, (&dissect, &cli.dissect_args), big_s, n, cli.passes)?;
            our_rss = our_rss.max(m.max_rss_kib);
            round_mine.add(n * cli.passes, &m);
            mine.add(n * cli.passes, &m);
        }
        let ours_wall = median(&mut round_mine.wall);
        let ours_cpu = (!round_mine.cpu.is_empty()).then(|| median(&mut round_mine.cpu));
        match tshark.filter(|_| round < cli.tshark_runs) {
            Some(ts) => {
                let m = theirs(time, ts, big_s, n)?;
                their_rss = their_rss.max(m.max_rss_kib);
                let (wall, cpu) = their.add(n, &m);
                ratios.push(ours_wall / wall);
                println!(
                    "round {}: dissect --stats {} packets/s (CPU {}), tshark {} (CPU {}): {:.1}x",
                    round + 1,
                    k(Some(ours_wall)),
                    k(ours_cpu),
                    k(Some(wall)),
                    k(cpu),
                    ours_wall / wall
                );
            }
            None => println!(
                "round {}: dissect --stats {} packets/s (CPU {})",
                round + 1,
                k(Some(ours_wall)),
                k(ours_cpu)
            ),
        }
    }
    let med = |v: &mut Vec<f64>| (!v.is_empty()).then(|| median(v));
    let (ours_wall, ours_cpu) = (med(&mut mine.wall), med(&mut mine.cpu));
    println!(
        "dissect --stats: median {} packets/s (CPU {}) over {} runs of {} packets",
        k(ours_wall),
        k(ours_cpu),
        mine.wall.len(),
        n * cli.passes
    );
    if their.wall.is_empty() {
        println!("tshark: not run");
    } else {
        let (theirs_wall, theirs_cpu) = (med(&mut their.wall), med(&mut their.cpu));
        println!(
            "tshark -Y nbns -q -z io,stat,0: median {} packets/s (CPU {}) over {} runs",
            k(theirs_wall),
            k(theirs_cpu),
            their.wall.len()
        );
        let per_round = median(&mut ratios);
        // `median` sorted them.
        let (low, high) = (
            ratios.first().copied().unwrap_or(f64::NAN),
            ratios.last().copied().unwrap_or(f64::NAN),
        );
        let ratio = |a: Option<f64>, b: Option<f64>| {
            a.zip(b)
                .map_or("?".to_owned(), |(a, b)| format!("{:.1}x", a / b))
        };
        println!(
            "ratio: {} by wall time, {} by CPU time (of the medians); per round {per_round:.1}x median, {low:.1}x to {high:.1}x",
            ratio(ours_wall, theirs_wall),
            ratio(ours_cpu, theirs_cpu),
        );
    }
    match time {
        Some(t) => {
            let one_small =
                ours(Some(t), (&dissect, &cli.dissect_args), small_s, small_n, 1)?.max_rss_kib;
            let one_big = ours(Some(t), (&dissect, &cli.dissect_args), big_s, n, 1)?.max_rss_kib;
            let kib = |v: Option<u64>| v.map_or("?".to_owned(), |k| format!("{k} KiB"));
            println!(
                "max RSS: dissect --stats {} on {:.1} MB, {} on {:.1} MB, {} on {} passes; tshark {}",
                kib(one_small),
                small_size as f64 / 1e6,
                kib(one_big),
                size as f64 / 1e6,
                kib(our_rss),
                cli.passes,
                kib(their_rss)
            );
        }
        None => println!("max RSS: /usr/bin/time not available"),
    }
    if cli.keep {
        println!("kept {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(&parse_args()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dissect_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
