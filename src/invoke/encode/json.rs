//! A strict JSON reader over bytes, for the encoder: it reads tokens where the encoder asks for
//! them and never builds a value. Stricter than serde_json where that is simpler (it refuses
//! what it is unsure of, and the reference path then decides), never looser.

use std::borrow::Cow;

use super::Stop;

/// The deepest nesting of arrays and objects the fast path reads; serde_json refuses beyond
/// 128, and the reference path decides anything deeper than this.
pub(super) const MAX_DEPTH: usize = 100;

/// A JSON number as written: its text, and whether it is an integer (no fraction, no exponent).
#[derive(Debug, Clone, Copy)]
pub(super) struct NumberText<'a> {
    pub(super) text: &'a str,
    pub(super) integer: bool,
}

/// What comes next in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    /// How many bytes have been read.
    pub(super) fn position(&self) -> usize {
        self.at
    }

    /// The input from `start` to where the reader is.
    pub(super) fn since(&self, start: usize) -> &'a [u8] {
        self.bytes.get(start..self.at).unwrap_or_default()
    }

    fn skip_white_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after white space, not taken.
    fn peek_byte(&mut self) -> Result<u8, Stop> {
        self.skip_white_space();
        self.bytes.get(self.at).copied().ok_or(Stop::Incomplete)
    }

    /// What kind of value comes next.
    pub(super) fn peek(&mut self) -> Result<Next, Stop> {
        Ok(match self.peek_byte()? {
            b'{' => Next::Object,
            b'[' => Next::Array,
            b'"' => Next::String,
            b'-' | b'0'..=b'9' => Next::Number,
            b't' => Next::True,
            b'f' => Next::False,
            b'n' => Next::Null,
            _ => return Err(Stop::Fallback),
        })
    }

    /// Takes `byte` after white space, or stops.
    pub(super) fn expect(&mut self, byte: u8) -> Result<(), Stop> {
        if self.peek_byte()? == byte {
            self.at += 1;
            Ok(())
        } else {
            Err(Stop::Fallback)
        }
    }

    /// After `{` or `[`, or after a member or element: whether another one follows (taking the
    /// `,` before it) or the object or array ends here (taking the `}` or `]`).
    pub(super) fn more(&mut self, first: bool, close: u8) -> Result<bool, Stop> {
        let byte = self.peek_byte()?;
        if byte == close {
            self.at += 1;
            return Ok(false);
        }
        if first {
            return Ok(true);
        }
        if byte == b',' {
            self.at += 1;
            // A trailing comma is not JSON.
            if self.peek_byte()? == close {
                return Err(Stop::Fallback);
            }
            return Ok(true);
        }
        Err(Stop::Fallback)
    }

    /// The key of an object member, and the `:` after it.
    pub(super) fn key(&mut self) -> Result<Cow<'a, [u8]>, Stop> {
        if self.peek_byte()? != b'"' {
            return Err(Stop::Fallback);
        }
        let key = self.text()?;
        self.expect(b':')?;
        Ok(key)
    }

    /// A literal (`true`, `false`, `null`).
    pub(super) fn literal(&mut self, word: &[u8]) -> Result<(), Stop> {
        self.skip_white_space();
        let rest = self.bytes.get(self.at..).unwrap_or_default();
        if rest.len() < word.len() {
            return if word.starts_with(rest) {
                Err(Stop::Incomplete)
            } else {
                Err(Stop::Fallback)
            };
        }
        if !rest.starts_with(word) {
            return Err(Stop::Fallback);
        }
        self.at += word.len();
        self.after_token()
    }

    /// A token that is not a string, object or array must end at a delimiter.
    fn after_token(&self) -> Result<(), Stop> {
        match self.bytes.get(self.at) {
            None => Err(Stop::Incomplete),
            Some(b' ' | b'\n' | b'\r' | b'\t' | b',' | b'}' | b']') => Ok(()),
            Some(_) => Err(Stop::Fallback),
        }
    }

    /// A string, unescaped, as `str`.
    pub(super) fn string(&mut self) -> Result<Cow<'a, str>, Stop> {
        Ok(match self.text()? {
            Cow::Borrowed(bytes) => {
                Cow::Borrowed(std::str::from_utf8(bytes).map_err(|_| Stop::Fallback)?)
            }
            Cow::Owned(bytes) => Cow::Owned(String::from_utf8(bytes).map_err(|_| Stop::Fallback)?),
        })
    }

    /// A string, unescaped, as UTF-8 bytes (checked, but only when they are not all ASCII):
    /// borrowed from the input when it holds no escape.
    pub(super) fn text(&mut self) -> Result<Cow<'a, [u8]>, Stop> {
        if self.peek_byte()? != b'"' {
            return Err(Stop::Fallback);
        }
        let start = self.at + 1;
        let rest = self.bytes.get(start..).unwrap_or_default();
        // The end of the string, or the first byte that is not plain ASCII text.
        let stop = rest
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || !(0x20..0x80).contains(&byte));
        let Some(mut length) = stop else {
            return Err(Stop::Incomplete);
        };
        let mut ascii = true;
        if rest.get(length).is_some_and(|&byte| byte >= 0x80) {
            // Text beyond ASCII: find the end, then check it is UTF-8.
            ascii = false;
            let more = rest
                .get(length..)
                .unwrap_or_default()
                .iter()
                .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20);
            match more {
                Some(offset) => length += offset,
                None => return Err(Stop::Incomplete),
            }
        }
        match rest.get(length) {
            Some(b'"') => {}
            Some(b'\\') => return self.escaped(start).map(Cow::Owned),
            _ => return Err(Stop::Fallback),
        }
        let raw = rest.get(..length).unwrap_or_default();
        if !ascii && std::str::from_utf8(raw).is_err() {
            return Err(Stop::Fallback);
        }
        self.at = start + length + 1;
        Ok(Cow::Borrowed(raw))
    }

    /// A string with escapes, from its first byte at `start`: unescaped into new bytes.
    fn escaped(&mut self, start: usize) -> Result<Vec<u8>, Stop> {
        let mut at = start;
        let mut text = Vec::new();
        loop {
            match self.bytes.get(at) {
                None => return Err(Stop::Incomplete),
                Some(b'"') => {
                    self.at = at + 1;
                    return match std::str::from_utf8(&text) {
                        Ok(_) => Ok(text),
                        Err(_) => Err(Stop::Fallback),
                    };
                }
                Some(b'\\') => {
                    let escape = *self.bytes.get(at + 1).ok_or(Stop::Incomplete)?;
                    at += 2;
                    let byte = match escape {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let (character, next) = self.unicode_escape(at)?;
                            at = next;
                            let mut utf8 = [0; 4];
                            text.extend_from_slice(character.encode_utf8(&mut utf8).as_bytes());
                            continue;
                        }
                        _ => return Err(Stop::Fallback),
                    };
                    text.push(byte);
                }
                Some(&byte) if byte < 0x20 => return Err(Stop::Fallback),
                Some(&byte) => {
                    text.push(byte);
                    at += 1;
                }
            }
        }
    }

    /// The character of a `\uXXXX` escape whose hex digits start at `at` (a surrogate pair
    /// takes two escapes), and where the input goes on after it. A lone surrogate is left to
    /// the reference path.
    fn unicode_escape(&self, at: usize) -> Result<(char, usize), Stop> {
        let first = self.hex4(at)?;
        if !(0xd800..0xe000).contains(&first) {
            return Ok((char::from_u32(first).ok_or(Stop::Fallback)?, at + 4));
        }
        if first >= 0xdc00 {
            return Err(Stop::Fallback);
        }
        match (self.bytes.get(at + 4), self.bytes.get(at + 5)) {
            (Some(b'\\'), Some(b'u')) => {}
            (None, _) | (Some(b'\\'), None) => return Err(Stop::Incomplete),
            _ => return Err(Stop::Fallback),
        }
        let second = self.hex4(at + 6)?;
        if !(0xdc00..0xe000).contains(&second) {
            return Err(Stop::Fallback);
        }
        let code = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
        Ok((char::from_u32(code).ok_or(Stop::Fallback)?, at + 10))
    }

    fn hex4(&self, at: usize) -> Result<u32, Stop> {
        let digits = self.bytes.get(at..at + 4).ok_or(Stop::Incomplete)?;
        let mut value = 0;
        for &digit in digits {
            let nibble = match digit {
                b'0'..=b'9' => digit - b'0',
                b'a'..=b'f' => digit - b'a' + 10,
                b'A'..=b'F' => digit - b'A' + 10,
                _ => return Err(Stop::Fallback),
            };
            value = value * 16 + u32::from(nibble);
        }
        Ok(value)
    }

    /// A number, as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    pub(super) fn number(&mut self) -> Result<NumberText<'a>, Stop> {
        self.skip_white_space();
        let start = self.at;
        let mut at = start;
        let byte = |at: usize| self.bytes.get(at).copied();
        // One or more digits from `at`: where they end.
        let digits_from = |from: usize| {
            let mut at = from;
            while let Some(b'0'..=b'9') = byte(at) {
                at += 1;
            }
            match (at == from, byte(at)) {
                (false, _) => Ok(at),
                (true, None) => Err(Stop::Incomplete),
                (true, Some(_)) => Err(Stop::Fallback),
            }
        };
        if byte(at) == Some(b'-') {
            at += 1;
        }
        match byte(at) {
            None => return Err(Stop::Incomplete),
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = byte(at) {
                    at += 1;
                }
            }
            Some(_) => return Err(Stop::Fallback),
        }
        let mut integer = true;
        if byte(at) == Some(b'.') {
            integer = false;
            at += 1;
            at = digits_from(at)?;
        }
        if let Some(b'e' | b'E') = byte(at) {
            integer = false;
            at += 1;
            if let Some(b'+' | b'-') = byte(at) {
                at += 1;
            }
            at = digits_from(at)?;
        }
        self.at = at;
        self.after_token()?;
        let text = self.bytes.get(start..at).unwrap_or_default();
        // Only ASCII digits and signs were taken.
        let text = std::str::from_utf8(text).map_err(|_| Stop::Fallback)?;
        Ok(NumberText { text, integer })
    }

    /// Reads past any value, checking that it is JSON; `depth` is how deep it starts.
    pub(super) fn skip(&mut self, depth: usize) -> Result<(), Stop> {
        match self.peek()? {
            Next::Object => {
                let depth = deeper(depth)?;
                self.at += 1;
                let mut first = true;
                while self.more(first, b'}')? {
                    first = false;
                    self.key()?;
                    self.skip(depth)?;
                }
                Ok(())
            }
            Next::Array => {
                let depth = deeper(depth)?;
                self.at += 1;
                let mut first = true;
                while self.more(first, b']')? {
                    first = false;
                    self.skip(depth)?;
                }
                Ok(())
            }
            Next::String => self.text().map(drop),
            Next::Number => self.number().map(drop),
            Next::True => self.literal(b"true"),
            Next::False => self.literal(b"false"),
            Next::Null => self.literal(b"null"),
        }
    }
}

