//! The OpenID back-channel logout handler: a POST handler over core's [`BackChannelLogout`],
//! which decides the answer.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use portcullis_core::logout::BackChannelLogout;

use crate::middleware::to_response;

/// The handler a provider POSTs logout tokens to (the client's `backchannel_logout_uri`), with
/// the receiver as app data: 200, 400 or 503, with `Cache-Control: no-store`. Mount it outside
/// [`Authenticate`](crate::Authenticate): the provider authenticates by the logout token's
/// signature, not with an access token.
///
/// ```no_run
/// # fn app(logout: portcullis_core::logout::BackChannelLogout) {
/// use actix_web::{App, web};
/// let app = App::new()
///     .app_data(web::Data::new(logout))
///     .route("/backchannel-logout", web::post().to(portcullis_actix::backchannel_logout));
/// # let _ = app;
/// # }
/// ```
pub async fn backchannel_logout(
    logout: web::Data<BackChannelLogout>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    to_response(logout.respond(content_type, &body).await)
}
