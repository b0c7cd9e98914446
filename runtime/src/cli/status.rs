//! `gatehouse status`: a running node's health, from its admin API
//! (`GET /admin/v1/status`), one line a fact. Exits non-zero when the node
//! cannot be reached or is not ready (a backing service is down, an endpoint
//! did not compile), so scripts and cron can act on it.

use serde_json::Value;

use super::client::{Client, ServerArgs};
use crate::config::PlatformConfig;

pub(super) async fn print(config: Option<PlatformConfig>, server: ServerArgs) -> std::process::ExitCode {
    let client = match Client::new(config.as_ref(), &server) {
        Ok(c) => c,
        Err(e) => return super::fail(e),
    };
    let status = match client.send(client.http.get(client.url("/admin/v1/status"))).await {
        Ok(s) => s,
        Err(e) => return super::fail(e),
    };
    for line in lines(&status) {
        println!("{line}");
    }
    if status["ready"].as_bool() == Some(true) {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("error: this node is not ready; the checks marked down above say what to fix");
        std::process::ExitCode::FAILURE
    }
}

/// The report as aligned `label  value` lines.
fn lines(s: &Value) -> Vec<String> {
    let mut out = vec![format!(
        "{:<10} gatehouse {}, up {}",
        "node",
        s["version"].as_str().unwrap_or("?"),
        duration(s["uptimeSeconds"].as_u64().unwrap_or(0))
    )];
    let checks = s["checks"].as_array().cloned().unwrap_or_default();
    let has_redis = checks.iter().any(|c| c["name"] == "redis");
    for check in &checks {
        let state = if check["ok"].as_bool() == Some(true) { "ok  " } else { "DOWN" };
        out.push(format!(
            "{:<10} {state} {}",
            check["name"].as_str().unwrap_or("?"),
            check["detail"].as_str().unwrap_or("")
        ));
        // Redis's line where it would be, after the store's, when there is none.
        if check["name"] == "store" && !has_redis {
            out.push(format!("{:<10} not configured (rate limits in memory)", "redis"));
        }
    }
    out.push(format!("{:<10} {}", "tenants", s["tenants"]));
    out.push(format!("{:<10} {}", "apps", s["apps"]));
    out.push(format!("{:<10} {} in use, {} waiting", "instances", s["instancesInUse"], s["instancesWaiting"]));
    out.push(format!("{:<10} {} ago", "last sync", duration(s["lastSyncSecondsAgo"].as_u64().unwrap_or(0))));
    out.push(if s["ready"].as_bool() == Some(true) { "ready".into() } else { "NOT READY".into() });
    out
}

/// `3h2m`, `4m10s`, `12s`.
fn duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_as_one_fact_a_line_and_says_what_is_down() {
        let report = serde_json::json!({
            "ready": false, "version": "0.1.0", "uptimeSeconds": 250,
            "checks": [
                {"name": "store", "ok": true, "detail": "sqlite, answered in 0.3 ms"},
                {"name": "redis", "ok": false, "detail": "cannot connect to Redis: refused"},
                {"name": "endpoints", "ok": true, "detail": "3 of 3 compiled and routed"}
            ],
            "tenants": 2, "apps": 1, "instancesInUse": 0, "instancesWaiting": 0, "lastSyncSecondsAgo": 0
        });
        let lines = lines(&report);
        assert_eq!(lines[0], "node       gatehouse 0.1.0, up 4m10s");
        assert_eq!(lines[2], "redis      DOWN cannot connect to Redis: refused");
        assert_eq!(lines.last().unwrap(), "NOT READY");
        assert_eq!(duration(7322), "2h2m");
        let memory_only = serde_json::json!({"ready": true, "checks": [
            {"name": "store", "ok": true, "detail": "sqlite"}, {"name": "endpoints", "ok": true, "detail": "1 of 1"}
        ]});
        assert_eq!(super::lines(&memory_only)[2], "redis      not configured (rate limits in memory)");
    }
}
