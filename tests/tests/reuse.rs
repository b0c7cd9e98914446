//! Instance reuse (`reuse = {…}`), black-box: an endpoint that opts in serves
//! several requests, one at a time, from one instance; nothing else does. An
//! instance that trapped, ran out of memory, left a transaction open, served
//! its `requests` or outlived its `idle` never serves again, nor does an
//! instance of an old version after a deploy or a rollback. The guest
//! (`tests/guests/hostile`) counts its calls in a static: the count is what
//! the next request would see of the last one.
//!
//! Ready instances (`sandbox.ready_instances`), made ahead in idle time for
//! endpoints slow to instantiate: the request that takes one finds it never
//! called, and the node never holds more than its cap.

use std::time::Duration;

use gatehouse::registry::Bundle;
use gatehouse_tests::{ADMIN_TOKEN, DbBackend, Platform, Server, client, guests, json, repo_path};
use serde_json::{Value, json};

/// GET `path?do=act`: (status, body).
async fn act(s: &Server, path: &str, act: &str) -> (u16, Value) {
    let resp = client().get(s.url(&format!("{path}?do={act}"))).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, json(resp).await)
}

/// The calls the serving instance has counted, this one included.
async fn calls(s: &Server, path: &str) -> u64 {
    let (status, body) = act(s, path, "remember").await;
    assert_eq!(status, 200, "{body}");
    body["data"]["calls"].as_u64().unwrap()
}

#[tokio::test]
async fn an_instance_serves_again_only_where_its_endpoint_opted_in_and_only_after_a_clean_end() {
    let s = DbBackend::Sqlite
        .platform()
        .endpoint("GET /kept", guests::HOSTILE)
        .with("reuse", "{ requests = 4, idle = \"60s\" }")
        .endpoint("GET /fresh", guests::HOSTILE)
        .start();
    // Without `reuse`, a fresh instance every time.
    for _ in 0..3 {
        assert_eq!(calls(&s, "/fresh").await, 1);
    }
    // With it, one instance until it has served `requests`.
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(calls(&s, "/kept").await);
    }
    assert_eq!(seen, [1, 2, 3, 4, 1, 2]);
    // Another endpoint of the same tenant never gets that instance.
    assert_eq!(calls(&s, "/fresh").await, 1);
    // A trap ends the instance.
    let (status, body) = act(&s, "/kept", "panic").await;
    assert_eq!((status, body["code"].as_str()), (500, Some("GUEST_TRAP")), "{body}");
    assert_eq!(calls(&s, "/kept").await, 1);
    // Transactions the guest dropped ended with their request: the instance is clean.
    let (status, body) = act(&s, "/kept", "hold-transactions").await;
    assert_eq!((status, body["data"]["opened"].as_u64()), (200, Some(4)), "{body}");
    assert_eq!(calls(&s, "/kept").await, 2);
    // One kept in a static would outlive the request: it ends with it, and so does the instance.
    for _ in 0..3 {
        let (status, body) = act(&s, "/kept", "stash-transaction").await;
        assert_eq!((status, body["data"]["stashed"].as_u64()), (200, Some(1)), "{body}");
    }
    assert_eq!(calls(&s, "/kept").await, 1);
    // Nothing was leaked: all four of a request's transactions still open.
    let (status, body) = act(&s, "/kept", "hold-transactions").await;
    assert_eq!((status, body["data"]["opened"].as_u64()), (200, Some(4)), "{body}");
}

#[tokio::test]
async fn memory_stays_within_memory_mb_across_the_requests_an_instance_serves() {
    let s = Platform::new()
        .endpoint("GET /kept", guests::HOSTILE)
        .with("reuse", "{ requests = 1000 }")
        .with("limits", "{ memory_mb = 8 }")
        .endpoint("GET /fresh", guests::HOSTILE)
        .start();
    // The guest keeps 1 MiB more on each request; its instance is the same one
    // until the memory limit stops it.
    let mut kept = Vec::new();
    let mut stopped = None;
    for _ in 0..16 {
        let (status, body) = act(&s, "/kept", "hoard").await;
        if status != 200 {
            stopped = Some((status, body));
            break;
        }
        kept.push(body["data"]["mib"].as_u64().unwrap());
    }
    let (status, body) = stopped.expect("the memory limit never stopped the hoard");
    assert_eq!((status, body["code"].as_str()), (500, Some("GUEST_MEMORY_EXCEEDED")), "{body}");
    assert!(kept.len() >= 2 && kept.len() < 8, "{kept:?}");
    assert_eq!(kept, (1..=kept.len() as u64).collect::<Vec<_>>());
    // That instance is gone: the next one starts empty, and the rest of the node never noticed.
    let (status, body) = act(&s, "/kept", "hoard").await;
    assert_eq!((status, body["data"]["mib"].as_u64()), (200, Some(1)), "{body}");
    assert_eq!(calls(&s, "/fresh").await, 1);
}

