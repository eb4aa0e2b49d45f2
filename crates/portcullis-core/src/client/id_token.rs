//! ID tokens (OpenID Connect Core §3.1.3.7), validated by portcullis' own [`Verifier`] over a
//! [`RemoteJwks`] of the provider's `jwks_uri`, not by `openidconnect`'s key snapshot: a
//! provider rotating its signing key is a routine event, and the key cache's rules for it
//! (refetch on an unknown `kid`, at most once per cooldown; keep serving through an outage)
//! apply to logins as they do to access tokens.
//!
//! On top of the verifier's checks (signature, `iss` exact, `aud` containing the client id,
//! `exp`, `iat` and `sub` required, `typ` absent or `JWT`): the `nonce` of the login, compared
//! in constant time, and `azp` equal to the client id when present (required when the token
//! names several audiences).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use subtle::ConstantTimeEq;

use super::TokenError;
use crate::error::{AuthError, Reason};
use crate::keys::RemoteJwks;
use crate::token::TypPolicy;
use crate::verifier::{TokenCache, Verified, Verifier};

/// The longest ID token accepted: 64 KiB, the cap on the token response that carries it.
const ID_TOKEN_MAX_LEN: usize = 64 * 1024;

/// The validated ID token of a login. `Debug` shows its issuer and subject, never the token.
#[derive(Clone)]
pub struct IdToken {
    raw: SecretString,
    verified: Verified<Value>,
}

impl IdToken {
    /// `sub`: the user at the provider.
    pub fn subject(&self) -> &str {
        self.verified.subject().unwrap_or_default()
    }

    /// `sid`, the provider's session, when it sent one (what a back-channel logout names).
    pub fn session_id(&self) -> Option<&str> {
        self.verified.session_id()
    }

    /// The validated token with every claim: issuer, audiences, expiry, and
    /// [`raw_claims`](Verified::raw_claims).
    pub fn verified(&self) -> &Verified<Value> {
        &self.verified
    }

    /// The claims typed as `C` (`email`, `name`, your provider's own claims).
    pub fn claims<C: DeserializeOwned>(&self) -> Result<C, TokenError> {
        self.verified
            .typed::<C>()
            .map(Verified::into_claims)
            .map_err(|_| {
                TokenError::Invalid("the ID token's claims do not have the requested type".into())
            })
    }

    /// The token as the provider issued it, for `id_token_hint` at logout. Treat it as a
    /// credential: it names the user and the session.
    pub fn raw(&self) -> &str {
        self.raw.expose_secret()
    }
}

impl fmt::Debug for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdToken")
            .field("issuer", &self.verified.issuer())
            .field("subject", &self.subject())
            .finish_non_exhaustive()
    }
}

/// The ID-token rules of one client at one provider.
pub(super) struct IdTokens {
    verifier: Verifier,
    client_id: String,
}

impl IdTokens {
    pub(super) fn new(
        issuer: &str,
        client_id: &str,
        keys: RemoteJwks,
    ) -> Result<Self, crate::ConfigError> {
        let verifier = Verifier::builder()
            .issuer(issuer)
            .audience(client_id)
            .typ(TypPolicy::IdToken)
            .require_claim("iat")
            .require_claim("sub")
            // ID tokens carry the user's claims (groups, roles), often past an access token's
            // 16 KiB; the token response they come in is capped at 64 KiB anyway.
            .max_token_len(ID_TOKEN_MAX_LEN)
            // Each ID token is checked once, at its login.
            .token_cache(TokenCache::disabled())
            .key_source(keys)
            .build()?;
        Ok(Self {
            verifier,
            client_id: client_id.to_owned(),
        })
    }

    /// Validates `raw`, the ID token of the login that sent `nonce` (the device flow sends
    /// none, so its ID tokens are not asked for one).
    pub(super) async fn validate(
        &self,
        raw: String,
        nonce: Option<&str>,
    ) -> Result<IdToken, TokenError> {
        let verified = self
            .verifier
            .verify::<Value>(&raw)
            .await
            .map_err(|error| match error {
                AuthError::Unavailable { reason, .. } => {
                    TokenError::unavailable(format!("the provider's keys: {reason}"))
                }
                other => TokenError::Invalid(format!("ID token {}", explain(other.reason()))),
            })?;
        let claims = verified.raw_claims();
        if let Some(nonce) = nonce {
            let sent = claims.get("nonce").and_then(Value::as_str);
            // Constant time: how long the comparison takes says nothing about how much matched.
            if !sent.is_some_and(|n| bool::from(n.as_bytes().ct_eq(nonce.as_bytes()))) {
                return Err(TokenError::Invalid(
                    "ID token nonce does not match the login (a replayed or injected ID token)"
                        .into(),
                ));
            }
        }
        let several = verified.audiences().nth(1).is_some();
        match claims.get("azp") {
            Some(Value::String(azp)) if *azp == self.client_id => {}
            None if !several => {}
            _ => {
                return Err(TokenError::Invalid(
                    "ID token azp is not this client (or missing beside several audiences)".into(),
                ));
            }
        }
        Ok(IdToken {
            raw: SecretString::from(raw),
            verified,
        })
    }
}

/// What a verifier's reason means for an ID token, in words an operator can act on.
fn explain(reason: Reason) -> String {
    let what = match reason {
        Reason::UnknownKey => {
            "signed with a key the provider does not publish, even after fetching its keys again"
        }
        Reason::BadSignature => "the signature does not verify with the provider's key",
        Reason::Expired => "expired",
        Reason::BadIssuer => "issued by another issuer",
        Reason::BadAudience => "issued to another client",
        Reason::AlgNotAllowed => "signed with an algorithm not on the allow-list",
        Reason::BadType => "not an ID token (typ)",
        _ => return reason.to_string(),
    };
    format!("{what} ({reason})")
}
