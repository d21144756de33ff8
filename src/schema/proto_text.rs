//! Descriptors as proto source: one element for `describe` (like `grpcurl describe`, with the
//! comments and options the schema carries), or whole files for `--proto-out-dir`, which
//! protoc and protox compile back to equivalent descriptors.
//!
//! Type names are written fully qualified with a leading dot, so a file reads the same
//! wherever it is imported from. Options are written from the descriptors' decoded options,
//! custom (extension) options included. Not written: proto2 groups (written as the message
//! fields they are on the wire) and editions features beyond the `edition` line.

use std::fmt::Write as _;

use prost_reflect::{
    Cardinality, DynamicMessage, EnumDescriptor, EnumValueDescriptor, ExtensionDescriptor,
    FieldDescriptor, FileDescriptor, Kind, MapKey, MessageDescriptor, MethodDescriptor,
    OneofDescriptor, ServiceDescriptor, Syntax, Value,
};

use super::Symbol;

const INDENT: &str = "  ";

/// A description of `symbol`: a comment line saying what it is, then its proto source.
pub fn describe(symbol: &Symbol) -> String {
    let mut out = String::new();
    let kind = match symbol {
        Symbol::Service(_) => "a service",
        Symbol::Method(_) => "a method",
        Symbol::Message(_) => "a message",
        Symbol::Field(_) => "a field",
        Symbol::Oneof(_) => "a oneof",
        Symbol::Enum(_) => "an enum",
        Symbol::EnumValue(_) => "an enum value",
    };
    let _ = writeln!(
        out,
        "// {} is {kind} in {}",
        symbol.full_name(),
        symbol.parent_file().name()
    );
    match symbol {
        Symbol::Service(d) => service(&mut out, d, 0),
        Symbol::Method(d) => method(&mut out, d, 0),
        Symbol::Message(d) => message(&mut out, d, 0),
        Symbol::Field(d) => field(&mut out, d, 0),
        Symbol::Oneof(d) => oneof(&mut out, d, 0),
        Symbol::Enum(d) => enumeration(&mut out, d, 0),
        Symbol::EnumValue(d) => enum_value(&mut out, d, 0),
    }
    out
}

/// A whole file as proto source.
pub fn file(file: &FileDescriptor) -> String {
    let mut out = String::new();
    let proto = file.file_descriptor_proto();
    let _ = writeln!(
        out,
        "// {}: written by grpcx from the descriptors it read.",
        file.name()
    );
    match proto.syntax() {
        // The descriptor types grpcx reads do not say which edition; 2023 is the only one
        // protobuf has released.
        "editions" => out.push_str("edition = \"2023\";\n"),
        "proto3" => out.push_str("syntax = \"proto3\";\n"),
        _ => out.push_str("syntax = \"proto2\";\n"),
    }
    if !file.package_name().is_empty() {
        let _ = writeln!(out, "\npackage {};", file.package_name());
    }
    if !proto.dependency.is_empty() {
        out.push('\n');
    }
    for (index, dependency) in proto.dependency.iter().enumerate() {
        let index = i32::try_from(index).unwrap_or(i32::MAX);
        let modifier = if proto.public_dependency.contains(&index) {
            "public "
        } else if proto.weak_dependency.contains(&index) {
            "weak "
        } else {
            ""
        };
        let _ = writeln!(out, "import {modifier}{};", quote(dependency.as_bytes()));
    }
    let file_options = option_statements(&file.options(), 0);
    if !file_options.is_empty() {
        out.push('\n');
        out.push_str(&file_options);
    }
    for s in file.services() {
        out.push('\n');
        service(&mut out, &s, 0);
    }
    for m in file.messages() {
        out.push('\n');
        message(&mut out, &m, 0);
    }
    for e in file.enums() {
        out.push('\n');
        enumeration(&mut out, &e, 0);
    }
    extensions(&mut out, file.extensions().collect(), 0);
    out
}

fn service(out: &mut String, service: &ServiceDescriptor, depth: usize) {
    comments(out, &service.parent_file(), service.path(), depth);
    let pad = INDENT.repeat(depth);
    let _ = writeln!(out, "{pad}service {} {{", service.name());
    out.push_str(&option_statements(&service.options(), depth + 1));
    for m in service.methods() {
        method(out, &m, depth + 1);
    }
    let _ = writeln!(out, "{pad}}}");
}

