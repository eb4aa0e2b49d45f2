use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use portcullis_core::render::Rejection;

/// A core [`Rejection`] as an `http` response.
pub(crate) fn to_response(rejection: Rejection) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(rejection.body));
    *response.status_mut() =
        StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::UNAUTHORIZED);
    append_headers(response.headers_mut(), rejection.headers);
    response
}

/// Appends core's headers; one that is not a valid HTTP header (a custom renderer's) is
/// dropped, never a panic.
pub(crate) fn append_headers(map: &mut HeaderMap, headers: Vec<(&'static str, String)>) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            map.append(name, value);
        }
    }
}

/// The axum response for a core [`Rejection`]: what a handler returns when it checks a
/// requirement itself, because the requirement depends on the request's body (an MCP tool
/// call, a GraphQL field), with [`RequestState::require`](portcullis_core::RequestState::require).
///
/// ```no_run
/// use axum::Extension;
/// use axum::response::{IntoResponse, Response};
/// use portcullis_core::RequestState;
/// use portcullis_core::authz::scope;
///
/// async fn call(Extension(state): Extension<RequestState>) -> Response {
///     if let Err(rejection) = state.require(&scope("tools:echo")) {
///         return portcullis_axum::respond(rejection);
///     }
///     "called".into_response()
/// }
/// ```
pub fn respond(rejection: Rejection) -> axum_core::response::Response {
    to_response(rejection).map(axum_core::body::Body::from)
}
