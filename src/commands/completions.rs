//! `grpcx completions SHELL`, `grpcx man`, and the hidden `grpcx __complete` that the scripts
//! call to complete method and service names from the server (or the cache).

use std::path::Path;
use std::time::Duration;

use clap_complete::Shell;

use super::session::{self, Needs};
use crate::cli::Cli;
use crate::error::Error;
use crate::invoke::Outcome;
use crate::output::{OutputError, Printer};
use crate::schema::method_path;

/// How long completion may take in all: a shell must not hang on a slow server.
const COMPLETION_LIMIT: Duration = Duration::from_millis(1500);

/// Bash: after `call`, `bench`, `describe` or `list`, complete names from the server; otherwise, the
/// completion clap generates.
const BASH_DYNAMIC: &str = r#"
_grpcx_with_names() {
    # The words from the line itself: bash splits COMP_WORDS at ':' too (COMP_WORDBREAKS),
    # which would cut `--addr HOST:PORT` in three.
    local line="${COMP_LINE:0:COMP_POINT}"
    local -a words
    read -ra words <<< "$line"
    local cur=""
    if [[ "$line" != *[[:space:]] ]]; then
        cur="${words[${#words[@]}-1]}"
        unset 'words[${#words[@]}-1]'
    fi
    local prev="${words[${#words[@]}-1]}"
    case "$prev" in
        call|bench|describe|list|health)
            if [[ "$cur" != -* ]]; then
                local names
                names="$(grpcx __complete "$prev" -- "${words[@]:1}" 2>/dev/null)"
                COMPREPLY=($(compgen -W "$names" -- "$cur"))
                return 0
            fi
            ;;
    esac
    _grpcx "$@"
}
complete -F _grpcx_with_names -o bashdefault -o default grpcx
"#;

/// Fish: names from the server for the first argument of `call`, `bench`, `describe` and `list`.
const FISH_DYNAMIC: &str = r#"
complete -c grpcx -n '__fish_seen_subcommand_from call' -f -a '(grpcx __complete call -- (commandline -opc)[2..-1] 2>/dev/null)'
complete -c grpcx -n '__fish_seen_subcommand_from bench' -f -a '(grpcx __complete bench -- (commandline -opc)[2..-1] 2>/dev/null)'
complete -c grpcx -n '__fish_seen_subcommand_from describe' -f -a '(grpcx __complete describe -- (commandline -opc)[2..-1] 2>/dev/null)'
complete -c grpcx -n '__fish_seen_subcommand_from list' -f -a '(grpcx __complete list -- (commandline -opc)[2..-1] 2>/dev/null)'
complete -c grpcx -n '__fish_seen_subcommand_from health' -f -a '(grpcx __complete health -- (commandline -opc)[2..-1] 2>/dev/null)'
"#;

pub fn script(shell: Shell, out: &mut Printer) -> Result<Outcome, Error> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "grpcx", &mut script);
    out.text(&String::from_utf8_lossy(&script))?;
    match shell {
        Shell::Bash => out.text(BASH_DYNAMIC)?,
        Shell::Fish => out.text(FISH_DYNAMIC)?,
        _ => {}
    }
    Ok(Outcome::Ok)
}

/// The ENVIRONMENT section every page carries, in roff.
const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBGRPCX_ADDR\fR
The server address when \fB\-\-addr\fR is not given (HOST:PORT, http://..., https://..., unix:PATH).
.TP
\fBGRPCX_PROFILE\fR
The profile of the config file to use when \fB\-\-profile\fR is not given.
.TP
\fBGRPCX_CONFIG\fR
The config file of profiles, instead of grpcx/config.toml in the user's config directory.
.TP
\fBGRPCX_CACHE_DIR\fR
Where the descriptor cache lives, instead of grpcx/ in the user's cache directory.
.TP
\fBNO_COLOR\fR, \fBCLICOLOR\fR, \fBCLICOLOR_FORCE\fR, \fBTERM\fR
Colour: none with NO_COLOR or CLICOLOR=0 or TERM=dumb, always with CLICOLOR_FORCE (see \fB\-\-color\fR).
"#;

/// `grpcx man [SUBCOMMAND] [--dir DIR]`.
pub fn man(
    subcommand: Option<&str>,
    dir: Option<&Path>,
    out: &mut Printer,
) -> Result<Outcome, Error> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let pages: Vec<clap::Command> = match (subcommand, dir) {
        (_, Some(_)) => std::iter::once(command.clone())
            .chain(
                command
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set())
                    .cloned(),
            )
            .collect(),
        (Some(name), None) => vec![command.find_subcommand(name).cloned().ok_or_else(|| {
            Error::Internal(format!("no subcommand `{name}`: `grpcx --help` lists them"))
        })?],
        (None, None) => vec![command],
    };
    let Some(dir) = dir else {
        for page in &pages {
            out.text(&String::from_utf8_lossy(&render(page)?))?;
        }
        return Ok(Outcome::Ok);
    };
    std::fs::create_dir_all(dir).map_err(OutputError::Write)?;
    for page in &pages {
        let man = clap_mangen::Man::new(page.clone());
        std::fs::write(dir.join(man.get_filename()), render(page)?).map_err(OutputError::Write)?;
    }
    out.note(&format!(
        "wrote {} pages into {}",
        pages.len(),
        dir.display()
    ));
    Ok(Outcome::Ok)
}

