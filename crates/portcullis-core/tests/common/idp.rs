//! The real OpenID provider of `tests/idp/` (oidc-provider on Node), started on 127.0.0.1 with a
//! free port and killed by its handle when the test ends.
//!
//! Without Node or without `tests/idp/node_modules` (`scripts/test.sh` runs `npm ci`), a test
//! is skipped with a message outside CI, and fails under `CI=true`.
#![allow(dead_code)] // shared by several test crates; each uses part of it

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::Value;

pub(crate) struct Idp {
    child: Child,
    pub(crate) issuer: String,
    pub(crate) jwt_api: String,
    pub(crate) opaque_api: String,
    secrets: Value,
    pub(crate) assertion_key_pem: String,
    pub(crate) assertion_key_kid: String,
}

impl Idp {
    /// Starts the IdP; `None` (after printing why) when it cannot run here outside CI.
    pub(crate) fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Starts the IdP with environment overrides (`IDP_ACCESS_TTL`, seconds).
    pub(crate) fn start_with(env: &[(&str, &str)]) -> Option<Self> {
        // Shared by the core's and the root package's tests: find `tests/idp` upwards.
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|d| d.join("tests/idp"))
            .find(|d| d.join("server.mjs").is_file())
            .expect("tests/idp/server.mjs");
        let missing = if Command::new("node").arg("--version").output().is_err() {
            Some("Node.js is not installed")
        } else if !dir.join("node_modules/oidc-provider").is_dir() {
            Some(
                "tests/idp/node_modules is missing (run `npm ci` in tests/idp, as scripts/test.sh does)",
            )
        } else {
            None
        };
        if let Some(why) = missing {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("the IdP tests cannot run: {why}");
            }
            eprintln!("SKIPPED: the IdP tests need the test OpenID provider: {why}");
            return None;
        }
        let mut command = Command::new("node");
        command
            .arg(dir.join("server.mjs"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("PORTCULLIS_IDP_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::piped()
            });
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("spawn node");
        // The provider's stderr, kept (its last 4 KiB) to say why a start failed.
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let tail = Arc::clone(&stderr_tail);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                    tail.push_str(&line);
                    tail.push('\n');
                    if tail.len() > 4096 {
                        let cut = tail.len() - 4096;
                        let cut = (cut..tail.len())
                            .find(|&i| tail.is_char_boundary(i))
                            .unwrap_or(0);
                        tail.drain(..cut);
                    }
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining: oidc-provider prints notices on stdout, and a closed pipe would
            // kill it (EPIPE). Ends when the process does.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if !line.is_empty() => line,
            outcome => {
                let _ = child.kill();
                let status = child.wait();
                // Give the stderr reader a moment to take what the process wrote last.
                std::thread::sleep(Duration::from_millis(100));
                let why = if outcome.is_err() {
                    "printed nothing within 30 s"
                } else {
                    "exited before printing its start-up line"
                };
                let tail = stderr_tail
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                panic!("the IdP {why} ({status:?}); its stderr:\n{tail}");
            }
        };
        let info: Value = serde_json::from_str(&line).expect("IdP startup line");
        let text = |name: &str| info[name].as_str().expect(name).to_owned();
        Some(Self {
            issuer: text("issuer"),
            jwt_api: text("jwt_api"),
            opaque_api: text("opaque_api"),
            secrets: info["secrets"].clone(),
            assertion_key_pem: text("assertion_key_pem"),
            assertion_key_kid: text("assertion_key_kid"),
            child,
        })
    }

    /// The secret of a confidential client: `basic`, `post` or `resourceServer`.
    pub(crate) fn secret(&self, client: &str) -> String {
        self.secrets[client].as_str().expect("secret").to_owned()
    }

    pub(crate) fn token_url(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// Token requests so far, by client (HTTP Basic) and in `total`.
    pub(crate) async fn token_requests(&self, client: &str) -> u64 {
        let body = reqwest::get(format!("{}/_test/counters", self.issuer))
            .await
            .expect("counters")
            .bytes()
            .await
            .expect("counters body");
        let counters: Value = serde_json::from_slice(&body).expect("counters json");
        counters[client].as_u64().unwrap_or(0)
    }

    /// Rotates the provider's signing key: a new key signs from now on (the old one stays
    /// published). Returns the new key's `kid`.
    pub(crate) async fn rotate(&self) -> String {
        let body = reqwest::Client::new()
            .post(format!("{}/_test/rotate", self.issuer))
            .send()
            .await
            .expect("rotate")
            .bytes()
            .await
            .expect("rotate answer");
        let answer: Value = serde_json::from_slice(&body).expect("rotate json");
        answer["kid"].as_str().expect("kid").to_owned()
    }

    /// Makes the next `count` token-endpoint requests answer `status` with `{"error": error}`
    /// (an empty body without `error`).
    pub(crate) async fn fail_token(&self, status: u16, error: Option<&str>, count: u32) {
        let mut url = format!(
            "{}/_test/fail-token?status={status}&count={count}",
            self.issuer
        );
        if let Some(error) = error {
            url.push_str(&format!("&error={error}"));
        }
        let answer = reqwest::Client::new()
            .post(url)
            .send()
            .await
            .expect("fail-token");
        assert!(answer.status().is_success());
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser stand-in: a cookie-keeping client that follows the IdP's pages by plain HTTP,
/// signing in as `user` and consenting, until a redirect to `stop_at` (returned) or a page that
/// is neither a login nor a consent form (`None`).
pub(crate) struct Browser {
    http: reqwest::Client,
    user: String,
    /// How many times a provider's page asked this browser for credentials.
    sign_ins: std::sync::atomic::AtomicUsize,
}

impl Browser {
    pub(crate) fn new(user: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("browser"),
            user: user.to_owned(),
            sign_ins: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// How many times a provider's page asked for credentials so far.
    pub(crate) fn sign_ins(&self) -> usize {
        self.sign_ins.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// GETs `url` and walks the sign-in; returns the first redirect that starts with `stop_at`.
    pub(crate) async fn visit(&self, url: &str, stop_at: &str) -> Option<reqwest::Url> {
        let response = self.http.get(url).send().await.expect("GET");
        self.walk(response, stop_at).await
    }

    /// POSTs a form and walks on from the answer.
    pub(crate) async fn submit(
        &self,
        url: &str,
        form: &[(&str, &str)],
        stop_at: &str,
    ) -> Option<reqwest::Url> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        self.walk(response, stop_at).await
    }

    /// The page at `url`, as text.
    pub(crate) async fn page(&self, url: &str) -> String {
        self.http
            .get(url)
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("page")
    }

    /// Signs out at the provider (RP-initiated logout for `client_id`): opens its logout page
    /// and confirms it, as a user clicking "Yes, sign me out". Returns the final status.
    pub(crate) async fn end_session(&self, issuer: &str, client_id: &str) -> reqwest::StatusCode {
        let url = format!("{issuer}/session/end?client_id={client_id}");
        self.confirm_logout(&url).await.status()
    }

    /// Opens a logout URL (the provider's confirmation page) and confirms it; the answer.
    pub(crate) async fn confirm_logout(&self, url: &str) -> reqwest::Response {
        let page = self.page(url).await;
        let field = |name: &str| {
            page.split(name)
                .nth(1)
                .and_then(|rest| rest.split('"').nth(1))
                .map(str::to_owned)
        };
        let action = field("action=").expect("the logout form's action");
        let xsrf = field("name=\"xsrf\" value=").expect("the logout form's xsrf");
        let target = reqwest::Url::parse(url)
            .and_then(|u| u.join(&action))
            .expect("form action");
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("xsrf", xsrf.as_str()), ("logout", "yes")])
            .finish();
        self.http
            .post(target)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST logout")
    }

    async fn walk(&self, mut response: reqwest::Response, stop_at: &str) -> Option<reqwest::Url> {
        for _ in 0..20 {
            let here = response.url().clone();
            if response.status().is_redirection() {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .expect("location");
                let next = here.join(location).expect("redirect URL");
                if next.as_str().starts_with(stop_at) {
                    return Some(next);
                }
                response = self.http.get(next).send().await.expect("follow");
                continue;
            }
            let page = response.text().await.expect("page");
            let action = page
                .split("action=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(|a| here.join(a).expect("form action"));
            let form: Vec<(&str, &str)> = if page.contains("name=\"prompt\" value=\"login\"") {
                self.sign_ins
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                vec![
                    ("prompt", "login"),
                    ("login", &self.user),
                    ("password", "pw"),
                ]
            } else if page.contains("name=\"prompt\" value=\"consent\"") {
                vec![("prompt", "consent")]
            } else {
                return None;
            };
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            response = self
                .http
                .post(action.expect("a form"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("POST form");
        }
        panic!("the sign-in did not finish in 20 steps");
    }
}
