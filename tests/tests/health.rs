//! What a load balancer, Kubernetes and an operator's script ask a node:
//! `GET /healthz` (alive), `GET /readyz` (its store and Redis answer, every
//! endpoint compiled), and `gatehouse status` (the node's health in lines,
//! non-zero when a backing service is down).

use std::time::{Duration, Instant};

use gatehouse_tests::config::quote;
use gatehouse_tests::{ADMIN_TOKEN, Platform, client, example_path, json};

fn hello() -> Platform {
    Platform::new().admin().endpoint("GET /hello", &example_path("hello"))
}

/// Polls `/readyz` until it answers `status`, for at most 15 s (a readiness
/// answer is kept for a second, and a dead service takes its deadline).
async fn until_readyz(s: &gatehouse_tests::Server, status: u16) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let resp = client().get(s.url("/readyz")).send().await.unwrap();
        if resp.status().as_u16() == status {
            return json(resp).await;
        }
        assert!(Instant::now() < deadline, "/readyz did not answer {status} within 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn check<'a>(body: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let checks = body["checks"].as_array().or_else(|| body["details"]["checks"].as_array()).expect("checks");
    checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name} check in {body}"))
}

#[tokio::test]
async fn a_healthy_node_is_alive_ready_and_says_so() {
    let s = hello().start();
    let resp = client().get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await, serde_json::json!({"status": "ok"}));

    let ready = until_readyz(&s, 200).await;
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(check(&ready, "store")["ok"], true);
    assert_eq!(check(&ready, "endpoints")["ok"], true);
    // No Redis configured: nothing to check.
    assert!(ready["checks"].as_array().unwrap().iter().all(|c| c["name"] != "redis"));
    // An anonymous prober learns verdicts, not the backends or their errors.
    assert!(check(&ready, "store").get("detail").is_none(), "{ready}");
    // HEAD, as some load balancers send.
    let resp = client().head(s.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    // The operator's view: the admin API and the CLI.
    let (status, body) = s.admin_call(reqwest::Method::GET, "/admin/v1/status", None).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["ready"], true);
    assert!(check(data, "store")["detail"].as_str().unwrap().starts_with("sqlite, answered in"), "{data}");
    assert_eq!(check(data, "endpoints")["detail"], "1 of 1 compiled and routed");
    assert_eq!(data["tenants"], 1);
    assert_eq!(data["apps"], 0);
    assert_eq!(data["instancesInUse"], 0);
    assert!(data["lastSyncSecondsAgo"].as_i64().unwrap() <= 5, "{data}");
    let resp = client().get(s.admin_url("/admin/v1/status")).send().await.unwrap();
    assert_eq!(resp.status(), 401, "the node's status is the operator's");

    let (ok, stdout, stderr) = s.cli(&["status", "--server", &s.admin_url(""), "--token", ADMIN_TOKEN]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("store      ok   sqlite"), "{stdout}");
    assert!(stdout.contains("redis      not configured"), "{stdout}");
    assert!(stdout.contains("tenants    1"), "{stdout}");
    assert!(stdout.trim_end().ends_with("ready"), "{stdout}");
}

