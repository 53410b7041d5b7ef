//! Raw bytes into the replication framer and parser: the first byte picks
//! the chunk size the stream is fed in; every message the framer hands out
//! is parsed and walked, and so are the raw bytes themselves. Never a
//! panic, errors inside the input, the framer's buffer within its limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nbns::winsrepl::{Addresses, Body, Framer, Message};

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
    for piece in stream.chunks(usize::from(chunk).max(1)) {
        if framer.feed_all(piece, |m| walk(m)).is_err() {
            break;
        }
        assert!(framer.buffered() <= LIMIT);
    }
});
