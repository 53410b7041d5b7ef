//! The command lines of the two load and speed programs, `dissect_bench`
//! and `loadgen`, run as processes: `--help` prints the options and exits
//! 0; a bad argument is one line on stderr, nothing on stdout, exit 2.

mod support;

use std::process::{Command, Output};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(support::programs::example_bin(program))
        .args(args)
        .output()
        .unwrap()
}

fn help_and_bad_arguments(program: &str, options: &[&str], bad: &[&[&str]]) {
    let help = run(program, &["--help"]);
    assert_eq!(help.status.code(), Some(0), "{help:?}");
    let text = String::from_utf8_lossy(&help.stdout);
    for option in options {
        assert!(
            text.contains(option),
            "{program} --help lacks {option}:\n{text}"
        );
    }
    for args in bad {
        let out = run(program, args);
        assert_eq!(out.status.code(), Some(2), "{program} {args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{program} {args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{program} {args:?}: {err:?}");
        assert!(
            err.starts_with(&format!("{program}: ")),
            "{program} {args:?}: {err:?}"
        );
    }
}

#[test]
fn dissect_bench_help_and_usage_errors() {
    help_and_bad_arguments(
        "dissect_bench",
        &[
            "--packets",
            "--passes",
            "--runs",
            "--tshark-runs",
            "--keep",
            "--dissect-arg",
        ],
        &[
            &["--bogus"],
            &["--packets", "5"],
            &["--packets", "many"],
            &["--runs", "0"],
            &["--tshark-runs"],
            &["100000"],
        ],
    );
}

#[test]
fn loadgen_help_and_usage_errors() {
    help_and_bad_arguments(
        "loadgen",
        &[
            "--server",
            "--names",
            "--inflight",
            "--timeout-ms",
            "--log-acks",
        ],
        &[
            &[],
            &["--bogus"],
            &["--server", "nope"],
            &["--server", "127.0.0.1:137", "--names", "x"],
            &["--server", "127.0.0.1:137", "--inflight"],
        ],
    );
}
