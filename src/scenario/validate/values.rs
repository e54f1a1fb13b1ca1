//! Checking a scenario's values against what the engine can run, section by section: the
//! run (time scale, duration), DNS, the CDN, the servers, the database, the API, and the
//! limits and network. Traffic, profiles and events are checked in `traffic.rs`. Each
//! problem is a field path, a message and a hint; `mod.rs` gives it its place in the file.

use super::{actions, traffic};
use crate::scenario::{ApiConfig, DnsConfig, Scenario, bind_problem};

/// A problem: the field's path, the message and a hint.
pub type Check = (String, String, Option<String>);

/// Where a check reports a problem: field path, message, hint (empty for none).
pub type Fail<'a> = &'a mut dyn FnMut(&str, String, &str);

/// Every problem in the scenario's values, section by section.
pub fn check_values(s: &Scenario) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::new();
    let mut fail = |path: &str, message: String, hint: &str| {
        out.push((
            path.to_string(),
            message,
            (!hint.is_empty()).then(|| hint.to_string()),
        ));
    };
    check_run(s, &mut fail);
    check_dns(&s.dns, &mut fail);
    check_cdn_and_servers(s, &mut fail);
    check_database(s, &mut fail);
    check_api(&s.api, &mut fail);
    traffic::check_traffic(s, &mut fail);
    traffic::check_profiles(s, &mut fail);
    traffic::check_events(s, &mut fail);
    actions::lesson_problems(&s.steps, &mut fail);
    check_limits_and_network(s, &mut fail);
    out
}

/// A run lasts a while, at a time scale the engine can keep.
fn check_run(s: &Scenario, fail: Fail<'_>) {
    if !(1.0..=crate::scenario::MAX_TIME_SCALE).contains(&s.time_scale) {
        fail(
            "time_scale",
            format!(
                "time scale {} is outside 1 to {}",
                s.time_scale,
                crate::scenario::MAX_TIME_SCALE
            ),
            "1 is real time, 1000 the slowest; 10 makes every delay ten times longer",
        );
    }
    if s.duration.is_zero() {
        fail(
            "duration",
            "the duration is zero".into(),
            "write how long a run lasts, like \"10s\"",
        );
    }
}

/// The zone and names are DNS names, loss is a share and the resolver waits a while.
fn check_dns(dns: &DnsConfig, fail: Fail<'_>) {
    if !valid_dns_name(&dns.zone) {
        fail(
            "dns.zone",
            format!("`{}` is not a DNS name", dns.zone),
            "write a name like example.test",
        );
    }
    for (i, name) in dns.names.iter().enumerate() {
        if !valid_dns_name(name) {
            fail(
                &format!("dns.names[{}]", i + 1),
                format!("`{name}` is not a DNS label"),
                "letters, digits and hyphens, like api",
            );
        }
    }
    if !(0.0..=1.0).contains(&dns.loss) {
        fail(
            "dns.loss",
            format!("loss {} is not a share", dns.loss),
            "write a number from 0 to 1, like 0.1",
        );
    }
    if dns.timeout.is_zero() {
        fail(
            "dns.timeout",
            "the resolver timeout is zero".into(),
            "write how long a client waits for an answer, like \"500ms\"",
        );
    }
}

/// The cache has room, and the servers' count, workers, queue and service times are ones
/// the engine can run.
fn check_cdn_and_servers(s: &Scenario, fail: Fail<'_>) {
    if s.cdn.capacity == 0 {
        fail(
            "cdn.capacity",
            "a cache with room for nothing".into(),
            "write how many answers it may hold, like 100; to turn caching off write cache_enabled = false",
        );
    }
    if s.servers.count == 0 || s.servers.count > crate::scenario::MAX_SERVERS {
        fail(
            "servers.count",
            format!("{} servers", s.servers.count),
            &format!("between 1 and {} servers", crate::scenario::MAX_SERVERS),
        );
    }
    if s.servers.workers == 0 || s.servers.workers > 4096 {
        fail(
            "servers.workers",
            format!("{} workers", s.servers.workers),
            "between 1 and 4096 workers per server",
        );
    }
    if s.servers.queue > 1_000_000 {
        fail(
            "servers.queue",
            format!("a queue of {}", s.servers.queue),
            "at most 1000000",
        );
    }
    if !(s.servers.service.sigma.is_finite() && s.servers.service.sigma > 0.0) {
        fail(
            "servers.service.sigma",
            format!("sigma {}", s.servers.service.sigma),
            "a positive number, like 0.5",
        );
    }
    for (i, f) in s.servers.slowdown.iter().enumerate() {
        if !(f.is_finite() && *f > 0.0) {
            fail(
                &format!("servers.slowdown[{}]", i + 1),
                format!("slowdown {f}"),
                "a positive multiplier, like 2",
            );
        }
    }
}

/// The database's pool holds at least one connection and not too many.
fn check_database(s: &Scenario, fail: Fail<'_>) {
    if s.database.pool == 0 || s.database.pool > 256 {
        fail(
            "database.pool",
            format!("a pool of {} connections", s.database.pool),
            "between 1 and 256",
        );
    }
}

/// Public resources are ones the API serves; the allowed and forbidden tokens differ.
fn check_api(api: &ApiConfig, fail: Fail<'_>) {
    for (i, r) in api.public_resources.iter().enumerate() {
        if !["users", "restaurants", "orders"].contains(&r.as_str()) {
            fail(
                &format!("api.public_resources[{}]", i + 1),
                format!("unknown resource `{r}`"),
                "users, restaurants or orders",
            );
        }
    }
    if api.allowed_token.is_empty() || api.allowed_token == api.forbidden_token {
        fail(
            "api.allowed_token",
            "the allowed token is empty or equals the forbidden one".into(),
            "two different words",
        );
    }
}

/// Limits leave room for a request and some time for it; the bind address is one the
/// engine may listen on.
fn check_limits_and_network(s: &Scenario, fail: Fail<'_>) {
    if s.limits.max_header_bytes < 256 {
        fail(
            "limits.max_header_bytes",
            "headers limit too small for any request".into(),
            "at least 256",
        );
    }
    for (field, d) in [
        ("limits.header_timeout", s.limits.header_timeout),
        ("limits.body_timeout", s.limits.body_timeout),
    ] {
        if d.is_zero() {
            fail(field, "a timeout of zero".into(), "like \"10s\"");
        }
    }
    if let Some((message, hint)) = bind_problem(&s.network.bind) {
        fail("network.bind", message, hint);
    }
    if s.limits.max_connections == 0 {
        fail(
            "limits.max_connections",
            "no connections allowed".into(),
            "at least 1",
        );
    }
}

fn valid_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}
