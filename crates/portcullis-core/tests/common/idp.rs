//! The real OpenID provider of `tests/idp/` (oidc-provider on Node), started on 127.0.0.1 with a
//! free port and killed by its handle when the test ends.
//!
//! Without Node or without `tests/idp/node_modules` (`scripts/test.sh` runs `npm ci`), a test
//! is skipped with a message outside CI, and fails under `CI=true`.
#![allow(dead_code)] // shared by several test crates; each uses part of it

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
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
                Stdio::null()
            });
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("spawn node");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if !line.is_empty() => line,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the IdP did not start within 30 s");
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
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
