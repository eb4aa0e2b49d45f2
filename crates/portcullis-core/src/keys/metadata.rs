//! Reading an OIDC discovery or RFC 8414 authorization server metadata document: the one step of
//! discovery that sees the server's bytes, kept apart from the fetching so it can be fuzzed and
//! tested without a network.

use serde_json::Value;

use crate::json;

/// The endpoint `member` (`jwks_uri`, `token_endpoint`, ...) of a metadata document that names
/// `issuer`.
///
/// The document must be a strict JSON object (no duplicate members) whose `issuer` equals
/// `issuer` exactly (OIDC Discovery §4.3, RFC 8414 §3.3: otherwise one tenant's metadata could
/// point at another's keys or endpoints) and whose `member` is a string. The URL itself is
/// checked by the caller, under the same rules as a configured one.
pub(crate) fn endpoint(document: &[u8], issuer: &str, member: &str) -> Result<String, String> {
    let mut doc = json::parse_object(document)
        .map_err(|r| format!("discovery: document is not a strict JSON object ({r})"))?;
    match doc.get("issuer") {
        Some(Value::String(named)) if named == issuer => {}
        _ => return Err("discovery: the document's issuer does not match".into()),
    }
    match doc.remove(member) {
        Some(Value::String(uri)) => Ok(uri),
        _ => Err(format!("discovery: no {member}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://login.example.com/";

    #[test]
    fn reads_the_jwks_uri_of_the_named_issuer() {
        let doc = br#"{"issuer":"https://login.example.com/","jwks_uri":"https://login.example.com/keys"}"#;
        assert_eq!(
            endpoint(doc, ISS, "jwks_uri").as_deref(),
            Ok("https://login.example.com/keys")
        );
    }

    #[test]
    fn refuses_other_issuers_and_malformed_documents() {
        for doc in [
            &br#"{"issuer":"https://login.example.com","jwks_uri":"https://k"}"#[..],
            br#"{"jwks_uri":"https://k"}"#,
            br#"{"issuer":"https://login.example.com/"}"#,
            br#"{"issuer":"https://login.example.com/","jwks_uri":7}"#,
            br#"{"issuer":"https://login.example.com/","jwks_uri":"a","jwks_uri":"b"}"#,
            br#"["issuer"]"#,
            b"",
        ] {
            assert!(
                endpoint(doc, ISS, "jwks_uri").is_err(),
                "{}",
                String::from_utf8_lossy(doc)
            );
        }
    }
}
