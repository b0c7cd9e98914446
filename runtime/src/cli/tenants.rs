//! `gatehouse tenants …`: written straight to the platform store, like keys.
//! A running server notices the change (SQLite's change counter, or a
//! Postgres notification) and serves the new tenant within a second.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::fail;
use crate::config::{JwtAlgorithm, PlatformConfig, valid_name};
use crate::registry::{Quotas, RateQuota, SessionSettings, TenantSettings};
use crate::store::Store;

#[derive(Subcommand, Debug)]
pub(super) enum TenantsCommand {
    /// Create a tenant; it is served at {name}.{domain} and {prefix}/{name}/.
    Create {
        /// Lower-case letters, digits and -, starting with a letter.
        name: String,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Replace a tenant's settings.
    Update {
        /// The tenant.
        name: String,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// List tenants.
    List,
    /// Delete a tenant with its apps, keys and secrets (its database is kept).
    Delete {
        /// The tenant.
        name: String,
    },
}

#[derive(Args, Debug)]
pub(super) struct SettingsArgs {
    /// Endpoints its apps may deploy in all.
    #[arg(long)]
    max_components: Option<u32>,
    /// Memory per instance, at most.
    #[arg(long)]
    memory_mb: Option<u64>,
    /// Requests over all its endpoints, as LIMIT/WINDOW, e.g. 1000/1m.
    #[arg(long)]
    rate_limit: Option<String>,
    /// Request body, at most.
    #[arg(long)]
    body_kb: Option<u64>,
    /// Instances it may run at once (its share of the pool).
    #[arg(long)]
    max_concurrent: Option<u32>,
    /// The most CPU time any of its endpoints may ask for, per request.
    #[arg(long)]
    cpu_ms: Option<u64>,
    /// The most wall time any of its endpoints may ask for, per request.
    #[arg(long)]
    wall_ms: Option<u64>,
    /// Its database and stored bundles together, at most.
    #[arg(long)]
    storage_mb: Option<u64>,
    /// Its objects in object storage, at most.
    #[arg(long)]
    blobs_mb: Option<u64>,
    /// Session tokens: HS256, RS256 or ES256.
    #[arg(long)]
    session_algorithm: Option<String>,
    /// HS256: the name of one of the tenant's secrets.
    #[arg(long)]
    session_secret: Option<String>,
    /// RS256/ES256: a PEM public key file (read now, stored inline).
    #[arg(long)]
    session_public_key: Option<PathBuf>,
    /// RS256/ES256: a JWKS file (read now, stored inline).
    #[arg(long)]
    session_jwks: Option<PathBuf>,
    /// Required `iss`.
    #[arg(long)]
    session_issuer: Option<String>,
    /// Required `aud`.
    #[arg(long)]
    session_audience: Option<String>,
    /// The session cookie's name.
    #[arg(long)]
    session_cookie: Option<String>,
}

impl SettingsArgs {
    fn settings(self) -> Result<TenantSettings, String> {
        let rate_limit = match self.rate_limit {
            None => None,
            Some(r) => {
                let (limit, window) =
                    r.split_once('/').ok_or_else(|| format!("--rate-limit {r}: write LIMIT/WINDOW, like 1000/1m"))?;
                let limit = limit.trim().parse().map_err(|_| format!("--rate-limit {r}: {limit} is not a number"))?;
                Some(RateQuota { limit, window: window.trim().to_string() })
            }
        };
        let read = |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let session = match self.session_algorithm {
            None => None,
            Some(a) => {
                let algorithm = match a.to_ascii_uppercase().as_str() {
                    "HS256" => JwtAlgorithm::HS256,
                    "RS256" => JwtAlgorithm::RS256,
                    "ES256" => JwtAlgorithm::ES256,
                    other => return Err(format!("--session-algorithm {other}: use HS256, RS256 or ES256")),
                };
                let jwks = match &self.session_jwks {
                    Some(p) => {
                        Some(serde_json::from_str(&read(p)?).map_err(|e| format!("{} is not JSON: {e}", p.display()))?)
                    }
                    None => None,
                };
                Some(SessionSettings {
                    algorithm,
                    secret: self.session_secret,
                    public_key_pem: self.session_public_key.as_ref().map(read).transpose()?,
                    jwks,
                    issuer: self.session_issuer,
                    audience: self.session_audience,
                    cookie: self.session_cookie,
                })
            }
        };
        Ok(TenantSettings {
            quotas: Quotas {
                max_components: self.max_components,
                memory_mb: self.memory_mb,
                rate_limit,
                body_kb: self.body_kb,
                max_concurrent: self.max_concurrent,
                cpu_ms: self.cpu_ms,
                wall_ms: self.wall_ms,
                storage_mb: self.storage_mb,
                blobs_mb: self.blobs_mb,
            },
            session,
        })
    }
}

pub(super) async fn run(config: &PlatformConfig, action: TenantsCommand) -> std::process::ExitCode {
    let store = match Store::open(&config.platform).await {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    let checked = |settings: SettingsArgs| -> Result<String, String> {
        let s = settings.settings()?;
        s.check(config)?;
        Ok(serde_json::to_string(&s).unwrap_or_default())
    };
    match action {
        TenantsCommand::Create { name, settings } => {
            if !valid_name(&name) {
                return fail(format!(
                    "`{name}` is not a tenant name: lower-case letters, digits and -, starting with a letter, at most 40"
                ));
            }
            let json = match checked(settings) {
                Ok(j) => j,
                Err(e) => return fail(e),
            };
            match store.create_tenant(&name, &json).await {
                Ok(true) => {
                    let prefix = &config.platform.tenant_path_prefix;
                    match &config.platform.domain {
                        Some(d) => println!("created tenant {name}: served at {name}.{d} and {prefix}/{name}/"),
                        None => println!("created tenant {name}: served at {prefix}/{name}/"),
                    }
                    std::process::ExitCode::SUCCESS
                }
                Ok(false) => {
                    fail(format!("tenant {name} exists already; `gatehouse tenants update {name}` changes it"))
                }
                Err(e) => fail(e.to_string()),
            }
        }
        TenantsCommand::Update { name, settings } => {
            let json = match checked(settings) {
                Ok(j) => j,
                Err(e) => return fail(e),
            };
            match store.update_tenant(&name, &json).await {
                Ok(true) => {
                    println!("updated tenant {name}");
                    std::process::ExitCode::SUCCESS
                }
                Ok(false) => fail(format!("no tenant {name}; `gatehouse tenants list` shows them")),
                Err(e) => fail(e.to_string()),
            }
        }
        TenantsCommand::List => match store.list_tenants().await {
            Ok(list) => {
                println!("{:<24}  {:<12}  SETTINGS", "NAME", "CREATED");
                for t in list {
                    println!("{:<24}  {:<12}  {}", t.name, t.created_at, t.settings);
                }
                std::process::ExitCode::SUCCESS
            }
            Err(e) => fail(e.to_string()),
        },
        TenantsCommand::Delete { name } => {
            if name == config.platform.tenant {
                return fail(format!("{name} is platform.toml's tenant; change [platform] tenant to retire it"));
            }
            match store.delete_tenant(&name).await {
                Ok(true) => {
                    println!("deleted tenant {name}");
                    std::process::ExitCode::SUCCESS
                }
                Ok(false) => fail(format!("no tenant {name}")),
                Err(e) => fail(e.to_string()),
            }
        }
    }
}
