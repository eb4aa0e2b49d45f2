//! Loopback servers the root tests share: an axum app on a tokio task, an actix app on a thread
//! of its own (actix runs its own runtime), each on a free port of 127.0.0.1.
#![allow(dead_code)] // shared by several test crates; each uses part of it

use std::net::SocketAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};

/// Serves `app` until the test's runtime ends; its address.
pub(crate) async fn axum(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

/// An actix server with one worker; [`Actix::stop`] ends it and joins its thread.
pub(crate) struct Actix {
    pub(crate) addr: SocketAddr,
    handle: ServerHandle,
    thread: std::thread::JoinHandle<()>,
}

impl Actix {
    /// Serves the app `factory` builds (called once per worker) on its own thread.
    pub(crate) fn start<F, T, B>(factory: F) -> Self
    where
        F: Fn() -> actix_web::App<T> + Send + Clone + 'static,
        T: ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<B>,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
        B: MessageBody + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = actix_web::HttpServer::new(factory)
                    .workers(1)
                    .disable_signals()
                    .bind(("127.0.0.1", 0))
                    .expect("bind");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle())).expect("send");
                server.await.expect("actix server");
            });
        });
        let (addr, handle) = rx.recv().expect("actix started");
        Self {
            addr,
            handle,
            thread,
        }
    }

    /// Stops the server and waits for its thread.
    pub(crate) async fn stop(self) {
        self.handle.stop(false).await;
        self.thread.join().expect("actix thread");
    }
}
