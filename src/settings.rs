//! Resolves raw command-line arguments (and the chosen profile) into the settings the rest of
//! grpcx uses.
//!
//! The order of precedence: a flag on the command line (or its environment variable), then the
//! profile, then the default. The only I/O here is reading the files that flags name for
//! headers (`-H @FILE`); no network.

use std::time::Duration;

use crate::cli::{CallArgs, Format, GlobalArgs, values};
use crate::invoke::Compression;
use crate::output::{OutputFormat, PrintOptions, Verbosity};
use crate::profiles::Profile;
use crate::schema::files::FileSources;
use crate::transport::{ConnectOptions, Header, Target, TlsOptions};

/// The default address: the demo server's.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";
/// The default time to wait for a connection and the server's first answer.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default receive limit, as in grpc-go.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 << 20;

/// How long a cached schema is used unless `--cache-ttl` says otherwise.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// Metadata keys whose values verbose output always hides.
const ALWAYS_REDACTED: &[&str] = &["authorization", "proxy-authorization", "cookie"];

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{flag} `{value}`: {reason}")]
    BadHeader {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("{flag} `{value}` uses ${{{name}}}, but the environment variable {name} is not set")]
    MissingVariable {
        flag: &'static str,
        value: String,
        name: String,
    },
    #[error("cannot read the header file {path}: {source}")]
    HeaderFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the profile's {field} `{value}` is not valid: {reason}")]
    BadProfileValue {
        field: &'static str,
        value: String,
        reason: String,
    },
}

impl SettingsError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SettingsError::BadHeader { .. } => Some(
                "write headers as 'name: value' with an ASCII name not starting with grpc-"
                    .to_string(),
            ),
            SettingsError::MissingVariable { name, .. } => Some(format!("export {name}=… first")),
            SettingsError::HeaderFile { .. } => None,
            SettingsError::BadProfileValue { .. } => {
                Some("fix the profile in the config file (`grpcx config path`)".to_string())
            }
        }
    }

    /// A header or a variable given wrongly is a usage error; a file that cannot be read is not.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            SettingsError::BadHeader { .. } | SettingsError::MissingVariable { .. }
        )
    }
}

/// Everything a command needs to reach a server.
#[derive(Debug, Clone)]
pub struct Settings {
    pub connect: ConnectOptions,
    /// Metadata on reflection requests: -H plus --reflect-header.
    pub reflect_headers: Vec<Header>,
    /// Metadata on the call: -H plus --rpc-header.
    pub rpc_headers: Vec<Header>,
    /// The deadline for the whole operation, if any.
    pub max_time: Option<Duration>,
    pub max_message_size: usize,
    pub compress: Option<Compression>,
    /// The output format the profile asks for, when the command line does not say.
    pub output: Option<OutputFormat>,
    /// Schema files (`--proto`, `--protoset`).
    pub files: FileSources,
    /// Use reflection even when files are given; the files fill in what it lacks.
    pub use_reflection: bool,
    /// Whether reflection results are cached, and for how long.
    pub cache: bool,
    pub cache_ttl: Duration,
    pub verbosity: Verbosity,
}

impl Settings {
    /// Resolves `args` over `profile`, reading variables through `env`.
    pub fn resolve(
        args: &GlobalArgs,
        profile: Option<&Profile>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let empty = Profile::default();
        let profile = profile.unwrap_or(&empty);
        let (reflect_headers, rpc_headers) = metadata(args, profile, env)?;
        Ok(Settings {
            connect: connect_options(args, profile)?,
            reflect_headers,
            rpc_headers,
            max_time: args
                .max_time
                .or(profile_duration("max-time", &profile.max_time)?),
            max_message_size: args.max_msg_sz.unwrap_or(DEFAULT_MAX_MESSAGE_SIZE),
            compress: args.compress.or(profile.compress),
            output: profile.output,
            files: FileSources {
                protos: args.proto.clone(),
                import_paths: args.import_path.clone(),
                protosets: args.protoset.clone(),
            },
            use_reflection: args.use_reflection,
            cache: !args.no_cache,
            cache_ttl: args.cache_ttl.unwrap_or(DEFAULT_CACHE_TTL),
            verbosity: verbosity(args),
        })
    }

    /// The bound on each reflection answer: `--max-msg-sz` may raise it, never lower it, since
    /// a small limit is for testing responses, not the schema.
    pub fn reflection_message_limit(&self) -> usize {
        self.max_message_size.max(DEFAULT_MAX_MESSAGE_SIZE)
    }

    /// How `list` and `describe` print: plain text, and what `-v` asks for.
    pub fn inspect_print_options(&self) -> PrintOptions {
        PrintOptions {
            verbosity: self.verbosity.clone(),
            ..PrintOptions::default()
        }
    }

    /// How `call` prints, from its own flags over these settings.
    pub fn print_options(&self, args: &CallArgs) -> PrintOptions {
        PrintOptions {
            format: args.output.or(self.output),
            text: args.format == Format::Text,
            emit_defaults: args.emit_defaults,
            proto_names: args.proto_names,
            format_error: args.format_error,
            verbosity: self.verbosity.clone(),
        }
    }
}

