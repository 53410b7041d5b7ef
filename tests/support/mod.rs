//! Helpers shared by the integration tests.
//!
//! * [`NmbdWins`]: Samba's nmbd as a private WINS server in a pair of network
//!   namespaces (driven by `tests/peer/nmbd-wins.sh`), with its WINS database
//!   readable through [`NmbdWins::records`].
//! * [`NmbdClient`]: the same namespaces with nmbd as a WINS *client* of a
//!   server the test runs in the server namespace (such as the crate's
//!   `wins_server` example).
//! * [`bridge::Bridge`]: one broadcast segment of network namespaces (a
//!   bridge in a hub namespace, members on veth pairs), with nmbd as a B-node
//!   in one member and the test's own code in another.
//! * [`examples`]: the crate's example programs, built and run as
//!   processes under test.
//! * [`programs`]: the example programs by name, and `nbtstat`'s JSON
//!   output.
//! * [`samba4::Samba4Wins`]: Samba 4's AD DC WINS server as a replication
//!   partner in a pair of network namespaces (`tests/peer/samba4-wins.sh`),
//!   its `wins.ldb` readable through `ldbsearch`; two instances at once on
//!   one bridged segment ([`samba4::PAIR_A`], [`samba4::PAIR_B`]).
//! * [`pcap`]: writes classic pcap files of UDP/IPv4 datagrams and TCP/IPv4
//!   conversations.
//! * [`segment`]: a simulated broadcast segment of sans-IO machines (name
//!   clients, WINS servers, resolvers) with a simulated clock and seeded loss.
//! * [`tshark`]: Wireshark's dissector as a judge of packets, and live
//!   captures inside a namespace.
//!
//! The peers are real programs, so these helpers need root and the Debian
//! packages `samba`, `samba-common-bin`, `tshark`, `iproute2` and
//! `python3-tdb` (or `tdb-tools`). The tests that use them run only when
//! `NBNS_INTEROP=1` is set ([`interop_enabled`]; `.ci/run` sets it): then a
//! missing requirement is an error with a message saying what to install,
//! never a silently skipped test. Without it they print one line saying that
//! they did not run, so that `cargo test` passes on a machine with only Rust.
//!
//! Include with `mod support;` from a file in `tests/`. Every test binary uses
//! a different subset, hence the `dead_code` and
//! `unused_imports` allowances.
#![allow(dead_code, unused_imports)]

pub(crate) mod bridge;
pub(crate) mod examples;
#[cfg(feature = "tokio")]
pub(crate) mod loopback;
pub(crate) mod nmbd;
pub(crate) mod nmbd_client;
pub(crate) mod pcap;
pub(crate) mod programs;
pub(crate) mod repl_sim;
pub(crate) mod repl_tcp;
pub(crate) mod samba4;
pub(crate) mod segment;
pub(crate) mod tshark;

use std::io::Write;

pub(crate) use nmbd::{NmbdWins, RecordState, RecordType, WinsOptions, WinsRecord};
pub(crate) use nmbd_client::{ClientOptions, NmbdClient};

/// Whether the interop test `test` runs: only when `NBNS_INTEROP=1` is set.
///
/// Otherwise it writes one line saying that `test` did not run and why,
/// straight to the standard error of the process (not through the test
/// harness's capture, so that a plain `cargo test` shows it), and returns
/// false: the caller returns at once.
pub(crate) fn interop_enabled(test: &str) -> bool {
    if std::env::var_os("NBNS_INTEROP").is_some_and(|v| v == "1") {
        return true;
    }
    let _ = writeln!(
        std::io::stderr(),
        "{test}: not run: it needs real peers (root, Samba, tshark); NBNS_INTEROP=1 runs it, as .ci/run does"
    );
    false
}
