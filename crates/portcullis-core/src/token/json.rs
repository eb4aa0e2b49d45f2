//! JSON objects with duplicate member names rejected at every depth.
//!
//! RFC 7515 §5.2 lets a parser either reject duplicates or take the last one; two parsers that
//! choose differently read two different tokens from the same bytes. We reject.
//!
//! Two readers share the rule: [`scan_object`], the request path's single pass that hands each
//! top-level member to a callback without building a tree, and [`parse_object`], which builds a
//! `serde_json` map for key-set documents and on-demand claim access.

use std::borrow::Cow;
use std::collections::HashSet;
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

const DUPLICATE: &str = "duplicate member name";
const REJECTED: &str = "member rejected";

fn classify(e: serde_json::Error) -> Reason {
    if e.is_data() && e.to_string().starts_with(DUPLICATE) {
        Reason::DuplicateMember
    } else {
        Reason::BadJson
    }
}

/// A top-level member's value, reduced to what policy code reads.
#[derive(Debug)]
pub(crate) enum Member<'de> {
    Str(Cow<'de, str>),
    Num(Number),
    Bool,
    Null,
    /// An array: its string elements, and whether every element was a string.
    Array {
        strings: Vec<Cow<'de, str>>,
        all_strings: bool,
    },
    Object,
}

