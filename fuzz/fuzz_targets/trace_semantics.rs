//! Fuzz target: the input as damage done to a valid JSON trace (three bytes an edit: one id
//! copied onto another request, a status out of range, a latency of the wrong type, a
//! request or span that ends before it starts, a field missing, unknown or of the wrong
//! type). What the schema forbids must be refused naming the file and the request; harmless
//! edits must be accepted and replay; nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = harness::trace_semantics(data) {
        panic!("{finding}");
    }
});
