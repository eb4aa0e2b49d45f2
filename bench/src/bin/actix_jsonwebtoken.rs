//! actix-web + a hand-rolled jsonwebtoken extractor, as tutorials write it: the decoding key
//! built once from the JWKS, `decode` with issuer and audience on every request.

use std::future::{Ready, ready};

use actix_web::{App, FromRequest, HttpRequest, HttpServer, dev::Payload, error, web};
use jsonwebtoken::{DecodingKey, Validation, decode, jwk::JwkSet};
use portcullis_bench::{AUDIENCE, ISSUER, jwks};
use serde::Deserialize;

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

struct Keys {
    key: DecodingKey,
    validation: Validation,
}

struct User(Claims);

impl FromRequest for User {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let keys = req.app_data::<web::Data<Keys>>().expect("keys");
        let token = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        ready(match token {
            Some(token) => decode::<Claims>(token, &keys.key, &keys.validation)
                .map(|data| User(data.claims))
                .map_err(|_| error::ErrorUnauthorized("invalid token")),
            None => Err(error::ErrorUnauthorized("missing token")),
        })
    }
}

async fn protected(User(claims): User) -> String {
    claims.sub
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let set: JwkSet = serde_json::from_str(&jwks()).expect("jwks");
    let jwk = set.keys.first().expect("one key");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let keys = web::Data::new(Keys {
        key: DecodingKey::from_jwk(jwk).expect("key"),
        validation,
    });
    HttpServer::new(move || {
        App::new()
            .app_data(keys.clone())
            .route("/open", web::get().to(|| async { "ok" }))
            .route("/protected", web::get().to(protected))
    })
    .workers(1)
    .bind(portcullis_bench::addr())?
    .run()
    .await
}
