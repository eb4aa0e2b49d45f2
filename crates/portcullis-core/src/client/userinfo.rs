//! The UserInfo endpoint (OpenID Connect Core §5.3): the user's claims, fetched with the
//! session's access token and used only when their `sub` is the one the ID token named
//! (§5.3.2: a response about anyone else could be a substitution).

use http::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::TokenSource as _;
use super::http::Http;
use super::provider::Provider;
use super::session::UserTokens;
use super::{ErrorCode, TokenError};

/// Asks `provider`'s UserInfo endpoint about the user of `tokens`, who must be `subject`.
pub(super) async fn userinfo<C: DeserializeOwned>(
    provider: &Provider,
    tokens: &UserTokens,
    subject: &str,
) -> Result<C, TokenError> {
    let endpoint = provider
        .metadata
        .userinfo_endpoint()
        .map(|url| url.url().as_str());
    let endpoint = provider.endpoint("userinfo_endpoint", endpoint)?;
    let access = tokens.access_token().await?;
    let key = provider.party.dpop.as_ref().filter(|_| access.is_dpop());
    let scheme = if key.is_some() { "DPoP" } else { "Bearer" };
    let mut credential =
        HeaderValue::from_str(&format!("{scheme} {}", access.secret())).map_err(|_| {
            TokenError::Invalid("userinfo: the access token cannot be sent in a header".into())
        })?;
    credential.set_sensitive(true);
    let request = http::Request::get(endpoint.as_str())
        .header(ACCEPT, "application/json")
        .header(AUTHORIZATION, credential)
        .body(Vec::new())
        .map_err(|_| TokenError::Invalid("userinfo: invalid request".into()))?;
    // With a DPoP-bound token, the proof hashes it and the server's nonce is followed once.
    let response = Http::new(&provider.party.fetcher)
        .dpop(key)
        .bound_to(access.secret())
        .send(request)
        .await
        .map_err(TokenError::unavailable)?;
    match response.status() {
        http::StatusCode::OK => {}
        http::StatusCode::UNAUTHORIZED | http::StatusCode::FORBIDDEN => {
            // Refused (revoked, say): the next use of the session gets a new one.
            tokens.invalidate(access.secret());
            return Err(TokenError::Rejected {
                code: ErrorCode::parse("invalid_token"),
                description: Some("the userinfo endpoint refused the access token".into()),
            });
        }
        status => {
            return Err(TokenError::unavailable(format!(
                "userinfo: status {}",
                status.as_u16()
            )));
        }
    }
    let json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(crate::fetch::is_json);
    if !json {
        // A signed or encrypted answer (`application/jwt`) is not read here.
        return Err(TokenError::Invalid(
            "userinfo: the answer is not JSON".into(),
        ));
    }
    let claims = crate::json::parse_object(response.body())
        .map_err(|_| TokenError::Invalid("userinfo: the answer is not a JSON object".into()))?;
    if claims.get("sub").and_then(Value::as_str) != Some(subject) {
        return Err(TokenError::Invalid(
            "userinfo: the answer is about another subject than the ID token".into(),
        ));
    }
    serde_json::from_value(Value::Object(claims)).map_err(|_| {
        TokenError::Invalid("userinfo: the claims do not have the requested type".into())
    })
}
