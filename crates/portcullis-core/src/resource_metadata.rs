//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells a client which
//! authorization servers issue tokens for this resource and how to present them, and the
//! `resource_metadata` attribute that points 401 and 403 challenges at it. The MCP
//! authorization specification (2025-11-25) makes both mandatory for protected MCP servers.
//!
//! The document is derived from the configuration, never from the request: `resource` is the
//! configured canonical URI (a spoofed `Host` changes nothing), `authorization_servers` the
//! verifier's trusted issuers, `bearer_methods_supported` the credential rules, and the DPoP
//! members the DPoP policy. Configure a [`ProtectedResource`] on the
//! [`Authenticator`](crate::authenticator::Authenticator), then serve
//! [`Authenticator::resource_metadata`](crate::authenticator::Authenticator::resource_metadata)
//! at its [`path`](ResourceMetadata::path) (the adapters have a route for it).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::authz::Requirement;
use crate::challenge::is_scope_token;
use crate::error::ConfigError;
use crate::render::Rejection;
use crate::request::PublicUrl;

/// The well-known path prefix of RFC 9728 §3; a resource's own path is inserted after it
/// (`https://api.example.com/mcp` → `/.well-known/oauth-protected-resource/mcp`).
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// How long clients may cache the document: 1 h. It changes only when the configuration does,
/// and an hour bounds how long a client keeps a stale one after a deployment.
pub const METADATA_MAX_AGE: Duration = Duration::from_secs(3600);

/// At most this many scopes are listed: 256. More would be built from data, not written down.
pub const MAX_SCOPES_SUPPORTED: usize = 256;

/// What this resource server says about itself, beyond what the configuration implies.
///
/// | option | default | why |
/// |---|---|---|
/// | `resource` ([`builder`](Self::builder)) | **required** | the canonical URI clients use and tokens name in `aud`; `https`, or `http` on a loopback host |
/// | [`authorization_server`](ProtectedResourceBuilder::authorization_server) | the verifier's trusted issuers | at least one is required (MCP); name them when issuers come from a resolver |
/// | [`scope`](ProtectedResourceBuilder::scope), [`scopes_of`](ProtectedResourceBuilder::scopes_of) | none listed | `scopes_supported`, and what a client asks for; `scopes_of` collects a route requirement's scopes |
/// | [`resource_name`](ProtectedResourceBuilder::resource_name), [`resource_documentation`](ProtectedResourceBuilder::resource_documentation), [`resource_policy_uri`](ProtectedResourceBuilder::resource_policy_uri), [`resource_tos_uri`](ProtectedResourceBuilder::resource_tos_uri) | absent | shown to users by clients |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource {
    resource: String,
    metadata_url: String,
    path: String,
    authorization_servers: Vec<String>,
    scopes: Vec<String>,
    name: Option<String>,
    documentation: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
}

/// Builds a [`ProtectedResource`].
#[derive(Debug, Clone)]
pub struct ProtectedResourceBuilder {
    resource: String,
    authorization_servers: Vec<String>,
    scopes: Vec<String>,
    name: Option<String>,
    documentation: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
}

impl ProtectedResource {
    /// The resource whose canonical URI is `resource` (RFC 8707 §2: no fragment; no query
    /// either, so the metadata URL is unambiguous).
    pub fn builder(resource: impl Into<String>) -> ProtectedResourceBuilder {
        ProtectedResourceBuilder {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes: Vec::new(),
            name: None,
            documentation: None,
            policy_uri: None,
            tos_uri: None,
        }
    }

    /// The canonical URI, exactly as configured.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where the document is: the resource's origin, the well-known prefix, the resource's path.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The scopes listed in `scopes_supported`.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(String::as_str)
    }
}

