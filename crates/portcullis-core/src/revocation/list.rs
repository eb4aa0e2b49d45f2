//! The in-memory set of live revocations: bounded, looked up without allocating, by issuer and
//! then by what a token names.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use super::store::RevocationError;
use super::{Revocation, RevocationKind};

/// Live revocations a mirror holds before it refuses more (1 000 000): at about 150 bytes each
/// with short identifiers, 150 MB at most, and a day of back-channel logouts at 10 per second
/// is under 900 000. A full mirror fails closed rather than forget one.
pub const DEFAULT_REVOCATION_CAPACITY: usize = 1_000_000;

/// Keys are looked up with the token's `&str` (no allocation); foldhash, seeded per process,
/// since lookups are on the request path and values are chosen by issuers, not callers.
type Map<V> = HashMap<Box<str>, V, RandomState>;

/// What a token names that a revocation can match.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Names<'a> {
    pub(crate) jti: Option<&'a str>,
    pub(crate) sid: Option<&'a str>,
    pub(crate) sub: Option<&'a str>,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) iat: Option<u64>,
}

/// One issuer's revocations, by kind: the value maps to its expiry, and for subject and client
/// revocations also to the time at or before which tokens are revoked.
#[derive(Debug, Default)]
struct Scoped {
    tokens: Map<u64>,
    sessions: Map<u64>,
    subjects: Map<(u64, u64)>,
    clients: Map<(u64, u64)>,
}

impl Scoped {
    fn len(&self) -> usize {
        self.tokens.len() + self.sessions.len() + self.subjects.len() + self.clients.len()
    }

    fn prune(&mut self, now: u64) {
        self.tokens.retain(|_, expiry| *expiry > now);
        self.sessions.retain(|_, expiry| *expiry > now);
        self.subjects.retain(|_, (_, expiry)| *expiry > now);
        self.clients.retain(|_, (_, expiry)| *expiry > now);
    }

    fn matches(&self, names: &Names<'_>, now: u64) -> Option<RevocationKind> {
        let live = |map: &Map<u64>, value: Option<&str>| {
            value
                .and_then(|v| map.get(v))
                .is_some_and(|expiry| *expiry > now)
        };
        // A token without `iat` cannot show that it is newer than the cut-off.
        let issued_by = |map: &Map<(u64, u64)>, value: Option<&str>| {
            value
                .and_then(|v| map.get(v))
                .is_some_and(|(before, expiry)| {
                    *expiry > now && names.iat.is_none_or(|iat| iat <= *before)
                })
        };
        if live(&self.tokens, names.jti) {
            Some(RevocationKind::Token)
        } else if live(&self.sessions, names.sid) {
            Some(RevocationKind::Session)
        } else if issued_by(&self.subjects, names.sub) {
            Some(RevocationKind::Subject)
        } else if issued_by(&self.clients, names.client_id) {
            Some(RevocationKind::Client)
        } else {
            None
        }
    }
}

/// The set: every live revocation, at most `capacity` of them.
#[derive(Debug)]
pub(crate) struct List {
    issuers: Map<Scoped>,
    len: usize,
    capacity: usize,
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// A new entry, or a known one that now lasts longer or covers more.
    Changed,
    /// Nothing new: already known as is, or already expired.
    Unchanged,
}

impl List {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            issuers: Map::default(),
            len: 0,
            capacity,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Records `revocation` (its expiry set), merging with what is known: the later expiry and
    /// the later cut-off win, so merging never shortens or narrows an entry.
    pub(crate) fn insert(
        &mut self,
        revocation: &Revocation,
        now: u64,
    ) -> Result<Inserted, RevocationError> {
        let expiry = revocation.expires_at.unwrap_or(u64::MAX);
        if expiry <= now {
            return Ok(Inserted::Unchanged);
        }
        if !self.contains(revocation) && self.len >= self.capacity {
            self.prune(now);
            if self.len >= self.capacity {
                return Err(RevocationError::Full(self.len));
            }
        }
        let scoped = match self.issuers.get_mut(revocation.issuer.as_str()) {
            Some(scoped) => scoped,
            None => self
                .issuers
                .entry(revocation.issuer.as_str().into())
                .or_default(),
        };
        let value = revocation.value.as_str();
        let before = revocation.before.unwrap_or(0);
        let changed = match revocation.kind {
            RevocationKind::Token => merge(&mut scoped.tokens, value, expiry),
            RevocationKind::Session => merge(&mut scoped.sessions, value, expiry),
            RevocationKind::Subject => merge_cut_off(&mut scoped.subjects, value, before, expiry),
            RevocationKind::Client => merge_cut_off(&mut scoped.clients, value, before, expiry),
        };
        match changed {
            Merge::New => {
                self.len += 1;
                Ok(Inserted::Changed)
            }
            Merge::Extended => Ok(Inserted::Changed),
            Merge::Same => Ok(Inserted::Unchanged),
        }
    }

    fn contains(&self, revocation: &Revocation) -> bool {
        let Some(scoped) = self.issuers.get(revocation.issuer.as_str()) else {
            return false;
        };
        let value = revocation.value.as_str();
        match revocation.kind {
            RevocationKind::Token => scoped.tokens.contains_key(value),
            RevocationKind::Session => scoped.sessions.contains_key(value),
            RevocationKind::Subject => scoped.subjects.contains_key(value),
            RevocationKind::Client => scoped.clients.contains_key(value),
        }
    }

