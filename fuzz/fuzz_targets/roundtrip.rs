//! parse → emit → parse gives the same packet, and the emitted bytes are
//! stable under a second round.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nbns::wire::Packet;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Packet::parse(data) else { return };
    let mut out = vec![0u8; p.buffer_len()];
    let n = p.emit(&mut out).expect("a parsed packet always emits");
    assert_eq!(n, out.len());
    let again = Packet::parse(&out).expect("emitted bytes parse");
    assert_eq!(again, p);
    let mut out2 = vec![0u8; again.buffer_len()];
    again.emit(&mut out2).unwrap();
    assert_eq!(out2, out);
});
