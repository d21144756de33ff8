//! Renders descriptors as proto source, the way `grpcurl describe` does, with the comments
//! the schema carries. The result is text for people; it is not meant to be recompiled
//! (options are left out).

use std::fmt::Write as _;

use prost_reflect::{
    Cardinality, EnumDescriptor, EnumValueDescriptor, FieldDescriptor, FileDescriptor, Kind,
    MessageDescriptor, MethodDescriptor, OneofDescriptor, ServiceDescriptor, Syntax,
};

use super::Symbol;

const INDENT: &str = "  ";

/// A description of `symbol`: a comment line saying what it is, then its proto source.
pub fn describe(symbol: &Symbol) -> String {
    let mut out = String::new();
    let (kind, file) = match symbol {
        Symbol::Service(d) => ("a service", d.parent_file()),
        Symbol::Method(d) => ("a method", d.parent_file()),
        Symbol::Message(d) => ("a message", d.parent_file()),
        Symbol::Field(d) => ("a field", d.parent_file()),
        Symbol::Oneof(d) => ("a oneof", d.parent_message().parent_file()),
        Symbol::Enum(d) => ("an enum", d.parent_file()),
        Symbol::EnumValue(d) => ("an enum value", d.parent_enum().parent_file()),
    };
    let _ = writeln!(
        out,
        "// {} is {kind} in {}",
        symbol.full_name(),
        file.name()
    );
    match symbol {
        Symbol::Service(d) => service(&mut out, d),
        Symbol::Method(d) => method(&mut out, d, 0),
        Symbol::Message(d) => message(&mut out, d, 0),
        Symbol::Field(d) => field(&mut out, d, 0),
        Symbol::Oneof(d) => oneof(&mut out, d, 0),
        Symbol::Enum(d) => enumeration(&mut out, d, 0),
        Symbol::EnumValue(d) => enum_value(&mut out, d, 0),
    }
    out
}

fn service(out: &mut String, service: &ServiceDescriptor) {
    comments(out, &service.parent_file(), service.path(), 0);
    let _ = writeln!(out, "service {} {{", service.name());
    for m in service.methods() {
        method(out, &m, 1);
    }
    out.push_str("}\n");
}

fn method(out: &mut String, method: &MethodDescriptor, depth: usize) {
    comments(out, &method.parent_file(), method.path(), depth);
    let stream = |yes: bool| if yes { "stream " } else { "" };
    let _ = writeln!(
        out,
        "{}rpc {}({}.{}) returns ({}.{});",
        INDENT.repeat(depth),
        method.name(),
        stream(method.is_client_streaming()),
        method.input().full_name(),
        stream(method.is_server_streaming()),
        method.output().full_name(),
    );
}

fn message(out: &mut String, message: &MessageDescriptor, depth: usize) {
    comments(out, &message.parent_file(), message.path(), depth);
    let pad = INDENT.repeat(depth);
    let _ = writeln!(out, "{pad}message {} {{", message.name());
    for nested in message.child_messages().filter(|m| !m.is_map_entry()) {
        self::message(out, &nested, depth + 1);
    }
    for nested in message.child_enums() {
        enumeration(out, &nested, depth + 1);
    }
    for f in message.fields() {
        match f.containing_oneof() {
            Some(o) if !o.is_synthetic() => {
                // A real oneof is printed once, at its first field.
                if o.fields()
                    .next()
                    .is_some_and(|first| first.number() == f.number())
                {
                    oneof(out, &o, depth + 1);
                }
            }
            _ => field(out, &f, depth + 1),
        }
    }
    reserved(out, message, depth + 1);
    let _ = writeln!(out, "{pad}}}");
}

fn reserved(out: &mut String, message: &MessageDescriptor, depth: usize) {
    let proto = message.descriptor_proto();
    let pad = INDENT.repeat(depth);
    let ranges: Vec<String> = proto
        .reserved_range
        .iter()
        .map(|range| {
            // Descriptor ranges are end-exclusive; proto source is end-inclusive.
            let (start, end) = (range.start(), range.end() - 1);
            if start == end {
                start.to_string()
            } else if end >= 536_870_911 {
                format!("{start} to max")
            } else {
                format!("{start} to {end}")
            }
        })
        .collect();
    if !ranges.is_empty() {
        let _ = writeln!(out, "{pad}reserved {};", ranges.join(", "));
    }
    if !proto.reserved_name.is_empty() {
        let names: Vec<String> = proto
            .reserved_name
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect();
        let _ = writeln!(out, "{pad}reserved {};", names.join(", "));
    }
}

fn oneof(out: &mut String, oneof: &OneofDescriptor, depth: usize) {
    let file = oneof.parent_message().parent_file();
    comments(out, &file, oneof.path(), depth);
    let pad = INDENT.repeat(depth);
    let _ = writeln!(out, "{pad}oneof {} {{", oneof.name());
    for f in oneof.fields() {
        field(out, &f, depth + 1);
    }
    let _ = writeln!(out, "{pad}}}");
}

fn field(out: &mut String, field: &FieldDescriptor, depth: usize) {
    comments(out, &field.parent_file(), field.path(), depth);
    let label = if field.is_map() {
        ""
    } else if field.is_list() {
        "repeated "
    } else {
        let proto = field.field_descriptor_proto();
        match (field.parent_file().syntax(), field.cardinality()) {
            (Syntax::Proto2, Cardinality::Required) => "required ",
            (Syntax::Proto2, _) if field.containing_oneof().is_none() => "optional ",
            (_, _) if proto.proto3_optional() => "optional ",
            _ => "",
        }
    };
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
    let _ = writeln!(
        out,
        "{}{label}{type_name} {} = {};",
        INDENT.repeat(depth),
        field.name(),
        field.number()
    );
}

fn enumeration(out: &mut String, enumeration: &EnumDescriptor, depth: usize) {
    comments(out, &enumeration.parent_file(), enumeration.path(), depth);
    let pad = INDENT.repeat(depth);
    let _ = writeln!(out, "{pad}enum {} {{", enumeration.name());
    for value in enumeration.values() {
        enum_value(out, &value, depth + 1);
    }
    let _ = writeln!(out, "{pad}}}");
}

fn enum_value(out: &mut String, value: &EnumValueDescriptor, depth: usize) {
    comments(out, &value.parent_enum().parent_file(), value.path(), depth);
    let _ = writeln!(
        out,
        "{}{} = {};",
        INDENT.repeat(depth),
        value.name(),
        value.number()
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

/// Writes the leading comment the schema's source info holds for the element at `path`.
fn comments(out: &mut String, file: &FileDescriptor, path: &[i32], depth: usize) {
    let Some(info) = &file.file_descriptor_proto().source_code_info else {
        return;
    };
    let Some(location) = info.location.iter().find(|l| l.path == path) else {
        return;
    };
    let Some(text) = location.leading_comments.as_deref() else {
        return;
    };
    let pad = INDENT.repeat(depth);
    for line in text.trim_end().lines() {
        let line = line.strip_prefix(' ').unwrap_or(line).trim_end();
        if line.is_empty() {
            let _ = writeln!(out, "{pad}//");
        } else {
            let _ = writeln!(out, "{pad}// {line}");
        }
    }
}
