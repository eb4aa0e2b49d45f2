use std::fmt;
use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use portcullis_core::render::Rejection;
use portcullis_core::{AuthError, Verified};
use serde::de::DeserializeOwned;

use crate::middleware::{Principal, Rendering, to_response};
use portcullis_core::authenticator::reject_unconfigured;

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
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClaimsRejection {
    /// The route has no [`Authenticate`](crate::Authenticate) middleware: a server bug,
    /// answered with 500 and a message, never with an anonymous user.
    MissingMiddleware,
    /// No credential (optional middleware), or claims that do not fit `C`: the rendered answer.
    Rejected(Rejection),
}

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimsRejection::MissingMiddleware => {
                f.write_str("portcullis: Claims used on a route without Authenticate")
            }
            ClaimsRejection::Rejected(r) => write!(f, "request rejected with {}", r.status),
        }
    }
}

impl ResponseError for ClaimsRejection {
    fn error_response(&self) -> HttpResponse {
        match self {
            ClaimsRejection::MissingMiddleware => {
                HttpResponse::InternalServerError().body(self.to_string())
            }
            ClaimsRejection::Rejected(rejection) => to_response(rejection.clone()),
        }
    }
}

pub(crate) fn rejection(request: &HttpRequest, error: &AuthError) -> Rejection {
    match request.extensions().get::<Rendering>() {
        Some(rendering) => rendering.rejection(error),
        None => reject_unconfigured(error),
    }
}

impl<C: DeserializeOwned> FromRequest for Claims<C> {
    type Error = ClaimsRejection;
    type Future = Ready<Result<Self, ClaimsRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = request.extensions().get::<Principal>().cloned();
        let outcome = match principal {
            Some(Principal(verified)) => verified
                .typed::<C>()
                .map(Claims)
                .map_err(|e| ClaimsRejection::Rejected(rejection(request, &e))),
            None if request.extensions().get::<Rendering>().is_some() => Err(
                ClaimsRejection::Rejected(rejection(request, &AuthError::MissingCredential)),
            ),
            None => Err(ClaimsRejection::MissingMiddleware),
        };
        ready(outcome)
    }
}
