use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::{StatusCode, header};
use actix_web::{Error, HttpMessage, HttpResponse};
use portcullis_core::authenticator::{Authenticator, Outcome};
use portcullis_core::challenge::ChallengeOptions;
use portcullis_core::credential::{BearerRules, RequestParts};
use portcullis_core::render::{Rejection, Renderer};
use portcullis_core::{AuthError, Verified, Verifier};
use serde::de::IgnoredAny;

/// The verified token of a request, put in its extensions by [`Authenticate`].
#[derive(Clone)]
pub(crate) struct Principal(pub(crate) Arc<Verified<IgnoredAny>>);

/// The authenticator of this request, for the extractor's and `require`'s rejections.
#[derive(Clone)]
pub(crate) struct Rendering(pub(crate) Authenticator);

impl Rendering {
    pub(crate) fn rejection(&self, error: &AuthError) -> Rejection {
        self.0.reject(error, false)
    }
}

/// A core [`Rejection`] as an actix response.
pub(crate) fn to_response(rejection: Rejection) -> HttpResponse {
    let status = StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::build(status);
    // A custom renderer's header that is not a valid HTTP header is dropped, as in the axum
    // adapter (actix would otherwise turn the whole answer into a 500).
    for (name, value) in rejection.headers {
        if let (Ok(name), Ok(value)) = (
            actix_web::http::header::HeaderName::from_bytes(name.as_bytes()),
            actix_web::http::header::HeaderValue::from_str(&value),
        ) {
            response.append_header((name, value));
        }
    }
    response.body(rejection.body)
}

/// Authenticates every request with a [`Verifier`]: a thin wrapper over core's
/// [`Authenticator`], which makes every decision. See the crate docs.
#[derive(Clone, Debug)]
pub struct Authenticate {
    authenticator: Authenticator,
}

impl From<Authenticator> for Authenticate {
    fn from(authenticator: Authenticator) -> Self {
        Self { authenticator }
    }
}

impl Authenticate {
    /// Requires a valid bearer token in the `Authorization` header on every request.
    pub fn new(verifier: Verifier) -> Self {
        Authenticator::new(verifier).into()
    }

    /// Lets requests without any credential through as anonymous. A credential that is present
    /// but invalid is still rejected.
    pub fn optional(self) -> Self {
        self.authenticator.optional().into()
    }

    /// Where tokens may come from (query string and cookie are opt-in).
    pub fn rules(self, rules: BearerRules) -> Self {
        self.authenticator.rules(rules).into()
    }

    /// The challenge's `realm` and detail level.
    pub fn challenge(self, options: ChallengeOptions) -> Self {
        self.authenticator.challenge(options).into()
    }

    /// A custom rejection renderer (the default is core's `ProblemJson`).
    pub fn renderer(self, renderer: impl Renderer) -> Self {
        self.authenticator.renderer(renderer).into()
    }
}

impl<S, B> Transform<S, ServiceRequest> for Authenticate
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = AuthenticateMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthenticateMiddleware {
            service: Rc::new(service),
            authenticator: self.authenticator.clone(),
        }))
    }
}

/// The service [`Authenticate`] wraps around yours.
pub struct AuthenticateMiddleware<S> {
    service: Rc<S>,
    authenticator: Authenticator,
}

impl<S, B> Service<ServiceRequest> for AuthenticateMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Error>>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            let outcome = {
                let headers = request.headers();
                let authorization: Vec<&[u8]> = headers
                    .get_all(header::AUTHORIZATION)
                    .map(|v| v.as_bytes())
                    .collect();
                let cookies: Vec<&[u8]> = headers
                    .get_all(header::COOKIE)
                    .map(|v| v.as_bytes())
                    .collect();
                let query = request.query_string();
                let parts = RequestParts {
                    authorization: &authorization,
                    query: (!query.is_empty()).then_some(query),
                    cookies: &cookies,
                };
                authenticator.authenticate(&parts).await
            };
            match outcome {
                Ok(Outcome::Authenticated(verified)) => {
                    request.extensions_mut().insert(Principal(verified));
                }
                Ok(Outcome::Anonymous) => {}
                Err(error) => {
                    let response = to_response(authenticator.reject(&error, false));
                    return Ok(request.into_response(response).map_into_right_body());
                }
            }
            request.extensions_mut().insert(Rendering(authenticator));
            service
                .call(request)
                .await
                .map(ServiceResponse::map_into_left_body)
        })
    }
}
