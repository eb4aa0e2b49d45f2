//! Filling core's request view from an actix request.

use std::ops::ControlFlow;

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap, HeaderName};
use portcullis_core::request::id::REQUEST_ID_HEADER;
use portcullis_core::request::{ClientCertificateChain, Headers, RequestView};

/// Core's header access over actix's header map.
pub(crate) struct HeaderView<'a>(pub(crate) &'a HeaderMap);

/// Core's request-id header, parsed once.
static X_REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

impl Headers for HeaderView<'_> {
    fn each_value<'s>(&'s self, name: &str, each: &mut dyn FnMut(&'s [u8]) -> ControlFlow<()>) {
        // The names core reads on every request, already parsed: looked up by `&str`, a name is
        // parsed again on each call.
        let mut values = match name {
            "authorization" => self.0.get_all(header::AUTHORIZATION),
            "content-type" => self.0.get_all(header::CONTENT_TYPE),
            REQUEST_ID_HEADER => self.0.get_all(&X_REQUEST_ID),
            other => self.0.get_all(other),
        };
        // Break only stops the walk: there is nothing to report.
        let _ = values.try_for_each(|v| each(v.as_bytes()));
    }
}

/// The view of a request: the scheme from the server's own binding (`app_config().secure()`,
/// never actix's `connection_info`, which believes forwarding headers from anyone), the peer
/// from the connection, the certificate chain from a [`ClientCertificateChain`] the TLS
/// `on_connect` hook stored as connection data.
pub(crate) fn view<'a>(
    request: &'a HttpRequest,
    headers: &'a HeaderView<'a>,
    certificates: Option<&'a ClientCertificateChain>,
) -> RequestView<'a> {
    let authority = request.uri().authority().map(|a| a.as_str());
    RequestView::new(request.method().as_str(), request.path(), headers)
        .query(Some(request.query_string()))
        .authority(authority)
        .secure(request.app_config().secure() || certificates.is_some())
        .peer(request.peer_addr())
        .client_certificates(certificates)
}

/// Whether the request is gRPC, for the answer on a route without the middleware.
pub(crate) fn is_grpc(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| portcullis_core::render::is_grpc(ct.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::http::header::HeaderValue;

    use super::*;

    fn collect(headers: &HeaderView<'_>, name: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        headers.each_value(name, &mut |v| {
            out.push(v.to_vec());
            ControlFlow::Continue(())
        });
        out
    }

    /// The pre-parsed names find exactly what a lookup by the name's text finds, every value
    /// of a repeated header in order.
    #[test]
    fn parsed_names_read_like_text() {
        let mut map = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer a"),
            ("authorization", "Bearer b"),
            ("content-type", "application/grpc"),
            ("x-request-id", "req-1"),
            ("cookie", "a=b"),
        ] {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let view = HeaderView(&map);
        for name in [
            "authorization",
            "content-type",
            REQUEST_ID_HEADER,
            "cookie",
            "dpop",
        ] {
            let text: Vec<Vec<u8>> = map.get_all(name).map(|v| v.as_bytes().to_vec()).collect();
            assert_eq!(collect(&view, name), text, "{name}");
        }
        assert_eq!(collect(&view, "authorization").len(), 2);
    }
}
