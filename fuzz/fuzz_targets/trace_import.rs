//! Fuzz target: bytes as a hopscope JSON trace, as `hopscope open` reads it. Nothing may
//! panic; a rejection names the file and, for a syntax error, a place inside the text; an
//! accepted trace must prepare for replay.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = harness::trace_import(data) {
        panic!("{finding}");
    }
});
