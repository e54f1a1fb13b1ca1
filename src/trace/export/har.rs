//! HAR 1.2 (the HTTP Archive format a browser's network panel imports and exports): one
//! entry per request, as the client saw it.
//!
//! - `timings` come from the client's spans, in HAR's names: `blocked`, `dns`, `connect`,
//!   `ssl`, `send`, `wait`, `receive`. A phase that did not happen is `-1` (no `dns` when the
//!   resolver's cache answered, no `connect` and `ssl` on a reused connection); `send`, `wait`
//!   and `receive` are never `-1`, as the spec requires. `ssl` lies inside `connect`, as HAR
//!   says, so it is not counted again in `time`.
//! - `time` is the sum of the other timings and equals the request's latency: the few
//!   microseconds between measured phases are counted as `blocked` for answered requests;
//!   for a failed request the unmeasured time goes to the phase it failed in (`dns` for a
//!   name that did not resolve, `connect` for a refused connection or a failed handshake, the
//!   phase after the last one measured for a timeout or a reset).
//! - A request without an HTTP answer has status 0 and an `_error` naming the failure as a
//!   browser would (`net::ERR_CONNECTION_REFUSED`, …).
//! - Headers and bodies come from the captured exchange when the scenario captured them;
//!   otherwise the header lists are empty and sizes that cannot be known are `-1`.
//! - hopscope's own facts (id, outcome, X-Cache, server, client profile) are in `_hopscope`
//!   (HAR allows custom fields that start with an underscore).

use std::borrow::Cow;
use std::io::{self, Write};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::json;

use super::{RunMeta, ms, rfc3339_millis};
use crate::trace::{CacheStatus, Component, Journey, Outcome, Phase};

/// A timing in microseconds; `None` when the phase did not happen (`-1` in HAR).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HarTimings {
    pub blocked: Option<u64>,
    pub dns: Option<u64>,
    pub connect: Option<u64>,
    pub ssl: Option<u64>,
    pub send: u64,
    pub wait: u64,
    pub receive: u64,
}

impl HarTimings {
    /// HAR's `time`: every timing except `ssl` (already inside `connect`).
    pub fn total_micros(&self) -> u64 {
        [self.blocked, self.dns, self.connect]
            .iter()
            .map(|t| t.unwrap_or(0))
            .sum::<u64>()
            + self.send
            + self.wait
            + self.receive
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Blocked,
    Dns,
    Connect,
    Wait,
    Receive,
}

/// The HAR timings of a request, from its client-side spans.
pub fn timings(j: &Journey) -> HarTimings {
    let mut t = HarTimings::default();
    let (mut send, mut wait, mut receive) = (None, None, None);
    let add = |slot: &mut Option<u64>, micros: u64| {
        *slot = Some(slot.unwrap_or(0).saturating_add(micros));
    };
    for s in j.spans.iter().filter(|s| s.component == Component::Client) {
        let d = s.micros();
        match s.phase {
            Phase::Blocked => add(&mut t.blocked, d),
            Phase::Dns => add(&mut t.dns, d),
            Phase::Connect => add(&mut t.connect, d),
            Phase::Ssl => add(&mut t.ssl, d),
            Phase::Send => add(&mut send, d),
            Phase::Wait => add(&mut wait, d),
            Phase::Receive => add(&mut receive, d),
            _ => {}
        }
    }
    // The phase a failed request was in when it failed.
    let last_measured = [
        (receive.is_some(), Slot::Blocked),
        (wait.is_some(), Slot::Receive),
        (send.is_some(), Slot::Wait),
        (t.connect.is_some(), Slot::Wait),
        (t.dns.is_some(), Slot::Connect),
    ]
    .into_iter()
    .find(|(seen, _)| *seen)
    .map(|(_, slot)| slot);
    let slot = match j.outcome {
        Some(Outcome::Status(_)) | None => Slot::Blocked,
        Some(Outcome::DnsFailure) => Slot::Dns,
        Some(Outcome::ConnectionRefused | Outcome::TlsError) => Slot::Connect,
        Some(Outcome::Timeout | Outcome::ConnectionReset | Outcome::Cancelled) => {
            last_measured.unwrap_or(if j.reused { Slot::Wait } else { Slot::Connect })
        }
    };
    t.send = send.unwrap_or(0);
    t.wait = wait.unwrap_or(0);
    t.receive = receive.unwrap_or(0);
    let measured = t.total_micros();
    let gap = j
        .latency_micros()
        .map_or(0, |total| total.saturating_sub(measured));
    if gap > 0 {
        match slot {
            Slot::Blocked => add(&mut t.blocked, gap),
            Slot::Dns => add(&mut t.dns, gap),
            Slot::Connect => add(&mut t.connect, gap),
            Slot::Wait => t.wait += gap,
            Slot::Receive => t.receive += gap,
        }
    }
    t
}

/// A HAR timing in milliseconds, `-1` when the phase did not happen.
struct Ms(Option<u64>);

impl Serialize for Ms {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(micros) => s.serialize_f64(ms(micros)),
            None => s.serialize_i64(-1),
        }
    }
}