/// Reads `bytes` as one JSON object without duplicate member names (at any depth), calling
/// `on_member` for each top-level member in document order. The first `Err` from the callback
/// stops the scan and is returned.
pub(crate) fn scan_object<'de, F>(bytes: &'de [u8], mut on_member: F) -> Result<(), Reason>
where
    F: FnMut(&str, Member<'de>) -> Result<(), Reason>,
{
    // Validating UTF-8 once for the whole buffer (SIMD-fast) lets the parser skip the per-string
    // check: the request path's strings are then borrowed, never re-validated.
    let text = std::str::from_utf8(bytes).map_err(|_| Reason::BadJson)?;
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let scanned = de.deserialize_any(TopLevel {
        on_member: &mut on_member,
        failure: &mut failure,
    });
    if let Some(reason) = failure {
        return Err(reason);
    }
    scanned.map_err(classify)?;
    de.end().map_err(|_| Reason::BadJson)
}

/// Member names seen in one object. Small objects compare linearly; past 16 names a hash set
/// keeps a hostile object with thousands of members from costing quadratic time.
#[derive(Default)]
struct Seen<'de> {
    few: Vec<Cow<'de, str>>,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> Seen<'de> {
    fn is_new(&mut self, name: &Cow<'de, str>) -> bool {
        if let Some(set) = &mut self.many {
            return set.insert(name.clone());
        }
        if self.few.iter().any(|n| n == name) {
            return false;
        }
        self.few.push(name.clone());
        if self.few.len() > 16 {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

/// A member name, borrowed from the input unless it contains escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

struct TopLevel<'a, F> {
    on_member: &'a mut F,
    failure: &'a mut Option<Reason>,
}

impl<'de, F> Visitor<'de> for TopLevel<'_, F>
where
    F: FnMut(&str, Member<'de>) -> Result<(), Reason>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut seen = Seen::default();
        while let Some(Name(name)) = access.next_key()? {
            if !seen.is_new(&name) {
                return Err(de::Error::custom(DUPLICATE));
            }
            let member = access.next_value_seed(MemberSeed)?;
            if let Err(reason) = (self.on_member)(&name, member) {
                *self.failure = Some(reason);
                return Err(de::Error::custom(REJECTED));
            }
        }
        Ok(())
    }
}

struct MemberSeed;

impl<'de> DeserializeSeed<'de> for MemberSeed {
    type Value = Member<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Member<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MemberSeed {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Member<'de>, E> {
        Ok(Member::Bool)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Member<'de>, E> {
        Ok(Member::Num(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Member<'de>, E> {
        Ok(Member::Num(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Member<'de>, E> {
        Ok(Number::from_f64(v).map_or(Member::Null, Member::Num))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Member<'de>, E> {
        Ok(Member::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Member<'de>, E> {
        Ok(Member::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Member<'de>, E> {
        Ok(Member::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Member<'de>, E> {
        Ok(Member::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Member<'de>, A::Error> {
        let mut strings = Vec::new();
        let mut all_strings = true;
        while let Some(element) = seq.next_element_seed(ElementSeed)? {
            match element {
                Some(s) => strings.push(s),
                None => all_strings = false,
            }
        }
        Ok(Member::Array {
            strings,
            all_strings,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Member<'de>, A::Error> {
        Checked.visit_map(access).map(|()| Member::Object)
    }
}

/// An array element: a string, or anything else (checked for duplicates, then dropped).
struct ElementSeed;

impl<'de> DeserializeSeed<'de> for ElementSeed {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match MemberSeed.deserialize(d)? {
            Member::Str(s) => Ok(Some(s)),
            _ => Ok(None),
        }
    }
}

/// A nested value that nobody reads here: only checked for duplicate names.
#[derive(Clone, Copy)]
struct Checked;

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Checked)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut seen = Seen::default();
        while let Some(Name(name)) = access.next_key()? {
            if !seen.is_new(&name) {
                return Err(de::Error::custom(DUPLICATE));
            }
            access.next_value_seed(Checked)?;
        }
        Ok(())
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
                return Err(de::Error::custom(DUPLICATE));
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

    fn scan(bytes: &[u8]) -> Result<Vec<String>, Reason> {
        let mut names = Vec::new();
        scan_object(bytes, |name, _| {
            names.push(name.to_owned());
            Ok(())
        })?;
        Ok(names)
    }

    #[test]
    fn scan_agrees_with_parse() {
        let cases: [&[u8]; 12] = [
            br#"{"a":1,"b":[1,{"c":null}],"d":"x"}"#,
            br#"{"a":1,"a":2}"#,
            br#"{"a":1,"\u0061":2}"#,
            br#"{"x":{"b":1,"b":1}}"#,
            br#"{"x":[{"b":1,"b":1}]}"#,
            br#"{"x":[[{"b":1,"b":1}]]}"#,
            b"[]",
            b"1",
            b"{} {}",
            b"{\"a\":\"\xff\"}",
            b"",
            br#"{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":0,"k11":1,"k12":2,"k13":3,"k14":4,"k15":5,"k16":6,"k17":7,"k3":8}"#,
        ];
        for bytes in cases {
            let parsed = parse_object(bytes).map(|m| m.len());
            let scanned = scan(bytes).map(|n| n.len());
            assert_eq!(parsed, scanned, "{}", String::from_utf8_lossy(bytes));
        }
        assert_eq!(
            scan(br#"{"b":1,"a":2}"#).unwrap(),
            ["b", "a"],
            "document order"
        );
    }

    #[test]
    fn scan_members_and_callback_errors() {
        let mut seen = Vec::new();
        scan_object(
            br#"{"s":"x\n","n":1.5,"b":true,"z":null,"a":["p",1,"q"],"o":{"k":[]}}"#,
            |name, m| {
                seen.push(format!("{name}={m:?}"));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen.len(), 6);
        assert!(seen[0].contains("Str(\"x\\n\")"), "{}", seen[0]);
        assert!(
            seen[4].contains("all_strings: false") && seen[4].contains("\"p\""),
            "{}",
            seen[4]
        );
        assert!(seen[5].ends_with("Object"));
        let stop = scan_object(br#"{"a":1,"b":2}"#, |name, _| {
            if name == "b" {
                Err(Reason::BadHeader)
            } else {
                Ok(())
            }
        });
        assert_eq!(stop, Err(Reason::BadHeader));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse_object(deep.as_bytes()).unwrap_err(), Reason::BadJson);
        assert_eq!(scan(deep.as_bytes()).unwrap_err(), Reason::BadJson);
    }
}
