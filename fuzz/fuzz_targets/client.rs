//! The name client state machine under arbitrary datagrams, clock jumps and
//! commands: no panic, and its invariants hold (see `nbns::client::fuzz_drive`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nbns::client::fuzz_drive(data);
});
