//! JSON objects with duplicate member names rejected at every depth, parsed once.
//!
//! RFC 7515 §5.2 lets a parser either reject duplicates or take the last one; two parsers that
//! choose differently read two different tokens from the same bytes. We reject.
//!
//! A header or claims segment is scanned exactly once (`scan`), into a [`Tape`]: a flat list of
//! events with strings borrowed from the input. Policy code reads the top-level members from
//! the tape, and [`Tape::deserialize`] replays it into the caller's claims type, so the text is
//! never scanned twice and no `serde_json::Value` tree is built on the request path.

mod scan;

use std::borrow::Cow;

use serde::de::value::{BorrowedStrDeserializer, Error as ReplayError, StrDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer as _, EnumAccess, IntoDeserializer as _, MapAccess,
    SeqAccess, VariantAccess, Visitor,
};
use serde_json::{Map, Value};

use crate::error::Reason;

/// One JSON value, or the start of a container, in document order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event<'de> {
    Null,
    Bool(bool),
    U64(u64),
    /// Only for negative integers, as `serde_json` does.
    I64(i64),
    F64(f64),
    Str(Cow<'de, str>),
    /// An array of `len` values; its last event is just before index `end`.
    Seq {
        len: u32,
        end: u32,
    },
    /// An object of `len` members, each a `Str` name then a value; ends before `end`.
    Map {
        len: u32,
        end: u32,
    },
}

/// A strictly parsed JSON object.
#[derive(Debug)]
pub(crate) struct Tape<'de> {
    events: Vec<Event<'de>>,
}

/// One value inside a [`Tape`].
#[derive(Clone, Copy)]
pub(crate) struct ValueRef<'t, 'de> {
    events: &'t [Event<'de>],
    at: usize,
}

impl<'de> Tape<'de> {
    /// Parses `text` as one JSON object. Anything else (an array, trailing data, nesting deeper
    /// than 127, a repeated member name at any depth) is an error. Taking `&str` means UTF-8 was
    /// checked once for the whole buffer, so strings are only scanned for quotes and escapes.
    pub(crate) fn parse(text: &'de str) -> Result<Self, Reason> {
        let mut events = Vec::with_capacity(text.len() / 8 + 4);
        scan::scan(text, &mut events).map_err(|e| match e {
            scan::ScanError::Duplicate => Reason::DuplicateMember,
            scan::ScanError::Syntax => Reason::BadJson,
        })?;
        match events.first() {
            Some(Event::Map { .. }) => Ok(Self { events }),
            _ => Err(Reason::BadJson),
        }
    }

    /// Every event, for comparing the scanner with its reference.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn events(&self) -> &[Event<'de>] {
        &self.events
    }

    /// The top-level members in document order.
    pub(crate) fn members(&self) -> impl Iterator<Item = (&str, ValueRef<'_, 'de>)> {
        ValueRef {
            events: &self.events,
            at: 0,
        }
        .object_members()
        .into_iter()
        .flatten()
    }

    /// Replays the object into `T`, as `serde_json::from_str` would have built it.
    pub(crate) fn deserialize<T: de::Deserialize<'de>>(&self) -> Result<T, ReplayError> {
        let mut replay = Replay {
            events: &self.events,
            pos: 0,
        };
        let value = T::deserialize(&mut replay)?;
        if replay.pos != self.events.len() {
            return Err(de::Error::custom("trailing data"));
        }
        Ok(value)
    }
}

/// Parses `bytes` as one strict JSON object into a `serde_json` map (for key-set documents and
/// on-demand claim access; the request path reads the [`Tape`] instead).
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, Reason> {
    let text = std::str::from_utf8(bytes).map_err(|_| Reason::BadJson)?;
    Tape::parse(text)?
        .deserialize::<Map<String, Value>>()
        .map_err(|_| Reason::BadJson)
}

impl<'t, 'de> ValueRef<'t, 'de> {
    fn event(&self) -> Option<&'t Event<'de>> {
        self.events.get(self.at)
    }

    /// The value if it is a string.
    pub(crate) fn as_str(&self) -> Option<&'t str> {
        match self.event() {
            Some(Event::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self.event(), Some(Event::Null))
    }

    /// A number as (`u64` if it is a non-negative integer, its `f64` value otherwise).
    pub(crate) fn as_number(&self) -> Option<(Option<u64>, f64)> {
        match self.event() {
            Some(Event::U64(u)) => Some((Some(*u), *u as f64)),
            Some(Event::I64(i)) => Some((None, *i as f64)),
            Some(Event::F64(f)) => Some((None, *f)),
            _ => None,
        }
    }

