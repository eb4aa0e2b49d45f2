//! Continuous validation: the maximum token age, and revocation by token, session, subject and
//! client, on fresh and cached tokens alike; the mirror's promises with a store shared by two
//! replicas (announcements, resync after a partition, a store that lost its data, a store that
//! stops answering, a mirror too small for the fleet's set). The store here is an in-process
//! implementation of the trait; `portcullis-redis` runs the same promises against Redis.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_core::clock::ManualClock;
use portcullis_core::revocation::{
    Revocation, RevocationError, RevocationFuture, RevocationSink, RevocationSnapshot,
    RevocationStore, Revocations,
};
use portcullis_core::testing::TestIssuer;
use portcullis_core::{AuthError, ConfigError, Reason, Verifier};
use serde_json::Value;

const NOW: u64 = 1_800_000_000;

/// Verifies `token`: `Ok(true)` when the cache answered (seen in the audit event).
async fn verify(v: &Verifier, token: &str) -> Result<bool, AuthError> {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // Thread-local: these tests run on one thread.
    let guard = tracing::subscriber::set_default(subscriber);
    let outcome = v.verify::<Value>(token).await;
    drop(guard);
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    outcome.map(|_| log.contains("cached=true"))
}

fn reason(outcome: Result<bool, AuthError>) -> Reason {
    outcome.expect_err("rejected").reason()
}

/// Verifies until the cache answers (the doorkeeper stores a token the second time).
async fn warm(v: &Verifier, token: &str) {
    for _ in 0..2 {
        assert!(!verify(v, token).await.unwrap(), "a full verification");
    }
    assert!(verify(v, token).await.unwrap(), "a cache hit");
}

fn issuer(clock: &ManualClock) -> TestIssuer {
    TestIssuer::new().expect("keys").with_clock(clock.clone())
}

#[tokio::test]
async fn a_token_older_than_the_max_age_is_rejected_even_from_the_cache() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let v = issuer
        .verifier()
        .unwrap()
        .max_token_age(Duration::from_secs(300))
        .build()
        .unwrap();
    let token = issuer.token().expires_in(3600).sign().unwrap();
    warm(&v, &token).await;
    // 300 s of age plus 60 s of leeway.
    clock.advance(360);
    assert!(
        verify(&v, &token).await.unwrap(),
        "at the bound, from the cache"
    );
    clock.advance(1);
    assert_eq!(reason(verify(&v, &token).await), Reason::TokenTooOld);
    let fresh = issuer.token().expires_in(3600).sign().unwrap();
    assert!(verify(&v, &fresh).await.is_ok(), "a newer token is fine");
}

#[tokio::test]
async fn a_max_age_needs_iat_and_a_positive_value() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let v = issuer
        .verifier()
        .unwrap()
        .max_token_age(Duration::from_secs(300))
        .build()
        .unwrap();
    let undated = issuer.token().without_claim("iat").sign().unwrap();
    assert_eq!(
        reason(verify(&v, &undated).await),
        Reason::MissingClaim("iat")
    );
    let zero = issuer
        .verifier()
        .unwrap()
        .max_token_age(Duration::from_millis(900))
        .build();
    assert!(matches!(
        zero,
        Err(ConfigError::InvalidValue {
            name: "max_token_age",
            ..
        })
    ));
}

