//! Finding how to call a protected resource one knows only by its URL (RFC 9728 §5, the MCP
//! authorization specification's discovery): the resource's first 401 names its metadata
//! (`resource_metadata`, else the path-inserted well-known URL), the metadata names the
//! authorization servers, and the token is then asked for with `resource` = that URL
//! (RFC 8707), so it is valid there and nowhere else.
//!
//! The metadata must be about exactly the URL that was called (RFC 9728 §3.3 and §7.3): a
//! resource cannot send a client to ask tokens for another one, and a forged pointer in a
//! challenge leads nowhere. The authorization server's own metadata is read (OIDC, then
//! RFC 8414, its `issuer` exact) before it is named.

use http::header::{ACCEPT, WWW_AUTHENTICATE};
use reqwest::Url;

use super::TokenError;
use super::credentials::TokenRequest;
use super::endpoint::DISCOVERY_TTL;
use crate::challenge::metadata_pointer;
use crate::fetch::{Fetched, Fetcher, Limits};
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
}

/// Builds a [`ResourceDiscovery`].
#[derive(Debug, Default)]
pub struct ResourceDiscoveryBuilder {
    http: Option<reqwest::Client>,
    allow_http: bool,
}

impl ResourceDiscoveryBuilder {
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
        let challenge = (response.status() == http::StatusCode::UNAUTHORIZED)
            .then(|| response.headers().get(WWW_AUTHENTICATE))
            .flatten()
            .and_then(|v| v.to_str().ok());
        self.from_challenge(resource, challenge).await
    }

    /// Discovers `resource` from the `WWW-Authenticate` of a 401 it answered: the metadata at
    /// its `resource_metadata`, or (without one) at the resource's well-known URL.
    pub async fn from_challenge(
        &self,
        resource: &str,
        www_authenticate: Option<&str>,
    ) -> Result<ResourceInfo, TokenError> {
        let metadata_url = match www_authenticate.and_then(metadata_pointer) {
            Some(url) => url,
            None => well_known(resource)?,
        };
        let url = self.fetcher.check_url(&metadata_url)?;
        let body = match self.fetcher.get_json(&url, None).await {
            Ok(Fetched::Body { bytes, .. }) => bytes,
            Ok(_) => return Err(TokenError::unavailable("the resource metadata: no body")),
            Err(e) => {
                return Err(TokenError::unavailable(format!(
                    "the resource metadata: {e}"
                )));
            }
        };
        let answer = resource_answer(&body, resource)
            .map_err(|why| TokenError::Invalid(format!("resource metadata: {why}")))?;
        let mut last = String::from("no usable authorization server");
        for server in &answer.authorization_servers {
            match self.token_endpoint(server).await {
                Ok(endpoint) => {
                    return Ok(ResourceInfo {
                        resource: resource.to_owned(),
                        metadata_url,
                        authorization_server: server.clone(),
                        token_endpoint: endpoint.to_string(),
                        authorization_servers: answer.authorization_servers,
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

    /// The token endpoint in `issuer`'s own metadata (its `issuer` exact).
    async fn token_endpoint(&self, issuer: &str) -> Result<Url, String> {
        let discovery = Discovery::new(issuer.to_owned(), "token_endpoint", &self.fetcher)
            .map_err(|e| e.to_string())?;
        discovery.endpoint(&self.fetcher, &DISCOVERY_TTL).await
    }
}

/// The resource's well-known metadata URL (RFC 9728 §3.1: the path inserted after the prefix).
fn well_known(resource: &str) -> Result<String, TokenError> {
    let url = Url::parse(resource).map_err(|_| {
        TokenError::Config(crate::ConfigError::InvalidValue {
            name: "resource",
            why: "not an absolute URL",
        })
    })?;
    let path = match url.path() {
        "/" => "",
        path => path,
    };
    Ok(format!(
        "{}{WELL_KNOWN_PATH}{path}",
        url.origin().ascii_serialization()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_url_inserts_the_path() {
        for (resource, url) in [
            (
                "https://api.example.com",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/mcp",
                "https://api.example.com/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "http://127.0.0.1:8080/a/b",
                "http://127.0.0.1:8080/.well-known/oauth-protected-resource/a/b",
            ),
        ] {
            assert_eq!(well_known(resource).unwrap(), url);
        }
    }
}
