//! One OpenID provider as this client sees it: its discovered metadata and keys, the client's
//! id, authentication and redirect URI, and the HTTP stack. A login and the sessions it produces both
//! talk to the provider through this, so neither needs the other.

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{ClientId, IssuerUrl, ProviderMetadata, RedirectUrl};
use serde::{Deserialize, Serialize};

use super::auth::ClientAuth;
use super::endpoint::{ClientSetup, Party};
use super::http::Http;
use super::id_token::IdTokens;
use super::{TokenError, printable};
use crate::error::ConfigError;
use crate::keys::RemoteJwks;

/// The discovery members `openidconnect`'s core metadata leaves out: whether the issuer puts
/// `iss` in its authorization responses (RFC 9207 §3), where RP-initiated logout goes (OpenID
/// Connect RP-Initiated Logout 1.0 §2.1), and where the device flow starts (RFC 8628 §4).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(super) struct ExtraMetadata {
    #[serde(default)]
    pub(super) authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    pub(super) end_session_endpoint: Option<String>,
    #[serde(default)]
    pub(super) device_authorization_endpoint: Option<String>,
}

impl openidconnect::AdditionalProviderMetadata for ExtraMetadata {}

pub(super) type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The provider and this client's registration at it.
pub(super) struct Provider {
    pub(super) metadata: Metadata,
    pub(super) issuer: String,
    /// Where logins come back to; `None` for the device flow.
    pub(super) redirect: Option<RedirectUrl>,
    /// Who the client is, how it authenticates, its HTTP rules and its DPoP key.
    pub(super) party: Party,
    /// How this client's ID tokens are validated, on the provider's key cache.
    pub(super) id_tokens: IdTokens,
}

impl Provider {
    /// Discovers the provider (its `issuer` must match exactly) and fetches its keys, so a
    /// wrong URL or an unreachable provider fails here, at start-up.
    pub(super) async fn discover(
        setup: ClientSetup,
        redirect: Option<String>,
    ) -> Result<Self, TokenError> {
        let http = setup.http.clone();
        let allow_http = setup.allow_http;
        let (issuer, party) = setup.party()?;
        let issuer_url = IssuerUrl::new(issuer.clone()).map_err(|_| {
            TokenError::Config(ConfigError::InvalidValue {
                name: "issuer",
                why: "not a URL",
            })
        })?;
        let redirect = redirect
            .map(|uri| {
                RedirectUrl::new(uri).map_err(|_| {
                    TokenError::Config(ConfigError::InvalidValue {
                        name: "redirect_uri",
                        why: "not a URL",
                    })
                })
            })
            .transpose()?;
        let metadata = Metadata::discover_async(issuer_url, &Http::new(&party.fetcher))
            .await
            .map_err(|e| TokenError::unavailable(printable(&format!("discovery: {e}"), 160)))?;
        let mut keys = RemoteJwks::builder(metadata.jwks_uri().url().as_str());
        if let Some(client) = http {
            keys = keys.http_client(client);
        }
        if allow_http {
            keys = keys.dangerous_allow_http();
        }
        let keys = keys.build()?;
        keys.warm_up().await.map_err(|e| {
            TokenError::unavailable(printable(&format!("the provider's keys: {e}"), 160))
        })?;
        Ok(Self {
            id_tokens: IdTokens::new(&issuer, &party.client_id, keys)?,
            metadata,
            issuer,
            redirect,
            party,
        })
    }

    /// The HTTP client for token requests, proving the DPoP key when there is one.
    pub(super) fn token_http(&self) -> Http<'_> {
        Http::new(&self.party.fetcher).dpop(self.party.dpop.as_ref())
    }

    /// The `private_key_jwt` parameters of a token request, when that is how this client
    /// authenticates.
    pub(super) fn assertion(&self) -> Result<Vec<(&'static str, String)>, TokenError> {
        if !matches!(self.party.auth, ClientAuth::PrivateKeyJwt(_)) {
            return Ok(Vec::new());
        }
        let audience = self
            .metadata
            .token_endpoint()
            .ok_or_else(|| TokenError::unavailable("the issuer publishes no token endpoint"))?;
        self.party
            .auth
            .assertion_params(&self.party.client_id, audience.as_str())
    }

    /// An endpoint the provider must publish, as a URL this client may call.
    pub(super) fn endpoint(
        &self,
        name: &'static str,
        url: Option<&str>,
    ) -> Result<reqwest::Url, TokenError> {
        let url = url.ok_or(TokenError::Config(ConfigError::InvalidValue {
            name,
            why: "the provider publishes none",
        }))?;
        Ok(self.party.fetcher.check_url(url)?)
    }

    pub(super) fn client(
        &self,
    ) -> CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        let (secret, auth_type) = self.party.auth.oauth2_secret();
        let client = CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.party.client_id.clone()),
            secret,
        )
        .set_auth_type(auth_type);
        match &self.redirect {
            Some(redirect) => client.set_redirect_uri(redirect.clone()),
            None => client,
        }
    }
}
