//! Closes the loop: a client-credentials token from a real OpenID provider (oidc-provider,
//! `tests/idp/`) is accepted by a portcullis-protected axum route requiring `read:users`, sent
//! through the outbound middleware; a token for another resource is rejected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

#[path = "../crates/portcullis-core/tests/common/idp.rs"]
mod idp;

use axum::Router;
use axum::routing::get;
use idp::Idp;
use portcullis_axum::{AuthLayer, Claims, require};
use portcullis_core::authz::scope;
use portcullis_core::client::{BearerMiddleware, ClientAuth, ClientCredentials, TokenRequest};
use portcullis_core::keys::RemoteJwks;
use portcullis_core::{Verifier, client::TokenSource};
use serde_json::Value;

async fn users(claims: Claims<Value>) -> String {
    claims.client_id().unwrap_or_default().to_owned()
}

fn client(idp: &Idp, resource: &str, scope: &str) -> ClientCredentials {
    ClientCredentials::builder("service-basic")
        .auth(ClientAuth::SecretBasic(idp.secret("basic").into()))
        .discover(&idp.issuer)
        .request(TokenRequest::new().scope(scope).resource(resource))
        .build()
        .expect("client config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idp_token_opens_a_protected_route_and_a_token_for_another_resource_does_not() {
    let Some(idp) = Idp::start() else { return };
    let verifier = Verifier::builder()
        .issuer(&idp.issuer)
        .audience(&idp.jwt_api)
        .key_source(RemoteJwks::discover(&idp.issuer).build().expect("jwks"))
        .build()
        .expect("verifier");
    let app = Router::new()
        .route(
            "/users",
            get(users).route_layer(require(scope("read:users"))),
        )
        .layer(AuthLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/users", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let send = |source: ClientCredentials| {
        let url = url.clone();
        async move {
            let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
                .with(BearerMiddleware::new(source))
                .build();
            let response = http.get(url).send().await.expect("send");
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };

    // The JWT for this API, with the scope the route requires.
    let (status, body) = send(client(&idp, &idp.jwt_api, "read:users")).await;
    assert_eq!((status, body.as_str()), (200, "service-basic"));

    // A JWT for this API without the scope: authenticated, not authorized.
    let (status, _) = send(client(&idp, &idp.jwt_api, "write:users")).await;
    assert_eq!(status, 403);

    // A token for another resource (opaque, another audience): not a token for this API.
    let other = client(&idp, &idp.opaque_api, "read:users");
    assert!(other.token().await.is_ok(), "the IdP issues it");
    let (status, _) = send(other).await;
    assert_eq!(status, 401);
}
