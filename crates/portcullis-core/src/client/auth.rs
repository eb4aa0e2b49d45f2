//! How the client authenticates to the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};

use super::TokenError;
use crate::crypto::SigningKey;
use crate::error::ConfigError;
use crate::token::Algorithm;

/// Lifetime of a `private_key_jwt` assertion: 60 s. It is used once, right away; a short life
/// limits what a captured assertion is worth.
const ASSERTION_LIFETIME: u64 = 60;

/// Client authentication at the token endpoint.
///
/// `Debug` never shows a secret or key.
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: the id and secret, each form-urlencoded (RFC 6749 §2.3.1), in an
    /// HTTP Basic `Authorization` header.
    SecretBasic(SecretString),
    /// `client_secret_post`: the id and secret in the request body.
    SecretPost(SecretString),
    /// `private_key_jwt` (RFC 7523 §2.2): a fresh assertion signed with the client's key on every
    /// token request; no secret travels.
    PrivateKeyJwt(AssertionKey),
    /// `none`: a public client (only the id is sent).
    None,
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientAuth::SecretBasic(_) => "SecretBasic(<redacted>)",
            ClientAuth::SecretPost(_) => "SecretPost(<redacted>)",
            ClientAuth::PrivateKeyJwt(_) => "PrivateKeyJwt(<redacted>)",
            ClientAuth::None => "None",
        })
    }
}

/// The `client_assertion_type` of a `private_key_jwt` assertion (RFC 7523 §2.2).
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Every way a request of this crate authenticates its client is decided here: the form requests
/// it sends itself ([`apply`](ClientAuth::apply)) and those `oauth2` / `openidconnect` send
/// ([`oauth2_secret`](ClientAuth::oauth2_secret) plus
/// [`assertion_params`](ClientAuth::assertion_params)).
impl ClientAuth {
    /// For a client of `oauth2` or `openidconnect`: the secret to give it and where it sends it.
    pub(crate) fn oauth2_secret(&self) -> (Option<oauth2::ClientSecret>, oauth2::AuthType) {
        let secret =
            |s: &SecretString| Some(oauth2::ClientSecret::new(s.expose_secret().to_owned()));
        match self {
            ClientAuth::SecretBasic(s) => (secret(s), oauth2::AuthType::BasicAuth),
            ClientAuth::SecretPost(s) => (secret(s), oauth2::AuthType::RequestBody),
            ClientAuth::PrivateKeyJwt(_) | ClientAuth::None => {
                (None, oauth2::AuthType::RequestBody)
            }
        }
    }

    /// The body parameters `oauth2` does not add itself: a fresh `private_key_jwt` assertion
    /// for `endpoint`, when that is how the client authenticates.
    pub(crate) fn assertion_params(
        &self,
        client_id: &str,
        endpoint: &str,
    ) -> Result<Vec<(&'static str, String)>, TokenError> {
        match self {
            ClientAuth::PrivateKeyJwt(key) => Ok(vec![
                ("client_assertion_type", JWT_BEARER_ASSERTION.to_owned()),
                ("client_assertion", key.assertion(client_id, endpoint)?),
            ]),
            _ => Ok(Vec::new()),
        }
    }

    /// Authenticates a form request to `endpoint` (not through `oauth2`): adds the body
    /// parameters and returns the `Authorization` header to send, if any.
    pub(crate) fn apply(
        &self,
        client_id: &str,
        endpoint: &str,
        form: &mut Vec<(&'static str, String)>,
    ) -> Result<Option<http::HeaderValue>, TokenError> {
        match self {
            ClientAuth::SecretBasic(secret) => {
                // RFC 6749 §2.3.1: each part form-urlencoded before Basic encoding.
                let encode = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let pair = format!("{}:{}", encode(client_id), encode(secret.expose_secret()));
                let mut value =
                    http::HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(pair)))
                        .map_err(|_| {
                            TokenError::unavailable("the client credentials are not a valid header")
                        })?;
                value.set_sensitive(true);
                Ok(Some(value))
            }
            ClientAuth::SecretPost(secret) => {
                form.push(("client_id", client_id.to_owned()));
                form.push(("client_secret", secret.expose_secret().to_owned()));
                Ok(None)
            }
            ClientAuth::PrivateKeyJwt(_) => {
                form.push(("client_id", client_id.to_owned()));
                form.extend(self.assertion_params(client_id, endpoint)?);
                Ok(None)
            }
            ClientAuth::None => {
                form.push(("client_id", client_id.to_owned()));
                Ok(None)
            }
        }
    }
}

/// The DER inside a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
pub(crate) fn pkcs8_pem(pem: &str) -> Result<Vec<u8>, &'static str> {
    let body: String = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")
        .and_then(|rest| rest.strip_suffix("-----END PRIVATE KEY-----"))
        .ok_or("not a PKCS#8 PEM key (convert with `openssl pkcs8 -topk8 -nocrypt`)")?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|_| "the PEM body is not base64")
}

/// The private key a `private_key_jwt` client signs its assertions with.
pub struct AssertionKey {
    key: Box<SigningKey>,
    alg: Algorithm,
    kid: Option<String>,
}

impl fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl AssertionKey {
    /// A PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`) for `alg`: RS256 (RSA, at least
    /// 2048 bits) or ES256 (P-256).
    pub fn from_pkcs8_pem(pem: &str, alg: Algorithm) -> Result<Self, ConfigError> {
        let invalid = |why| ConfigError::InvalidValue {
            name: "assertion key",
            why,
        };
        let der = pkcs8_pem(pem).map_err(invalid)?;
        let key = Box::new(SigningKey::from_pkcs8_der(&der, alg).map_err(invalid)?);
        Ok(Self {
            key,
            alg,
            kid: None,
        })
    }

    /// The `kid` to put in the assertion's header (the key's id in the client's registered JWKS).
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// A signed assertion: `iss` = `sub` = the client id, `aud` = the token endpoint, a random
    /// `jti`, and a 60-second life.
    pub(crate) fn assertion(&self, client_id: &str, audience: &str) -> Result<String, TokenError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|_| TokenError::unavailable("no randomness"))?;
        let header = match &self.kid {
            Some(kid) => serde_json::json!({"alg": self.alg.name(), "typ": "JWT", "kid": kid}),
            None => serde_json::json!({"alg": self.alg.name(), "typ": "JWT"}),
        };
        let claims = serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(input.as_bytes())
            .map_err(|why| TokenError::unavailable(format!("assertion signing failed: {why}")))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}
