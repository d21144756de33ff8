//! grpcurl's command lines, read as grpcurl reads them and rewritten as grpcx's, so that people
//! who have grpcurl in their fingers (and scripts written for it) need not change a word.
//!
//! grpcurl's form is `grpcurl [FLAGS] [ADDRESS] (list [SERVICE] | describe [SYMBOL] | METHOD)`:
//! flags in Go's style (`-flag`, `--flag`, `-flag=value`, `-flag value`), all before the first
//! positional word. A command line is read as grpcurl's when it uses a flag only grpcurl spells
//! that way (a single dash before a long name, such as `-plaintext`), or when its first
//! positional word is an address (`HOST:PORT`) rather than a grpcx subcommand.

use std::ffi::OsString;

/// What a grpcurl flag becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    /// A grpcx option before the subcommand, taking a value or not.
    Global(&'static str),
    /// An option of `call` only.
    Call(&'static str),
    /// An option of `describe` only.
    Describe(&'static str),
    /// An option of `call` and `describe` (the exports).
    Export(&'static str),
    /// `-unix`: the address is a Unix socket's path.
    Unix,
    /// A grpcurl flag that grpcx does not have, and why.
    Missing(&'static str),
}

/// grpcurl's flags: name, whether it takes a value, what it becomes.
const FLAGS: &[(&str, bool, Meaning)] = &[
    ("plaintext", false, Meaning::Global("--plaintext")),
    ("insecure", false, Meaning::Global("--insecure")),
    ("cacert", true, Meaning::Global("--cacert")),
    ("cert", true, Meaning::Global("--cert")),
    ("key", true, Meaning::Global("--key")),
    ("authority", true, Meaning::Global("--authority")),
    // grpcx's --authority is also the name the certificate must carry.
    ("servername", true, Meaning::Global("--authority")),
    ("H", true, Meaning::Global("-H")),
    ("rpc-header", true, Meaning::Global("--rpc-header")),
    ("reflect-header", true, Meaning::Global("--reflect-header")),
    ("expand-headers", false, Meaning::Global("--expand-headers")),
    ("user-agent", true, Meaning::Global("--user-agent")),
    ("import-path", true, Meaning::Global("--import-path")),
    ("proto", true, Meaning::Global("--proto")),
    ("protoset", true, Meaning::Global("--protoset")),
    ("use-reflection", false, Meaning::Global("--use-reflection")),
    ("max-time", true, Meaning::Global("--max-time")),
    (
        "connect-timeout",
        true,
        Meaning::Global("--connect-timeout"),
    ),
    ("keepalive-time", true, Meaning::Global("--keepalive-time")),
    ("max-msg-sz", true, Meaning::Global("--max-msg-sz")),
    ("v", false, Meaning::Global("-v")),
    ("vv", false, Meaning::Global("-vv")),
    ("help", false, Meaning::Global("--help")),
    ("version", false, Meaning::Global("--version")),
    ("d", true, Meaning::Call("-d")),
    ("format", true, Meaning::Call("--format")),
    ("emit-defaults", false, Meaning::Call("--emit-defaults")),
    (
        "allow-unknown-fields",
        false,
        Meaning::Call("--allow-unknown-fields"),
    ),
    ("format-error", false, Meaning::Call("--format-error")),
    ("keep-proto-names", false, Meaning::Call("--proto-names")),
    ("msg-template", false, Meaning::Describe("--template")),
    ("protoset-out", true, Meaning::Export("--protoset-out")),
    ("proto-out-dir", true, Meaning::Export("--proto-out-dir")),
    ("unix", false, Meaning::Unix),
    (
        "alts",
        false,
        Meaning::Missing("ALTS (Google Cloud's transport security) is not supported"),
    ),
    (
        "alts-handshaker-service",
        true,
        Meaning::Missing("ALTS (Google Cloud's transport security) is not supported"),
    ),
    (
        "alts-target-service-account",
        true,
        Meaning::Missing("ALTS (Google Cloud's transport security) is not supported"),
    ),
];

fn flag(name: &str) -> Option<(bool, Meaning)> {
    FLAGS
        .iter()
        .find(|(known, _, _)| *known == name)
        .map(|(_, takes_value, meaning)| (*takes_value, *meaning))
}

/// grpcx's subcommands: a first positional word among them is grpcx's form.
const SUBCOMMANDS: &[&str] = &[
    "list",
    "describe",
    "call",
    "serve-demo",
    "demo",
    "cache",
    "completions",
    "man",
    "config",
    "help",
    "__complete",
];

/// Whether `word` has the shape of a server address: `HOST:PORT`, `[V6]:PORT`, `unix:PATH`,
/// `http(s)://…`. No method, service or symbol name has it.
pub fn looks_like_address(word: &str) -> bool {
    if word.starts_with("unix:") || word.starts_with("http://") || word.starts_with("https://") {
        return true;
    }
    match word.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains('/')
                && !port.is_empty()
                && port.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// The name and inline value of a flag word (`-name`, `--name`, `-name=value`).
fn split_flag(word: &str) -> Option<(&str, Option<&str>)> {
    let name = word.strip_prefix("--").or_else(|| word.strip_prefix('-'))?;
    if name.is_empty() {
        return None;
    }
    Some(match name.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (name, None),
    })
}

/// Whether `words` (the program's name first) are grpcurl's form: `Some(grpcx's words)` when
/// they are, `None` when they are grpcx's own, `Err` with a message when they are grpcurl's
/// but cannot be read (a missing value, a flag grpcx does not have, too few words).
pub fn translate(words: &[OsString]) -> Result<Option<Vec<OsString>>, String> {
    let Some(texts) = words
        .iter()
        .skip(1)
        .map(|word| word.to_str())
        .collect::<Option<Vec<&str>>>()
    else {
        return Ok(None);
    };
    if !is_grpcurl_form(&texts) {
        return Ok(None);
    }
    let program = words.first().cloned().unwrap_or_else(|| "grpcx".into());
    let translated = Translation::read(&texts)?.into_words()?;
    Ok(Some(
        std::iter::once(program)
            .chain(translated.into_iter().map(OsString::from))
            .collect(),
    ))
}

/// A grpcurl-only spelling among the flags, or an address as the first positional word.
fn is_grpcurl_form(words: &[&str]) -> bool {
    let mut index = 0;
    while let Some(word) = words.get(index) {
        if *word == "--" {
            return words
                .get(index + 1)
                .is_some_and(|w| !SUBCOMMANDS.contains(w));
        }
        let Some((name, inline)) = word.starts_with('-').then(|| split_flag(word)).flatten() else {
            // The first positional word.
            return !SUBCOMMANDS.contains(word) && looks_like_address(word);
        };
        let single_dash_long = !word.starts_with("--") && name.chars().count() > 1;
        let grpcurl = flag(name);
        if single_dash_long && grpcurl.is_some() && name != "vv" {
            return true;
        }
        // Step over the value of a flag that takes one, grpcurl's or grpcx's.
        let takes_value = match grpcurl {
            Some((takes_value, _)) => takes_value,
            None => grpcx_option_takes_value(name),
        };
        index += if takes_value && inline.is_none() {
            2
        } else {
            1
        };
    }
    false
}

/// Whether grpcx's option `--name` (or `-n`) takes a value: looked up among the server
/// options first (those that come before a subcommand), and only then in the whole command
/// line's tree, which takes long to build.
fn grpcx_option_takes_value(name: &str) -> bool {
    let named = |arg: &&clap::Arg| {
        arg.get_long() == Some(name)
            || (name.chars().count() == 1 && arg.get_short() == name.chars().next())
    };
    let takes = |arg: &clap::Arg| arg.get_action().takes_values();
    let server_options =
        <super::GlobalArgs as clap::Args>::augment_args(clap::Command::new("grpcx"));
    if let Some(arg) = server_options.get_arguments().find(named) {
        return takes(arg);
    }
    let command = super::Cli::command();
    command
        .get_arguments()
        .chain(
            command
                .get_subcommands()
                .flat_map(|sub| sub.get_arguments()),
        )
        .find(named)
        .is_some_and(takes)
}

/// A grpcurl command line, read.
#[derive(Debug, Default)]
struct Translation {
    globals: Vec<String>,
    call: Vec<String>,
    describe: Vec<String>,
    export: Vec<String>,
    unix: bool,
    files: bool,
    positional: Vec<String>,
}

impl Translation {
    fn read(words: &[&str]) -> Result<Translation, String> {
        let mut read = Translation::default();
        let mut index = 0;
        while let Some(word) = words.get(index) {
            index += 1;
            if *word == "--" {
                break;
            }
            let Some((name, inline)) = word.starts_with('-').then(|| split_flag(word)).flatten()
            else {
                // Go's flags end at the first positional word.
                index -= 1;
                break;
            };
            let Some((takes_value, meaning)) = flag(name) else {
                return Err(format!(
                    "`{word}` is not a grpcurl flag, nor one grpcx reads in grpcurl's form"
                ));
            };
            let value = if takes_value {
                match inline {
                    Some(value) => Some(value.to_string()),
                    None => {
                        let value = words
                            .get(index)
                            .ok_or_else(|| format!("`{word}` needs a value"))?;
                        index += 1;
                        Some(value.to_string())
                    }
                }
            } else {
                match inline {
                    None | Some("true" | "1" | "t" | "T" | "TRUE" | "True") => None,
                    Some("false" | "0" | "f" | "F" | "FALSE" | "False") => continue,
                    Some(other) => {
                        return Err(format!("`{word}`: `{other}` is not true or false"));
                    }
                }
            };
            read.take(name, meaning, value)?;
        }
        read.positional = words
            .get(index..)
            .unwrap_or_default()
            .iter()
            .map(|word| word.to_string())
            .collect();
        Ok(read)
    }

    fn take(&mut self, name: &str, meaning: Meaning, value: Option<String>) -> Result<(), String> {
        let target = match meaning {
            Meaning::Global(option) => {
                self.files |= matches!(name, "proto" | "protoset");
                (&mut self.globals, option)
            }
            Meaning::Call(option) => (&mut self.call, option),
            Meaning::Describe(option) => (&mut self.describe, option),
            Meaning::Export(option) => (&mut self.export, option),
            Meaning::Unix => {
                self.unix = true;
                return Ok(());
            }
            Meaning::Missing(why) => return Err(format!("grpcurl's `-{name}`: {why} by grpcx")),
        };
        let (list, option) = target;
        list.push(option.to_string());
        list.extend(value);
        Ok(())
    }

    /// grpcx's words for the command line read.
    fn into_words(self) -> Result<Vec<String>, String> {
        let Translation {
            mut globals,
            call,
            describe,
            export,
            unix,
            files,
            positional,
        } = self;
        let mut rest = positional.into_iter().peekable();
        let mut words = Vec::new();
        match rest.peek().map(String::as_str) {
            Some("list" | "describe") | None => {
                if !files {
                    // As grpcurl, rather than dial grpcx's default address.
                    return Err("no address: grpcurl's form is `[FLAGS] HOST:PORT list|describe|METHOD` (only -proto or -protoset make the address optional)".to_string());
                }
            }
            Some(_) => {
                let address = rest.next().unwrap_or_default();
                globals.push("--addr".to_string());
                globals.push(if unix {
                    format!("unix:{address}")
                } else {
                    address
                });
            }
        }
        words.extend(globals);
        match rest.next().as_deref() {
            Some("list") => {
                words.push("list".to_string());
                words.extend(rest);
            }
            Some("describe") => {
                words.push("describe".to_string());
                words.extend(describe);
                words.extend(export);
                words.extend(rest);
            }
            Some(method) => {
                words.push("call".to_string());
                words.push(method.to_string());
                words.extend(call);
                words.extend(export);
                words.extend(rest);
            }
            None => {
                return Err(
                    "nothing to do: after the address comes list, describe or a method".to_string(),
                );
            }
        }
        Ok(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> Option<String> {
        let words: Vec<OsString> = std::iter::once("grpcx")
            .chain(line.split(' '))
            .map(OsString::from)
            .collect();
        translate(&words).unwrap().map(|words| {
            words
                .iter()
                .skip(1)
                .map(|w| w.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    #[test]
    fn grpcxs_own_command_lines_stay_as_they_are() {
        for line in [
            "list",
            "--addr localhost:1 list",
            "-H k:v call A/B",
            "-v call A/B",
            "-vv describe",
            "call localhost:1",
            "lst",
            "--plaintext --addr localhost:1 list",
        ] {
            assert_eq!(read(line), None, "{line}");
        }
    }

    #[test]
    fn grpcurl_command_lines_become_grpcxs() {
        assert_eq!(
            read("-plaintext localhost:50051 list").as_deref(),
            Some("--plaintext --addr localhost:50051 list")
        );
        assert_eq!(
            read("-plaintext -d {} localhost:50051 pkg.S/M").as_deref(),
            Some("--plaintext --addr localhost:50051 call pkg.S/M -d {}")
        );
        assert_eq!(
            read("localhost:50051 describe pkg.M").as_deref(),
            Some("--addr localhost:50051 describe pkg.M")
        );
        assert_eq!(
            read("-msg-template -plaintext=true h:1 describe pkg.M").as_deref(),
            Some("--plaintext --addr h:1 describe --template pkg.M")
        );
        assert_eq!(
            read("-protoset x.bin list").as_deref(),
            Some("--protoset x.bin list")
        );
        assert_eq!(
            read("-unix -H=a:b /tmp/s.sock S/M").as_deref(),
            Some("-H a:b --addr unix:/tmp/s.sock call S/M")
        );
        assert_eq!(
            read("--max-time 2.5 -emit-defaults -format-error h:1 S/M").as_deref(),
            Some("--max-time 2.5 --addr h:1 call S/M --emit-defaults --format-error")
        );
        assert_eq!(
            read("-plaintext -use-reflection=false h:1 list").as_deref(),
            Some("--plaintext --addr h:1 list")
        );
    }

    #[test]
    fn what_grpcx_cannot_read_is_named() {
        let words = |line: &str| -> Vec<OsString> {
            std::iter::once("grpcx")
                .chain(line.split(' '))
                .map(OsString::from)
                .collect()
        };
        let err = translate(&words("-alts h:1 list")).unwrap_err();
        assert!(err.contains("-alts") && err.contains("ALTS"), "{err}");
        let err = translate(&words("-plaintext -frobnicate h:1 list")).unwrap_err();
        assert!(err.contains("-frobnicate"), "{err}");
        let err = translate(&words("-plaintext -d")).unwrap_err();
        assert!(err.contains("needs a value"), "{err}");
    }

    #[test]
    fn addresses_are_told_from_names() {
        for address in ["localhost:50051", "[::1]:80", "unix:/tmp/s", "https://h"] {
            assert!(looks_like_address(address), "{address}");
        }
        for name in ["pkg.Svc/Method", "Svc", "Svc.Method", "a:b"] {
            assert!(!looks_like_address(name), "{name}");
        }
    }
}
