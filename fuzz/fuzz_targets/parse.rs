//! Raw bytes into `Packet::parse`: never a panic, errors inside the datagram.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nbns::wire::Packet;

fuzz_target!(|data: &[u8]| {
    match Packet::parse(data) {
        Ok(p) => {
            let _ = p.kind();
            let _ = p.buffer_len();
        }
        Err(e) => assert!(e.offset() <= data.len()),
    }
});
