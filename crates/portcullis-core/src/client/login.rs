//! User login: the OpenID Connect authorization code flow with PKCE (on `openidconnect` 4).
//!
//! [`Login::start`] builds the authorization URL with a random `state`, a random `nonce` and an
//! S256 PKCE challenge, and returns a [`PendingLogin`] to keep server-side (never in the
//! browser). [`Login::finish`] takes the callback: it checks `state` (the request is the one this
//! server started, so no login CSRF), then `iss` (RFC 9207: the answer comes from the issuer the
//! request went to, so no mix-up attack), exchanges the code with the PKCE verifier, and
//! validates the ID token (`id_token.rs`: portcullis' verifier over the provider's keys, so a
//! key rotation at the provider needs no restart; then the `nonce`). Only then is there a
//! [`LoggedIn`].
//!
//! The session a login produces, [`UserTokens`], is in `session.rs`.

use std::fmt;
use std::sync::Arc;

use openidconnect::core::{CoreAuthPrompt, CoreAuthenticationFlow};
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge,
    PkceCodeVerifier, Scope, TokenResponse as _,
};
use reqwest::Url;
use secrecy::SecretString;
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::credentials::{TokenRequest, bound};
use super::dpop::DpopKey;
use super::end_session::EndSession;
use super::endpoint::{ClientSetup, client_setters};
use super::id_token::IdToken;
use super::provider::Provider;
use super::session::{SavedSession, UserTokens};
use super::{AccessToken, ErrorCode, TokenError};

/// The authorization code flow for one client at one issuer. Cheap to clone.
#[derive(Clone)]
pub struct Login {
    inner: Arc<Provider>,
}

/// Builds a [`Login`]: a public client (PKCE, no secret) unless [`auth`](Self::auth) says
/// otherwise; confidential clients use PKCE too.
pub struct LoginBuilder {
    setup: ClientSetup,
    redirect_uri: String,
}

impl fmt::Debug for LoginBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginBuilder")
            .field("setup", &self.setup)
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

impl LoginBuilder {
    client_setters!();

    /// Asks for DPoP-bound tokens (RFC 9449): the authorization request names the key
    /// (`dpop_jkt`), the code exchange and every refresh carry a proof by it, the access token
    /// must come back as `token_type: DPoP`, and [`UserTokens`] hands the key to the outbound
    /// middleware.
    pub fn dpop(mut self, key: DpopKey) -> Self {
        self.setup.dpop = Some(key);
        self
    }

    /// Discovers the issuer (its `issuer` must match exactly) and fetches its keys, so a wrong
    /// URL or an unreachable provider fails here, at start-up.
    pub async fn discover(self) -> Result<Login, TokenError> {
        let provider = Provider::discover(self.setup, Some(self.redirect_uri)).await?;
        Ok(Login {
            inner: Arc::new(provider),
        })
    }
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.party.client_id)
            .field(
                "redirect",
                &self.inner.redirect.as_ref().map(|r| r.as_str()),
            )
            .finish_non_exhaustive()
    }
}

/// A login in progress: keep it server-side, keyed by the browser's session, until the
/// callback. `Debug` shows none of its secrets.
pub struct PendingLogin {
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
    resources: Vec<String>,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin").finish_non_exhaustive()
    }
}

/// A completed login (or device flow): the validated ID token's claims and the user's tokens.
#[derive(Debug)]
#[non_exhaustive]
pub struct LoggedIn {
    /// The ID token's `sub`.
    pub subject: String,
    /// The ID token's `email`, when the `email` scope was granted.
    pub email: Option<String>,
    /// The validated ID token: every claim, typed as you need them, and the raw token for
    /// `id_token_hint`.
    pub id_token: IdToken,
    /// The user's access and refresh tokens, refreshed on demand.
    pub tokens: UserTokens,
}

impl Login {
    /// Discovers `issuer` (its `issuer` must match exactly) for the client `client_id`, a public
    /// client using PKCE, with `redirect_uri` registered at the issuer. See
    /// [`builder`](Self::builder) for confidential clients and a custom HTTP client.
    pub async fn discover(
        issuer: &str,
        client_id: impl Into<String>,
        redirect_uri: &str,
    ) -> Result<Self, TokenError> {
        Self::builder(issuer, client_id, redirect_uri)
            .discover()
            .await
    }

    /// A builder for the same: [`auth`](LoginBuilder::auth) for a confidential client,
    /// [`http_client`](LoginBuilder::http_client), [`dpop`](LoginBuilder::dpop).
    pub fn builder(issuer: &str, client_id: impl Into<String>, redirect_uri: &str) -> LoginBuilder {
        LoginBuilder {
            setup: ClientSetup::new(issuer, client_id),
            redirect_uri: redirect_uri.to_owned(),
        }
    }

