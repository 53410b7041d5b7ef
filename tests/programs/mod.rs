//! Finding (and building) the example programs for the tests that run
//! them, and reading `nbtstat`'s `--json` output.
#![allow(dead_code)]

use core::time::Duration;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

/// The profile directory (`target/debug`) of this test binary
/// (`target/debug/deps/<test>-<hash>`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the test binary lives in <target>/<profile>/deps")
}

/// The example program `name`, built once per test process and name with
/// `cargo build --example NAME` into this test's own target directory (with
/// the same profile and features), so that it is never stale.
/// `$NBTSTAT_BIN` overrides the `nbtstat` one.
pub(crate) fn example_bin(name: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(bin) = built.get(name) {
        return bin.clone();
    }
    if name == "nbtstat"
        && let Some(p) = std::env::var_os("NBTSTAT_BIN")
    {
        return PathBuf::from(p);
    }
    let profile = profile_dir();
    let target = profile.parent().expect("target dir").to_path_buf();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--example", name, "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .stdin(Stdio::null());
    if profile.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    if cfg!(feature = "arbitrary") {
        cmd.args(["--features", "arbitrary"]);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("run cargo build --example {name}: {e}"));
    assert!(status.success(), "cargo build --example {name}: {status}");
    let bin = profile.join("examples").join(name);
    assert!(bin.is_file(), "{} missing after the build", bin.display());
    built.insert(name.to_owned(), bin.clone());
    bin
}

/// The `nbtstat` example program ([`example_bin`]).
pub(crate) fn nbtstat_bin() -> PathBuf {
    example_bin("nbtstat")
}

/// A scratch path unique to this process and `name`.
pub(crate) fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("nbns-nbtstat-test-{}-{name}", std::process::id()))
}

/// The JSON objects of `--json` output, one per line.
pub(crate) fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The events named `event`.
pub(crate) fn events<'a>(lines: &'a [Value], event: &str) -> Vec<&'a Value> {
    lines.iter().filter(|v| v["event"] == event).collect()
}

/// The event `event` about `name<suffix>`, if any.
pub(crate) fn event_for<'a>(
    lines: &'a [Value],
    event: &str,
    name: &str,
    suffix: &str,
) -> Option<&'a Value> {
    lines
        .iter()
        .find(|v| v["event"] == event && v["name"] == name && v["suffix"] == suffix)
}

/// Text of an output, for assertion messages.
pub(crate) fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Waits for `child` at most `limit`, killing it after that.
pub(crate) fn wait_bounded(mut child: std::process::Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if matches!(child.try_wait(), Ok(None)) {
        let _ = child.kill();
    }
    child.wait_with_output().expect("wait for nbtstat")
}
