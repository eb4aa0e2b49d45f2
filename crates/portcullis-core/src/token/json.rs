//! JSON objects with duplicate member names rejected at every depth.
//!
//! RFC 7515 §5.2 lets a parser either reject duplicates or take the last one; two parsers that
//! choose differently read two different tokens from the same bytes. We reject.

use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::Reason;

/// Parses `bytes` as one JSON object. Anything else (an array, trailing data, invalid UTF-8,
/// nesting deeper than 128, a repeated member name) is an error.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, Reason> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = de.deserialize_any(StrictValue).map_err(classify)?;
    de.end().map_err(|_| Reason::BadJson)?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Reason::BadJson),
    }
}

/// Our visitor raises exactly one data error, the duplicate; everything else is syntax or EOF.
fn classify(e: serde_json::Error) -> Reason {
    if e.is_data() {
        Reason::DuplicateMember
    } else {
        Reason::BadJson
    }
}

#[derive(Clone, Copy)]
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never yields a non-finite float; Null is the same fallback it uses itself.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom("duplicate member name"));
            }
            let value = access.next_value_seed(StrictValue)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_objects() {
        let m = parse_object(br#"{"a":1,"b":[1,{"c":null}],"d":"x"}"#).unwrap();
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        for bad in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"x":{"b":1,"b":1}}"#,
            r#"{"x":[{"b":1,"b":1}]}"#,
        ] {
            assert_eq!(
                parse_object(bad.as_bytes()).unwrap_err(),
                Reason::DuplicateMember,
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_non_objects_and_garbage() {
        for bad in [
            "[]",
            "1",
            "\"s\"",
            "null",
            "{",
            "{} {}",
            "{\"a\":1}x",
            "",
            "{\"a\":01}",
        ] {
            assert_eq!(
                parse_object(bad.as_bytes()).unwrap_err(),
                Reason::BadJson,
                "{bad}"
            );
        }
        assert_eq!(
            parse_object(b"{\"a\":\"\xff\"}").unwrap_err(),
            Reason::BadJson
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse_object(deep.as_bytes()).unwrap_err(), Reason::BadJson);
    }
}
