//! OAuth 2.0 token exchange (RFC 8693) for on-behalf-of calls: a service that received a user's
//! token exchanges it for one meant for the next service (another audience, fewer scopes),
//! optionally naming itself as the actor, instead of forwarding the user's token as it is.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::credentials::TokenRequest;
use super::endpoint::{ClientSetup, Endpoint, Party, client_setters};
use super::{AccessToken, TokenError};
use crate::error::ConfigError;

/// The grant type of RFC 8693 §2.1.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8693 §3 token type identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenType {
    /// `urn:ietf:params:oauth:token-type:access_token`
    AccessToken,
    /// `urn:ietf:params:oauth:token-type:refresh_token`
    RefreshToken,
    /// `urn:ietf:params:oauth:token-type:id_token`
    IdToken,
    /// `urn:ietf:params:oauth:token-type:jwt`
    Jwt,
}

impl TokenType {
    /// The identifier on the wire.
    pub fn uri(self) -> &'static str {
        match self {
            Self::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
            Self::RefreshToken => "urn:ietf:params:oauth:token-type:refresh_token",
            Self::IdToken => "urn:ietf:params:oauth:token-type:id_token",
            Self::Jwt => "urn:ietf:params:oauth:token-type:jwt",
        }
    }
}

/// A token to exchange (the subject) or the actor's own token.
pub struct Subject {
    token: SecretString,
    kind: TokenType,
}

impl Subject {
    /// `token` of type `kind`.
    pub fn new(token: impl Into<String>, kind: TokenType) -> Self {
        Self {
            token: SecretString::from(token.into()),
            kind,
        }
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Token exchange at one authorization server, for one client.
#[derive(Debug)]
pub struct TokenExchange {
    party: Party,
    endpoint: Endpoint,
}

/// Builds a [`TokenExchange`]. The client usually authenticates ([`auth`](Self::auth)).
#[derive(Debug)]
pub struct TokenExchangeBuilder {
    setup: ClientSetup,
    token_url: Option<String>,
}

impl TokenExchangeBuilder {
    client_setters!();

    /// The token endpoint, instead of the issuer's discovered `token_endpoint`.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Checks the configuration. Nothing is fetched yet: call
    /// [`warm_up`](TokenExchange::warm_up) to find the endpoint at start-up.
    pub fn build(self) -> Result<TokenExchange, ConfigError> {
        let (issuer, party) = self.setup.party()?;
        Ok(TokenExchange {
            endpoint: Endpoint::new(self.token_url, &issuer, "token_endpoint", &party.fetcher)?,
            party,
        })
    }
}

impl TokenExchange {
    /// Exchange at `issuer`'s token endpoint (discovered unless
    /// [`token_url`](TokenExchangeBuilder::token_url) is given), as the client `client_id`.
    pub fn builder(issuer: &str, client_id: impl Into<String>) -> TokenExchangeBuilder {
        TokenExchangeBuilder {
            setup: ClientSetup::new(issuer, client_id),
            token_url: None,
        }
    }

    /// Finds the token endpoint now (discovery), so a wrong issuer fails at start-up.
    pub async fn warm_up(&self) -> Result<(), TokenError> {
        self.party.resolve(&self.endpoint).await.map(drop)
    }

    /// Exchanges `subject` for an access token described by `request` (its `resource`,
    /// `audience` and scopes name the target service), on behalf of `actor` when given
    /// (delegation, RFC 8693 §1.1; the new token then carries an `act` claim).
    ///
    /// The answer must be a Bearer token whose `issued_token_type` is the access-token type;
    /// anything else is refused.
    pub async fn exchange(
        &self,
        subject: &Subject,
        actor: Option<&Subject>,
        request: &TokenRequest,
    ) -> Result<AccessToken, TokenError> {
        let mut form = vec![
            ("grant_type", GRANT_TYPE.to_owned()),
            ("subject_token", subject.token.expose_secret().to_owned()),
            ("subject_token_type", subject.kind.uri().to_owned()),
            (
                "requested_token_type",
                TokenType::AccessToken.uri().to_owned(),
            ),
        ];
        if let Some(actor) = actor {
            form.push(("actor_token", actor.token.expose_secret().to_owned()));
            form.push(("actor_token_type", actor.kind.uri().to_owned()));
        }
        form.extend(request.form());
        let body = self.party.post(&self.endpoint, form, false).await?;
        let answer =
            crate::oauth_response::token_answer(&body, false).map_err(TokenError::unavailable)?;
        if answer.issued_token_type.as_deref() != Some(TokenType::AccessToken.uri()) {
            return Err(TokenError::unavailable(
                "the exchange did not issue an access token (issued_token_type)",
            ));
        }
        Ok(AccessToken::new(
            secrecy::SecretString::from(answer.access_token),
            answer.expires_in.map(std::time::Duration::from_secs),
        ))
    }
}