fn method(out: &mut String, method: &MethodDescriptor, depth: usize) {
    comments(out, &method.parent_file(), method.path(), depth);
    let stream = |yes: bool| if yes { "stream " } else { "" };
    let pad = INDENT.repeat(depth);
    let signature = format!(
        "{pad}rpc {}({}.{}) returns ({}.{})",
        method.name(),
        stream(method.is_client_streaming()),
        method.input().full_name(),
        stream(method.is_server_streaming()),
        method.output().full_name(),
    );
    let options = option_statements(&method.options(), depth + 1);
    if options.is_empty() {
        let _ = writeln!(out, "{signature};");
    } else {
        let _ = writeln!(out, "{signature} {{\n{options}{pad}}}");
    }
}

fn message(out: &mut String, message: &MessageDescriptor, depth: usize) {
    comments(out, &message.parent_file(), message.path(), depth);
    let pad = INDENT.repeat(depth);
    let _ = writeln!(out, "{pad}message {} {{", message.name());
    out.push_str(&option_statements(&message.options(), depth + 1));
    for nested in message.child_messages().filter(|m| !m.is_map_entry()) {
        self::message(out, &nested, depth + 1);
    }
    for nested in message.child_enums() {
        enumeration(out, &nested, depth + 1);
    }
    // In declaration order (descriptors list fields by number).
    let declared: Vec<FieldDescriptor> = message
        .descriptor_proto()
        .field
        .iter()
        .filter_map(|f| message.get_field_by_name(f.name()))
        .collect();
    let mut written_oneofs = std::collections::HashSet::new();
    for f in declared {
        match f.containing_oneof() {
            Some(o) if !o.is_synthetic() => {
                // A real oneof is written once, at its first declared field.
                if written_oneofs.insert(o.name().to_string()) {
                    oneof(out, &o, depth + 1);
                }
            }
            _ => field(out, &f, depth + 1),
        }
    }
    let proto = message.descriptor_proto();
    let inner = INDENT.repeat(depth + 1);
    let ranges = proto
        .extension_range
        .iter()
        .map(|r| range(r.start(), r.end()));
    list_statement(out, &inner, "extensions", ranges);
    let reserved = proto
        .reserved_range
        .iter()
        .map(|r| range(r.start(), r.end()));
    list_statement(out, &inner, "reserved", reserved);
    let names = proto.reserved_name.iter().map(|n| quote(n.as_bytes()));
    list_statement(out, &inner, "reserved", names);
    extensions(out, message.child_extensions().collect(), depth + 1);
    let _ = writeln!(out, "{pad}}}");
}

/// `KEYWORD a, b, c;` when there is anything to list.
fn list_statement(out: &mut String, pad: &str, keyword: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if !items.is_empty() {
        let _ = writeln!(out, "{pad}{keyword} {};", items.join(", "));
    }
}

/// A range as proto source: descriptors store end-exclusive ends, source is inclusive.
fn range(start: i32, end: i32) -> String {
    let last = end - 1;
    if start == last {
        start.to_string()
    } else if last >= 536_870_911 {
        format!("{start} to max")
    } else {
        format!("{start} to {last}")
    }
}

fn oneof(out: &mut String, oneof: &OneofDescriptor, depth: usize) {
    let file = oneof.parent_message().parent_file();
    comments(out, &file, oneof.path(), depth);
    let pad = INDENT.repeat(depth);
    let _ = writeln!(out, "{pad}oneof {} {{", oneof.name());
    out.push_str(&option_statements(&oneof.options(), depth + 1));
    let message = oneof.parent_message();
    let declared = message
        .descriptor_proto()
        .field
        .iter()
        .filter_map(|f| message.get_field_by_name(f.name()))
        .filter(|f| f.containing_oneof().as_ref() == Some(oneof));
    for f in declared {
        field(out, &f, depth + 1);
    }
    let _ = writeln!(out, "{pad}}}");
}

fn field(out: &mut String, field: &FieldDescriptor, depth: usize) {
    comments(out, &field.parent_file(), field.path(), depth);
    let proto = field.field_descriptor_proto();
    let label = label(
        field.parent_file().syntax(),
        field.cardinality(),
        field.is_map(),
        field.containing_oneof().is_some_and(|o| !o.is_synthetic()),
        proto.proto3_optional(),
    );
    let type_name = if field.is_map() {
        match field.kind() {
            Kind::Message(entry) => format!(
                "map<{}, {}>",
                kind_name(&entry.map_entry_key_field().kind()),
                kind_name(&entry.map_entry_value_field().kind())
            ),
            other => kind_name(&other),
        }
    } else {
        kind_name(&field.kind())
    };
    let mut options = Vec::new();
    if let Some(default) = &proto.default_value {
        options.push(format!(
            "default = {}",
            default_value(&field.kind(), default)
        ));
    }
    if proto
        .json_name
        .as_deref()
        .is_some_and(|json| json != camel_case(field.name()))
    {
        options.push(format!(
            "json_name = {}",
            quote(field.json_name().as_bytes())
        ));
    }
    options.extend(option_list(&field.options()));
    let _ = writeln!(
        out,
        "{}{label}{type_name} {} = {}{};",
        INDENT.repeat(depth),
        field.name(),
        field.number(),
        bracketed(&options)
    );
}

