//! [`Authenticator`]: the whole per-request authentication decision, shared by the adapters. An
//! adapter hands it the [`RequestView`] it filled and gets back the [`RequestState`] to put in
//! the request's extensions, or the rendered [`Rejection`] to send; it decides nothing itself.

use std::fmt;
use std::sync::Arc;

use crate::audit;
use crate::challenge::ChallengeOptions;
use crate::credential::{BearerRules, RequestParts};
use crate::error::AuthError;
use crate::principal::Principal;
use crate::render::{ProblemJson, Rejection, Renderer, Rendering};
use crate::request::context::RequestContext;
use crate::request::origin::resolve;
use crate::request::view::{Leading, values};
use crate::request::{EffectiveUri, PublicUrl, RequestView, TrustedProxies};
use crate::state::{Outcome, RequestState, count};
use crate::verifier::Verifier;

/// A verifier plus the request-level policy: where tokens come from, whether a credential is
/// required, how the effective request URI is found, and how rejections are rendered. Cheap to
/// clone.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    verifier: Verifier,
    rules: BearerRules,
    optional: bool,
    public_url: Option<PublicUrl>,
    proxies: TrustedProxies,
    rendering: Arc<Rendering>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("verifier", &self.inner.verifier)
            .field("rules", &self.inner.rules)
            .field("optional", &self.inner.optional)
            .field("public_url", &self.inner.public_url)
            .field("trusted_proxies", &self.inner.proxies)
            .field("rendering", &self.inner.rendering)
            .finish()
    }
}

impl Authenticator {
    /// Requires a valid bearer token in the `Authorization` header; rejections as
    /// [`ProblemJson`]; no public URL and no trusted proxy.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            inner: Arc::new(Config {
                verifier,
                rules: BearerRules::default(),
                optional: false,
                public_url: None,
                proxies: TrustedProxies::default(),
                rendering: Arc::new(Rendering {
                    challenge: ChallengeOptions::default(),
                    renderer: Arc::new(ProblemJson),
                }),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Lets requests without any credential through as anonymous (a [`RequestState`] without a
    /// principal). A credential that is present but invalid is still rejected.
    pub fn optional(self) -> Self {
        self.edit(|c| c.optional = true)
    }

    /// Where tokens may come from (query string and cookie are opt-in).
    pub fn rules(self, rules: BearerRules) -> Self {
        self.edit(|c| c.rules = rules)
    }

    /// The challenge's `realm` and detail level.
    pub fn challenge(self, options: ChallengeOptions) -> Self {
        self.edit(|c| Arc::make_mut(&mut c.rendering).challenge = options)
    }

    /// A custom rejection renderer (the default is [`ProblemJson`]; gRPC requests always get the
    /// gRPC form).
    pub fn renderer(self, renderer: impl Renderer) -> Self {
        self.edit(|c| Arc::make_mut(&mut c.rendering).renderer = Arc::new(renderer))
    }

    /// The base URL clients address this service by: the effective request URI is built from it
    /// and never from `Host` or forwarding headers (see [`origin`](crate::request::origin)).
    pub fn public_url(self, url: PublicUrl) -> Self {
        self.edit(|c| c.public_url = Some(url))
    }

    /// The proxies whose `Forwarded` / `X-Forwarded-*` headers are believed (none by default).
    pub fn trusted_proxies(self, proxies: TrustedProxies) -> Self {
        self.edit(|c| c.proxies = proxies)
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The URI the client addressed (see [`origin`](crate::request::origin)); 400
    /// `invalid_request` when it cannot be determined.
    pub fn effective_uri(&self, view: &RequestView<'_>) -> Result<EffectiveUri, AuthError> {
        resolve(view, self.inner.public_url.as_ref(), &self.inner.proxies)
            .map_err(AuthError::InvalidRequest)
    }

    /// Decides one request: the state to put in its extensions, or the response to send. Every
    /// outcome is one audit event and one `portcullis_requests_total` count.
    pub async fn authenticate(&self, view: &RequestView<'_>) -> Result<RequestState, Rejection> {
        let config = &*self.inner;
        let request = RequestContext::capture(view, config.public_url.as_ref(), &config.proxies);
        let headers = view.headers();
        // Two values are enough to tell one `Authorization` from several (400).
        let authorization = Leading::<2>::read(headers, "authorization");
        let cookies = if config.rules.reads_cookies() {
            values(headers, "cookie")
        } else {
            Vec::new()
        };
        let parts = RequestParts::new(authorization.as_slice(), view.query_string(), &cookies);
        let decided = match config.rules.extract(&parts) {
            Ok(Some(token)) => match config.verifier.authenticate_request(token, &request).await {
                Ok(verified) => {
                    count(Outcome::Accept, None);
                    Ok(Some(Principal::from_token(verified)))
                }
                Err(error) => Err(error),
            },
            Ok(None) if config.optional => {
                audit::request("anonymous", None, &request);
                count(Outcome::Anonymous, None);
                Ok(None)
            }
            Ok(None) => {
                let error = AuthError::MissingCredential;
                audit::request("reject", Some(error.reason()), &request);
                Err(error)
            }
            Err(error) => {
                audit::request("reject", Some(error.reason()), &request);
                Err(error)
            }
        };
        match decided {
            Ok(principal) => Ok(RequestState::new(
                principal,
                request,
                Arc::clone(&config.rendering),
            )),
            Err(error) => {
                count(Outcome::Reject, Some(error.reason()));
                Err(config.rendering.reject(&error, request.grpc))
            }
        }
    }
}
