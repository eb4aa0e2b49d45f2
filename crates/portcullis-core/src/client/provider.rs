//! One OpenID provider as this client sees it: its discovered metadata, the client's id,
//! authentication and redirect URI, and the HTTP stack. A login and the sessions it produces both
//! talk to the provider through this, so neither needs the other.

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{ClientId, ProviderMetadata, RedirectUrl};
use serde::{Deserialize, Serialize};

use super::TokenError;
use super::auth::ClientAuth;
use super::dpop::DpopKey;
use super::http::Http;
use super::id_token::IdTokens;
use crate::fetch::Fetcher;

/// The discovery members `openidconnect`'s core metadata leaves out: whether the issuer puts
/// `iss` in its authorization responses (RFC 9207 §3), and where RP-initiated logout goes
/// (OpenID Connect RP-Initiated Logout 1.0 §2.1).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(super) struct ExtraMetadata {
    #[serde(default)]
    pub(super) authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    pub(super) end_session_endpoint: Option<String>,
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
    pub(super) client_id: String,
    pub(super) auth: ClientAuth,
    pub(super) redirect: RedirectUrl,
    pub(super) fetcher: Fetcher,
    /// The key the user's tokens are bound to, when they are DPoP-bound.
    pub(super) dpop: Option<DpopKey>,
    /// How this client's ID tokens are validated, on the provider's key cache.
    pub(super) id_tokens: IdTokens,
}

impl Provider {
    /// The HTTP stack this client's requests go through.
    /// The HTTP client for token requests, proving the DPoP key when there is one.
    pub(super) fn token_http(&self) -> Http<'_> {
        Http::new(&self.fetcher).dpop(self.dpop.as_ref())
    }

    /// The `private_key_jwt` parameters of a token request, when that is how this client
    /// authenticates.
    pub(super) fn assertion(&self) -> Result<Vec<(&'static str, String)>, TokenError> {
        if !matches!(self.auth, ClientAuth::PrivateKeyJwt(_)) {
            return Ok(Vec::new());
        }
        let audience = self
            .metadata
            .token_endpoint()
            .ok_or_else(|| TokenError::unavailable("the issuer publishes no token endpoint"))?;
        self.auth
            .assertion_params(&self.client_id, audience.as_str())
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
        let (secret, auth_type) = self.auth.oauth2_secret();
        CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.client_id.clone()),
            secret,
        )
        .set_auth_type(auth_type)
        .set_redirect_uri(self.redirect.clone())
    }
}
