//! From an [`AuthError`] to the HTTP answer, in one place for every adapter (RFC 6750 §3); and,
//! for the client side, reading the one parameter a client acts on in someone else's
//! challenge (RFC 9728 `resource_metadata`).
//!
//! | error | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no credential | 401 | `Bearer realm="..."` (no error attribute, §3.1) |
//! | malformed request | 400 | `Bearer realm="...", error="invalid_request", ...` |
//! | bad token | 401 | `Bearer realm="...", error="invalid_token", ...` |
//! | insufficient scope | 403 | `Bearer realm="...", error="insufficient_scope", scope="..."` |
//! | keys unavailable | 503 | none; `Retry-After: <seconds>` |
//! | bad DPoP proof | 401 | `DPoP error="invalid_dpop_proof", algs="..."` (RFC 9449 §7.1) |
//! | proof without the server nonce | 401 | `DPoP error="use_dpop_nonce", algs="..."`, plus `DPoP-Nonce` (§9) |
//!
//! With a protected resource configured, every 401 and 403 challenge, Bearer and DPoP, also
//! carries `resource_metadata="<metadata URL>"` (RFC 9728 §5.1).
//!
//! Where DPoP is allowed, every challenge also offers `DPoP algs="..."` after `Bearer`, in one
//! `WWW-Authenticate` value (RFC 9110 §11.6.1); where it is required, only DPoP is offered. The
//! `error` attributes go on the scheme the request used.
//!
//! Descriptions are terse and generic by default: the reason stays in the audit log, so a probing
//! client learns nothing about which check failed. [`ChallengeOptions::detailed`] adds the reason
//! code for development.

use crate::error::{AuthError, ConfigError};

/// How challenges are rendered. The default has no realm and terse descriptions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChallengeOptions {
    realm: Option<String>,
    detailed: bool,
    /// The DPoP challenge's `algs`, when DPoP is accepted (set from the authenticator's
    /// DPoP policy, never by hand).
    dpop_algs: Option<String>,
    /// Whether the Bearer scheme is offered (not when DPoP is required).
    no_bearer: bool,
    /// RFC 9728 §5.1: where the protected resource metadata is, on every 401 and 403, already
    /// escaped for the quoted string (set from the authenticator's protected resource, never by
    /// hand).
    resource_metadata: Option<String>,
}

impl ChallengeOptions {
    /// Sets the `realm` attribute. Control characters are refused; quotes and backslashes are
    /// escaped when rendered.
    pub fn realm(mut self, realm: impl Into<String>) -> Result<Self, ConfigError> {
        let realm = realm.into();
        if realm.chars().any(|c| c.is_control()) || !realm.is_ascii() {
            return Err(ConfigError::InvalidValue {
                name: "realm",
                why: "must be printable ASCII",
            });
        }
        self.realm = Some(realm);
        Ok(self)
    }

    /// Puts the reason code (`expired`, `bad_audience`, ...) in `error_description`. For
    /// development only: it tells an attacker which check they failed.
    pub fn detailed(mut self, detailed: bool) -> Self {
        self.detailed = detailed;
        self
    }

    /// The schemes offered: Bearer unless DPoP is required, DPoP with these `algs` when
    /// accepted.
    pub(crate) fn schemes(&mut self, bearer: bool, dpop_algs: Option<String>) {
        self.no_bearer = !bearer;
        self.dpop_algs = dpop_algs;
    }

    /// The metadata URL every 401 and 403 challenge names.
    pub(crate) fn resource_metadata(&mut self, url: Option<String>) {
        // Escaped once here, not on every rejection.
        self.resource_metadata = url.map(|u| escape_quoted(&u));
    }
}

/// A rendered rejection: everything an adapter needs to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge {
    /// HTTP status code.
    pub status: u16,
    /// The RFC 6750 `error` code, if any (`invalid_request`, `invalid_token`, `insufficient_scope`).
    pub error: Option<&'static str>,
    /// The `error_description` used in the header.
    pub description: Option<String>,
    /// Value of the `WWW-Authenticate` header, if one is sent.
    pub www_authenticate: Option<String>,
    /// Value of `Retry-After` in seconds, for 503.
    pub retry_after: Option<u64>,
}

impl Challenge {
    /// Renders `error` under `options`.
    pub fn from_error(error: &AuthError, options: &ChallengeOptions) -> Self {
        Self::for_scheme(error, options, false)
    }

