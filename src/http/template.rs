//! Path templates of `google.api.http` rules: parsed once, matched against request paths.
//!
//! The grammar is the one in `google/api/http.proto`:
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb     = ":" LITERAL ;
//! ```
//!
//! `{field}` is `{field=*}`; `**` matches zero or more segments and may only come last (before
//! the verb); variables do not nest. A variable that spans one segment is percent-decoded
//! completely; one that spans more keeps `%2F` encoded, so that a `/` inside a segment stays
//! told apart from the separators (the spec's rule). axum's router cannot express this, so
//! the matcher is our own, in the manner of grpc-gateway's: segment by segment, no
//! backtracking, because `**` is last.

use std::fmt;

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Matches exactly this text (compared after percent-decoding the request's segment).
    Literal(String),
    /// `*`: any one segment.
    One,
    /// `**`: zero or more segments; only last.
    Rest,
}

/// A variable: a field path and the segments it spans, `start..end` in `segments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// `a.b.c`, as written.
    pub field_path: Vec<String>,
    pub start: usize,
    pub end: usize,
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub segments: Vec<Segment>,
    pub variables: Vec<Variable>,
    /// The custom verb after `:` in the last segment, if any.
    pub verb: Option<String>,
    /// The template as written, for route tables and messages.
    pub text: String,
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path template `{template}`: {reason}")]
pub struct TemplateError {
    pub template: String,
    pub reason: String,
}

