//! `google.api.http` rules: read from a method's options at run time, or from a service
//! config's `http: rules:` (`--http-rules`).
//!
//! The options are read from their encoding, not through the pool's types: a schema may lack
//! `google/api/annotations.proto` in its pool (its option types are stand-ins for calls, see
//! `schema::option_types`), and the encoding of field 72295728 of `MethodOptions` is the same
//! either way. The messages below are `google/api/http.proto`'s, by field number.

use prost::Message as _;
use prost_reflect::MethodDescriptor;

/// `google.api.http`, an extension of `google.protobuf.MethodOptions`.
const HTTP_EXTENSION: u32 = 72_295_728;

/// `google.api.HttpRule`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HttpRule {
    #[prost(string, tag = "1")]
    pub selector: String,
    #[prost(oneof = "Pattern", tags = "2, 3, 4, 5, 6, 8")]
    pub pattern: Option<Pattern>,
    #[prost(string, tag = "7")]
    pub body: String,
    #[prost(string, tag = "12")]
    pub response_body: String,
    #[prost(message, repeated, tag = "11")]
    pub additional_bindings: Vec<HttpRule>,
}

/// `google.api.HttpRule.pattern`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Pattern {
    #[prost(string, tag = "2")]
    Get(String),
    #[prost(string, tag = "3")]
    Put(String),
    #[prost(string, tag = "4")]
    Post(String),
    #[prost(string, tag = "5")]
    Delete(String),
    #[prost(string, tag = "6")]
    Patch(String),
    #[prost(message, tag = "8")]
    Custom(CustomHttpPattern),
}

/// `google.api.CustomHttpPattern`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CustomHttpPattern {
    #[prost(string, tag = "1")]
    pub kind: String,
    #[prost(string, tag = "2")]
    pub path: String,
}

/// Just the extension of `MethodOptions`, everything else skipped.
#[derive(Clone, PartialEq, prost::Message)]
struct MethodOptionsHttp {
    #[prost(message, optional, tag = "72295728")]
    http: Option<HttpRule>,
}

impl HttpRule {
    /// The HTTP method and path template, as written.
    pub fn method_and_path(&self) -> Option<(String, &str)> {
        Some(match self.pattern.as_ref()? {
            Pattern::Get(path) => ("GET".to_string(), path),
            Pattern::Put(path) => ("PUT".to_string(), path),
            Pattern::Post(path) => ("POST".to_string(), path),
            Pattern::Delete(path) => ("DELETE".to_string(), path),
            Pattern::Patch(path) => ("PATCH".to_string(), path),
            Pattern::Custom(custom) => (custom.kind.to_ascii_uppercase(), &custom.path),
        })
    }
}

/// The `google.api.http` rule of `method`, if its options carry one. A rule that does not
/// decode is reported as text, for the start-up warning.
pub fn of_method(method: &MethodDescriptor) -> Result<Option<HttpRule>, String> {
    let options = method.options();
    let encoded = options.encode_to_vec();
    if !carries_field(&encoded, HTTP_EXTENSION) {
        return Ok(None);
    }
    MethodOptionsHttp::decode(encoded.as_slice())
        .map(|options| options.http)
        .map_err(|error| format!("its google.api.http option does not decode: {error}"))
}

/// Whether the top level of an encoded message holds field `number` (a quick look, so that
/// methods without the option cost no decoding).
fn carries_field(encoded: &[u8], number: u32) -> bool {
    let mut rest = encoded;
    while !rest.is_empty() {
        let Ok(key) = prost::encoding::decode_varint(&mut rest) else {
            return false;
        };
        if key >> 3 == u64::from(number) {
            return true;
        }
        let skipped = match key & 7 {
            0 => prost::encoding::decode_varint(&mut rest).map(|_| 0),
            1 => Ok(8),
            2 => prost::encoding::decode_varint(&mut rest),
            5 => Ok(4),
            _ => return false,
        };
        let Ok(skipped) = skipped else {
            return false;
        };
        let Some(after) = usize::try_from(skipped)
            .ok()
            .and_then(|skipped| rest.get(skipped..))
        else {
            return false;
        };
        rest = after;
    }
    false
}

/// A service config's rules file, as `--http-rules` reads it: only `http.rules` matters.
#[derive(Debug, serde::Deserialize)]
struct ServiceConfig {
    http: Option<HttpSection>,
}

#[derive(Debug, serde::Deserialize)]
struct HttpSection {
    #[serde(default)]
    rules: Vec<RuleText>,
}

/// One rule as YAML writes it (`selector`, one of `get`/`put`/`post`/`delete`/`patch`/
/// `custom`, `body`, `response_body`, `additional_bindings`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleText {
    #[serde(default)]
    selector: String,
    get: Option<String>,
    put: Option<String>,
    post: Option<String>,
    delete: Option<String>,
    patch: Option<String>,
    custom: Option<CustomText>,
    #[serde(default)]
    body: String,
    #[serde(default, alias = "responseBody")]
    response_body: String,
    #[serde(default, alias = "additionalBindings")]
    additional_bindings: Vec<RuleText>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomText {
    kind: String,
    path: String,
}

