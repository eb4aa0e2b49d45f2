use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use portcullis_core::RequestState;
use portcullis_core::state::{self, Refusal};
use serde::de::DeserializeOwned;

use crate::middleware::to_response;
use crate::view::is_grpc;

portcullis_core::adapter_extractors!("[`Authenticate`](crate::Authenticate)");

impl ResponseError for ClaimsRejection {
    fn error_response(&self) -> HttpResponse {
        to_response(self.0.rejection().clone())
    }
}

fn decide<T>(
    request: &HttpRequest,
    f: impl FnOnce(Option<&RequestState>, &dyn Fn() -> bool) -> Result<T, Refusal>,
) -> Ready<Result<T, ClaimsRejection>> {
    let extensions = request.extensions();
    let grpc = || is_grpc(request);
    ready(f(extensions.get::<RequestState>(), &grpc).map_err(ClaimsRejection))
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
