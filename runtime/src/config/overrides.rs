//! What loading takes from the process: the `GATEHOUSE_*` overrides and the
//! environment, captured once so that parsing reads nothing else.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What loading takes from the process environment, read once (by the CLI,
/// through [`Overrides::from_env`]) and passed in, so parsing itself never
/// reads the environment. Its `Debug` names the variables, never their values.
#[derive(Clone, Default)]
pub struct Overrides {
    /// `GATEHOUSE_LISTEN` or `--listen`.
    pub listen: Option<String>,
    /// `GATEHOUSE_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `GATEHOUSE_BUILD_DIR`.
    pub build_dir: Option<PathBuf>,
    /// `GATEHOUSE_CACHE_DIR`.
    pub cache_dir: Option<PathBuf>,
    /// `GATEHOUSE_REDIS_URL`.
    pub redis_url: Option<String>,
    /// `GATEHOUSE_DATABASE_URL`.
    pub database_url: Option<String>,
    /// `GATEHOUSE_STORE_SCHEMA`.
    pub store_schema: Option<String>,
    /// Every variable (UTF-8 ones), for platform.toml secrets not set in
    /// `[secrets]`, `admin.token_env` and `GATEHOUSE_ADMIN_TOKEN`.
    pub vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Overrides {
    /// Reads the `GATEHOUSE_*` variables and captures the rest.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        Self {
            listen: var("GATEHOUSE_LISTEN").map(|v| v.to_string_lossy().into_owned()),
            data_dir: var("GATEHOUSE_DATA_DIR").map(PathBuf::from),
            build_dir: var("GATEHOUSE_BUILD_DIR").map(PathBuf::from),
            cache_dir: var("GATEHOUSE_CACHE_DIR").map(PathBuf::from),
            redis_url: var("GATEHOUSE_REDIS_URL").map(|v| v.to_string_lossy().into_owned()),
            database_url: var("GATEHOUSE_DATABASE_URL").map(|v| v.to_string_lossy().into_owned()),
            store_schema: var("GATEHOUSE_STORE_SCHEMA").map(|v| v.to_string_lossy().into_owned()),
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }
}
