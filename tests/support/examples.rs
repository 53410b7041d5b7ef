//! The crate's example programs as processes under test: built with the
//! profile, target directory and features of the test binary, with their
//! output followed line by line.

use core::net::Ipv4Addr;
use core::time::Duration;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

/// A TCP port on `ip` that was free a moment ago (the OS's pick).
pub(crate) fn free_tcp(ip: Ipv4Addr) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A UDP port on `ip` that was free a moment ago (the OS's pick).
pub(crate) fn free_udp(ip: Ipv4Addr) -> u16 {
    UdpSocket::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Builds the example `name` (with `features`, plus `arbitrary` when the
/// test binary has it) and returns its path.
pub(crate) fn example_binary(name: &str, features: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // <target>/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target dir");
    let mut features: Vec<String> = features.iter().map(|f| (*f).to_owned()).collect();
    features.extend(required_features(name));
    if cfg!(feature = "arbitrary") {
        features.push("arbitrary".to_owned());
    }
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "--example", name, "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null());
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build --example {name}: {status}");
    let bin = profile_dir.join("examples").join(name);
    assert!(bin.is_file(), "{} missing after the build", bin.display());
    bin
}

/// The `required-features` of example `name` in Cargo.toml, so that a
/// test builds an example with what it needs whatever it asks for.
fn required_features(name: &str) -> Vec<String> {
    let toml = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .unwrap_or_default();
    let mut in_example = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_example = false;
        } else if line == format!("name = \"{name}\"") {
            in_example = true;
        } else if in_example && let Some(list) = line.strip_prefix("required-features = ") {
            return list
                .trim_matches(['[', ']'])
                .split(',')
                .map(|f| f.trim().trim_matches('"').to_owned())
                .filter(|f| !f.is_empty())
                .collect();
        }
    }
    Vec::new()
}

/// Lines a child writes to a pipe, collected by a thread.
#[derive(Clone, Default)]
pub(crate) struct Lines(Arc<Mutex<Vec<String>>>, Arc<Mutex<bool>>);

impl Lines {
    pub(crate) fn follow(pipe: impl std::io::Read + Send + 'static) -> Self {
        let lines = Self::default();
        let sink = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                sink.0.lock().unwrap().push(line);
            }
            *sink.1.lock().unwrap() = true;
        });
        lines
    }

    pub(crate) fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn has(&self, wanted: &str) -> bool {
        self.0.lock().unwrap().iter().any(|l| l.contains(wanted))
    }

    pub(crate) fn count(&self, wanted: &str) -> usize {
        let lines = self.0.lock().unwrap();
        lines.iter().filter(|l| l.contains(wanted)).count()
    }

    /// Whether the pipe has been closed (the writer is gone).
    pub(crate) fn closed(&self) -> bool {
        *self.1.lock().unwrap()
    }
}

/// A child process with its output followed; killed on drop.
pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) stdout: Lines,
    pub(crate) stderr: Lines,
}

impl Proc {
    /// Spawns `cmd` with its output piped and followed.
    pub(crate) fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        Self {
            stdout: Lines::follow(child.stdout.take().unwrap()),
            stderr: Lines::follow(child.stderr.take().unwrap()),
            child,
        }
    }

    /// The first line of its standard error that holds `needle`, waiting up
    /// to `limit` for it; panics with everything it printed if none comes.
    pub(crate) fn stderr_line(&self, needle: &str, limit: Duration) -> String {
        let end = Instant::now() + limit;
        loop {
            if let Some(line) = self.stderr.all().into_iter().find(|l| l.contains(needle)) {
                return line;
            }
            assert!(
                Instant::now() < end,
                "no {needle:?} line within {limit:?}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything it printed, stdout then stderr.
    pub(crate) fn log(&self) -> String {
        let mut s = self.stdout.all().join("\n");
        s.push_str("\n--- stderr ---\n");
        s.push_str(&self.stderr.all().join("\n"));
        s
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