/// What a browser calls a failure (Chrome's `net::` error names).
fn browser_error(o: Outcome) -> Option<&'static str> {
    Some(match o {
        Outcome::Status(_) => return None,
        Outcome::DnsFailure => "net::ERR_NAME_NOT_RESOLVED",
        Outcome::ConnectionRefused => "net::ERR_CONNECTION_REFUSED",
        Outcome::ConnectionReset => "net::ERR_CONNECTION_RESET",
        Outcome::Timeout => "net::ERR_TIMED_OUT",
        Outcome::TlsError => "net::ERR_SSL_PROTOCOL_ERROR",
        Outcome::Cancelled => "net::ERR_ABORTED",
    })
}

/// The reason phrase of the status codes hopscope's servers send (RFC 9110).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[derive(Serialize)]
struct NameValue<'a> {
    name: &'a str,
    value: &'a str,
}

fn headers(list: &[(String, String)]) -> Vec<NameValue<'_>> {
    list.iter()
        .map(|(name, value)| NameValue { name, value })
        .collect()
}

fn header<'a>(list: &'a [(String, String)], name: &str) -> Option<&'a str> {
    list.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Bytes of a message head: start line, header lines, and the blank line.
fn head_size(start_line: &str, list: &[(String, String)]) -> i64 {
    let lines: usize = list.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    (start_line.len() + 2 + lines + 2) as i64
}

fn query_string(url: &str) -> Vec<NameValue<'_>> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            NameValue { name, value }
        })
        .collect()
}

fn path_of(url: &str) -> &str {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            rest.find('/').map_or("/", |p| &rest[p..])
        }
        None => url,
    }
}

/// Writes the HAR log.
pub struct HarWriter {
    first: bool,
}

impl HarWriter {
    /// Writes the log's header, up to the start of `entries`.
    pub fn start<W: Write>(out: &mut W, meta: &RunMeta) -> io::Result<HarWriter> {
        let info = &meta.info;
        let mut comment = format!(
            "hopscope scenario `{}`, seed {}, {:.1} s",
            info.scenario,
            info.seed,
            info.duration_micros as f64 / 1e6
        );
        if meta.events_shed > 0 {
            comment.push_str(&format!(
                "; {} detailed trace events were shed under load, so some requests may be missing",
                meta.events_shed
            ));
        }
        if let Some(note) = meta.truncation_note() {
            comment.push_str("; ");
            comment.push_str(&note);
        }
        let truncated = meta.truncated.as_ref().map(|t| {
            json!({
                "reason": t.reason,
                "message": t.message,
                "at_micros": t.at_micros,
                "requests_kept": t.requests_kept,
                "requests_ended": meta.requests_ended.max(t.requests_kept),
            })
        });
        let head = json!({
            "version": "1.2",
            "creator": {"name": "hopscope", "version": env!("CARGO_PKG_VERSION")},
            "pages": [{
                "startedDateTime": rfc3339_millis(info.wall_start_micros),
                "id": "run",
                "title": format!("hopscope: {} (seed {})", info.scenario, info.seed),
                "pageTimings": {"onContentLoad": -1, "onLoad": -1},
            }],
            "comment": comment,
            "_hopscope": {"events_shed": meta.events_shed, "truncated": truncated},
        });
        let text = serde_json::to_string(&head)?;
        // Everything but the closing brace, then the entries.
        let open = text.strip_suffix('}').unwrap_or(&text);
        write!(out, "{{\"log\":{open},\"entries\":[")?;
        Ok(HarWriter { first: true })
    }

    /// Writes one entry.
    pub fn journey<W: Write>(
        &mut self,
        out: &mut W,
        j: &Journey,
        meta: &RunMeta,
    ) -> io::Result<()> {
        out.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut *out, &entry(j, meta))?;
        Ok(())
    }

    /// Closes the log.
    pub fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        writeln!(out, "\n]}}}}")
    }
}

const NONE: &[NameValue<'static>] = &[];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostData<'a> {
    mime_type: &'a str,
    params: &'static [NameValue<'static>],
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    method: &'a str,
    url: Cow<'a, str>,
    http_version: &'static str,
    cookies: &'static [NameValue<'static>],
    headers: Vec<NameValue<'a>>,
    query_string: Vec<NameValue<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_data: Option<PostData<'a>>,
    headers_size: i64,
    body_size: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Content<'a> {
    size: u64,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    status: u16,
    status_text: &'static str,
    http_version: &'static str,
    cookies: &'static [NameValue<'static>],
    headers: Vec<NameValue<'a>>,
    content: Content<'a>,
    #[serde(rename = "redirectURL")]
    redirect_url: &'a str,
    headers_size: i64,
    body_size: i64,
    #[serde(rename = "_error", skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

