//! [`Authenticator`]: the whole per-request authentication decision, shared by the adapters. An
//! adapter hands it the request's credential sources and gets back an authenticated principal,
//! "anonymous" (optional mode), or an error to render; it decides nothing itself.

use std::fmt;
use std::sync::Arc;

use serde::de::IgnoredAny;

use crate::challenge::{Challenge, ChallengeOptions};
use crate::credential::{BearerRules, RequestParts};
use crate::error::AuthError;
use crate::render::{Grpc, ProblemJson, Rejection, Renderer};
use crate::verifier::{Verified, Verifier};

/// How a request authenticated.
#[derive(Debug)]
pub enum Outcome {
    /// A valid token (shared: adapters put it in request extensions).
    Authenticated(Arc<Verified<IgnoredAny>>),
    /// No credential, and the authenticator is optional.
    Anonymous,
}

/// A verifier plus the request-level policy: where tokens come from, whether a credential is
/// required, and how rejections are rendered. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    verifier: Verifier,
    rules: BearerRules,
    optional: bool,
    challenge: ChallengeOptions,
    renderer: Arc<dyn Renderer>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("verifier", &self.inner.verifier)
            .field("rules", &self.inner.rules)
            .field("optional", &self.inner.optional)
            .field("challenge", &self.inner.challenge)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Requires a valid bearer token in the `Authorization` header; rejections as
    /// [`ProblemJson`].
    pub fn new(verifier: Verifier) -> Self {
        Self {
            inner: Arc::new(Config {
                verifier,
                rules: BearerRules::default(),
                optional: false,
                challenge: ChallengeOptions::default(),
                renderer: Arc::new(ProblemJson),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Lets requests without any credential through as [`Outcome::Anonymous`]. A credential that
    /// is present but invalid is still rejected.
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

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// Decides one request.
    pub async fn authenticate(&self, parts: &RequestParts<'_>) -> Result<Outcome, AuthError> {
        match self.inner.rules.extract(parts)? {
            Some(token) => {
                let verified = self.inner.verifier.authenticate(token).await?;
                Ok(Outcome::Authenticated(Arc::new(verified)))
            }
            None if self.inner.optional => Ok(Outcome::Anonymous),
            None => Err(AuthError::MissingCredential),
        }
    }

    /// The response for `error`. A gRPC request (see [`is_grpc`](crate::render::is_grpc)) gets
    /// the gRPC form whatever renderer is configured: its client cannot read an HTTP body.
    pub fn reject(&self, error: &AuthError, grpc: bool) -> Rejection {
        let challenge = Challenge::from_error(error, &self.inner.challenge);
        if grpc {
            Grpc.render(error, &challenge)
        } else {
            self.inner.renderer.render(error, &challenge)
        }
    }
}

/// Renders `error` for a route that has no authenticator (so no configured renderer).
pub fn reject_unconfigured(error: &AuthError) -> Rejection {
    ProblemJson.render(
        error,
        &Challenge::from_error(error, &ChallengeOptions::default()),
    )
}
