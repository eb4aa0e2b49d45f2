//! The reference the strict JSON scanner is held to: `serde_json` itself drives a visitor that
//! records the same events and rejects repeated member names. Slow (serde's visitor per value),
//! which is why the request path has its own scanner; exact by construction, which is why the
//! `json_scan` fuzz target compares the two.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::json::Event;

const DUPLICATE: &str = "duplicate member name";

/// What `serde_json` makes of `text`: its events, or whether it failed on a repeated name.
pub(super) fn parse(text: &str) -> Result<Vec<Event<'_>>, bool> {
    let mut events = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    Build { out: &mut events }
        .deserialize(&mut de)
        .map_err(|e| e.is_data() && e.to_string().starts_with(DUPLICATE))?;
    de.end().map_err(|_| false)?;
    Ok(events)
}

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
        }
        d.deserialize_str(V)
    }
}

struct Build<'a, 'de> {
    out: &'a mut Vec<Event<'de>>,
}

impl<'de> DeserializeSeed<'de> for Build<'_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

fn count<E: de::Error>(n: usize) -> Result<u32, E> {
    u32::try_from(n).map_err(|_| E::custom("too many values"))
}

impl<'de> Visitor<'de> for Build<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.out.push(Event::Bool(v));
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.out.push(Event::I64(v));
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.out.push(Event::U64(v));
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.out.push(Event::F64(v));
        Ok(())
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        self.out.push(Event::Str(Cow::Borrowed(v)));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.out.push(Event::Str(Cow::Owned(v.to_owned())));
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.push(Event::Null);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let start = self.out.len();
        self.out.push(Event::Seq { len: 0, end: 0 });
        let mut len = 0;
        while seq
            .next_element_seed(Build {
                out: &mut *self.out,
            })?
            .is_some()
        {
            len += 1;
        }
        let (len, end) = (count(len)?, count(self.out.len())?);
        if let Some(slot) = self.out.get_mut(start) {
            *slot = Event::Seq { len, end };
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let start = self.out.len();
        self.out.push(Event::Map { len: 0, end: 0 });
        let mut seen = HashSet::new();
        let mut len = 0;
        while let Some(Name(name)) = access.next_key()? {
            if !seen.insert(name.clone()) {
                return Err(de::Error::custom(DUPLICATE));
            }
            self.out.push(Event::Str(name));
            access.next_value_seed(Build {
                out: &mut *self.out,
            })?;
            len += 1;
        }
        let (len, end) = (count(len)?, count(self.out.len())?);
        if let Some(slot) = self.out.get_mut(start) {
            *slot = Event::Map { len, end };
        }
        Ok(())
    }
}