    /// The challenge for a request that used the DPoP scheme (`dpop`) or not: the `error`
    /// attributes go on the scheme the client used.
    pub(crate) fn for_scheme(error: &AuthError, options: &ChallengeOptions, dpop: bool) -> Self {
        let (code, generic) = match error {
            AuthError::MissingCredential => (None, None),
            AuthError::InvalidRequest(_) => (Some("invalid_request"), Some("malformed request")),
            AuthError::InvalidToken(_) => (Some("invalid_token"), Some("invalid access token")),
            AuthError::InvalidDpopProof(_) => {
                (Some("invalid_dpop_proof"), Some("invalid DPoP proof"))
            }
            AuthError::UseDpopNonce(_) => (
                Some("use_dpop_nonce"),
                Some("Resource server requires nonce in DPoP proof"),
            ),
            AuthError::InsufficientScope { .. } => {
                (Some("insufficient_scope"), Some("insufficient scope"))
            }
            AuthError::Unavailable { retry_after, .. } => {
                return Self {
                    status: 503,
                    error: None,
                    description: None,
                    www_authenticate: None,
                    retry_after: Some(retry_after.as_secs().max(1)),
                };
            }
        };
        let description = match (generic, options.detailed) {
            (Some(_), true) => Some(error.reason().to_string()),
            (g, _) => g.map(str::to_owned),
        };
        let scope = match error {
            AuthError::InsufficientScope { scopes } => {
                let list: Vec<&str> = scopes
                    .iter()
                    .map(String::as_str)
                    .filter(|s| is_scope_token(s))
                    .collect();
                (!list.is_empty()).then(|| list.join(" "))
            }
            _ => None,
        };
        let bearer = !options.no_bearer;
        let dpop_errors = options.dpop_algs.is_some()
            && (dpop
                || !bearer
                || matches!(
                    error,
                    AuthError::InvalidDpopProof(_) | AuthError::UseDpopNonce(_)
                ));
        let params = |with_error: bool| {
            let mut params = Vec::new();
            if let Some(realm) = &options.realm {
                params.push(param("realm", &escape_quoted(realm)));
            }
            if let Some(url) = options
                .resource_metadata
                .as_ref()
                .filter(|_| error.status() != 400)
            {
                params.push(param("resource_metadata", url));
            }
            if with_error {
                if let Some(code) = code {
                    params.push(param("error", code));
                }
                if let Some(d) = &description {
                    params.push(param("error_description", &description_chars(d)));
                }
                if let Some(scope) = &scope {
                    params.push(param("scope", scope));
                }
            }
            params
        };
        let mut challenges = Vec::new();
        if bearer {
            challenges.push(challenge("Bearer", params(!dpop_errors)));
        }
        if let Some(algs) = &options.dpop_algs {
            let mut dpop = params(dpop_errors);
            dpop.push(param("algs", algs));
            challenges.push(challenge("DPoP", dpop));
        }
        Self {
            status: error.status(),
            error: code,
            description,
            www_authenticate: Some(challenges.join(", ")),
            retry_after: None,
        }
    }
}

fn challenge(scheme: &str, params: Vec<String>) -> String {
    if params.is_empty() {
        scheme.to_owned()
    } else {
        format!("{scheme} {}", params.join(", "))
    }
}

fn param(name: &str, value: &str) -> String {
    let mut out = String::new();
    push_param(&mut out, name, value);
    out
}

fn push_param(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    out.push_str(value);
    out.push('"');
}

fn escape_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// RFC 6750 §3: `error_description` is limited to %x20-21 / %x23-5B / %x5D-7E (no quote, no
/// backslash); anything else becomes a space.
fn description_chars(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e' => c,
            _ => ' ',
        })
        .collect()
}

/// RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E, non-empty.
pub(crate) fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// The `resource_metadata` auth-param of a `WWW-Authenticate` value (RFC 9728 §5.1), in any
/// challenge: a quoted string (backslash escapes undone) or a token. Text inside another
/// parameter's quoted value is never taken for it.
#[cfg(any(feature = "client", feature = "fuzzing"))]
pub(crate) fn metadata_pointer(header: &str) -> Option<String> {
    const NAME: &str = "resource_metadata";
    let mut quoted = false;
    let mut escaped = false;
    let mut previous = None;
    for (at, c) in header.char_indices() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
        } else if c == '"' {
            quoted = true;
        } else if matches!(previous, None | Some(' ' | ',' | '\t'))
            // Parameter names are case-insensitive (RFC 9110 §11.2).
            && header
                .get(at..at + NAME.len())
                .is_some_and(|name| name.eq_ignore_ascii_case(NAME))
            && let Some(value) = header.get(at + NAME.len()..)
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            return param_value(value.trim_start());
        }
        previous = Some(c);
    }
    None
}

