//! Fuzz target: raw bytes into a live component's HTTP port over loopback TCP. The first
//! byte picks the component (CDN, load balancer or API server), the rest is written as is.
//! The component must answer with whole HTTP/1.1 responses (none a 500, 502, 503 or 504)
//! or close the connection, within a bounded time; a panic on any engine thread aborts.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

static LIVE: OnceLock<harness::Live> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let live = LIVE.get_or_init(harness::Live::start);
    let hop = harness::Hop::from_byte(first);
    let checked = live
        .http(hop, bytes)
        .and_then(|reply| harness::check_http(&reply));
    if let Err(finding) = checked {
        panic!("{hop:?}: {finding}");
    }
});