    /// If the value is an object: its members in document order.
    pub(crate) fn object_members(
        self,
    ) -> Option<impl Iterator<Item = (&'t str, ValueRef<'t, 'de>)>> {
        let Some(Event::Map { len, .. }) = self.event() else {
            return None;
        };
        let events = self.events;
        let mut at = self.at + 1;
        Some((0..*len).map_while(move |_| {
            let name = match events.get(at) {
                Some(Event::Str(name)) => name.as_ref(),
                _ => return None,
            };
            let value = ValueRef { events, at: at + 1 };
            at = skip(events, at + 1);
            Some((name, value))
        }))
    }

    /// If the value is an array: each element as `Some(string)` or `None` for any other type.
    pub(crate) fn as_array(&self) -> Option<impl Iterator<Item = Option<&'t str>>> {
        let Some(Event::Seq { len, .. }) = self.event() else {
            return None;
        };
        let events = self.events;
        let mut at = self.at + 1;
        Some((0..*len).map(move |_| {
            let element = ValueRef { events, at }.as_str();
            at = skip(events, at);
            element
        }))
    }
}

/// The index just past the value that starts at `at`.
fn skip(events: &[Event<'_>], at: usize) -> usize {
    match events.get(at) {
        Some(Event::Seq { end, .. } | Event::Map { end, .. }) => *end as usize,
        _ => at + 1,
    }
}

/// Replays a tape through serde, like `serde_json`'s own deserializer over the original text.
struct Replay<'t, 'de> {
    events: &'t [Event<'de>],
    pos: usize,
}

impl<'t, 'de> Replay<'t, 'de> {
    fn next(&mut self) -> Result<&'t Event<'de>, ReplayError> {
        let event = self
            .events
            .get(self.pos)
            .ok_or_else(|| de::Error::custom("unexpected end of input"))?;
        self.pos += 1;
        Ok(event)
    }
}

