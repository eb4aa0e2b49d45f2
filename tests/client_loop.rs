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
#[path = "common/servers.rs"]
mod servers;

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

/// A verifier for the IdP's JWT access tokens for its JWT API, keys found by discovery.
fn idp_verifier(idp: &Idp) -> Verifier {
    Verifier::builder()
        .issuer(&idp.issuer)
        .audience(&idp.jwt_api)
        .key_source(RemoteJwks::discover(&idp.issuer).build().expect("jwks"))
        .build()
        .expect("verifier")
}

fn client(idp: &Idp, resource: &str, scope: &str) -> ClientCredentials {
    client_with(idp, resource, scope, None)
}

fn client_with(
    idp: &Idp,
    resource: &str,
    scope: &str,
    dpop: Option<portcullis_core::client::DpopKey>,
) -> ClientCredentials {
    let mut builder = ClientCredentials::builder("service-basic")
        .auth(ClientAuth::SecretBasic(idp.secret("basic").into()))
        .issuer(&idp.issuer)
        .request(TokenRequest::new().scope(scope).resource(resource));
    if let Some(key) = dpop {
        builder = builder.dpop(key);
    }
    builder.build().expect("client config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idp_token_opens_a_protected_route_and_a_token_for_another_resource_does_not() {
    let Some(idp) = Idp::start() else { return };
    let verifier = idp_verifier(&idp);
    let app = Router::new()
        .route(
            "/users",
            get(users).route_layer(require(scope("read:users"))),
        )
        .layer(AuthLayer::new(verifier));
    let url = format!("http://{}/users", servers::axum(app).await);

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

/// Records the status of every response that passes (it sits inside the DPoP middleware, so it
/// sees each try).
#[derive(Clone, Default)]
struct Statuses(std::sync::Arc<std::sync::Mutex<Vec<u16>>>);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Statuses {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let response = next.run(request, extensions).await?;
        self.0.lock().unwrap().push(response.status().as_u16());
        Ok(response)
    }
}

/// DPoP end to end (RFC 9449): portcullis' client proves its key to oidc-provider, which
/// requires nonces, and gets a DPoP-bound JWT (`cnf.jkt`); the outbound middleware calls an axum
/// and an actix resource server that require DPoP and their own nonces: the first call gets
/// `use_dpop_nonce`, the retry 200. A replayed request, the token with another key's proof and
/// the token as Bearer are 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_bound_idp_token_is_accepted_only_with_its_proof() {
    use base64::Engine as _;
    use portcullis_core::Algorithm;
    use portcullis_core::client::DpopKey;
    use portcullis_core::dpop::{DpopMode, DpopNonces, DpopPolicy, NonceKey};

    let Some(idp) = Idp::start_with(&[("IDP_DPOP_NONCE", "1")]) else {
        return;
    };
    let key = DpopKey::generate(Algorithm::ES256).expect("key");
    let client = client_with(&idp, &idp.jwt_api, "read:users", Some(key.clone()));
    let token = client.access_token().await.expect("a DPoP-bound token");
    assert!(token.is_dpop(), "token_type DPoP");
    assert_eq!(
        idp.token_requests("service-basic").await,
        2,
        "use_dpop_nonce from the token endpoint, then the retry with its nonce"
    );
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.secret().split('.').nth(1).expect("a JWT"))
            .expect("base64url"),
    )
    .expect("claims");
    assert_eq!(claims["cnf"]["jkt"].as_str(), Some(key.thumbprint()));
    // Without the key, the same request gets a bearer token, which the servers below refuse.
    let bearer = client_with(&idp, &idp.jwt_api, "read:users", None)
        .access_token()
        .await
        .expect("a bearer token");
    assert!(!bearer.is_dpop());

    let verifier = idp_verifier(&idp);
    let policy = || {
        DpopPolicy::default()
            .mode(DpopMode::Required)
            .nonces(DpopNonces::new(NonceKey::generate(1).expect("nonce key")))
    };
    let axum_app = Router::new()
        .route(
            "/users",
            get(users).route_layer(require(scope("read:users"))),
        )
        .layer(AuthLayer::new(verifier.clone()).dpop(policy()));
    let axum_url = format!("http://{}/users", servers::axum(axum_app).await);
    let actix_policy = policy();
    let actix = servers::Actix::start(move || {
        use actix_web::{App, web};
        use portcullis_actix::{Authenticate, Claims as ActixClaims};
        App::new()
            .wrap(Authenticate::new(verifier.clone()).dpop(actix_policy.clone()))
            .route(
                "/users",
                web::get().to(|c: ActixClaims<Value>| async move {
                    c.client_id().unwrap_or_default().to_owned()
                }),
            )
    });
    let actix_url = format!("http://{}/users", actix.addr);

    let plain = reqwest::Client::new();
    for url in [&axum_url, &actix_url] {
        let statuses = Statuses::default();
        let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(BearerMiddleware::new(client.clone()))
            .with(statuses.clone())
            .build();
        let response = http.get(url.as_str()).send().await.expect("send");
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.text().await.unwrap(), "service-basic");
        assert_eq!(
            *statuses.0.lock().unwrap(),
            [401, 200],
            "{url}: use_dpop_nonce, then the retry with the nonce"
        );
        let second = http.get(url.as_str()).send().await.expect("send");
        assert_eq!(second.status(), 200, "{url}: the nonce is remembered");
        assert_eq!(statuses.0.lock().unwrap().len(), 3, "{url}: no retry");

        // One request, captured and sent again.
        let proof = key.proof("GET", url, Some(token.secret())).expect("proof");
        let send = |authorization: String, proof: Option<&str>| {
            let request = plain
                .get(url.as_str())
                .header("authorization", authorization);
            match proof {
                Some(proof) => request.header("dpop", proof),
                None => request,
            }
            .send()
        };
        let dpop = format!("DPoP {}", token.secret());
        let first = send(dpop.clone(), Some(&proof)).await.expect("send");
        assert_eq!(first.status(), 200, "{url}");
        let replayed = send(dpop.clone(), Some(&proof)).await.expect("send");
        assert_eq!(replayed.status(), 401, "{url}: replayed");
        // The token with a proof by another key, which knows the current nonce.
        let thief = DpopKey::generate(Algorithm::ES256).expect("key");
        let nonce = replayed.headers()["dpop-nonce"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(thief.remember_nonce(url, &nonce));
        let stolen = thief
            .proof("GET", url, Some(token.secret()))
            .expect("proof");
        let answer = send(dpop.clone(), Some(&stolen)).await.expect("send");
        assert_eq!(answer.status(), 401, "{url}: another key's proof");
        let challenge = answer.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        // The token as Bearer.
        let as_bearer = send(format!("Bearer {}", token.secret()), None)
            .await
            .expect("send");
        assert_eq!(as_bearer.status(), 401, "{url}: as Bearer");
        let bearer_token = send(format!("Bearer {}", bearer.secret()), None)
            .await
            .expect("send");
        assert_eq!(bearer_token.status(), 401, "{url}: DPoP required");
    }
    actix.stop().await;
}

