//! Structure-aware: an arbitrary packet model either is refused by `emit`
//! with a typed error, or round-trips exactly through the wire.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nbns::wire::Packet;

fuzz_target!(|p: Packet<'_>| {
    let mut out = vec![0u8; p.buffer_len()];
    if p.emit(&mut out).is_err() {
        return;
    }
    let back = Packet::parse(&out).expect("emitted bytes parse");
    assert_eq!(back, p);
});
