//! The WINS server state machine under arbitrary datagram sequences, clock
//! steps and challenge answers (see `nbns::server::fuzz::fuzz_drive` for the
//! input format and the invariants it asserts, durable changes and simulated
//! crashes included).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nbns::server::fuzz::fuzz_drive(data);
});
