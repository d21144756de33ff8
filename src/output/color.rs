//! Colored JSON for a person at a terminal: keys, strings, numbers and literals in their own
//! colors, as a serde_json formatter around the plain one, so the text is otherwise identical.

use std::io::{self, Write};

use serde_json::ser::Formatter;

const KEY: &[u8] = b"\x1b[1;34m";
const STRING: &[u8] = b"\x1b[32m";
const NUMBER: &[u8] = b"\x1b[36m";
const LITERAL: &[u8] = b"\x1b[35m";
const RESET: &[u8] = b"\x1b[0m";

pub struct ColorFormatter<F> {
    inner: F,
    in_key: bool,
}

impl<F> ColorFormatter<F> {
    pub fn new(inner: F) -> Self {
        ColorFormatter {
            inner,
            in_key: false,
        }
    }
}

macro_rules! colored_number {
    ($($name:ident: $ty:ty),*) => {
        $(
            fn $name<W: ?Sized + Write>(&mut self, writer: &mut W, value: $ty) -> io::Result<()> {
                writer.write_all(NUMBER)?;
                self.inner.$name(writer, value)?;
                writer.write_all(RESET)
            }
        )*
    };
}

impl<F: Formatter> Formatter for ColorFormatter<F> {
    colored_number!(
        write_i8: i8, write_i16: i16, write_i32: i32, write_i64: i64, write_i128: i128,
        write_u8: u8, write_u16: u16, write_u32: u32, write_u64: u64, write_u128: u128,
        write_f32: f32, write_f64: f64
    );

    fn write_number_str<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        value: &str,
    ) -> io::Result<()> {
        writer.write_all(NUMBER)?;
        self.inner.write_number_str(writer, value)?;
        writer.write_all(RESET)
    }

    fn write_null<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(LITERAL)?;
        self.inner.write_null(writer)?;
        writer.write_all(RESET)
    }

    fn write_bool<W: ?Sized + Write>(&mut self, writer: &mut W, value: bool) -> io::Result<()> {
        writer.write_all(LITERAL)?;
        self.inner.write_bool(writer, value)?;
        writer.write_all(RESET)
    }

    fn begin_string<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(if self.in_key { KEY } else { STRING })?;
        self.inner.begin_string(writer)
    }

    fn end_string<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_string(writer)?;
        writer.write_all(RESET)
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.inner.write_string_fragment(writer, fragment)
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        self.inner.write_char_escape(writer, escape)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.inner.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.in_key = true;
        self.inner.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.in_key = false;
        self.inner.end_object_key(writer)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.inner.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[test]
    fn keys_strings_numbers_and_literals_are_colored_and_nothing_else_changes() {
        let value = serde_json::json!({"name": "a", "n": 1.5, "ok": true, "none": null});
        let mut colored = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(
            &mut colored,
            ColorFormatter::new(serde_json::ser::CompactFormatter),
        );
        value.serialize(&mut serializer).unwrap();
        let colored = String::from_utf8(colored).unwrap();
        assert!(
            colored.contains("\x1b[1;34m\"name\"\x1b[0m:\x1b[32m\"a\"\x1b[0m"),
            "{colored}"
        );
        assert!(colored.contains("\x1b[36m1.5\x1b[0m"), "{colored}");
        assert!(colored.contains("\x1b[35mtrue\x1b[0m"), "{colored}");
        let plain: String = colored
            .replace("\x1b[1;34m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[36m", "")
            .replace("\x1b[35m", "")
            .replace("\x1b[0m", "");
        assert_eq!(plain, value.to_string());
    }
}
