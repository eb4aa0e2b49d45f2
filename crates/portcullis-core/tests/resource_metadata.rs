//! RFC 9728 protected resource metadata: the document follows the configuration (and nothing
//! in the request), and every 401 and 403 challenge points at it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use portcullis_core::authenticator::Authenticator;
use portcullis_core::authz::scope;
use portcullis_core::credential::BearerRules;
use portcullis_core::dpop::{DpopMode, DpopPolicy};
use portcullis_core::render::Rejection;
use portcullis_core::request::RequestView;
use portcullis_core::resource_metadata::{ProtectedResource, ResourceMetadata};
use portcullis_core::testing::{HeaderList, TestIssuer};
use portcullis_core::verifier::{IssuerResolver, ResolveFuture};
use portcullis_core::{RequestState, Verifier};
use serde_json::{Value, json};

const RESOURCE: &str = "https://api.example.com/mcp";
const METADATA_URL: &str = "https://api.example.com/.well-known/oauth-protected-resource/mcp";

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn verifier(issuer: &TestIssuer) -> Verifier {
    issuer.verifier().unwrap().build().unwrap()
}

fn resource() -> ProtectedResource {
    ProtectedResource::builder(RESOURCE)
        .scope("tools:read")
        .scope("tools:call")
        .resource_name("Example MCP server")
        .resource_documentation("https://docs.example.com/mcp")
        .build()
        .unwrap()
}

fn document(authenticator: &Authenticator) -> Value {
    let metadata: ResourceMetadata = authenticator.resource_metadata().unwrap().unwrap();
    assert_eq!(metadata.path(), "/.well-known/oauth-protected-resource/mcp");
    serde_json::from_str(metadata.json()).unwrap()
}

