//! Configuration of the resource-server examples, from environment variables only. A missing or
//! invalid variable is one clear line on stderr and a non-zero exit.

use std::process::exit;
use std::time::Duration;

use portcullis::authenticator::Authenticator;
use portcullis::authz::{Requirement, any_of, permission, scope};
use portcullis::dpop::{DpopMode, DpopNonces, DpopPolicy, NonceKey};
use portcullis::keys::RemoteJwks;
use portcullis::logout::BackChannelLogout;
use portcullis::principal::{AuthMethod, Principal};
use portcullis::request::{PublicUrl, TrustedProxies};
use portcullis::resource_metadata::{ProtectedResource, ResourceMetadata};
use portcullis::revocation::{Revocation, RevocationError, Revocations};
use portcullis::{Algorithm, Verifier};
use portcullis_redis::RedisStore;
use serde_json::{Value, json};

/// The authenticator, key source and port the environment describes.
pub(crate) struct Config {
    pub(crate) authenticator: Authenticator,
    pub(crate) keys: RemoteJwks,
    /// The revocations every token is checked against: on Redis when `PORTCULLIS_REDIS_URL`
    /// is set, in this process otherwise.
    #[allow(dead_code)] // the gRPC example has no revocation route
    pub(crate) revocations: Revocations,
    /// The back-channel logout receiver, when `PORTCULLIS_LOGOUT_CLIENT_ID` is set.
    #[allow(dead_code)] // the gRPC example has no logout route
    pub(crate) logout: Option<BackChannelLogout>,
    /// The RFC 9728 document, when `PORTCULLIS_RESOURCE` is set.
    #[allow(dead_code)] // the gRPC example serves no metadata
    pub(crate) metadata: Option<ResourceMetadata>,
    pub(crate) port: u16,
}

/// `name` granted by scope or by the `permissions` claim: the seeds'
/// `checkPermissions(['read:users'])` for `/users` (Auth0 RBAC tokens carry permissions, not
/// scopes).
pub(crate) fn granted(name: &str) -> Requirement {
    any_of([scope(name), permission(name)])
}

/// The `/protected` answer: who called, with which scopes, and how the call was authenticated
/// (`"auth": "bearer"` or `"dpop"`).
#[allow(dead_code)] // the gRPC example answers with the health service instead
pub(crate) fn answer(principal: &Principal) -> Value {
    let auth = match principal.method() {
        AuthMethod::DpopJwt | AuthMethod::DpopIntrospected => "dpop",
        _ => "bearer",
    };
    json!({
        "sub": principal.subject(),
        "scopes": principal.scopes().collect::<Vec<_>>(),
        "auth": auth,
    })
}

/// `POST /revoke`: the caller revokes its own credentials, fleet-wide. `what` (the query's
/// `what`) is `token` (default: this token, by its `jti`), `session` (every token of this
/// token's `sid`) or `subject` (every token of this subject issued until now). The answer's
/// status and body.
#[allow(dead_code)] // the gRPC example has no revocation route
pub(crate) async fn revoke_own(
    revocations: &Revocations,
    principal: &Principal,
    query: Option<&str>,
) -> (u16, Value) {
    let what = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("what="))
        .unwrap_or("token");
    let token = principal.token();
    let revocation = match what {
        "token" => Revocation::of_token(token),
        "session" => token
            .session_id()
            .map(|sid| Revocation::session(token.issuer(), sid)),
        "subject" => token.subject().map(|sub| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            Revocation::subject_before(token.issuer(), sub, now)
        }),
        _ => {
            return (
                400,
                json!({"error": "what must be token, session or subject"}),
            );
        }
    };
    let Some(revocation) = revocation else {
        return (400, json!({"error": "the token has no such claim"}));
    };
    let kind = revocation.kind().name();
    match revocations.revoke(revocation).await {
        Ok(()) => (200, json!({"revoked": kind})),
        // Enforced here; the other replicas may not have heard.
        Err(RevocationError::Unavailable(_)) => (503, json!({"error": "store unavailable"})),
        Err(error) => (503, json!({"error": error.to_string()})),
    }
}

/// The audit log (target `portcullis::audit`, one line per decision) on stderr, filtered by
/// `RUST_LOG` (default `portcullis::audit=info`; `RUST_LOG=portcullis::audit=off` hides it).
pub(crate) fn audit_log_to_stderr() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "portcullis::audit=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn fail(variable: &str, why: &str) -> ! {
    eprintln!("error: {variable}: {why}");
    exit(2)
}