async fn local(clock: &ManualClock) -> Revocations {
    Revocations::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_kind_of_revocation_rejects_its_tokens_cached_or_not() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let revocations = local(&clock).await;
    let v = issuer
        .verifier()
        .unwrap()
        .revocations(revocations.clone())
        .build()
        .unwrap();
    let iss = issuer.issuer().to_owned();
    let by_jti = issuer.token().claim("jti", "j-1").sign().unwrap();
    let by_sid = issuer.token().claim("sid", "s-1").sign().unwrap();
    let by_sub = issuer.token().subject("alice").sign().unwrap();
    let by_client = issuer.token().claim("client_id", "app").sign().unwrap();
    let bystander = issuer
        .token()
        .subject("bob")
        .claim("sid", "s-2")
        .claim("client_id", "other")
        .sign()
        .unwrap();
    for token in [&by_jti, &by_sid, &by_sub, &by_client, &bystander] {
        warm(&v, token).await;
    }
    let cases = [
        (&by_jti, Revocation::token(&iss, "j-1")),
        (&by_sid, Revocation::session(&iss, "s-1")),
        (&by_sub, Revocation::subject_before(&iss, "alice", NOW)),
        (&by_client, Revocation::client_before(&iss, "app", NOW)),
    ];
    for (token, revocation) in cases {
        let kind = revocation.kind();
        revocations.revoke(revocation).await.unwrap();
        assert_eq!(reason(verify(&v, token).await), Reason::Revoked, "{kind}");
        assert!(
            verify(&v, &bystander).await.unwrap(),
            "{kind}: bob is untouched"
        );
    }
    assert_eq!(revocations.len(), 4);
    // Another issuer's revocation of the same names does not apply here.
    let other = issuer.token().claim("jti", "j-2").sign().unwrap();
    revocations
        .revoke(Revocation::token("https://elsewhere.example/", "j-2"))
        .await
        .unwrap();
    assert!(verify(&v, &other).await.is_ok());
}

#[tokio::test]
async fn a_cut_off_spares_tokens_issued_after_it() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let revocations = local(&clock).await;
    let v = issuer
        .verifier()
        .unwrap()
        .revocations(revocations.clone())
        .build()
        .unwrap();
    let old = issuer.token().subject("alice").sign().unwrap();
    let undated = issuer
        .token()
        .subject("alice")
        .without_claim("iat")
        .sign()
        .unwrap();
    revocations
        .revoke(Revocation::subject_before(issuer.issuer(), "alice", NOW))
        .await
        .unwrap();
    clock.advance(1);
    let new = issuer.token().subject("alice").sign().unwrap();
    assert_eq!(reason(verify(&v, &old).await), Reason::Revoked);
    assert_eq!(
        reason(verify(&v, &undated).await),
        Reason::Revoked,
        "no iat: cannot show it is newer"
    );
    assert!(verify(&v, &new).await.is_ok(), "signed in again afterwards");
}

#[tokio::test]
async fn a_revoked_token_is_remembered_until_it_expires() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let revocations = local(&clock).await;
    let v = issuer
        .verifier()
        .unwrap()
        .revocations(revocations.clone())
        .build()
        .unwrap();
    let token = issuer.token().expires_in(600).sign().unwrap();
    let verified = v.verify::<Value>(&token).await.unwrap();
    let revocation = Revocation::of_token(&verified).expect("a jti");
    assert_eq!(
        revocation.expiry(),
        Some(NOW + 600 + 300),
        "exp + the largest leeway"
    );
    revocations.revoke(revocation).await.unwrap();
    assert_eq!(reason(verify(&v, &token).await), Reason::Revoked);
    let no_jti = issuer.token().without_claim("jti").sign().unwrap();
    let verified = v.verify::<Value>(&no_jti).await.unwrap();
    assert!(Revocation::of_token(&verified).is_none());
}

#[tokio::test]
async fn with_revocations_no_token_may_outlive_the_retention() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let revocations = Revocations::builder()
        .clock(clock.clone())
        .retention(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let v = issuer
        .verifier()
        .unwrap()
        .revocations(revocations.clone())
        .dangerous_allow_missing_exp()
        .build()
        .unwrap();
    let hour = issuer.token().expires_in(3600).sign().unwrap();
    assert!(verify(&v, &hour).await.is_ok());
    let longer = issuer.token().expires_in(3601).sign().unwrap();
    assert_eq!(reason(verify(&v, &longer).await), Reason::LifetimeTooLong);
    let forever = issuer.token().without_claim("exp").sign().unwrap();
    assert_eq!(reason(verify(&v, &forever).await), Reason::LifetimeTooLong);
    let undated = issuer
        .token()
        .without_claim("iat")
        .expires_in(3601)
        .sign()
        .unwrap();
    assert_eq!(reason(verify(&v, &undated).await), Reason::LifetimeTooLong);
}

