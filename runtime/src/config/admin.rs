//! `[admin]`: where the admin API listens and the token that opens it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Deserialize;

use super::policy::Problem;

/// Where the admin API listens when `listen` is not set: loopback only.
const DEFAULT_LISTEN: &str = "127.0.0.1:8081";
/// The shortest admin token accepted.
const MIN_TOKEN_CHARS: usize = 16;

/// `[admin]`: the admin API's own listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Where it listens (loopback by default).
    pub listen: SocketAddr,
    /// The bearer token; without one the admin API is off.
    pub token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    listen: Option<String>,
    token: Option<String>,
    token_env: Option<String>,
}

pub(super) fn admin(raw: &RawAdmin, env: &BTreeMap<String, String>) -> Result<AdminConfig, Problem> {
    let listen_text = raw.listen.clone().unwrap_or_else(|| DEFAULT_LISTEN.into());
    let listen = listen_text
        .parse()
        .map_err(|_| ("admin.listen".to_string(), format!("`{listen_text}` is not an address: write IP:PORT")))?;
    let token = match (&raw.token, &raw.token_env) {
        (Some(_), Some(_)) => return Err(("admin.token".into(), "set `token` or `token_env`, not both".into())),
        (Some(t), None) => Some(t.clone()),
        (None, Some(var)) => env.get(var).filter(|v| !v.is_empty()).cloned(),
        (None, None) => env.get("GATEHOUSE_ADMIN_TOKEN").filter(|v| !v.is_empty()).cloned(),
    };
    if let Some(t) = &token
        && t.len() < MIN_TOKEN_CHARS
    {
        return Err((
            "admin.token".into(),
            format!("is shorter than {MIN_TOKEN_CHARS} characters; use a long random token"),
        ));
    }
    Ok(AdminConfig { listen, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_admin_token_comes_from_the_file_the_named_variable_or_gatehouse_admin_token() {
        let raw = |token: Option<&str>, token_env: Option<&str>| RawAdmin {
            listen: None,
            token: token.map(String::from),
            token_env: token_env.map(String::from),
        };
        let vars =
            env(&[("MY_TOKEN", "a-token-from-my-variable"), ("GATEHOUSE_ADMIN_TOKEN", "the-default-variable-token")]);
        let token = |r: RawAdmin| admin(&r, &vars).map(|a| a.token);
        assert_eq!(
            token(raw(Some("written-in-the-file-itself"), None)).unwrap().as_deref(),
            Some("written-in-the-file-itself")
        );
        assert_eq!(token(raw(None, Some("MY_TOKEN"))).unwrap().as_deref(), Some("a-token-from-my-variable"));
        assert_eq!(token(raw(None, None)).unwrap().as_deref(), Some("the-default-variable-token"));
        assert_eq!(admin(&raw(None, None), &BTreeMap::new()).unwrap().token, None);
        assert!(token(raw(Some("x"), Some("MY_TOKEN"))).unwrap_err().1.contains("not both"));
        assert!(token(raw(Some("short"), None)).unwrap_err().1.contains("16 characters"));
    }
}
