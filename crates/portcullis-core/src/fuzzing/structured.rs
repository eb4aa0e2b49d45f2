//! The structure-aware token of `verify_structured`: JSON members the verifier reacts to, times
//! near the fixed clock, and a signature that is either valid HS256 or arbitrary bytes.
//!
//! Nesting is capped at two levels by the types themselves, so neither `arbitrary` nor the
//! writer below can recurse deeply on a long input.

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{AUDIENCE, HMAC_ISSUER, ISSUER, NOW};

/// Strings the verifier compares against: issuers, audiences, `typ` values, kids, algorithms.
const KNOWN: &[&str] = &[
    ISSUER,
    HMAC_ISSUER,
    AUDIENCE,
    "",
    "at+jwt",
    "application/at+jwt",
    "JWT",
    "dpop+jwt",
    "rsa-2048",
    "ec-p256",
    "ed25519",
    "HS256",
    "RS256",
    "ES256",
    "EdDSA",
    "none",
    "None",
    "HS512",
    "read write",
];

/// Member names with a meaning in a header or claims set.
const NAMES: &[&str] = &[
    "alg",
    "kid",
    "typ",
    "crit",
    "zip",
    "jku",
    "jwk",
    "x5u",
    "x5c",
    "cty",
    "b64",
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "scope",
    "scp",
    "client_id",
    "\u{0}",
];

#[derive(Arbitrary, Debug)]
pub(super) struct Shape {
    alg: Option<Text>,
    kid: Option<Text>,
    typ: Option<Text>,
    header: Vec<(Name, Value)>,
    iss: Option<Text>,
    aud: Option<Audience>,
    exp: Option<Time>,
    nbf: Option<Time>,
    iat: Option<Time>,
    claims: Vec<(Name, Value)>,
    signature: Signature,
}

#[derive(Arbitrary, Debug)]
enum Text {
    Known(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Name {
    Known(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Leaf {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Text(Text),
    Time(Time),
}

#[derive(Arbitrary, Debug)]
enum Value {
    Leaf(Leaf),
    Array(Vec<Leaf>),
    Object(Vec<(Name, Leaf)>),
}

#[derive(Arbitrary, Debug)]
enum Time {
    /// The fixed clock plus this many seconds.
    Near(i32),
    /// The same as a float, or as a string (which must be refused).
    Float(i32),
    Text(i32),
}

#[derive(Arbitrary, Debug)]
enum Audience {
    One(Text),
    Many(Vec<Text>),
    Other(Leaf),
}

#[derive(Arbitrary, Debug)]
enum Signature {
    /// The HS256 tag of the signing input under the fuzz verifier's secret.
    Valid,
    /// The valid tag with bytes appended or cut.
    Truncated(u8),
    Bytes(Vec<u8>),
    /// Not necessarily base64url.
    Raw(String),
}

impl Shape {
    /// The compact token, and whether its signature is the real HS256 tag of its signing input.
    pub(super) fn assemble(&self, sign: impl Fn(&[u8]) -> Vec<u8>) -> (String, bool) {
        let mut header = Object::default();
        header.text("alg", &self.alg);
        header.text("kid", &self.kid);
        header.text("typ", &self.typ);
        header.extra(&self.header);
        let mut claims = Object::default();
        claims.text("iss", &self.iss);
        if let Some(aud) = &self.aud {
            let mut out = String::new();
            match aud {
                Audience::One(t) => t.write(&mut out),
                Audience::Many(ts) => {
                    out.push('[');
                    for (i, t) in ts.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        t.write(&mut out);
                    }
                    out.push(']');
                }
                Audience::Other(leaf) => leaf.write(&mut out),
            }
            claims.raw("aud", &out);
        }
        for (name, time) in [("exp", &self.exp), ("nbf", &self.nbf), ("iat", &self.iat)] {
            if let Some(time) = time {
                let mut out = String::new();
                time.write(&mut out);
                claims.raw(name, &out);
            }
        }
        claims.extra(&self.claims);
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.finish()),
            URL_SAFE_NO_PAD.encode(claims.finish())
        );
        let (signature, signed) = match &self.signature {
            Signature::Valid => (URL_SAFE_NO_PAD.encode(sign(input.as_bytes())), true),
            Signature::Truncated(n) => {
                let mut tag = sign(input.as_bytes());
                let n = usize::from(*n % 64);
                if n < 32 {
                    tag.truncate(n);
                } else {
                    tag.resize(n + 1, 0);
                }
                (URL_SAFE_NO_PAD.encode(tag), false)
            }
            Signature::Bytes(bytes) => (URL_SAFE_NO_PAD.encode(bytes), false),
            Signature::Raw(text) => (text.clone(), false),
        };
        (format!("{input}.{signature}"), signed)
    }
}

/// A JSON object written member by member, so duplicate names survive (the verifier must refuse
/// them; a map would silently merge them).
#[derive(Default)]
struct Object(String);

impl Object {
    fn raw(&mut self, name: &str, value: &str) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        write_str(&mut self.0, name);
        self.0.push(':');
        self.0.push_str(value);
    }

