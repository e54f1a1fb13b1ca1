//! Control commands: the one language for changing a running topology. `serve` reads them
//! on stdin, scenario events carry them in `do = "…"`, and the window's controls send them.

use std::fmt;
use std::str::FromStr;

use super::{Dur, Eviction, Policy, server_name};

/// Something a command acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// `server-N` (1-based).
    Server(u16),
    Cdn,
    Lb,
    Dns,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Server(n) => f.write_str(&server_name(*n)),
            Target::Cdn => f.write_str("cdn"),
            Target::Lb => f.write_str("lb"),
            Target::Dns => f.write_str("dns"),
        }
    }
}

/// A network hop whose latency or loss can be changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    /// Clients to the edge (every profile).
    Client,
    /// CDN to load balancer.
    Cdn,
    /// Load balancer to servers.
    Lb,
    /// Servers to the database.
    Db,
}

impl Link {
    /// Every link, in journey order.
    pub const ALL: [Link; 4] = [Link::Client, Link::Cdn, Link::Lb, Link::Db];

    /// The name used in commands.
    pub fn name(self) -> &'static str {
        match self {
            Link::Client => "client",
            Link::Cdn => "cdn",
            Link::Lb => "lb",
            Link::Db => "db",
        }
    }
}

/// How the DNS stub behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DnsMode {
    /// Answers normally.
    Ok,
    /// Says every name does not exist.
    Nxdomain,
    /// Drops this share of queries.
    Drop(f64),
}

/// A change to the CDN's cache.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CacheCommand {
    On,
    Off,
    Flush,
    Capacity(usize),
    Eviction(Eviction),
    /// Cache cacheable answers for this long whatever their max-age (`None`: honour max-age).
    Ttl(Option<Dur>),
}

/// A control command.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Close a component's listening socket: connections are refused.
    Kill(Target),
    /// Bring a component back on its old address, healthy and at normal speed.
    Restart(Target),
    /// A server accepts connections but never answers.
    Hang(u16),
    /// A server takes this much longer for every request.
    Slow(u16, Dur),
    /// This share of a server's requests answer 500.
    Error(u16, f64),
    /// Start one more server.
    AddServer,
    /// Stop a server and take it out of the pool.
    RemoveServer(u16),
    Dns(DnsMode),
    /// Every client forgets its cached DNS answers (as `ipconfig /flushdns` does).
    DnsFlush,
    Policy(Policy),
    Cache(CacheCommand),
    /// Print the address line again.
    Status,
    /// Stop sending new requests.
    Pause,
    /// Start sending again.
    Resume,
    /// Open-loop arrival rate, requests per second.
    Rate(f64),
    /// A client profile's share of the traffic.
    Weight(String, f64),
    /// Slow motion: multiply every injected delay by this (at least 1).
    TimeScale(f64),
    /// Keep connections open between requests (all clients).
    KeepAlive(bool),
    /// Clients use HTTPS to the edge.
    Tls(bool),
    /// One-way latency of a link.
    Latency(Link, Dur),
    /// Share of packets dropped on a link (1 is a firewall: connections time out).
    Drop(Link, f64),
    /// Send one request: method and path.
    Send(String, String),
    /// Session state (the cart) lives in the database (on) or in each server's memory (off).
    Stateless(bool),
    /// Popularity skew of requested ids (Zipf exponent; 0 is uniform).
    Zipf(f64),
}

fn server_number(word: &str) -> Result<u16, String> {
    super::server_number(word)
        .ok_or_else(|| format!("`{word}` is not a server: write server-1, server-2, …"))
}

fn target(word: &str) -> Result<Target, String> {
    match word {
        "cdn" => Ok(Target::Cdn),
        "lb" => Ok(Target::Lb),
        "dns" => Ok(Target::Dns),
        _ => server_number(word)
            .map(Target::Server)
            .map_err(|_| format!("`{word}` is not a component: use server-N, cdn, lb or dns")),
    }
}

fn link(word: &str) -> Result<Link, String> {
    Link::ALL
        .into_iter()
        .find(|l| l.name() == word)
        .ok_or_else(|| format!("`{word}` is not a link: use client, cdn, lb or db"))
}

