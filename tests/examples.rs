//! The resource-server examples are public contracts (binary names, variables, routes): run the
//! built binaries against the test issuer and check each route. `cargo test --all-targets`
//! builds them next to this test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis::Algorithm;
use portcullis::testing::{DpopKey, TestIssuer};
use serde_json::Value;

/// Kills the example when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --all-targets`",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Collects a child's stderr (its audit log) as it is written.
fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut log = sink.lock().expect("log");
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

/// The audit line of request `id` for `event`, once the example has written it (bounded wait).
async fn audit_line(log: &Mutex<String>, id: &str, event: &str) -> String {
    let needle = format!("request_id={id}");
    let event = format!("event=\"{event}\"");
    for _ in 0..50 {
        let found = log
            .lock()
            .expect("log")
            .lines()
            .find(|l| l.contains(&needle) && l.contains(&event))
            .map(str::to_owned);
        if let Some(line) = found {
            return line;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no {event} audit line for {id} in:\n{}",
        log.lock().expect("log")
    );
}

/// Starts example `name` against `issuer` with extra variables; returns it, its base URL and
/// its audit log.
fn start(
    name: &str,
    issuer: &TestIssuer,
    vars: &[(&str, &str)],
) -> (Running, String, Arc<Mutex<String>>) {
    start_for(name, issuer.issuer(), issuer.audience(), free_port(), vars)
}

/// [`start`] for any issuer and audience, on `port`.
fn start_for(
    name: &str,
    issuer: &str,
    audience: &str,
    port: u16,
    vars: &[(&str, &str)],
) -> (Running, String, Arc<Mutex<String>>) {
    let mut command = Command::new(example(name));
    command
        .env("PORTCULLIS_ISSUER", issuer)
        .env("PORTCULLIS_AUDIENCE", audience)
        .env("PORT", port.to_string())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("start example");
    let log = collect(child.stderr.take().expect("stderr"));
    (Running(child), format!("http://127.0.0.1:{port}"), log)
}

/// A DPoP key and a token from `issuer` bound to it (`cnf.jkt`).
fn bound_token(issuer: &TestIssuer) -> (DpopKey, String) {
    let key = DpopKey::generate(Algorithm::ES256).expect("key");
    let token = issuer
        .token()
        .claim("cnf", serde_json::json!({"jkt": key.thumbprint()}))
        .sign()
        .expect("sign");
    (key, token)
}

/// Waits (bounded) until the example answers `/health`; returns the health document.
async fn started(name: &str, base: &str) -> Value {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{base}/health")).send().await {
            return r.json::<Value>().await.expect("health json");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} did not start within 10 s")
}

/// Waits (bounded: 5 s) until an example without `/health` accepts connections on `port`.
async fn listening(name: &str, port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} did not start listening within 5 s")
}

