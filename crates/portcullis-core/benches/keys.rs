//! The remote key cache on the request path. Run:
//! `cargo bench -p portcullis-core --features testing --bench keys`.
//!
//! - `current`: one key-set lookup on a warm `RemoteJwks` (target < 100 ns), next to the static
//!   source for reference;
//! - scaling: `Verifier::verify` throughput on 2 threads vs 1 with the remote cache warm; with no
//!   shared lock on the hit path it should scale with the cores (target >= 1.8x on 2 cores).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // bench code
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use portcullis_core::keys::RemoteJwks;
use portcullis_core::testing::{TestIssuer, TestServer};
use portcullis_core::{KeySource, Verifier};
use serde_json::Value;

fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("a warm cache answers without waiting"),
    }
}

struct Setup {
    _runtime: tokio::runtime::Runtime,
    _server: TestServer,
    issuer: TestIssuer,
    remote: RemoteJwks,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("rt");
    let (issuer, server, remote) = runtime.block_on(async {
        let (issuer, server) = TestIssuer::serve().await.expect("serve");
        let remote = RemoteJwks::builder(server.jwks_url())
            .build()
            .expect("config");
        remote.warm_up().await.expect("warm up");
        (issuer, server, remote)
    });
    Setup {
        _runtime: runtime,
        _server: server,
        issuer,
        remote,
    }
}

fn bench(c: &mut Criterion) {
    let s = setup();
    let fixed = s.issuer.static_jwks().expect("jwks");
    let mut group = c.benchmark_group("keys");
    group.bench_function("current/remote", |b| {
        b.iter(|| black_box(s.remote.current()))
    });
    group.bench_function("current/static", |b| b.iter(|| black_box(fixed.current())));
    group.finish();
}

fn scaling() {
    let s = setup();
    let verifier = Verifier::builder()
        .issuer(s.issuer.issuer())
        .audience(s.issuer.audience())
        .key_source(s.remote.clone())
        .build()
        .expect("config");
    let token = s.issuer.token().sign().expect("sign");
    assert!(now(verifier.verify::<Value>(&token)).is_ok());
    let per_thread = 20_000;
    let run = |threads: usize| {
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    for _ in 0..per_thread {
                        black_box(now(verifier.verify::<Value>(black_box(&token))).is_ok());
                    }
                });
            }
        });
        (threads * per_thread) as f64 / started.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..5).map(|_| run(2) / run(1)).collect();
    ratios.sort_by(f64::total_cmp);
    let one = run(1);
    println!(
        "\nRS256 verify, warm remote cache: {one:.0}/s on 1 thread; 2 threads / 1 thread = {:.2}x (median of 5, {} cores)",
        ratios[2],
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo test --all-targets` runs benches once as a smoke test (no `--bench`): skip the
    // timed table there.
    if std::env::args().any(|a| a == "--bench") {
        scaling();
    }
}
