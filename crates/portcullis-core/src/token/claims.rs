//! Registered claims: reading them with their types checked, in one place.

use serde_json::{Map, Value};

use crate::error::Reason;

/// A JWT NumericDate in whole seconds since the epoch.
pub type NumericDate = u64;

/// 9999-12-31T23:59:59Z. A date beyond it is a bug or an attack, never a real expiry.
pub const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// Reads a NumericDate claim: a JSON number (integer or fraction, truncated), not negative, not
/// beyond [`MAX_NUMERIC_DATE`]. A string, boolean or other type is an error, never coerced.
pub fn numeric_date(
    map: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<NumericDate>, Reason> {
    let Some(value) = map.get(name) else {
        return Ok(None);
    };
    let Value::Number(n) = value else {
        return Err(Reason::BadClaim(name));
    };
    let secs = if let Some(u) = n.as_u64() {
        u
    } else {
        match n.as_f64() {
            Some(f) if f.is_finite() && f >= 0.0 && f <= MAX_NUMERIC_DATE as f64 => {
                f.trunc() as u64
            }
            _ => return Err(Reason::BadClaim(name)),
        }
    };
    if secs > MAX_NUMERIC_DATE {
        return Err(Reason::BadClaim(name));
    }
    Ok(Some(secs))
}

/// Reads an optional string claim; any other type is an error.
pub fn string<'a>(
    map: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, Reason> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Reason::BadClaim(name)),
    }
}

/// Reads `aud`: a string or an array of strings (RFC 7519 §4.1.3). A non-string member makes the
/// whole claim invalid rather than being skipped.
pub fn audiences(map: &Map<String, Value>) -> Result<Vec<&str>, Reason> {
    match map.get("aud") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.as_str()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or(Reason::BadClaim("aud")))
            .collect(),
        Some(_) => Err(Reason::BadClaim("aud")),
    }
}

/// The granted scopes, read by one rule everywhere: `scope` as a space-delimited string (RFC 8693
/// §4.2, RFC 9068 §2.2.3) or an array of strings, else `scp` in either shape. Non-string array
/// members are ignored, never coerced.
pub fn scopes(map: &Map<String, Value>) -> impl Iterator<Item = &str> {
    let claim = map.get("scope").or_else(|| map.get("scp"));
    let (text, list) = match claim {
        Some(Value::String(s)) => (Some(s.as_str()), None),
        Some(Value::Array(items)) => (None, Some(items)),
        _ => (None, None),
    };
    text.into_iter()
        .flat_map(|s| s.split(' ').filter(|s| !s.is_empty()))
        .chain(list.into_iter().flatten().filter_map(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn numeric_dates() {
        let m = obj(
            json!({"a": 10, "b": 10.9, "c": "10", "d": -1, "e": 1e300, "f": 253402300800u64, "g": true, "h": -0.5}),
        );
        assert_eq!(numeric_date(&m, "a"), Ok(Some(10)));
        assert_eq!(numeric_date(&m, "b"), Ok(Some(10)));
        assert_eq!(numeric_date(&m, "z"), Ok(None));
        for bad in ["c", "d", "e", "f", "g", "h"] {
            assert!(
                numeric_date(&m, Box::leak(bad.to_string().into_boxed_str())).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn audience_shapes() {
        assert_eq!(audiences(&obj(json!({"aud":"a"}))), Ok(vec!["a"]));
        assert_eq!(
            audiences(&obj(json!({"aud":["a","b"]}))),
            Ok(vec!["a", "b"])
        );
        assert_eq!(audiences(&obj(json!({}))), Ok(vec![]));
        assert_eq!(
            audiences(&obj(json!({"aud":["a",1]}))),
            Err(Reason::BadClaim("aud"))
        );
        assert_eq!(
            audiences(&obj(json!({"aud":{"a":1}}))),
            Err(Reason::BadClaim("aud"))
        );
    }

    #[test]
    fn scope_shapes() {
        let read = |v| scopes(&obj(v)).map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(read(json!({"scope":"a  b"})), ["a", "b"]);
        assert_eq!(read(json!({"scope":["a", 1, "b"]})), ["a", "b"]);
        assert_eq!(read(json!({"scp":"a"})), ["a"]);
        assert_eq!(read(json!({"scp":["a"]})), ["a"]);
        assert!(read(json!({"scope": 5})).is_empty());
        assert!(read(json!({})).is_empty());
    }
}