/// The address: the command line's, the profile's, or the default.
fn target(args: &GlobalArgs, profile: &Profile) -> Result<Target, SettingsError> {
    let text = match (&args.addr, &profile.addr) {
        (Some(target), _) => return Ok(target.clone()),
        (None, Some(text)) => text.as_str(),
        (None, None) => DEFAULT_ADDR,
    };
    text.parse::<Target>()
        .map_err(|reason| SettingsError::BadProfileValue {
            field: "addr",
            value: text.to_string(),
            reason,
        })
}

/// How to reach the server; whether with TLS is `Target::uses_tls`'s rule.
fn connect_options(args: &GlobalArgs, profile: &Profile) -> Result<ConnectOptions, SettingsError> {
    let target = target(args, profile)?;
    let tls_options = TlsOptions {
        cacert: args.cacert.clone().or_else(|| profile.cacert.clone()),
        cert: args.cert.clone().or_else(|| profile.cert.clone()),
        key: args.key.clone().or_else(|| profile.key.clone()),
        insecure: args.insecure || profile.insecure.unwrap_or(false),
    };
    let flag = if args.plaintext {
        Some(false)
    } else {
        args.tls.then_some(true)
    };
    // A profile's choice is for the profile's own address.
    let profile_choice = match (&args.addr, profile.tls, profile.plaintext) {
        (Some(_), _, _) => None,
        (None, Some(true), _) => Some(true),
        (None, _, Some(true)) => Some(false),
        (None, _, _) => None,
    };
    let use_tls = target.uses_tls(flag, tls_options != TlsOptions::default(), profile_choice);
    Ok(ConnectOptions {
        tls: use_tls.then_some(tls_options),
        authority: args.authority.clone().or_else(|| profile.authority.clone()),
        connect_timeout: args
            .connect_timeout
            .or(profile_duration(
                "connect-timeout",
                &profile.connect_timeout,
            )?)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        keepalive: args.keepalive_time,
        user_agent: args
            .user_agent
            .clone()
            .or_else(|| profile.user_agent.clone()),
        target,
    })
}

/// A duration written in the profile.
fn profile_duration(
    field: &'static str,
    text: &Option<String>,
) -> Result<Option<Duration>, SettingsError> {
    text.as_deref()
        .map(|text| {
            values::parse_duration(text).map_err(|reason| SettingsError::BadProfileValue {
                field,
                value: text.to_string(),
                reason,
            })
        })
        .transpose()
}

/// The metadata of reflection requests and of the call, in that order: the profile's first,
/// then the command line's; common headers, then each side's own.
fn metadata(
    args: &GlobalArgs,
    profile: &Profile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<Header>, Vec<Header>), SettingsError> {
    // Profile headers always expand ${VAR}: that is how secrets stay out of the file.
    let expand = args.expand_headers;
    let mut common = headers("profile header", &profile.headers, true, env)?;
    common.extend(headers("-H", &args.headers, expand, env)?);
    let mut reflect = common.clone();
    reflect.extend(headers(
        "profile reflect-header",
        &profile.reflect_headers,
        true,
        env,
    )?);
    reflect.extend(headers(
        "--reflect-header",
        &args.reflect_headers,
        expand,
        env,
    )?);
    let mut rpc = common;
    rpc.extend(headers(
        "profile rpc-header",
        &profile.rpc_headers,
        true,
        env,
    )?);
    rpc.extend(headers("--rpc-header", &args.rpc_headers, expand, env)?);
    Ok((reflect, rpc))
}

/// What `-v` shows, and what it hides.
fn verbosity(args: &GlobalArgs) -> Verbosity {
    let redacted = if args.show_secrets {
        Vec::new()
    } else {
        ALWAYS_REDACTED
            .iter()
            .map(|key| key.to_string())
            .chain(
                args.redact
                    .iter()
                    .map(|key| key.trim().to_ascii_lowercase()),
            )
            .collect()
    };
    Verbosity {
        level: args.verbose,
        redacted,
    }
}

