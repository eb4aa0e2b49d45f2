//! Filling core's request view from an `http` request.

use std::net::SocketAddr;
use std::ops::ControlFlow;

use axum::extract::ConnectInfo;
use http::request::Parts;
use http::uri::Scheme;
use http::{HeaderMap, header};
use portcullis_core::request::{ClientCertificateChain, Headers, RequestView};

/// Core's header access over an `http` header map.
pub(crate) struct HeaderView<'a>(pub(crate) &'a HeaderMap);

impl Headers for HeaderView<'_> {
    fn each_value<'s>(&'s self, name: &str, each: &mut dyn FnMut(&'s [u8]) -> ControlFlow<()>) {
        // Break only stops the walk: there is nothing to report.
        let _ = self
            .0
            .get_all(name)
            .iter()
            .try_for_each(|v| each(v.as_bytes()));
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
