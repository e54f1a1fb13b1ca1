//! Fuzz target: raw datagrams into the live DNS stub over loopback UDP. What is not a query
//! must be dropped; every query must get a well-formed answer that matches it, stays inside
//! the zone and is never much larger than the query unless it carries the zone's records.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

static LIVE: OnceLock<harness::Live> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let live = LIVE.get_or_init(harness::Live::start);
    let checked = live
        .dns(data)
        .and_then(|reply| harness::check_dns(data, reply.as_deref()));
    if let Err(finding) = checked {
        panic!("{finding}");
    }
});
