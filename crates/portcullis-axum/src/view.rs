//! Filling core's request view from an `http` request.

use std::net::SocketAddr;
use std::ops::ControlFlow;

use axum::extract::ConnectInfo;
use http::request::Parts;
use http::uri::Scheme;
use http::{HeaderMap, HeaderName, header};
use portcullis_core::request::id::REQUEST_ID_HEADER;
use portcullis_core::request::{ClientCertificateChain, Headers, RequestView};

/// Core's header access over an `http` header map.
pub(crate) struct HeaderView<'a>(pub(crate) &'a HeaderMap);

/// Core's request-id header, parsed once.
static X_REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

impl Headers for HeaderView<'_> {
    fn each_value<'s>(&'s self, name: &str, each: &mut dyn FnMut(&'s [u8]) -> ControlFlow<()>) {
        // The names core reads on every request, already parsed: looked up by `&str`, a name is
        // lowercased and parsed again on each call.
        let values = match name {
            "authorization" => self.0.get_all(header::AUTHORIZATION),
            "content-type" => self.0.get_all(header::CONTENT_TYPE),
            REQUEST_ID_HEADER => self.0.get_all(&X_REQUEST_ID),
            other => self.0.get_all(other),
        };
        // Break only stops the walk: there is nothing to report.
        let _ = values.iter().try_for_each(|v| each(v.as_bytes()));
    }
}

/// The view of a request: the peer from axum's `ConnectInfo<SocketAddr>` (serve with
/// `into_make_service_with_connect_info`), the certificate chain from a
/// [`ClientCertificateChain`] extension put there by the TLS acceptor.
pub(crate) fn view<'a>(parts: &'a Parts, headers: &'a HeaderView<'a>) -> RequestView<'a> {
    let certificates = parts.extensions.get::<ClientCertificateChain>();
    let authority = parts.uri.authority().map(|a| a.as_str());
    RequestView::new(parts.method.as_str(), parts.uri.path(), headers)
        .query(parts.uri.query())
        .authority(authority)
        .secure(parts.uri.scheme() == Some(&Scheme::HTTPS) || certificates.is_some())
        .peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        )
        .client_certificates(certificates)
}

/// Whether the request is gRPC, for the answer on a route without a layer.
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| portcullis_core::render::is_grpc(ct.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

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
            map.append(HeaderName::from_static(name), value.parse().unwrap());
        }
        let view = HeaderView(&map);
        for name in [
            "authorization",
            "content-type",
            REQUEST_ID_HEADER,
            "cookie",
            "dpop",
        ] {
            let text: Vec<Vec<u8>> = map
                .get_all(name)
                .iter()
                .map(|v| v.as_bytes().to_vec())
                .collect();
            assert_eq!(collect(&view, name), text, "{name}");
        }
        assert_eq!(collect(&view, "authorization").len(), 2);
    }
}
