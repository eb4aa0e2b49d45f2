//! Reading an authorization server's JSON answers: token responses (RFC 6749 §5.1), error
//! responses (§5.2) and introspection responses (RFC 7662 §2.2); and a protected resource's
//! metadata (RFC 9728 §2). The one place these bytes are
//! interpreted, apart from the fetching, so they can be fuzzed and tested without a network.
//!
//! Every answer must be a strict JSON object (no duplicate members: two `active` or two
//! `access_token` members would make the meaning depend on the parser).

use serde_json::{Map, Value};

use crate::json;

/// A successful token response. Its `Debug` shows which tokens it holds, never the tokens.
pub(crate) struct TokenAnswer {
    pub(crate) access_token: String,
    pub(crate) expires_in: Option<u64>,
    pub(crate) refresh_token: Option<String>,
    pub(crate) id_token: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) issued_token_type: Option<String>,
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAnswer")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field("scope", &self.scope)
            .field("issued_token_type", &self.issued_token_type)
            .finish()
    }
}

/// Reads a token response: a non-empty `access_token` whose `token_type` is `Bearer`, or `DPoP`
/// when the request proved a key (`dpop`), in any case. Anything else (N_A, a bearer token
/// answered to a DPoP request) is not a token this client can present as asked.
pub(crate) fn token_answer(body: &[u8], dpop: bool) -> Result<TokenAnswer, &'static str> {
    let answer = json::parse_object(body).map_err(|_| "the token response is not a JSON object")?;
    let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
    let expected = if dpop { "dpop" } else { "bearer" };
    if !text("token_type").is_some_and(|t| t.eq_ignore_ascii_case(expected)) {
        return Err(if dpop {
            "the token endpoint issued a token that is not DPoP-bound to a DPoP request"
        } else {
            "the token endpoint issued a token that is not a Bearer token"
        });
    }
    let access_token = text("access_token")
        .filter(|t| !t.is_empty())
        .ok_or("the token response has no access_token")?;
    let expires_in = match answer.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .ok_or("expires_in is not a non-negative integer")?,
        ),
    };
    Ok(TokenAnswer {
        access_token,
        expires_in,
        refresh_token: text("refresh_token"),
        id_token: text("id_token"),
        scope: text("scope"),
        issued_token_type: text("issued_token_type"),
    })
}

/// The `error` code and `error_description` of an error response, if the body is one.
pub(crate) fn error_answer(body: &[u8]) -> Option<(String, Option<String>)> {
    let answer = json::parse_object(body).ok()?;
    let code = answer.get("error").and_then(Value::as_str)?.to_owned();
    let description = answer
        .get("error_description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some((code, description))
}

/// At most this many authorization servers are read from a resource's metadata: 16. Each
/// costs the client up to two discovery fetches, so the list a resource hands out bounds how
/// many requests it can make the client send; real resources name one or two.
pub(crate) const MAX_AUTHORIZATION_SERVERS: usize = 16;

/// A protected resource's metadata document, checked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ResourceAnswer {
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) dpop_algs: Vec<String>,
    pub(crate) dpop_required: bool,
}

/// Reads a protected resource metadata document (RFC 9728 §2) for the resource `expected`:
/// its `resource` must be exactly that URI (§3.3: a document about another resource is an
/// impersonation attempt), `authorization_servers` a non-empty array of strings (at most
/// [`MAX_AUTHORIZATION_SERVERS`]); the optional members have their types.
pub(crate) fn resource_answer(body: &[u8], expected: &str) -> Result<ResourceAnswer, &'static str> {
    let doc = json::parse_object(body).map_err(|_| "the metadata is not a JSON object")?;
    match doc.get("resource") {
        Some(Value::String(resource)) if resource == expected => {}
        Some(Value::String(_)) => {
            return Err("the metadata's resource is not the URI that was called");
        }
        _ => return Err("the metadata has no resource"),
    }
    let strings = |name: &str| -> Result<Vec<String>, &'static str> {
        match doc.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or("a metadata list holds a non-string")
                })
                .collect(),
            Some(_) => Err("a metadata list is not an array"),
        }
    };
    let authorization_servers = strings("authorization_servers")?;
    if authorization_servers.is_empty() {
        return Err("the metadata names no authorization server");
    }
    if authorization_servers.len() > MAX_AUTHORIZATION_SERVERS {
        return Err("the metadata names more than 16 authorization servers");
    }
    let dpop_required = match doc.get("dpop_bound_access_tokens_required") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("dpop_bound_access_tokens_required is not a boolean"),
    };
    Ok(ResourceAnswer {
        authorization_servers,
        scopes_supported: strings("scopes_supported")?,
        dpop_algs: strings("dpop_signing_alg_values_supported")?,
        dpop_required,
    })
}

