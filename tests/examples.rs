//! The resource-server examples are public contracts (binary names, variables, routes): run the
//! built binaries against the test issuer and check each route. `cargo test --all-targets`
//! builds them next to this test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use portcullis::testing::TestIssuer;
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

async fn check(name: &str) {
    let (issuer, _server) = TestIssuer::serve().await.expect("issuer");
    let port = free_port();
    let child = Command::new(example(name))
        .env("PORTCULLIS_ISSUER", issuer.issuer())
        .env("PORTCULLIS_AUDIENCE", issuer.audience())
        .env("PORTCULLIS_REQUIRE_AT_JWT", "true")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start example");
    let _running = Running(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let mut health = None;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{base}/health")).send().await {
            health = Some(r.json::<Value>().await.expect("health json"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health = health.unwrap_or_else(|| panic!("{name} did not start within 10 s"));
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
    let mut ready = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the example did not start listening");
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