/// What a matched path binds: each variable's field path and its decoded value.
pub type Bindings = Vec<(Vec<String>, String)>;

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let fail = |reason: &str| TemplateError {
            template: text.to_string(),
            reason: reason.to_string(),
        };
        let Some(rest) = text.strip_prefix('/') else {
            return Err(fail("it must start with `/`"));
        };
        let mut parser = Parser {
            text: rest.as_bytes(),
            at: 0,
            segments: Vec::new(),
            variables: Vec::new(),
        };
        // `/` alone is the root: no segments.
        if !rest.is_empty() {
            parser.segments(false).map_err(|reason| fail(&reason))?;
        }
        let verb = if parser.peek() == Some(b':') {
            parser.at += 1;
            let verb = parser.literal();
            if verb.is_empty() {
                return Err(fail("`:` must be followed by a verb"));
            }
            Some(verb)
        } else {
            None
        };
        if parser.at != parser.text.len() {
            let found = char::from(parser.text.get(parser.at).copied().unwrap_or(b' '));
            return Err(fail(&format!(
                "unexpected `{found}` at byte {}",
                parser.at + 2
            )));
        }
        let Parser {
            segments,
            variables,
            ..
        } = parser;
        if let Some(at) = segments.iter().position(|s| *s == Segment::Rest)
            && at + 1 != segments.len()
        {
            return Err(fail("`**` may only be the last segment"));
        }
        for (index, variable) in variables.iter().enumerate() {
            if variables
                .iter()
                .take(index)
                .any(|other| other.field_path == variable.field_path)
            {
                return Err(fail(&format!(
                    "the field `{}` is bound twice",
                    variable.field_path.join(".")
                )));
            }
        }
        Ok(Template {
            segments,
            variables,
            verb,
            text: text.to_string(),
        })
    }

    /// The template with variables shown as the segments they match (`/v1/*/x`): two
    /// templates with the same shape match the same paths.
    pub fn shape(&self) -> String {
        let mut shape = String::new();
        for segment in &self.segments {
            shape.push('/');
            match segment {
                Segment::Literal(text) => shape.push_str(text),
                Segment::One => shape.push('*'),
                Segment::Rest => shape.push_str("**"),
            }
        }
        if self.segments.is_empty() {
            shape.push('/');
        }
        if let Some(verb) = &self.verb {
            shape.push(':');
            shape.push_str(verb);
        }
        shape
    }

    /// Matches a request path (without its query string). `None` when it does not match, or
    /// when it holds a percent-escape that does not decode to UTF-8.
    pub fn matches(&self, path: &str) -> Option<Bindings> {
        let path = path.strip_prefix('/')?;
        let path = match &self.verb {
            Some(verb) => path.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => path,
        };
        // `/` alone is no segment at all; otherwise every `/` separates two (maybe empty) ones.
        let parts: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        // Where each template segment's match starts in `parts`; one more for the end.
        let mut starts = Vec::with_capacity(self.segments.len() + 1);
        let mut at = 0;
        for segment in &self.segments {
            starts.push(at);
            match segment {
                Segment::Literal(literal) => {
                    let part = parts.get(at)?;
                    if decode(part, false)? != *literal {
                        return None;
                    }
                    at += 1;
                }
                Segment::One => {
                    parts.get(at)?;
                    at += 1;
                }
                Segment::Rest => at = parts.len(),
            }
        }
        if at != parts.len() {
            return None;
        }
        starts.push(at);
        let mut bindings = Vec::with_capacity(self.variables.len());
        for variable in &self.variables {
            let from = *starts.get(variable.start)?;
            let to = *starts.get(variable.end)?;
            let spanned = parts.get(from..to)?;
            let multi_segment = variable.end - variable.start > 1
                || self.segments.get(variable.start) == Some(&Segment::Rest);
            let value = if multi_segment {
                decode(&spanned.join("/"), true)?
            } else {
                decode(spanned.first()?, false)?
            };
            bindings.push((variable.field_path.clone(), value));
        }
        Some(bindings)
    }

    /// How specific the template is, for choosing between two that both match a path:
    /// compared segment by segment, a literal beats `*`, which beats `**`; then a verb beats
    /// none. Templates with the same shape compare equal (a conflict, reported at start-up).
    pub fn specificity(&self) -> (Vec<u8>, bool) {
        let ranks = self
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(_) => 3,
                Segment::One => 2,
                Segment::Rest => 1,
            })
            .collect();
        (ranks, self.verb.is_some())
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A template being read, one byte at a time.
struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    /// `Segment { "/" Segment }`, inside a variable or not.
    fn segments(&mut self, in_variable: bool) -> Result<(), String> {
        loop {
            self.segment(in_variable)?;
            if self.peek() == Some(b'/') {
                self.at += 1;
            } else {
                return Ok(());
            }
        }
    }

    fn segment(&mut self, in_variable: bool) -> Result<(), String> {
        match self.peek() {
            Some(b'*') => {
                self.at += 1;
                if self.peek() == Some(b'*') {
                    self.at += 1;
                    self.segments.push(Segment::Rest);
                } else {
                    self.segments.push(Segment::One);
                }
                Ok(())
            }
            Some(b'{') if in_variable => Err("variables cannot nest".to_string()),
            Some(b'{') => self.variable(),
            _ => {
                let literal = self.literal();
                if literal.is_empty() {
                    let found = self.peek().map_or("the end".to_string(), |byte| {
                        format!("`{}`", char::from(byte))
                    });
                    return Err(format!(
                        "a segment is empty or starts with {found} at byte {}",
                        self.at + 2
                    ));
                }
                self.segments.push(Segment::Literal(literal));
                Ok(())
            }
        }
    }

    /// `"{" FieldPath [ "=" Segments ] "}"`, the `{` not yet read.
    fn variable(&mut self) -> Result<(), String> {
        self.at += 1;
        let mut field_path = Vec::new();
        loop {
            let start = self.at;
            while self
                .peek()
                .is_some_and(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
            {
                self.at += 1;
            }
            let name = std::str::from_utf8(self.text.get(start..self.at).unwrap_or_default())
                .unwrap_or_default();
            if name.is_empty() || name.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                return Err(format!(
                    "a variable needs a field name at byte {}",
                    start + 2
                ));
            }
            field_path.push(name.to_string());
            if self.peek() == Some(b'.') {
                self.at += 1;
            } else {
                break;
            }
        }
        let start = self.segments.len();
        if self.peek() == Some(b'=') {
            self.at += 1;
            self.segments(true)?;
        } else {
            self.segments.push(Segment::One);
        }
        if self.peek() != Some(b'}') {
            return Err(format!(
                "the variable `{}` is not closed with `}}`",
                field_path.join(".")
            ));
        }
        self.at += 1;
        self.variables.push(Variable {
            field_path,
            start,
            end: self.segments.len(),
        });
        Ok(())
    }

    /// A literal: everything up to `/`, `:`, `{`, `}`, `*` or `=`.
    fn literal(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|byte| !matches!(byte, b'/' | b':' | b'{' | b'}' | b'*' | b'='))
        {
            self.at += 1;
        }
        String::from_utf8_lossy(self.text.get(start..self.at).unwrap_or_default()).into_owned()
    }
}

