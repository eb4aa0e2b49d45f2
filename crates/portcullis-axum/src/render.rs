use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use portcullis_core::render::Rejection;

/// A core [`Rejection`] as an `http` response.
pub(crate) fn to_response(rejection: Rejection) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(rejection.body));
    *response.status_mut() =
        StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::UNAUTHORIZED);
    // A custom renderer's header that is not a valid HTTP header is dropped, never a panic.
    for (name, value) in rejection.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
