//! Request metadata (`-H 'name: value'`), validated before anything is sent.
//!
//! gRPC metadata keys are lower-case ASCII tokens, must not start with `grpc-` (reserved for
//! the protocol itself), and carry text values of printable ASCII. A key ending in `-bin`
//! carries bytes; on the command line those are written in base64 and sent raw (tonic
//! base64-encodes them on the wire as the gRPC spec says).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
use tonic::metadata::{AsciiMetadataKey, BinaryMetadataKey, MetadataMap, MetadataValue};

/// One metadata entry given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Lower-cased key.
    pub name: String,
    pub value: HeaderValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Text(String),
    Binary(Vec<u8>),
}

impl Header {
    /// Adds this header to a request's metadata.
    pub fn insert_into(&self, metadata: &mut MetadataMap) {
        // The key and value were validated in `from_str`, so these conversions cannot fail;
        // a failure would still only skip the header, never panic.
        match &self.value {
            HeaderValue::Text(text) => {
                if let (Ok(key), Ok(value)) = (
                    AsciiMetadataKey::from_bytes(self.name.as_bytes()),
                    text.parse(),
                ) {
                    metadata.append(key, value);
                }
            }
            HeaderValue::Binary(bytes) => {
                if let Ok(key) = BinaryMetadataKey::from_bytes(self.name.as_bytes()) {
                    metadata.append_bin(key, MetadataValue::from_bytes(bytes));
                }
            }
        }
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            HeaderValue::Text(text) => write!(f, "{}: {text}", self.name),
            HeaderValue::Binary(bytes) => {
                write!(f, "{}: {}", self.name, STANDARD_NO_PAD.encode(bytes))
            }
        }
    }
}

impl FromStr for Header {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, value) = text.split_once(':').ok_or_else(|| {
            format!("`{text}` is not a header; write it as 'NAME: VALUE', e.g. 'x-user: ada'")
        })?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name.is_empty() {
            return Err(format!(
                "`{text}` has an empty header name; write 'NAME: VALUE'"
            ));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(format!(
                "header name `{name}` has the character {bad:?}; names may use only a-z, 0-9, '-', '_' and '.'"
            ));
        }
        if name.starts_with("grpc-") {
            return Err(format!(
                "header name `{name}` starts with `grpc-`, which gRPC reserves for itself; choose another name"
            ));
        }
        let value = if name.ends_with("-bin") {
            HeaderValue::Binary(decode_base64(value).ok_or_else(|| {
                format!("the value of binary header `{name}` must be base64 (keys ending in -bin carry bytes), got `{value}`")
            })?)
        } else {
            if let Some(bad) = value.chars().find(|c| !(' '..='~').contains(c)) {
                return Err(format!(
                    "the value of header `{name}` has the character {bad:?}; text values must be printable ASCII (use a key ending in -bin with base64 for bytes)"
                ));
            }
            HeaderValue::Text(value.to_string())
        };
        Ok(Header { name, value })
    }
}

/// Decodes standard or URL-safe base64, padded or not.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    standard
        .decode(text)
        .or_else(|_| url_safe.decode(text))
        .ok()
}

/// Encodes bytes for display, the way gRPC puts binary metadata on the wire.
pub fn encode_base64(bytes: &[u8]) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_header_is_lowercased_and_trimmed() {
        let header: Header = "X-User:  ada ".parse().unwrap();
        assert_eq!(header.name, "x-user");
        assert_eq!(header.value, HeaderValue::Text("ada".into()));
    }

    #[test]
    fn binary_header_accepts_every_base64_flavour() {
        for text in ["k-bin: +/8=", "k-bin: +/8", "k-bin: -_8", "k-bin: -_8="] {
            let header: Header = text.parse().unwrap();
            assert_eq!(
                header.value,
                HeaderValue::Binary(vec![0xfb, 0xff]),
                "{text}"
            );
        }
    }

    #[test]
    fn the_seed_rules_are_enforced() {
        assert!(
            "grpc-timeout: 1S"
                .parse::<Header>()
                .unwrap_err()
                .contains("reserves")
        );
        assert!(
            "no colon"
                .parse::<Header>()
                .unwrap_err()
                .contains("NAME: VALUE")
        );
        assert!(
            "bad key: v"
                .parse::<Header>()
                .unwrap_err()
                .contains("character ' '")
        );
        assert!(
            "k: caf\u{e9}"
                .parse::<Header>()
                .unwrap_err()
                .contains("printable ASCII")
        );
        assert!(
            "k-bin: !!"
                .parse::<Header>()
                .unwrap_err()
                .contains("base64")
        );
    }
}
