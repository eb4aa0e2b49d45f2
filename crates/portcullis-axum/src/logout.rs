//! The OpenID back-channel logout route: a POST handler over core's [`BackChannelLogout`],
//! which decides the answer.

use axum::routing::MethodRouter;
use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use portcullis_core::logout::BackChannelLogout;

use crate::render::to_response;

/// The route a provider POSTs logout tokens to (the client's `backchannel_logout_uri`):
/// 200, 400 or 503, with `Cache-Control: no-store`. Serve it without [`AuthLayer`](crate::AuthLayer):
/// the provider authenticates by the logout token's signature, not with an access token.
///
/// ```no_run
/// # fn app(logout: portcullis_core::logout::BackChannelLogout) -> axum::Router {
/// axum::Router::new().route("/backchannel-logout", portcullis_axum::backchannel_logout(logout))
/// # }
/// ```
pub fn backchannel_logout<S>(logout: BackChannelLogout) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        to_response(logout.respond(content_type, &body).await).map(axum::body::Body::from)
    })
}
