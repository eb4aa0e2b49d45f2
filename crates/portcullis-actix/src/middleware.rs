use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage, HttpResponse};
use portcullis_core::authenticator::Authenticator;
use portcullis_core::render::Rejection;
use portcullis_core::request::ClientCertificateChain;

use crate::view::{HeaderView, view};

/// A core [`Rejection`] as an actix response.
pub(crate) fn to_response(rejection: Rejection) -> HttpResponse {
    let status = StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::build(status).body(rejection.body);
    append_headers(response.headers_mut(), rejection.headers);
    response
}

/// Appends core's headers; one that is not a valid HTTP header (a custom renderer's) is
/// dropped, as in the axum adapter (actix would otherwise turn the whole answer into a 500).
fn append_headers(map: &mut HeaderMap, headers: Vec<(&'static str, String)>) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            map.append(name, value);
        }
    }
}

/// Authenticates every request with a [`Verifier`](portcullis_core::Verifier): a thin wrapper over core's
/// [`Authenticator`], which makes every decision and whose
/// [`RequestState`](portcullis_core::RequestState) it puts in the request extensions. See the
/// crate docs.
#[derive(Clone, Debug)]
pub struct Authenticate {
    authenticator: Authenticator,
}

portcullis_core::adapter_options!(Authenticate);

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

impl<S> std::fmt::Debug for AuthenticateMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticateMiddleware")
            .field("authenticator", &self.authenticator)
            .finish_non_exhaustive()
    }
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
            let decided = {
                let http = request.request();
                let certificates = http.conn_data::<ClientCertificateChain>();
                let headers = HeaderView(http.headers());
                authenticator
                    .authenticate(&view(http, &headers, certificates))
                    .await
            };
            let extra = match decided {
                Ok(state) => {
                    let extra = state.response_headers().to_vec();
                    request.extensions_mut().insert(state);
                    extra
                }
                Err(rejection) => {
                    let response = to_response(rejection);
                    return Ok(request.into_response(response).map_into_right_body());
                }
            };
            let mut response = service.call(request).await?;
            append_headers(response.headers_mut(), extra);
            Ok(response.map_into_left_body())
        })
    }
}