#[tokio::test]
async fn bad_revocations_and_configurations_are_refused() {
    let clock = ManualClock::new(NOW);
    let revocations = local(&clock).await;
    for bad in [
        Revocation::token("", "j"),
        Revocation::token("iss", ""),
        Revocation::session("iss", "s".repeat(1025)),
    ] {
        assert!(matches!(
            revocations.revoke(bad).await,
            Err(RevocationError::Invalid(_))
        ));
    }
    assert!(revocations.is_empty());
    let small = Revocations::builder()
        .capacity(1)
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    small.revoke(Revocation::token("iss", "a")).await.unwrap();
    assert!(matches!(
        small.revoke(Revocation::token("iss", "b")).await,
        Err(RevocationError::Full(1))
    ));
    for builder in [
        Revocations::builder().retention(Duration::from_secs(59)),
        Revocations::builder().retention(Duration::from_secs(31 * 24 * 3600)),
        Revocations::builder().resync_interval(Duration::from_millis(99)),
        Revocations::builder()
            .resync_interval(Duration::from_secs(5))
            .max_staleness(Duration::from_secs(5)),
    ] {
        assert!(matches!(
            builder.start().await,
            Err(RevocationError::Invalid(_))
        ));
    }
}

/// An in-process fleet store: one set, one version, announcements to every subscriber; each
/// replica's handle can be cut off (a partition), and the store can lose everything (a restart
/// without persistence).
#[derive(Debug, Default)]
struct Fleet {
    set: HashMap<String, u64>,
    /// Bumped on every change; a restart starts a new epoch.
    version: (u64, u64),
    subscribers: Vec<(usize, RevocationSink)>,
    cut_off: HashSet<usize>,
}

#[derive(Debug, Clone)]
struct Handle {
    fleet: Arc<Mutex<Fleet>>,
    id: usize,
}

impl Handle {
    fn reachable(&self) -> Result<std::sync::MutexGuard<'_, Fleet>, RevocationError> {
        let fleet = self.fleet.lock().unwrap();
        if fleet.cut_off.contains(&self.id) {
            return Err(RevocationError::Unavailable("cut off".into()));
        }
        Ok(fleet)
    }
}

impl RevocationStore for Handle {
    fn publish<'a>(&'a self, revocation: &'a Revocation) -> RevocationFuture<'a, ()> {
        Box::pin(async move {
            let sinks = {
                let mut fleet = self.reachable()?;
                let expiry = revocation.expiry().unwrap();
                let known = fleet.set.entry(revocation.to_member()).or_default();
                *known = (*known).max(expiry);
                fleet.version.1 += 1;
                let cut_off = fleet.cut_off.clone();
                fleet
                    .subscribers
                    .iter()
                    .filter(|(id, _)| !cut_off.contains(id))
                    .map(|(_, sink)| sink.clone())
                    .collect::<Vec<_>>()
            };
            for sink in sinks {
                sink.deliver(revocation.clone()).await;
            }
            Ok(())
        })
    }

    fn version(&self) -> RevocationFuture<'_, String> {
        Box::pin(async move {
            let fleet = self.reachable()?;
            Ok(format!("{}.{}", fleet.version.0, fleet.version.1))
        })
    }

    fn load(&self) -> RevocationFuture<'_, RevocationSnapshot> {
        Box::pin(async move {
            let fleet = self.reachable()?;
            let revocations = fleet
                .set
                .iter()
                .map(|(member, expiry)| Revocation::from_member(member, *expiry).unwrap())
                .collect();
            let version = format!("{}.{}", fleet.version.0, fleet.version.1);
            Ok(RevocationSnapshot::new(version, revocations))
        })
    }

    fn subscribe(&self, sink: RevocationSink) -> RevocationFuture<'_, ()> {
        Box::pin(async move {
            let mut fleet = self.reachable()?;
            fleet.subscribers.push((self.id, sink));
            Ok(())
        })
    }
}

