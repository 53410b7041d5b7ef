//! Benchmark of `dissect --stats` against tshark on the same capture.
//!
//! ```text
//! cargo build --release --examples
//! cargo run --release --example dissect_bench -- [PACKETS]
//! ```
//!
//! Builds classic pcaps of PACKETS (default 10,000,000) and of a tenth as
//! many NBNS packets of every kind the crate emits, Ethernet/IPv4/UDP, in a
//! temporary folder; then times `dissect --stats FILE` (best of three runs,
//! on both files) and `tshark -r FILE -Y nbns -q -z io,stat,0` (one run, on
//! the smaller file: tshark takes minutes on the larger) as whole
//! processes, and reports packets per second for each and the ratio of the
//! rates. The large file makes the dissector run long enough (seconds) that
//! start-up and a busy moment of the host do not dominate. Peak memory (max
//! RSS, via `/usr/bin/time -v` when present) is measured for the dissector
//! on both files, to show it does not grow with the file. Both programs must
//! report the expected packet count.

#[path = "dissect/pcap_write.rs"]
mod pcap_write;

use core::net::Ipv4Addr;
use core::time::Duration;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Writes a capture of `n` packets cycling through every kind.
fn build_capture(path: &Path, n: usize) -> std::io::Result<u64> {
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
    for i in 0..n {
        rec.clear();
        let frame = &frames[i % frames.len()];
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

/// Runs a command, returning its wall time and standard output.
fn timed(cmd: &mut Command) -> (Duration, String) {
    let start = Instant::now();
    let out = cmd.output().expect("command runs");
    let t = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (t, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Max RSS in KiB of a command, via GNU time.
fn max_rss_kib(program: &Path, args: &[&str]) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let out = Command::new(time)
        .arg("-v")
        .arg(program)
        .args(args)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(10_000_000, |a| a.parse().expect("PACKETS is a number"));
    let exe = std::env::current_exe().unwrap();
    let dissect: PathBuf = exe.with_file_name(format!("dissect{}", std::env::consts::EXE_SUFFIX));
    assert!(
        dissect.exists(),
        "{} not found: run `cargo build --release --examples` first",
        dissect.display()
    );
    let dir = std::env::temp_dir().join(format!("nbns-dissect-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.pcap");
    let small = dir.join("small.pcap");
    let size = build_capture(&big, n).unwrap();
    let small_size = build_capture(&small, n / 10).unwrap();
    println!(
        "capture: {n} NBNS packets, {} kinds, {:.1} MB ({})",
        pcap_write::every_kind().len(),
        size as f64 / 1e6,
        big.display()
    );
    let big_s = big.to_str().unwrap();

    // Ours: best of three, on each file.
    let best_of_three = |path: &str, count: usize| {
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let (t, out) = timed(Command::new(&dissect).args(["--stats", path]));
            assert!(
                out.starts_with(&format!("NBNS datagrams: {count} ({count} parsed")),
                "unexpected stats: {out}"
            );
            best = best.min(t);
        }
        let pps = count as f64 / best.as_secs_f64();
        println!(
            "dissect --stats on {count} packets: {:.3} s, {:.0} packets/s",
            best.as_secs_f64(),
            pps
        );
        pps
    };
    let ours = best_of_three(big_s, n);
    let ours_small = best_of_three(small.to_str().unwrap(), n / 10);
    // tshark: one run (it is the slow one).
    let tshark = ["/usr/bin/tshark", "tshark"].into_iter().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let theirs = tshark.map(|ts| {
        let small_s = small.to_str().unwrap();
        let (t, out) =
            timed(Command::new(ts).args(["-r", small_s, "-Y", "nbns", "-q", "-z", "io,stat,0"]));
        // The interval row: "|   0.0 <> 12.3 | FRAMES | BYTES |".
        let frames = out
            .lines()
            .find(|l| l.contains("<>"))
            .and_then(|l| l.split('|').nth(2))
            .and_then(|f| f.trim().parse::<usize>().ok());
        assert_eq!(frames, Some(n / 10), "tshark frame count: {out}");
        let pps = (n / 10) as f64 / t.as_secs_f64();
        println!(
            "tshark -Y nbns -q -z io,stat,0 on {} packets: {:.3} s, {:.0} packets/s",
            n / 10,
            t.as_secs_f64(),
            pps
        );
        pps
    });
    match theirs {
        Some(pps) => println!(
            "ratio of rates: {:.1}x tshark ({:.1}x on the same, smaller file)",
            ours / pps,
            ours_small / pps
        ),
        None => println!("tshark not found: no comparison"),
    }

    // Peak memory on two file sizes.
    let small_s = small.to_str().unwrap();
    match (
        max_rss_kib(&dissect, &["--stats", small_s]),
        max_rss_kib(&dissect, &["--stats", big_s]),
    ) {
        (Some(a), Some(b)) => println!(
            "dissect --stats max RSS: {a} KiB on {:.1} MB, {b} KiB on {:.1} MB",
            small_size as f64 / 1e6,
            size as f64 / 1e6
        ),
        _ => println!("max RSS: /usr/bin/time not available"),
    }
    if std::env::var_os("DISSECT_BENCH_KEEP").is_some() {
        println!("kept {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
