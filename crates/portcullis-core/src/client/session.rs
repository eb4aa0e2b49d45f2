//! [`UserTokens`]: a user's session after login, its access token refreshed ahead of expiry with
//! refresh-token rotation, and [`SavedSession`]: what to store so the session outlives the
//! process.
//!
//! Concurrent refreshes of one session share one request, and a rotated refresh token replaces
//! the old one atomically together with the new access token: presenting an already rotated
//! refresh token makes servers revoke the whole grant (reuse detection), so two requests racing
//! with the same one would log the user out. For the same reason the refresh hook
//! ([`UserTokens::on_refresh`]) runs inside the one refresh, right after the new tokens are
//! stored: its calls never overlap and arrive in order, so the refresh token it stores last is
//! always the newest one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};
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

/// What [`UserTokens::on_refresh`] runs after each refresh: it gets the session to store.
type RefreshHook = dyn Fn(SavedSession) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

struct UserInner {
    provider: Arc<Provider>,
    state: ArcSwap<TokenState>,
    flight: TokenFlight,
    resources: Vec<String>,
    on_refresh: ArcSwapOption<Box<RefreshHook>>,
}

struct TokenState {
    /// `None` for a session restored without its access token: the first use refreshes.
    access: Option<AccessToken>,
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
        Self::from_state(provider, TokenState::new(access, refresh, sent), resources)
    }

    /// A session from what was saved: the access token is used until its refresh point, and
    /// without one the first use refreshes.
    pub(super) fn restore(provider: Arc<Provider>, saved: SavedSession) -> Self {
        let now = Instant::now();
        let state = match saved.access {
            Some((token, expires_at)) => {
                let left = expires_at
                    .duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO);
                let dpop = provider.party.dpop.is_some();
                TokenState::new(
                    AccessToken::new(token, Some(left)).bound(dpop),
                    Some(saved.refresh_token),
                    now,
                )
            }
            None => TokenState {
                access: None,
                refresh: Some(saved.refresh_token),
                refresh_at: now,
                expires_at: now,
            },
        };
        Self::from_state(provider, state, saved.resources)
    }

    fn from_state(provider: Arc<Provider>, state: TokenState, resources: Vec<String>) -> Self {
        Self {
            inner: Arc::new(UserInner {
                provider,
                state: ArcSwap::from_pointee(state),
                flight: TokenFlight::default(),
                resources,
                on_refresh: ArcSwapOption::empty(),
            }),
        }
    }
}

impl TokenState {
    fn new(access: AccessToken, refresh: Option<SecretString>, sent: Instant) -> Self {
        let lifetime = access.expires_in().unwrap_or(DEFAULT_UNKNOWN_LIFETIME);
        Self {
            access: Some(access),
            refresh,
            refresh_at: sent + refresh_after(lifetime, DEFAULT_REFRESH_AHEAD),
            expires_at: sent + lifetime,
        }
    }

    /// The access token, while it is valid.
    fn valid(&self) -> Option<AccessToken> {
        self.access
            .clone()
            .filter(|_| Instant::now() < self.expires_at)
    }
}

/// What to store so a user's session outlives the process: the refresh token, and optionally
/// the access token with its expiry (so a restored session does not refresh at once) and the
/// resources its tokens are for. Give it back to [`Login::restore`](super::Login::restore).
///
/// It holds credentials: store it as you would a password (encrypted, never in a log). `Debug`
/// shows none of them. A DPoP-bound session needs the same key after the restart: load the
/// login's [`DpopKey`] from PKCS#8 ([`DpopKey::from_pkcs8_pem`]) instead of generating it.
#[derive(Clone)]
pub struct SavedSession {
    refresh_token: SecretString,
    access: Option<(SecretString, SystemTime)>,
    resources: Vec<String>,
}

impl SavedSession {
    /// A session from its refresh token.
    pub fn new(refresh_token: impl Into<String>) -> Self {
        Self {
            refresh_token: SecretString::from(refresh_token.into()),
            access: None,
            resources: Vec::new(),
        }
    }

    /// The access token and when it expires, used until its refresh point.
    pub fn access_token(mut self, token: impl Into<String>, expires_at: SystemTime) -> Self {
        self.access = Some((SecretString::from(token.into()), expires_at));
        self
    }

    /// A resource (RFC 8707) the session's tokens are for, sent again with each refresh.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// The refresh token to store.
    pub fn refresh_token(&self) -> &str {
        self.refresh_token.expose_secret()
    }

