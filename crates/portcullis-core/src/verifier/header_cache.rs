//! Recently seen token headers, parsed: every token an issuer signs with one key carries the
//! same header segment byte for byte (`alg`, `kid`, `typ`), so a verifier decodes and parses
//! each distinct segment once instead of on every new token.
//!
//! A slot is chosen by a keyed hash of the segment and holds that exact segment text with its
//! parsed [`Header`]; a lookup is a hit only when the presented segment is equal, so a hit is
//! exactly what parsing the segment again would give (the verifier's `typ` policy is fixed at
//! build). Only headers that passed are kept: a rejected header is parsed (and rejected) every
//! time. A lookup is one atomic load, no lock.
//!
//! A header is kept before its token's signature is checked, so a forged token can take a slot.
//! That costs the next genuine token of that slot one parse, as without the cache, and can
//! never change a decision: a hit is the parse of the very same text.

use std::hash::BuildHasher as _;
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::error::Reason;
use crate::token::Header;

/// Slots: 16. A verifier sees one header per issuer key (two during a rotation); 16 covers a
/// multi-issuer service without collisions mattering, at 16 pointers of memory.
const HEADER_SLOTS: usize = 16;

/// Longest header segment kept: 512 bytes. Real headers are 40 to 150 (`alg`, `kid`, `typ`);
/// a longer one is parsed every time rather than held.
const MAX_CACHED_HEADER: usize = 512;

struct Parsed {
    segment: Box<str>,
    header: Arc<Header>,
}

pub(super) struct HeaderCache {
    slots: Box<[ArcSwapOption<Parsed>]>,
    hasher: foldhash::fast::RandomState,
}

impl HeaderCache {
    pub(super) fn new() -> Self {
        Self {
            slots: (0..HEADER_SLOTS).map(|_| ArcSwapOption::empty()).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// The header of `segment` (its base64url text): from the cache, or from `parse`, whose
    /// success is then kept.
    pub(super) fn get_or_parse(
        &self,
        segment: &str,
        parse: impl FnOnce() -> Result<Header, Reason>,
    ) -> Result<Arc<Header>, Reason> {
        let index = (self.hasher.hash_one(segment) as usize) % HEADER_SLOTS;
        let Some(slot) = self.slots.get(index) else {
            return parse().map(Arc::new);
        };
        if let Some(parsed) = &*slot.load()
            && *parsed.segment == *segment
        {
            return Ok(Arc::clone(&parsed.header));
        }
        let header = Arc::new(parse()?);
        if segment.len() <= MAX_CACHED_HEADER {
            slot.store(Some(Arc::new(Parsed {
                segment: segment.into(),
                header: Arc::clone(&header),
            })));
        }
        Ok(header)
    }
}

impl std::fmt::Debug for HeaderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderCache").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{Algorithm, TypPolicy};

    fn parse(json: &str) -> Result<Header, Reason> {
        Header::from_json(json.as_bytes(), TypPolicy::AccessTokenOrJwt)
    }

    #[test]
    fn a_segment_is_parsed_once_and_only_an_equal_segment_hits() {
        let cache = HeaderCache::new();
        let mut parses = 0;
        for _ in 0..3 {
            let header = cache
                .get_or_parse("seg-a", || {
                    parses += 1;
                    parse(r#"{"alg":"RS256","kid":"a"}"#)
                })
                .unwrap();
            assert_eq!(header.kid.as_deref(), Some("a"));
        }
        assert_eq!(parses, 1);
        // Another segment never gets the first one's header, whatever slot it lands in.
        for i in 0..100 {
            let kid = format!("k{i}");
            let header = cache
                .get_or_parse(&format!("seg-{i}"), || {
                    parse(&format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#))
                })
                .unwrap();
            assert_eq!(
                (header.alg, header.kid.as_deref()),
                (Algorithm::ES256, Some(&*kid))
            );
        }
    }

    #[test]
    fn rejections_and_long_segments_are_parsed_every_time() {
        let cache = HeaderCache::new();
        let mut parses = 0;
        for _ in 0..3 {
            let refused = cache.get_or_parse("bad", || {
                parses += 1;
                parse(r#"{"alg":"none"}"#)
            });
            assert_eq!(refused.unwrap_err(), Reason::AlgNone);
        }
        let long = "x".repeat(MAX_CACHED_HEADER + 1);
        for _ in 0..3 {
            cache
                .get_or_parse(&long, || {
                    parses += 1;
                    parse(r#"{"alg":"RS256"}"#)
                })
                .unwrap();
        }
        assert_eq!(parses, 6);
    }
}