impl RuleText {
    fn into_rule(self) -> Result<HttpRule, String> {
        let mut patterns = Vec::new();
        let mut add = |pattern: Option<Pattern>| patterns.extend(pattern);
        add(self.get.map(Pattern::Get));
        add(self.put.map(Pattern::Put));
        add(self.post.map(Pattern::Post));
        add(self.delete.map(Pattern::Delete));
        add(self.patch.map(Pattern::Patch));
        add(self.custom.map(|custom| {
            Pattern::Custom(CustomHttpPattern {
                kind: custom.kind,
                path: custom.path,
            })
        }));
        let selector = self.selector;
        let what = if selector.is_empty() {
            "an additional binding".to_string()
        } else {
            format!("the rule for `{selector}`")
        };
        if patterns.len() > 1 {
            return Err(format!(
                "{what} names more than one of get, put, post, delete, patch and custom"
            ));
        }
        let Some(pattern) = patterns.pop() else {
            return Err(format!(
                "{what} names none of get, put, post, delete, patch and custom"
            ));
        };
        let additional_bindings = self
            .additional_bindings
            .into_iter()
            .map(RuleText::into_rule)
            .collect::<Result<_, _>>()?;
        Ok(HttpRule {
            selector,
            pattern: Some(pattern),
            body: self.body,
            response_body: self.response_body,
            additional_bindings,
        })
    }
}

/// The rules of a service config in YAML (`http: rules: [...]`). Each rule names its method
/// by `selector` (`pkg.Service.Method`).
pub fn from_yaml(text: &str) -> Result<Vec<HttpRule>, String> {
    let config: ServiceConfig = serde_yaml_ng::from_str(text).map_err(|error| error.to_string())?;
    let rules = config.http.map(|http| http.rules).unwrap_or_default();
    let mut parsed = Vec::with_capacity(rules.len());
    for rule in rules {
        if rule.selector.is_empty() {
            return Err("a rule has no `selector` (the method, as `pkg.Service.Method`)".into());
        }
        parsed.push(rule.into_rule()?);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_config_reads_as_rules() {
        let rules = from_yaml(
            r#"
type: google.api.Service
config_version: 3
http:
  rules:
  - selector: pkg.Items.Get
    get: /v1/items/{id}
    additional_bindings:
    - get: /v1/things/{id}
  - selector: pkg.Items.Create
    post: /v1/items
    body: item
    response_body: item
  - selector: pkg.Items.Head
    custom:
      kind: head
      path: /v1/items/{id}
"#,
        )
        .unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(
            rules[0].method_and_path(),
            Some(("GET".to_string(), "/v1/items/{id}"))
        );
        assert_eq!(
            rules[0].additional_bindings[0].method_and_path(),
            Some(("GET".to_string(), "/v1/things/{id}"))
        );
        assert_eq!(
            (rules[1].body.as_str(), rules[1].response_body.as_str()),
            ("item", "item")
        );
        assert_eq!(
            rules[2].method_and_path(),
            Some(("HEAD".to_string(), "/v1/items/{id}"))
        );
    }

    #[test]
    fn rules_files_that_are_wrong_say_what_is_wrong() {
        let error = |text| from_yaml(text).unwrap_err();
        assert!(
            error("http:\n  rules:\n  - get: /x\n").contains("no `selector`"),
            "{}",
            error("http:\n  rules:\n  - get: /x\n")
        );
        assert_eq!(
            error("http:\n  rules:\n  - selector: a.B.C\n    get: /x\n    post: /y\n"),
            "the rule for `a.B.C` names more than one of get, put, post, delete, patch and custom"
        );
        assert_eq!(
            error("http:\n  rules:\n  - selector: a.B.C\n"),
            "the rule for `a.B.C` names none of get, put, post, delete, patch and custom"
        );
        assert!(error("http:\n  rules:\n  - selector: a.B.C\n    gett: /x\n").contains("gett"));
        assert!(from_yaml("type: google.api.Service\n").unwrap().is_empty());
    }

    #[test]
    fn an_encoded_option_is_found_among_others() {
        let rule = HttpRule {
            pattern: Some(Pattern::Get("/v1/x".into())),
            ..HttpRule::default()
        };
        let mut encoded = Vec::new();
        // deprecated = true (field 33), then the extension.
        encoded.extend_from_slice(&[0x88, 0x02, 0x01]);
        MethodOptionsHttp {
            http: Some(rule.clone()),
        }
        .encode(&mut encoded)
        .unwrap();
        assert!(carries_field(&encoded, HTTP_EXTENSION));
        assert!(!carries_field(&[0x88, 0x02, 0x01], HTTP_EXTENSION));
        assert!(!carries_field(&[0xff], HTTP_EXTENSION));
        assert_eq!(
            MethodOptionsHttp::decode(encoded.as_slice()).unwrap().http,
            Some(rule)
        );
    }
}
