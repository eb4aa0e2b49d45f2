use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use portcullis_core::RequestState;
use portcullis_core::authz::Requirement;
use portcullis_core::state;

use crate::middleware::to_response;
use crate::view::is_grpc;

/// Requires `requirement` on a resource or scope (`.wrap(require(..))`, inside
/// [`Authenticate`](crate::Authenticate)). A caller that does not meet it gets 403
/// `insufficient_scope`; an anonymous request gets 401; a route without the middleware gets 500.
/// Decided by core's [`RequestState::require`](portcullis_core::RequestState::require).
pub fn require(requirement: Requirement) -> Require {
    Require {
        requirement: Arc::new(requirement),
    }
}

/// The middleware factory [`require`] returns.
#[derive(Debug, Clone)]
pub struct Require {
    requirement: Arc<Requirement>,
}

impl<S, B> Transform<S, ServiceRequest> for Require
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireMiddleware {
            service: Rc::new(service),
            requirement: Arc::clone(&self.requirement),
        }))
    }
}

/// The service [`Require`] wraps around yours.
pub struct RequireMiddleware<S> {
    service: Rc<S>,
    requirement: Arc<Requirement>,
}

impl<S> std::fmt::Debug for RequireMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireMiddleware")
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for RequireMiddleware<S>
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
        let decided = state::require(
            request.extensions().get::<RequestState>(),
            || is_grpc(request.request()),
            &self.requirement,
        );
        Box::pin(async move {
            match decided {
                Ok(()) => service
                    .call(request)
                    .await
                    .map(ServiceResponse::map_into_left_body),
                Err(refusal) => {
                    let response = to_response(refusal.into_rejection());
                    Ok(request.into_response(response).map_into_right_body())
                }
            }
        })
    }
}
