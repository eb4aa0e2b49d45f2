//! The RFC 9728 protected resource metadata route: a GET handler over core's
//! [`ResourceMetadata`], which holds the document and its headers.

use axum::routing::MethodRouter;
use portcullis_core::resource_metadata::ResourceMetadata;

use crate::render::to_response;

/// The route serving `metadata` (mount it at [`ResourceMetadata::path`], outside
/// [`AuthLayer`](crate::AuthLayer): clients read it before they have a token). 200 with the
/// JSON document and `Cache-Control: public, max-age=3600`.
///
/// ```no_run
/// # fn app(authenticator: portcullis_core::authenticator::Authenticator) -> Result<axum::Router, portcullis_core::ConfigError> {
/// let Some(metadata) = authenticator.resource_metadata() else { return Ok(axum::Router::new()) };
/// let metadata = metadata?;
/// let path = metadata.path().to_owned();
/// Ok(axum::Router::new().route(&path, portcullis_axum::resource_metadata(metadata)))
/// # }
/// ```
pub fn resource_metadata<S>(metadata: ResourceMetadata) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    axum::routing::get(move || async move {
        to_response(metadata.respond()).map(axum::body::Body::from)
    })
}
