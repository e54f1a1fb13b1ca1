//! The `308 Permanent Redirect` that plain HTTP gets when the edge speaks HTTPS.
//!
//! The `Location` always names the edge itself and its TLS port. Its host is one of the
//! edge's own names: the one the request's `Host` named when it is one of them (a name the
//! DNS stub serves, `127.0.0.1`, `localhost`: the names the certificate holds), else the
//! scenario's host name `api.<zone>`. A host the edge does not own is never echoed back:
//! otherwise `Host: evil.com` would make the edge an open redirect to evil.com.

use hyper::header::{HOST, HeaderValue, LOCATION};
use hyper::{Request, Response, StatusCode};

use super::http::{self, Body};

/// Where plain HTTP is sent: the edge's own names and its TLS port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpsRedirect {
    port: u16,
    /// Lowercase, without a trailing dot; the first is used when the request names none.
    own_names: Vec<String>,
}

impl HttpsRedirect {
    /// The redirect to TLS `port` for an edge in `zone` whose names (`api` for `api.<zone>`)
    /// the DNS stub serves.
    pub fn new(port: u16, zone: &str, dns_names: &[String]) -> HttpsRedirect {
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        let mut own_names = vec![format!("api.{zone}")];
        let served = dns_names
            .iter()
            .map(|n| format!("{}.{zone}", n.trim_end_matches('.').to_ascii_lowercase()));
        let loopback = ["127.0.0.1", "localhost"].map(str::to_string);
        for name in served.chain(loopback) {
            if !own_names.contains(&name) {
                own_names.push(name);
            }
        }
        HttpsRedirect { port, own_names }
    }

    /// The TLS port it points at.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host the `Location` names for a request that sent `host` (its `Host` header).
    pub fn location_host(&self, host: Option<&str>) -> &str {
        let asked = host.map(|h| {
            let name = h.rsplit_once(':').map_or(h, |(name, _)| name);
            name.trim_end_matches('.').to_ascii_lowercase()
        });
        asked
            .and_then(|asked| self.own_names.iter().find(|own| **own == asked))
            .unwrap_or(&self.own_names[0])
    }

    /// The `308` for `req`: the same path and query over https on the edge's own name.
    pub fn response<B>(&self, req: &Request<B>) -> Response<Body> {
        let host = req.headers().get(HOST).and_then(|h| h.to_str().ok());
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let location = format!("https://{}:{}{path}", self.location_host(host), self.port);
        let mut resp = http::error(
            StatusCode::PERMANENT_REDIRECT,
            &format!("this service is served over HTTPS: {location}"),
        );
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert(LOCATION, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge() -> HttpsRedirect {
        HttpsRedirect::new(8443, "Example.test.", &["api".into(), "cdn".into()])
    }

    #[test]
    fn own_names_are_kept_and_any_other_host_gets_the_scenario_host_name() {
        let r = edge();
        for (host, expected) in [
            (Some("api.example.test:8080"), "api.example.test"),
            (Some("CDN.example.test"), "cdn.example.test"),
            (Some("127.0.0.1:41001"), "127.0.0.1"),
            (Some("localhost"), "localhost"),
            (Some("evil.com"), "api.example.test"),
            (Some("evil.com:8443"), "api.example.test"),
            (Some("api.example.test.evil.com"), "api.example.test"),
            (Some("static.example.test"), "api.example.test"),
            (Some("[::1]:80"), "api.example.test"),
            (Some(""), "api.example.test"),
            (None, "api.example.test"),
        ] {
            assert_eq!(r.location_host(host), expected, "{host:?}");
        }
    }

    #[test]
    fn the_308_keeps_the_path_and_query_and_names_the_tls_port() {
        let req = Request::builder()
            .uri("/users/1?x=2")
            .header(HOST, "evil.com:80")
            .body(())
            .expect("request");
        let resp = edge().response(&req);
        assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            resp.headers()[LOCATION],
            "https://api.example.test:8443/users/1?x=2"
        );
    }
}
