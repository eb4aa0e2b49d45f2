use std::fmt;
use std::ops::Deref;

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use portcullis_core::state::{self, Refusal};
use portcullis_core::{Principal, RequestState, Verified};
use serde::de::DeserializeOwned;

use crate::render::to_response;
use crate::view::is_grpc;

/// The verified token of the request, with its claims as `C`. Derefs to [`Verified<C>`]:
/// `claims.subject()`, `claims.claims()`, `claims.check(&requirement)`.
#[derive(Debug, Clone)]
#[allow(clippy::exhaustive_structs)] // an extractor: destructured in a handler's arguments
pub struct Claims<C>(pub Verified<C>);

impl<C> Deref for Claims<C> {
    type Target = Verified<C>;

    fn deref(&self) -> &Verified<C> {
        &self.0
    }
}

/// The authenticated caller, whatever the kind of credential: scopes, permissions, roles,
/// claims. `Option<Authenticated>` is `None` for an anonymous request (optional layer).
#[derive(Debug, Clone)]
#[allow(clippy::exhaustive_structs)] // an extractor: destructured in a handler's arguments
pub struct Authenticated(pub Principal);

impl Deref for Authenticated {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

/// Why [`Claims`] or [`Authenticated`] could not be extracted, as core decided it: 401 for an
/// anonymous request, 401 `invalid_token` for claims that do not fit `C`, 500 on a route without
/// [`AuthLayer`](crate::AuthLayer) (a server bug, never an anonymous user). Rendered like every
/// rejection of the layer, gRPC form included.
#[derive(Debug, Clone)]
#[allow(clippy::exhaustive_structs)] // a newtype over core's `Refusal`, itself non-exhaustive
pub struct ClaimsRejection(pub Refusal);

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ClaimsRejection {}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        to_response(self.0.into_rejection()).map(Body::from)
    }
}

fn found(parts: &Parts) -> (Option<&RequestState>, bool) {
    (
        parts.extensions.get::<RequestState>(),
        is_grpc(&parts.headers),
    )
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
