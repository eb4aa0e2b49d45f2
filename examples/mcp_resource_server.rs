//! An MCP-shaped server (JSON-RPC 2.0 over HTTP POST) protected as the MCP authorization
//! specification (2025-11-25) requires: RFC 9728 metadata naming the authorization server,
//! `resource_metadata` in every 401 and 403, audience validation (RFC 8707: a token must name
//! this server in `aud`, so a token for another service is never passed through), and
//! `insufficient_scope` with the missing `scope` when a tool needs more.
//!
//! ```text
//! PORTCULLIS_ISSUER=https://login.example.com/ cargo run --example mcp_resource_server
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `PORTCULLIS_ISSUER` | required: the authorization server (`iss`); keys by OIDC / RFC 8414 discovery |
//! | `PORTCULLIS_RESOURCE` | optional: this server's canonical URI; tokens must carry it in `aud`. Default `http://127.0.0.1:<PORT>/mcp` |
//! | `PORT` | optional: default 3001; binds 127.0.0.1 |
//!
//! Routes: `POST /mcp` (JSON-RPC: `initialize`, `tools/list`, `tools/call` with the `echo`
//! tool, which needs the scope `tools:echo`), and
//! `GET /.well-known/oauth-protected-resource/mcp` (no token). A client discovers everything
//! from the first 401: its `resource_metadata` gives the document, the document the
//! authorization server, and the token is asked for with `resource` = this server's URI.

#[path = "support/axum_serve.rs"]
mod axum_serve;

use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use portcullis::RequestState;
use portcullis::Verifier;
use portcullis::authenticator::Authenticator;
use portcullis::authz::scope;
use portcullis::keys::RemoteJwks;
use portcullis::resource_metadata::ProtectedResource;
use portcullis_axum::{AuthLayer, resource_metadata, respond};
use serde_json::{Value, json};

/// The scope the `echo` tool needs.
const ECHO_SCOPE: &str = "tools:echo";

fn fail(variable: &str, why: &str) -> ! {
    eprintln!("error: {variable}: {why}");
    std::process::exit(2)
}

fn result(id: &Value, result: Value) -> Response {
    Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

fn error(id: &Value, code: i64, message: &str) -> Response {
    Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
        .into_response()
}

/// One JSON-RPC request. The token was checked by the layer; what a tool needs beyond it
/// depends on the body, so it is checked here.
async fn mcp(Extension(state): Extension<RequestState>, Json(request): Json<Value>) -> Response {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    match request.get("method").and_then(Value::as_str) {
        Some("initialize") => result(
            &id,
            json!({
                "protocolVersion": "2025-11-25",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "portcullis-mcp-example", "version": "0.1.0"},
            }),
        ),
        Some("tools/list") => result(
            &id,
            json!({"tools": [{
                "name": "echo",
                "description": "Echoes its text argument",
                "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
            }]}),
        ),
        Some("tools/call") => {
            let params = request.get("params").cloned().unwrap_or(Value::Null);
            if params.get("name").and_then(Value::as_str) != Some("echo") {
                return error(&id, -32602, "unknown tool");
            }
            // 403 insufficient_scope with scope="tools:echo" and resource_metadata.
            if let Err(rejection) = state.require(&scope(ECHO_SCOPE)) {
                return respond(rejection);
            }
            let text = params
                .pointer("/arguments/text")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let caller = state
                .principal()
                .and_then(|p| p.subject())
                .unwrap_or_default();
            result(
                &id,
                json!({"content": [{"type": "text", "text": text}], "caller": caller}),
            )
        }
        _ => error(&id, -32601, "method not found"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("PORTCULLIS_ISSUER")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| fail("PORTCULLIS_ISSUER", "required (see the header comment)"));
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .trim()
            .parse()
            .unwrap_or_else(|_| fail("PORT", "must be a port number")),
        Err(_) => 3001,
    };
    let resource = std::env::var("PORTCULLIS_RESOURCE")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| format!("http://127.0.0.1:{port}/mcp"));
    let keys = RemoteJwks::discover(issuer.clone())
        .build()
        .unwrap_or_else(|e| fail("PORTCULLIS_ISSUER", &e.to_string()));
    if let Err(e) = keys.warm_up().await {
        fail("PORTCULLIS_ISSUER", &format!("cannot fetch keys: {e}"));
    }
    // RFC 8707 audience validation: a token is for this server, or it is refused.
    let verifier = Verifier::builder()
        .issuer(issuer)
        .audience(resource.clone())
        .key_source(keys)
        .build()
        .unwrap_or_else(|e| fail("PORTCULLIS_ISSUER", &e.to_string()));
    let protected = ProtectedResource::builder(resource)
        .scope(ECHO_SCOPE)
        .resource_name("portcullis MCP example")
        .build()
        .unwrap_or_else(|e| fail("PORTCULLIS_RESOURCE", &e.to_string()));
    let authenticator = Authenticator::new(verifier).protected_resource(protected);
    let metadata = match authenticator.resource_metadata() {
        Some(Ok(metadata)) => metadata,
        Some(Err(e)) => fail("PORTCULLIS_RESOURCE", &e.to_string()),
        None => fail("PORTCULLIS_RESOURCE", "no protected resource"),
    };
    let path = metadata.path().to_owned();
    let app = Router::new()
        .route("/mcp", post(mcp))
        .layer(AuthLayer::from(authenticator))
        // Outside the layer: clients read it before they have a token.
        .route(&path, resource_metadata(metadata));
    axum_serve::serve(app, port, "/mcp").await?;
    Ok(())
}
