//! Talking to an authorization server's endpoints: where they are (configured or discovered)
//! and the form POST every non-`oauth2` request uses, under the key fetcher's limits.

use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::Url;

use super::TokenError;
use super::auth::ClientAuth;
use super::dpop::DpopKey;
use super::http::Http;
use crate::error::ConfigError;
use crate::fetch::Fetcher;
use crate::keys::discovery::{Discovery, TtlPolicy};

/// Discovery documents for the client flows follow the key-set defaults.
pub(crate) const DISCOVERY_TTL: TtlPolicy = TtlPolicy {
    default: Duration::from_secs(600),
    min: Duration::from_secs(60),
    max: Duration::from_secs(24 * 3600),
    max_stale: Duration::from_secs(3600),
};

/// Where a request goes: a configured URL or one found by discovery.
pub(crate) enum Endpoint {
    Fixed(Url),
    Discovered(Box<Discovery>),
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(url) => f.debug_tuple("Fixed").field(&url.as_str()).finish(),
            Self::Discovered(_) => f.write_str("Discovered"),
        }
    }
}

impl Endpoint {
    pub(crate) fn new(
        url: Option<String>,
        issuer: &str,
        member: &'static str,
        fetcher: &Fetcher,
    ) -> Result<Self, ConfigError> {
        match url {
            Some(url) => Ok(Self::Fixed(fetcher.check_url(&url)?)),
            None => Ok(Self::Discovered(Box::new(Discovery::new(
                issuer.to_owned(),
                member,
                fetcher,
            )?))),
        }
    }

    pub(crate) async fn url(&self, fetcher: &Fetcher) -> Result<Url, String> {
        match self {
            Self::Fixed(url) => Ok(url.clone()),
            Self::Discovered(discovery) => discovery.endpoint(fetcher, &DISCOVERY_TTL).await,
        }
    }
}

/// POSTs a form (RFC 6749 §3.2 style) and returns the response under the fetcher's limits.
pub(crate) async fn post_form(
    http: &Http<'_>,
    url: Url,
    form: &[(&str, String)],
    authorization: Option<HeaderValue>,
) -> Result<http::Response<Vec<u8>>, String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let mut request = http::Request::post(url.as_str())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json");
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    let request = request
        .body(body.into_bytes())
        .map_err(|_| "invalid request".to_owned())?;
    http.send(request).await
}

/// `Ok` for 200; otherwise the RFC 6749 §5.2 error the body names, or `Unavailable`.
pub(crate) fn error_response(response: &http::Response<Vec<u8>>) -> Result<(), TokenError> {
    if response.status() == http::StatusCode::OK {
        return Ok(());
    }
    match crate::oauth_response::error_answer(response.body()) {
        Some((code, description)) => Err(TokenError::from_answer(&code, description.as_deref())),
        None => Err(TokenError::unavailable(format!(
            "status {} without an OAuth error",
            response.status().as_u16()
        ))),
    }
}

/// One client talking to one authorization server: who it is, how it authenticates, and the
/// HTTP rules its requests follow. The device, exchange and revocation flows are this plus
/// their endpoints.
pub(crate) struct Party {
    pub(crate) client_id: String,
    pub(crate) auth: ClientAuth,
    pub(crate) fetcher: Fetcher,
    /// The key token requests prove, for DPoP-bound tokens.
    pub(crate) dpop: Option<DpopKey>,
}

impl std::fmt::Debug for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Party")
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// What every flow's builder knows about the client: the issuer it talks to, who it is, how
/// it authenticates, and its HTTP rules. The builders share their setters through
/// `client_setters!`.
pub(crate) struct ClientSetup {
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) auth: ClientAuth,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) allow_http: bool,
    pub(crate) dpop: Option<DpopKey>,
}

impl std::fmt::Debug for ClientSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSetup")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

impl ClientSetup {
    /// A public client (`ClientAuth::None`) until `auth` says otherwise.
    pub(crate) fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            auth: ClientAuth::None,
            http: None,
            allow_http: false,
            dpop: None,
        }
    }

    /// The client, its HTTP rules checked; the issuer's URL must pass them too.
    pub(crate) fn party(self) -> Result<(String, Party), ConfigError> {
        if self.client_id.is_empty() {
            return Err(ConfigError::InvalidValue {
                name: "client_id",
                why: "must not be empty",
            });
        }
        let fetcher = Fetcher::new(self.http, self.allow_http, crate::fetch::Limits::default())?;
        fetcher.check_url(&self.issuer)?;
        Ok((
            self.issuer,
            Party {
                client_id: self.client_id,
                auth: self.auth,
                fetcher,
                dpop: self.dpop,
            },
        ))
    }
}

/// The setters every flow's builder has, on its `setup: ClientSetup` field, so they read and
/// behave the same everywhere.
macro_rules! client_setters {
    () => {
        /// How the client authenticates (default: `ClientAuth::None`, a public client).
        pub fn auth(mut self, auth: $crate::client::ClientAuth) -> Self {
            self.setup.auth = auth;
            self
        }

        /// Sends requests with this client (proxies, private roots). Redirects must be disabled
        /// on it; the 5 s deadline and the 64 KiB body cap still apply.
        pub fn http_client(mut self, client: reqwest::Client) -> Self {
            self.setup.http = Some(client);
            self
        }

        /// Allows plain-http URLs on any host (an issuer inside a cluster network, say;
        /// loopback hosts are always allowed). Anyone on the path can then read the client's
        /// secret and its tokens.
        pub fn dangerous_allow_http(mut self) -> Self {
            self.setup.allow_http = true;
            self
        }
    };
}
pub(crate) use client_setters;

impl Party {
    /// An authenticated form POST of `form` to `endpoint`, with a DPoP proof when `prove` and
    /// there is a key (token requests; other endpoints take no proof): the body of a 200
    /// answer, or the server's error as a [`TokenError`].
    pub(crate) async fn post(
        &self,
        endpoint: &Endpoint,
        form: Vec<(&'static str, String)>,
        prove: bool,
    ) -> Result<Vec<u8>, TokenError> {
        let url = self.resolve(endpoint).await?;
        self.post_to(url, form, prove).await
    }

    /// Where `endpoint` is (discovering it on first use).
    pub(crate) async fn resolve(&self, endpoint: &Endpoint) -> Result<Url, TokenError> {
        endpoint
            .url(&self.fetcher)
            .await
            .map_err(TokenError::unavailable)
    }

    /// [`post`](Self::post) to a known URL.
    pub(crate) async fn post_to(
        &self,
        url: Url,
        mut form: Vec<(&'static str, String)>,
        prove: bool,
    ) -> Result<Vec<u8>, TokenError> {
        let basic = self.auth.apply(&self.client_id, url.as_str(), &mut form)?;
        let http = Http::new(&self.fetcher).dpop(self.dpop.as_ref().filter(|_| prove));
        let response = post_form(&http, url, &form, basic)
            .await
            .map_err(TokenError::unavailable)?;
        error_response(&response)?;
        Ok(response.into_body())
    }
}
