//! An app's manifest (`gatehouse.toml`): the endpoints one deploy puts live
//! for one tenant, with the same endpoint keys as platform.toml, plus the
//! app's name and its database migrations. Paths are relative to the
//! manifest. Secrets come from the tenant's own secrets only: an app never
//! reads the platform's environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::endpoints::{RawEndpoint, parse_endpoints};
use super::files::{self, NamedPaths, Need};
use super::limits::Limits;
use super::policy::SecretSource;
use super::{ConfigError, EndpointConfig};

/// The manifest's file name inside an app folder or bundle.
pub const MANIFEST_FILE: &str = "gatehouse.toml";

/// A parsed, checked manifest.
#[derive(Debug, Clone)]
pub struct AppManifest {
    /// The manifest file.
    pub path: PathBuf,
    /// `[app] name`: letters, digits, `-`.
    pub name: String,
    /// `[database] migrations`: a folder of ordered `*.sql` files (or
    /// `sqlite/` and `postgres/` subfolders), applied once to the tenant's database.
    pub migrations: Option<PathBuf>,
    /// `[[endpoint]]`, in file order.
    pub endpoints: Vec<EndpointConfig>,
    /// `[[entity]]`: tables the platform serves CRUD for, no guest.
    pub entities: Vec<super::EntityConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    app: RawApp,
    #[serde(default)]
    database: RawAppDatabase,
    #[serde(default)]
    endpoint: Vec<RawEndpoint>,
    #[serde(default)]
    entity: Vec<super::entity::RawEntity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAppDatabase {
    migrations: Option<String>,
}

/// Whether `name` may name a tenant or an app: lower-case letters, digits
/// and `-`, starting with a letter, at most 40. (Tenant names become database
/// role and schema names, so `_` is left out: `a-b` and `a_b` would collide.)
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && name.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

impl AppManifest {
    /// Reads `<dir>/gatehouse.toml`, parses it, then checks the files and
    /// folders it names. `limits` are the defaults endpoints start from;
    /// `secrets` are the tenant's.
    pub fn load(dir: &Path, limits: Limits, secrets: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let path = dir.join(MANIFEST_FILE);
        let (manifest, named_paths) = Self::parse(dir, &files::read(&path)?, limits, secrets)?;
        named_paths.check(&path)?;
        Ok(manifest)
    }

    /// Parses a manifest's `text` as if read from `<dir>/gatehouse.toml`.
    /// Pure: returns the paths it names for [`NamedPaths::check`] instead of looking.
    fn parse(
        dir: &Path,
        text: &str,
        limits: Limits,
        secrets: &BTreeMap<String, String>,
    ) -> Result<(Self, NamedPaths), ConfigError> {
        let path = dir.join(MANIFEST_FILE);
        let raw: RawManifest = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string().trim_end().to_string() })?;
        let invalid =
            |key: &str, problem: String| ConfigError::Invalid { path: path.clone(), key: key.into(), problem };
        // Checked on the paths as written, before any is looked up, so that a
        // deploy cannot even learn whether a file exists elsewhere on the server.
        if let Some(key) = escaping_path(&raw) {
            return Err(invalid(
                &key,
                "names a file outside the app; an app's paths are relative and stay inside its folder".into(),
            ));
        }
        if !valid_name(&raw.app.name) {
            return Err(invalid(
                "app.name",
                format!("`{}` must be lower-case letters, digits and -, starting with a letter", raw.app.name),
            ));
        }
        if raw.endpoint.is_empty() && raw.entity.is_empty() {
            return Err(invalid(
                "endpoint",
                "is missing: an app declares at least one [[endpoint]] or [[entity]]".into(),
            ));
        }
        let entities = super::entity::parse_entities(raw.entity).map_err(|(k, p)| invalid(&k, p))?;
        let mut named_paths = NamedPaths::default();
        let migrations = raw
            .database
            .migrations
            .as_ref()
            .map(|m| named_paths.expect("database.migrations".into(), m, dir.join(m), Need::Folder));
        let source = SecretSource { table: secrets, env: None };
        let endpoints = parse_endpoints(&path, raw.endpoint, dir, limits, &source, &mut named_paths)?;
        Ok((Self { path, name: raw.app.name, migrations, endpoints, entities }, named_paths))
    }
}

/// The first key whose path is absolute or climbs out with `..`, if any.
/// Paths that pass are plain relative ones, so joined to the app's folder
/// they stay inside it.
fn escaping_path(raw: &RawManifest) -> Option<String> {
    if raw.database.migrations.as_deref().is_some_and(leaves_folder) {
        return Some("database.migrations".into());
    }
    raw.endpoint.iter().enumerate().find_map(|(i, e)| {
        e.files().into_iter().find(|(_, p)| p.is_some_and(leaves_folder)).map(|(key, _)| format!("endpoint[{i}].{key}"))
    })
}

/// Whether `path` is absolute or has a `..` in it.
fn leaves_folder(path: &str) -> bool {
    Path::new(path).components().any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_app() {
        assert!(!leaves_folder("c/x.wasm"));
        assert!(leaves_folder("../x.wasm"));
        assert!(leaves_folder("c/../../x.wasm"));
        assert!(leaves_folder("/etc/passwd"));
        let manifest = |e: &str| -> RawManifest {
            toml::from_str(&format!("[app]\nname = \"a\"\n[[endpoint]]\nroute = \"GET /x\"\n{e}\n")).unwrap()
        };
        assert_eq!(escaping_path(&manifest("component = \"c/x.wasm\"")), None);
        assert_eq!(escaping_path(&manifest("component = \"./x.wasm\"")), None);
        assert_eq!(escaping_path(&manifest("component = \"/etc/passwd\"")).as_deref(), Some("endpoint[0].component"));
        assert_eq!(
            escaping_path(&manifest("component = \"x.wasm\"\nschema = \"../../s.json\"")).as_deref(),
            Some("endpoint[0].schema")
        );
    }

    #[test]
    fn names() {
        for ok in ["a", "shop", "acme-2", "x1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "A", "1a", "a_b", "a-", "-a", "a.b", &"a".repeat(41)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
