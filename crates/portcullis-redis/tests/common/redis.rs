//! A real `redis-server` per test: started on a free loopback port with no persistence, killed
//! by its handle when dropped. Outside CI a missing `redis-server` skips the test (saying so);
//! under `CI=true` it fails.
#![allow(dead_code)] // shared by several test crates; each uses part of it
#![allow(clippy::expect_used, clippy::panic)] // test code

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Redis {
    child: Child,
    pub(crate) port: u16,
    password: Option<String>,
}

/// The files of a TLS server: its certificate and key (for 127.0.0.1), and the CA that signed
/// them, in a directory of their own.
pub(crate) struct TlsFiles {
    pub(crate) dir: std::path::PathBuf,
    pub(crate) ca_pem: String,
}

impl Redis {
    /// A new server, or `None` (with the reason on stderr) when `redis-server` is missing
    /// outside CI.
    pub(crate) fn start() -> Option<Self> {
        Self::start_with(None)
    }

    /// A server that requires `password` (`requirepass`).
    pub(crate) fn start_with(password: Option<&str>) -> Option<Self> {
        if !installed() {
            return None;
        }
        let port = free_port();
        Some(Self::on(port, password))
    }

    /// A server that speaks only TLS (`--port 0 --tls-port`), with the certificate in `tls`.
    pub(crate) fn start_tls(tls: &TlsFiles) -> Option<Self> {
        if !installed() {
            return None;
        }
        let port = free_port();
        let file = |name: &str| tls.dir.join(name).display().to_string();
        let mut command = Command::new("redis-server");
        command
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
            ])
            .args(["--tls-cert-file", &file("server.pem")])
            .args(["--tls-key-file", &file("server.key")])
            .args(["--tls-ca-cert-file", &file("ca.pem")])
            .args(["--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().expect("spawn redis-server");
        let redis = Self {
            child,
            port,
            password: None,
        };
        redis.wait_until_listening();
        Some(redis)
    }

    fn on(port: u16, password: Option<&str>) -> Self {
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(password) = password {
            command.args(["--requirepass", password]);
        }
        let child = command.spawn().expect("spawn redis-server");
        let redis = Self {
            child,
            port,
            password: password.map(str::to_owned),
        };
        redis.wait_until_listening();
        redis
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start in 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis://127.0.0.1:<port>/0`, with the password when there is one.
    pub(crate) fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// Kills the server (as a crash would: no shutdown save) and waits for it to exit.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the server and starts an empty one on the same port.
    pub(crate) fn restart_empty(&mut self) {
        self.kill();
        let password = self.password.clone();
        *self = Self::on(self.port, password.as_deref());
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether `redis-server` runs here; outside CI a missing one skips the test (saying so), under
/// `CI=true` it fails.
fn installed() -> bool {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    let why = "redis-server is not installed (scripts/test.sh installs it)";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the Redis tests cannot run: {why}");
    }
    eprintln!("SKIPPED: {why}");
    false
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