fn label(
    syntax: Syntax,
    cardinality: Cardinality,
    is_map: bool,
    in_oneof: bool,
    proto3_optional: bool,
) -> &'static str {
    match (syntax, cardinality) {
        _ if is_map || in_oneof => "",
        (_, Cardinality::Repeated) => "repeated ",
        (Syntax::Proto2, Cardinality::Required) => "required ",
        (Syntax::Proto2, _) => "optional ",
        _ if proto3_optional => "optional ",
        _ => "",
    }
}

fn extensions(out: &mut String, extensions: Vec<ExtensionDescriptor>, depth: usize) {
    let pad = INDENT.repeat(depth);
    let mut remaining = extensions.as_slice();
    while let Some(first) = remaining.first() {
        let extendee = first.containing_message();
        let group = remaining
            .iter()
            .take_while(|e| e.containing_message() == extendee)
            .count();
        if depth == 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{pad}extend .{} {{", extendee.full_name());
        let (group, rest) = remaining.split_at(group);
        for extension in group {
            let proto = extension.field_descriptor_proto();
            let label = label(
                extension.parent_file().syntax(),
                extension.cardinality(),
                false,
                false,
                proto.proto3_optional(),
            );
            let mut options = Vec::new();
            if let Some(default) = &proto.default_value {
                options.push(format!(
                    "default = {}",
                    default_value(&extension.kind(), default)
                ));
            }
            options.extend(option_list(&extension.options()));
            let _ = writeln!(
                out,
                "{pad}{INDENT}{label}{} {} = {}{};",
                kind_name(&extension.kind()),
                extension.name(),
                extension.number(),
                bracketed(&options)
            );
        }
        let _ = writeln!(out, "{pad}}}");
        remaining = rest;
    }
}

fn enumeration(out: &mut String, enumeration: &EnumDescriptor, depth: usize) {
    comments(out, &enumeration.parent_file(), enumeration.path(), depth);
    let pad = INDENT.repeat(depth);
    let _ = writeln!(out, "{pad}enum {} {{", enumeration.name());
    out.push_str(&option_statements(&enumeration.options(), depth + 1));
    let proto = enumeration.enum_descriptor_proto();
    // In declaration order: aliases must follow the value they alias.
    for value in proto
        .value
        .iter()
        .filter_map(|v| enumeration.get_value_by_name(v.name()))
    {
        enum_value(out, &value, depth + 1);
    }
    let inner = INDENT.repeat(depth + 1);
    // Enum reserved ranges are end-inclusive already.
    let reserved = proto
        .reserved_range
        .iter()
        .map(|r| range(r.start(), r.end().saturating_add(1)));
    list_statement(out, &inner, "reserved", reserved);
    let names = proto.reserved_name.iter().map(|n| quote(n.as_bytes()));
    list_statement(out, &inner, "reserved", names);
    let _ = writeln!(out, "{pad}}}");
}

fn enum_value(out: &mut String, value: &EnumValueDescriptor, depth: usize) {
    comments(out, &value.parent_enum().parent_file(), value.path(), depth);
    let _ = writeln!(
        out,
        "{}{} = {}{};",
        INDENT.repeat(depth),
        value.name(),
        value.number(),
        bracketed(&option_list(&value.options()))
    );
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => format!(".{}", m.full_name()),
        Kind::Enum(e) => format!(".{}", e.full_name()),
    }
}

/// A proto2 default as source: descriptors keep strings raw, bytes C-escaped, and the rest
/// as they are written.
fn default_value(kind: &Kind, stored: &str) -> String {
    match kind {
        Kind::String => quote(stored.as_bytes()),
        Kind::Bytes => format!("\"{stored}\""),
        _ => stored.to_string(),
    }
}

/// The lowerCamelCase JSON name protoc derives from a field name.
fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn bracketed(options: &[String]) -> String {
    if options.is_empty() {
        String::new()
    } else {
        format!(" [{}]", options.join(", "))
    }
}

/// The options set in `options` as `option NAME = VALUE;` lines.
fn option_statements(options: &DynamicMessage, depth: usize) -> String {
    let pad = INDENT.repeat(depth);
    option_list(options)
        .into_iter()
        .map(|option| format!("{pad}option {option};\n"))
        .collect()
}

/// The options set in `options` as `NAME = VALUE` entries; a repeated option gives one entry
/// per element.
fn option_list(options: &DynamicMessage) -> Vec<String> {
    let mut entries = Vec::new();
    for (field, value) in options.fields() {
        // Uninterpreted options never survive compilation; map_entry is implied by `map<>`.
        if matches!(field.name(), "uninterpreted_option" | "map_entry") {
            continue;
        }
        push_option(&mut entries, field.name().to_string(), &field.kind(), value);
    }
    for (extension, value) in options.extensions() {
        push_option(
            &mut entries,
            format!("({})", extension.full_name()),
            &extension.kind(),
            value,
        );
    }
    entries
}

fn push_option(entries: &mut Vec<String>, name: String, kind: &Kind, value: &Value) {
    match value {
        Value::List(items) => {
            for item in items {
                entries.push(format!("{name} = {}", option_value(kind, item)));
            }
        }
        _ => entries.push(format!("{name} = {}", option_value(kind, value))),
    }
}

fn option_value(kind: &Kind, value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(n) => float(f64::from(*n)),
        Value::F64(n) => float(*n),
        Value::String(text) => quote(text.as_bytes()),
        Value::Bytes(bytes) => quote(bytes),
        Value::EnumNumber(number) => match kind {
            Kind::Enum(enumeration) => enumeration
                .get_value(*number)
                .map(|v| v.name().to_string())
                .unwrap_or_else(|| number.to_string()),
            _ => number.to_string(),
        },
        // Message-valued options are written as text-format aggregates.
        Value::Message(message) => aggregate(message),
        Value::List(items) => {
            let items: Vec<String> = items.iter().map(|item| option_value(kind, item)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Map(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(key, value)| {
                    let key = match key {
                        MapKey::String(s) => quote(s.as_bytes()),
                        other => format!("{other:?}"),
                    };
                    format!("{{ key: {key} value: {} }}", option_value(kind, value))
                })
                .collect();
            format!("[{}]", entries.join(", "))
        }
    }
}

/// A message-valued option as a text-format aggregate, as people write it in a `.proto`:
/// `{ post: "/v1/items:batchCreate" body: "*" }`.
fn aggregate(message: &DynamicMessage) -> String {
    let mut entries = Vec::new();
    for (field, value) in message.fields() {
        entries.push(format!(
            "{}: {}",
            field.name(),
            option_value(&field.kind(), value)
        ));
    }
    for (extension, value) in message.extensions() {
        entries.push(format!(
            "[{}]: {}",
            extension.full_name(),
            option_value(&extension.kind(), value)
        ));
    }
    if entries.is_empty() {
        "{}".to_string()
    } else {
        format!("{{ {} }}", entries.join(" "))
    }
}

fn float(value: f64) -> String {
    if value.is_nan() {
        "nan".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{value:?}")
    }
}

/// A quoted string literal, escaped as protobuf source reads it back.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &byte in bytes {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "\\{byte:03o}");
            }
        }
    }
    out.push('"');
    out
}

