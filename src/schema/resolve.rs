//! From names on the command line to descriptors: `pkg.Service/Method`, `pkg.Service.Method`,
//! short names when they are unique, and "did you mean" when they match nothing.

use prost_reflect::{
    DescriptorPool, EnumDescriptor, EnumValueDescriptor, FieldDescriptor, MessageDescriptor,
    MethodDescriptor, OneofDescriptor, ServiceDescriptor,
};

use super::{Schema, SchemaError};

/// Any named element of a schema.
#[derive(Debug, Clone)]
pub enum Symbol {
    Service(ServiceDescriptor),
    Method(MethodDescriptor),
    Message(MessageDescriptor),
    Field(FieldDescriptor),
    Oneof(OneofDescriptor),
    Enum(EnumDescriptor),
    EnumValue(EnumValueDescriptor),
}

impl Symbol {
    /// The file that defines the symbol.
    pub fn parent_file(&self) -> prost_reflect::FileDescriptor {
        match self {
            Symbol::Service(d) => d.parent_file(),
            Symbol::Method(d) => d.parent_file(),
            Symbol::Message(d) => d.parent_file(),
            Symbol::Field(d) => d.parent_file(),
            Symbol::Oneof(d) => d.parent_message().parent_file(),
            Symbol::Enum(d) => d.parent_file(),
            Symbol::EnumValue(d) => d.parent_enum().parent_file(),
        }
    }

    pub fn full_name(&self) -> &str {
        match self {
            Symbol::Service(d) => d.full_name(),
            Symbol::Method(d) => d.full_name(),
            Symbol::Message(d) => d.full_name(),
            Symbol::Field(d) => d.full_name(),
            Symbol::Oneof(d) => d.full_name(),
            Symbol::Enum(d) => d.full_name(),
            Symbol::EnumValue(d) => d.full_name(),
        }
    }
}

/// How many "did you mean" candidates an error lists.
const MAX_CANDIDATES: usize = 5;

impl Schema {
    /// Resolves a service by full name or, when unique, by short name.
    pub async fn resolve_service(&mut self, name: &str) -> Result<ServiceDescriptor, SchemaError> {
        self.retry_if_stale(async |schema: &mut Schema| schema.resolve_service_once(name).await)
            .await
    }

    /// Resolves `pkg.Service/Method`, `pkg.Service.Method`, `Service/Method` or, when unique
    /// on the server, a bare `Method`. A name the cache does not know is looked up again on
    /// the server.
    pub async fn resolve_method(
        &mut self,
        reference: &str,
    ) -> Result<MethodDescriptor, SchemaError> {
        self.retry_if_stale(async |schema: &mut Schema| schema.resolve_method_once(reference).await)
            .await
    }

    async fn resolve_service_once(&mut self, name: &str) -> Result<ServiceDescriptor, SchemaError> {
        let name = name.trim_start_matches('.');
        // A fully-qualified name needs no list of services: one round trip fewer.
        if let Some(service) = self.pool.get_service_by_name(name) {
            return Ok(service);
        }
        if name.contains('.')
            && !self.served_from_cache()
            && self.load_symbol(name).await?
            && let Some(service) = self.pool.get_service_by_name(name)
        {
            return Ok(service);
        }
        let services = self.services().await?;
        let matches: Vec<&String> = services
            .iter()
            .filter(|service| *service == name || has_suffix(service, name))
            .collect();
        let chosen = match matches.as_slice() {
            [one] => (*one).clone(),
            [] => {
                // A server may serve (and reflect) services it does not list.
                if name.contains('.')
                    && self.load_symbol(name).await?
                    && let Some(service) = self.pool.get_service_by_name(name)
                {
                    return Ok(service);
                }
                return Err(SchemaError::UnknownService {
                    place: self.place(),
                    name: name.to_string(),
                    candidates: closest(name, services.iter().map(String::as_str)),
                });
            }
            many => {
                if let Some(exact) = many.iter().find(|service| **service == name) {
                    (*exact).clone()
                } else {
                    return Err(SchemaError::Ambiguous {
                        name: name.to_string(),
                        candidates: many.iter().map(|s| s.to_string()).collect(),
                    });
                }
            }
        };
        self.load_symbol(&chosen).await?;
        self.pool.get_service_by_name(&chosen).ok_or_else(|| {
            SchemaError::BadDescriptor(format!(
                "the server lists {chosen} but its reflection does not define it"
            ))
        })
    }