impl<'de> de::Deserializer<'de> for &mut Replay<'_, 'de> {
    type Error = ReplayError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReplayError> {
        match self.next()? {
            Event::Null => visitor.visit_unit(),
            Event::Bool(b) => visitor.visit_bool(*b),
            Event::U64(n) => visitor.visit_u64(*n),
            Event::I64(n) => visitor.visit_i64(*n),
            Event::F64(n) => visitor.visit_f64(*n),
            Event::Str(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Event::Str(Cow::Owned(s)) => visitor.visit_str(s),
            Event::Seq { len, .. } => {
                let mut access = Items {
                    de: self,
                    left: *len,
                };
                let value = visitor.visit_seq(&mut access)?;
                match access.left {
                    0 => Ok(value),
                    _ => Err(de::Error::custom("trailing array elements")),
                }
            }
            Event::Map { len, .. } => {
                let mut access = Items {
                    de: self,
                    left: *len,
                };
                let value = visitor.visit_map(&mut access)?;
                match access.left {
                    0 => Ok(value),
                    _ => Err(de::Error::custom("trailing object members")),
                }
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReplayError> {
        if let Some(Event::Null) = self.events.get(self.pos) {
            self.pos += 1;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ReplayError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReplayError> {
        self.pos = skip(self.events, self.pos);
        visitor.visit_unit()
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ReplayError> {
        match self.next()? {
            Event::Str(Cow::Borrowed(s)) => {
                visitor.visit_enum(BorrowedStrDeserializer::<ReplayError>::new(s))
            }
            Event::Str(Cow::Owned(s)) => {
                let access: StrDeserializer<'_, ReplayError> = s.as_str().into_deserializer();
                visitor.visit_enum(access)
            }
            Event::Map { len: 1, .. } => visitor.visit_enum(Variant { de: self }),
            _ => Err(de::Error::custom(
                "expected a string or a single-member object for an enum",
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// Elements of an array, or members of an object, still to be replayed.
struct Items<'r, 't, 'de> {
    de: &'r mut Replay<'t, 'de>,
    left: u32,
}

impl<'de> SeqAccess<'de> for Items<'_, '_, 'de> {
    type Error = ReplayError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ReplayError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left as usize)
    }
}

impl<'de> MapAccess<'de> for Items<'_, '_, 'de> {
    type Error = ReplayError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ReplayError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ReplayError> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left as usize)
    }
}

/// An externally tagged enum written as `{"Variant": value}`.
struct Variant<'r, 't, 'de> {
    de: &'r mut Replay<'t, 'de>,
}

impl<'r, 't, 'de> EnumAccess<'de> for Variant<'r, 't, 'de> {
    type Error = ReplayError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), ReplayError> {
        let tag = seed.deserialize(&mut *self.de)?;
        Ok((tag, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_, '_, 'de> {
    type Error = ReplayError;

    fn unit_variant(self) -> Result<(), ReplayError> {
        de::Deserialize::deserialize(&mut *self.de)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ReplayError> {
        seed.deserialize(&mut *self.de)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ReplayError> {
        self.de.deserialize_any(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ReplayError> {
        self.de.deserialize_any(visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

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
            r#"{"x":[[{"b":1,"b":1}]]}"#,
            r#"{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":0,"k11":1,"k12":2,"k13":3,"k14":4,"k15":5,"k16":6,"k17":7,"k3":8}"#,
        ] {
            assert_eq!(
                Tape::parse(bad).unwrap_err(),
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
            "{\"a\":1,}",
        ] {
            assert_eq!(Tape::parse(bad).unwrap_err(), Reason::BadJson, "{bad}");
        }
        assert_eq!(
            parse_object(b"{\"a\":\"\xff\"}").unwrap_err(),
            Reason::BadJson
        );
    }

    #[test]
    fn duplicates_are_found_past_the_linear_search_and_through_escapes() {
        let names = |n: usize| (0..n).map(|i| format!("\"k{i}\":{i}")).collect::<Vec<_>>();
        for n in [31, 32, 33, 200] {
            let unique = format!("{{{}}}", names(n).join(","));
            assert!(Tape::parse(&unique).is_ok(), "{n} names");
            for repeated in [0, n / 2, n - 1] {
                let twice = format!("{{{},\"k{repeated}\":0}}", names(n).join(","));
                assert_eq!(
                    Tape::parse(&twice).unwrap_err(),
                    Reason::DuplicateMember,
                    "{n} names, k{repeated} twice"
                );
            }
        }
        for bad in [
            r#"{"\u0061":1,"a":2}"#,
            r#"{"b":0,"\u0061":1,"c":{"a":1},"a":2}"#,
            r#"{"x":{"a":1},"y":{"a":1,"\u0061":2}}"#,
        ] {
            assert_eq!(
                Tape::parse(bad).unwrap_err(),
                Reason::DuplicateMember,
                "{bad}"
            );
        }
        // The same name in sibling and nested objects is no duplicate.
        assert!(Tape::parse(r#"{"a":{"a":{"a":1}},"b":{"a":2},"c":[{"a":3},{"a":4}]}"#).is_ok());
    }

    #[test]
    fn numbers_are_classified_as_serde_json_classifies_them() {
        let text = r#"{"n":[0,-0,7,-7,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809,1.5,-2.5e-3,1e-400,0.1]}"#;
        let tape = Tape::parse(text).unwrap();
        let numbers: Vec<Event<'_>> = tape.events.iter().skip(3).cloned().collect();
        assert_eq!(
            numbers,
            [
                Event::U64(0),
                Event::F64(-0.0),
                Event::U64(7),
                Event::I64(-7),
                Event::U64(u64::MAX),
                Event::F64(18446744073709551616.0),
                Event::I64(i64::MIN),
                Event::F64(-9223372036854775809.0),
                Event::F64(1.5),
                Event::F64(-2.5e-3),
                Event::F64(0.0),
                Event::F64(0.1),
            ]
        );
        let direct: Value = serde_json::from_str(text).unwrap();
        assert_eq!(tape.deserialize::<Value>().unwrap(), direct);
        for bad in [
            "1e400", "-1e400", "1.", ".5", "-", "1e", "1e+", "+1", "0x1", "1_0", "NaN",
        ] {
            let text = format!("{{\"n\":{bad}}}");
            assert_eq!(Tape::parse(&text).unwrap_err(), Reason::BadJson, "{bad}");
        }
    }

    #[test]
    fn strings_follow_rfc_8259() {
        let tape =
            Tape::parse(r#"{"s":"\ud83d\ude00 \u00e9\"\\\/\b\f\n\r\t","t":"plain é"}"#).unwrap();
        let get = |name: &str| tape.members().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(get("s").as_str(), Some("😀 é\"\\/\u{8}\u{c}\n\r\t"));
        assert_eq!(get("t").as_str(), Some("plain é"));
        for bad in [
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\\u12\"",
            "\"\\x\"",
            "\"tab\there\"",
            "\"nul\u{0}\"",
            "\"open",
            "'single'",
        ] {
            let text = format!("{{\"s\":{bad}}}");
            assert_eq!(Tape::parse(&text).unwrap_err(), Reason::BadJson, "{text:?}");
        }
    }

    /// The scan eight bytes at a time must stop at the first special byte wherever it falls.
    #[test]
    fn every_offset_of_a_quote_escape_or_control_character() {
        for offset in 0..40 {
            let plain = "aé\u{7f}~".repeat(12);
            let prefix: String = plain.chars().take(offset).collect();
            for (tail, expect) in [
                ("\"", Some(prefix.clone())),
                ("\\n\"", Some(format!("{prefix}\n"))),
                ("\\\"\"", Some(format!("{prefix}\""))),
                ("\u{1}\"", None),
                ("\u{1f}x\"", None),
            ] {
                let text = format!("{{\"s\":\"{prefix}{tail}}}");
                let tape = Tape::parse(&text);
                match &expect {
                    Some(value) => {
                        let tape = tape.unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
                        let got = tape.members().next().and_then(|(_, v)| v.as_str());
                        assert_eq!(got, Some(value.as_str()), "{text:?}");
                        let direct: Value = serde_json::from_str(&text).unwrap();
                        assert_eq!(direct["s"], value.as_str());
                    }
                    None => {
                        assert_eq!(tape.unwrap_err(), Reason::BadJson, "{text:?}");
                        assert!(serde_json::from_str::<Value>(&text).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn nesting_stops_at_127_levels_as_in_serde_json() {
        let nested = |depth: usize| {
            format!(
                "{{\"a\":{}{}}}",
                "[".repeat(depth - 1),
                "]".repeat(depth - 1)
            )
        };
        assert!(Tape::parse(&nested(127)).is_ok());
        assert!(serde_json::from_str::<Value>(&nested(127)).is_ok());
        assert_eq!(Tape::parse(&nested(128)).unwrap_err(), Reason::BadJson);
        assert!(serde_json::from_str::<Value>(&nested(128)).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(Tape::parse(&deep).unwrap_err(), Reason::BadJson);
    }

    #[test]
    fn members_in_document_order() {
        let tape =
            Tape::parse(r#"{"b":{"x":[1,2]},"a":"s","c":[1,"t",null,{"y":1}],"d":-2.5,"e":null}"#)
                .unwrap();
        let members: Vec<&str> = tape.members().map(|(n, _)| n).collect();
        assert_eq!(members, ["b", "a", "c", "d", "e"]);
        let get = |name: &str| tape.members().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(get("a").as_str(), Some("s"));
        assert_eq!(get("b").as_str(), None);
        let c: Vec<Option<&str>> = get("c").as_array().unwrap().collect();
        assert_eq!(c, [None, Some("t"), None, None]);
        assert_eq!(get("d").as_number(), Some((None, -2.5)));
        assert!(get("e").is_null());
    }

    /// The replay must build exactly what serde_json builds from the text.
    #[test]
    fn replay_agrees_with_serde_json() {
        #[derive(Deserialize, Debug, PartialEq)]
        enum Kind {
            Unit,
            New(u8),
            Tuple(u8, String),
            Named { x: i32 },
        }
        #[derive(Deserialize, Debug, PartialEq)]
        struct Claims {
            sub: String,
            n: Option<u32>,
            missing: Option<String>,
            big: u64,
            neg: i16,
            f: f32,
            list: Vec<String>,
            pair: (u8, bool),
            kinds: Vec<Kind>,
            nested: std::collections::BTreeMap<String, Value>,
            escaped: String,
            #[serde(default)]
            defaulted: u8,
        }
        let text = r#"{"sub":"a","n":null,"big":18446744073709551615,"neg":-7,"f":1.5,
            "list":["x","y"],"pair":[1,true],"kinds":["Unit",{"New":3},{"Tuple":[1,"z"]},{"Named":{"x":-1}}],
            "nested":{"k":[1,{"m":null}]},"escaped":"\u00e9\n","ignored":{"deep":[1,[2]]}}"#;
        let tape = Tape::parse(text).unwrap();
        let replayed: Claims = tape.deserialize().unwrap();
        let direct: Claims = serde_json::from_str(text).unwrap();
        assert_eq!(replayed, direct);
        let replayed: Value = tape.deserialize().unwrap();
        let direct: Value = serde_json::from_str(text).unwrap();
        assert_eq!(replayed, direct);

        // Type errors are errors in both.
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Strict {
            sub: u32,
        }
        assert!(tape.deserialize::<Strict>().is_err());
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Closed {
            sub: String,
        }
        assert!(tape.deserialize::<Closed>().is_err());
        assert!(
            Tape::parse(r#"{"pair":[1,true,3]}"#)
                .unwrap()
                .deserialize::<PairOnly>()
                .is_err()
        );
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct PairOnly {
            pair: (u8, bool),
        }
    }
}
