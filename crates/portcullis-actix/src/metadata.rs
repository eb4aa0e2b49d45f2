//! The RFC 9728 protected resource metadata handler: a GET handler over core's
//! [`ResourceMetadata`], which holds the document and its headers.

use actix_web::{HttpResponse, web};
use portcullis_core::resource_metadata::ResourceMetadata;

use crate::middleware::to_response;

/// The handler serving the metadata document, with the [`ResourceMetadata`] as app data.
/// Mount it at [`ResourceMetadata::path`], outside [`Authenticate`](crate::Authenticate):
/// clients read it before they have a token. 200 with the JSON document and
/// `Cache-Control: public, max-age=3600`.
///
/// ```no_run
/// # fn app(metadata: portcullis_core::resource_metadata::ResourceMetadata) {
/// use actix_web::{App, web};
/// let path = metadata.path().to_owned();
/// let app = App::new()
///     .app_data(web::Data::new(metadata))
///     .route(&path, web::get().to(portcullis_actix::resource_metadata));
/// # let _ = app;
/// # }
/// ```
pub async fn resource_metadata(metadata: web::Data<ResourceMetadata>) -> HttpResponse {
    to_response(metadata.respond())
}