async fn check(name: &str) {
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let (_running, base, log) = start(
        name,
        &issuer,
        &[
            ("PORTCULLIS_REQUIRE_AT_JWT", "true"),
            ("PORTCULLIS_TRUSTED_PROXIES", "127.0.0.1/32, ::1"),
        ],
    );
    let client = reqwest::Client::new();
    let health = started(name, &base).await;
    assert_eq!(health["usable"], true, "{name}: {health}");

    let get = |path: &str, token: Option<String>| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    let reader = issuer
        .token()
        .subject("reader")
        .scope("openid")
        .sign()
        .expect("sign");
    let admin = issuer
        .token()
        .subject("admin")
        .scope("read:users")
        .sign()
        .expect("sign");
    assert_eq!(
        get("/protected", None).await.expect("request").status(),
        401,
        "{name}"
    );
    let ok = get("/protected", Some(reader.clone()))
        .await
        .expect("request");
    assert_eq!(ok.status(), 200, "{name}");
    let body: Value = ok.json().await.expect("json");
    assert_eq!(
        (body["sub"].as_str(), &body["scopes"]),
        (Some("reader"), &serde_json::json!(["openid"])),
        "{name}"
    );
    assert_eq!(
        get("/users", Some(reader)).await.expect("request").status(),
        403,
        "{name}"
    );
    assert_eq!(
        get("/users", Some(admin)).await.expect("request").status(),
        200,
        "{name}"
    );
    // read:users by permission (Auth0 RBAC) as well as by scope.
    let permitted = issuer
        .token()
        .subject("rbac")
        .claim("permissions", serde_json::json!(["read:users"]))
        .sign()
        .expect("sign");
    assert_eq!(
        get("/users", Some(permitted))
            .await
            .expect("request")
            .status(),
        200,
        "{name}: read:users as a permission"
    );

    // The audit log: one line per decision, naming the request. The peer (127.0.0.1) is a
    // trusted proxy here, so its forwarding headers give the effective URI.
    let request = |id: &str| {
        client
            .get(format!("{base}/protected"))
            .header("x-request-id", id)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "api.example.com")
    };
    let refused = request("no-token-1").send().await.expect("request");
    assert_eq!(refused.status(), 401, "{name}");
    let line = audit_line(&log, "no-token-1", "request").await;
    for field in [
        "event=\"request\"",
        "outcome=\"reject\"",
        "reason=\"missing_credential\"",
        "method=\"GET\"",
        "path=\"/protected\"",
        "uri=\"https://api.example.com/protected\"",
        "peer=127.0.0.1:",
    ] {
        assert!(line.contains(field), "{name}: {field} in {line}");
    }
    let admin_again = issuer.token().subject("admin").sign().expect("sign");
    let accepted = request("with-token-1")
        .bearer_auth(admin_again)
        .send()
        .await
        .expect("request");
    assert_eq!(accepted.status(), 200, "{name}");
    let line = audit_line(&log, "with-token-1", "verify").await;
    assert!(
        line.contains("event=\"verify\"") && line.contains("outcome=\"accept\""),
        "{name}: {line}"
    );
    assert!(line.contains("sub=\"admin\""), "{name}: {line}");

    let jwt_typ = issuer.token().header("typ", "JWT").sign().expect("sign");
    assert_eq!(
        get("/protected", Some(jwt_typ))
            .await
            .expect("request")
            .status(),
        401,
        "{name}: PORTCULLIS_REQUIRE_AT_JWT"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_resource_server() {
    check("axum_resource_server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_resource_server() {
    check("actix_resource_server").await;
}

/// With `PORTCULLIS_PUBLIC_URL`, the effective URI is the public one whatever `Host` and the
/// forwarding headers say (and without trusted proxies, forwarding headers are ignored anyway).
async fn public_url(name: &str) {
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let (_running, base, log) = start(
        name,
        &issuer,
        &[("PORTCULLIS_PUBLIC_URL", "https://API.example.com:443/v1/")],
    );
    started(name, &base).await;
    let answer = reqwest::Client::new()
        .get(format!("{base}/protected"))
        .header("x-request-id", "public-url-1")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(answer.status(), 401, "{name}");
    let line = audit_line(&log, "public-url-1", "request").await;
    assert!(
        line.contains("uri=\"https://api.example.com/v1/protected\""),
        "{name}: {line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_resource_server_public_url() {
    public_url("axum_resource_server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_resource_server_public_url() {
    public_url("actix_resource_server").await;
}

/// RFC 9728 through the example: the metadata document at the path-inserted well-known URL
/// (no token needed), from the configuration whatever the `Host`; every 401 and 403 points at
/// it; a token for another audience is 401 (no passthrough).
async fn resource_metadata(name: &str) {
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let port = free_port();
    let resource = format!("http://127.0.0.1:{port}/api");
    let (_running, base, _log) = start_for(
        name,
        issuer.issuer(),
        issuer.audience(),
        port,
        &[
            ("PORTCULLIS_RESOURCE", &resource),
            ("PORTCULLIS_SCOPES_SUPPORTED", "read:users, write:users"),
        ],
    );
    started(name, &base).await;
    let client = reqwest::Client::new();
    let metadata_url = format!("{base}/.well-known/oauth-protected-resource/api");
    let answer = client
        .get(&metadata_url)
        .header("host", "evil.example")
        .send()
        .await
        .expect("metadata");
    assert_eq!(answer.status(), 200, "{name}");
    assert_eq!(
        answer.headers()["cache-control"],
        "public, max-age=3600",
        "{name}"
    );
    let doc: Value = answer.json().await.expect("json");
    assert_eq!(doc["resource"], resource.as_str(), "{name}: {doc}");
    assert_eq!(
        doc["authorization_servers"],
        serde_json::json!([issuer.issuer()]),
        "{name}"
    );
    assert_eq!(
        doc["scopes_supported"],
        serde_json::json!(["read:users", "write:users"]),
        "{name}"
    );
    assert_eq!(
        doc["bearer_methods_supported"],
        serde_json::json!(["header"])
    );

    let pointer = format!("resource_metadata=\"{metadata_url}\"");
    let challenge = |r: &reqwest::Response| {
        r.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .to_owned()
    };
    let missing = client
        .get(format!("{base}/protected"))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 401, "{name}");
    assert!(
        challenge(&missing).contains(&pointer),
        "{name}: {}",
        challenge(&missing)
    );
    let elsewhere = issuer
        .token()
        .audience("https://another-api.example")
        .sign()
        .expect("sign");
    let refused = client
        .get(format!("{base}/protected"))
        .bearer_auth(&elsewhere)
        .send()
        .await
        .expect("request");
    assert_eq!(
        refused.status(),
        401,
        "{name}: a token for another audience"
    );
    assert!(challenge(&refused).contains(&pointer), "{name}");
    let reader = issuer.token().scope("profile").sign().expect("sign");
    let denied = client
        .get(format!("{base}/users"))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("request");
    assert_eq!(denied.status(), 403, "{name}");
    let header = challenge(&denied);
    assert!(
        header.contains("error=\"insufficient_scope\""),
        "{name}: {header}"
    );
    assert!(header.contains(&pointer), "{name}: {header}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_resource_server_resource_metadata() {
    resource_metadata("axum_resource_server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_resource_server_resource_metadata() {
    resource_metadata("actix_resource_server").await;
}

/// DPoP through the example: a bound token with its proof is 200 `"auth": "dpop"`; the same
/// proof again, the token as Bearer, and a proof for the URI the server sees on loopback
/// instead of the public one are 401. With `PORTCULLIS_DPOP=required`, Bearer is 401.
async fn dpop(name: &str) {
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let (_running, base, log) = start(
        name,
        &issuer,
        &[("PORTCULLIS_PUBLIC_URL", "https://api.example.com")],
    );
    started(name, &base).await;
    let client = reqwest::Client::new();
    let key = DpopKey::generate(Algorithm::ES256).expect("key");
    let token = issuer
        .token()
        .subject("holder")
        .claim("cnf", serde_json::json!({"jkt": key.thumbprint()}))
        .sign()
        .expect("sign");
    let proof = key
        .proof("GET", "https://api.example.com/protected")
        .access_token(&token)
        .sign()
        .expect("proof");
    let call = |proof: &str, id: &str| {
        client
            .get(format!("{base}/protected"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .header("x-request-id", id)
            .send()
    };
    let ok = call(&proof, "dpop-ok").await.expect("request");
    assert_eq!(ok.status(), 200, "{name}");
    let body: Value = ok.json().await.expect("json");
    assert_eq!(
        (body["sub"].as_str(), body["auth"].as_str()),
        (Some("holder"), Some("dpop")),
        "{name}"
    );
    let replayed = call(&proof, "dpop-replay").await.expect("request");
    assert_eq!(replayed.status(), 401, "{name}");
    let challenge = replayed.headers()["www-authenticate"]
        .to_str()
        .expect("ascii");
    assert!(
        challenge.contains("DPoP error=\"invalid_dpop_proof\""),
        "{name}: {challenge}"
    );
    let line = audit_line(&log, "dpop-replay", "verify").await;
    assert!(line.contains("reason=\"dpop_replayed\""), "{name}: {line}");

    let loopback = key
        .proof("GET", &format!("{base}/protected"))
        .access_token(&token)
        .sign()
        .expect("proof");
    assert_eq!(
        call(&loopback, "dpop-htu").await.expect("request").status(),
        401,
        "{name}"
    );
    let line = audit_line(&log, "dpop-htu", "request").await;
    assert!(line.contains("reason=\"bad_dpop_proof\""), "{name}: {line}");

    let as_bearer = client
        .get(format!("{base}/protected"))
        .bearer_auth(&token)
        .header("x-request-id", "dpop-bearer")
        .send()
        .await
        .expect("request");
    assert_eq!(as_bearer.status(), 401, "{name}");
    let line = audit_line(&log, "dpop-bearer", "verify").await;
    assert!(
        line.contains("reason=\"unverified_confirmation\""),
        "{name}: {line}"
    );
    let plain = issuer.token().sign().expect("sign");
    let bearer = client
        .get(format!("{base}/protected"))
        .bearer_auth(&plain)
        .send()
        .await
        .expect("request");
    assert_eq!(bearer.status(), 200, "{name}");
    let body: Value = bearer.json().await.expect("json");
    assert_eq!(body["auth"].as_str(), Some("bearer"), "{name}");

    let (_required, base, _log) = start(name, &issuer, &[("PORTCULLIS_DPOP", "required")]);
    started(name, &base).await;
    let refused = client
        .get(format!("{base}/protected"))
        .bearer_auth(&plain)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 401, "{name}: PORTCULLIS_DPOP=required");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_resource_server_dpop() {
    dpop("axum_resource_server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_resource_server_dpop() {
    dpop("actix_resource_server").await;
}

#[path = "../crates/portcullis-redis/tests/common/redis.rs"]
mod redis;

/// An axum and an actix example given one `PORTCULLIS_REDIS_URL` are two replicas of one
/// service: a proof accepted at one is a replay at the other, and of 1,000 concurrent replays of
/// one proof spread over both, exactly one is 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_redis_accept_a_proof_once() {
    let Some(redis) = redis::Redis::start() else {
        return;
    };
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let url = redis.url();
    let vars = [
        ("PORTCULLIS_PUBLIC_URL", "https://api.example.com"),
        ("PORTCULLIS_REDIS_URL", url.as_str()),
    ];
    let (_axum, axum, _) = start("axum_resource_server", &issuer, &vars);
    let (_actix, actix, actix_log) = start("actix_resource_server", &issuer, &vars);
    started("axum_resource_server", &axum).await;
    started("actix_resource_server", &actix).await;
    let client = reqwest::Client::new();
    let (key, token) = bound_token(&issuer);
    let proof = || {
        key.proof("GET", "https://api.example.com/protected")
            .access_token(&token)
            .sign()
            .expect("proof")
    };
    let call = |base: &str, proof: String, id: String| {
        client
            .get(format!("{base}/protected"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .header("x-request-id", id)
            .send()
    };
    let once = proof();
    let at_axum = call(&axum, once.clone(), "redis-a".into())
        .await
        .expect("request");
    assert_eq!(at_axum.status(), 200);
    let at_actix = call(&actix, once, "redis-b".into()).await.expect("request");
    assert_eq!(at_actix.status(), 401, "the other replica saw the proof");
    let line = audit_line(&actix_log, "redis-b", "verify").await;
    assert!(line.contains("reason=\"dpop_replayed\""), "{line}");
    let fresh = call(&actix, proof(), "redis-c".into())
        .await
        .expect("request");
    assert_eq!(fresh.status(), 200, "a new proof at the other replica");

    let contested = proof();
    let mut replays = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let base = if i % 2 == 0 { &axum } else { &actix };
        let request = client
            .get(format!("{base}/protected"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", contested.clone())
            .send();
        replays.spawn(request);
    }
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    while let Some(answer) = replays.join_next().await {
        let status = answer.expect("task").expect("request").status().as_u16();
        *statuses.entry(status).or_default() += 1;
    }
    assert_eq!(
        statuses,
        std::collections::BTreeMap::from([(200, 1), (401, 999)])
    );
}

/// An axum and an actix example sharing one Redis enforce each other's revocations: a token,
/// a session and a subject revoked through `POST /revoke` at one replica are refused at the
/// other (audit reason `revoked`), and the propagation delay over 1,000 revocations, half each
/// way, from sending the revoking request to the other replica's first 401, is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_redis_enforce_each_others_revocations() {
    let Some(redis) = redis::Redis::start() else {
        return;
    };
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let url = redis.url();
    let vars = [("PORTCULLIS_REDIS_URL", url.as_str())];
    let (_axum, axum, _) = start("axum_resource_server", &issuer, &vars);
    let (_actix, actix, actix_log) = start("actix_resource_server", &issuer, &vars);
    started("axum_resource_server", &axum).await;
    started("actix_resource_server", &actix).await;
    let client = reqwest::Client::new();
    let get = |base: &str, token: &str, id: &str| {
        client
            .get(format!("{base}/protected"))
            .bearer_auth(token)
            .header("x-request-id", id)
            .send()
    };
    let revoke = |base: &str, token: &str, what: &str| {
        client
            .post(format!("{base}/revoke?what={what}"))
            .bearer_auth(token)
            .send()
    };
    /// Polls until `base` refuses `token` (bounded: 5 s).
    async fn refused_at(client: &reqwest::Client, base: &str, token: &str) {
        for _ in 0..5000 {
            let status = client
                .get(format!("{base}/protected"))
                .bearer_auth(token)
                .send()
                .await
                .expect("request")
                .status();
            match status.as_u16() {
                200 => tokio::task::yield_now().await,
                401 => return,
                other => panic!("{other} for a revoked token"),
            }
        }
        panic!("{base} still accepts a revoked token after 5 000 tries");
    }

    let session = issuer.token().claim("sid", "s-1").sign().unwrap();
    let same_session = issuer.token().claim("sid", "s-1").sign().unwrap();
    let alice = issuer.token().subject("alice").sign().unwrap();
    let bob = issuer.token().subject("bob").sign().unwrap();
    for token in [&session, &same_session, &alice, &bob] {
        assert_eq!(get(&actix, token, "x").await.unwrap().status(), 200);
    }
    let answer = revoke(&axum, &session, "session").await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<Value>().await.unwrap()["revoked"], "session");
    refused_at(&client, &actix, &same_session).await;
    let refused = get(&actix, &same_session, "revoked-1").await.unwrap();
    assert_eq!(refused.status(), 401);
    let line = audit_line(&actix_log, "revoked-1", "verify").await;
    assert!(line.contains("reason=\"revoked\""), "{line}");
    assert_eq!(
        revoke(&actix, &alice, "subject").await.unwrap().status(),
        200
    );
    refused_at(&client, &axum, &alice).await;
    assert_eq!(
        get(&axum, &bob, "x").await.unwrap().status(),
        200,
        "bob is untouched"
    );
    assert_eq!(
        revoke(&axum, &bob, "sometimes").await.unwrap().status(),
        400
    );
    assert_eq!(
        revoke(&axum, &bob, "session").await.unwrap().status(),
        400,
        "no sid to revoke"
    );

    let mut delays = Vec::with_capacity(1000);
    for i in 0..1000 {
        let (at, other) = if i % 2 == 0 {
            (&axum, &actix)
        } else {
            (&actix, &axum)
        };
        let token = issuer.token().sign().unwrap();
        let start = std::time::Instant::now();
        let answer = revoke(at, &token, "token").await.unwrap();
        assert_eq!(answer.status(), 200);
        refused_at(&client, other, &token).await;
        delays.push(start.elapsed());
    }
    delays.sort();
    println!(
        "revocation propagation over HTTP, 1000 revocations: p50 {:?}, p99 {:?}, max {:?}",
        delays[500], delays[990], delays[999]
    );
}

/// `PORTCULLIS_LOGOUT_CLIENT_ID` on two replicas sharing Redis: a logout token posted to one
/// ends the session on both; the same logout token at the other replica is a replay (400);
/// a forged one, an access token, or one without `events` is 400 and revokes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_redis_act_on_a_back_channel_logout_once() {
    let Some(redis) = redis::Redis::start() else {
        return;
    };
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let url = redis.url();
    let vars = [
        ("PORTCULLIS_REDIS_URL", url.as_str()),
        ("PORTCULLIS_LOGOUT_CLIENT_ID", "web-app"),
    ];
    let (_axum, axum, axum_log) = start("axum_resource_server", &issuer, &vars);
    let (_actix, actix, _) = start("actix_resource_server", &issuer, &vars);
    started("axum_resource_server", &axum).await;
    started("actix_resource_server", &actix).await;
    let client = reqwest::Client::new();
    let status = |base: &str, token: &str| {
        let request = client
            .get(format!("{base}/protected"))
            .bearer_auth(token.to_owned());
        async move { request.send().await.expect("request").status().as_u16() }
    };
    let post = |base: &str, body: String, id: &str| {
        client
            .post(format!("{base}/backchannel-logout"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-request-id", id)
            .body(body)
            .send()
    };
    let event = serde_json::json!({ "http://schemas.openid.net/event/backchannel-logout": {} });
    let logout_token = |sid: &str| {
        issuer
            .token()
            .header("typ", "logout+jwt")
            .audience("web-app")
            .expires_in(120)
            .claim("events", event.clone())
            .claim("sid", sid)
            .sign()
            .unwrap()
    };
    let access = issuer.token().claim("sid", "s-1").sign().unwrap();
    let bystander = issuer.token().claim("sid", "s-2").sign().unwrap();
    for base in [&axum, &actix] {
        assert_eq!(status(base, &access).await, 200);
    }

    let forged = {
        let good = logout_token("s-2");
        let other = logout_token("s-3");
        format!(
            "{}.{}",
            good.rsplit_once('.').unwrap().0,
            other.rsplit_once('.').unwrap().1
        )
    };
    let not_logout = [
        forged,
        issuer
            .token()
            .audience("web-app")
            .claim("sid", "s-2")
            .sign()
            .unwrap(),
        issuer
            .token()
            .header("typ", "logout+jwt")
            .audience("web-app")
            .expires_in(120)
            .claim("sid", "s-2")
            .sign()
            .unwrap(),
    ];
    for token in not_logout {
        let answer = post(&axum, format!("logout_token={token}"), "bad")
            .await
            .unwrap();
        assert_eq!(answer.status(), 400);
        assert_eq!(answer.headers()["cache-control"], "no-store");
    }
    let token = logout_token("s-1");
    let answer = post(&axum, format!("logout_token={token}"), "logout-1")
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let line = audit_line_any(&axum_log, "event=\"logout\"", "outcome=\"accept\"").await;
    assert!(line.contains("revoked=\"session\""), "{line}");
    let replayed = post(&actix, format!("logout_token={token}"), "logout-2")
        .await
        .unwrap();
    assert_eq!(
        replayed.status(),
        400,
        "the other replica saw the logout token"
    );
    for base in [&axum, &actix] {
        let mut refused = false;
        for _ in 0..1000 {
            if status(base, &access).await == 401 {
                refused = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(refused, "{base} still accepts the logged-out session");
        assert_eq!(
            status(base, &bystander).await,
            200,
            "another session is untouched"
        );
    }
}

/// The first line of `log` holding both `a` and `b` (bounded wait).
async fn audit_line_any(log: &Mutex<String>, a: &str, b: &str) -> String {
    for _ in 0..50 {
        let found = log
            .lock()
            .expect("log")
            .lines()
            .find(|l| l.contains(a) && l.contains(b))
            .map(str::to_owned);
        if let Some(line) = found {
            return line;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no line with {a} and {b} in:\n{}", log.lock().expect("log"));
}

/// `PORTCULLIS_MAX_TOKEN_AGE`: a token issued longer ago is refused though its `exp` is later;
/// without Redis, `POST /revoke` holds in the one process.
async fn max_age_and_local_revocation(name: &str) {
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let (_running, base, log) = start(name, &issuer, &[("PORTCULLIS_MAX_TOKEN_AGE", "120")]);
    started(name, &base).await;
    let client = reqwest::Client::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let old = issuer
        .token()
        .claim("iat", now - 200)
        .claim("exp", now + 600)
        .sign()
        .unwrap();
    let refused = client
        .get(format!("{base}/protected"))
        .bearer_auth(&old)
        .header("x-request-id", "too-old")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "{name}");
    let line = audit_line(&log, "too-old", "verify").await;
    assert!(line.contains("reason=\"token_too_old\""), "{name}: {line}");
    let fresh = issuer.token().sign().unwrap();
    let call = |path: &'static str| {
        let request = if path == "/revoke" {
            client.post(format!("{base}{path}"))
        } else {
            client.get(format!("{base}{path}"))
        };
        request.bearer_auth(&fresh).send()
    };
    assert_eq!(call("/protected").await.unwrap().status(), 200, "{name}");
    assert_eq!(call("/revoke").await.unwrap().status(), 200, "{name}");
    assert_eq!(call("/protected").await.unwrap().status(), 401, "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_resource_server_max_age_and_revocation() {
    max_age_and_local_revocation("axum_resource_server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_resource_server_max_age_and_revocation() {
    max_age_and_local_revocation("actix_resource_server").await;
}

/// With `PORTCULLIS_DPOP_NONCE=true`, a proof without the server nonce gets 401
/// `use_dpop_nonce` and the nonce in `DPoP-Nonce`; with it, 200. Two replicas sharing
/// `PORTCULLIS_DPOP_NONCE_KEY` accept each other's nonces; one with another key does not.
async fn dpop_nonces(name: &str) {
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    let replica = |key: &'static str| {
        start(
            name,
            &issuer,
            &[
                ("PORTCULLIS_PUBLIC_URL", "https://api.example.com"),
                ("PORTCULLIS_DPOP_NONCE", "true"),
                ("PORTCULLIS_DPOP_NONCE_KEY", key),
            ],
        )
    };
    let (_a, base_a, log) = replica(KEY);
    let (_b, base_b, _) = replica(KEY);
    let (_c, base_c, _) = replica("ZGlmZmVyZW50IGtleSBkaWZmZXJlbnQga2V5IGRpZmY");
    for base in [&base_a, &base_b, &base_c] {
        started(name, base).await;
    }
    let client = reqwest::Client::new();
    let (key, token) = bound_token(&issuer);
    let call = |base: &str, nonce: Option<&str>, id: &str| {
        let mut proof = key
            .proof("GET", "https://api.example.com/protected")
            .access_token(&token);
        if let Some(nonce) = nonce {
            proof = proof.claim("nonce", nonce);
        }
        client
            .get(format!("{base}/protected"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof.sign().expect("proof"))
            .header("x-request-id", id)
            .send()
    };
    let first = call(&base_a, None, "nonce-missing").await.expect("request");
    assert_eq!(first.status(), 401, "{name}");
    let challenge = first.headers()["www-authenticate"].to_str().expect("ascii");
    assert!(
        challenge.contains("DPoP error=\"use_dpop_nonce\""),
        "{name}: {challenge}"
    );
    let nonce = first.headers()["dpop-nonce"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let line = audit_line(&log, "nonce-missing", "request").await;
    assert!(
        line.contains("reason=\"dpop_nonce_missing\""),
        "{name}: {line}"
    );
    let ok = call(&base_a, Some(&nonce), "nonce-ok")
        .await
        .expect("request");
    assert_eq!(ok.status(), 200, "{name}");
    let other_replica = call(&base_b, Some(&nonce), "nonce-b")
        .await
        .expect("request");
    assert_eq!(
        other_replica.status(),
        200,
        "{name}: a replica sharing the key"
    );
    let other_key = call(&base_c, Some(&nonce), "nonce-c")
        .await
        .expect("request");
    assert_eq!(
        other_key.status(),
        401,
        "{name}: a replica with another key"
    );
    assert!(other_key.headers().contains_key("dpop-nonce"), "{name}");
    let forged = call(&base_a, Some("forged"), "nonce-forged")
        .await
        .expect("request");
    assert_eq!(forged.status(), 401, "{name}");
    let line = audit_line(&log, "nonce-forged", "request").await;
    assert!(
        line.contains("reason=\"dpop_nonce_invalid\""),
        "{name}: {line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_resource_server_dpop_nonces() {
    dpop_nonces("axum_resource_server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_resource_server_dpop_nonces() {
    dpop_nonces("actix_resource_server").await;
}

/// Behind a trusted proxy, `htu` is checked against the URI its forwarding headers name; from
/// any other peer the same headers are ignored (the loopback URI is then the effective one).
async fn dpop_behind_a_proxy(name: &str) {
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let key = DpopKey::generate(Algorithm::EdDSA).expect("key");
    let token = issuer
        .token()
        .claim("cnf", serde_json::json!({"jkt": key.thumbprint()}))
        .sign()
        .expect("sign");
    let client = reqwest::Client::new();
    for (proxies, want) in [("127.0.0.1/32, ::1", 200), ("10.0.0.0/8", 401)] {
        let (_running, base, _log) =
            start(name, &issuer, &[("PORTCULLIS_TRUSTED_PROXIES", proxies)]);
        started(name, &base).await;
        let proof = key
            .proof("GET", "https://api.example.com/protected")
            .access_token(&token)
            .sign()
            .expect("proof");
        let answer = client
            .get(format!("{base}/protected"))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "api.example.com")
            .send()
            .await
            .expect("request");
        assert_eq!(answer.status(), want, "{name}: trusted proxies {proxies}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_resource_server_dpop_behind_a_proxy() {
    dpop_behind_a_proxy("axum_resource_server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_resource_server_dpop_behind_a_proxy() {
    dpop_behind_a_proxy("actix_resource_server").await;
}

/// The gRPC example: a real tonic client sees `UNAUTHENTICATED`, `PERMISSION_DENIED` from
/// `require`, and `OK`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_resource_server() {
    use tonic::Code;
    use tonic::metadata::MetadataValue;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let name = "grpc_resource_server";
    let (_running, base, log) = start(name, &issuer, &[]);
    let health = started(name, &base).await;
    assert_eq!(health["usable"], true, "{health}");
    let channel = tonic::transport::Endpoint::from_shared(base)
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let client = HealthClient::new(channel);
    let call = |token: Option<String>, id: &'static str| {
        let mut client = client.clone();
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: String::new(),
        });
        request
            .metadata_mut()
            .insert("x-request-id", MetadataValue::from_static(id));
        if let Some(token) = token {
            let value: MetadataValue<_> = format!("Bearer {token}").parse().expect("metadata");
            request.metadata_mut().insert("authorization", value);
        }
        async move { client.check(request).await }
    };
    let refused = call(None, "grpc-none").await.expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let reader = issuer.token().scope("openid").sign().expect("sign");
    let denied = call(Some(reader), "grpc-reader")
        .await
        .expect_err("no scope");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    let line = audit_line(&log, "grpc-reader", "authorize").await;
    assert!(line.contains("outcome=\"deny\""), "{line}");
    let scoped = issuer.token().scope("health:read").sign().expect("sign");
    let ok = call(Some(scoped), "grpc-ok")
        .await
        .expect("authorized call");
    assert_eq!(
        ok.into_inner().status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[test]
fn invalid_origin_configuration_is_one_clear_line() {
    for name in [
        "axum_resource_server",
        "actix_resource_server",
        "grpc_resource_server",
    ] {
        for (variable, value) in [
            ("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.0/33"),
            ("PORTCULLIS_PUBLIC_URL", "ftp://api.example.com"),
            ("PORTCULLIS_DPOP", "sometimes"),
            ("PORTCULLIS_DPOP_NONCE", "yes"),
            ("PORTCULLIS_REDIS_URL", "http://cache.internal:6379"),
            ("PORTCULLIS_MAX_TOKEN_AGE", "0"),
            ("PORTCULLIS_MAX_TOKEN_AGE", "an hour"),
        ] {
            let out = Command::new(example(name))
                .env("PORTCULLIS_ISSUER", "https://login.example.com/")
                .env("PORTCULLIS_AUDIENCE", "x")
                .env(variable, value)
                .output()
                .expect("run");
            assert_eq!(out.status.code(), Some(2), "{name} {variable}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
            assert!(stderr.contains(variable), "{name}: {stderr}");
        }
    }
}

#[test]
fn missing_configuration_is_one_clear_line() {
    for name in ["axum_resource_server", "actix_resource_server"] {
        let out = Command::new(example(name))
            .env_remove("PORTCULLIS_ISSUER")
            .env("PORTCULLIS_AUDIENCE", "x")
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.contains("PORTCULLIS_ISSUER"), "{name}: {stderr}");
    }
}

/// `service_to_service` with no configuration: its embedded issuer, three calls through the
/// outbound middleware for one token request, and a refusal without a token.
#[test]
fn service_to_service_runs_on_its_embedded_issuer() {
    let out = Command::new(example("service_to_service"))
        .env_remove("PORTCULLIS_ISSUER")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches(": 200 OK ").count(), 3, "{stdout}");
    assert!(stdout.contains("\"caller\":\"service-a\""), "{stdout}");
    assert!(
        stdout.contains("token requests at the issuer for 3 calls: 1"),
        "{stdout}"
    );
    assert!(stdout.contains("without a token: 401"), "{stdout}");
}

/// With `PORTCULLIS_ISSUER` but not the rest, one clear line and a failure.
#[test]
fn service_to_service_names_a_missing_variable() {
    let out = Command::new(example("service_to_service"))
        .env("PORTCULLIS_ISSUER", "https://login.example.com/")
        .env_remove("CLIENT_ID")
        .env("PORTCULLIS_AUDIENCE", "https://api.example")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CLIENT_ID"), "{stderr}");
}

#[path = "../crates/portcullis-core/tests/common/idp.rs"]
mod idp;

/// `login` against the real OpenID provider: a browser (cookie-keeping HTTP client) signs in
/// through the example and reads `/me`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_signs_a_user_in_against_a_real_provider() {
    let Some(provider) = idp::Idp::start() else {
        return;
    };
    let port = free_port();
    let _app = Running(
        Command::new(example("login"))
            .env("PORTCULLIS_ISSUER", &provider.issuer)
            .env("CLIENT_ID", "web-app")
            .env("PORT", port.to_string())
            .env("PORTCULLIS_RESOURCE", &provider.jwt_api)
            .env("SCOPES", "openid email offline_access read:users")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start login"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let browser = idp::Browser::new("alice");
    listening("login", port).await;
    assert!(
        browser
            .page(&format!("{base}/me"))
            .await
            .contains("not signed in")
    );
    let callback = browser
        .visit(&format!("{base}/login"), &format!("{base}/callback"))
        .await
        .expect("back at the example's callback");
    // The example completes the login and sets the signed-in session.
    let _ = browser.page(callback.as_str()).await;
    let me: Value = serde_json::from_str(&browser.page(&format!("{base}/me")).await).expect("json");
    assert_eq!(me["sub"], "alice");
    assert_eq!(me["email"], "alice@example.test");
    assert_eq!(me["access_token_available"], true);
    // A replayed callback (the same code and state) is refused.
    assert!(
        browser
            .page(callback.as_str())
            .await
            .contains("no login in progress")
    );
}

/// OpenID back-channel logout from the real provider: alice signs in through portcullis' login
/// flow, her access token works at both replicas (axum and actix sharing Redis); she signs out
/// at the provider, which posts a logout token to the axum replica; her token is then refused
/// at both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_logout_ends_the_session_on_both_replicas() {
    let Some(redis) = redis::Redis::start() else {
        return;
    };
    let axum_port = free_port();
    let logout_uri = format!("http://127.0.0.1:{axum_port}/backchannel-logout");
    let Some(provider) = idp::Idp::start_with(&[("IDP_BACKCHANNEL_LOGOUT_URI", &logout_uri)])
    else {
        return;
    };
    let url = redis.url();
    let vars = [
        ("PORTCULLIS_REDIS_URL", url.as_str()),
        ("PORTCULLIS_LOGOUT_CLIENT_ID", "web-logout"),
    ];
    let (iss, aud) = (provider.issuer.as_str(), provider.jwt_api.as_str());
    let (_axum, axum, axum_log) = start_for("axum_resource_server", iss, aud, axum_port, &vars);
    let (_actix, actix, _) = start_for("actix_resource_server", iss, aud, free_port(), &vars);
    started("axum_resource_server", &axum).await;
    started("actix_resource_server", &actix).await;

    const CALLBACK: &str = "http://127.0.0.1/callback";
    let login = portcullis::client::Login::discover(iss, "web-logout", CALLBACK)
        .await
        .expect("discovery");
    let request = portcullis::client::TokenRequest::new()
        .scope("openid")
        .scope("read:users")
        .resource(aud);
    let (authorize, pending) = login.start(&request);
    let browser = idp::Browser::new("alice");
    let callback = browser
        .visit(authorize.as_str(), CALLBACK)
        .await
        .expect("redirected to the callback");
    let user = login
        .finish(pending, callback.query().expect("query"))
        .await
        .expect("logged in");
    let access = user.tokens.access_token().await.expect("access token");
    let access = access.secret().to_owned();
    let client = reqwest::Client::new();
    let status = |base: &str| {
        let request = client.get(format!("{base}/protected")).bearer_auth(&access);
        async move { request.send().await.expect("request").status().as_u16() }
    };
    for base in [&axum, &actix] {
        assert_eq!(status(base).await, 200, "{base} before the logout");
    }
    let signed_out = browser.end_session(iss, "web-logout").await;
    assert!(
        signed_out.is_success() || signed_out.is_redirection(),
        "{signed_out}"
    );
    let line = audit_line_any(&axum_log, "event=\"logout\"", "outcome=").await;
    assert!(line.contains("outcome=\"accept\""), "{line}");
    assert!(line.contains("revoked=\"session\""), "{line}");
    for base in [&axum, &actix] {
        let mut refused = false;
        for _ in 0..1000 {
            if status(base).await == 401 {
                refused = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(
            refused,
            "{base} still accepts alice's token after her logout"
        );
    }
}

#[test]
fn login_names_a_missing_variable() {
    let out = Command::new(example("login"))
        .env_remove("PORTCULLIS_ISSUER")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PORTCULLIS_ISSUER"), "{stderr}");
}

/// MCP discovery end to end, against the real OpenID provider: portcullis' client knows only
/// the MCP server's URL; its first 401 names the metadata, the metadata the provider, and a
/// client-credentials token asked with `resource` = that URL calls the `echo` tool. A token
/// without the tool's scope is 403 with `scope` and `resource_metadata`; a token for another
/// resource is 401 (no passthrough).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_discovers_the_server_and_calls_a_tool() {
    use portcullis::client::{ClientAuth, ClientCredentials, ResourceDiscovery};

    let Some(provider) = idp::Idp::start() else {
        return;
    };
    let port = free_port();
    let mcp_url = format!("http://127.0.0.1:{port}/mcp");
    let _server = Running(
        Command::new(example("mcp_resource_server"))
            .env("PORTCULLIS_ISSUER", &provider.issuer)
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the MCP example"),
    );
    listening("mcp_resource_server", port).await;

    // Step 1-3: the 401, the resource metadata, the authorization server's metadata.
    // The client sends a secret: it trusts only the provider it is registered with.
    let discovery = ResourceDiscovery::builder()
        .authorization_server(&provider.issuer)
        .build()
        .expect("config");
    let info = discovery.discover(&mcp_url).await.expect("discovered");
    assert_eq!(info.resource, mcp_url);
    assert_eq!(info.authorization_server, provider.issuer);
    assert_eq!(info.token_endpoint, format!("{}/token", provider.issuer));
    assert_eq!(info.scopes_supported, ["tools:echo"]);
    assert_eq!(
        info.metadata_url,
        format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp")
    );

    // Step 4: a token for exactly this resource (RFC 8707), and a tool call with it.
    let client = |request| {
        ClientCredentials::builder("service-basic")
            .auth(ClientAuth::SecretBasic(provider.secret("basic").into()))
            .issuer(&info.authorization_server)
            .request(request)
            .build()
            .expect("config")
    };
    let with_scope = client(info.token_request().scope("tools:echo"));
    let token = with_scope.access_token().await.expect("token");
    let http = reqwest::Client::new();
    let call = |token: String| {
        let http = http.clone();
        let url = mcp_url.clone();
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({
                    "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": "hello"}},
                }))
                .send()
                .await
                .expect("call")
        }
    };
    let answer = call(token.secret().to_owned()).await;
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.expect("json");
    assert_eq!(body["result"]["content"][0]["text"], "hello", "{body}");
    assert_eq!(body["result"]["caller"], "service-basic");

    // Without the tool's scope: 403 naming the scope and the metadata.
    let without = client(info.token_request())
        .access_token()
        .await
        .expect("token");
    let denied = call(without.secret().to_owned()).await;
    assert_eq!(denied.status(), 403);
    let challenge = denied.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(challenge.contains("scope=\"tools:echo\""), "{challenge}");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{}\"", info.metadata_url)),
        "{challenge}"
    );

    // A valid token of the same provider for another resource is refused.
    let elsewhere = client(portcullis::client::TokenRequest::new().resource(&provider.jwt_api))
        .access_token()
        .await
        .expect("token");
    assert_eq!(call(elsewhere.secret().to_owned()).await.status(), 401);
}
