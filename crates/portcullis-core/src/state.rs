//! [`RequestState`]: what core decided about one request, kept in its extensions for the
//! extractors and requirements that run after the authenticator.
//!
//! A route has one of three states: an authenticated [`Principal`], anonymous (an optional
//! authenticator let a request without credential through), or no state at all (no
//! authenticator covers the route: a server bug, answered with 500). The adapters' extractors and
//! requirements are translations of the functions here, which is why the two frameworks cannot
//! disagree about any of the three.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use metrics::{Key, Label, Level, Metadata};
use serde::de::DeserializeOwned;

use crate::audit;
use crate::authz::Requirement;
use crate::error::{AuthError, Reason};
use crate::principal::Principal;
use crate::render::{Rejection, Rendering, no_authenticator};
use crate::request::RequestId;
use crate::request::context::RequestContext;
use crate::verifier::Verified;
use crate::verifier::verified::check;

/// One request's authentication result, put in its extensions by the adapter.
#[derive(Clone)]
pub struct RequestState {
    principal: Option<Principal>,
    request: RequestContext,
    rendering: Arc<Rendering>,
    response_headers: Vec<(&'static str, String)>,
}

impl fmt::Debug for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestState")
            .field("principal", &self.principal)
            .field("request_id", &self.request.id)
            .finish_non_exhaustive()
    }
}

/// Why an extractor or requirement refused a request: the response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// No authenticator covers the route: a server bug, answered with 500 (gRPC `INTERNAL`).
    NoAuthenticator(Rejection),
    /// The route's authenticator refused the request (401, 403), rendered by its renderer.
    Rejected(Rejection),
}

impl Refusal {
    /// The response.
    pub fn rejection(&self) -> &Rejection {
        match self {
            Refusal::NoAuthenticator(r) | Refusal::Rejected(r) => r,
        }
    }

    /// The response, by value.
    pub fn into_rejection(self) -> Rejection {
        match self {
            Refusal::NoAuthenticator(r) | Refusal::Rejected(r) => r,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoAuthenticator(_) => {
                f.write_str("portcullis: no authenticator covers this route")
            }
            Refusal::Rejected(r) => write!(f, "request refused with status {}", r.status),
        }
    }
}

impl std::error::Error for Refusal {}

impl RequestState {
    pub(crate) fn new(
        principal: Option<Principal>,
        request: RequestContext,
        rendering: Arc<Rendering>,
    ) -> Self {
        Self {
            principal,
            request,
            rendering,
            response_headers: Vec::new(),
        }
    }

    pub(crate) fn with_response_header(mut self, name: &'static str, value: String) -> Self {
        self.response_headers.push((name, value));
        self
    }

    /// Headers the adapter adds to the response of an accepted request (lowercase names): a
    /// fresh `dpop-nonce` when the client's server nonce is due for renewal (RFC 9449 §8.2).
    pub fn response_headers(&self) -> &[(&'static str, String)] {
        &self.response_headers
    }

    /// The authenticated caller; `None` when an optional authenticator let an anonymous request
    /// through.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// The request's id, as its audit events carry it.
    pub fn request_id(&self) -> &RequestId {
        &self.request.id
    }

    /// The peer address the adapter reported.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.request.peer
    }

    /// Whether the request is gRPC (its rejections take the gRPC form).
    pub fn is_grpc(&self) -> bool {
        self.request.grpc
    }

    /// The caller, or 401 for an anonymous request. This adds no audit event: the request's own
    /// event already says it was anonymous (and actix-web's `Option` extractor probes this and
    /// discards the refusal).
    pub fn authenticated(&self) -> Result<&Principal, Rejection> {
        match &self.principal {
            Some(principal) => Ok(principal),
            None => Err(self.render(&AuthError::MissingCredential)),
        }
    }

    /// The caller's claims as `C`: 401 for an anonymous request, 401 `invalid_token` when the
    /// claims do not fit `C`.
    pub fn claims<C: DeserializeOwned>(&self) -> Result<Verified<C>, Rejection> {
        let principal = self.authenticated()?;
        principal
            .token()
            .typed_for(Some(&self.request))
            .map_err(|e| {
                count(Outcome::Reject, Some(e.reason()));
                self.render(&e)
            })
    }

    /// The caller's claims as `C`, `None` for an anonymous request.
    pub fn optional_claims<C: DeserializeOwned>(&self) -> Result<Option<Verified<C>>, Rejection> {
        match self.principal {
            Some(_) => self.claims().map(Some),
            None => Ok(None),
        }
    }

    /// Checks a route's requirement: 401 for an anonymous request, 403 `insufficient_scope` (with
    /// an audit event naming the requirement) when the caller does not meet it.
    pub fn require(&self, requirement: &Requirement) -> Result<(), Rejection> {
        let decided = match &self.principal {
            Some(principal) => check(
                principal,
                principal.token(),
                requirement,
                Some(&self.request),
            ),
            None => {
                let error = AuthError::MissingCredential;
                audit::denied(None, requirement, error.reason(), Some(&self.request));
                Err(error)
            }
        };
        decided.map_err(|e| {
            count(Outcome::Deny, Some(e.reason()));
            self.render(&e)
        })
    }

