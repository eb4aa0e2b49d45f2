//! `oauth2`'s async HTTP-client trait over portcullis' own client ([`Fetcher`]), so every flow
//! shares one reqwest, its timeouts, its body cap and its refusal to follow redirects (a
//! redirected token request would send the client's credentials elsewhere).
//!
//! With a [`DpopKey`], every request carries a fresh `DPoP` proof, and an authorization server's
//! `use_dpop_nonce` answer (RFC 9449 §8) is retried once with the nonce it sent.
//!
//! A 5xx or 429 answer is a failed exchange, whatever its body says: oidc-provider, Keycloak and
//! others answer their own faults `500 {"error":"server_error"}`, which `oauth2` would hand on
//! as the server's verdict on the request. Decided here, every flow reports it as unavailable
//! (retry later), never as a refusal (fix the request).

use std::future::Future;
use std::pin::Pin;

use super::ErrorCode;
use super::dpop::DpopKey;
use crate::fetch::Fetcher;

/// A transport failure, as a short text without the body or any secret.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HttpError(pub(crate) String);

/// [`Fetcher`] as an `oauth2` HTTP client, proving a DPoP key when it has one.
pub(crate) struct Http<'a> {
    fetcher: &'a Fetcher,
    dpop: Option<&'a DpopKey>,
    /// The DPoP-bound access token a resource request presents: its proofs carry `ath`.
    bound: Option<&'a str>,
}

impl<'a> Http<'a> {
    pub(crate) fn new(fetcher: &'a Fetcher) -> Self {
        Self {
            fetcher,
            dpop: None,
            bound: None,
        }
    }

    pub(crate) fn dpop(mut self, key: Option<&'a DpopKey>) -> Self {
        self.dpop = key;
        self
    }

    /// For a request to a resource (UserInfo) with this DPoP-bound access token: the proofs
    /// hash it (`ath`), and a resource server's `401` `use_dpop_nonce` is retried like an
    /// authorization server's `400`.
    pub(crate) fn bound_to(mut self, access_token: &'a str) -> Self {
        self.bound = Some(access_token);
        self
    }

    /// Sends `request`, with a proof when there is a key; one retry on `use_dpop_nonce`. A 5xx
    /// or 429 answer is an error.
    pub(crate) async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, String> {
        let response = self.send_proved(request).await?;
        let status = response.status();
        if status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS {
            let code = crate::oauth_response::error_answer(response.body())
                .map(|(code, _)| format!(" ({})", ErrorCode::parse(&code)))
                .unwrap_or_default();
            return Err(format!("status {}{code}", status.as_u16()));
        }
        Ok(response)
    }

    async fn send_proved(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, String> {
        let Some(key) = self.dpop else {
            return self.fetcher.send(request).await;
        };
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        let attempt = |body: Vec<u8>| {
            let mut request = http::Request::from_parts(parts.clone(), body);
            let proof = key
                .proof(parts.method.as_str(), &url, self.bound)
                .map_err(|e| e.to_string())?;
            let value = http::HeaderValue::from_str(&proof).map_err(|_| "invalid DPoP proof")?;
            request.headers_mut().insert("dpop", value);
            Ok::<_, String>(self.fetcher.send(request))
        };
        let response = attempt(body.clone())?.await?;
        let renewed = response
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|nonce| key.remember_nonce(&url, nonce));
        if renewed && asks_for_nonce(&response) {
            return attempt(body)?.await;
        }
        Ok(response)
    }
}

/// An authorization server's `400 {"error": "use_dpop_nonce"}` (RFC 9449 §8), or a resource
/// server's `401` with `error="use_dpop_nonce"` in its challenge (§9).
fn asks_for_nonce(response: &http::Response<Vec<u8>>) -> bool {
    match response.status() {
        http::StatusCode::BAD_REQUEST => crate::oauth_response::error_answer(response.body())
            .is_some_and(|(code, _)| code == "use_dpop_nonce"),
        http::StatusCode::UNAUTHORIZED => response
            .headers()
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("error=\"use_dpop_nonce\"")),
        _ => false,
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for Http<'_> {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + Sync + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move { self.send(request).await.map_err(HttpError) })
    }
}
