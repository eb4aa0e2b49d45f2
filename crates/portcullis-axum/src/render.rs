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