#[derive(Serialize)]
struct Timings {
    blocked: Ms,
    dns: Ms,
    connect: Ms,
    ssl: Ms,
    send: f64,
    wait: f64,
    receive: f64,
}

#[derive(Serialize)]
struct Hopscope<'a> {
    id: String,
    outcome: Option<String>,
    x_cache: Option<&'static str>,
    served_by: Option<&'a str>,
    client: &'a str,
    profile: &'a str,
    external: bool,
    reused_connection: bool,
    start_micros: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    pageref: &'static str,
    started_date_time: String,
    time: f64,
    request: Request<'a>,
    response: Response<'a>,
    cache: Empty,
    timings: Timings,
    #[serde(rename = "serverIPAddress", skip_serializing_if = "Option::is_none")]
    server_ip_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(rename = "_hopscope")]
    hopscope: Hopscope<'a>,
}

/// `{}`.
struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

fn entry<'a>(j: &'a Journey, meta: &'a RunMeta) -> Entry<'a> {
    let info = &meta.info;
    let t = timings(j);
    let url: Cow<'a, str> = if j.url.contains("://") {
        Cow::Borrowed(&j.url)
    } else {
        Cow::Owned(format!("http://{}{}", info.topology.edge_address, j.url))
    };
    let x = j.exchange.as_deref();
    let no_headers: &[(String, String)] = &[];
    let req_headers = x.map_or(no_headers, |x| &x.request_headers);
    let resp_headers = x.map_or(no_headers, |x| &x.response_headers);
    let status = j.outcome.and_then(Outcome::status);
    let request = Request {
        method: &j.method,
        url,
        http_version: "HTTP/1.1",
        cookies: NONE,
        headers: headers(req_headers),
        query_string: query_string(&j.url),
        post_data: x.filter(|x| !x.request_body.is_empty()).map(|x| PostData {
            mime_type: header(&x.request_headers, "content-type").unwrap_or("application/json"),
            params: NONE,
            text: &x.request_body,
        }),
        headers_size: x.map_or(-1, |x| {
            head_size(
                &format!("{} {} HTTP/1.1", j.method, path_of(&j.url)),
                &x.request_headers,
            )
        }),
        body_size: x.map_or(
            if j.method == "GET" || j.method == "HEAD" {
                0
            } else {
                -1
            },
            |x| x.request_body.len() as i64,
        ),
    };
    let complete_body = x.filter(|x| x.response_body.len() as u64 == j.bytes);
    let content = Content {
        size: j.bytes,
        mime_type: header(resp_headers, "content-type").unwrap_or(if status.is_some() {
            "application/json"
        } else {
            "x-unknown"
        }),
        text: complete_body.map(|x| x.response_body.as_str()),
        comment: (x.is_some() && complete_body.is_none())
            .then_some("only the start of the body was captured"),
    };
    let response = Response {
        status: status.unwrap_or(0),
        status_text: status.map_or("", reason),
        http_version: if status.is_some() { "HTTP/1.1" } else { "" },
        cookies: NONE,
        headers: headers(resp_headers),
        content,
        redirect_url: header(resp_headers, "location").unwrap_or(""),
        headers_size: match (x, status) {
            (Some(x), Some(s)) => {
                head_size(&format!("HTTP/1.1 {s} {}", reason(s)), &x.response_headers)
            }
            _ => -1,
        },
        body_size: if status.is_some() { j.bytes as i64 } else { -1 },
        error: j.outcome.and_then(browser_error),
    };
    Entry {
        pageref: "run",
        started_date_time: rfc3339_millis(info.wall_start_micros.saturating_add(j.start_micros)),
        time: ms(t.total_micros()),
        request,
        response,
        cache: Empty,
        timings: Timings {
            blocked: Ms(t.blocked),
            dns: Ms(t.dns),
            connect: Ms(t.connect),
            ssl: Ms(t.ssl),
            send: ms(t.send),
            wait: ms(t.wait),
            receive: ms(t.receive),
        },
        server_ip_address: (j.outcome != Some(Outcome::DnsFailure))
            .then(|| {
                info.topology
                    .edge_address
                    .rsplit_once(':')
                    .map(|(ip, _)| ip)
            })
            .flatten(),
        comment: j.outcome.map(Outcome::describe),
        hopscope: Hopscope {
            id: j.id.to_string(),
            outcome: j.outcome.map(|o| o.to_string()),
            x_cache: j.cache.map(CacheStatus::as_str),
            served_by: j.served_by.as_deref(),
            client: &j.client,
            profile: &j.profile,
            external: j.external,
            reused_connection: j.reused,
            start_micros: j.start_micros,
        },
    }
}

#[cfg(test)]
#[path = "har_tests.rs"]
mod tests;