    /// The kind of the first live revocation of `issuer` matching `names`.
    pub(crate) fn matches(
        &self,
        issuer: &str,
        names: &Names<'_>,
        now: u64,
    ) -> Option<RevocationKind> {
        self.issuers.get(issuer)?.matches(names, now)
    }

    /// Drops the entries that expired by `now`.
    pub(crate) fn prune(&mut self, now: u64) {
        for scoped in self.issuers.values_mut() {
            scoped.prune(now);
        }
        self.issuers.retain(|_, scoped| scoped.len() > 0);
        self.len = self.issuers.values().map(Scoped::len).sum();
    }
}

enum Merge {
    New,
    Extended,
    Same,
}

fn merge(map: &mut Map<u64>, value: &str, expiry: u64) -> Merge {
    match map.get_mut(value) {
        Some(known) if *known >= expiry => Merge::Same,
        Some(known) => {
            *known = expiry;
            Merge::Extended
        }
        None => {
            map.insert(value.into(), expiry);
            Merge::New
        }
    }
}

fn merge_cut_off(map: &mut Map<(u64, u64)>, value: &str, before: u64, expiry: u64) -> Merge {
    match map.get_mut(value) {
        Some((known_before, known_expiry))
            if *known_before >= before && *known_expiry >= expiry =>
        {
            Merge::Same
        }
        Some((known_before, known_expiry)) => {
            *known_before = (*known_before).max(before);
            *known_expiry = (*known_expiry).max(expiry);
            Merge::Extended
        }
        None => {
            map.insert(value.into(), (before, expiry));
            Merge::New
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://id.example/";

    fn names<'a>() -> Names<'a> {
        Names {
            jti: Some("j1"),
            sid: Some("s1"),
            sub: Some("alice"),
            client_id: Some("app"),
            iat: Some(100),
        }
    }

    #[test]
    fn each_kind_matches_only_its_claim_and_issuer() {
        let cases = [
            (Revocation::token(ISS, "j1"), RevocationKind::Token),
            (Revocation::session(ISS, "s1"), RevocationKind::Session),
            (
                Revocation::subject_before(ISS, "alice", 100),
                RevocationKind::Subject,
            ),
            (
                Revocation::client_before(ISS, "app", 100),
                RevocationKind::Client,
            ),
        ];
        for (revocation, kind) in cases {
            let mut list = List::new(10);
            list.insert(&revocation.clone().expires_at(1000), 0)
                .unwrap();
            assert_eq!(list.matches(ISS, &names(), 10), Some(kind));
            assert_eq!(list.matches("https://other/", &names(), 10), None);
            let unrelated = Names {
                jti: Some("j2"),
                sid: Some("s2"),
                sub: Some("bob"),
                client_id: Some("other"),
                iat: Some(100),
            };
            assert_eq!(list.matches(ISS, &unrelated, 10), None, "{kind}");
            assert_eq!(list.matches(ISS, &names(), 1000), None, "expired");
        }
    }

    #[test]
    fn a_cut_off_spares_newer_tokens_but_not_undated_ones() {
        let mut list = List::new(10);
        let revocation = Revocation::subject_before(ISS, "alice", 100).expires_at(1000);
        list.insert(&revocation, 0).unwrap();
        let at = |iat| Names {
            sub: Some("alice"),
            iat,
            ..Names::default()
        };
        assert!(list.matches(ISS, &at(Some(99)), 10).is_some());
        assert!(
            list.matches(ISS, &at(Some(100)), 10).is_some(),
            "same second"
        );
        assert!(list.matches(ISS, &at(Some(101)), 10).is_none());
        assert!(list.matches(ISS, &at(None), 10).is_some(), "no iat");
    }

    #[test]
    fn merging_never_shortens_or_narrows() {
        let mut list = List::new(10);
        let wide = Revocation::subject_before(ISS, "alice", 200).expires_at(2000);
        let narrow = Revocation::subject_before(ISS, "alice", 100).expires_at(1000);
        assert_eq!(list.insert(&wide, 0).unwrap(), Inserted::Changed);
        assert_eq!(list.insert(&narrow, 0).unwrap(), Inserted::Unchanged);
        assert_eq!(list.len(), 1);
        let at = Names {
            sub: Some("alice"),
            iat: Some(150),
            ..Names::default()
        };
        assert!(list.matches(ISS, &at, 1500).is_some());
        let token = Revocation::token(ISS, "j1");
        list.insert(&token.clone().expires_at(50), 0).unwrap();
        assert_eq!(
            list.insert(&token.expires_at(60), 0).unwrap(),
            Inserted::Changed
        );
        assert!(list.matches(ISS, &names(), 55).is_some());
    }

    #[test]
    fn a_full_list_refuses_until_entries_expire() {
        let mut list = List::new(2);
        list.insert(&Revocation::token(ISS, "a").expires_at(10), 0)
            .unwrap();
        list.insert(&Revocation::token(ISS, "b").expires_at(20), 0)
            .unwrap();
        let third = Revocation::token(ISS, "c").expires_at(30);
        assert!(matches!(
            list.insert(&third, 5),
            Err(RevocationError::Full(2))
        ));
        assert_eq!(
            list.insert(&Revocation::token(ISS, "a").expires_at(15), 5)
                .unwrap(),
            Inserted::Changed,
            "a known entry can still be extended"
        );
        assert_eq!(list.insert(&third, 15).unwrap(), Inserted::Changed);
        assert_eq!(list.len(), 2);
        assert_eq!(
            list.insert(&Revocation::token(ISS, "d").expires_at(3), 5)
                .unwrap(),
            Inserted::Unchanged,
            "already expired"
        );
    }
}
