//! Draft cargo-fuzz target for the name client (to be moved into `fuzz/`
//! with a `[[bin]] name = "client"` entry): arbitrary datagrams, clock jumps
//! and commands against a `NameClient`, with its invariants checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nbns::client::fuzz_drive(data);
});
