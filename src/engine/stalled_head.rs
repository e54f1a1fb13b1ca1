//! How a connection ends once hyper is done with it, and the `408 Request Timeout` a request
//! head that stalls gets before its connection closes.
//!
//! hyper's http1 server enforces the head deadline (`header_read_timeout`) but closes the
//! connection silently when it passes: its automatic answers cover parse errors only. So the
//! listener runs each connection without hyper's shutdown, takes the stream back, and when
//! the deadline passed with part of a head already received, writes one fixed `408` (with
//! `connection: close`) here. Nothing is parsed here: the answer does not depend on what
//! arrived. A connection that sent nothing (a pre-opened or idle keep-alive connection) is
//! closed without an answer, as browsers expect.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::scenario::Dur;

/// How long closing may take: writing the answer, the shutdown, and reading what the peer
/// still sends so the answer is not lost to a reset (a lingering close).
const LINGER: Duration = Duration::from_secs(1);

/// The `408` a request head that has not arrived whole within `after` gets.
pub fn head_timeout_response(after: Duration) -> Vec<u8> {
    let body = serde_json::json!({
        "error": format!("the request head did not arrive whole within {}", Dur(after)),
        "status": 408,
    })
    .to_string();
    let mut wire = format!(
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    wire.extend_from_slice(body.as_bytes());
    wire
}

/// Ends a connection hyper is done with: when `stalled_after` is set, a head was cut short
/// by the deadline and gets the `408` first. Then the write side is shut down (TLS sends its
/// close_notify) and what the peer still sends is read and dropped until it closes, for at
/// most [`LINGER`] in all.
pub async fn close<S>(mut stream: S, stalled_after: Option<Duration>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(LINGER, async {
        if let Some(after) = stalled_after {
            stream.write_all(&head_timeout_response(after)).await?;
            stream.flush().await?;
        }
        stream.shutdown().await?;
        if stalled_after.is_some() {
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_408_is_one_whole_response_that_closes_the_connection() {
        let wire = String::from_utf8(head_timeout_response(Duration::from_secs(10))).expect("text");
        let (head, body) = wire.split_once("\r\n\r\n").expect("head and body");
        assert!(
            head.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nconnection: close"), "{head}");
        assert!(
            head.contains(&format!("\r\ncontent-length: {}", body.len())),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_str(body).expect("json body");
        assert_eq!(json["status"], 408);
        assert!(
            json["error"].as_str().is_some_and(|e| e.contains("10s")),
            "{json}"
        );
    }
}