#[tokio::test]
async fn an_idle_instance_is_discarded_and_a_kept_one_gives_its_slot_up() {
    // One pool slot in all: a kept instance would hold it forever if it did not yield.
    let s = Platform::new()
        .section("sandbox", &[("max_instances", "1"), ("max_instances_per_tenant", "1"), ("queue_timeout", "\"2s\"")])
        .endpoint("GET /kept", guests::HOSTILE)
        .with("reuse", "{ idle = \"1s\" }")
        .endpoint("GET /fresh", guests::HOSTILE)
        .start();
    assert_eq!(calls(&s, "/kept").await, 1);
    assert_eq!(calls(&s, "/kept").await, 2);
    // The only slot is the kept instance's: this request takes it (the kept one is dropped).
    assert_eq!(calls(&s, "/fresh").await, 1);
    assert_eq!(calls(&s, "/kept").await, 1);
    assert_eq!(calls(&s, "/kept").await, 2);
    // Idle past `idle`, it is dropped rather than reused.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(calls(&s, "/kept").await, 1);
}

#[tokio::test]
async fn a_deploy_or_a_rollback_never_lets_an_old_versions_instance_serve() {
    let s = Platform::new().admin().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    let bundle = |version: &str| {
        let mut b = Bundle::default();
        let manifest = format!(
            "[app]\nname = \"shop\"\n\n[[endpoint]]\nroute = \"GET /api/kept\"\ncomponent = \"hostile.wasm\"\n\
             reuse = {{ requests = 100 }}\nvariables = {{ VERSION = \"{version}\" }}\n"
        );
        b.files.insert("gatehouse.toml".into(), manifest.into_bytes());
        b.files.insert("hostile.wasm".into(), std::fs::read(guests::HOSTILE).unwrap());
        b.to_tar().unwrap()
    };
    let deploy = |version: &'static str| {
        let s = &s;
        async move {
            let (status, body) = s.deploy_with("acme", bundle(version), ADMIN_TOKEN).await;
            assert_eq!(status, 201, "{body}");
        }
    };
    deploy("v1").await;
    assert_eq!(calls(&s, "/t/acme/api/kept").await, 1);
    assert_eq!(calls(&s, "/t/acme/api/kept").await, 2);
    // A new version: a new instance, though the component is the same.
    deploy("v2").await;
    assert_eq!(calls(&s, "/t/acme/api/kept").await, 1);
    assert_eq!(calls(&s, "/t/acme/api/kept").await, 2);
    // Back to version 1: not the instance version 1 left (it would say 3).
    let (status, body) = s
        .admin_call(reqwest::Method::POST, "/admin/v1/tenants/acme/apps/shop/rollback", Some(json!({"version": 1})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(calls(&s, "/t/acme/api/kept").await, 1);
}

#[test]
fn reuse_is_refused_where_it_cannot_apply_and_where_it_is_out_of_bounds() {
    let (status, _, err) = gatehouse_tests::run_expecting_exit(
        &Platform::new().endpoint("GET /p", guests::WASI_HTTP_PROXY).with("reuse", "{ requests = 10 }").toml(),
    );
    assert!(!status.success());
    assert!(err.contains("`reuse`") && err.contains("wasi:http proxy"), "{err}");
    let (status, _, err) = gatehouse_tests::run_expecting_exit(
        &Platform::new().endpoint("GET /k", guests::HOSTILE).with("reuse", "{ requests = 0 }").toml(),
    );
    assert!(!status.success());
    assert!(err.contains("endpoint[0].reuse.requests"), "{err}");
}

/// Polls the node's stats until `done` holds (60 s at most: a slow machine
/// instantiates Python slowly), checking `always` on every reading.
async fn until_stats(s: &Server, what: &str, done: impl Fn(&Value) -> bool, always: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let stats = s.stats().await;
        assert!(always(&stats), "{stats}");
        if done(&stats) {
            return stats;
        }
        assert!(std::time::Instant::now() < deadline, "not within 60 s: {what}; {stats}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The calls the Python counter's serving instance has counted, this one included.
async fn python_calls(s: &Server, path: &str) -> u64 {
    let resp = client().get(s.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = json(resp).await;
    body["calls"].as_u64().unwrap_or_else(|| panic!("{body}"))
}

#[tokio::test]
async fn a_slow_to_start_endpoint_finds_instances_made_ahead_that_no_request_has_called() {
    let counter = repo_path("tests/polyglot/py_counter");
    // Eight slots: at most two ready instances on the node (a quarter).
    let s = Platform::new()
        .admin()
        .section("sandbox", &[("max_instances", "8")])
        .endpoint("GET /count/a", &counter)
        .endpoint("GET /count/b", &counter)
        .start();
    let ready = |v: &Value| v["instancesReady"].as_u64().unwrap_or(0);
    let taken = |v: &Value| v["readyInstancesTaken"].as_u64().unwrap_or(0);
    let at_most_cap = |v: &Value| ready(v) <= 2;
    assert_eq!(python_calls(&s, "/count/a").await, 1);
    // The node is idle: it makes the endpoint's two ready instances.
    until_stats(&s, "two ready instances", |v| ready(v) == 2, at_most_cap).await;
    for round in 1..=4 {
        let started = s.stats().await["instancesStarted"].as_u64().unwrap();
        // The request takes a ready instance, and it has served nobody before.
        assert_eq!(python_calls(&s, "/count/a").await, 1);
        let stats = s.stats().await;
        assert_eq!(stats["instancesStarted"].as_u64().unwrap(), started + 1, "one instance per request: {stats}");
        assert_eq!(taken(&stats), round, "{stats}");
        until_stats(&s, "the ready instances made again", |v| ready(v) == 2, at_most_cap).await;
    }
    // Another endpoint: its first request makes its instance, then it gets
    // two ready ones, and the node's cap of two makes room by dropping a's.
    assert_eq!(python_calls(&s, "/count/b").await, 1);
    assert_eq!(taken(&s.stats().await), 4, "b had none ready");
    until_stats(&s, "b's ready instances", |v| ready(v) == 2, at_most_cap).await;
    assert_eq!(python_calls(&s, "/count/b").await, 1);
    assert_eq!(taken(&s.stats().await), 5, "b's next request took one of its own");
    until_stats(&s, "b's ready instances again", |v| ready(v) == 2, at_most_cap).await;
    assert_eq!(python_calls(&s, "/count/a").await, 1);
    assert_eq!(taken(&s.stats().await), 5, "a's ready instances were dropped for b's");
}

#[tokio::test]
async fn a_node_with_room_for_one_ready_instance_makes_one_and_stops() {
    // Four slots: room for one ready instance on the node, so one per endpoint.
    let s = Platform::new()
        .admin()
        .section("sandbox", &[("max_instances", "4")])
        .endpoint("GET /count", &repo_path("tests/polyglot/py_counter"))
        .start();
    let count = |v: &Value, name: &str| v[name].as_u64().unwrap_or(0);
    let at_most_one = |v: &Value| count(v, "instancesReady") <= 1;
    assert_eq!(python_calls(&s, "/count").await, 1);
    let stats = until_stats(&s, "one ready instance", |v| count(v, "instancesReady") == 1, at_most_one).await;
    assert_eq!(count(&stats, "readyInstancesMade"), 1, "made once, not made and dropped over and over: {stats}");
    assert_eq!(python_calls(&s, "/count").await, 1);
    let stats = until_stats(&s, "it made again", |v| count(v, "readyInstancesMade") == 2, at_most_one).await;
    assert_eq!(count(&stats, "readyInstancesTaken"), 1, "{stats}");
    // Made again once for the one taken, and no more (its own is never dropped to make room).
    let stats = until_stats(&s, "one ready instance", |v| count(v, "instancesReady") == 1, at_most_one).await;
    assert_eq!(count(&stats, "readyInstancesMade"), 2, "{stats}");
}