fn share(word: &str) -> Result<f64, String> {
    match word.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{word}` is not a share: write a number from 0 to 1, like 0.3"
        )),
    }
}

/// The largest time scale anywhere (file, event, control line, flag): 1,000 times slower
/// already turns a 10 ms hop into 10 s; beyond it the run's timers would overflow.
pub const MAX_TIME_SCALE: f64 = 1000.0;

/// The largest request rate anywhere (file, event, control line), in requests per second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// The longest a client may wait for a request (`traffic.timeout`).
pub const MAX_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// The most API servers a topology may have at once, whether written in the file
/// (`servers.count`) or reached by `add server`: each takes a port, a thread's worth of
/// tasks and a lane in the window.
pub const MAX_SERVERS: usize = 256;

fn positive(word: &str, what: &str) -> Result<f64, String> {
    match word.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "`{word}` is not a valid {what}: write a number, like 50"
        )),
    }
}

fn on_off(word: &str) -> Result<bool, String> {
    match word {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("`{word}`: write on or off")),
    }
}

fn dur(word: &str) -> Result<Dur, String> {
    word.parse::<Dur>().map_err(|e| e.to_string())
}

/// The command words, for help and suggestions.
pub const COMMAND_WORDS: &[&str] = &[
    "kill",
    "restart",
    "hang",
    "slow",
    "error",
    "add",
    "remove",
    "dns",
    "policy",
    "cache",
    "status",
    "pause",
    "resume",
    "rate",
    "weight",
    "time_scale",
    "keepalive",
    "tls",
    "latency",
    "drop",
    "send",
    "stateless",
    "zipf",
];

/// The most characters of the input an error quotes in one place: a line of a megabyte
/// is not echoed back whole.
pub const MAX_QUOTED_CHARS: usize = 60;

/// The longest run of a message's own words between two quotes.
const MAX_OWN_WORDS_CHARS: usize = 160;

/// `message` with every `quoted` part longer than [`MAX_QUOTED_CHARS`] cut short.
fn clip_quotes(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts lie between backquotes. A backquote in the input itself shifts which
        // parts those are, so the others are cut too, at a length no message's own words
        // reach.
        let most = if i % 2 == 1 {
            MAX_QUOTED_CHARS
        } else {
            MAX_OWN_WORDS_CHARS
        };
        match part.char_indices().nth(most) {
            Some((at, _)) => {
                out.push_str(&part[..at]);
                out.push('…');
            }
            None => out.push_str(part),
        }
    }
    out
}

impl FromStr for Command {
    type Err = String;

    /// Parses one command; an error quotes at most [`MAX_QUOTED_CHARS`] of the input at a
    /// time.
    fn from_str(line: &str) -> Result<Self, String> {
        parse(line).map_err(|e| clip_quotes(&e))
    }
}

fn parse(line: &str) -> Result<Command, String> {
    let words = Words(line.split_whitespace().collect());
    let Some(&verb) = words.0.first() else {
        return Err("empty command".into());
    };
    let command = parse_verb(verb, &words)?;
    let expected_len = expected_len(&words.0);
    if words.0.len() > expected_len {
        return Err(format!(
            "`{line}` has extra words after `{}`",
            words.0[..expected_len].join(" ")
        ));
    }
    Ok(command)
}

/// The words of one command line.
struct Words<'a>(Vec<&'a str>);

impl<'a> Words<'a> {
    /// Word `i`, or an error saying the command needs `what` there.
    fn arg(&self, i: usize, what: &str) -> Result<&'a str, String> {
        self.0
            .get(i)
            .copied()
            .ok_or_else(|| format!("`{}` needs {what}", self.0.first().copied().unwrap_or("")))
    }
}

/// How many words a command has, verb included (more is an error).
fn expected_len(words: &[&str]) -> usize {
    match words[0] {
        "status" | "pause" | "resume" => 1,
        "slow" | "error" | "weight" | "latency" | "drop" | "send" => 3,
        "cache" => {
            if matches!(words.get(1), Some(&("capacity" | "eviction" | "ttl"))) {
                3
            } else {
                2
            }
        }
        "dns" if words.get(1) == Some(&"drop") => 3,
        _ => 2,
    }
}

/// The command a verb and its arguments name.
fn parse_verb(verb: &str, words: &Words<'_>) -> Result<Command, String> {
    let arg = |i: usize, what: &str| words.arg(i, what);
    Ok(match verb {
        "kill" => Command::Kill(target(arg(1, "a component")?)?),
        "restart" => Command::Restart(target(arg(1, "a component")?)?),
        "hang" => Command::Hang(server_number(arg(1, "a server")?)?),
        "slow" => Command::Slow(
            server_number(arg(1, "a server")?)?,
            dur(arg(2, "a delay")?)?,
        ),
        "error" => Command::Error(
            server_number(arg(1, "a server")?)?,
            share(arg(2, "a share")?)?,
        ),
        "add" => match arg(1, "`server`")? {
            "server" => Command::AddServer,
            other => return Err(format!("`add {other}`: only `add server` exists")),
        },
        "remove" => Command::RemoveServer(server_number(arg(1, "a server")?)?),
        "dns" => parse_dns(words)?,
        "policy" => Command::Policy(arg(1, "a policy")?.parse()?),
        "cache" => Command::Cache(parse_cache(words)?),
        "status" => Command::Status,
        "pause" => Command::Pause,
        "resume" => Command::Resume,
        "rate" | "time_scale" | "zipf" => parse_traffic_number(verb, words)?,
        "weight" => Command::Weight(
            arg(1, "a profile")?.to_string(),
            positive(arg(2, "a weight")?, "weight")?,
        ),
        "keepalive" => Command::KeepAlive(on_off(arg(1, "on or off")?)?),
        "stateless" => Command::Stateless(on_off(arg(1, "on or off")?)?),
        "tls" => Command::Tls(on_off(arg(1, "on or off")?)?),
        "latency" => Command::Latency(link(arg(1, "a link")?)?, dur(arg(2, "a latency")?)?),
        "drop" => Command::Drop(link(arg(1, "a link")?)?, share(arg(2, "a share")?)?),
        "send" => {
            let method = arg(1, "a method")?;
            let path = arg(2, "a path")?;
            if !method.bytes().all(|b| b.is_ascii_uppercase()) || !path.starts_with('/') {
                return Err("write `send METHOD /path`, like `send GET /users/1`".into());
            }
            Command::Send(method.to_string(), path.to_string())
        }
        other => {
            return Err(format!(
                "unknown command `{other}`: use one of {}",
                COMMAND_WORDS.join(", ")
            ));
        }
    })
}

/// `dns ok`, `dns nxdomain`, `dns drop 0.3` or `dns flush`.
fn parse_dns(words: &Words<'_>) -> Result<Command, String> {
    if words.0.get(1) == Some(&"flush") {
        return Ok(Command::DnsFlush);
    }
    Ok(Command::Dns(
        match words.arg(1, "ok, nxdomain, drop N or flush")? {
            "ok" => DnsMode::Ok,
            "nxdomain" => DnsMode::Nxdomain,
            "drop" => DnsMode::Drop(share(words.arg(2, "a share")?)?),
            other => {
                return Err(format!(
                    "`dns {other}`: use dns ok, dns nxdomain, dns drop 0.3 or dns flush"
                ));
            }
        },
    ))
}

/// `cache on`, `off`, `flush`, `capacity N`, `eviction P` or `ttl D`.
fn parse_cache(words: &Words<'_>) -> Result<CacheCommand, String> {
    Ok(
        match words.arg(1, "on, off, flush, capacity N, eviction P or ttl D")? {
            "on" => CacheCommand::On,
            "off" => CacheCommand::Off,
            "flush" => CacheCommand::Flush,
            "capacity" => {
                let n = words.arg(2, "a number of entries")?;
                CacheCommand::Capacity(
                    n.parse()
                        .map_err(|_| format!("`{n}` is not a number of entries"))?,
                )
            }
            "eviction" => CacheCommand::Eviction(words.arg(2, "lru, lfu or fifo")?.parse()?),
            "ttl" => match words.arg(2, "a duration or `origin`")? {
                "origin" => CacheCommand::Ttl(None),
                d => CacheCommand::Ttl(Some(dur(d)?)),
            },
            other => {
                return Err(format!(
                    "`cache {other}`: use on, off, flush, capacity N, eviction P or ttl D"
                ));
            }
        },
    )
}

/// `rate N`, `time_scale N` or `zipf N`: a number within what a run can keep.
fn parse_traffic_number(verb: &str, words: &Words<'_>) -> Result<Command, String> {
    match verb {
        "rate" => {
            let v = positive(words.arg(1, "requests per second")?, "rate")?;
            if v > MAX_RATE {
                return Err(format!(
                    "the rate is at most {MAX_RATE} requests per second"
                ));
            }
            Ok(Command::Rate(v))
        }
        "time_scale" => {
            let v = positive(words.arg(1, "a factor")?, "time scale")?;
            if !(1.0..=MAX_TIME_SCALE).contains(&v) {
                return Err(format!(
                    "the time scale is from 1 to {MAX_TIME_SCALE} \
                     (1 is real time, 10 is ten times slower)"
                ));
            }
            Ok(Command::TimeScale(v))
        }
        _ => {
            let v = positive(words.arg(1, "an exponent")?, "Zipf exponent")?;
            if v > 10.0 {
                return Err(
                    "the Zipf exponent is at most 10 (0 is uniform, about 1 is typical)".into(),
                );
            }
            Ok(Command::Zipf(v))
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Kill(t) => write!(f, "kill {t}"),
            Command::Restart(t) => write!(f, "restart {t}"),
            Command::Hang(n) => write!(f, "hang server-{n}"),
            Command::Slow(n, d) => write!(f, "slow server-{n} {d}"),
            Command::Error(n, s) => write!(f, "error server-{n} {s}"),
            Command::AddServer => f.write_str("add server"),
            Command::RemoveServer(n) => write!(f, "remove server-{n}"),
            Command::Dns(DnsMode::Ok) => f.write_str("dns ok"),
            Command::Dns(DnsMode::Nxdomain) => f.write_str("dns nxdomain"),
            Command::Dns(DnsMode::Drop(s)) => write!(f, "dns drop {s}"),
            Command::DnsFlush => f.write_str("dns flush"),
            Command::Policy(p) => write!(f, "policy {p}"),
            Command::Cache(c) => match c {
                CacheCommand::On => f.write_str("cache on"),
                CacheCommand::Off => f.write_str("cache off"),
                CacheCommand::Flush => f.write_str("cache flush"),
                CacheCommand::Capacity(n) => write!(f, "cache capacity {n}"),
                CacheCommand::Eviction(e) => write!(f, "cache eviction {}", e.name()),
                CacheCommand::Ttl(None) => f.write_str("cache ttl origin"),
                CacheCommand::Ttl(Some(d)) => write!(f, "cache ttl {d}"),
            },
            Command::Status => f.write_str("status"),
            Command::Pause => f.write_str("pause"),
            Command::Resume => f.write_str("resume"),
            Command::Rate(r) => write!(f, "rate {r}"),
            Command::Weight(p, w) => write!(f, "weight {p} {w}"),
            Command::TimeScale(s) => write!(f, "time_scale {s}"),
            Command::KeepAlive(on) => write!(f, "keepalive {}", if *on { "on" } else { "off" }),
            Command::Tls(on) => write!(f, "tls {}", if *on { "on" } else { "off" }),
            Command::Latency(l, d) => write!(f, "latency {} {d}", l.name()),
            Command::Drop(l, s) => write!(f, "drop {} {s}", l.name()),
            Command::Send(m, p) => write!(f, "send {m} {p}"),
            Command::Stateless(on) => write!(f, "stateless {}", if *on { "on" } else { "off" }),
            Command::Zipf(s) => write!(f, "zipf {s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_never_quotes_a_huge_line_whole() {
        let long = "x".repeat(1_000_000);
        for line in [
            format!("kill {long}"),
            format!("{long} server-1"),
            format!("status {long}"),
            format!("slow server-1 {long}"),
            format!("policy {long}"),
            format!("cache eviction {long}"),
            format!("send GET /a {long}"),
            // A backquote in the line shifts which parts of the message are quotes.
            format!("status ` {long}"),
            format!("kill `{long}` ` {long}"),
        ] {
            let e = line.parse::<Command>().expect_err("refused");
            assert!(
                !e.trim().is_empty() && e.len() < 600,
                "{} bytes: {}",
                e.len(),
                &e[..200]
            );
        }
        assert_eq!(clip_quotes("a `bc` d"), "a `bc` d");
    }

    #[test]
    fn every_documented_command_parses_and_prints_back() {
        for text in [
            "kill server-2",
            "restart server-2",
            "hang server-2",
            "slow server-2 200ms",
            "add server",
            "remove server-3",
            "error server-1 0.5",
            "kill cdn",
            "kill lb",
            "kill dns",
            "restart dns",
            "dns nxdomain",
            "dns drop 0.3",
            "dns ok",
            "dns flush",
            "policy least_connections",
            "cache off",
            "cache on",
            "cache flush",
            "cache capacity 50",
            "cache eviction lfu",
            "cache ttl 5s",
            "cache ttl origin",
            "status",
            "pause",
            "resume",
            "rate 50",
            "weight mobile 2",
            "time_scale 4",
            "keepalive off",
            "tls on",
            "latency client 50ms",
            "drop client 1",
            "send GET /users/1",
            "stateless on",
            "zipf 1.2",
        ] {
            let parsed: Command = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn mistakes_get_a_message_that_says_what_to_write() {
        for (text, needle) in [
            ("kill server-0", "server-N"),
            ("explode server-1", "unknown command"),
            ("error server-1 2", "from 0 to 1"),
            ("slow server-1 fast", "not a duration"),
            ("policy fastest", "least_connections"),
            ("kill server-1 now", "extra words"),
            ("time_scale 0.5", "from 1 to 1000"),
            ("time_scale 1e20", "from 1 to 1000"),
            ("rate 1e7", "at most 1000000"),
            ("rate 1e308", "at most 1000000"),
            ("", "empty"),
        ] {
            let err = text.parse::<Command>().expect_err(text);
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
