//! `POST /token`: a minimal client-credentials token endpoint.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

use super::{Shared, read};

/// `POST /token`: the client credentials grant for registered clients (`client_secret_basic` or
/// `client_secret_post`). The token is an RS256 JWT: `sub` and `client_id` are the client, `aud`
/// the `resource` or `audience` parameter (else the issuer's default), `scope` as asked, 300 s.
pub(super) async fn token(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    s.token_hits.fetch_add(1, Ordering::SeqCst);
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let error = |status: StatusCode, code: &str| {
        (status, axum::Json(json!({ "error": code }))).into_response()
    };
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    let (client_id, secret) = match basic {
        Some(pair) => pair,
        None => match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return error(StatusCode::UNAUTHORIZED, "invalid_client"),
        },
    };
    // Constant time, as a real token endpoint must compare secrets.
    let known = read(&s.clients).get(&client_id).is_some_and(|k| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            k.as_bytes(),
            secret.as_bytes(),
        ))
    });
    if !known {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let audience = form
        .get("resource")
        .or_else(|| form.get("audience"))
        .cloned()
        .unwrap_or_else(|| s.kit.audience().to_owned());
    let scope = form.get("scope").cloned().unwrap_or_default();
    let minted = s
        .kit
        .token()
        .subject(&client_id)
        .claim("client_id", client_id.as_str())
        .audience(audience)
        .scope(&scope)
        .expires_in(300)
        .sign();
    match minted {
        Ok(token) => axum::Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": scope,
        }))
        .into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
    }
}
