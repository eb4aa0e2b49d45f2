//! The text form of a revocation, the same in every store: what a store keeps (the member) and
//! what it announces to the fleet (expiry, a space, the member).
//!
//! `1:<kind>:<before>:<issuer length>:<issuer><value>`, with kind `t`, `s`, `u` or `c`, `before`
//! empty unless the kind has one, and numbers in canonical decimal. One revocation has exactly
//! one spelling, so a store that keeps a set keeps it once; the expiry is not part of it, so the
//! same revocation published again only moves its expiry.

use super::store::RevocationError;
use super::{Revocation, RevocationKind};

/// The longest issuer a revocation names (2 048 bytes): issuers are URLs, and the verifier's
/// issuers are configured, so a longer one cannot match anything.
pub const MAX_ISSUER_LEN: usize = 2048;

/// The longest `jti`, `sid`, `sub` or `client_id` a revocation names (1 024 bytes): real ones
/// are UUIDs or short identifiers; the bound keeps one entry's memory small.
pub const MAX_VALUE_LEN: usize = 1024;

const VERSION: &str = "1";

impl RevocationKind {
    fn letter(self) -> char {
        match self {
            RevocationKind::Token => 't',
            RevocationKind::Session => 's',
            RevocationKind::Subject => 'u',
            RevocationKind::Client => 'c',
        }
    }

    fn from_letter(letter: &str) -> Option<Self> {
        Some(match letter {
            "t" => RevocationKind::Token,
            "s" => RevocationKind::Session,
            "u" => RevocationKind::Subject,
            "c" => RevocationKind::Client,
            _ => return None,
        })
    }

    /// Whether revocations of this kind are bounded by an issue time.
    pub(crate) fn has_before(self) -> bool {
        matches!(self, RevocationKind::Subject | RevocationKind::Client)
    }
}

impl Revocation {
    /// Checks the bounds every revocation must keep, wherever it came from.
    pub(crate) fn validate(&self) -> Result<(), RevocationError> {
        if self.issuer.is_empty() || self.issuer.len() > MAX_ISSUER_LEN {
            return Err(RevocationError::Invalid(
                "the issuer is empty or longer than 2048 bytes",
            ));
        }
        if self.value.is_empty() || self.value.len() > MAX_VALUE_LEN {
            return Err(RevocationError::Invalid(
                "the value is empty or longer than 1024 bytes",
            ));
        }
        if self.kind.has_before() != self.before.is_some() {
            return Err(RevocationError::Invalid(
                "subject and client revocations, and only they, have a time",
            ));
        }
        Ok(())
    }

    /// The member: the canonical text without the expiry.
    pub fn to_member(&self) -> String {
        let before = self.before.map(|b| b.to_string()).unwrap_or_default();
        format!(
            "{VERSION}:{}:{before}:{}:{}{}",
            self.kind.letter(),
            self.issuer.len(),
            self.issuer,
            self.value
        )
    }

    /// Parses a member a store kept, with the expiry it kept beside it.
    pub fn from_member(member: &str, expires_at: u64) -> Result<Self, RevocationError> {
        let bad = RevocationError::Invalid("not a revocation member");
        let mut fields = member.splitn(5, ':');
        let (Some(VERSION), Some(kind), Some(before), Some(len), Some(rest)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(bad);
        };
        let kind = RevocationKind::from_letter(kind).ok_or(bad.clone())?;
        let before = match before {
            "" => None,
            digits => Some(canonical_number(digits).ok_or(bad.clone())?),
        };
        let len = canonical_number(len)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(bad.clone())?;
        let (Some(issuer), Some(value)) = (rest.get(..len), rest.get(len..)) else {
            return Err(bad);
        };
        let revocation = Revocation {
            issuer: issuer.to_owned(),
            kind,
            value: value.to_owned(),
            before,
            expires_at: Some(expires_at),
        };
        revocation.validate()?;
        Ok(revocation)
    }

    /// The announcement: expiry, a space, the member. `None` before the expiry is set.
    pub fn to_announcement(&self) -> Option<String> {
        Some(format!("{} {}", self.expires_at?, self.to_member()))
    }

    /// Parses an announcement.
    pub fn from_announcement(text: &str) -> Result<Self, RevocationError> {
        let (expiry, member) = text
            .split_once(' ')
            .ok_or(RevocationError::Invalid("not a revocation announcement"))?;
        let expiry = canonical_number(expiry)
            .ok_or(RevocationError::Invalid("not a revocation announcement"))?;
        Self::from_member(member, expiry)
    }
}

/// A decimal without sign, leading zeros or anything else, that fits a `u64`: one spelling per
/// number.
fn canonical_number(digits: &str) -> Option<u64> {
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        for revocation in [
            Revocation::token("https://a/", "j:1 2"),
            Revocation::session("https://a/", "s"),
            Revocation::subject_before("https://a/", "alice", 17),
            Revocation::client_before("https://a:8/", "c", 0),
        ] {
            let stored = revocation.clone().expires_at(99);
            let text = stored.to_announcement().unwrap();
            assert_eq!(Revocation::from_announcement(&text).unwrap(), stored);
            assert_eq!(
                Revocation::from_member(&revocation.to_member(), 99).unwrap(),
                stored
            );
        }
    }

    #[test]
    fn one_spelling_per_revocation() {
        let member = Revocation::subject_before("iss", "alice", 17).to_member();
        assert_eq!(member, "1:u:17:3:issalice");
        for bad in [
            "1:u:017:3:issalice",
            "1:u:17:03:issalice",
            "1:u:+17:3:issalice",
            "1:u::3:issalice",
            "1:t:17:3:issj",
            "1:x:17:3:issalice",
            "2:u:17:3:issalice",
            "1:u:17:3:iss",
            "1:u:17:9:issalice",
            "1:u:17:0:alice",
            "1:u:18446744073709551616:3:issalice",
            "1:u:17",
            "",
        ] {
            assert!(Revocation::from_member(bad, 1).is_err(), "{bad}");
        }
        assert!(Revocation::from_announcement("01 1:t::1:ij").is_err());
        assert!(Revocation::from_announcement("1:t::1:ij").is_err());
    }

    #[test]
    fn an_issuer_length_inside_a_character_is_refused() {
        let member = "1:t::1:\u{e9}j";
        assert!(Revocation::from_member(member, 1).is_err());
    }

    #[test]
    fn bounds_are_checked() {
        let long = "v".repeat(MAX_VALUE_LEN + 1);
        assert!(Revocation::token("i", long).validate().is_err());
        assert!(Revocation::token("", "v").validate().is_err());
        assert!(Revocation::token("i", "").validate().is_err());
        assert!(
            Revocation::token("i", "v".repeat(MAX_VALUE_LEN))
                .validate()
                .is_ok()
        );
    }
}