impl ProtectedResourceBuilder {
    /// An authorization server whose tokens this resource accepts (its issuer identifier).
    /// Repeatable; replaces the verifier's issuers in the document.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// A scope for `scopes_supported`. Repeatable.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
        self
    }

    /// Every scope `requirement` asks for (outside a `not`), for `scopes_supported`: give it the
    /// requirements of your routes, so the document lists what they check.
    pub fn scopes_of(mut self, requirement: &Requirement) -> Self {
        for scope in requirement.scope_hint() {
            self = self.scope(scope);
        }
        self
    }

    /// `resource_name`: a human-readable name.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `resource_documentation`: a page for developers.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.documentation = Some(url.into());
        self
    }

    /// `resource_policy_uri`: how data is used.
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.policy_uri = Some(url.into());
        self
    }

    /// `resource_tos_uri`: the terms of service.
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.tos_uri = Some(url.into());
        self
    }

    /// Checks the URIs and scopes.
    pub fn build(self) -> Result<ProtectedResource, ConfigError> {
        let invalid = |name, why| ConfigError::InvalidValue { name, why };
        let (origin, path) = split_resource(&self.resource)?;
        for url in self
            .authorization_servers
            .iter()
            .chain(&self.documentation)
            .chain(&self.policy_uri)
            .chain(&self.tos_uri)
        {
            if !url.starts_with("https://") && !is_loopback_http(url) {
                return Err(invalid(
                    "resource metadata URL",
                    "must be https (http only on a loopback host)",
                ));
            }
        }
        if self.scopes.len() > MAX_SCOPES_SUPPORTED {
            return Err(invalid("scopes_supported", "more than 256 scopes"));
        }
        if !self.scopes.iter().all(|s| is_scope_token(s)) {
            return Err(invalid(
                "scopes_supported",
                "a scope is empty or has a character RFC 6749 §3.3 does not allow",
            ));
        }
        if self
            .name
            .as_deref()
            .is_some_and(|n| n.chars().any(char::is_control))
        {
            return Err(invalid(
                "resource_name",
                "must not contain control characters",
            ));
        }
        Ok(ProtectedResource {
            metadata_url: format!("{origin}{WELL_KNOWN_PATH}{path}"),
            path: format!("{WELL_KNOWN_PATH}{path}"),
            resource: self.resource,
            authorization_servers: self.authorization_servers,
            scopes: self.scopes,
            name: self.name,
            documentation: self.documentation,
            policy_uri: self.policy_uri,
            tos_uri: self.tos_uri,
        })
    }
}

/// The resource's origin and the path to insert (`""` for none; a lone `/` is none, §3.1).
fn split_resource(resource: &str) -> Result<(&str, &str), ConfigError> {
    let invalid = |why| ConfigError::InvalidValue {
        name: "resource",
        why,
    };
    // Scheme, authority and the absence of user info, query and fragment, as for a public URL.
    PublicUrl::parse(resource).map_err(|_| {
        invalid("must be an absolute http(s) URI without user info, query or fragment")
    })?;
    if !resource.starts_with("https://") && !is_loopback_http(resource) {
        return Err(invalid("must be https (http only on a loopback host)"));
    }
    let after_scheme = resource.find("://").map_or(0, |i| i + 3);
    let path_start = resource
        .get(after_scheme..)
        .and_then(|rest| rest.find('/'))
        .map_or(resource.len(), |i| after_scheme + i);
    let (origin, path) = resource.split_at(path_start);
    Ok((origin, if path == "/" { "" } else { path }))
}

fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What the authenticator's configuration says about presenting tokens, for the document.
pub(crate) struct Advertised<'a> {
    /// The verifier's trusted issuers (static ones and the opaque-token source's).
    pub(crate) issuers: Vec<String>,
    /// Whether `?access_token=` is accepted.
    pub(crate) query: bool,
    /// The DPoP proof algorithms, when DPoP is accepted.
    pub(crate) dpop_algs: Option<&'a str>,
    /// Whether DPoP is required.
    pub(crate) dpop_required: bool,
}

/// The document, rendered once, and where to serve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceMetadata {
    path: String,
    json: Arc<str>,
}

