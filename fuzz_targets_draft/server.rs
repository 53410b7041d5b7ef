//! Fuzz target for the WINS server state machine: arbitrary datagram
//! sequences, clock steps and challenge answers (see
//! `nbns::server::fuzz::fuzz_drive` for the input format and the invariants
//! it asserts). To wire into fuzz/: add a [[bin]] named `server` with this
//! path.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nbns::server::fuzz::fuzz_drive(data);
});