    fn text(&mut self, name: &str, value: &Option<Text>) {
        if let Some(value) = value {
            let mut out = String::new();
            value.write(&mut out);
            self.raw(name, &out);
        }
    }

    fn extra(&mut self, members: &[(Name, Value)]) {
        for (name, value) in members {
            let mut out = String::new();
            value.write(&mut out);
            self.raw(name.as_str(), &out);
        }
    }

    fn finish(mut self) -> String {
        if self.0.is_empty() {
            self.0.push('{');
        }
        self.0.push('}');
        self.0
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::from(s).to_string());
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Text::Known(i) => KNOWN
                .get(usize::from(*i) % KNOWN.len())
                .copied()
                .unwrap_or(""),
            Text::Raw(s) => s,
        }
    }

    fn write(&self, out: &mut String) {
        write_str(out, self.as_str());
    }
}

impl Name {
    fn as_str(&self) -> &str {
        match self {
            Name::Known(i) => NAMES
                .get(usize::from(*i) % NAMES.len())
                .copied()
                .unwrap_or(""),
            Name::Raw(s) => s,
        }
    }
}

impl Time {
    fn write(&self, out: &mut String) {
        match self {
            Time::Near(d) => out.push_str(&NOW.saturating_add_signed(i64::from(*d)).to_string()),
            Time::Float(d) => out.push_str(&format!("{:.1}", NOW as f64 + f64::from(*d))),
            Time::Text(d) => write_str(out, &NOW.saturating_add_signed(i64::from(*d)).to_string()),
        }
    }
}

impl Leaf {
    fn write(&self, out: &mut String) {
        match self {
            Leaf::Null => out.push_str("null"),
            Leaf::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Leaf::Int(i) => out.push_str(&i.to_string()),
            Leaf::Uint(u) => out.push_str(&u.to_string()),
            // Not always valid JSON (`inf`, `NaN`): the parser must refuse those too.
            Leaf::Float(f) => out.push_str(&f.to_string()),
            Leaf::Text(t) => t.write(out),
            Leaf::Time(t) => t.write(out),
        }
    }
}

impl Value {
    fn write(&self, out: &mut String) {
        match self {
            Value::Leaf(leaf) => leaf.write(out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                let mut object = Object::default();
                for (name, leaf) in members {
                    let mut value = String::new();
                    leaf.write(&mut value);
                    object.raw(name.as_str(), &value);
                }
                out.push_str(&object.finish());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::HmacKey;
    use crate::token::Algorithm;

    fn shape(signature: Signature, exp: i32) -> Shape {
        let known = |s: &str| Text::Known(KNOWN.iter().position(|k| *k == s).unwrap_or(0) as u8);
        Shape {
            alg: Some(known("HS256")),
            kid: None,
            typ: Some(known("at+jwt")),
            header: Vec::new(),
            iss: Some(known(HMAC_ISSUER)),
            aud: Some(Audience::One(known(AUDIENCE))),
            exp: Some(Time::Near(exp)),
            nbf: None,
            iat: Some(Time::Near(-10)),
            claims: vec![(Name::Raw("sub".into()), Value::Leaf(Leaf::Text(known(""))))],
            signature,
        }
    }

    fn check(shape: &Shape) -> bool {
        let key = HmacKey::new(Algorithm::HS256, super::super::HMAC_SECRET).unwrap();
        let (token, _) = shape.assemble(|input| key.sign(input));
        super::super::check_token(&token)
    }

    #[test]
    fn a_valid_shape_reaches_acceptance_and_each_defect_is_refused() {
        // The generator must be able to build an accepted token, or the target would only ever
        // explore rejections.
        assert!(check(&shape(Signature::Valid, 600)));
        assert!(!check(&shape(Signature::Valid, -61)));
        assert!(!check(&shape(Signature::Truncated(5), 600)));
        assert!(!check(&shape(Signature::Truncated(40), 600)));
        assert!(!check(&shape(Signature::Bytes(vec![0; 32]), 600)));
        let mut other = shape(Signature::Valid, 600);
        other.iss = Some(Text::Known(0));
        assert!(
            !check(&other),
            "an RSA issuer's token with an HMAC signature"
        );
        let mut dup = shape(Signature::Valid, 600);
        dup.claims.push((
            Name::Raw("exp".into()),
            Value::Leaf(Leaf::Time(Time::Near(600))),
        ));
        assert!(!check(&dup), "duplicate exp");
    }
}