    /// Renders `error` as this request's authenticator would (gRPC form for a gRPC request).
    pub fn render(&self, error: &AuthError) -> Rejection {
        self.rendering.reject(error, &self.request)
    }
}

/// The caller of a request whose extensions hold `state` (`None`: no authenticator).
/// `grpc` says how to render the no-authenticator answer; it is asked only then (a state knows
/// already), so the adapter reads no header on the way of an authenticated request.
pub fn authenticated(
    state: Option<&RequestState>,
    grpc: impl FnOnce() -> bool,
) -> Result<Principal, Refusal> {
    found(state, grpc)?
        .authenticated()
        .cloned()
        .map_err(Refusal::Rejected)
}

/// The caller, `None` when anonymous.
pub fn optional_principal(
    state: Option<&RequestState>,
    grpc: impl FnOnce() -> bool,
) -> Result<Option<Principal>, Refusal> {
    found(state, grpc).map(|s| s.principal().cloned())
}

/// The caller's claims as `C` (see [`RequestState::claims`]).
pub fn claims<C: DeserializeOwned>(
    state: Option<&RequestState>,
    grpc: impl FnOnce() -> bool,
) -> Result<Verified<C>, Refusal> {
    found(state, grpc)?.claims().map_err(Refusal::Rejected)
}

/// The caller's claims as `C`, `None` when anonymous (see [`RequestState::optional_claims`]).
pub fn optional_claims<C: DeserializeOwned>(
    state: Option<&RequestState>,
    grpc: impl FnOnce() -> bool,
) -> Result<Option<Verified<C>>, Refusal> {
    found(state, grpc)?
        .optional_claims()
        .map_err(Refusal::Rejected)
}

/// Checks a route's requirement (see [`RequestState::require`]).
pub fn require(
    state: Option<&RequestState>,
    grpc: impl FnOnce() -> bool,
    requirement: &Requirement,
) -> Result<(), Refusal> {
    found(state, grpc)?
        .require(requirement)
        .map_err(Refusal::Rejected)
}

fn found(
    state: Option<&RequestState>,
    grpc: impl FnOnce() -> bool,
) -> Result<&RequestState, Refusal> {
    state.ok_or_else(|| {
        audit::no_authenticator();
        metrics::counter!(REQUESTS_TOTAL, "outcome" => "error", "reason" => "no_authenticator")
            .increment(1);
        Refusal::NoAuthenticator(no_authenticator(grpc()))
    })
}

/// The counter of request decisions, labelled `outcome` (`accept`, `anonymous`, `reject`,
/// `deny`, `error`) and `reason` (a [`Reason`] code; `none` when accepted).
pub const REQUESTS_TOTAL: &str = "portcullis_requests_total";

#[derive(Clone, Copy)]
pub(crate) enum Outcome {
    Accept,
    Anonymous,
    Reject,
    Deny,
}

pub(crate) fn count(outcome: Outcome, reason: Option<Reason>) {
    let counter = match (outcome, reason) {
        (Outcome::Accept, None) => static_counter(&ACCEPTED),
        (Outcome::Anonymous, None) => static_counter(&ANONYMOUS),
        (outcome, reason) => {
            let outcome = match outcome {
                Outcome::Accept => "accept",
                Outcome::Anonymous => "anonymous",
                Outcome::Reject => "reject",
                Outcome::Deny => "deny",
            };
            let reason = reason.map_or("none", Reason::code);
            metrics::counter!(REQUESTS_TOTAL, "outcome" => outcome, "reason" => reason)
        }
    };
    counter.increment(1);
}

/// The two counts nearly every request takes, with keys built at compile time: `counter!` with
/// labels that are not literals allocates them and hashes the key on every call.
static ACCEPTED: Key = Key::from_static_parts(REQUESTS_TOTAL, &ACCEPTED_LABELS);
static ACCEPTED_LABELS: [Label; 2] = [
    Label::from_static_parts("outcome", "accept"),
    Label::from_static_parts("reason", "none"),
];
static ANONYMOUS: Key = Key::from_static_parts(REQUESTS_TOTAL, &ANONYMOUS_LABELS);
static ANONYMOUS_LABELS: [Label; 2] = [
    Label::from_static_parts("outcome", "anonymous"),
    Label::from_static_parts("reason", "none"),
];

/// The counter of `key` from the installed recorder, as `counter!` would register it.
fn static_counter(key: &'static Key) -> metrics::Counter {
    static METADATA: Metadata<'static> =
        Metadata::new(module_path!(), Level::INFO, Some(module_path!()));
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA))
}
