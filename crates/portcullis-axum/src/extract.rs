use std::ops::Deref;

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use portcullis_core::{AuthError, Verified};
use serde::de::DeserializeOwned;

use crate::layer::{Principal, Rendering, reject_default};

/// The verified token of the request, with its claims as `C`. Derefs to [`Verified<C>`]:
/// `claims.subject()`, `claims.claims()`, `claims.check(&requirement)`.
#[derive(Debug, Clone)]
pub struct Claims<C>(pub Verified<C>);

impl<C> Deref for Claims<C> {
    type Target = Verified<C>;

    fn deref(&self) -> &Verified<C> {
        &self.0
    }
}

/// Why [`Claims`] could not be extracted.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClaimsRejection {
    /// The route has no [`AuthLayer`](crate::AuthLayer): a server bug, answered with 500 and a
    /// message, never with an anonymous user.
    MissingLayer,
    /// No credential (the layer is optional): 401 with the bearer challenge.
    Anonymous(Box<Response>),
    /// The token is valid but its claims do not fit `C`: 401 `invalid_token`.
    ClaimsType(Box<Response>),
}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        match self {
            ClaimsRejection::MissingLayer => {
                let mut response = Response::new(Body::from(
                    "portcullis: Claims used on a route without AuthLayer",
                ));
                *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                response
            }
            ClaimsRejection::Anonymous(response) | ClaimsRejection::ClaimsType(response) => {
                *response
            }
        }
    }
}

pub(crate) fn render(parts: &Parts, error: &AuthError) -> Response {
    let rendered = match parts.extensions.get::<Rendering>() {
        Some(rendering) => rendering.reject(error),
        None => reject_default(error),
    };
    rendered.map(Body::from)
}

fn typed<C: DeserializeOwned>(
    parts: &Parts,
    principal: &Principal,
) -> Result<Claims<C>, ClaimsRejection> {
    principal
        .0
        .typed::<C>()
        .map(Claims)
        .map_err(|e| ClaimsRejection::ClaimsType(Box::new(render(parts, &e))))
}

impl<S: Send + Sync, C: DeserializeOwned + Send> FromRequestParts<S> for Claims<C> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Principal>() {
            Some(principal) => typed(parts, principal),
            None if parts.extensions.get::<Rendering>().is_some() => Err(
                ClaimsRejection::Anonymous(Box::new(render(parts, &AuthError::MissingCredential))),
            ),
            None => Err(ClaimsRejection::MissingLayer),
        }
    }
}

impl<S: Send + Sync, C: DeserializeOwned + Send> OptionalFromRequestParts<S> for Claims<C> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match parts.extensions.get::<Principal>() {
            Some(principal) => typed(parts, principal).map(Some),
            None if parts.extensions.get::<Rendering>().is_some() => Ok(None),
            None => Err(ClaimsRejection::MissingLayer),
        }
    }
}