/// An auth-param value at the start of `text`: a quoted string or a token.
#[cfg(any(feature = "client", feature = "fuzzing"))]
fn param_value(text: &str) -> Option<String> {
    match text.strip_prefix('"') {
        Some(quoted) => {
            let mut out = String::new();
            let mut chars = quoted.chars();
            loop {
                match chars.next()? {
                    '"' => break Some(out),
                    '\\' => out.push(chars.next()?),
                    c => out.push(c),
                }
            }
        }
        None => {
            let token: String = text
                .chars()
                .take_while(|c| !matches!(c, ',' | ' ' | '\t'))
                .collect();
            (!token.is_empty()).then_some(token)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Reason;
    use std::time::Duration;

    fn render(e: AuthError) -> Challenge {
        Challenge::from_error(&e, &ChallengeOptions::default().realm("api").unwrap())
    }

    #[test]
    fn statuses_and_headers() {
        let c = render(AuthError::MissingCredential);
        assert_eq!(
            (c.status, c.www_authenticate.as_deref()),
            (401, Some("Bearer realm=\"api\""))
        );
        let c = render(AuthError::InvalidToken(Reason::Expired));
        assert_eq!(c.status, 401);
        assert_eq!(
            c.www_authenticate.as_deref(),
            Some(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"invalid access token\""
            )
        );
        let c = render(AuthError::InvalidRequest(Reason::MalformedRequest));
        assert_eq!(c.status, 400);
        assert_eq!(c.error, Some("invalid_request"));
        let c = render(AuthError::InsufficientScope {
            scopes: vec!["read:users".into(), "bad\"scope".into(), "admin".into()],
        });
        assert_eq!(c.status, 403);
        assert_eq!(
            c.www_authenticate.as_deref(),
            Some(
                "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"insufficient scope\", scope=\"read:users admin\""
            )
        );
        let c = render(AuthError::Unavailable {
            reason: Reason::KeysUnavailable,
            retry_after: Duration::from_secs(30),
        });
        assert_eq!(
            (c.status, c.retry_after, c.www_authenticate),
            (503, Some(30), None)
        );
    }

    #[test]
    fn terse_by_default_detailed_on_request() {
        let e = AuthError::InvalidToken(Reason::MissingClaim("exp"));
        let terse = Challenge::from_error(&e, &ChallengeOptions::default());
        assert!(!terse.www_authenticate.unwrap().contains("exp"));
        let detailed = Challenge::from_error(&e, &ChallengeOptions::default().detailed(true));
        assert_eq!(detailed.description.as_deref(), Some("missing_claim: exp"));
    }

    #[test]
    fn realm_is_escaped_and_checked() {
        let opts = ChallengeOptions::default().realm(r#"a"b\c"#).unwrap();
        let c = Challenge::from_error(&AuthError::MissingCredential, &opts);
        assert_eq!(
            c.www_authenticate.as_deref(),
            Some(r#"Bearer realm="a\"b\\c""#)
        );
        assert!(ChallengeOptions::default().realm("a\nb").is_err());
        let bare =
            Challenge::from_error(&AuthError::MissingCredential, &ChallengeOptions::default());
        assert_eq!(bare.www_authenticate.as_deref(), Some("Bearer"));
    }

    #[cfg(any(feature = "client", feature = "fuzzing"))]
    #[test]
    fn the_pointer_is_read_from_any_challenge() {
        let url = "https://api.example.com/.well-known/oauth-protected-resource/mcp";
        for header in [
            format!(r#"Bearer resource_metadata="{url}""#),
            format!(r#"Bearer realm="x", error="invalid_token", resource_metadata="{url}""#),
            format!(r#"Bearer, DPoP algs="ES256", resource_metadata="{url}""#),
            format!("Bearer resource_metadata={url}"),
            format!(r#"Bearer resource_metadata = "{url}""#),
            format!(r#"Bearer Resource_Metadata="{url}""#),
        ] {
            assert_eq!(metadata_pointer(&header).as_deref(), Some(url), "{header}");
        }
        assert_eq!(
            metadata_pointer(r#"Bearer resource_metadata="a\"b""#).as_deref(),
            Some("a\"b")
        );
        for header in [
            "Bearer",
            r#"Bearer realm="resource_metadata""#,
            r#"Bearer realm="x, resource_metadata=https://evil""#,
            r#"Bearer realm="a\" resource_metadata=https://evil""#,
            r#"Bearer xresource_metadata="https://evil""#,
            r#"Bearer resource_metadata="unterminated"#,
            "Bearer resource_metadata=",
        ] {
            assert_eq!(metadata_pointer(header), None, "{header}");
        }
    }
}