/// One level deeper, unless that is too deep for the fast path.
pub(super) fn deeper(depth: usize) -> Result<usize, Stop> {
    if depth >= MAX_DEPTH {
        Err(Stop::Fallback)
    } else {
        Ok(depth + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(input: &str) -> Result<String, Stop> {
        Reader::new(input.as_bytes())
            .string()
            .map(|s| s.into_owned())
    }

    #[test]
    fn strings_unescape_as_serde_json_does() {
        for input in [
            r#""plain""#,
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u00e9\u2603\ud83d\ude00 é""#,
            r#""""#,
        ] {
            let expected: String = serde_json::from_str(input).unwrap();
            assert_eq!(string(input), Ok(expected), "{input}");
        }
        for refused in [r#""\ud800""#, r#""\udc00x""#, r#""\x""#, "\"a\u{1}\""] {
            assert_eq!(string(refused), Err(Stop::Fallback), "{refused}");
        }
        for cut in [r#""abc"#, r#""a\"#, r#""\u00"#, r#""\ud83d"#, r#""\ud83d\"#] {
            assert_eq!(string(cut), Err(Stop::Incomplete), "{cut}");
        }
    }

    #[test]
    fn numbers_follow_the_json_grammar() {
        for (input, integer) in [
            ("0 ", true),
            ("-0,", true),
            ("12}", true),
            ("1.5]", false),
            ("-2e10 ", false),
            ("3E+2 ", false),
        ] {
            let number = Reader::new(input.as_bytes()).number().unwrap();
            assert_eq!(number.text, input.trim_end_matches([' ', ',', '}', ']']));
            assert_eq!(number.integer, integer, "{input}");
        }
        for refused in ["01 ", "1. ", ".5 ", "+1 ", "1e ", "-a ", "1x"] {
            assert_eq!(
                Reader::new(refused.as_bytes()).number().map(|n| n.text),
                Err(Stop::Fallback),
                "{refused}"
            );
        }
        for cut in ["12", "-", "1.", "1e+"] {
            assert_eq!(
                Reader::new(cut.as_bytes()).number().map(|n| n.text),
                Err(Stop::Incomplete),
                "{cut}"
            );
        }
    }

    #[test]
    fn skipping_checks_the_value() {
        let text = br#"{"a": [1, {"b": null}, "x", true]} "#;
        let mut reader = Reader::new(text);
        reader.skip(0).unwrap();
        assert_eq!(reader.position(), text.len() - 1);
        for refused in [
            &br#"{"a": [1,]} "#[..],
            br#"{"a" 1} "#,
            br#"[1 2] "#,
            b"tru ",
        ] {
            assert_eq!(Reader::new(refused).skip(0), Err(Stop::Fallback));
        }
        assert_eq!(
            Reader::new(br#"{"a": [1, 2"#).skip(0),
            Err(Stop::Incomplete)
        );
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(Reader::new(deep.as_bytes()).skip(0), Err(Stop::Fallback));
    }
}
