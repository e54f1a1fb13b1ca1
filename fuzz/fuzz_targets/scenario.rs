//! Fuzz target: bytes as a scenario file (`scenario::load_str`) and as control commands.
//! Nothing may panic; a valid scenario must save and load back unchanged; every problem
//! must point inside the file; every command must print as text that reads back the same.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = harness::scenario(data) {
        panic!("{finding}");
    }
});
