//! Finding how to call a protected resource one knows only by its URL (RFC 9728 §5, the MCP
//! authorization specification's discovery): the resource's first 401 names its metadata
//! (`resource_metadata`, else the path-inserted well-known URL), the metadata names the
//! authorization servers, and the token is then asked for with `resource` = that URL
//! (RFC 8707), so it is valid there and nowhere else.
//!
//! The metadata must be about exactly the URL that was called (RFC 9728 §3.3 and §7.3), so a
//! resource cannot pass off another resource's document. That does not make what the metadata
//! says trustworthy: anyone who can answer for the resource (or set its challenge) can name any
//! authorization server. A client that sends credentials in its token request names the
//! servers it is registered with ([`ResourceDiscoveryBuilder::authorization_server`]), and only
//! those are taken. A resource that is not on loopback cannot point the client at a loopback
//! address. The authorization server's own metadata is read (OIDC, then RFC 8414, its `issuer`
//! exact) before it is named.

use http::header::{ACCEPT, WWW_AUTHENTICATE};
use reqwest::Url;

use super::TokenError;
use super::credentials::TokenRequest;
use super::endpoint::DISCOVERY_TTL;
use crate::challenge::metadata_pointer;
use crate::fetch::{Fetched, Fetcher, Limits, is_loopback};
use crate::keys::discovery::Discovery;
use crate::oauth_response::resource_answer;
use crate::resource_metadata::WELL_KNOWN_PATH;

/// A protected resource as its metadata describes it, checked. `Debug` shows it all (it holds
/// no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceInfo {
    /// The resource's URI: the URL that was called, and what the metadata's `resource` said.
    pub resource: String,
    /// Where the metadata was found.
    pub metadata_url: String,
    /// Every authorization server the metadata names, in its order.
    pub authorization_servers: Vec<String>,
    /// The first of them whose own metadata could be read: the one to ask for tokens.
    pub authorization_server: String,
    /// Its token endpoint.
    pub token_endpoint: String,
    /// `scopes_supported`, when listed.
    pub scopes_supported: Vec<String>,
    /// `dpop_signing_alg_values_supported`, when listed.
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Whether the resource accepts only DPoP-bound tokens.
    pub dpop_bound_access_tokens_required: bool,
}

impl ResourceInfo {
    /// The token request for this resource: `resource` = its URI (RFC 8707). Add the scopes
    /// a call needs.
    pub fn token_request(&self) -> TokenRequest {
        TokenRequest::new().resource(&self.resource)
    }
}

/// Discovers protected resources. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ResourceDiscovery {
    fetcher: Fetcher,
    trusted: Vec<String>,
}

/// Builds a [`ResourceDiscovery`].
#[derive(Debug, Default)]
pub struct ResourceDiscoveryBuilder {
    http: Option<reqwest::Client>,
    allow_http: bool,
    trusted: Vec<String>,
}

impl ResourceDiscoveryBuilder {
    /// An authorization server this client is registered with and may send its credentials
    /// to (its issuer identifier). Repeatable. With any set, only these are taken from a
    /// resource's metadata. Set them whenever the token request carries a client secret or
    /// assertion: the metadata comes from the resource, so without this list a hostile
    /// resource could name an authorization server of its own and collect the credentials.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.trusted.push(issuer.into());
        self
    }

    /// Sends requests with this client (proxies, private roots). Redirects must be disabled
    /// on it; the 5 s deadline and the 64 KiB body cap still apply.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Allows plain-http URLs on any host (loopback hosts are always allowed). Anyone on the
    /// path can then send the client to another authorization server.
    pub fn dangerous_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<ResourceDiscovery, crate::ConfigError> {
        Ok(ResourceDiscovery {
            fetcher: Fetcher::new(self.http, self.allow_http, Limits::default())?,
            trusted: self.trusted,
        })
    }
}

impl ResourceDiscovery {
    /// A builder (https only, loopback excepted; the default HTTP client).
    pub fn builder() -> ResourceDiscoveryBuilder {
        ResourceDiscoveryBuilder::default()
    }

    /// Calls `resource` without a token (a `GET`), and discovers it from the 401 it answers.
    pub async fn discover(&self, resource: &str) -> Result<ResourceInfo, TokenError> {
        let url = self.fetcher.check_url(resource)?;
        let request = http::Request::get(url.as_str())
            .header(ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|_| TokenError::unavailable("invalid request"))?;
        let response = self
            .fetcher
            .send(request)
            .await
            .map_err(|e| TokenError::unavailable(format!("the resource: {e}")))?;
        // Every challenge the resource sent, as one list (RFC 9110 §11.6.1).
        let challenges: Vec<&str> = if response.status() == http::StatusCode::UNAUTHORIZED {
            response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect()
        } else {
            Vec::new()
        };
        let joined = challenges.join(", ");
        self.from_challenge(resource, Some(joined.as_str()).filter(|c| !c.is_empty()))
            .await
    }

