//! Service A calls service B with a client-credentials token, the way services talk in a zero-trust
//! system: no trust in the network, a short-lived token for every call.
//!
//! - Service B: axum + portcullis, `GET /users` requires the `read:users` scope.
//! - Service A: `ClientCredentials` (cached, one token request however many calls) and
//!   `BearerMiddleware` on a reqwest client.
//!
//! Run it with no configuration and it brings its own issuer (the test kit's loopback issuer
//! with a token endpoint):
//!
//! ```sh
//! cargo run --example service_to_service
//! ```
//!
//! Or point it at a real authorization server (service B then trusts that issuer):
//!
//! | variable | meaning |
//! |---|---|
//! | `PORTCULLIS_ISSUER` | the issuer (discovery finds its keys and token endpoint) |
//! | `PORTCULLIS_AUDIENCE` | service B's audience, sent as the RFC 8707 `resource` |
//! | `CLIENT_ID`, `CLIENT_SECRET` | service A's client (`client_secret_basic`) |

use axum::Router;
use axum::routing::get;
use portcullis::Verifier;
use portcullis::authz::scope;
use portcullis::client::{BearerMiddleware, ClientAuth, ClientCredentials, TokenRequest};
use portcullis::keys::RemoteJwks;
use portcullis::testing::{TestIssuer, TestServer};
use portcullis_axum::{AuthLayer, Claims, require};
use serde_json::{Value, json};

/// Service B's one route: who called, with which scopes.
async fn users(claims: Claims<Value>) -> axum::Json<Value> {
    axum::Json(json!({
        "users": ["ada", "grace"],
        "caller": claims.client_id(),
        "scopes": claims.scopes().collect::<Vec<_>>(),
    }))
}

struct Setup {
    issuer: String,
    audience: String,
    client_id: String,
    secret: String,
    /// The embedded issuer, kept alive while it serves.
    _embedded: Option<(TestIssuer, TestServer)>,
}

async fn setup() -> Result<Setup, Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(issuer) = var("PORTCULLIS_ISSUER") {
        let need = |name: &str| {
            var(name).ok_or_else(|| format!("{name}: required with PORTCULLIS_ISSUER"))
        };
        return Ok(Setup {
            issuer,
            audience: need("PORTCULLIS_AUDIENCE")?,
            client_id: need("CLIENT_ID")?,
            secret: need("CLIENT_SECRET")?,
            _embedded: None,
        });
    }
    let (kit, server) = TestIssuer::serve().await?;
    server.register_client("service-a", "service-a-secret");
    eprintln!(
        "no PORTCULLIS_ISSUER: using an embedded issuer at {}",
        kit.issuer()
    );
    Ok(Setup {
        issuer: kit.issuer().to_owned(),
        audience: "https://service-b.example".into(),
        client_id: "service-a".into(),
        secret: "service-a-secret".into(),
        _embedded: Some((kit, server)),
    })
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let setup = setup().await?;

    // Service B.
    let verifier = Verifier::builder()
        .issuer(&setup.issuer)
        .audience(&setup.audience)
        .key_source(RemoteJwks::discover(&setup.issuer).build()?)
        .build()?;
    let app = Router::new()
        .route(
            "/users",
            get(users).route_layer(require(scope("read:users"))),
        )
        .layer(AuthLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let service_b = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Service A.
    let tokens = ClientCredentials::builder(&setup.client_id)
        .auth(ClientAuth::SecretBasic(setup.secret.clone().into()))
        .issuer(&setup.issuer)
        .request(
            TokenRequest::new()
                .scope("read:users")
                .resource(&setup.audience),
        )
        .build()?;
    // A wrong issuer, secret or scope fails here, at start-up, not on the first call.
    tokens.warm_up().await?;
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerMiddleware::new(tokens))
        .build();
    for call in 1..=3 {
        let response = http.get(format!("{service_b}/users")).send().await?;
        let status = response.status();
        let body = response.text().await?;
        println!("call {call}: service A -> service B /users: {status} {body}");
        if !status.is_success() {
            return Err(format!("service B answered {status}").into());
        }
    }
    if let Some((_, server)) = &setup._embedded {
        println!(
            "token requests at the issuer for 3 calls: {}",
            server.token_requests()
        );
    }
    // Without a token, service B refuses.
    let bare = reqwest::get(format!("{service_b}/users")).await?;
    println!("without a token: {}", bare.status());
    Ok(())
}