/// What an introspection response says about a token.
#[derive(Debug)]
pub(crate) enum Introspected {
    /// An active bearer access token, with its claims (`active` removed).
    Active(Map<String, Value>),
    /// Anything else.
    Inactive,
}

/// Reads an introspection response. Only an unambiguous "active access token" is active:
/// `active` is the JSON `true`; `token_type` is `Bearer` or `DPoP` (required unless
/// `require_token_type` is off, because a refresh token introspects as active too); a `DPoP`
/// token names its key in `cnf.jkt` (RFC 9449 §6.2). A `cnf` stays in the claims, so the
/// verifier refuses a bound token presented without its proof, as it does a bound JWT.
pub(crate) fn introspection_answer(
    body: &[u8],
    require_token_type: bool,
) -> Result<Introspected, &'static str> {
    let mut claims =
        json::parse_object(body).map_err(|_| "the introspection answer is not a JSON object")?;
    let bound = || {
        claims
            .get("cnf")
            .and_then(|cnf| cnf.get("jkt"))
            .is_some_and(Value::is_string)
    };
    let typed = match claims.get("token_type") {
        Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => true,
        Some(Value::String(t)) if t.eq_ignore_ascii_case("dpop") => bound(),
        None => !require_token_type,
        Some(_) => false,
    };
    let active = typed && claims.remove("active") == Some(Value::Bool(true));
    Ok(if active {
        Introspected::Active(claims)
    } else {
        Introspected::Inactive
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers() {
        let ok = token_answer(
            br#"{"access_token":"a","token_type":"bearer","expires_in":60}"#,
            false,
        );
        assert!(ok.is_ok_and(|a| a.access_token == "a" && a.expires_in == Some(60)));
        // What a DPoP request must get back, and must not.
        assert!(token_answer(br#"{"access_token":"a","token_type":"DPoP"}"#, true).is_ok());
        assert!(token_answer(br#"{"access_token":"a","token_type":"Bearer"}"#, true).is_err());
        for bad in [
            &br#"{"access_token":"a","token_type":"DPoP"}"#[..],
            br#"{"access_token":"","token_type":"Bearer"}"#,
            br#"{"token_type":"Bearer"}"#,
            br#"{"access_token":"a","token_type":"Bearer","expires_in":-1}"#,
            br#"{"access_token":"a","token_type":"Bearer","expires_in":"60"}"#,
            br#"{"access_token":"a","access_token":"b","token_type":"Bearer"}"#,
            b"[]",
        ] {
            assert!(
                token_answer(bad, false).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn introspection_answers() {
        let active = |body: &[u8]| {
            matches!(
                introspection_answer(body, true),
                Ok(Introspected::Active(_))
            )
        };
        assert!(active(
            br#"{"active":true,"token_type":"Bearer","aud":"x"}"#
        ));
        assert!(!active(br#"{"active":true}"#));
        assert!(!active(br#"{"active":"true","token_type":"Bearer"}"#));
        assert!(!active(br#"{"active":true,"token_type":"refresh_token"}"#));
        // A bound token is active; the verifier then wants its proof.
        assert!(active(
            br#"{"active":true,"token_type":"Bearer","cnf":{"jkt":"k"}}"#
        ));
        assert!(active(
            br#"{"active":true,"token_type":"DPoP","cnf":{"jkt":"k"}}"#
        ));
        assert!(!active(br#"{"active":true,"token_type":"DPoP"}"#));
        assert!(!active(
            br#"{"active":true,"token_type":"DPoP","cnf":{"x5t#S256":"c"}}"#
        ));
        assert!(!active(
            br#"{"active":true,"active":false,"token_type":"Bearer"}"#
        ));
        assert!(matches!(
            introspection_answer(br#"{"active":true}"#, false),
            Ok(Introspected::Active(_))
        ));
    }
}
