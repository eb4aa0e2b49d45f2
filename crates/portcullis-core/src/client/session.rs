//! [`UserTokens`]: a user's session after login, its access token refreshed ahead of expiry with
//! refresh-token rotation.
//!
//! Concurrent refreshes of one session share one request, and a rotated refresh token replaces
//! the old one atomically together with the new access token: presenting an already rotated
//! refresh token makes servers revoke the whole grant (reuse detection), so two requests racing
//! with the same one would log the user out.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use openidconnect::{OAuth2TokenResponse as _, RefreshToken};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::credentials::{DEFAULT_REFRESH_AHEAD, DEFAULT_UNKNOWN_LIFETIME, bound, refresh_after};
use super::dpop::DpopKey;
use super::flight::TokenFlight;
use super::provider::Provider;
use super::{AccessToken, ErrorCode, TokenError, TokenSource, TokenSourceFuture};

/// A user's tokens after login: the access token, refreshed ahead of expiry with the refresh
/// token (rotated atomically). Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct UserTokens {
    inner: Arc<UserInner>,
}

struct UserInner {
    provider: Arc<Provider>,
    state: ArcSwap<TokenState>,
    flight: TokenFlight,
    resources: Vec<String>,
}

struct TokenState {
    access: AccessToken,
    refresh: Option<SecretString>,
    refresh_at: Instant,
    expires_at: Instant,
}

impl UserTokens {
    /// The session a login produced: `sent` is when the token request went out.
    pub(super) fn new(
        provider: Arc<Provider>,
        access: AccessToken,
        refresh: Option<SecretString>,
        sent: Instant,
        resources: Vec<String>,
    ) -> Self {
        Self {
            inner: Arc::new(UserInner {
                provider,
                state: ArcSwap::from_pointee(TokenState::new(access, refresh, sent)),
                flight: TokenFlight::default(),
                resources,
            }),
        }
    }
}

impl TokenState {
    fn new(access: AccessToken, refresh: Option<SecretString>, sent: Instant) -> Self {
        let lifetime = access.expires_in().unwrap_or(DEFAULT_UNKNOWN_LIFETIME);
        Self {
            access,
            refresh,
            refresh_at: sent + refresh_after(lifetime, DEFAULT_REFRESH_AHEAD),
            expires_at: sent + lifetime,
        }
    }
}

impl fmt::Debug for UserTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.load();
        f.debug_struct("UserTokens")
            .field("access_token", &state.access)
            .field(
                "refresh_token",
                &state.refresh.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl UserTokens {
    /// A valid access token: the current one, or a refreshed one from the refresh point on.
    pub async fn access_token(&self) -> Result<AccessToken, TokenError> {
        let state = self.inner.state.load_full();
        if Instant::now() < state.refresh_at {
            return Ok(state.access.clone());
        }
        match self.refresh_shared(&state).await {
            // A failed refresh ahead of expiry keeps the token that is still valid.
            Err(_) if Instant::now() < state.expires_at => Ok(state.access.clone()),
            outcome => outcome,
        }
    }

    /// Refreshes now (the access token was refused, say): the result is newer than the token
    /// current when this was called. Callers that ask while a refresh is in flight share it.
    pub async fn refresh(&self) -> Result<AccessToken, TokenError> {
        let seen = self.inner.state.load_full();
        self.refresh_shared(&seen).await
    }

    /// The current refresh token, to persist the session (it changes on rotation).
    pub fn refresh_token(&self) -> Option<String> {
        self.inner
            .state
            .load()
            .refresh
            .as_ref()
            .map(|r| r.expose_secret().to_owned())
    }

    /// One refresh for everyone who needs one: `stale` is the state the caller found wanting.
    /// Once it is this caller's turn, a newer state (someone refreshed meanwhile) is shared, and
    /// so is a failure that ran while it waited or moments ago (as client credentials do).
    async fn refresh_shared(&self, stale: &Arc<TokenState>) -> Result<AccessToken, TokenError> {
        let inner = &*self.inner;
        let turn = inner.flight.turn().await;
        let state = inner.state.load_full();
        if !Arc::ptr_eq(&state, stale) && Instant::now() < state.expires_at {
            return Ok(state.access.clone());
        }
        if let Some(error) = turn.shared_failure() {
            return Err(error);
        }
        turn.attempt(self.refresh_once()).await
    }

    async fn refresh_once(&self) -> Result<AccessToken, TokenError> {
        let inner = &*self.inner;
        let current = inner.state.load_full();
        let Some(refresh) = &current.refresh else {
            return Err(TokenError::Rejected {
                code: ErrorCode::InvalidGrant,
                description: Some("no refresh token was issued".into()),
            });
        };
        let client = inner.provider.client();
        let refresh_token = RefreshToken::new(refresh.expose_secret().to_owned());
        let mut request = client
            .exchange_refresh_token(&refresh_token)
            .map_err(|_| TokenError::unavailable("the issuer publishes no token endpoint"))?;
        for resource in &inner.resources {
            request = request.add_extra_param("resource", resource.clone());
        }
        for (name, value) in inner.provider.assertion()? {
            request = request.add_extra_param(name, value);
        }
        let sent = Instant::now();
        let response = request
            .request_async(&inner.provider.token_http())
            .await
            .map_err(super::credentials::token_error)?;
        let dpop = bound(response.token_type(), inner.provider.dpop.is_some())?;
        let access = AccessToken::new(
            SecretString::from(response.access_token().secret().to_owned()),
            response.expires_in(),
        )
        .bound(dpop);
        // Rotation: the new refresh token, or the old one when the server keeps it. Stored in
        // one swap with the access token, so no caller ever pairs the new access token with a
        // refresh token that is already spent.
        let refresh = response
            .refresh_token()
            .map(|r| SecretString::from(r.secret().to_owned()))
            .or_else(|| current.refresh.clone());
        inner
            .state
            .store(Arc::new(TokenState::new(access.clone(), refresh, sent)));
        Ok(access)
    }
}

impl TokenSource for UserTokens {
    fn token(&self) -> TokenSourceFuture<'_> {
        Box::pin(self.access_token())
    }

    fn dpop_key(&self) -> Option<&DpopKey> {
        self.inner.provider.dpop.as_ref()
    }

    fn invalidate(&self, token: &str) {
        // Mark it due: the next `token()` refreshes (once, however many callers).
        self.inner.state.rcu(|state| {
            if bool::from(state.access.secret().as_bytes().ct_eq(token.as_bytes())) {
                Arc::new(TokenState {
                    access: state.access.clone(),
                    refresh: state.refresh.clone(),
                    refresh_at: Instant::now(),
                    expires_at: Instant::now(),
                })
            } else {
                Arc::clone(state)
            }
        });
    }
}
