//! What the revocation mirror costs a request, and what it holds in memory. Run:
//! `cargo bench -p portcullis-core --features testing --bench revocation`.
//!
//! The same token, a verified-token cache hit (the path most requests take), through three
//! verifiers: without revocations, with an empty mirror, and with a mirror of 100 000
//! revocations (sessions, tokens and subjects of other users, so every lookup runs and none
//! matches). The closing table interleaves the three (median of 21 rounds) and prints the added
//! cost per check; then the memory the 100 000 entries take (the growth of resident memory).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use portcullis_core::Verifier;
use portcullis_core::revocation::{Revocation, Revocations};
use portcullis_core::testing::TestIssuer;
use serde::de::IgnoredAny;

/// The process's resident memory in bytes (Linux `/proc/self/status`), to measure the
/// mirror's memory as the growth it causes; 0 elsewhere.
fn resident() -> isize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kib: isize = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

const ENTRIES: usize = 100_000;

fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("static keys and an in-memory mirror never wait"),
    }
}

/// A UUID-shaped identifier, as real `jti`s and `sid`s are.
fn id(kind: &str, i: usize) -> String {
    format!("{kind}{i:07x}-1111-4222-8333-{:012x}", i * 7919)
}

struct Setup {
    token: String,
    plain: Verifier,
    empty: Verifier,
    full: Verifier,
    bytes: isize,
}

fn setup(rt: &tokio::runtime::Runtime) -> Setup {
    let issuer = TestIssuer::new().unwrap();
    let token = issuer
        .token()
        .subject("alice")
        .claim("sid", id("s", ENTRIES + 1))
        .claim("client_id", "web-app")
        .sign()
        .unwrap();
    let with = |revocations: &Revocations| {
        issuer
            .verifier()
            .unwrap()
            .revocations(revocations.clone())
            .build()
            .unwrap()
    };
    let empty = rt.block_on(Revocations::builder().start()).unwrap();
    let before = resident();
    let full = rt.block_on(async {
        let full = Revocations::builder().start().await.unwrap();
        for i in 0..ENTRIES {
            let revocation = match i % 4 {
                0 | 1 => Revocation::session(issuer.issuer(), id("s", i)),
                2 => Revocation::token(issuer.issuer(), id("j", i)),
                _ => Revocation::subject_before(issuer.issuer(), id("u", i), 1),
            };
            full.revoke(revocation).await.unwrap();
        }
        full
    });
    let bytes = resident() - before;
    assert_eq!(full.len(), ENTRIES);
    let plain = issuer.verifier().unwrap().build().unwrap();
    let setup = Setup {
        token,
        plain,
        empty: with(&empty),
        full: with(&full),
        bytes,
    };
    // Warm every cache: the doorkeeper stores a token the second time it verifies.
    for v in [&setup.plain, &setup.empty, &setup.full] {
        for _ in 0..3 {
            now(v.authenticate(&setup.token)).unwrap();
        }
    }
    setup
}

fn hit(v: &Verifier, token: &str) {
    let verified: portcullis_core::Verified<IgnoredAny> = now(v.authenticate(token)).unwrap();
    black_box(verified);
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = setup(&rt);
    let mut group = c.benchmark_group("revocation");
    group.bench_function("cache hit, no revocations", |b| {
        b.iter(|| hit(&s.plain, &s.token))
    });
    group.bench_function("cache hit, empty mirror", |b| {
        b.iter(|| hit(&s.empty, &s.token))
    });
    group.bench_function("cache hit, 100 000 revocations", |b| {
        b.iter(|| hit(&s.full, &s.token))
    });
    group.finish();
    table(&s);
}

/// Interleaved rounds, median per-call time of each verifier.
fn table(s: &Setup) {
    const ROUNDS: usize = 21;
    const CALLS: u32 = 200_000;
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (slot, v) in [&s.plain, &s.empty, &s.full].into_iter().enumerate() {
            let start = Instant::now();
            for _ in 0..CALLS {
                hit(v, &s.token);
            }
            times[slot].push(start.elapsed().as_nanos() as f64 / f64::from(CALLS));
        }
    }
    let median = |t: &mut Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let [plain, empty, full] = times.map(|mut t| median(&mut t));
    println!("\ncache hit | ns per call | added by the mirror");
    println!("---|---:|---:");
    println!("no revocations | {plain:.0} | -");
    println!("empty mirror | {empty:.0} | {:+.0} ns", empty - plain);
    println!("100 000 revocations | {full:.0} | {:+.0} ns", full - plain);
    println!(
        "\nmirror memory: {} bytes resident for {ENTRIES} revocations ({} bytes each)",
        s.bytes,
        s.bytes / ENTRIES as isize
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
