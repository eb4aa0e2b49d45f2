//! The strict JSON scanner behind [`Tape::parse`](super::Tape::parse): RFC 8259 text to tape
//! events in one pass, without serde's visitor machinery on the request path.
//!
//! It accepts exactly what `serde_json` accepts and builds the values it would build (the
//! `json_scan` fuzz target holds the two side by side), except that a member name repeated in
//! one object, at any depth, is an error. A number too large for `f64` is an error in both.
//! Floats are read with the standard library's correctly rounded parser (and `serde_json` with
//! its `float_roundtrip` feature, so the two agree bit for bit).

use std::borrow::Cow;
use std::collections::HashSet;

use super::Event;

/// Deepest nesting of arrays and objects: 127, `serde_json`'s own bound (its recursion limit of
/// 128 counts the value that would exceed it), so the two agree on every document and a hostile
/// one cannot exhaust the stack.
const MAX_DEPTH: u32 = 127;

/// Why a text is not a strict JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScanError {
    /// A member name appears twice in one object.
    Duplicate,
    /// Not JSON, or nested deeper than [`MAX_DEPTH`].
    Syntax,
}

type Scanned<T> = Result<T, ScanError>;

/// Appends the events of the one JSON value in `text` (surrounded by optional whitespace).
pub(super) fn scan<'de>(text: &'de str, out: &mut Vec<Event<'de>>) -> Scanned<()> {
    let mut scanner = Scanner { text, pos: 0, out };
    scanner.value(0)?;
    scanner.skip_whitespace();
    if scanner.pos == text.len() {
        Ok(())
    } else {
        Err(ScanError::Syntax)
    }
}

struct Scanner<'a, 'de> {
    text: &'de str,
    pos: usize,
    out: &'a mut Vec<Event<'de>>,
}

fn count(n: usize) -> Scanned<u32> {
    u32::try_from(n).map_err(|_| ScanError::Syntax)
}

