//! `oauth2`'s async HTTP-client trait over portcullis' own client ([`Fetcher`]), so every flow
//! shares one reqwest, its timeouts, its body cap and its refusal to follow redirects (a
//! redirected token request would send the client's credentials elsewhere).

use std::future::Future;
use std::pin::Pin;

use crate::fetch::Fetcher;

/// A transport failure, as a short text without the body or any secret.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HttpError(pub(crate) String);

/// [`Fetcher`] as an `oauth2` HTTP client.
pub(crate) struct Http<'a>(pub(crate) &'a Fetcher);

impl<'c> oauth2::AsyncHttpClient<'c> for Http<'_> {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + Sync + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move { self.0.send(request).await.map_err(HttpError) })
    }
}
