use std::fmt;

use serde_json::{Map, Value};

/// A dotted path into the claims: `tenant`, `realm_access.roles`,
/// `resource_access.my-client.roles`. A top-level claim whose name is the whole path (Auth0's
/// namespaced `https://example.com/roles`) is found too.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClaimPath {
    text: String,
}

impl ClaimPath {
    /// A path; segments are separated by `.`. A path that does not name a member (empty, or with
    /// an empty segment) resolves to nothing, so a requirement on it fails; configuration
    /// loading reports it as an error instead.
    pub fn new(path: impl Into<String>) -> Self {
        Self { text: path.into() }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether every segment is non-empty.
    pub fn is_well_formed(&self) -> bool {
        !self.text.is_empty() && self.text.split('.').all(|s| !s.is_empty())
    }

    /// The value at this path: a top-level claim with exactly this name (namespaced claims such
    /// as `https://example.com/roles` contain dots), else the members named by each segment.
    pub fn resolve<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        if !self.is_well_formed() {
            return None;
        }
        if let Some(value) = claims.get(&self.text) {
            return Some(value);
        }
        let mut segments = self.text.split('.');
        let first = claims.get(segments.next()?)?;
        segments.try_fold(first, |value, segment| value.as_object()?.get(segment))
    }
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&str> for ClaimPath {
    fn from(path: &str) -> Self {
        Self::new(path)
    }
}

impl From<String> for ClaimPath {
    fn from(path: String) -> Self {
        Self::new(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_nested_paths() {
        let claims = json!({"a": {"b": {"c": 1}}, "x": [1], "d.e": 2});
        let claims = claims.as_object().unwrap();
        assert_eq!(ClaimPath::new("a.b.c").resolve(claims), Some(&json!(1)));
        assert_eq!(
            ClaimPath::new("a.b").resolve(claims),
            Some(&json!({"c": 1}))
        );
        assert_eq!(
            ClaimPath::new("d.e").resolve(claims),
            Some(&json!(2)),
            "a claim named with dots"
        );
        for missing in ["a.c", "x.0", "a.b.c.d", "", "a..b", ".a", "a."] {
            assert_eq!(ClaimPath::new(missing).resolve(claims), None, "{missing}");
        }
    }
}
