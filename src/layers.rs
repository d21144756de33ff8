//! The rule that dependencies point down, checked: each top-level module may import only
//! modules of lower layers, read from its own (non-test) source.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may import modules of lower layers only, so modules of
/// one layer never import each other.
const LAYERS: &[&[&str]] = &[
    &["status", "well_known", "units"],
    &["transport"],
    &["schema", "invoke", "demo"],
    &["output"],
    &["http", "bench"],
    &["profiles", "cli"],
    &["settings"],
    &["error"],
    &["commands"],
    // Compiled for tests and fuzzing only: entry points over every layer.
    &["fuzzing"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The source files of a top-level module: `src/NAME.rs`, or everything under `src/NAME/`.
fn files_of(src: &Path, module: &str) -> Vec<PathBuf> {
    let single = src.join(format!("{module}.rs"));
    if single.exists() {
        return vec![single];
    }
    let mut files = Vec::new();
    let mut pending = vec![src.join(module)];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// `text` without comments and without `#[cfg(test)] mod … { … }` blocks.
fn without_tests_and_comments(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    let mut kept = String::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        kept.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find('{') else {
            rest = "";
            break;
        };
        // Only a test module's block is cut; a test-only item without a block is kept as it is.
        if !after[..open].contains("mod ") {
            kept.push_str("#[cfg(test)]");
            rest = &after["#[cfg(test)]".len()..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (index, c) in after.char_indices().skip(open) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = index + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    kept.push_str(rest);
    kept
}

/// The top-level modules `code` names through `crate::`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |text: &str| -> String {
        text.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let after = &code[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                found.insert(ident(item.trim()));
            }
        } else {
            found.insert(ident(after));
        }
    }
    found.retain(|name| !name.is_empty());
    found
}

#[test]
fn dependencies_point_down_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: Vec<&str> = LAYERS
        .iter()
        .flat_map(|layer| layer.iter().copied())
        .collect();
    let mut wrong = Vec::new();
    for module in &modules {
        let own = layer_of(module).unwrap();
        for file in files_of(&src, module) {
            let text = std::fs::read_to_string(&file).unwrap();
            for imported in imports(&without_tests_and_comments(&text)) {
                let Some(layer) = layer_of(&imported) else {
                    continue;
                };
                if imported != *module && layer >= own {
                    wrong.push(format!(
                        "{} imports {imported}, which is not below {module}",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if matches!(name.as_str(), "lib" | "main" | "layers") {
            continue;
        }
        assert!(
            layer_of(&name).is_some(),
            "src/{name} is in no layer of src/layers.rs"
        );
    }
}

#[test]
fn the_checker_sees_imports_and_skips_tests_and_comments() {
    // Written with a stand-in for the path, so that this file itself imports nothing.
    let code = without_tests_and_comments(
        &"use C::status::code_name;\nuse C::{output, invoke::Outcome};\n// C::cli\n#[cfg(test)]\nmod tests {\n    use C::commands;\n    fn f() { if true { } }\n}\nfn g() -> C::schema::Schema {}\n"
            .replace("C::", concat!("crate", "::")),
    );
    let found: Vec<String> = imports(&code).into_iter().collect();
    assert_eq!(found, ["invoke", "output", "schema", "status"]);
}
