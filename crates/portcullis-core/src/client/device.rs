//! The device authorization grant (RFC 8628): for devices without a browser, the user approves
//! on another device while this one polls the token endpoint.
//!
//! Polling follows §3.5 exactly: wait `interval` (5 s when the server names none) before each
//! request; `authorization_pending` means ask again after `interval`; `slow_down` adds 5 s to
//! the interval for this and every later request; `access_denied` and `expired_token` end the
//! flow; so does the code's own `expires_in`, without another request.
//!
//! The flow is OpenID Connect's: `openid` is always asked, and what approval gives is what a
//! login gives, a [`LoggedIn`] with a validated ID token (checked as a login's is, on the
//! provider's key cache; the device flow sends no `nonce`) and a refreshing [`UserTokens`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;

use super::credentials::TokenRequest;
use super::dpop::DpopKey;
use super::endpoint::{ClientSetup, client_setters};
use super::login::LoggedIn;
use super::provider::Provider;
use super::session::UserTokens;
use super::{AccessToken, ErrorCode, TokenError};
use crate::json;

/// Poll interval when the server names none (RFC 8628 §3.2).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// A server-named interval above this is refused: 60 s (a typo would otherwise stall the flow).
const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// A code lifetime above this is capped: 30 min.
const MAX_CODE_LIFETIME: Duration = Duration::from_secs(1800);

/// The device flow for one public or confidential client at one provider. Cheap to clone.
#[derive(Clone)]
pub struct DeviceFlow {
    provider: Arc<Provider>,
    device_endpoint: Url,
    token_endpoint: Url,
}

impl fmt::Debug for DeviceFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceFlow")
            .field("issuer", &self.provider.issuer)
            .field("client_id", &self.provider.party.client_id)
            .field("device_endpoint", &self.device_endpoint.as_str())
            .finish_non_exhaustive()
    }
}

/// Builds a [`DeviceFlow`]: a public client unless [`auth`](Self::auth) says otherwise.
#[derive(Debug)]
pub struct DeviceFlowBuilder {
    setup: ClientSetup,
}

impl DeviceFlowBuilder {
    client_setters!();

    /// Asks for DPoP-bound tokens (RFC 9449 §5): the token requests and every refresh carry a
    /// proof by `key`, and the access token must come back as `token_type: DPoP`.
    pub fn dpop(mut self, key: DpopKey) -> Self {
        self.setup.dpop = Some(key);
        self
    }

    /// Discovers the provider (its `issuer` must match exactly, and it must publish a
    /// `device_authorization_endpoint`) and fetches its keys, so a wrong URL or an unreachable
    /// provider fails here, at start-up.
    pub async fn discover(self) -> Result<DeviceFlow, TokenError> {
        let provider = Provider::discover(self.setup, None).await?;
        let device = provider
            .metadata
            .additional_metadata()
            .device_authorization_endpoint
            .clone();
        let device_endpoint =
            provider.endpoint("device_authorization_endpoint", device.as_deref())?;
        let token = provider.metadata.token_endpoint().map(|u| u.url().as_str());
        let token_endpoint = provider.endpoint("token_endpoint", token)?;
        Ok(DeviceFlow {
            provider: Arc::new(provider),
            device_endpoint,
            token_endpoint,
        })
    }
}

/// What to show the user, and what to poll with.
pub struct DeviceAuthorization {
    device_code: SecretString,
    /// The code the user types.
    pub user_code: String,
    /// Where the user types it.
    pub verification_uri: String,
    /// The same with the code filled in (for a QR code), if the server offers one.
    pub verification_uri_complete: Option<String>,
    /// How long the codes are valid (at most 30 min is honoured).
    pub expires_in: Duration,
    /// The poll interval the server asked for.
    pub interval: Duration,
    issued: Instant,
    resources: Vec<String>,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// What one poll answer means for the next step (RFC 8628 §3.5).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Poll {
    /// Ask again after this interval.
    Wait(Duration),
    /// The flow is over with this error.
    Stop(ErrorCode),
}

/// The next step after an error answer, given the current interval.
pub(crate) fn next_step(code: ErrorCode, interval: Duration) -> Poll {
    match code {
        ErrorCode::AuthorizationPending => Poll::Wait(interval),
        ErrorCode::SlowDown => Poll::Wait(interval + SLOW_DOWN_STEP),
        other => Poll::Stop(other),
    }
}

impl DeviceFlow {
    /// The device flow at `issuer` (endpoints discovered: `device_authorization_endpoint` and
    /// `token_endpoint`) for `client_id`.
    pub fn builder(issuer: &str, client_id: impl Into<String>) -> DeviceFlowBuilder {
        DeviceFlowBuilder {
            setup: ClientSetup::new(issuer, client_id),
        }
    }

