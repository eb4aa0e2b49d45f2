//! The counters a request leaves behind, read from a real `metrics` recorder installed for the
//! test's thread: names and labels exactly as documented (docs/keys.md, docs/configuration.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use metrics::{
    Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use portcullis_core::TokenCache;
use portcullis_core::authenticator::Authenticator;
use portcullis_core::request::RequestView;
use portcullis_core::state::REQUESTS_TOTAL;
use portcullis_core::testing::{HeaderList, TestIssuer};

/// Every counter registered, by name and sorted labels, with its total.
#[derive(Default)]
struct Counts(Mutex<BTreeMap<String, Arc<Total>>>);

#[derive(Default)]
struct Total(AtomicU64);

impl CounterFn for Total {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

fn render(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Counts {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let total = Arc::clone(self.0.lock().unwrap().entry(render(key)).or_default());
        Counter::from_arc(total)
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

impl Counts {
    fn get(&self, rendered: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .get(rendered)
            .map_or(0, |t| t.0.load(Ordering::Relaxed))
    }
}

/// A static key source never waits: the future completes on its first poll, on this thread
/// (where the local recorder is installed).
fn now<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("static key sources complete immediately"),
    }
}

#[test]
fn verify_counts_outcome_and_cache_use() {
    let issuer = TestIssuer::new().unwrap();
    let token = issuer.token().sign().unwrap();
    let cached = issuer.verifier().unwrap().build().unwrap();
    let uncached = issuer
        .verifier()
        .unwrap()
        .token_cache(TokenCache::disabled())
        .build()
        .unwrap();
    let counts = Counts::default();
    metrics::with_local_recorder(&counts, || {
        // The doorkeeper admits a token the second time it is seen: two misses, then hits.
        for _ in 0..4 {
            assert!(now(cached.authenticate(&token)).is_ok());
        }
        assert!(now(uncached.authenticate(&token)).is_ok());
        assert!(now(uncached.authenticate("not-a-token")).is_err());
    });
    let accepted = |cache: &str| {
        counts.get(&format!(
            "portcullis_verify_total{{cache={cache},outcome=accept}}"
        ))
    };
    assert_eq!(
        (accepted("miss"), accepted("hit"), accepted("off")),
        (2, 2, 1)
    );
    assert_eq!(
        counts.get("portcullis_verify_total{outcome=reject,reason=malformed}"),
        1
    );
}

#[test]
fn requests_count_each_decision_once() {
    let issuer = TestIssuer::new().unwrap();
    let token = issuer.token().sign().unwrap();
    let required = Authenticator::new(issuer.verifier().unwrap().build().unwrap());
    let optional = Authenticator::new(issuer.verifier().unwrap().build().unwrap()).optional();
    let bearer = HeaderList(vec![("authorization", format!("Bearer {token}"))]);
    let broken = HeaderList(vec![("authorization", "Bearer a.b.c".to_owned())]);
    let none = HeaderList(vec![]);
    let counts = Counts::default();
    metrics::with_local_recorder(&counts, || {
        let decide = |a: &Authenticator, h: &HeaderList| {
            now(a.authenticate(&RequestView::new("GET", "/", h))).is_ok()
        };
        assert!(decide(&required, &bearer));
        assert!(decide(&required, &bearer));
        assert!(decide(&optional, &none));
        assert!(!decide(&required, &broken));
    });
    let count = |labels: &str| counts.get(&format!("{REQUESTS_TOTAL}{{{labels}}}"));
    assert_eq!(count("outcome=accept,reason=none"), 2);
    assert_eq!(count("outcome=anonymous,reason=none"), 1);
    assert_eq!(count("outcome=reject,reason=bad_base64"), 1);
}
