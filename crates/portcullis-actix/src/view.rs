//! Filling core's request view from an actix request.

use std::ops::ControlFlow;

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap};
use portcullis_core::request::{ClientCertificateChain, Headers, RequestView};

/// Core's header access over actix's header map.
pub(crate) struct HeaderView<'a>(pub(crate) &'a HeaderMap);

impl Headers for HeaderView<'_> {
    fn each_value<'s>(&'s self, name: &str, each: &mut dyn FnMut(&'s [u8]) -> ControlFlow<()>) {
        // Break only stops the walk: there is nothing to report.
        let _ = self.0.get_all(name).try_for_each(|v| each(v.as_bytes()));
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
