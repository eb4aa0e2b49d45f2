//! actix-web + portcullis: `GET /protected` behind the `Authenticate` middleware (one worker).

use actix_web::{App, HttpServer, web};
use portcullis::actix::{Authenticate, Claims};
use portcullis::{StaticJwks, Verifier};
use portcullis_bench::{AUDIENCE, ISSUER, jwks};
use serde::de::IgnoredAny;

async fn protected(claims: Claims<IgnoredAny>) -> String {
    claims.subject().unwrap_or_default().to_owned()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let verifier = Verifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key_source(StaticJwks::from_json(jwks()).expect("jwks"))
        .build()
        .expect("verifier");
    HttpServer::new(move || {
        App::new()
            .route("/open", web::get().to(|| async { "ok" }))
            .service(
                web::scope("")
                    .wrap(Authenticate::new(verifier.clone()))
                    .route("/protected", web::get().to(protected)),
            )
    })
    .workers(1)
    .bind(portcullis_bench::addr())?
    .run()
    .await
}
