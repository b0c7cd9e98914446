//! A client of a running server's admin API, for the commands that talk to
//! one (`deploy`, `apps`, `status`): where it is, which credential to send,
//! and the envelope's `data` or error as one message.

use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::config::PlatformConfig;

#[derive(Args, Debug, Clone)]
pub(super) struct ServerArgs {
    /// The admin API (default: http://<admin.listen> from platform.toml; also GATEHOUSE_SERVER).
    #[arg(long)]
    server: Option<String>,
    /// The admin token or the tenant's deploy key (default: GATEHOUSE_DEPLOY_KEY, then the admin token).
    #[arg(long)]
    token: Option<String>,
}

pub(super) struct Client {
    pub(super) base: String,
    pub(super) token: String,
    pub(super) http: reqwest::Client,
}

impl Client {
    pub(super) fn new(config: Option<&PlatformConfig>, args: &ServerArgs) -> Result<Self, String> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let base = args
            .server
            .clone()
            .or_else(|| env("GATEHOUSE_SERVER"))
            .or_else(|| config.map(|c| format!("http://{}", c.admin.listen)))
            .unwrap_or_else(|| "http://127.0.0.1:8081".into());
        let token = args
            .token
            .clone()
            .or_else(|| env("GATEHOUSE_DEPLOY_KEY"))
            .or_else(|| config.and_then(|c| c.admin.token.clone()))
            .ok_or("no credentials: pass --token, or set GATEHOUSE_DEPLOY_KEY (a key with scope deploy) or the admin token")?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(600)).build().map_err(|e| e.to_string())?;
        Ok(Self { base: base.trim_end_matches('/').to_string(), token, http })
    }

    pub(super) async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, String> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| {
            format!(
                "cannot reach the admin API at {} ({e}); is `gatehouse serve` running with an admin token?",
                self.base
            )
        })?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| format!("the server's answer is not JSON: {e}"))?;
        if status.is_success() {
            Ok(body["data"].clone())
        } else {
            Err(format!("{} ({})", body["error"].as_str().unwrap_or("refused"), body["code"].as_str().unwrap_or("?")))
        }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}
