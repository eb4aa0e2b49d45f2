//! Rendering a rejection as a framework-neutral response, shared by every adapter so that two
//! frameworks answer the same request with the same bytes.

use std::fmt;
use std::sync::Arc;

use crate::challenge::{Challenge, ChallengeOptions};
use crate::error::AuthError;
use crate::request::context::RequestContext;

/// A rejection, ready for an adapter to turn into its framework's response type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// HTTP status.
    pub status: u16,
    /// Response headers (names in lowercase).
    pub headers: Vec<(&'static str, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

impl Rejection {
    /// A response with this status, headers (lowercase names; an adapter drops one that is not
    /// a valid HTTP header) and body.
    pub fn new(status: u16, headers: Vec<(&'static str, String)>, body: Vec<u8>) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }
}

/// Turns a rejection into a response. Implement it to change the body or add headers; the
/// status and `WWW-Authenticate` decided by core are in `challenge`.
pub trait Renderer: Send + Sync + 'static {
    /// The response for `error`, rendered as `challenge`.
    fn render(&self, error: &AuthError, challenge: &Challenge) -> Rejection;
}

/// The default renderer: status, `WWW-Authenticate`, `Retry-After` on 503, and an RFC 9457
/// `application/problem+json` body with the status title and the RFC 6750 error code only
/// (no reason codes, no parser messages).
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)] // a unit struct: naming it is how it is used
pub struct ProblemJson;

impl Renderer for ProblemJson {
    fn render(&self, _error: &AuthError, challenge: &Challenge) -> Rejection {
        let mut body = serde_json::Map::new();
        body.insert("type".into(), "about:blank".into());
        body.insert("title".into(), title(challenge.status).into());
        body.insert("status".into(), challenge.status.into());
        if let Some(code) = challenge.error {
            body.insert("error".into(), code.into());
        }
        let mut headers = vec![("content-type", "application/problem+json".to_owned())];
        if let Some(value) = &challenge.www_authenticate {
            headers.push(("www-authenticate", value.clone()));
        }
        if let Some(secs) = challenge.retry_after {
            headers.push(("retry-after", secs.to_string()));
        }
        Rejection {
            status: challenge.status,
            headers,
            body: serde_json::Value::Object(body).to_string().into_bytes(),
        }
    }
}

/// The gRPC form of a rejection (gRPC over HTTP/2 carries errors in trailers-only responses, not
/// HTTP statuses): HTTP 200, `content-type: application/grpc`, `grpc-status` mapped from the
/// HTTP status (401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 400 INVALID_ARGUMENT,
/// 503 UNAVAILABLE), a terse `grpc-message`, and the same `WWW-Authenticate`.
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)] // a unit struct: naming it is how it is used
pub struct Grpc;

impl Renderer for Grpc {
    fn render(&self, _error: &AuthError, challenge: &Challenge) -> Rejection {
        let (code, message) = match challenge.status {
            400 => (3, "invalid request"),
            403 => (7, "insufficient scope"),
            503 => (14, "authentication unavailable"),
            _ => (16, "unauthenticated"),
        };
        let mut headers = vec![
            ("content-type", "application/grpc".to_owned()),
            ("grpc-status", code.to_string()),
            ("grpc-message", message.to_owned()),
        ];
        if let Some(value) = &challenge.www_authenticate {
            headers.push(("www-authenticate", value.clone()));
        }
        Rejection {
            status: 200,
            headers,
            body: Vec::new(),
        }
    }
}

/// How one authenticator renders its rejections: challenge options and renderer, shared with
/// the request state of every request it decided.
#[derive(Clone)]
pub(crate) struct Rendering {
    pub(crate) challenge: ChallengeOptions,
    pub(crate) renderer: Arc<dyn Renderer>,
}

impl fmt::Debug for Rendering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendering")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Rendering {
    /// The response for `error`. A gRPC request gets the gRPC form whatever renderer is
    /// configured: its client cannot read an HTTP body.
    pub(crate) fn reject(&self, error: &AuthError, request: &RequestContext) -> Rejection {
        let challenge = Challenge::for_scheme(error, &self.challenge, request.dpop);
        if request.grpc {
            Grpc.render(error, &challenge)
        } else {
            self.renderer.render(error, &challenge)
        }
    }
}

/// The answer when a portcullis extractor or requirement runs on a route that no authenticator
/// (layer, middleware) covers: a server bug, so 500 (gRPC `INTERNAL`), never an anonymous
/// caller. The body says what is wrong; it reveals nothing about any request.
pub(crate) fn no_authenticator(grpc: bool) -> Rejection {
    if grpc {
        return Rejection {
            status: 200,
            headers: vec![
                ("content-type", "application/grpc".to_owned()),
                ("grpc-status", "13".to_owned()),
                (
                    "grpc-message",
                    "authentication is not configured".to_owned(),
                ),
            ],
            body: Vec::new(),
        };
    }
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "portcullis: this route has no authenticator (add the layer or middleware)",
    });
    Rejection {
        status: 500,
        headers: vec![("content-type", "application/problem+json".to_owned())],
        body: body.to_string().into_bytes(),
    }
}

/// Whether a request's `content-type` is gRPC (`application/grpc`, `application/grpc+proto`, ...):
/// its rejections must be rendered by [`Grpc`].
pub fn is_grpc(content_type: &[u8]) -> bool {
    content_type
        .get(..16)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"application/grpc"))
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::ChallengeOptions;
    use crate::error::Reason;
    use std::time::Duration;

    #[test]
    fn grpc() {
        let error = AuthError::MissingCredential;
        let r = Grpc.render(
            &error,
            &Challenge::from_error(&error, &ChallengeOptions::default()),
        );
        assert_eq!(r.status, 200);
        assert!(r.headers.contains(&("grpc-status", "16".into())));
        assert!(is_grpc(b"application/grpc") && is_grpc(b"Application/GRPC+proto"));
        assert!(!is_grpc(b"application/json") && !is_grpc(b"application/grp"));
    }

    #[test]
    fn problem_json() {
        let error = AuthError::Unavailable {
            reason: Reason::KeysUnavailable,
            retry_after: Duration::from_secs(30),
        };
        let r = ProblemJson.render(
            &error,
            &Challenge::from_error(&error, &ChallengeOptions::default()),
        );
        assert_eq!(r.status, 503);
        assert!(r.headers.contains(&("retry-after", "30".into())));
        assert_eq!(
            r.body,
            br#"{"status":503,"title":"Service Unavailable","type":"about:blank"}"#
        );
        let error = AuthError::InvalidToken(Reason::Expired);
        let r = ProblemJson.render(
            &error,
            &Challenge::from_error(&error, &ChallengeOptions::default()),
        );
        assert!(!String::from_utf8(r.body).unwrap().contains("expired"));
    }
}
