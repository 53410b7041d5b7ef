//! The resolver state machine under arbitrary datagrams, forged answers,
//! clock jumps and commands: no panic, and its invariants hold (see
//! `nbns::resolver::fuzz_drive`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nbns::resolver::fuzz_drive(data);
});