    async fn resolve_method_once(
        &mut self,
        reference: &str,
    ) -> Result<MethodDescriptor, SchemaError> {
        match self.find_method(reference.trim()).await {
            // A service where a method goes: say so, with its methods.
            Err(err @ (SchemaError::UnknownService { .. } | SchemaError::UnknownSymbol { .. })) => {
                match self.resolve_service_once(reference.trim()).await {
                    Ok(service) => Err(SchemaError::NotAMethod {
                        service: service.full_name().to_string(),
                        methods: service.methods().map(|m| m.name().to_string()).collect(),
                    }),
                    Err(_) => Err(err),
                }
            }
            result => result,
        }
    }

    async fn find_method(&mut self, reference: &str) -> Result<MethodDescriptor, SchemaError> {
        let split = reference
            .rsplit_once('/')
            .or_else(|| reference.rsplit_once('.'));
        let Some((service_name, method_name)) = split else {
            return self.resolve_bare_method(reference).await;
        };
        if service_name.is_empty() || method_name.is_empty() || method_name.contains('.') {
            return Err(SchemaError::BadMethodReference(reference.to_string()));
        }
        let service = self.resolve_service_once(service_name).await?;
        let found = service
            .methods()
            .find(|method| method.name() == method_name);
        found.ok_or_else(|| SchemaError::UnknownMethod {
            service: service.full_name().to_string(),
            method: method_name.to_string(),
            candidates: closest(
                method_name,
                service
                    .methods()
                    .map(|m| m.name().to_string())
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            ),
        })
    }

    async fn resolve_bare_method(&mut self, name: &str) -> Result<MethodDescriptor, SchemaError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(SchemaError::BadMethodReference(name.to_string()));
        }
        self.load_all_services().await?;
        let services = self.services().await?;
        let methods: Vec<MethodDescriptor> = services
            .iter()
            .filter_map(|service| self.pool.get_service_by_name(service))
            .flat_map(|service| service.methods().collect::<Vec<_>>())
            .collect();
        let matches: Vec<&MethodDescriptor> = methods
            .iter()
            .filter(|method| method.name() == name)
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(SchemaError::UnknownSymbol {
                place: self.place(),
                name: name.to_string(),
                candidates: closest(name, methods.iter().map(|m| m.full_name())),
            }),
            many => Err(SchemaError::Ambiguous {
                name: name.to_string(),
                candidates: many.iter().map(|m| method_path(m)).collect(),
            }),
        }
    }

    /// Resolves any symbol: a full name, or a unique suffix of one (`ItemService`,
    /// `Item.tags`, `ItemService/GetItem`).
    pub async fn resolve_symbol(&mut self, name: &str) -> Result<Symbol, SchemaError> {
        self.retry_if_stale(async |schema: &mut Schema| schema.resolve_symbol_once(name).await)
            .await
    }

    async fn resolve_symbol_once(&mut self, name: &str) -> Result<Symbol, SchemaError> {
        let name = name.trim().trim_start_matches('.').replace('/', ".");
        if name.is_empty() {
            return Err(SchemaError::UnknownSymbol {
                place: self.place(),
                name,
                candidates: Vec::new(),
            });
        }
        // Fully-qualified: ask for the name, then for its parents (servers rarely index
        // fields, methods or enum values themselves).
        let mut scope = name.as_str();
        loop {
            if self.load_symbol(scope).await? {
                break;
            }
            match scope.rsplit_once('.') {
                Some((parent, _)) => scope = parent,
                None => break,
            }
        }
        if let Some(symbol) = find_in_pool(&self.pool, &name) {
            return Ok(symbol);
        }
        // Short: search everything the listed services use.
        self.load_all_services().await?;
        let names = all_names(&self.pool);
        let matches: Vec<&String> = names
            .iter()
            .filter(|full| has_suffix(full, &name))
            .collect();
        match matches.as_slice() {
            [one] => find_in_pool(&self.pool, one).ok_or_else(|| SchemaError::UnknownSymbol {
                place: self.place(),
                name: name.clone(),
                candidates: Vec::new(),
            }),
            [] => Err(SchemaError::UnknownSymbol {
                place: self.place(),
                candidates: closest(&name, names.iter().map(String::as_str)),
                name,
            }),
            many => Err(SchemaError::Ambiguous {
                candidates: many.iter().map(|s| s.to_string()).collect(),
                name,
            }),
        }
    }
}

