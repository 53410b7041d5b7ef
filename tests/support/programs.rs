//! Finding (and building) the example programs for the tests that run
//! them, and reading `nbtstat`'s `--json` output.

use super::examples;

use core::time::Duration;
use std::path::PathBuf;
use std::process::Output;
use std::time::Instant;

use serde_json::Value;

/// The arguments of `nbtstat MODE --json` as a node on 127.0.0.1 (an
/// ephemeral port) whose WINS server is `wins`.
pub(crate) fn loopback_node<'a>(mode: &'a str, wins: &'a str) -> [&'a str; 8] {
    [
        mode,
        "--json",
        "--wins",
        wins,
        "--addr",
        "127.0.0.1",
        "--port",
        "0",
    ]
}

/// The names of an `nbtstat --json` `name_table` event, as `NAME<xx>`.
pub(crate) fn listed_names(table: &Value) -> Vec<String> {
    table["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{}<{}>",
                n["name"].as_str().unwrap(),
                n["suffix"].as_str().unwrap()
            )
        })
        .collect()
}

/// The example program `name`, built with the test binary's profile,
/// target directory and features ([`examples::example_binary`]).
/// `$NBTSTAT_BIN` overrides the `nbtstat` one.
pub(crate) fn example_bin(name: &str) -> PathBuf {
    if name == "nbtstat"
        && let Some(p) = std::env::var_os("NBTSTAT_BIN")
    {
        return PathBuf::from(p);
    }
    examples::example_binary(name, &[])
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
