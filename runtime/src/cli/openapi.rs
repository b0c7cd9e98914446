//! `gatehouse openapi [--tenant T]`: a tenant's OpenAPI document on stdout,
//! generated from what it serves (platform.toml's endpoints and its deployed
//! apps), as its clients get it at `/openapi.json`.

use crate::app::App;
use crate::config::PlatformConfig;

pub(super) async fn print(config: &PlatformConfig, tenant: Option<String>) -> std::process::ExitCode {
    crate::telemetry::init(config.platform.log_format);
    let app = match App::prepare(config).await {
        Ok(app) => app,
        Err(e) => return super::fail(e.to_string()),
    };
    let name = tenant.unwrap_or_else(|| config.platform.tenant.clone());
    let live = match app.registry.wake(&name).await {
        Ok(live) => live,
        Err(crate::registry::ChangeError::NotFound(_)) => {
            return super::fail(format!("no tenant {name}; `gatehouse tenants list` shows them"));
        }
        Err(e) => return super::fail(format!("tenant {name} could not be loaded: {e}")),
    };
    let base = if name == config.platform.tenant {
        "/".to_string()
    } else {
        format!("{}/{name}", config.platform.tenant_path_prefix)
    };
    let document = crate::registry::openapi::document(&live, &base);
    println!("{}", serde_json::to_string_pretty(&document).unwrap_or_default());
    std::process::ExitCode::SUCCESS
}
