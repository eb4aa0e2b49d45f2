use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use portcullis_core::{AuthError, Challenge};

/// Turns a rejection into a response. Implement it to change the body or add headers; the
/// status and `WWW-Authenticate` decided by core are in `challenge`.
pub trait Renderer: Send + Sync + 'static {
    /// The response for `error`, rendered as `challenge`.
    fn render(&self, error: &AuthError, challenge: &Challenge) -> Response<Bytes>;
}

/// The default renderer: status, `WWW-Authenticate`, `Retry-After` on 503, and an RFC 9457
/// `application/problem+json` body with the title of the status and the RFC 6750 error code
/// (no reason codes, no parser messages).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemJson;

impl Renderer for ProblemJson {
    fn render(&self, _error: &AuthError, challenge: &Challenge) -> Response<Bytes> {
        let status = StatusCode::from_u16(challenge.status).unwrap_or(StatusCode::UNAUTHORIZED);
        let mut body = serde_json::Map::new();
        body.insert("type".into(), "about:blank".into());
        body.insert(
            "title".into(),
            status.canonical_reason().unwrap_or("Error").into(),
        );
        body.insert("status".into(), challenge.status.into());
        if let Some(code) = challenge.error {
            body.insert("error".into(), code.into());
        }
        let body = serde_json::Value::Object(body);
        let mut response = Response::new(Bytes::from(body.to_string()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(value) = challenge
            .www_authenticate
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(secs) = challenge.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
