//! The device authorization grant (RFC 8628): for devices without a browser, the user approves
//! on another device while this one polls the token endpoint.
//!
//! Polling follows §3.5 exactly: wait `interval` (5 s when the server names none) before each
//! request; `authorization_pending` means ask again after `interval`; `slow_down` adds 5 s to
//! the interval for this and every later request; `access_denied` and `expired_token` end the
//! flow; so does the code's own `expires_in`, without another request.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;

use super::auth::ClientAuth;
use super::credentials::TokenRequest;
use super::dpop::DpopKey;
use super::endpoint::{Endpoint, Party};
use super::{AccessToken, ErrorCode, TokenError, Tokens};
use crate::error::ConfigError;
use crate::json;

/// Poll interval when the server names none (RFC 8628 §3.2).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// A server-named interval above this is refused: 60 s (a typo would otherwise stall the flow).
const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// A code lifetime above this is capped: 30 min.
const MAX_CODE_LIFETIME: Duration = Duration::from_secs(1800);

/// The device flow for one public or confidential client.
#[derive(Debug)]
pub struct DeviceFlow {
    party: Party,
    device_endpoint: Endpoint,
    token_endpoint: Endpoint,
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
    /// `token_endpoint`) for `client_id`, usually a public client (`ClientAuth::None`).
    pub fn new(
        issuer: &str,
        client_id: impl Into<String>,
        auth: ClientAuth,
    ) -> Result<Self, ConfigError> {
        let party = Party::new(client_id.into(), auth)?;
        Ok(Self {
            device_endpoint: Endpoint::new(
                None,
                issuer,
                "device_authorization_endpoint",
                &party.fetcher,
            )?,
            token_endpoint: Endpoint::new(None, issuer, "token_endpoint", &party.fetcher)?,
            party,
        })
    }

    /// Sends requests with this client (proxies, private roots). Redirects must be disabled on
    /// it; the 5 s deadline and the 64 KiB body cap still apply.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.party.fetcher = self.party.fetcher.with_client(client);
        self
    }

    /// Asks for DPoP-bound tokens (RFC 9449 §5): the token requests carry a proof by `key`,
    /// and the access token must come back as `token_type: DPoP`.
    pub fn dpop(mut self, key: DpopKey) -> Self {
        self.party.dpop = Some(key);
        self
    }

    /// Starts the flow: the codes to show the user.
    pub async fn start(&self, request: &TokenRequest) -> Result<DeviceAuthorization, TokenError> {
        let body = self
            .party
            .post(&self.device_endpoint, request.form(), false)
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
        })
    }

    /// Polls until the user approves (the tokens), denies (`access_denied`), or the codes
    /// expire (`expired_token`). While the server is unavailable (a timeout, a 5xx) polling
    /// goes on at twice the interval each time, at most 60 s apart (RFC 8628 §3.5): the user
    /// may be approving on the other device meanwhile. If the codes expire while it still is,
    /// the answer is that [`TokenError::Unavailable`].
    pub async fn poll(&self, authorization: &DeviceAuthorization) -> Result<Tokens, TokenError> {
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
                Ok(tokens) => return Ok(tokens),
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

    async fn ask(&self, authorization: &DeviceAuthorization) -> Result<Tokens, TokenError> {
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
        let body = self.party.post(&self.token_endpoint, form, true).await?;
        Tokens::from_response(&body, self.party.dpop.is_some())
    }
}

impl Tokens {
    /// Reads a successful token response (RFC 6749 §5.1): a Bearer `access_token`, and the
    /// optional `refresh_token`, `id_token` and `scope`.
    /// The tokens of a token response; `dpop` when the request proved a key, so the access
    /// token must be DPoP-bound.
    pub(crate) fn from_response(body: &[u8], dpop: bool) -> Result<Self, TokenError> {
        let answer =
            crate::oauth_response::token_answer(body, dpop).map_err(TokenError::unavailable)?;
        Ok(Self {
            access_token: AccessToken::new(
                SecretString::from(answer.access_token),
                answer.expires_in.map(Duration::from_secs),
            )
            .bound(dpop),
            refresh_token: answer.refresh_token.map(SecretString::from),
            id_token: answer.id_token.map(SecretString::from),
            scope: answer.scope,
            issued_token_type: answer.issued_token_type,
        })
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