/// The tower layer in front of a real portcullis resource server (an axum `Router` as the inner
/// service) that requires DPoP and nonces: `Authorization: DPoP` with a proof per request, the
/// `use_dpop_nonce` answer retried once with the same body, and the nonce kept for the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tower_layer_sends_dpop_and_follows_the_resource_servers_nonce() {
    use portcullis_core::Algorithm;
    use portcullis_core::client::{BearerLayer, DpopKey};
    use portcullis_core::dpop::{DpopMode, DpopNonces, DpopPolicy, NonceKey};
    use portcullis_core::request::PublicUrl;
    use portcullis_core::testing::TestIssuer;
    use tower_layer::Layer as _;
    use tower_service::Service as _;

    let issuer = TestIssuer::new().expect("issuer");
    let key = DpopKey::generate(Algorithm::EdDSA).expect("key");
    let bound = issuer
        .token()
        .claim("cnf", serde_json::json!({"jkt": key.thumbprint()}))
        .sign()
        .expect("sign");
    let token_app = Router::new().route(
        "/token",
        axum::routing::post(move || {
            let bound = bound.clone();
            async move {
                axum::Json(serde_json::json!({
                    "access_token": bound, "token_type": "DPoP", "expires_in": 3600
                }))
            }
        }),
    );
    let token_url = format!("http://{}/token", servers::axum(token_app).await);
    let source = ClientCredentials::builder("svc")
        .auth(ClientAuth::SecretPost("s".to_owned().into()))
        .token_url(token_url)
        .dpop(key)
        .build()
        .expect("config");

    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&seen);
    let api = Router::new()
        .route(
            "/orders",
            axum::routing::post(|claims: Claims<Value>, body: String| async move {
                format!("{} {body}", claims.subject().unwrap_or_default())
            }),
        )
        .layer(
            AuthLayer::new(
                issuer
                    .verifier()
                    .expect("verifier")
                    .build()
                    .expect("config"),
            )
            .public_url(PublicUrl::parse("https://api.example.com").expect("url"))
            .dpop(
                DpopPolicy::default()
                    .mode(DpopMode::Required)
                    .nonces(DpopNonces::new(NonceKey::generate(1).expect("key"))),
            ),
        )
        .layer(axum::middleware::map_response(
            move |response: axum::response::Response| {
                record.lock().unwrap().push(response.status().as_u16());
                async move { response }
            },
        ));
    let mut service = BearerLayer::new(source).layer(api);
    for _ in 0..2 {
        std::future::poll_fn(|cx| {
            tower_service::Service::<http::Request<String>>::poll_ready(&mut service, cx)
        })
        .await
        .expect("ready");
        let request = http::Request::post("https://api.example.com/orders?n=1")
            .body("the body".to_owned())
            .expect("request");
        let response = service.call(request).await.expect("response");
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [401, 200, 200],
        "use_dpop_nonce, the retry, then the remembered nonce"
    );
}