    /// Starts the flow: the codes to show the user. `request` names the scopes (`openid` is
    /// always asked; `offline_access` for a refresh token) and resources.
    pub async fn start(&self, request: &TokenRequest) -> Result<DeviceAuthorization, TokenError> {
        let request = request.clone().scope("openid");
        let body = self
            .provider
            .party
            .post_to(self.device_endpoint.clone(), request.form(), false)
            .await?;
        let body = json::parse_object(&body)
            .map_err(|_| TokenError::unavailable("the device authorization answer is not JSON"))?;
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        let missing = || TokenError::unavailable("the device authorization answer is incomplete");
        let interval = match body.get("interval").and_then(Value::as_u64) {
            Some(secs) if Duration::from_secs(secs) > MAX_INTERVAL => {
                return Err(TokenError::unavailable(
                    "the server asks for a poll interval above 60 s",
                ));
            }
            Some(secs) => Duration::from_secs(secs.max(1)),
            None => DEFAULT_POLL_INTERVAL,
        };
        Ok(DeviceAuthorization {
            device_code: SecretString::from(text("device_code").ok_or_else(missing)?),
            user_code: text("user_code").ok_or_else(missing)?,
            verification_uri: text("verification_uri").ok_or_else(missing)?,
            verification_uri_complete: text("verification_uri_complete"),
            expires_in: body
                .get("expires_in")
                .and_then(Value::as_u64)
                .map(Duration::from_secs)
                .ok_or_else(missing)?
                .min(MAX_CODE_LIFETIME),
            interval,
            issued: Instant::now(),
            resources: request.resources().map(str::to_owned).collect(),
        })
    }

    /// Polls until the user approves (the user's [`LoggedIn`]), denies (`access_denied`), or
    /// the codes expire (`expired_token`). While the server is unavailable (a timeout, a 5xx) polling
    /// goes on at twice the interval each time, at most 60 s apart (RFC 8628 §3.5): the user
    /// may be approving on the other device meanwhile. If the codes expire while it still is,
    /// the answer is that [`TokenError::Unavailable`].
    pub async fn poll(&self, authorization: &DeviceAuthorization) -> Result<LoggedIn, TokenError> {
        let deadline = authorization.issued + authorization.expires_in;
        let mut interval = authorization.interval;
        let mut unavailable = None;
        loop {
            if Instant::now() + interval >= deadline {
                return Err(unavailable.unwrap_or_else(|| TokenError::Rejected {
                    code: ErrorCode::ExpiredToken,
                    description: Some("the device code expired before approval".into()),
                }));
            }
            tokio::time::sleep(interval).await;
            match self.ask(authorization).await {
                // Answered 200: the device code is spent, whatever comes of the answer.
                Ok(answered) => return answered,
                Err(TokenError::Rejected { code, description }) => {
                    unavailable = None;
                    match next_step(code, interval) {
                        Poll::Wait(next) => interval = next,
                        Poll::Stop(code) => return Err(TokenError::Rejected { code, description }),
                    }
                }
                Err(error @ TokenError::Unavailable { .. }) => {
                    unavailable = Some(error);
                    interval = (interval * 2).min(MAX_INTERVAL);
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// One poll. The outer error is the exchange's (a refusal, or a failure before any answer,
    /// which a later poll may get past); the inner result is what a 200 gave, final either way.
    async fn ask(
        &self,
        authorization: &DeviceAuthorization,
    ) -> Result<Result<LoggedIn, TokenError>, TokenError> {
        let provider = &self.provider;
        let form = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:device_code".to_owned(),
            ),
            (
                "device_code",
                authorization.device_code.expose_secret().to_owned(),
            ),
        ];
        let sent = Instant::now();
        let dpop = provider.party.dpop.is_some();
        let body = provider
            .party
            .post_to(self.token_endpoint.clone(), form, true)
            .await?;
        Ok(self.approved(&body, dpop, sent, authorization).await)
    }

    /// The user of a 200 answer.
    async fn approved(
        &self,
        body: &[u8],
        dpop: bool,
        sent: Instant,
        authorization: &DeviceAuthorization,
    ) -> Result<LoggedIn, TokenError> {
        let provider = &self.provider;
        let answer =
            crate::oauth_response::token_answer(body, dpop).map_err(TokenError::unavailable)?;
        let raw = answer
            .id_token
            .ok_or_else(|| TokenError::Invalid("the token response has no ID token".into()))?;
        let id_token = provider.id_tokens.validate(raw, None).await?;
        let access = AccessToken::new(
            SecretString::from(answer.access_token),
            answer.expires_in.map(Duration::from_secs),
        )
        .bound(dpop);
        let tokens = UserTokens::new(
            Arc::clone(provider),
            access,
            answer.refresh_token.map(SecretString::from),
            sent,
            authorization.resources.clone(),
        );
        Ok(LoggedIn::new(id_token, tokens))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_follows_rfc_8628() {
        let five = Duration::from_secs(5);
        assert_eq!(
            next_step(ErrorCode::AuthorizationPending, five),
            Poll::Wait(five)
        );
        assert_eq!(
            next_step(ErrorCode::SlowDown, five),
            Poll::Wait(Duration::from_secs(10))
        );
        assert_eq!(
            next_step(ErrorCode::SlowDown, Duration::from_secs(10)),
            Poll::Wait(Duration::from_secs(15)),
            "slow_down accumulates"
        );
        for stop in [
            ErrorCode::AccessDenied,
            ErrorCode::ExpiredToken,
            ErrorCode::InvalidGrant,
            ErrorCode::InvalidClient,
        ] {
            assert_eq!(next_step(stop.clone(), five), Poll::Stop(stop));
        }
    }
}
