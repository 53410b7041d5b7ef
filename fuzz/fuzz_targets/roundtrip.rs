//! parse → emit → parse gives the same packet: through the view's
//! re-emission and through its message, which write the same bytes; a
//! canonical datagram re-emits byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nbns::wire::{EmitError, Packet};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Packet::parse(data) else { return };
    let mut out = vec![0u8; p.buffer_len()];
    let n = match p.emit(&mut out) {
        Ok(n) => n,
        // Names written in full can make a datagram near 64 KiB too long.
        Err(EmitError::TooLong { .. }) if !p.is_canonical() => return,
        Err(e) => panic!("a parsed packet emits: {e}"),
    };
    assert_eq!(n, out.len());
    if p.is_canonical() {
        assert_eq!(out, data);
    }
    let m = p.to_message();
    let mut written = vec![0u8; m.buffer_len()];
    m.emit(&mut written).expect("a parsed packet's message emits");
    assert_eq!(written, out);
    let again = Packet::parse(&out).expect("emitted bytes parse");
    assert_eq!(again, p);
    assert!(again.is_canonical());
    assert_eq!(again.kind(), p.kind());
});
