//! axum 0.7 + jwt-authorizer 0.15 (its latest release): `GET /protected` behind its layer, the
//! key set from the local JWKS file, issuer and audience validated.

use axum07::{Router, routing::get};
use jwt_authorizer::{
    Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, RegisteredClaims, Validation,
};
use portcullis_bench::{AUDIENCE, ISSUER, data_dir};

async fn protected(JwtClaims(claims): JwtClaims<RegisteredClaims>) -> String {
    claims.sub.unwrap_or_default()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let path = data_dir().join("jwks.json");
    let auth: Authorizer = JwtAuthorizer::from_jwks(path.to_str().expect("utf-8 path"))
        .validation(Validation::new().iss(&[ISSUER]).aud(&[AUDIENCE]))
        .build()
        .await
        .expect("authorizer");
    let app = Router::new()
        .route("/protected", get(protected))
        .layer(auth.into_layer())
        .route("/open", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(portcullis_bench::addr())
        .await
        .expect("bind");
    axum07::serve(listener, app).await.expect("serve");
}