impl<'de> Scanner<'_, 'de> {
    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Consumes `literal` (the rest of `true`, `false` or `null`).
    fn expect(&mut self, literal: &[u8]) -> Scanned<()> {
        let end = self.pos + literal.len();
        if self.bytes().get(self.pos..end) == Some(literal) {
            self.pos = end;
            Ok(())
        } else {
            Err(ScanError::Syntax)
        }
    }

    fn value(&mut self, depth: u32) -> Scanned<()> {
        self.skip_whitespace();
        let Some(first) = self.peek() else {
            return Err(ScanError::Syntax);
        };
        match first {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => {
                self.pos += 1;
                let s = self.string()?;
                self.out.push(Event::Str(s));
                Ok(())
            }
            b't' => {
                self.expect(b"true")?;
                self.out.push(Event::Bool(true));
                Ok(())
            }
            b'f' => {
                self.expect(b"false")?;
                self.out.push(Event::Bool(false));
                Ok(())
            }
            b'n' => {
                self.expect(b"null")?;
                self.out.push(Event::Null);
                Ok(())
            }
            b'-' | b'0'..=b'9' => {
                let number = self.number()?;
                self.out.push(number);
                Ok(())
            }
            _ => Err(ScanError::Syntax),
        }
    }

    fn array(&mut self, depth: u32) -> Scanned<()> {
        self.container(
            depth,
            b']',
            |len, end| Event::Seq { len, end },
            |scanner, _| scanner.value(depth),
        )
    }

    fn object(&mut self, depth: u32) -> Scanned<()> {
        let mut names = Names {
            start: self.out.len(),
            marks: 0,
            set: None,
        };
        self.container(
            depth,
            b'}',
            |len, end| Event::Map { len, end },
            |scanner, count| {
                scanner.skip_whitespace();
                if scanner.peek() != Some(b'"') {
                    return Err(ScanError::Syntax);
                }
                scanner.pos += 1;
                let name = scanner.string()?;
                if !names.is_new(scanner.out, count, &name) {
                    return Err(ScanError::Duplicate);
                }
                scanner.out.push(Event::Str(name));
                scanner.skip_whitespace();
                if scanner.peek() != Some(b':') {
                    return Err(ScanError::Syntax);
                }
                scanner.pos += 1;
                scanner.value(depth)
            },
        )
    }

    /// An array or object whose opening bracket is next: `item` scans one element or member
    /// (told how many came before), `close` ends it, and `event` records its size in the
    /// placeholder pushed at its start.
    fn container(
        &mut self,
        depth: u32,
        close: u8,
        event: fn(u32, u32) -> Event<'de>,
        mut item: impl FnMut(&mut Self, usize) -> Scanned<()>,
    ) -> Scanned<()> {
        if depth > MAX_DEPTH {
            return Err(ScanError::Syntax);
        }
        self.pos += 1;
        let start = self.out.len();
        self.out.push(event(0, 0));
        let mut len = 0usize;
        self.skip_whitespace();
        if self.peek() == Some(close) {
            self.pos += 1;
        } else {
            loop {
                item(self, len)?;
                len += 1;
                self.skip_whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(c) if c == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(ScanError::Syntax),
                }
            }
        }
        let (len, end) = (count(len)?, count(self.out.len())?);
        if let Some(slot) = self.out.get_mut(start) {
            *slot = event(len, end);
        }
        Ok(())
    }

    /// The string whose opening quote was just consumed: borrowed from the text unless it has
    /// escapes. The text is already UTF-8, so only quotes, escapes and control characters
    /// (which RFC 8259 forbids unescaped) need looking at.
    // Inlined: returned through memory, the `Cow` cost a store-forwarding stall per string.
    #[inline(always)]
    fn string(&mut self) -> Scanned<Cow<'de, str>> {
        let start = self.pos;
        self.pos = self.to_special(self.pos);
        match self.peek() {
            Some(b'"') => {
                let s = self.text.get(start..self.pos).ok_or(ScanError::Syntax)?;
                self.pos += 1;
                Ok(Cow::Borrowed(s))
            }
            Some(b'\\') => {
                let mut owned =
                    String::from(self.text.get(start..self.pos).ok_or(ScanError::Syntax)?);
                self.escaped(&mut owned)?;
                Ok(Cow::Owned(owned))
            }
            _ => Err(ScanError::Syntax),
        }
    }

    /// The rest of a string from its first backslash, unescaped into `owned`.
    fn escaped(&mut self, owned: &mut String) -> Scanned<()> {
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.escape()?;
                    owned.push(c);
                }
                _ => return Err(ScanError::Syntax),
            }
            let run = self.pos;
            self.pos = self.to_special(self.pos);
            owned.push_str(self.text.get(run..self.pos).ok_or(ScanError::Syntax)?);
        }
    }

    /// One escape after its backslash.
    fn escape(&mut self) -> Scanned<char> {
        let Some(kind) = self.peek() else {
            return Err(ScanError::Syntax);
        };
        self.pos += 1;
        Ok(match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        // A high surrogate is only half a character: a low one must follow.
                        self.expect(b"\\u")?;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(ScanError::Syntax);
                        }
                        0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(ScanError::Syntax),
                    _ => u32::from(unit),
                };
                char::from_u32(code).ok_or(ScanError::Syntax)?
            }
            _ => return Err(ScanError::Syntax),
        })
    }

    fn hex4(&mut self) -> Scanned<u16> {
        let digits = self
            .bytes()
            .get(self.pos..self.pos + 4)
            .ok_or(ScanError::Syntax)?;
        let mut unit = 0u16;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(ScanError::Syntax),
            };
            unit = (unit << 4) | u16::from(v);
        }
        self.pos += 4;
        Ok(unit)
    }

    /// The index of the first quote, backslash or control character at or after `at` (or the
    /// end). Eight bytes at a time: JSON strings are mostly plain text.
    fn to_special(&self, mut at: usize) -> usize {
        const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
        const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
        const fn has_zero_byte(v: u64) -> u64 {
            v.wrapping_sub(ONES) & !v & HIGHS
        }
        while let Some(chunk) = self.bytes().get(at..at + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let v = u64::from_le_bytes(word);
            // Bytes below 0x20 (control characters), 0x22 (") and 0x5C (\). A borrow only
            // ever runs upwards, so the lowest flagged byte is the first special one.
            let special = (v.wrapping_sub(ONES * 0x20) & !v & HIGHS)
                | has_zero_byte(v ^ (ONES * 0x22))
                | has_zero_byte(v ^ (ONES * 0x5C));
            if special != 0 {
                return at + (special.trailing_zeros() / 8) as usize;
            }
            at += 8;
        }
        while let Some(&b) = self.bytes().get(at) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                break;
            }
            at += 1;
        }
        at
    }

    /// A number, classified as `serde_json` does: a non-negative integer that fits is `U64`, a
    /// negative one that fits is `I64`, and everything else (fractions, exponents, `-0`,
    /// integers beyond 64 bits) is `F64`.
    fn number(&mut self) -> Scanned<Event<'de>> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(ScanError::Syntax),
        }
        let integer_end = self.pos;
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.require_digits()?;
            float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.require_digits()?;
            float = true;
        }
        if !float {
            let integer = self.bytes().get(digits..integer_end).and_then(parse_u64);
            match (integer, negative) {
                (Some(n), false) => return Ok(Event::U64(n)),
                (Some(n), true) if n != 0 && n <= 1u64 << 63 => {
                    return Ok(Event::I64(0i64.wrapping_sub_unsigned(n)));
                }
                _ => {}
            }
        }
        let text = self.text.get(start..self.pos).ok_or(ScanError::Syntax)?;
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Event::F64(f)),
            _ => Err(ScanError::Syntax),
        }
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn require_digits(&mut self) -> Scanned<()> {
        let before = self.pos;
        self.skip_digits();
        if self.pos == before {
            Err(ScanError::Syntax)
        } else {
            Ok(())
        }
    }
}