fn required(variable: &str) -> String {
    match std::env::var(variable) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => fail(variable, "required (see the example's header comment)"),
    }
}

/// Reads `PORTCULLIS_ISSUER`, `PORTCULLIS_AUDIENCE`, `PORTCULLIS_JWKS_URL`,
/// `PORTCULLIS_ALGORITHMS`, `PORTCULLIS_REQUIRE_AT_JWT`, `PORTCULLIS_PUBLIC_URL`,
/// `PORTCULLIS_TRUSTED_PROXIES`, `PORTCULLIS_DPOP`, `PORTCULLIS_DPOP_NONCE`,
/// `PORTCULLIS_DPOP_NONCE_KEY`, `PORTCULLIS_REDIS_URL`, `PORTCULLIS_MAX_TOKEN_AGE`,
/// `PORTCULLIS_LOGOUT_CLIENT_ID`, `PORTCULLIS_RESOURCE`, `PORTCULLIS_SCOPES_SUPPORTED` and
/// `PORT`.
/// Call inside the runtime.
pub(crate) async fn from_env() -> Config {
    let issuer = required("PORTCULLIS_ISSUER");
    let audience = required("PORTCULLIS_AUDIENCE");
    let keys = match std::env::var("PORTCULLIS_JWKS_URL") {
        Ok(url) if !url.trim().is_empty() => RemoteJwks::builder(url.trim()).build(),
        _ => RemoteJwks::discover(issuer.clone()).build(),
    }
    .unwrap_or_else(|e| fail("PORTCULLIS_JWKS_URL", &e.to_string()));
    let mut builder = Verifier::builder()
        .issuer(issuer.clone())
        .audience(audience)
        .key_source(keys.clone());
    let mut algorithms = None;
    if let Ok(list) = std::env::var("PORTCULLIS_ALGORITHMS") {
        let list: Vec<Algorithm> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| {
                Algorithm::from_name(name).unwrap_or_else(|| {
                    fail(
                        "PORTCULLIS_ALGORITHMS",
                        &format!("unknown algorithm {name:?}"),
                    )
                })
            })
            .collect();
        builder = builder.algorithms(list.clone());
        algorithms = Some(list);
    }
    match std::env::var("PORTCULLIS_REQUIRE_AT_JWT").as_deref() {
        Ok("true") => builder = builder.require_at_jwt(),
        Ok("false") | Ok("") | Err(_) => {}
        Ok(_) => fail("PORTCULLIS_REQUIRE_AT_JWT", "must be true or false"),
    }
    if let Some(secs) = optional("PORTCULLIS_MAX_TOKEN_AGE") {
        let secs: u64 = secs.parse().ok().filter(|s| *s > 0).unwrap_or_else(|| {
            fail(
                "PORTCULLIS_MAX_TOKEN_AGE",
                "must be a number of seconds, at least 1",
            )
        });
        builder = builder.max_token_age(Duration::from_secs(secs));
    }
    // Replicas given the same Redis share one replay store (a proof is accepted once in the
    // whole fleet) and one revocation set (mirrored in each).
    let redis = match optional("PORTCULLIS_REDIS_URL") {
        Some(url) => Some(
            tokio::time::timeout(Duration::from_secs(15), RedisStore::builder(url).connect())
                .await
                .unwrap_or_else(|_| fail("PORTCULLIS_REDIS_URL", "timed out connecting"))
                .unwrap_or_else(|e| fail("PORTCULLIS_REDIS_URL", &e.to_string())),
        ),
        None => None,
    };
    let mut revocations = Revocations::builder();
    if let Some(store) = &redis {
        revocations = revocations.store(store.clone());
    }
    let revocations = tokio::time::timeout(Duration::from_secs(15), revocations.start())
        .await
        .unwrap_or_else(|_| fail("PORTCULLIS_REDIS_URL", "timed out loading revocations"))
        .unwrap_or_else(|e| fail("PORTCULLIS_REDIS_URL", &e.to_string()));
    builder = builder.revocations(revocations.clone());
    let logout = optional("PORTCULLIS_LOGOUT_CLIENT_ID").map(|client_id| {
        // Logout tokens from the same issuer, signed with the same keys, for this client.
        let mut logout = BackChannelLogout::builder(issuer.clone(), client_id, revocations.clone())
            .key_source(keys.clone());
        if let Some(list) = &algorithms {
            logout = logout.algorithms(list.clone());
        }
        if let Some(store) = &redis {
            logout = logout.replay_store(store.clone());
        }
        logout
            .build()
            .unwrap_or_else(|e| fail("PORTCULLIS_LOGOUT_CLIENT_ID", &e.to_string()))
    });
    let port = match std::env::var("PORT") {
        Ok(p) => p
            .trim()
            .parse()
            .unwrap_or_else(|_| fail("PORT", "must be a port number")),
        Err(_) => 3000,
    };
    let verifier = builder
        .build()
        .unwrap_or_else(|e| fail("PORTCULLIS_*", &e.to_string()));
    let mut authenticator = Authenticator::new(verifier);
    if let Some(url) = optional("PORTCULLIS_PUBLIC_URL") {
        let url = PublicUrl::parse(&url)
            .unwrap_or_else(|e| fail("PORTCULLIS_PUBLIC_URL", &e.to_string()));
        authenticator = authenticator.public_url(url);
    }
    if let Some(list) = optional("PORTCULLIS_TRUSTED_PROXIES") {
        let proxies = TrustedProxies::parse(&list)
            .unwrap_or_else(|e| fail("PORTCULLIS_TRUSTED_PROXIES", &e.to_string()));
        authenticator = authenticator.trusted_proxies(proxies);
    }
    let dpop = match optional("PORTCULLIS_DPOP").as_deref() {
        None | Some("allowed") => DpopMode::Allowed,
        Some("off") => DpopMode::Disabled,
        Some("required") => DpopMode::Required,
        Some(_) => fail("PORTCULLIS_DPOP", "must be off, allowed or required"),
    };
    let mut policy = DpopPolicy::default().mode(dpop);
    match optional("PORTCULLIS_DPOP_NONCE").as_deref() {
        Some("true") => {
            // Replicas share the key to accept each other's nonces; one replica may generate it.
            let key = match optional("PORTCULLIS_DPOP_NONCE_KEY") {
                Some(secret) => NonceKey::from_base64url(1, &secret),
                None => NonceKey::generate(1),
            }
            .unwrap_or_else(|e| fail("PORTCULLIS_DPOP_NONCE_KEY", &e.to_string()));
            policy = policy.nonces(DpopNonces::new(key));
        }
        None | Some("false") => {}
        Some(_) => fail("PORTCULLIS_DPOP_NONCE", "must be true or false"),
    }
    if let Some(store) = redis {
        policy = policy.replay_store(store);
    }
    authenticator = authenticator.dpop(policy);
    if let Some(resource) = optional("PORTCULLIS_RESOURCE") {
        let mut builder = ProtectedResource::builder(resource);
        for scope in optional("PORTCULLIS_SCOPES_SUPPORTED")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            builder = builder.scope(scope);
        }
        let resource = builder
            .build()
            .unwrap_or_else(|e| fail("PORTCULLIS_RESOURCE", &e.to_string()));
        authenticator = authenticator.protected_resource(resource);
    } else if optional("PORTCULLIS_SCOPES_SUPPORTED").is_some() {
        fail(
            "PORTCULLIS_SCOPES_SUPPORTED",
            "needs PORTCULLIS_RESOURCE (the scopes are listed in its metadata)",
        );
    }
    let metadata = authenticator
        .resource_metadata()
        .map(|m| m.unwrap_or_else(|e| fail("PORTCULLIS_RESOURCE", &e.to_string())));
    // Fail at start-up, not on the first request, if the issuer's keys cannot be fetched.
    if let Err(e) = tokio::time::timeout(Duration::from_secs(15), keys.warm_up())
        .await
        .unwrap_or_else(|_| fail("PORTCULLIS_JWKS_URL", "timed out fetching keys"))
    {
        fail(
            if std::env::var("PORTCULLIS_JWKS_URL").is_ok() {
                "PORTCULLIS_JWKS_URL"
            } else {
                "PORTCULLIS_ISSUER"
            },
            &format!("cannot fetch keys: {e}"),
        );
    }
    Config {
        authenticator,
        keys,
        revocations,
        logout,
        metadata,
        port,
    }
}

fn optional(variable: &str) -> Option<String> {
    std::env::var(variable)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}