/// Percent-decodes `text`; with `keep_slashes`, `%2F` and `%2f` stay as they are. `None` when
/// the result is not UTF-8. A `%` not followed by two hex digits is kept as it is.
pub fn decode(text: &str, keep_slashes: bool) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let escaped = match (byte, bytes.get(at + 1), bytes.get(at + 2)) {
            (b'%', Some(&high), Some(&low)) => hex(high).zip(hex(low)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match escaped {
            Some(b'/') if keep_slashes => {
                decoded.extend_from_slice(bytes.get(at..at + 3)?);
                at += 3;
            }
            Some(value) => {
                decoded.push(value);
                at += 3;
            }
            None => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        let template = Template::parse(template).unwrap();
        template.matches(path).map(|bindings| {
            bindings
                .into_iter()
                .map(|(field, value)| (field.join("."), value))
                .collect()
        })
    }

    fn pairs(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            pairs
                .iter()
                .map(|(field, value)| (field.to_string(), value.to_string()))
                .collect(),
        )
    }

    #[test]
    fn literals_and_single_variables() {
        assert_eq!(bound("/v1/items", "/v1/items"), pairs(&[]));
        assert_eq!(bound("/v1/items", "/v1/items/"), None);
        assert_eq!(bound("/v1/items", "/v1/item"), None);
        assert_eq!(
            bound("/v1/items/{id}", "/v1/items/3"),
            pairs(&[("id", "3")])
        );
        assert_eq!(bound("/v1/items/{id}", "/v1/items"), None);
        assert_eq!(bound("/v1/items/{id}", "/v1/items/3/4"), None);
        assert_eq!(
            bound("/v1/{a}/{b.c}", "/v1/x/y"),
            pairs(&[("a", "x"), ("b.c", "y")])
        );
        // An empty segment is still a segment.
        assert_eq!(bound("/v1/items/{id}", "/v1/items/"), pairs(&[("id", "")]));
        assert_eq!(bound("/", "/"), pairs(&[]));
        assert_eq!(bound("/", "/x"), None);
    }

    #[test]
    fn wildcards_and_rest() {
        assert_eq!(bound("/v1/*/x", "/v1/anything/x"), pairs(&[]));
        assert_eq!(bound("/v1/*/x", "/v1/x"), None);
        assert_eq!(bound("/v1/**", "/v1"), pairs(&[]));
        assert_eq!(bound("/v1/**", "/v1/a/b/c"), pairs(&[]));
        assert_eq!(
            bound("/v1/{name=shelves/*/books/*}", "/v1/shelves/1/books/2"),
            pairs(&[("name", "shelves/1/books/2")])
        );
        assert_eq!(
            bound("/v1/{name=shelves/*/books/*}", "/v1/shelves/1/books"),
            None
        );
        assert_eq!(
            bound("/v1/{name=files/**}", "/v1/files/a/b/c.txt"),
            pairs(&[("name", "files/a/b/c.txt")])
        );
        assert_eq!(
            bound("/v1/{name=files/**}", "/v1/files"),
            pairs(&[("name", "files")])
        );
        assert_eq!(bound("/{path=**}", "/a/b"), pairs(&[("path", "a/b")]));
        assert_eq!(bound("/{path=**}", "/"), pairs(&[("path", "")]));
        assert_eq!(
            bound("/v1/{a=x/*}/{b}/**", "/v1/x/1/2/3/4"),
            pairs(&[("a", "x/1"), ("b", "2")])
        );
    }

    #[test]
    fn verbs() {
        assert_eq!(
            bound("/v1/items:batchCreate", "/v1/items:batchCreate"),
            pairs(&[])
        );
        assert_eq!(bound("/v1/items:batchCreate", "/v1/items"), None);
        assert_eq!(bound("/v1/items", "/v1/items:batchCreate"), None);
        assert_eq!(
            bound("/v1/{name=items/*}:undelete", "/v1/items/7:undelete"),
            pairs(&[("name", "items/7")])
        );
        assert_eq!(
            bound("/v1/{id}:cancel", "/v1/a:b:cancel"),
            pairs(&[("id", "a:b")])
        );
        assert_eq!(bound("/v1/**:run", "/v1/a/b:run"), pairs(&[]));
        // Without a verb in the template, a colon is part of the segment.
        assert_eq!(bound("/v1/{id}", "/v1/a:b"), pairs(&[("id", "a:b")]));
    }

    #[test]
    fn percent_decoding_follows_the_spec() {
        assert_eq!(bound("/v1/{id}", "/v1/a%20b"), pairs(&[("id", "a b")]));
        assert_eq!(bound("/v1/{id}", "/v1/a%2Fb"), pairs(&[("id", "a/b")]));
        assert_eq!(bound("/v1/{id}", "/v1/caf%C3%A9"), pairs(&[("id", "café")]));
        // Multi-segment variables keep `%2F` encoded, decode the rest.
        assert_eq!(
            bound("/v1/{name=files/**}", "/v1/files/a%2Fb/c%20d"),
            pairs(&[("name", "files/a%2Fb/c d")])
        );
        assert_eq!(
            bound("/v1/{name=a/*}", "/v1/a/x%2fy"),
            pairs(&[("name", "a/x%2fy")])
        );
        // Literals compare decoded; a stray `%` is kept; invalid UTF-8 does not match.
        assert_eq!(bound("/v1/items", "/v1/it%65ms"), pairs(&[]));
        assert_eq!(bound("/v1/{id}", "/v1/100%"), pairs(&[("id", "100%")]));
        assert_eq!(bound("/v1/{id}", "/v1/%zz"), pairs(&[("id", "%zz")]));
        assert_eq!(bound("/v1/{id}", "/v1/%FF"), None);
    }

    #[test]
    fn templates_that_do_not_parse_say_why() {
        for (template, reason) in [
            ("v1/items", "it must start with `/`"),
            ("/v1/**/x", "`**` may only be the last segment"),
            ("/v1/{a={b}}", "variables cannot nest"),
            ("/v1/{a", "the variable `a` is not closed with `}`"),
            ("/v1/{}", "a variable needs a field name at byte 6"),
            ("/v1/{1a}", "a variable needs a field name at byte 6"),
            ("/v1//x", "a segment is empty or starts with `/` at byte 5"),
            ("/v1/x:", "`:` must be followed by a verb"),
            ("/v1/{a}/{a}", "the field `a` is bound twice"),
            ("/v1/x}", "unexpected `}` at byte 6"),
            (
                "/v1/",
                "a segment is empty or starts with the end at byte 5",
            ),
        ] {
            assert_eq!(
                Template::parse(template).unwrap_err().reason,
                reason,
                "{template}"
            );
        }
    }

    #[test]
    fn shapes_and_specificity() {
        let shape = |text| Template::parse(text).unwrap().shape();
        assert_eq!(shape("/v1/{id}"), "/v1/*");
        assert_eq!(shape("/v1/{name=a/*/b/**}:go"), "/v1/a/*/b/**:go");
        assert_eq!(shape("/v1/{x}"), shape("/v1/*"));
        assert_eq!(shape("/"), "/");
        let specific = |text| Template::parse(text).unwrap().specificity();
        assert!(specific("/v1/items/special") > specific("/v1/items/{id}"));
        assert!(specific("/v1/items/{id}") > specific("/v1/items/**"));
        assert!(specific("/v1/x:go") > specific("/v1/x"));
    }
}
