//! [`Authenticator`]: the whole per-request authentication decision, shared by the adapters. An
//! adapter hands it the [`RequestView`] it filled and gets back the [`RequestState`] to put in
//! the request's extensions, or the rendered [`Rejection`] to send; it decides nothing itself.

use std::fmt;
use std::sync::Arc;

use serde::de::IgnoredAny;

use crate::audit;
use crate::challenge::ChallengeOptions;
use crate::credential::{BearerRules, RequestParts, Scheme};
use crate::dpop::{DpopMode, DpopPolicy, htu};
use crate::error::{AuthError, ConfigError, Reason};
use crate::principal::Principal;
use crate::render::{ProblemJson, Rejection, Renderer, Rendering};
use crate::request::context::RequestContext;
use crate::request::origin::resolve;
use crate::request::view::{Leading, single, values};
use crate::request::{EffectiveUri, PublicUrl, RequestView, TrustedProxies};
use crate::resource_metadata::{Advertised, ProtectedResource, ResourceMetadata};
use crate::state::{Outcome, RequestState, count};
use crate::verifier::{Presentation, Verifier};

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
    dpop: DpopPolicy,
    resource: Option<ProtectedResource>,
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
            .field("dpop", &self.inner.dpop)
            .field("resource", &self.inner.resource)
            .field("rendering", &self.inner.rendering)
            .finish()
    }
}

