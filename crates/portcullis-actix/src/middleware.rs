use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::{StatusCode, header};
use actix_web::{Error, HttpMessage, HttpResponse};
use portcullis_core::challenge::ChallengeOptions;
use portcullis_core::credential::{BearerRules, RequestParts};
use portcullis_core::render::{ProblemJson, Rejection, Renderer};
use portcullis_core::{AuthError, Challenge, Verified, Verifier};
use serde::de::IgnoredAny;

/// The verified token of a request, put in its extensions by [`Authenticate`].
#[derive(Clone)]
pub(crate) struct Principal(pub(crate) Arc<Verified<IgnoredAny>>);

/// How this request's rejections are rendered, shared with the extractors and `require`.
#[derive(Clone)]
pub(crate) struct Rendering(pub(crate) Arc<Config>);

pub(crate) struct Config {
    verifier: Verifier,
    rules: BearerRules,
    optional: bool,
    challenge: ChallengeOptions,
    renderer: Arc<dyn Renderer>,
}

impl Config {
    pub(crate) fn rejection(&self, error: &AuthError) -> Rejection {
        let challenge = Challenge::from_error(error, &self.challenge);
        self.renderer.render(error, &challenge)
    }

    pub(crate) fn reject(&self, error: &AuthError) -> HttpResponse {
        to_response(self.rejection(error))
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

/// Renders without a middleware's configuration.
pub(crate) fn rejection_default(error: &AuthError) -> Rejection {
    let challenge = Challenge::from_error(error, &ChallengeOptions::default());
    ProblemJson.render(error, &challenge)
}

/// Authenticates every request with a [`Verifier`]. See the crate docs.
#[derive(Clone)]
pub struct Authenticate {
    config: Arc<Config>,
}

impl fmt::Debug for Authenticate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticate")
            .field("verifier", &self.config.verifier)
            .field("rules", &self.config.rules)
            .field("optional", &self.config.optional)
            .finish_non_exhaustive()
    }
}

impl Authenticate {
    /// Requires a valid bearer token in the `Authorization` header on every request.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            config: Arc::new(Config {
                verifier,
                rules: BearerRules::default(),
                optional: false,
                challenge: ChallengeOptions::default(),
                renderer: Arc::new(ProblemJson),
            }),
        }
    }

    fn edit(self, f: impl FnOnce(&mut Config)) -> Self {
        let c = &self.config;
        let mut copy = Config {
            verifier: c.verifier.clone(),
            rules: c.rules.clone(),
            optional: c.optional,
            challenge: c.challenge.clone(),
            renderer: Arc::clone(&c.renderer),
        };
        f(&mut copy);
        Self {
            config: Arc::new(copy),
        }
    }

    /// Lets requests without any credential through as anonymous. A credential that is present
    /// but invalid is still rejected.
    pub fn optional(self) -> Self {
        self.edit(|c| c.optional = true)
    }

    /// Where tokens may come from (query string and cookie are opt-in).
    pub fn rules(self, rules: BearerRules) -> Self {
        self.edit(|c| c.rules = rules)
    }

    /// The challenge's `realm` and detail level.
    pub fn challenge(self, options: ChallengeOptions) -> Self {
        self.edit(|c| c.challenge = options)
    }

    /// A custom rejection renderer (the default is [`ProblemJson`]).
    pub fn renderer(self, renderer: impl Renderer) -> Self {
        self.edit(|c| c.renderer = Arc::new(renderer))
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
            config: Arc::clone(&self.config),
        }))
    }
}

/// The service [`Authenticate`] wraps around yours.
pub struct AuthenticateMiddleware<S> {
    service: Rc<S>,
    config: Arc<Config>,
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
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            let token = match find_token(&config.rules, &request) {
                Ok(token) => token,
                Err(error) => {
                    return Ok(request
                        .into_response(config.reject(&error))
                        .map_into_right_body());
                }
            };
            match token {
                None if config.optional => {}
                None => {
                    let response = config.reject(&AuthError::MissingCredential);
                    return Ok(request.into_response(response).map_into_right_body());
                }
                Some(token) => match config.verifier.verify::<IgnoredAny>(&token).await {
                    Ok(verified) => {
                        request
                            .extensions_mut()
                            .insert(Principal(Arc::new(verified)));
                    }
                    Err(error) => {
                        return Ok(request
                            .into_response(config.reject(&error))
                            .map_into_right_body());
                    }
                },
            }
            request
                .extensions_mut()
                .insert(Rendering(Arc::clone(&config)));
            service
                .call(request)
                .await
                .map(ServiceResponse::map_into_left_body)
        })
    }
}

fn find_token(rules: &BearerRules, request: &ServiceRequest) -> Result<Option<String>, AuthError> {
    let authorization: Vec<&[u8]> = request
        .headers()
        .get_all(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .collect();
    let cookies: Vec<&[u8]> = request
        .headers()
        .get_all(header::COOKIE)
        .map(|v| v.as_bytes())
        .collect();
    let query = request.query_string();
    let parts = RequestParts {
        authorization: &authorization,
        query: (!query.is_empty()).then_some(query),
        cookies: &cookies,
    };
    rules.extract(&parts).map(|t| t.map(str::to_owned))
}