    /// The URL to send the browser to, and the login to keep until the callback. `request`
    /// names the scopes (`openid` is always asked), resources (sent again with the code) and
    /// audience; asking `offline_access` adds
    /// `prompt=consent`, which issuers require before they issue a refresh token.
    pub fn start(&self, request: &TokenRequest) -> (Url, PendingLogin) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.inner.client();
        let mut authorize = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in request.scopes() {
            if scope != "openid" {
                authorize = authorize.add_scope(Scope::new(scope.to_owned()));
            }
        }
        if request.scopes().any(|s| s == "offline_access") {
            authorize = authorize.add_prompt(CoreAuthPrompt::Consent);
        }
        for resource in request.resources() {
            authorize = authorize.add_extra_param("resource", resource.to_owned());
        }
        if let Some(audience) = request.audience_param() {
            authorize = authorize.add_extra_param("audience", audience.to_owned());
        }
        // Binds the code to the key (RFC 9449 §10): a stolen code is useless without it.
        if let Some(key) = &self.inner.party.dpop {
            authorize = authorize.add_extra_param("dpop_jkt", key.thumbprint().to_owned());
        }
        let (url, state, nonce) = authorize.url();
        (
            url,
            PendingLogin {
                state,
                nonce,
                verifier,
                resources: request.resources().map(str::to_owned).collect(),
            },
        )
    }

    /// A session restored from what [`UserTokens::save`] (or an
    /// [`on_refresh`](UserTokens::on_refresh) hook) stored, in this process or an earlier one:
    /// it refreshes like the session the login produced. Give it its
    /// [`on_refresh`](UserTokens::on_refresh) hook again, or the next rotated refresh token is
    /// not stored.
    pub fn restore(&self, saved: SavedSession) -> UserTokens {
        UserTokens::restore(Arc::clone(&self.inner), saved)
    }

    /// The user's claims from the provider's UserInfo endpoint, asked with the session's access
    /// token (refreshed when due). `subject` is the ID token's `sub`
    /// ([`IdToken::subject`]); an answer about anyone else is refused (OpenID Connect Core
    /// §5.3.2). The access token must be one the provider accepts there (with oidc-provider,
    /// a login without a `resource`).
    pub async fn userinfo<C: serde::de::DeserializeOwned>(
        &self,
        tokens: &UserTokens,
        subject: &str,
    ) -> Result<C, TokenError> {
        super::userinfo::userinfo(&self.inner, tokens, subject).await
    }

    /// Ends the user's session at the provider (RP-initiated logout): build the URL and send
    /// the browser there. Revoke or drop the [`UserTokens`] too; ending the provider's session
    /// does not revoke tokens already issued.
    pub fn end_session<'a>(&'a self, id_token: &'a IdToken) -> EndSession<'a> {
        EndSession::new(&self.inner, id_token)
    }

    /// Completes `pending` with the callback URL's query (`code`, `state`, `iss`, or `error`).
    pub async fn finish(&self, pending: PendingLogin, query: &str) -> Result<LoggedIn, TokenError> {
        let mut code = None;
        let mut state = None;
        let mut iss = None;
        let mut error = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*name {
                "code" => &mut code,
                "state" => &mut state,
                "iss" => &mut iss,
                "error" => &mut error,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(TokenError::Callback("a parameter appears twice"));
            }
        }
        // `state` first: until it matches, nothing in this callback is ours to act on.
        let expected = pending.state.secret().as_bytes();
        // Constant time: how long the comparison takes says nothing about how much matched.
        if !state.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected))) {
            return Err(TokenError::Callback("state does not match the login"));
        }
        match iss {
            Some(iss) if iss != self.inner.issuer => {
                return Err(TokenError::Callback("iss names another issuer (RFC 9207)"));
            }
            None if self
                .inner
                .metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported =>
            {
                return Err(TokenError::Callback("iss is missing (RFC 9207)"));
            }
            _ => {}
        }
        if let Some(error) = error {
            return Err(TokenError::Denied {
                code: ErrorCode::parse(&error),
            });
        }
        let code = code.ok_or(TokenError::Callback("no code"))?;
        let client = self.inner.client();
        let mut exchange = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|_| TokenError::unavailable("the issuer publishes no token endpoint"))?
            .set_pkce_verifier(pending.verifier);
        for resource in &pending.resources {
            exchange = exchange.add_extra_param("resource", resource.clone());
        }
        for (name, value) in self.inner.assertion()? {
            exchange = exchange.add_extra_param(name, value);
        }
        let sent = Instant::now();
        let response = exchange
            .request_async(&self.inner.token_http())
            .await
            .map_err(super::credentials::token_error)?;
        let dpop = bound(response.token_type(), self.inner.party.dpop.is_some())?;
        let id_token = response
            .id_token()
            .ok_or_else(|| TokenError::Invalid("the token response has no ID token".into()))?;
        let id_token = self
            .inner
            .id_tokens
            .validate(id_token.to_string(), Some(pending.nonce.secret()))
            .await?;
        let access = AccessToken::new(
            SecretString::from(response.access_token().secret().to_owned()),
            response.expires_in(),
        )
        .bound(dpop);
        let refresh = response
            .refresh_token()
            .map(|r| SecretString::from(r.secret().to_owned()));
        Ok(LoggedIn::new(
            id_token,
            UserTokens::new(
                Arc::clone(&self.inner),
                access,
                refresh,
                sent,
                pending.resources,
            ),
        ))
    }
}

impl LoggedIn {
    /// The user of a validated ID token and their session.
    pub(super) fn new(id_token: IdToken, tokens: UserTokens) -> Self {
        Self {
            subject: id_token.subject().to_owned(),
            email: id_token
                .verified()
                .raw_claims()
                .get("email")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            id_token,
            tokens,
        }
    }
}
