//! The same resource server as `axum_resource_server`, on actix-web, configured only through the
//! environment:
//!
//! ```text
//! PORTCULLIS_ISSUER=https://login.example.com/ PORTCULLIS_AUDIENCE=https://api.example.com \
//!     cargo run --example actix_resource_server
//! ```
//!
//! Variables: `PORTCULLIS_ISSUER` and `PORTCULLIS_AUDIENCE` (required), `PORTCULLIS_JWKS_URL`,
//! `PORTCULLIS_ALGORITHMS`, `PORTCULLIS_REQUIRE_AT_JWT`, `PORTCULLIS_PUBLIC_URL`,
//! `PORTCULLIS_TRUSTED_PROXIES`, `PORTCULLIS_DPOP`, `PORTCULLIS_DPOP_NONCE`,
//! `PORTCULLIS_DPOP_NONCE_KEY`, `PORTCULLIS_REDIS_URL`, `PORTCULLIS_MAX_TOKEN_AGE`,
//! `PORTCULLIS_LOGOUT_CLIENT_ID`, `PORTCULLIS_RESOURCE`, `PORTCULLIS_SCOPES_SUPPORTED`,
//! `RUST_LOG`, `PORT` (default 3000, binds 127.0.0.1); see
//! `axum_resource_server` for what each means. Routes: `GET /protected`, `GET /users` (needs
//! `read:users` as a scope or a permission), `POST /revoke` (the caller's own token, session or
//! subject), `POST /backchannel-logout` (with `PORTCULLIS_LOGOUT_CLIENT_ID`),
//! `GET /.well-known/oauth-protected-resource<resource path>` (with `PORTCULLIS_RESOURCE`),
//! `GET /health` (no authentication). Every decision is one audit line on stderr.

#[path = "support/env_config.rs"]
mod env_config;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use portcullis::keys::RemoteJwks;
use portcullis::revocation::Revocations;
use portcullis_actix::{
    Authenticate, Authenticated, backchannel_logout, require, resource_metadata,
};

async fn protected(Authenticated(principal): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(env_config::answer(&principal))
}

async fn revoke(
    revocations: web::Data<Revocations>,
    Authenticated(principal): Authenticated,
    request: HttpRequest,
) -> HttpResponse {
    let query = Some(request.query_string()).filter(|q| !q.is_empty());
    let (status, body) = env_config::revoke_own(&revocations, &principal, query).await;
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .json(body)
}

async fn health(keys: web::Data<RemoteJwks>) -> HttpResponse {
    HttpResponse::Ok().json(keys.health())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_config::audit_log_to_stderr();
    let config = env_config::from_env().await;
    let (authenticator, keys) = (config.authenticator, web::Data::new(config.keys));
    let revocations = web::Data::new(config.revocations);
    let logout = config.logout.map(web::Data::new);
    let metadata = config.metadata.map(web::Data::new);
    eprintln!("listening on http://127.0.0.1:{}", config.port);
    HttpServer::new(move || {
        let mut app = App::new()
            .app_data(keys.clone())
            .app_data(revocations.clone())
            .route("/health", web::get().to(health));
        // Outside the middleware: the provider proves itself with the logout token's signature.
        if let Some(logout) = &logout {
            app = app
                .app_data(logout.clone())
                .route("/backchannel-logout", web::post().to(backchannel_logout));
        }
        // Outside the middleware too: clients read it before they have a token.
        if let Some(metadata) = &metadata {
            app = app
                .app_data(metadata.clone())
                .route(metadata.path(), web::get().to(resource_metadata));
        }
        app.service(
            web::scope("")
                .wrap(Authenticate::from(authenticator.clone()))
                .route("/protected", web::get().to(protected))
                .route("/revoke", web::post().to(revoke))
                .service(
                    web::resource("/users")
                        .wrap(require(env_config::granted("read:users")))
                        .route(web::get().to(protected)),
                ),
        )
    })
    .bind(("127.0.0.1", config.port))?
    .run()
    .await
}
