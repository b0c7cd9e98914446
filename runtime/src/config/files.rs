//! The one place config touches the filesystem. Parsing is pure: it turns
//! text into values and records each path a key names together with what
//! must be there ([`NamedPaths`]). Loading then reads the file and, after
//! parsing, checks those paths in one step. A test in `tests/` keeps every
//! other config file free of filesystem calls, so what a config means never
//! depends on when or where it was parsed.

use std::path::{Path, PathBuf};

use super::ConfigError;

/// What a key's path must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// A readable file (a schema, a public key, a JWKS document).
    File,
    /// A folder (migrations).
    Folder,
}

#[derive(Debug, Clone)]
struct NamedPath {
    key: String,
    written: String,
    path: PathBuf,
    need: Need,
}

/// The paths a parsed config names, checked by [`NamedPaths::check`].
#[derive(Debug, Clone, Default)]
pub struct NamedPaths(Vec<NamedPath>);

impl NamedPaths {
    /// Records that `key`, written as `written`, names `path`, which must be a `need`.
    pub(super) fn expect(&mut self, key: String, written: &str, path: PathBuf, need: Need) -> PathBuf {
        self.0.push(NamedPath { key, written: written.to_string(), path: path.clone(), need });
        path
    }

    /// Checks each recorded path, in the order the keys were parsed; the first
    /// that is missing (or is the wrong kind) is the error, naming `config` and the key.
    pub(super) fn check(&self, config: &Path) -> Result<(), ConfigError> {
        for p in &self.0 {
            let (there, problem) = match p.need {
                Need::File => (p.path.is_file(), format!("names {}, which does not exist", p.written)),
                Need::Folder => (p.path.is_dir(), format!("names {}, which is not a folder", p.written)),
            };
            if !there {
                return Err(ConfigError::Invalid { path: config.to_path_buf(), key: p.key.clone(), problem });
            }
        }
        Ok(())
    }
}

/// Reads a config file whole.
pub(super) fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })
}

/// `path` made absolute against the process's working folder, so that a
/// config's relative paths keep their meaning if the folder changes later.
pub(super) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_missing_path_is_the_error_and_names_its_key() {
        let here = std::env::temp_dir();
        let mut paths = NamedPaths::default();
        paths.expect("database.migrations".into(), "tmp", here.clone(), Need::Folder);
        paths.expect("endpoint[0].schema".into(), "nope.json", here.join("gatehouse-no-such-file.json"), Need::File);
        paths.expect("endpoint[1].schema".into(), "also.json", here.join("gatehouse-also-missing"), Need::File);
        let err = paths.check(Path::new("/srv/platform.toml")).unwrap_err().to_string();
        assert_eq!(err, "/srv/platform.toml: `endpoint[0].schema` names nope.json, which does not exist");
    }

    #[test]
    fn a_file_where_a_folder_is_needed_is_refused() {
        let file = std::env::current_exe().unwrap();
        let mut paths = NamedPaths::default();
        paths.expect("database.migrations".into(), "m", file, Need::Folder);
        let err = paths.check(Path::new("p.toml")).unwrap_err().to_string();
        assert!(err.contains("`database.migrations` names m, which is not a folder"), "{err}");
    }
}
