//! Structure-aware: an arbitrary message either is refused by `emit` with a
//! typed error, or round-trips exactly through the wire.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nbns::wire::{Message, Packet};

fuzz_target!(|m: Message<'_>| {
    let mut out = vec![0u8; m.buffer_len()];
    if m.emit(&mut out).is_err() {
        return;
    }
    let back = Packet::parse(&out).expect("emitted bytes parse");
    assert_eq!(back, m);
    assert_eq!(back.to_message(), m);
    assert_eq!(back.kind(), m.kind());
});
