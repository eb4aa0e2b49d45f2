use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use portcullis_core::RequestState;
use portcullis_core::state;
use serde::de::DeserializeOwned;

use crate::render::to_response;
use crate::view::is_grpc;

portcullis_core::adapter_extractors!("[`AuthLayer`](crate::AuthLayer)");

impl std::error::Error for ClaimsRejection {}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        to_response(self.0.into_rejection()).map(Body::from)
    }
}

fn found(parts: &Parts) -> (Option<&RequestState>, impl FnOnce() -> bool + '_) {
    (parts.extensions.get::<RequestState>(), || {
        is_grpc(&parts.headers)
    })
}

impl<S: Send + Sync, C: DeserializeOwned + Send> FromRequestParts<S> for Claims<C> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (found, grpc) = found(parts);
        state::claims(found, grpc)
            .map(Claims)
            .map_err(ClaimsRejection)
    }
}

impl<S: Send + Sync, C: DeserializeOwned + Send> OptionalFromRequestParts<S> for Claims<C> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let (found, grpc) = found(parts);
        state::optional_claims(found, grpc)
            .map(|c| c.map(Claims))
            .map_err(ClaimsRejection)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (found, grpc) = found(parts);
        state::authenticated(found, grpc)
            .map(Authenticated)
            .map_err(ClaimsRejection)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let (found, grpc) = found(parts);
        state::optional_principal(found, grpc)
            .map(|p| p.map(Authenticated))
            .map_err(ClaimsRejection)
    }
}
