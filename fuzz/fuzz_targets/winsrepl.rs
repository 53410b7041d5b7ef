//! Raw bytes into the replication framer, parser and association: the
//! first byte picks the chunk size the stream is fed in; every message the
//! framer hands out is parsed and walked, and so are the raw bytes
//! themselves; the same chunks go to a responding association. Never a
//! panic, errors inside the input, the framer's buffer within its limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Instant;

use nbns::winsrepl::{Addresses, Association, AssociationConfig, Body, Framer, Message};

const LIMIT: usize = 4096;

fn walk(bytes: &[u8]) {
    match Message::parse(bytes) {
        Ok(m) => match m.body {
            Body::SendReply(records) => {
                assert!(records.iter().count() == records.len());
                for r in records {
                    let _ = (r.name.netbios(), r.name.scope(), r.flags.state());
                    if let Addresses::List(list) = r.addresses {
                        assert_eq!(list.iter().count(), list.len());
                    }
                }
            }
            Body::TableReply(t) | Body::UpdateNotification(_, t) => {
                assert_eq!(t.owners.iter().count(), t.owners.len());
            }
            _ => {}
        },
        Err(e) => assert!(e.offset() <= bytes.len()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else { return };
    walk(stream);
    let mut framer = Framer::with_limit(LIMIT);
    let now = Instant::now();
    let mut association = Association::accept(AssociationConfig::default(), 0x0102_0304);
    for piece in stream.chunks(usize::from(chunk).max(1)) {
        association.handle_received(now, piece);
        while association.poll_send().is_some() {}
        while association.poll_event().is_some() {}
        if framer.feed_all(piece, |m| walk(m)).is_err() {
            break;
        }
        assert!(framer.buffered() <= LIMIT);
    }
    association.handle_closed();
});