    /// The access token and its expiry, to store too if you like.
    pub fn saved_access_token(&self) -> Option<(&str, SystemTime)> {
        self.access
            .as_ref()
            .map(|(token, at)| (token.expose_secret(), *at))
    }

    /// The resources the session's tokens are for.
    pub fn resources(&self) -> impl Iterator<Item = &str> {
        self.resources.iter().map(String::as_str)
    }
}

impl fmt::Debug for SavedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedSession")
            .field("refresh_token", &"<redacted>")
            .field("access_token", &self.access.as_ref().map(|(_, at)| at))
            .field("resources", &self.resources)
            .finish()
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
        if Instant::now() < state.refresh_at
            && let Some(access) = &state.access
        {
            return Ok(access.clone());
        }
        match self.refresh_shared(&state).await {
            // A failed refresh ahead of expiry keeps the token that is still valid.
            Err(error) => state.valid().ok_or(error),
            outcome => outcome,
        }
    }

    /// Refreshes now (the access token was refused, say): the result is newer than the token
    /// current when this was called. Callers that ask while a refresh is in flight share it.
    pub async fn refresh(&self) -> Result<AccessToken, TokenError> {
        let seen = self.inner.state.load_full();
        self.refresh_shared(&seen).await
    }

    /// What to store to restore this session later ([`Login::restore`](super::Login::restore)),
    /// or `None` when no refresh token was issued (ask for `offline_access`). Store it again
    /// after every refresh: [`on_refresh`](Self::on_refresh) does that for you.
    pub fn save(&self) -> Option<SavedSession> {
        save(&self.inner.state.load(), &self.inner.resources)
    }

    /// Runs `hook` after every refresh, with the session to store (the rotated refresh token and
    /// the new access token). The new tokens are in use before the hook runs, so a hook that
    /// fails, panics or is cancelled loses nothing in memory; it runs inside the one refresh, so
    /// calls never overlap and come in order (the last one stored is the newest), and callers
    /// that must wait for a refresh wait for the hook too: keep it short. A hook that fails
    /// should log and return. It may call [`access_token`](Self::access_token) and
    /// [`save`](Self::save) on this session (they see the new tokens), but not
    /// [`refresh`](Self::refresh), which would wait for the refresh it is part of. A session
    /// from [`Login::restore`](super::Login::restore) has no hook until given one. Replaces an
    /// earlier hook.
    pub fn on_refresh<F, Fut>(&self, hook: F)
    where
        F: Fn(SavedSession) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let hook: Box<RefreshHook> = Box::new(move |saved| Box::pin(hook(saved)));
        self.inner.on_refresh.store(Some(Arc::new(hook)));
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
        if !Arc::ptr_eq(&state, stale)
            && let Some(access) = state.valid()
        {
            return Ok(access);
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
        let dpop = bound(response.token_type(), inner.provider.party.dpop.is_some())?;
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
        // Stored before the hook runs: a hook that fails, panics or is cancelled with its
        // caller's future (a client hanging up, a timeout) cannot lose the rotated token.
        let state = Arc::new(TokenState::new(access.clone(), refresh, sent));
        inner.state.store(Arc::clone(&state));
        if let (Some(hook), Some(saved)) =
            (inner.on_refresh.load_full(), save(&state, &inner.resources))
        {
            hook(saved).await;
        }
        Ok(access)
    }
}

/// `state` as a [`SavedSession`], its expiry on the wall clock.
fn save(state: &TokenState, resources: &[String]) -> Option<SavedSession> {
    let refresh = state.refresh.as_ref()?;
    let mut saved = SavedSession {
        refresh_token: refresh.clone(),
        access: None,
        resources: resources.to_vec(),
    };
    if let Some(access) = state.valid() {
        let left = state.expires_at.saturating_duration_since(Instant::now());
        saved.access = Some((
            SecretString::from(access.secret().to_owned()),
            SystemTime::now() + left,
        ));
    }
    Some(saved)
}

impl TokenSource for UserTokens {
    fn token(&self) -> TokenSourceFuture<'_> {
        Box::pin(self.access_token())
    }

    fn dpop_key(&self) -> Option<&DpopKey> {
        self.inner.provider.party.dpop.as_ref()
    }

    fn invalidate(&self, token: &str) {
        // Mark it due: the next `token()` refreshes (once, however many callers).
        self.inner.state.rcu(|state| {
            let refused = state
                .access
                .as_ref()
                .is_some_and(|a| bool::from(a.secret().as_bytes().ct_eq(token.as_bytes())));
            if refused {
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