    /// Discovers `resource` from the `WWW-Authenticate` of a 401 it answered: the metadata at
    /// its `resource_metadata`, or (without one) at the resource's path-inserted well-known
    /// URL, then its origin's.
    pub async fn from_challenge(
        &self,
        resource: &str,
        www_authenticate: Option<&str>,
    ) -> Result<ResourceInfo, TokenError> {
        let resource_url = self.fetcher.check_url(resource)?;
        let candidates = match www_authenticate.and_then(metadata_pointer) {
            Some(url) => vec![url],
            None => well_known(&resource_url),
        };
        let mut failure = String::new();
        let mut found = None;
        for candidate in candidates {
            let url = self.reachable(&resource_url, &candidate)?;
            match self.fetcher.get_json(&url, None).await {
                Ok(Fetched::Body { bytes, .. }) => {
                    found = Some((candidate, bytes));
                    break;
                }
                Ok(_) => failure = "no body".to_owned(),
                Err(e) => failure = e,
            }
        }
        let Some((metadata_url, body)) = found else {
            return Err(TokenError::unavailable(format!(
                "the resource metadata: {failure}"
            )));
        };
        let answer = resource_answer(&body, resource)
            .map_err(|why| TokenError::Invalid(format!("resource metadata: {why}")))?;
        let trusted: Vec<&String> = answer
            .authorization_servers
            .iter()
            .filter(|s| self.trusted.is_empty() || self.trusted.contains(*s))
            .collect();
        if trusted.is_empty() {
            return Err(TokenError::Invalid(
                "resource metadata: it names no authorization server this client trusts".into(),
            ));
        }
        let mut last = String::from("no usable authorization server");
        for server in trusted {
            let endpoint = match self.reachable(&resource_url, server) {
                Ok(_) => self.token_endpoint(server).await,
                Err(e) => Err(e.to_string()),
            };
            match endpoint {
                Ok(endpoint) => {
                    return Ok(ResourceInfo {
                        resource: resource.to_owned(),
                        metadata_url,
                        authorization_server: server.clone(),
                        token_endpoint: endpoint.to_string(),
                        authorization_servers: answer.authorization_servers.clone(),
                        scopes_supported: answer.scopes_supported,
                        dpop_signing_alg_values_supported: answer.dpop_algs,
                        dpop_bound_access_tokens_required: answer.dpop_required,
                    });
                }
                Err(why) => last = why,
            }
        }
        Err(TokenError::unavailable(format!(
            "authorization server: {last}"
        )))
    }

    /// `url`, if this client may fetch it for `resource`: the https rule, and no loopback
    /// address for a resource that is not on loopback itself (a public resource cannot make the
    /// client probe its own host).
    fn reachable(&self, resource: &Url, url: &str) -> Result<Url, TokenError> {
        let url = self.fetcher.check_url(url)?;
        if is_loopback(&url) && !is_loopback(resource) {
            return Err(TokenError::Invalid(
                "resource metadata: a loopback URL for a resource that is not on loopback".into(),
            ));
        }
        Ok(url)
    }

    /// The token endpoint in `issuer`'s own metadata (its `issuer` exact).
    async fn token_endpoint(&self, issuer: &str) -> Result<Url, String> {
        let discovery = Discovery::new(issuer.to_owned(), "token_endpoint", &self.fetcher)
            .map_err(|e| e.to_string())?;
        discovery.endpoint(&self.fetcher, &DISCOVERY_TTL).await
    }
}

/// Where a resource's metadata may be without a pointer: the path-inserted well-known URL
/// (RFC 9728 §3.1), then the origin's (as MCP clients try next).
fn well_known(resource: &Url) -> Vec<String> {
    let origin = resource.origin().ascii_serialization();
    let root = format!("{origin}{WELL_KNOWN_PATH}");
    match resource.path() {
        "/" | "" => vec![root],
        path => vec![format!("{root}{path}"), root],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_urls_insert_the_path_then_try_the_origin() {
        let root = "/.well-known/oauth-protected-resource";
        for (resource, urls) in [
            (
                "https://api.example.com",
                vec![format!("https://api.example.com{root}")],
            ),
            (
                "https://api.example.com/mcp",
                vec![
                    format!("https://api.example.com{root}/mcp"),
                    format!("https://api.example.com{root}"),
                ],
            ),
            (
                "http://127.0.0.1:8080/a/b",
                vec![
                    format!("http://127.0.0.1:8080{root}/a/b"),
                    format!("http://127.0.0.1:8080{root}"),
                ],
            ),
        ] {
            assert_eq!(well_known(&Url::parse(resource).unwrap()), urls);
        }
    }
}
