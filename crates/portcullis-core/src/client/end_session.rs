//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the URL that ends the user's
//! session at the provider. The browser goes there; the provider may ask the user to confirm,
//! then sends them to the `post_logout_redirect_uri` (registered for the client) with `state`.

use reqwest::Url;

use super::TokenError;
use super::id_token::IdToken;
use super::provider::Provider;

/// The logout of one user at the provider, from [`Login::end_session`](super::Login::end_session).
#[must_use = "call `url()` and send the browser there"]
pub struct EndSession<'a> {
    provider: &'a Provider,
    id_token: &'a IdToken,
    redirect: Option<String>,
    state: Option<String>,
}

impl std::fmt::Debug for EndSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndSession")
            .field("id_token", self.id_token)
            .field("post_logout_redirect_uri", &self.redirect)
            .finish_non_exhaustive()
    }
}

impl<'a> EndSession<'a> {
    pub(super) fn new(provider: &'a Provider, id_token: &'a IdToken) -> Self {
        Self {
            provider,
            id_token,
            redirect: None,
            state: None,
        }
    }

    /// Where the provider sends the browser afterwards: one of the client's registered
    /// `post_logout_redirect_uris`.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect = Some(uri.into());
        self
    }

    /// Opaque text the provider hands back on that redirect, to tie it to this logout.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// The URL: the provider's `end_session_endpoint` with `id_token_hint` (so the provider
    /// knows whose session, and that this client asks), `client_id`, and the redirect and
    /// `state` when set.
    pub fn url(self) -> Result<Url, TokenError> {
        let endpoint = self
            .provider
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .as_deref();
        let mut url = self.provider.endpoint("end_session_endpoint", endpoint)?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("id_token_hint", self.id_token.raw());
            query.append_pair("client_id", &self.provider.party.client_id);
            if let Some(redirect) = &self.redirect {
                query.append_pair("post_logout_redirect_uri", redirect);
            }
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
        }
        Ok(url)
    }
}