/// Parses header arguments: `NAME: VALUE`, or `@FILE` for one header a line (blank lines and
/// lines starting with `#` are skipped).
fn headers(
    flag: &'static str,
    raw: &[String],
    expand: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Header>, SettingsError> {
    let mut parsed = Vec::new();
    for value in raw {
        if let Some(path) = value.strip_prefix('@') {
            let text =
                std::fs::read_to_string(path).map_err(|source| SettingsError::HeaderFile {
                    path: path.to_string(),
                    source,
                })?;
            for line in text.lines().map(str::trim) {
                if !line.is_empty() && !line.starts_with('#') {
                    parsed.push(header(flag, line, expand, env)?);
                }
            }
        } else {
            parsed.push(header(flag, value, expand, env)?);
        }
    }
    Ok(parsed)
}

fn header(
    flag: &'static str,
    value: &str,
    expand: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Header, SettingsError> {
    let text = if expand {
        expand_variables(value, env).map_err(|name| SettingsError::MissingVariable {
            flag,
            value: value.to_string(),
            name,
        })?
    } else {
        value.to_string()
    };
    text.parse().map_err(|reason| SettingsError::BadHeader {
        flag,
        // The expanded text may hold a secret: name what the user wrote.
        value: value.to_string(),
        reason,
    })
}

/// Replaces each `${NAME}` with the variable's value; the error is the first unset name.
fn expand_variables(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        out.push_str(&env(name).ok_or_else(|| name.to_string())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn resolve(args: &[&str], profile: Option<&Profile>) -> Result<Settings, SettingsError> {
        let cli = Cli::try_parse_from(["grpcx"].iter().chain(args).chain(&["list"])).unwrap();
        Settings::resolve(&cli.global, profile, &no_env)
    }

    #[test]
    fn the_tls_rule() {
        let tls = |args: &[&str]| resolve(args, None).unwrap().connect.tls.is_some();
        assert!(!tls(&[]), "the default loopback address is plaintext");
        assert!(tls(&["--addr", "example.com:443"]));
        assert!(!tls(&["--addr", "example.com:443", "--plaintext"]));
        assert!(tls(&["--addr", "127.0.0.1:1", "--tls"]));
        assert!(tls(&["--addr", "127.0.0.1:1", "--cacert", "ca.pem"]));
        assert!(tls(&["--addr", "https://127.0.0.1:1"]));
        assert!(!tls(&["--addr", "unix:/tmp/s"]));
    }

    #[test]
    fn flags_override_the_profile_and_headers_add_up() {
        let profile = Profile {
            addr: Some("https://staging.example.com".to_string()),
            headers: vec!["x-team: core".to_string()],
            output: Some(OutputFormat::Json),
            ..Profile::default()
        };
        let settings = resolve(&[], Some(&profile)).unwrap();
        assert_eq!(
            settings.connect.target.to_string(),
            "https://staging.example.com:443"
        );
        assert!(settings.connect.tls.is_some());
        assert_eq!(settings.output, Some(OutputFormat::Json));

        let settings = resolve(
            &["--addr", "127.0.0.1:9", "-H", "x-user: ada"],
            Some(&profile),
        )
        .unwrap();
        assert_eq!(settings.connect.target.to_string(), "127.0.0.1:9");
        assert!(settings.connect.tls.is_none());
        let names: Vec<&str> = settings
            .rpc_headers
            .iter()
            .map(|h| h.name.as_str())
            .collect();
        assert_eq!(names, ["x-team", "x-user"]);
    }

    #[test]
    fn rpc_and_reflect_headers_go_where_they_belong() {
        let settings = resolve(
            &[
                "-H",
                "a: 1",
                "--rpc-header",
                "b: 2",
                "--reflect-header",
                "c: 3",
            ],
            None,
        )
        .unwrap();
        let names = |headers: &[Header]| headers.iter().map(|h| h.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&settings.rpc_headers), ["a", "b"]);
        assert_eq!(names(&settings.reflect_headers), ["a", "c"]);
    }

    #[test]
    fn variables_expand_only_when_asked() {
        let env = |name: &str| (name == "TOKEN").then(|| "s3cret".to_string());
        assert_eq!(
            expand_variables("Bearer ${TOKEN}!", &env).unwrap(),
            "Bearer s3cret!"
        );
        assert_eq!(
            expand_variables("a ${MISSING}", &env).unwrap_err(),
            "MISSING"
        );
        assert_eq!(
            expand_variables("no vars $HOME", &env).unwrap(),
            "no vars $HOME"
        );

        let cli =
            Cli::try_parse_from(["grpcx", "-H", "authorization: Bearer ${TOKEN}", "list"]).unwrap();
        let plain = Settings::resolve(&cli.global, None, &env).unwrap();
        assert_eq!(
            plain.rpc_headers[0].to_string(),
            "authorization: Bearer ${TOKEN}"
        );
        let cli = Cli::try_parse_from([
            "grpcx",
            "--expand-headers",
            "-H",
            "authorization: Bearer ${TOKEN}",
            "list",
        ])
        .unwrap();
        let expanded = Settings::resolve(&cli.global, None, &env).unwrap();
        assert_eq!(
            expanded.rpc_headers[0].to_string(),
            "authorization: Bearer s3cret"
        );
    }

    #[test]
    fn authorization_is_redacted_unless_secrets_are_shown() {
        let settings = resolve(&["--redact", "X-Api-Key"], None).unwrap();
        assert!(!settings.verbosity.shows("authorization"));
        assert!(!settings.verbosity.shows("x-api-key"));
        assert!(settings.verbosity.shows("x-user"));
        let settings = resolve(&["--show-secrets"], None).unwrap();
        assert!(settings.verbosity.shows("authorization"));
    }

    #[test]
    fn bad_headers_name_the_flag() {
        let err = resolve(&["--rpc-header", "grpc-x: 1"], None).unwrap_err();
        assert!(err.is_usage());
        assert!(
            err.to_string().starts_with("--rpc-header `grpc-x: 1`"),
            "{err}"
        );
    }
}
