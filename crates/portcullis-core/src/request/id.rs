//! [`RequestId`]: ties together every audit event of one request.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::view::{Headers, single};

/// The header a request id is taken from when the caller (or a proxy) sent one.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest incoming request id kept (128 bytes): room for a UUID, a W3C trace id or a
/// load balancer's id with a prefix, while a client cannot inflate every audit line.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of one request: the incoming `x-request-id` when it is one visible-ASCII value of at
/// most [`MAX_REQUEST_ID_LEN`] bytes, else one generated here (16 hex digits, unique within the
/// process and random across processes). It is not a secret and proves nothing: only for logs.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestId(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    Incoming(Box<str>),
    Generated(u64),
}

impl RequestId {
    /// The request's id, from its headers or generated.
    pub fn from_headers(headers: &dyn Headers) -> Self {
        match single(headers, REQUEST_ID_HEADER).and_then(incoming) {
            Some(id) => Self(Repr::Incoming(id.into())),
            None => Self::generate(),
        }
    }

    /// A fresh id.
    pub fn generate() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        static BASE: OnceLock<u64> = OnceLock::new();
        // A per-process random base keeps ids of different replicas apart; the counter keeps
        // them unique within one. No entropy is needed: the id is not a secret.
        let base = *BASE.get_or_init(|| {
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        });
        Self(Repr::Generated(
            base.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)),
        ))
    }

    /// Whether the id came from the request (rather than generated here).
    pub fn is_incoming(&self) -> bool {
        matches!(self.0, Repr::Incoming(_))
    }
}

fn incoming(value: &[u8]) -> Option<&str> {
    let visible = |b: &u8| (0x21..=0x7e).contains(b);
    if value.is_empty() || value.len() > MAX_REQUEST_ID_LEN || !value.iter().all(visible) {
        return None;
    }
    std::str::from_utf8(value).ok()
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Incoming(id) => f.write_str(id),
            Repr::Generated(n) => write!(f, "{n:016x}"),
        }
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::ControlFlow;

    struct One<'a>(&'a [&'a [u8]]);
    impl Headers for One<'_> {
        fn each_value<'s>(&'s self, name: &str, each: &mut dyn FnMut(&'s [u8]) -> ControlFlow<()>) {
            if name == REQUEST_ID_HEADER {
                for v in self.0 {
                    if each(v).is_break() {
                        return;
                    }
                }
            }
        }
    }

    #[test]
    fn incoming_ids_are_kept_only_when_sane() {
        let id = RequestId::from_headers(&One(&[b"req-42"]));
        assert!(id.is_incoming());
        assert_eq!(id.to_string(), "req-42");
        let long = vec![b'a'; MAX_REQUEST_ID_LEN + 1];
        for bad in [&b""[..], b"a b", b"line\nbreak", &long, "é".as_bytes()] {
            let id = RequestId::from_headers(&One(&[bad]));
            assert!(!id.is_incoming(), "{bad:?}");
            assert_eq!(id.to_string().len(), 16);
        }
        assert!(!RequestId::from_headers(&One(&[b"a", b"b"])).is_incoming());
        assert!(RequestId::from_headers(&One(&[&long[1..]])).is_incoming());
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(RequestId::generate(), RequestId::generate());
    }
}