/// The leading comment the schema's source info holds for the element at `path`, each line
/// without the one space after `//`; `None` when there is none.
pub fn leading_comment(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info.location.iter().find(|l| l.path == path)?;
    let text = location.leading_comments.as_deref()?;
    let lines: Vec<&str> = text
        .trim_end()
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect();
    Some(lines.join("\n"))
}

/// Writes the leading comment the schema's source info holds for the element at `path`.
fn comments(out: &mut String, file: &FileDescriptor, path: &[i32], depth: usize) {
    let Some(text) = leading_comment(file, path) else {
        return;
    };
    let pad = INDENT.repeat(depth);
    for line in text.lines() {
        if line.is_empty() {
            let _ = writeln!(out, "{pad}//");
        } else {
            let _ = writeln!(out, "{pad}// {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_for_proto_source() {
        assert_eq!(quote(b"a\"b\\c\n\x01\xff"), r#""a\"b\\c\n\001\377""#);
    }

    #[test]
    fn json_names_as_protoc_derives_them() {
        assert_eq!(camel_case("created_at"), "createdAt");
        assert_eq!(camel_case("name"), "name");
        assert_eq!(camel_case("a_b_c"), "aBC");
    }

    #[test]
    fn ranges_are_inclusive_in_source() {
        assert_eq!(range(5, 6), "5");
        assert_eq!(range(5, 11), "5 to 10");
        assert_eq!(range(100, 536_870_912), "100 to max");
    }
}
