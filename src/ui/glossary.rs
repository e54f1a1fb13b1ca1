//! One-sentence explanations of every term the window shows, for tooltips: a learner who
//! hovers "TTL" or "p99" gets a plain answer without leaving the picture.

/// Terms and their explanations, in alphabetical order of the term.
pub const GLOSSARY: &[(&str, &str)] = &[
    (
        "304",
        "Not Modified: the server says the copy you already have is still current, so it sends no body.",
    ),
    (
        "502",
        "Bad Gateway: a proxy asked the next server and got no usable answer, typically because that server is down.",
    ),
    (
        "503",
        "Service Unavailable: the server is overloaded or no healthy server is left; try again later (see Retry-After).",
    ),
    (
        "504",
        "Gateway Timeout: a proxy waited for the next server longer than its limit.",
    ),
    (
        "A record",
        "A DNS answer that maps a name to an IPv4 address.",
    ),
    (
        "Age",
        "How many seconds a cached answer has been stored, as the CDN reports it.",
    ),
    (
        "BYPASS",
        "The CDN passed the request straight through: it may not be stored (a write, a private answer, or the cache is off).",
    ),
    (
        "blocked",
        "Time a request waited before anything was sent, here for a free connection slot (browsers open at most six per host).",
    ),
    (
        "CDN",
        "A cache close to clients that answers repeated requests itself, so the servers behind it see less traffic.",
    ),
    (
        "client hash",
        "A policy that always sends the same client to the same server (sticky sessions).",
    ),
    (
        "connect",
        "Time to open a TCP connection: one round trip for the three-way handshake, plus TLS when it is on.",
    ),
    (
        "DNS",
        "The Domain Name System: it turns a name like api.example.test into an address, over UDP.",
    ),
    (
        "edge",
        "The first component a client connects to: the CDN here, or the load balancer when there is no CDN.",
    ),
    (
        "ejection",
        "The load balancer leaving a server out for a while after a connection to it failed.",
    ),
    (
        "ETag",
        "A fingerprint of a response; sending it back in If-None-Match lets the server answer 304 if nothing changed.",
    ),
    (
        "EXPIRED",
        "The CDN had a copy, but it was too old, and the origin sent a new one.",
    ),
    (
        "health check",
        "The load balancer asking each server GET /health every so often; servers that fail stop getting requests.",
    ),
    (
        "HIT",
        "The CDN answered from its cache without asking the servers.",
    ),
    (
        "hit ratio",
        "The share of cacheable requests the CDN answered from its cache.",
    ),
    (
        "jitter",
        "Random extra delay on each packet, so round trips are not all the same length.",
    ),
    (
        "keep-alive",
        "Reusing one TCP connection for many requests instead of opening a new one (and paying its handshake) every time.",
    ),
    (
        "latency",
        "How long something takes, here from a request's start to its last byte.",
    ),
    (
        "least connections",
        "A policy that sends each request to the server with the fewest requests in progress.",
    ),
    (
        "load balancer",
        "A proxy that spreads requests over several servers and routes around the ones that fail.",
    ),
    (
        "max-age",
        "How many seconds an answer may be reused from a cache, as the server's Cache-Control says.",
    ),
    (
        "MISS",
        "The CDN had no copy, so it fetched the answer from the servers (and kept it if allowed).",
    ),
    ("NXDOMAIN", "A DNS answer saying the name does not exist."),
    (
        "p50",
        "The median: half the requests were faster than this.",
    ),
    ("p95", "95 in 100 requests were faster than this."),
    (
        "p99",
        "99 in 100 requests were faster than this: the slow tail users notice.",
    ),
    (
        "packet loss",
        "Packets that never arrive; TCP sends them again after a timeout, which shows up as extra delay.",
    ),
    (
        "peak EWMA",
        "A latency-aware policy: it prefers servers whose recent response times, times their busy requests, are lowest.",
    ),
    (
        "power of two choices",
        "A policy that looks at two random servers and picks the less busy one.",
    ),
    (
        "queue",
        "Requests waiting for one of a server's workers; when it is full, more requests get 503.",
    ),
    (
        "receive",
        "Time spent reading the response after its first byte arrived.",
    ),
    (
        "Retry-After",
        "A header telling the client how many seconds to wait before trying again.",
    ),
    (
        "REVALIDATED",
        "The CDN's copy was too old, but the server answered 304, so the CDN served its copy and refreshed it.",
    ),
    (
        "round robin",
        "A policy that sends requests to each server in turn.",
    ),
    (
        "send",
        "Time spent writing the request onto the connection.",
    ),
    (
        "span",
        "One step of a request's journey at one component, with its start and end time.",
    ),
    (
        "SRV record",
        "A DNS answer that says on which host and port a service listens.",
    ),
    (
        "step mode",
        "One request moves one hop per click of Next hop, so each step can be explained.",
    ),
    ("throughput", "How many requests finish per second."),
    (
        "time scale",
        "Slow motion: every injected delay is stretched by this factor.",
    ),
    (
        "TLS",
        "Encryption for the connection (HTTPS); its handshake costs extra round trips before the request can go.",
    ),
    (
        "traceparent",
        "A standard header carrying the request's id from hop to hop, so every component's part joins one journey.",
    ),
    (
        "TTL",
        "Time to live: how many seconds a DNS answer may be cached before it must be asked again.",
    ),
    (
        "wait",
        "Time from sending the request to the first byte of the answer: everything the servers did, plus the round trip.",
    ),
    (
        "worker",
        "One of a server's request handlers; a server works on as many requests at once as it has workers.",
    ),
    (
        "Zipf",
        "A popularity law where a few items are asked for very often and most items rarely.",
    ),
];

/// The explanation of `term` (case-insensitive), if the glossary has it.
pub fn explain(term: &str) -> Option<&'static str> {
    GLOSSARY
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(term))
        .map(|(_, e)| *e)
}

/// A label whose hover text explains `term` (falls back to a plain label).
pub fn term_label(
    ui: &mut egui::Ui,
    text: impl Into<egui::WidgetText>,
    term: &str,
) -> egui::Response {
    let response = ui.label(text);
    match explain(term) {
        Some(e) => response.on_hover_text(e),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_has_one_plain_sentence_and_lookups_ignore_case() {
        for (term, text) in GLOSSARY {
            assert!(text.ends_with('.'), "{term}");
            assert!(
                text.len() < 160,
                "{term} is longer than a tooltip should be"
            );
        }
        assert_eq!(explain("ttl"), explain("TTL"));
        assert!(explain("p99").is_some_and(|t| t.contains("99 in 100")));
        assert_eq!(explain("flux capacitor"), None);
    }
}
