//! Named profiles of connection settings in the config file, so that a team's servers are one
//! `--profile NAME` away.
//!
//! It lives at `$GRPCX_CONFIG` if set, else `grpcx/config.toml` in the user's config directory
//! (`$XDG_CONFIG_HOME`, usually `~/.config`, on Linux). Header values may say `${VAR}` to take a
//! secret from the environment, so none has to be stored in the file. Relative file paths are
//! relative to the config file.
//!
//! ```toml
//! [profiles.staging]
//! addr = "https://staging.example.com:443"
//! cacert = "certs/staging-ca.pem"
//! headers = ["authorization: Bearer ${STAGING_TOKEN}"]
//! output = "ndjson"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::invoke::Compression;
use crate::output::OutputFormat;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("there is no config file at {}", .0.display())]
    Missing(PathBuf),
    #[error("cannot read the config file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the config file {} is not valid: {reason}", .path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("the config file {} has no profile `{name}`", .path.display())]
    NoProfile {
        path: PathBuf,
        name: String,
        known: Vec<String>,
    },
    #[error("cannot tell where the config file is: no home or config directory")]
    NoConfigDir,
}

impl ProfileError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ProfileError::Missing(_) | ProfileError::NoConfigDir => Some(
                "create it with a [profiles.NAME] table (see the README), or set GRPCX_CONFIG to its path".to_string(),
            ),
            ProfileError::NoProfile { known, .. } if known.is_empty() => {
                Some("the file defines no profiles; add a [profiles.NAME] table".to_string())
            }
            ProfileError::NoProfile { known, .. } => {
                Some(format!("profiles defined there: {}", known.join(", ")))
            }
            ProfileError::Read { .. } | ProfileError::Invalid { .. } => None,
        }
    }
}

/// One named profile. Every field is optional; command-line flags override each.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    pub addr: Option<String>,
    pub tls: Option<bool>,
    pub plaintext: Option<bool>,
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub insecure: Option<bool>,
    pub authority: Option<String>,
    /// Sent on reflection and on the call; `${VAR}` is taken from the environment.
    #[serde(default)]
    pub headers: Vec<String>,
    #[serde(default)]
    pub rpc_headers: Vec<String>,
    #[serde(default)]
    pub reflect_headers: Vec<String>,
    pub output: Option<OutputFormat>,
    pub connect_timeout: Option<String>,
    pub max_time: Option<String>,
    pub user_agent: Option<String>,
    pub compress: Option<Compression>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// Where the config file is read from.
pub fn path() -> Result<PathBuf, ProfileError> {
    if let Some(path) = std::env::var_os("GRPCX_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    dirs::config_dir()
        .map(|dir| dir.join("grpcx").join("config.toml"))
        .ok_or(ProfileError::NoConfigDir)
}

/// Loads profile `name` from the config file.
pub fn load_profile(name: &str) -> Result<Profile, ProfileError> {
    let path = path()?;
    let text = std::fs::read_to_string(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ProfileError::Missing(path.clone())
        } else {
            ProfileError::Read {
                path: path.clone(),
                source,
            }
        }
    })?;
    profile_from(&text, &path, name)
}

fn profile_from(text: &str, path: &Path, name: &str) -> Result<Profile, ProfileError> {
    let file: ConfigFile = toml::from_str(text).map_err(|err| ProfileError::Invalid {
        path: path.to_path_buf(),
        reason: err.to_string().trim().replace('\n', " "),
    })?;
    let known: Vec<String> = file.profiles.keys().cloned().collect();
    let mut profile = file
        .profiles
        .get(name)
        .cloned()
        .ok_or_else(|| ProfileError::NoProfile {
            path: path.to_path_buf(),
            name: name.to_string(),
            known,
        })?;
    let base = path.parent().unwrap_or(Path::new("."));
    for file in [&mut profile.cacert, &mut profile.cert, &mut profile.key]
        .into_iter()
        .flatten()
    {
        if file.is_relative() {
            *file = base.join(&*file);
        }
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[profiles.staging]
addr = "https://staging.example.com:443"
cacert = "certs/ca.pem"
headers = ["authorization: Bearer ${TOKEN}"]
output = "ndjson"

[profiles.local]
addr = "127.0.0.1:50051"
"#;

    #[test]
    fn a_profile_is_read_with_paths_relative_to_the_file() {
        let profile =
            profile_from(EXAMPLE, Path::new("/etc/grpcx/config.toml"), "staging").unwrap();
        assert_eq!(
            profile.addr.as_deref(),
            Some("https://staging.example.com:443")
        );
        assert_eq!(
            profile.cacert,
            Some(PathBuf::from("/etc/grpcx/certs/ca.pem"))
        );
        assert_eq!(profile.output, Some(OutputFormat::Ndjson));
        assert_eq!(profile.headers, ["authorization: Bearer ${TOKEN}"]);
    }

    #[test]
    fn unknown_profiles_and_fields_are_named() {
        let err = profile_from(EXAMPLE, Path::new("c.toml"), "prod").unwrap_err();
        assert!(err.to_string().contains("no profile `prod`"));
        assert_eq!(
            err.hint().unwrap(),
            "profiles defined there: local, staging"
        );
        let err =
            profile_from("[profiles.a]\nadress = 'x'\n", Path::new("c.toml"), "a").unwrap_err();
        assert!(err.to_string().contains("adress"), "{err}");
    }
}