/// ASCII digits as a `u64`, or `None` past `u64::MAX`.
fn parse_u64(digits: &[u8]) -> Option<u64> {
    let digit = |d: &u8| u64::from(d.wrapping_sub(b'0'));
    // Up to 19 digits cannot overflow: no checks in the loop every timestamp takes.
    if digits.len() <= 19 {
        return Some(digits.iter().fold(0u64, |n, d| n * 10 + digit(d)));
    }
    digits
        .iter()
        .try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(digit(d)))
}

/// Names an object may hold before duplicates are found with a hash set instead of a search of
/// the names so far: 32. Access tokens carry 10 to 30 claims, and the class marks make most
/// searches unnecessary; past 32 a hostile object with thousands of members costs linear time,
/// not quadratic.
const LINEAR_NAMES: usize = 32;

/// The duplicate check of one object being scanned. Its names are already in the tape (each
/// right after the object's start or the previous member's value), so nothing is copied: a
/// name is compared with them only when `marks` says one of them shares its class.
struct Names<'de> {
    /// Where the object's `Map` event is.
    start: usize,
    /// One bit per (length, first byte, last byte) class of the names so far: a name whose
    /// class is unmarked is new without a search.
    marks: u64,
    /// Every name so far, once there are [`LINEAR_NAMES`] of them.
    set: Option<NameSet<'de>>,
}

/// One object's names past [`LINEAR_NAMES`].
type NameSet<'de> = HashSet<Cow<'de, str>, foldhash::fast::RandomState>;

impl<'de> Names<'de> {
    /// Whether `name`, after `count` members, is new in the object.
    #[allow(clippy::ptr_arg)] // a `&Cow` so a borrowed name is kept as a borrow, without a copy
    fn is_new(&mut self, events: &[Event<'de>], count: usize, name: &Cow<'de, str>) -> bool {
        if let Some(set) = &mut self.set {
            return set.insert(name.clone());
        }
        if count >= LINEAR_NAMES {
            let mut set: NameSet<'de> = self.so_far(events, count).cloned().collect();
            let new = set.insert(name.clone());
            self.set = Some(set);
            return new;
        }
        let bytes = name.as_bytes();
        let class = |b: Option<&u8>| usize::from(b.copied().unwrap_or(0));
        let mark =
            1u64 << ((bytes.len() + 3 * class(bytes.first()) + 7 * class(bytes.last())) % 64);
        let marked = self.marks & mark != 0;
        self.marks |= mark;
        !marked || !self.so_far(events, count).any(|n| n == name)
    }

    /// The object's first `count` names, from the tape.
    fn so_far<'t>(
        &self,
        events: &'t [Event<'de>],
        count: usize,
    ) -> impl Iterator<Item = &'t Cow<'de, str>> {
        let mut at = self.start + 1;
        (0..count).map_while(move |_| {
            let Some(Event::Str(name)) = events.get(at) else {
                return None;
            };
            at = super::skip(events, at + 1);
            Some(name)
        })
    }
}