fn decide(
    authenticator: &Authenticator,
    headers: Vec<(&'static str, String)>,
    host: &str,
) -> Result<RequestState, Rejection> {
    let headers = HeaderList(headers);
    let view = RequestView::new("GET", "/mcp", &headers)
        .authority(Some(host))
        .secure(true);
    run(authenticator.authenticate(&view))
}

fn challenge(rejection: &Rejection) -> &str {
    rejection
        .headers
        .iter()
        .find(|(n, _)| *n == "www-authenticate")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

#[test]
fn the_document_follows_the_configuration() {
    let issuer = TestIssuer::new().unwrap();
    let base = Authenticator::new(verifier(&issuer)).protected_resource(resource());
    assert_eq!(
        document(&base),
        json!({
            "resource": RESOURCE,
            "authorization_servers": [issuer.issuer()],
            "scopes_supported": ["tools:read", "tools:call"],
            "bearer_methods_supported": ["header"],
            "dpop_signing_alg_values_supported": ["RS256", "PS256", "ES256", "ES384", "EdDSA"],
            "dpop_bound_access_tokens_required": false,
            "resource_name": "Example MCP server",
            "resource_documentation": "https://docs.example.com/mcp",
        })
    );
    // Set in any order: the document is derived from the final configuration.
    let required = base
        .clone()
        .dpop(DpopPolicy::default().mode(DpopMode::Required))
        .rules(BearerRules::default().allow_query());
    let doc = document(&required);
    assert_eq!(doc["dpop_bound_access_tokens_required"], json!(true));
    assert_eq!(doc["bearer_methods_supported"], json!(["header", "query"]));
    let off = base.dpop(DpopPolicy::default().mode(DpopMode::Disabled));
    let doc = document(&off);
    assert!(doc.get("dpop_signing_alg_values_supported").is_none());
    assert_eq!(doc["dpop_bound_access_tokens_required"], json!(false));

    // Named authorization servers replace the verifier's issuers.
    let named = Authenticator::new(verifier(&issuer)).protected_resource(
        ProtectedResource::builder(RESOURCE)
            .authorization_server("https://login.example.com/tenant-a")
            .build()
            .unwrap(),
    );
    let doc = document(&named);
    assert_eq!(
        doc["authorization_servers"],
        json!(["https://login.example.com/tenant-a"])
    );
    assert!(doc.get("scopes_supported").is_none());

    // Without a protected resource there is nothing to serve.
    assert!(
        Authenticator::new(verifier(&issuer))
            .resource_metadata()
            .is_none()
    );
}

#[test]
fn metadata_is_served_with_caching_headers() {
    let issuer = TestIssuer::new().unwrap();
    let metadata = Authenticator::new(verifier(&issuer))
        .protected_resource(resource())
        .resource_metadata()
        .unwrap()
        .unwrap();
    let answer = metadata.respond();
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .headers
            .contains(&("content-type", "application/json".to_owned()))
    );
    assert!(
        answer
            .headers
            .contains(&("cache-control", "public, max-age=3600".to_owned()))
    );
    assert_eq!(answer.body, metadata.json().as_bytes());
}

#[test]
fn every_401_and_403_challenge_names_the_metadata() {
    let issuer = TestIssuer::new().unwrap();
    let authenticator = Authenticator::new(verifier(&issuer)).protected_resource(resource());
    let expected = format!("resource_metadata=\"{METADATA_URL}\"");

    // No credential: both schemes name it.
    let missing = decide(&authenticator, vec![], "api.example.com").unwrap_err();
    assert_eq!(missing.status, 401);
    let header = challenge(&missing);
    assert_eq!(header.matches(&expected).count(), 2, "{header}");
    assert!(header.starts_with("Bearer "), "{header}");

    // A token for another audience (no passthrough): 401 invalid_token, with the pointer.
    let other = issuer
        .token()
        .audience("https://other.example.com")
        .sign()
        .unwrap();
    let refused = decide(
        &authenticator,
        vec![("authorization", format!("Bearer {other}"))],
        "api.example.com",
    )
    .unwrap_err();
    assert_eq!(refused.status, 401);
    let header = challenge(&refused);
    assert!(header.contains("error=\"invalid_token\""), "{header}");
    assert!(header.contains(&expected), "{header}");

    // A bad DPoP request: the DPoP challenge carries it too.
    let dpop = decide(
        &authenticator,
        vec![("authorization", format!("DPoP {other}"))],
        "api.example.com",
    )
    .unwrap_err();
    assert_eq!(dpop.status, 401);
    let header = challenge(&dpop);
    assert!(
        header
            .split("DPoP ")
            .nth(1)
            .is_some_and(|d| d.contains(&expected)),
        "{header}"
    );

    // 403 insufficient_scope: scope= and resource_metadata= together.
    let token = issuer.token().scope("tools:read").sign().unwrap();
    let state = decide(
        &authenticator,
        vec![("authorization", format!("Bearer {token}"))],
        "api.example.com",
    )
    .unwrap();
    let denied = state.require(&scope("tools:call")).unwrap_err();
    assert_eq!(denied.status, 403);
    let header = challenge(&denied);
    assert!(header.contains("scope=\"tools:call\""), "{header}");
    assert!(header.contains(&expected), "{header}");

    // 400 is about the request's form, not about where tokens come from.
    let malformed = decide(
        &authenticator,
        vec![
            ("authorization", format!("Bearer {token}")),
            ("authorization", format!("Bearer {token}")),
        ],
        "api.example.com",
    )
    .unwrap_err();
    assert_eq!(malformed.status, 400);
    assert!(!challenge(&malformed).contains("resource_metadata"));

    // A spoofed Host changes neither the challenge nor the document.
    let spoofed = decide(&authenticator, vec![], "evil.example").unwrap_err();
    assert!(challenge(&spoofed).contains(&expected));
    assert!(!challenge(&spoofed).contains("evil"));
    assert_eq!(document(&authenticator)["resource"], json!(RESOURCE));

    // Without a protected resource, challenges are as before.
    let plain = Authenticator::new(verifier(&issuer));
    let missing = decide(&plain, vec![], "api.example.com").unwrap_err();
    assert!(!challenge(&missing).contains("resource_metadata"));
}

/// A resolver that trusts nobody: issuers that come from a resolver cannot be listed.
#[derive(Debug)]
struct Nobody;

impl IssuerResolver for Nobody {
    fn resolve<'a>(&'a self, _issuer: &'a str) -> ResolveFuture<'a> {
        Box::pin(async { None })
    }
}

#[test]
fn a_resolver_only_verifier_needs_named_authorization_servers() {
    let issuer = TestIssuer::new().unwrap();
    let verifier = Verifier::builder().resolver(Nobody).build().unwrap();
    let unnamed = Authenticator::new(verifier.clone())
        .protected_resource(ProtectedResource::builder(RESOURCE).build().unwrap());
    let error = unnamed.resource_metadata().unwrap().unwrap_err();
    assert!(
        error.to_string().contains("authorization_server"),
        "{error}"
    );
    let named = Authenticator::new(verifier).protected_resource(
        ProtectedResource::builder(RESOURCE)
            .authorization_server(issuer.issuer())
            .build()
            .unwrap(),
    );
    assert!(named.resource_metadata().unwrap().is_ok());
}