/// One page: clap_mangen's sections, with ENVIRONMENT before the examples.
fn render(command: &clap::Command) -> Result<Vec<u8>, OutputError> {
    let man = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    let write = |page: &mut Vec<u8>| -> std::io::Result<()> {
        man.render_title(page)?;
        man.render_name_section(page)?;
        man.render_synopsis_section(page)?;
        man.render_description_section(page)?;
        if command.get_arguments().any(|arg| !arg.is_hide_set()) {
            man.render_options_section(page)?;
        }
        if command.has_subcommands() {
            man.render_subcommands_section(page)?;
        }
        page.extend_from_slice(ENVIRONMENT.as_bytes());
        if command.get_after_help().is_some() {
            man.render_extra_section(page)?;
        }
        if command.get_version().is_some() {
            man.render_version_section(page)?;
        }
        Ok(())
    };
    write(&mut page).map_err(OutputError::Write)?;
    Ok(page)
}

/// Prints the names that complete `kind`'s first argument, one a line; prints nothing when
/// the server cannot be reached in time. `words` are the command line's words so far (for
/// `--addr`, headers, schema files).
pub async fn complete(kind: &str, words: &[String], out: &mut Printer) -> Result<Outcome, Error> {
    // Whatever goes wrong, a completion says nothing: its stderr would land in the shell.
    let mut quiet: Printer = Printer::new(
        Box::new(std::io::sink()),
        Box::new(std::io::sink()),
        out.console(),
    );
    let names = tokio::time::timeout(COMPLETION_LIMIT, names(kind, words, &mut quiet)).await;
    if let Ok(Some(names)) = names {
        for name in names {
            out.line(&name)?;
        }
    }
    Ok(Outcome::Ok)
}

async fn names(kind: &str, words: &[String], quiet: &mut Printer) -> Option<Vec<String>> {
    // Parse the words as grpcx would, ending with the subcommand (and a placeholder method
    // for `call` and `bench`, which take one), to read the global options.
    let mut args: Vec<String> = vec!["grpcx".to_string()];
    args.extend(words.iter().take_while(|w| *w != kind).cloned());
    args.push(kind.to_string());
    // Methods only, as `call` takes them.
    let methods_only = kind == "call" || kind == "bench";
    if methods_only {
        args.push("placeholder".to_string());
    }
    let cli = Cli::try_parse_from(args).ok()?;
    // The profile too, so that `grpcx --profile staging call <TAB>` asks staging.
    let mut settings = super::settings(&cli.global).ok()?;
    settings.connect.connect_timeout = settings.connect.connect_timeout.min(COMPLETION_LIMIT);
    let mut session = session::open(&settings, Needs::Completion, quiet)
        .await
        .ok()?;
    let schema = &mut session.schema;
    let services = schema.services().await.ok()?;
    let mut names = Vec::new();
    for name in &services {
        let short = name.rsplit('.').next().unwrap_or(name).to_string();
        let unique = services
            .iter()
            .filter(|s| s.rsplit('.').next() == Some(&short))
            .count()
            == 1;
        if !methods_only {
            names.push(name.clone());
            if unique {
                names.push(short.clone());
            }
        }
        if kind == "list" || kind == "health" {
            continue;
        }
        let Ok(service) = schema.resolve_service(name).await else {
            continue;
        };
        for method in service.methods() {
            names.push(method_path(&method));
            if unique {
                names.push(format!("{short}/{}", method.name()));
            }
        }
    }
    session.schema.save_cache();
    Some(names)
}