/// `pkg.Service/Method`, the form people type.
pub fn method_path(method: &MethodDescriptor) -> String {
    format!("{}/{}", method.parent_service().full_name(), method.name())
}

/// Whether `full` is `name` preceded by a package or parent: `a.b.Item` has suffix `Item`
/// and `b.Item`, but not `tem`.
fn has_suffix(full: &str, name: &str) -> bool {
    full.strip_suffix(name)
        .is_some_and(|parent| parent.ends_with('.'))
}

/// Looks a fully-qualified name up among every kind of element in the pool.
pub(super) fn find_in_pool(pool: &DescriptorPool, name: &str) -> Option<Symbol> {
    if let Some(service) = pool.get_service_by_name(name) {
        return Some(Symbol::Service(service));
    }
    if let Some(message) = pool.get_message_by_name(name) {
        return Some(Symbol::Message(message));
    }
    if let Some(enumeration) = pool.get_enum_by_name(name) {
        return Some(Symbol::Enum(enumeration));
    }
    let (parent, child) = name.rsplit_once('.')?;
    if let Some(service) = pool.get_service_by_name(parent) {
        return service
            .methods()
            .find(|method| method.name() == child)
            .map(Symbol::Method);
    }
    if let Some(message) = pool.get_message_by_name(parent) {
        if let Some(field) = message.get_field_by_name(child) {
            return Some(Symbol::Field(field));
        }
        return message
            .oneofs()
            .find(|oneof| oneof.name() == child)
            .map(Symbol::Oneof);
    }
    if let Some(enumeration) = pool.get_enum_by_name(parent) {
        return enumeration.get_value_by_name(child).map(Symbol::EnumValue);
    }
    None
}

/// Every fully-qualified name in the pool, for searches by short name. Map entry messages
/// are left out: they are an encoding detail, not something people name.
fn all_names(pool: &DescriptorPool) -> Vec<String> {
    let mut names = Vec::new();
    for service in pool.services() {
        names.push(service.full_name().to_string());
        names.extend(service.methods().map(|m| m.full_name().to_string()));
    }
    for message in pool.all_messages().filter(|m| !m.is_map_entry()) {
        names.push(message.full_name().to_string());
        names.extend(message.fields().map(|f| f.full_name().to_string()));
        names.extend(
            message
                .oneofs()
                .filter(|o| !o.is_synthetic())
                .map(|o| o.full_name().to_string()),
        );
    }
    for enumeration in pool.all_enums() {
        names.push(enumeration.full_name().to_string());
        names.extend(
            enumeration
                .values()
                .map(|v| format!("{}.{}", enumeration.full_name(), v.name())),
        );
    }
    names.sort();
    names.dedup();
    names
}

/// The names most like `wanted`, best first, compared by their last component so that a typo
/// in a short name still finds the fully-qualified one.
fn closest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let wanted_short = last_component(wanted).to_ascii_lowercase();
    let mut scored: Vec<(f64, &str)> = names
        .map(|name| {
            let short = last_component(name).to_ascii_lowercase();
            let mut score = strsim::normalized_damerau_levenshtein(&wanted_short, &short);
            // A part of the name ("reflection" for ServerReflection) is a good hint too, when
            // it is not a tiny part.
            let (shorter, longer) = if short.len() < wanted_short.len() {
                (&short, &wanted_short)
            } else {
                (&wanted_short, &short)
            };
            if longer.contains(shorter.as_str()) && shorter.len() * 2 >= longer.len() {
                score = score.max(0.6);
            }
            (score, name)
        })
        .filter(|(score, _)| *score >= 0.6)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(_, name)| name.to_string())
        .collect()
}

fn last_component(name: &str) -> &str {
    name.rsplit(['.', '/']).next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_respect_name_boundaries() {
        assert!(has_suffix("grpcx.demo.v1.ItemService", "ItemService"));
        assert!(has_suffix("grpcx.demo.v1.ItemService", "v1.ItemService"));
        assert!(!has_suffix("grpcx.demo.v1.ItemService", "temService"));
        assert!(!has_suffix("ItemService", "ItemService"));
    }

    #[test]
    fn closest_names_come_first() {
        let names = ["a.GetItem", "a.ListItems", "a.CreateItems", "a.Unrelated"];
        let found = closest("GetItm", names.into_iter());
        assert_eq!(found.first().map(String::as_str), Some("a.GetItem"));
        assert!(!found.contains(&"a.Unrelated".to_string()));
    }
}
