//! Raw bytes into `Packet::parse`: never a panic, errors inside the datagram,
//! and every accessor of a parsed packet reads without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nbns::wire::{Packet, RData};

fuzz_target!(|data: &[u8]| {
    match Packet::parse(data) {
        Ok(p) => {
            let _ = p.kind();
            let _ = p.buffer_len();
            if let Some(q) = p.question() {
                let _ = q.name.scope.iter().count();
            }
            for (_, r) in p.records() {
                let _ = r.name.scope.iter().count();
                match r.rdata {
                    RData::Nb(a) => assert_eq!(a.iter().count(), a.len()),
                    RData::NodeStatus(s) => assert_eq!(s.names.iter().count(), s.names.len()),
                    RData::Ns(l) => {
                        let _ = l.iter().count();
                    }
                    _ => {}
                }
            }
            let _ = p.trailing();
        }
        Err(e) => assert!(e.offset() <= data.len()),
    }
});