impl ResourceMetadata {
    pub(crate) fn new(
        resource: &ProtectedResource,
        advertised: Advertised<'_>,
    ) -> Result<Self, ConfigError> {
        let servers = if resource.authorization_servers.is_empty() {
            advertised.issuers
        } else {
            resource.authorization_servers.clone()
        };
        if servers.is_empty() {
            return Err(ConfigError::InvalidValue {
                name: "authorization_servers",
                why: "the verifier trusts no fixed issuer: name one with \
                      `ProtectedResourceBuilder::authorization_server`",
            });
        }
        let mut doc = Map::new();
        doc.insert("resource".into(), json!(resource.resource));
        doc.insert("authorization_servers".into(), json!(servers));
        if !resource.scopes.is_empty() {
            doc.insert("scopes_supported".into(), json!(resource.scopes));
        }
        let mut methods = vec!["header"];
        if advertised.query {
            methods.push("query");
        }
        doc.insert("bearer_methods_supported".into(), json!(methods));
        if let Some(algs) = advertised.dpop_algs {
            let algs: Vec<&str> = algs.split(' ').collect();
            doc.insert("dpop_signing_alg_values_supported".into(), json!(algs));
        }
        doc.insert(
            "dpop_bound_access_tokens_required".into(),
            json!(advertised.dpop_required),
        );
        for (name, value) in [
            ("resource_name", &resource.name),
            ("resource_documentation", &resource.documentation),
            ("resource_policy_uri", &resource.policy_uri),
            ("resource_tos_uri", &resource.tos_uri),
        ] {
            if let Some(value) = value {
                doc.insert(name.into(), json!(value));
            }
        }
        Ok(Self {
            path: resource.path.clone(),
            json: Value::Object(doc).to_string().into(),
        })
    }

    /// The path to serve it at (`/.well-known/oauth-protected-resource/<resource path>`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The document.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The answer to a `GET` of [`path`](Self::path): 200, `application/json`, cacheable for
    /// [`METADATA_MAX_AGE`].
    pub fn respond(&self) -> Rejection {
        Rejection::new(
            200,
            vec![
                ("content-type", "application/json".to_owned()),
                (
                    "cache-control",
                    format!("public, max-age={}", METADATA_MAX_AGE.as_secs()),
                ),
            ],
            self.json.as_bytes().to_vec(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_inserted_after_the_well_known_prefix() {
        for (resource, url) in [
            (
                "https://api.example.com",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/mcp",
                "https://api.example.com/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "https://example.com:8443/tenants/a/mcp/",
                "https://example.com:8443/.well-known/oauth-protected-resource/tenants/a/mcp/",
            ),
            (
                "http://127.0.0.1:8080/mcp",
                "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp",
            ),
        ] {
            let built = ProtectedResource::builder(resource).build().unwrap();
            assert_eq!(built.metadata_url(), url, "{resource}");
            assert!(url.ends_with(&built.path), "{resource}");
            assert_eq!(built.resource(), resource);
        }
    }

    #[test]
    fn scopes_are_collected_from_requirements() {
        use crate::authz::{all_of, any_of, not, role, scope};
        let built = ProtectedResource::builder("https://api.example.com")
            .scope("a")
            .scopes_of(&all_of([scope("b"), any_of([scope("a"), scope("c")])]))
            .scopes_of(&all_of([role("admin"), not(scope("d"))]))
            .build()
            .unwrap();
        assert_eq!(built.scopes().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn nonsense_is_refused_at_build() {
        for resource in [
            "api.example.com",
            "ftp://api.example.com",
            "http://api.example.com/mcp",
            "https://api.example.com/mcp?tenant=a",
            "https://api.example.com/mcp#x",
            "https://user@api.example.com",
            "https://",
        ] {
            assert!(
                ProtectedResource::builder(resource).build().is_err(),
                "{resource}"
            );
        }
        let base = || ProtectedResource::builder("https://api.example.com");
        assert!(
            base()
                .authorization_server("http://login.example.com")
                .build()
                .is_err()
        );
        assert!(
            base()
                .resource_documentation("javascript:alert(1)")
                .build()
                .is_err()
        );
        assert!(base().scope("two words").build().is_err());
        assert!(base().scope("").build().is_err());
        assert!(base().resource_name("a\nb").build().is_err());
        let many = (0..=MAX_SCOPES_SUPPORTED).fold(base(), |b, i| b.scope(format!("s{i}")));
        assert!(many.build().is_err());
    }
}