#[tokio::test]
async fn a_dead_redis_makes_the_node_unready_while_it_stays_alive() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = hello().platform("redis_url", &quote(&format!("redis://127.0.0.1:{port}"))).start();
    let body = until_readyz(&s, 503).await;
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert!(body["error"].as_str().unwrap().contains("(redis down)"), "{body}");
    assert!(!body.to_string().contains(&port.to_string()), "the prober learns no address: {body}");
    assert_eq!(check(&body, "redis")["ok"], false);
    assert_eq!(check(&body, "store")["ok"], true);
    // Alive all the same, and serving what needs no Redis.
    assert_eq!(client().get(s.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(client().get(s.url("/hello")).send().await.unwrap().status(), 200);

    let (ok, stdout, stderr) = s.cli(&["status", "--server", &s.admin_url(""), "--token", ADMIN_TOKEN]);
    assert!(!ok, "status must fail when Redis is down:\n{stdout}");
    assert!(stdout.contains("redis      DOWN"), "{stdout}");
    assert!(stdout.contains("NOT READY"), "{stdout}");
    assert!(stderr.contains("not ready"), "{stderr}");
}

#[tokio::test]
async fn a_dead_store_makes_the_node_unready() {
    let Some(url) = gatehouse_tests::database_url() else { return };
    let target: std::net::SocketAddr = url.rsplit('@').next().unwrap().split('/').next().unwrap().parse().unwrap();
    let proxy = gatehouse_tests::CuttableProxy::start(target);
    let proxied = url.replacen(&target.to_string(), &proxy.addr.to_string(), 1);
    let tenant = gatehouse_tests::unique_tenant("probe");
    let _cleanup = gatehouse_tests::TenantCleanup { url: url.clone(), tenant: tenant.clone() };
    let s = hello()
        .platform("tenant", &quote(&tenant))
        .platform("database_url", &quote(&proxied))
        .platform("store_schema", &quote(&gatehouse_tests::store_schema(&tenant)))
        .start();
    until_readyz(&s, 200).await;
    proxy.cut().await;
    let body = until_readyz(&s, 503).await;
    assert_eq!(check(&body, "store")["ok"], false, "{body}");
    assert!(body["error"].as_str().unwrap().contains("(store down)"), "{body}");
    assert_eq!(client().get(s.url("/healthz")).send().await.unwrap().status(), 200);
    let (ok, stdout, _) = s.cli(&["status", "--server", &s.admin_url(""), "--token", ADMIN_TOKEN]);
    assert!(!ok && stdout.contains("store      DOWN"), "{stdout}");
}

#[tokio::test]
async fn status_fails_clearly_when_no_node_answers() {
    let s = hello().start();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nowhere = format!("http://127.0.0.1:{port}");
    let (ok, _, stderr) = s.cli(&["status", "--server", &nowhere, "--token", ADMIN_TOKEN]);
    assert!(!ok);
    assert!(stderr.contains("cannot reach the admin API"), "{stderr}");
}

#[test]
fn the_probe_paths_are_the_platforms() {
    let config = Platform::new().endpoint("GET /healthz", &example_path("hello")).toml();
    let (status, _, stderr) = gatehouse_tests::run_expecting_exit(&config);
    assert!(!status.success());
    assert!(stderr.contains("/healthz") && stderr.contains("reserved"), "{stderr}");
}

#[tokio::test]
async fn every_limit_is_listed_with_this_configs_values() {
    let s = hello().section("limits", &[("cpu_ms", "75")]).section("outbound", &[("max_calls", "3")]).start();
    let (status, body) = s.admin_call(reqwest::Method::GET, "/admin/v1/limits", None).await;
    assert_eq!(status, 200);
    let limits = body["data"].as_array().unwrap();
    let row = |name: &str| limits.iter().find(|l| l["name"] == name).unwrap_or_else(|| panic!("no {name}"));
    assert_eq!(row("cpu_ms")["value"], 75);
    assert_eq!(row("cpu_ms")["unit"], "ms");
    assert!(row("cpu_ms")["whenHit"].as_str().unwrap().contains("GUEST_TIMEOUT"));
    assert_eq!(row("outbound_calls")["value"], 3);
    assert_eq!(row("log_lines")["setIn"], "fixed");

    // The CLI prints the same rows from the same config.
    let (ok, stdout, stderr) = s.cli(&["limits", "--json"]);
    assert!(ok, "{stderr}");
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(&printed, &body["data"]);
    let (ok, stdout, _) = s.cli(&["limits"]);
    assert!(ok);
    let cpu = stdout.lines().find(|l| l.starts_with("cpu_ms ")).unwrap();
    assert!(cpu.contains(" 75 ") && cpu.contains("ms"), "{cpu}");
    let (_, defaults, _) = s.cli(&["limits", "--json", "--defaults"]);
    let defaults: serde_json::Value = serde_json::from_str(&defaults).unwrap();
    assert_eq!(defaults.as_array().unwrap().iter().find(|l| l["name"] == "cpu_ms").unwrap()["value"], 50);
}

/// Redis's count of `PING`s answered so far.
async fn pings(url: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stats: String = redis::cmd("INFO").arg("commandstats").query_async(&mut conn).await.unwrap();
    stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_ping:calls="))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_anonymous_probes_asks_redis_about_once_a_second() {
    let Some(redis) = gatehouse_tests::redis_url() else { return };
    let s = hello().platform("redis_url", &quote(&redis)).start();
    let before = pings(&redis).await;
    let started = Instant::now();
    let mut probes = tokio::task::JoinSet::new();
    for _ in 0..400 {
        let url = s.url("/readyz");
        probes.spawn(async move { client().get(url).send().await.unwrap().status() });
    }
    while let Some(status) = probes.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    // One check a second at most, whoever asks: the count of PINGs Redis
    // answered is bounded by the seconds the flood lasted, not the 400 probes.
    let seconds = started.elapsed().as_secs() + 2;
    let asked = pings(&redis).await - before;
    assert!(asked >= 1 && asked <= seconds, "{asked} PINGs for 400 probes in under {seconds} s");
    assert_eq!(client().get(s.url("/hello")).send().await.unwrap().status(), 200);
}