impl Authenticator {
    /// Requires a valid token in the `Authorization` header, Bearer or DPoP-bound with its
    /// proof ([`DpopPolicy::default`]: DPoP allowed, an in-memory replay store); rejections as
    /// [`ProblemJson`]; no public URL and no trusted proxy.
    pub fn new(verifier: Verifier) -> Self {
        let dpop = DpopPolicy::default();
        let mut challenge = ChallengeOptions::default();
        offer_schemes(&mut challenge, &dpop, None);
        Self {
            inner: Arc::new(Config {
                verifier,
                rules: BearerRules::default(),
                optional: false,
                public_url: None,
                proxies: TrustedProxies::default(),
                dpop,
                resource: None,
                rendering: Arc::new(Rendering {
                    challenge,
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
    pub fn challenge(self, mut options: ChallengeOptions) -> Self {
        self.edit(|c| {
            offer_schemes(&mut options, &c.dpop, c.resource.as_ref());
            Arc::make_mut(&mut c.rendering).challenge = options;
        })
    }

    /// The DPoP policy: mode (disabled, allowed, required), proof algorithms and window, and
    /// the replay store (see [`dpop`](crate::dpop)).
    pub fn dpop(self, policy: DpopPolicy) -> Self {
        self.edit(|c| {
            offer_schemes(
                &mut Arc::make_mut(&mut c.rendering).challenge,
                &policy,
                c.resource.as_ref(),
            );
            c.dpop = policy;
        })
    }

    /// This service as an RFC 9728 protected resource: every 401 and 403 challenge names its
    /// metadata URL (`resource_metadata`), and [`resource_metadata`](Self::resource_metadata)
    /// gives the document to serve. Set it to the URI clients use and tokens carry in `aud`.
    pub fn protected_resource(self, resource: ProtectedResource) -> Self {
        self.edit(|c| {
            offer_schemes(
                &mut Arc::make_mut(&mut c.rendering).challenge,
                &c.dpop,
                Some(&resource),
            );
            c.resource = Some(resource);
        })
    }

    /// The protected resource metadata document (RFC 9728), derived from this whole
    /// configuration: `resource` as configured (never from the request), the verifier's
    /// trusted issuers as `authorization_servers` (unless named on the resource),
    /// `bearer_methods_supported` from the credential rules, the DPoP members from the DPoP
    /// policy. `None` without a [`protected_resource`](Self::protected_resource); an error
    /// when no authorization server can be named.
    pub fn resource_metadata(&self) -> Option<Result<ResourceMetadata, ConfigError>> {
        let c = &*self.inner;
        let resource = c.resource.as_ref()?;
        let mode = c.dpop.current_mode();
        let algs = (mode != DpopMode::Disabled).then(|| c.dpop.algs());
        Some(ResourceMetadata::new(
            resource,
            Advertised {
                issuers: c.verifier.trusted_issuers(),
                query: c.rules.allows_query(),
                dpop_algs: algs.as_deref(),
                dpop_required: mode == DpopMode::Required,
            },
        ))
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
        let mut request =
            RequestContext::capture(view, config.public_url.as_ref(), &config.proxies);
        let headers = view.headers();
        // Two values are enough to tell one `Authorization` from several (400).
        let authorization = Leading::<2>::read(headers, "authorization");
        let cookies = if config.rules.reads_cookies() {
            values(headers, "cookie")
        } else {
            Vec::new()
        };
        let parts = RequestParts::new(authorization.as_slice(), view.query_string(), &cookies);
        let dpop_on = config.dpop.current_mode() != DpopMode::Disabled;
        let decided = match config.rules.credential(&parts, dpop_on) {
            Ok(Some(credential)) => match credential.scheme {
                Scheme::Dpop => {
                    request.dpop = true;
                    // Boxed: inline, the DPoP path's state (a proof, the token's verification,
                    // the replay store's answer) would make every request's future larger,
                    // and be copied with it, Bearer requests too.
                    Box::pin(self.proven(view, credential.token, &request))
                        .await
                        .map(|(principal, renew)| (Some(principal), renew))
                }
                _ => match config
                    .verifier
                    .authenticate_request(credential.token, &request, config.dpop.current_mode())
                    .await
                {
                    Ok(verified) => Ok((Some(Principal::from_token(verified)), false)),
                    Err(error) => Err(error),
                },
            },
            Ok(None) if config.optional => {
                audit::request("anonymous", None, &request);
                count(Outcome::Anonymous, None);
                Ok((None, false))
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
            Ok((principal, renew_nonce)) => {
                if principal.is_some() {
                    count(Outcome::Accept, None);
                }
                let state = RequestState::new(principal, request, Arc::clone(&config.rendering));
                Ok(match renew_nonce.then(|| self.current_nonce()).flatten() {
                    Some(nonce) => state.with_response_header(DPOP_NONCE, nonce.to_string()),
                    None => state,
                })
            }
            Err(error) => {
                count(Outcome::Reject, Some(error.reason()));
                let mut rejection = config.rendering.reject(&error, &request);
                // Every 401 carries the nonce, so a client's first proof can already hold it.
                if rejection.status == 401
                    && let Some(nonce) = self.current_nonce()
                {
                    rejection.headers.push((DPOP_NONCE, nonce.to_string()));
                }
                Err(rejection)
            }
        }
    }

    /// The server nonce of this moment, when nonces are on and DPoP is not disabled.
    fn current_nonce(&self) -> Option<Arc<str>> {
        let dpop = &self.inner.dpop;
        if dpop.current_mode() == DpopMode::Disabled {
            return None;
        }
        dpop.current_nonce(self.inner.verifier.now())
    }

    /// A DPoP request (RFC 9449 §4.3, §7.1): the proof, then the token bound to its key, then,
    /// last, the replay check; one audit event for the whole decision. The flag says whether
    /// the response should carry a fresh nonce.
    async fn proven(
        &self,
        view: &RequestView<'_>,
        token: &str,
        request: &RequestContext,
    ) -> Result<(Principal, bool), AuthError> {
        let config = &*self.inner;
        let proof = single(view.headers(), "dpop").and_then(|p| std::str::from_utf8(p).ok());
        let checked = match proof {
            Some(proof) => self.effective_uri(view).and_then(|uri| {
                let htu = htu::Target::new(&uri)
                    .ok_or(AuthError::InvalidRequest(Reason::BadRequestUri))?;
                config
                    .dpop
                    .check(proof, view.method(), &htu, config.verifier.now())
            }),
            None => Err(AuthError::InvalidDpopProof(Reason::BadDpopProof("count"))),
        };
        let checked = match checked {
            Ok(checked) => checked,
            Err(error) => {
                audit::request("reject", Some(error.reason()), request);
                return Err(error);
            }
        };
        let presented = Presentation::Dpop { jkt: &checked.jkt };
        let decided = match config
            .verifier
            .check_presented(
                token,
                presented,
                config.dpop.current_mode(),
                |_| Some(IgnoredAny),
                |_| Some(IgnoredAny),
            )
            .await
        {
            Ok((verified, cache)) => match checked.check_ath(&verified.digest(token)) {
                Ok(()) => config
                    .dpop
                    .record(&checked)
                    .await
                    .map(|()| (verified, cache)),
                Err(reason) => Err(AuthError::InvalidDpopProof(reason)),
            },
            Err(error) => Err(error),
        };
        let verified = config.verifier.record(decided, token, Some(request))?;
        Ok((
            Principal::from_dpop(verified, checked.jkt.to_string()),
            checked.renew_nonce,
        ))
    }
}

/// The response header carrying a server nonce (RFC 9449 §8.1), lowercase as `Rejection` wants.
const DPOP_NONCE: &str = "dpop-nonce";

/// Offers Bearer unless DPoP is required, and DPoP with its `algs` unless disabled.
/// What the challenges say about the policy: the schemes offered, and where the resource's
/// metadata is.
fn offer_schemes(
    challenge: &mut ChallengeOptions,
    dpop: &DpopPolicy,
    resource: Option<&ProtectedResource>,
) {
    let mode = dpop.current_mode();
    let algs = (mode != DpopMode::Disabled).then(|| dpop.algs());
    challenge.schemes(mode != DpopMode::Required, algs);
    challenge.resource_metadata(resource.map(|r| r.metadata_url().to_owned()));
}
