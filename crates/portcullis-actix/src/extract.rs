use std::fmt;
use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use portcullis_core::state::{self, Refusal};
use portcullis_core::{Principal, RequestState, Verified};
use serde::de::DeserializeOwned;

use crate::middleware::to_response;
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
/// claims.
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
/// [`Authenticate`](crate::Authenticate) (a server bug, never an anonymous user).
#[derive(Debug, Clone)]
#[allow(clippy::exhaustive_structs)] // a newtype over core's `Refusal`, itself non-exhaustive
pub struct ClaimsRejection(pub Refusal);

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ClaimsRejection {
    fn error_response(&self) -> HttpResponse {
        to_response(self.0.rejection().clone())
    }
}

fn decide<T>(
    request: &HttpRequest,
    f: impl FnOnce(Option<&RequestState>, bool) -> Result<T, Refusal>,
) -> Ready<Result<T, ClaimsRejection>> {
    let extensions = request.extensions();
    ready(f(extensions.get::<RequestState>(), is_grpc(request)).map_err(ClaimsRejection))
}

impl<C: DeserializeOwned> FromRequest for Claims<C> {
    type Error = ClaimsRejection;
    type Future = Ready<Result<Self, ClaimsRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        decide(request, |found, grpc| {
            state::claims(found, grpc).map(Claims)
        })
    }
}

impl FromRequest for Authenticated {
    type Error = ClaimsRejection;
    type Future = Ready<Result<Self, ClaimsRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        decide(request, |found, grpc| {
            state::authenticated(found, grpc).map(Authenticated)
        })
    }
}
