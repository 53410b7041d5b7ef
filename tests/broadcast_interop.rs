//! Real peers on one broadcast segment of network namespaces the test
//! creates (tests/support/bridge.rs): Samba's nmbd as a B-node.
//! Runs only with `NBNS_INTEROP=1`, as root.

mod support;

use core::time::Duration;

use support::bridge::Bridge;

/// The segment itself: nmblookup in one member finds, by broadcast, the
/// name nmbd holds as a B-node in another.
#[test]
fn nmblookup_finds_nmbd_by_broadcast_on_the_bridge() {
    if !support::interop_enabled("nmblookup_finds_nmbd_by_broadcast_on_the_bridge") {
        return;
    }
    let mut bridge = Bridge::start(2).unwrap_or_else(|e| panic!("{e}"));
    bridge
        .start_nmbd(1, "BNODEPEER")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        bridge.wait_nmbd_name(0x20, Duration::from_secs(30)),
        "nmbd did not claim BNODEPEER<20>:\n{}",
        bridge.nmbd_log()
    );
    let out = bridge
        .nmblookup(2, ["-B", &bridge.broadcast().to_string(), "BNODEPEER#20"])
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{} BNODEPEER<20>", bridge.ip(1))),
        "nmblookup: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bridge.stop().unwrap_or_else(|e| panic!("{e}"));
}