impl Handle {
    fn cut(&self) {
        let mut fleet = self.fleet.lock().unwrap();
        fleet.cut_off.insert(self.id);
        // The connection is gone: its subscription with it.
        let id = self.id;
        fleet.subscribers.retain(|(sub, _)| *sub != id);
    }

    fn heal(&self) {
        self.fleet.lock().unwrap().cut_off.remove(&self.id);
    }

    fn lose_everything(&self) {
        let mut fleet = self.fleet.lock().unwrap();
        fleet.set.clear();
        fleet.version = (fleet.version.0 + 1, 0);
        fleet.subscribers.clear();
    }
}

struct Replica {
    store: Handle,
    revocations: Revocations,
    verifier: Verifier,
}

const RESYNC: Duration = Duration::from_secs(1);
const STALENESS: Duration = Duration::from_secs(3);

async fn replica(
    fleet: &Arc<Mutex<Fleet>>,
    id: usize,
    issuer: &TestIssuer,
    clock: &ManualClock,
    capacity: usize,
) -> Replica {
    let store = Handle {
        fleet: Arc::clone(fleet),
        id,
    };
    let revocations = Revocations::builder()
        .store(store.clone())
        .clock(clock.clone())
        .capacity(capacity)
        .resync_interval(RESYNC)
        .max_staleness(STALENESS)
        .start()
        .await
        .unwrap();
    let verifier = issuer
        .verifier()
        .unwrap()
        .revocations(revocations.clone())
        .build()
        .unwrap();
    Replica {
        store,
        revocations,
        verifier,
    }
}

/// Lets the followers run (time is paused, so this advances it by `by`).
async fn settle(by: Duration) {
    tokio::time::sleep(by).await;
}

#[tokio::test(start_paused = true)]
async fn a_revocation_at_one_replica_reaches_the_other_at_once() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let fleet = Arc::default();
    let a = replica(&fleet, 1, &issuer, &clock, 100).await;
    let b = replica(&fleet, 2, &issuer, &clock, 100).await;
    let token = issuer.token().claim("sid", "s-1").sign().unwrap();
    warm(&b.verifier, &token).await;
    a.revocations
        .revoke(Revocation::session(issuer.issuer(), "s-1"))
        .await
        .unwrap();
    settle(Duration::from_millis(1)).await;
    assert_eq!(reason(verify(&b.verifier, &token).await), Reason::Revoked);
    assert_eq!(reason(verify(&a.verifier, &token).await), Reason::Revoked);
    // A replica started later loads it.
    let c = replica(&fleet, 3, &issuer, &clock, 100).await;
    assert_eq!(reason(verify(&c.verifier, &token).await), Reason::Revoked);
}

#[tokio::test(start_paused = true)]
async fn a_store_unreachable_at_start_fails_the_start() {
    let fleet: Arc<Mutex<Fleet>> = Arc::default();
    fleet.lock().unwrap().cut_off.insert(1);
    let started = Revocations::builder()
        .store(Handle { fleet, id: 1 })
        .start()
        .await;
    assert!(matches!(started, Err(RevocationError::Unavailable(_))));
}

