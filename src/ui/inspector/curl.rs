//! "Copy as cURL": a command that really reproduces a request against the running edge —
//! the same method, path, credentials, content type and body — with `--resolve` so the
//! zone's name reaches the local edge, and `--cacert` for HTTPS. Hop-internal headers
//! (trace context, the run's hop mark) are left out: a curl request is outside traffic and
//! gets its own journey.

use crate::engine::Addresses;
use crate::trace::Journey;

/// Headers a reproduction leaves out: curl sets them itself, or they belong to one hop.
const SKIPPED: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "traceparent",
    "x-hopscope-hop",
    "user-agent",
];

/// Quotes `text` for a POSIX shell.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Splits a URL into scheme, host and path-with-query (a bare path has neither).
fn split_url(url: &str) -> (Option<&str>, Option<&str>, &str) {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest
                .find('/')
                .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
            let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
            (Some(scheme), Some(host), path)
        }
        None => (None, None, url),
    }
}

/// The command, or `None` when the edge has no address to send it to.
pub fn curl_command(journey: &Journey, addresses: &Addresses) -> Option<String> {
    let (scheme, host, path) = split_url(&journey.url);
    let host = host.map_or_else(|| format!("api.{}", addresses.zone), str::to_string);
    let https = scheme == Some("https") && addresses.edge_tls.is_some();
    let edge = if https {
        addresses.edge_tls.as_deref()?
    } else {
        addresses.edge.as_str()
    };
    let (ip, port) = edge.rsplit_once(':')?;
    let mut parts = vec!["curl".to_string(), "-i".to_string()];
    parts.push("--resolve".into());
    parts.push(shell_quote(&format!("{host}:{port}:{ip}")));
    if https && let Some(ca) = &addresses.ca_cert {
        parts.push("--cacert".into());
        parts.push(shell_quote(ca));
    }
    let body = journey
        .exchange
        .as_ref()
        .map(|x| x.request_body.as_str())
        .unwrap_or("");
    // curl sends GET, or POST when there is a body; any other method is named.
    let implied = journey.method == "GET" || (journey.method == "POST" && !body.is_empty());
    if !implied {
        parts.push("-X".into());
        parts.push(journey.method.clone());
    }
    if let Some(x) = &journey.exchange {
        for (name, value) in &x.request_headers {
            if !SKIPPED.contains(&name.to_ascii_lowercase().as_str()) {
                parts.push("-H".into());
                parts.push(shell_quote(&format!("{name}: {value}")));
            }
        }
    }
    if !body.is_empty() {
        parts.push("--data-raw".into());
        parts.push(shell_quote(body));
    }
    let scheme = if https { "https" } else { "http" };
    parts.push(shell_quote(&format!("{scheme}://{host}:{port}{path}")));
    Some(parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Tokens;
    use crate::trace::Exchange;

    fn addresses(tls: bool) -> Addresses {
        Addresses {
            dns: "127.0.0.1:5300".into(),
            edge: "127.0.0.1:8080".into(),
            edge_tls: tls.then(|| "127.0.0.1:8443".into()),
            ca_cert: tls.then(|| "/tmp/hop/ca.pem".into()),
            cdn: Some("127.0.0.1:8080".into()),
            lb: "127.0.0.1:8081".into(),
            servers: vec![],
            zone: "example.test".into(),
            tokens: Tokens {
                allowed: "a".into(),
                forbidden: "f".into(),
            },
        }
    }

    fn journey(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Journey {
        Journey {
            method: method.into(),
            url: url.into(),
            exchange: Some(Box::new(Exchange {
                request_headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                request_body: body.into(),
                ..Exchange::default()
            })),
            ..Journey::default()
        }
    }

    #[test]
    fn a_post_keeps_its_credentials_type_and_body_and_drops_hop_headers() {
        let j = journey(
            "POST",
            "http://api.example.test:8080/orders",
            &[
                ("host", "api.example.test:8080"),
                ("traceparent", "00-abc-def-01"),
                ("x-hopscope-hop", "secret"),
                ("authorization", "Bearer letmein"),
                ("content-type", "application/json"),
            ],
            r#"{"note": "it's"}"#,
        );
        let cmd = curl_command(&j, &addresses(false)).expect("command");
        assert_eq!(
            cmd,
            r#"curl -i --resolve 'api.example.test:8080:127.0.0.1' -H 'authorization: Bearer letmein' -H 'content-type: application/json' --data-raw '{"note": "it'\''s"}' 'http://api.example.test:8080/orders'"#
        );
    }

    #[test]
    fn https_requests_go_to_the_tls_edge_with_the_ca_and_outside_paths_get_the_zone_host() {
        let j = journey("DELETE", "https://api.example.test:8443/users/3", &[], "");
        let cmd = curl_command(&j, &addresses(true)).expect("command");
        assert!(
            cmd.contains("--cacert '/tmp/hop/ca.pem'") && cmd.contains("-X DELETE"),
            "{cmd}"
        );
        assert!(
            cmd.ends_with("'https://api.example.test:8443/users/3'"),
            "{cmd}"
        );
        let outside = journey("GET", "/users/1?x=1", &[], "");
        let cmd = curl_command(&outside, &addresses(false)).expect("command");
        assert!(
            cmd.ends_with("'http://api.example.test:8080/users/1?x=1'"),
            "{cmd}"
        );
    }
}
