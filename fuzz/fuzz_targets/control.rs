//! Fuzz target: each line of the input as a control command, as `serve` reads them on
//! stdin. A refusal is a short message (a huge line is not echoed whole); an accepted
//! command prints as text that reads back the same and is applied to one live engine, which
//! must still answer afterwards (`status`, a health check, a request through the load
//! balancer). A panic on any engine thread aborts.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

static LIVE: OnceLock<harness::Live> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let live = LIVE.get_or_init(harness::Live::start);
    if let Err(finding) = harness::control(live, data) {
        panic!("{finding}");
    }
});