#[tokio::test(start_paused = true)]
async fn a_cut_off_replica_fails_closed_past_the_bound_and_catches_up_when_healed() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let fleet = Arc::default();
    let a = replica(&fleet, 1, &issuer, &clock, 100).await;
    let b = replica(&fleet, 2, &issuer, &clock, 100).await;
    let token = issuer.token().subject("alice").sign().unwrap();
    warm(&b.verifier, &token).await;
    b.store.cut();
    a.revocations
        .revoke(Revocation::subject_before(issuer.issuer(), "alice", NOW))
        .await
        .unwrap();
    // B missed the announcement: within the bound it still decides (and accepts).
    settle(Duration::from_secs(2)).await;
    assert!(b.revocations.is_current());
    assert!(verify(&b.verifier, &token).await.is_ok());
    // Past it, nothing is decided: 503, not an accept.
    settle(Duration::from_secs(2)).await;
    assert!(!b.revocations.is_current());
    let stale = verify(&b.verifier, &token).await.unwrap_err();
    assert_eq!(stale.reason(), Reason::RevocationsUnavailable);
    assert_eq!(stale.status(), 503);
    let bystander = issuer.token().subject("bob").sign().unwrap();
    assert_eq!(
        verify(&b.verifier, &bystander).await.unwrap_err().status(),
        503
    );
    // Healed: it subscribes again, reloads, and enforces what it missed.
    b.store.heal();
    settle(RESYNC + Duration::from_millis(10)).await;
    assert!(b.revocations.is_current());
    assert_eq!(reason(verify(&b.verifier, &token).await), Reason::Revoked);
    assert!(verify(&b.verifier, &bystander).await.is_ok());
    // And hears announcements again.
    let later = issuer.token().claim("jti", "j-9").sign().unwrap();
    a.revocations
        .revoke(Revocation::token(issuer.issuer(), "j-9"))
        .await
        .unwrap();
    settle(Duration::from_millis(1)).await;
    assert_eq!(reason(verify(&b.verifier, &later).await), Reason::Revoked);
}

#[tokio::test(start_paused = true)]
async fn a_store_that_lost_its_data_does_not_make_the_mirrors_forget() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let fleet = Arc::default();
    let a = replica(&fleet, 1, &issuer, &clock, 100).await;
    let b = replica(&fleet, 2, &issuer, &clock, 100).await;
    let token = issuer.token().claim("jti", "j-1").sign().unwrap();
    a.revocations
        .revoke(Revocation::token(issuer.issuer(), "j-1"))
        .await
        .unwrap();
    settle(Duration::from_millis(1)).await;
    a.store.lose_everything();
    settle(RESYNC * 3).await;
    for replica in [&a, &b] {
        assert!(replica.revocations.is_current());
        assert_eq!(
            reason(verify(&replica.verifier, &token).await),
            Reason::Revoked
        );
    }
    // A replica started after the loss never heard of it: the store is the fleet's memory,
    // the mirrors only keep what they saw.
    let c = replica(&fleet, 3, &issuer, &clock, 100).await;
    assert!(verify(&c.verifier, &token).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_mirror_too_small_for_the_fleet_fails_closed() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let fleet = Arc::default();
    let a = replica(&fleet, 1, &issuer, &clock, 100).await;
    let b = replica(&fleet, 2, &issuer, &clock, 1).await;
    let token = issuer.token().sign().unwrap();
    for jti in ["x", "y"] {
        a.revocations
            .revoke(Revocation::token(issuer.issuer(), jti))
            .await
            .unwrap();
    }
    settle(Duration::from_millis(1)).await;
    assert!(!b.revocations.is_current());
    assert_eq!(
        verify(&b.verifier, &token).await.unwrap_err().reason(),
        Reason::RevocationsUnavailable
    );
    assert!(verify(&a.verifier, &token).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn the_follower_ends_with_the_last_handle() {
    let clock = ManualClock::new(NOW);
    let issuer = issuer(&clock);
    let fleet: Arc<Mutex<Fleet>> = Arc::default();
    let a = replica(&fleet, 1, &issuer, &clock, 100).await;
    assert_eq!(fleet.lock().unwrap().subscribers.len(), 1);
    drop(a);
    settle(RESYNC * 2).await;
    let fleet = fleet.lock().unwrap();
    assert!(
        fleet.subscribers.iter().all(|(_, sink)| sink.is_closed()),
        "the mirror is gone"
    );
}
