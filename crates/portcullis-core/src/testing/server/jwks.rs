//! `GET /jwks.json`: the current key set with an `ETag`, or the misbehaviour asked for.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Shared, read};

/// How the JWKS endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksMode {
    /// 200 with the current document, an `ETag`, and 304 for a matching `If-None-Match`.
    Normal,
    /// This status and an empty body.
    Status(u16),
    /// Never answers (until the client gives up).
    Hang,
    /// 200, `application/json`, and a body that is not JSON.
    Garbage,
    /// 200 with a 1 MiB JSON body.
    Huge,
    /// 200 with the document but `Content-Type: text/html`.
    WrongContentType,
    /// 302 to this location.
    Redirect(String),
    /// Starts a 200 JSON body, then aborts the connection mid-body.
    DropConnection,
}

/// A body that sends a first chunk and then fails, which makes the server abort the connection.
struct Truncated {
    sent: bool,
}

impl http_body::Body for Truncated {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        if self.sent {
            return std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "dropped on purpose",
            ))));
        }
        self.sent = true;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from_static(
            b"{\"keys\": [",
        )))))
    }
}

pub(super) async fn jwks(State(s): State<Shared>, headers: HeaderMap) -> Response {
    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let doc = read(&s.jwks).to_string();
    let etag = format!("\"{:x}\"", fnv(doc.as_bytes()));
    let json = HeaderValue::from_static("application/json");
    match read(&s.mode) {
        JwksMode::Normal => {
            let mut response = if headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some(etag.as_str())
            {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                ([(header::CONTENT_TYPE, json)], doc).into_response()
            };
            if let Ok(etag) = HeaderValue::from_str(&etag) {
                response.headers_mut().insert(header::ETAG, etag);
            }
            if let Some(cc) = read(&s.cache_control).and_then(|cc| HeaderValue::from_str(&cc).ok())
            {
                response.headers_mut().insert(header::CACHE_CONTROL, cc);
            }
            response
        }
        JwksMode::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        JwksMode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        JwksMode::Garbage => ([(header::CONTENT_TYPE, json)], "{\"keys\": [oops").into_response(),
        JwksMode::Huge => {
            let padding = "x".repeat(1024 * 1024);
            (
                [(header::CONTENT_TYPE, json)],
                format!("{{\"keys\":[],\"pad\":\"{padding}\"}}"),
            )
                .into_response()
        }
        JwksMode::WrongContentType => (
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
            doc,
        )
            .into_response(),
        JwksMode::DropConnection => (
            [(header::CONTENT_TYPE, json)],
            axum::body::Body::new(Truncated { sent: false }),
        )
            .into_response(),
        JwksMode::Redirect(to) => match HeaderValue::from_str(&to) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    }
}

/// FNV-1a: a stable ETag without a hashing dependency.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
