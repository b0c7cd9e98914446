//! Gradual rollouts, black-box: an app deployed to a share of its callers
//! (`deploy --percent`, `?percent=`), callers told apart as they would be in
//! production (each anonymous caller by its own loopback address, 127.0.1.x;
//! keyed callers by their API key), the split and its stickiness checked,
//! promotion by the CLI, and the automatic rollback when the new version's
//! error rate (5xx, traps, CPU budget stops) is over the old one's.
//!
//! The test guest `flaky` fails only on requests that ask it to (`?fail`), so
//! a client sending `?fail` on one request in five gives each version that
//! fails a known error rate of 20 %, whatever share of callers it serves.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use gatehouse_tests::config::quote;
use gatehouse_tests::{ADMIN_TOKEN, Platform, Server, TenantCleanup, app_bundle, guests, json};
use serde_json::{Value, json};

/// Judged after 40 canary requests, with the default margin of 5 points.
fn platform() -> Platform {
    Platform::new().admin().section("deploy", &[("rollback_min_requests", "40")])
}

/// App `shop`: the flaky guest at `GET /api/v`, as `version`, failing as `fails` says.
fn shop(version: u32, fails: &str) -> Vec<u8> {
    let manifest = format!(
        "[[endpoint]]\nroute = \"GET /api/v\"\ncomponent = \"flaky.wasm\"\n\
         limits = {{ cpu_ms = 50, wall_ms = 5000 }}\n\
         variables = {{ VERSION = \"{version}\", FAILS = \"{fails}\" }}\n"
    );
    app_bundle("shop", &manifest, &[("flaky.wasm", &std::fs::read(guests::FLAKY).unwrap())])
}

/// The tenant of the one-node tests.
const T: &str = "acme";

async fn deploy_share(s: &Server, tenant: &str, tar: Vec<u8>, percent: Option<&str>) -> (u16, Value) {
    let query = percent.map(|p| format!("?percent={p}")).unwrap_or_default();
    let resp = gatehouse_tests::client()
        .post(s.admin_url(&format!("/admin/v1/tenants/{tenant}/apps{query}")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/x-tar")
        .body(tar)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), json(resp).await)
}

async fn rollout(s: &Server, tenant: &str) -> Value {
    let path = format!("/admin/v1/tenants/{tenant}/apps/shop/rollout");
    s.admin_call(reqwest::Method::GET, &path, None).await.1["data"].clone()
}

/// Anonymous callers, each from its own loopback address.
struct Callers(Vec<reqwest::Client>);

impl Callers {
    fn new(n: u8) -> Self {
        Self(
            (1..=n)
                .map(|i| {
                    reqwest::Client::builder()
                        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 1, i)))
                        .timeout(Duration::from_secs(30))
                        .build()
                        .unwrap()
                })
                .collect(),
        )
    }

    /// Caller `i` asks once: (status, the version that answered, if it answered).
    async fn ask(&self, s: &Server, tenant: &str, i: usize, fail: bool) -> (u16, Option<String>) {
        let path = format!("/t/{tenant}/api/v{}", if fail { "?fail" } else { "" });
        let resp = self.0[i].get(s.url(&path)).send().await.unwrap();
        let status = resp.status().as_u16();
        let body = json(resp).await;
        (status, body["data"]["version"].as_str().map(str::to_string))
    }

    /// Which version each caller gets (none ask to fail).
    async fn versions(&self, s: &Server, tenant: &str) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..self.0.len() {
            let (status, version) = self.ask(s, tenant, i, false).await;
            assert_eq!(status, 200, "caller {i}");
            out.push(version.unwrap());
        }
        out
    }
}

fn share(versions: &[String], version: &str) -> usize {
    versions.iter().filter(|v| *v == version).count()
}

#[tokio::test]
async fn a_share_of_callers_gets_the_new_version_each_caller_always_the_same_one_until_promoted() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    assert_eq!(deploy_share(&s, T, shop(1, ""), None).await.0, 201);
    let (status, body) = deploy_share(&s, T, shop(2, ""), Some("30")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!((body["data"]["version"].as_i64(), body["data"]["percent"].as_i64()), (Some(2), Some(30)));

    // 200 callers: about 30 % of them get version 2, each one every time.
    let callers = Callers::new(200);
    let first = callers.versions(&s, T).await;
    let canary = share(&first, "2");
    assert_eq!(canary + share(&first, "1"), 200, "{first:?}");
    assert!((40..=80).contains(&canary), "{canary} of 200 callers got the canary at 30 %");
    assert_eq!(callers.versions(&s, T).await, first, "a caller changed versions");

    // A caller with an API key is its key: the same version each time, from any address.
    let key = s.create_key(&["--tenant", "acme"]);
    let mut seen = std::collections::BTreeSet::new();
    for c in callers.0.iter().take(10) {
        let resp = c.get(s.url("/t/acme/api/v")).bearer_auth(&key).send().await.unwrap();
        seen.insert(json(resp).await["data"]["version"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 1, "one key, several versions: {seen:?}");

    // This node counted every answer, on both sides, no errors.
    let r = rollout(&s, T).await;
    assert_eq!(
        (r["activeVersion"].as_i64(), r["canaryVersion"].as_i64(), r["percent"].as_i64()),
        (Some(1), Some(2), Some(30))
    );
    let n = &r["thisNode"];
    assert_eq!(n["canaryRequests"].as_u64().unwrap() + n["activeRequests"].as_u64().unwrap(), 410, "{r}");
    assert_eq!((n["canaryErrors"].as_u64(), n["activeErrors"].as_u64()), (Some(0), Some(0)));

    let server = s.admin.clone().unwrap();
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--tenant", "acme", "--server", &server, "--token", ADMIN_TOKEN]);
        s.cli(&all)
    };
    let (ok, out, err) = cli(&["apps", "list"]);
    assert!(ok && out.lines().any(|l| l.starts_with("shop") && l.contains("2 at 30 %")), "{out}{err}");

    // A wider share keeps every caller that had the new version on it.
    let (ok, out, err) = cli(&["apps", "promote", "shop", "--percent", "60"]);
    assert!(ok && out.contains("60 %"), "{out}{err}");
    let wider = callers.versions(&s, T).await;
    assert!(first.iter().zip(&wider).all(|(a, b)| a != "2" || b == "2"), "a canary caller went back");
    assert!((100..=140).contains(&share(&wider, "2")), "{} of 200 at 60 %", share(&wider, "2"));
    assert_eq!(
        rollout(&s, T).await["thisNode"]["canaryRequests"].as_u64().unwrap() as usize,
        canary * 2 + share(&wider, "2") + if seen.contains("2") { 10 } else { 0 },
        "a new share keeps the counts"
    );

    // Promoted: every caller, and the versions list says so.
    let (ok, out, err) = cli(&["apps", "promote", "shop"]);
    assert!(ok && out.contains("shop@2"), "{out}{err}");
    assert_eq!(share(&callers.versions(&s, T).await, "2"), 200);
    let r = rollout(&s, T).await;
    assert_eq!((r["activeVersion"].as_i64(), r["canaryVersion"].as_i64()), (Some(2), None), "{r}");
    let (_, versions) = s.admin_call(reqwest::Method::GET, "/admin/v1/tenants/acme/apps/shop/versions", None).await;
    assert_eq!(versions["data"][0]["active"], true, "{versions}");
    let (ok, out, _) = cli(&["apps", "rollout", "shop"]);
    assert!(ok && out.contains("no rollout under way"), "{out}");
}

/// Drives the rollout until the canary is gone or `most` requests were sent;
/// the note saying why. Each caller's version is learnt first (it sticks),
/// so one request in five of each version's asks it to fail: at every moment
/// each version has been asked to fail on 20 % of its requests, give or
/// take one request.
async fn drive_until_rolled_back(s: &Server, tenant: &str, callers: &Callers, most: usize) -> Option<String> {
    let sides = callers.versions(s, tenant).await;
    let mut sent: std::collections::HashMap<&str, usize> = Default::default();
    for i in 0..most {
        let caller = i % callers.0.len();
        let n = sent.entry(sides[caller].as_str()).or_default();
        *n += 1;
        let (status, version) = callers.ask(s, tenant, caller, *n % 5 == 1).await;
        assert!(status == 200 || status >= 500, "{status}");
        let moved = version.is_some_and(|v| v != sides[caller]);
        if moved || i % 10 == 9 {
            let r = rollout(s, tenant).await;
            if r["canaryVersion"].is_null() {
                return r["note"].as_str().map(str::to_string);
            }
            assert!(!moved, "caller {caller} changed versions during the rollout: {r}");
        }
    }
    None
}

#[tokio::test]
async fn a_canary_failing_more_than_the_active_version_rolls_back_on_its_own() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    assert_eq!(deploy_share(&s, T, shop(1, ""), None).await.0, 201);
    let callers = Callers::new(100);
    // Its own 500s, traps and CPU budget stops all count; each canary fails
    // on 20 % of its requests against none for version 1.
    for (version, fails) in [(2, "500"), (3, "trap"), (4, "cpu")] {
        let (status, body) = deploy_share(&s, T, shop(version, fails), Some("50")).await;
        assert_eq!(status, 201, "{body}");
        let Some(note) = drive_until_rolled_back(&s, T, &callers, 2000).await else {
            panic!("version {version} ({fails}) was never rolled back: {}", rollout(&s, T).await);
        };
        assert!(note.contains(&format!("version {version} was rolled back on its own")), "{note}");
        // Judged only past the minimum, on what it answered.
        let (errors, requests): (u64, u64) = {
            let counted = note.split("% (").nth(1).unwrap();
            let mut words = counted.split_whitespace();
            (words.next().unwrap().parse().unwrap(), words.nth(1).unwrap().parse().unwrap())
        };
        assert!(requests >= 40 && errors * 100 > requests * 5, "{note}");
        assert!(note.contains("against 0.0 %"), "{note}");
        // Everyone is on version 1 again, and the log says why.
        assert_eq!(share(&callers.versions(&s, T).await, "1"), 100);
        let why = format!("version {version} was rolled back on its own");
        assert!(s.until_log(&[&why, "error rate"], Duration::from_secs(10)).await, "{}", s.log());
        let (ok, out, _) = s.cli(&[
            "apps",
            "list",
            "--tenant",
            "acme",
            "--server",
            s.admin.as_deref().unwrap(),
            "--token",
            ADMIN_TOKEN,
        ]);
        assert!(ok && out.contains(&why), "{out}");
    }
    // The tenant reads the same line in its own log.
    let (_, logs) = s.admin_call(reqwest::Method::GET, "/admin/v1/tenants/acme/logs?limit=1000", None).await;
    assert!(logs.to_string().contains("version 4 was rolled back on its own"), "{logs}");
}

#[tokio::test]
async fn a_canary_failing_no_more_than_the_active_version_keeps_its_share_until_ended_by_hand() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    // Both versions fail 20 % of their requests: the same rate, not a regression.
    assert_eq!(deploy_share(&s, T, shop(1, "500"), None).await.0, 201);
    assert_eq!(deploy_share(&s, T, shop(2, "500"), Some("50")).await.0, 201);
    let callers = Callers::new(100);
    assert_eq!(drive_until_rolled_back(&s, T, &callers, 500).await, None);
    let r = rollout(&s, T).await;
    let n = &r["thisNode"];
    assert!(n["canaryRequests"].as_u64().unwrap() >= 100, "judged on too few: {r}");
    // Each version failed where asked, and only there: a fifth of what was
    // driven (the first pass, learning each caller's version, asked none).
    for side in ["canary", "active"] {
        let (errors, requests) =
            (n[format!("{side}Errors")].as_u64().unwrap(), n[format!("{side}Requests")].as_u64().unwrap());
        assert!(errors > 0 && errors * 5 <= requests, "{side}: {r}");
    }

    let (ok, out, err) = s.cli(&[
        "apps",
        "rollout",
        "shop",
        "--abort",
        "--tenant",
        "acme",
        "--server",
        s.admin.as_deref().unwrap(),
        "--token",
        ADMIN_TOKEN,
    ]);
    assert!(ok && out.contains("shop@1"), "{out}{err}");
    assert_eq!(share(&callers.versions(&s, T).await, "1"), 100);
    assert_eq!(rollout(&s, T).await["note"], "version 2 was rolled back by hand");
}

#[tokio::test]
async fn rollouts_refuse_what_makes_no_sense_in_the_envelope() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", "acme"]).0);
    // Nothing serving to compare with.
    let (status, body) = deploy_share(&s, T, shop(1, ""), Some("10")).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("without a percent first"), "{body}");
    assert_eq!(deploy_share(&s, T, shop(1, ""), None).await.0, 201);
    for bad in ["0", "100"] {
        let (status, body) = deploy_share(&s, T, shop(2, ""), Some(bad)).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{bad}: {body}");
    }
    let (status, body) = deploy_share(&s, T, shop(2, ""), Some("half")).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("BAD_REQUEST")), "{body}");
    // No rollout under way: nothing to promote or end.
    let promote = "/admin/v1/tenants/acme/apps/shop/promote";
    let (status, body) = s.admin_call(reqwest::Method::POST, promote, Some(json!({}))).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("CONFLICT")), "{body}");
    let end = "/admin/v1/tenants/acme/apps/shop/rollout";
    assert_eq!(s.admin_call(reqwest::Method::DELETE, end, None).await.0, 409);
    // A canary's share stays within 1 to 99.
    assert_eq!(deploy_share(&s, T, shop(2, ""), Some("10")).await.0, 201);
    let (status, body) = s.admin_call(reqwest::Method::POST, promote, Some(json!({"percent": 100}))).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
    // A plain deploy ends the rollout: version 3 for everyone.
    assert_eq!(deploy_share(&s, T, shop(3, ""), None).await.0, 201);
    let r = rollout(&s, T).await;
    assert_eq!((r["activeVersion"].as_i64(), r["canaryVersion"].as_i64()), (Some(3), None), "{r}");
    assert_eq!(Callers::new(20).versions(&s, T).await, vec!["3".to_string(); 20]);
}

#[tokio::test]
async fn every_node_splits_callers_alike_and_a_rollback_one_node_decides_holds_on_all() {
    let Some(db) = gatehouse_tests::database_url() else { return };
    let home = gatehouse_tests::unique_tenant("rollhome");
    let tenant = gatehouse_tests::unique_tenant("rollshop");
    let _cleanup = [
        TenantCleanup { url: db.clone(), tenant: home.clone() },
        TenantCleanup { url: db.clone(), tenant: tenant.clone() },
    ];
    let config = platform()
        .platform("database_url", &quote(&db))
        .platform("tenant", &quote(&home))
        .platform("store_schema", &quote(&gatehouse_tests::store_schema(&home)));
    let (a, b) = (config.start(), config.start());
    let (status, _) = a.admin_call(reqwest::Method::POST, "/admin/v1/tenants", Some(json!({ "name": tenant }))).await;
    assert_eq!(status, 201);
    assert_eq!(deploy_share(&a, &tenant, shop(1, ""), None).await.0, 201);
    assert_eq!(deploy_share(&a, &tenant, shop(2, "trap"), Some("40")).await.0, 201);

    // B learns the rollout from the store and gives each caller the version A gives it.
    let callers = Callers::new(50);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while callers.ask(&b, &tenant, 0, false).await.0 != 200 || rollout(&b, &tenant).await["thisNode"].is_null() {
        assert!(std::time::Instant::now() < deadline, "B never served the rollout: {}", b.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let on_a = callers.versions(&a, &tenant).await;
    assert_eq!(callers.versions(&b, &tenant).await, on_a);
    assert!(on_a.contains(&"2".to_string()) && on_a.contains(&"1".to_string()), "{on_a:?}");

    // Only B sees the failures; B rolls back, and A follows.
    let note = drive_until_rolled_back(&b, &tenant, &callers, 2000).await.expect("B never rolled back");
    assert!(note.contains("version 2 was rolled back on its own"), "{note}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while callers.versions(&a, &tenant).await.iter().any(|v| v != "1") {
        assert!(std::time::Instant::now() < deadline, "A kept serving the rolled-back version");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rollout(&a, &tenant).await["note"].as_str(), Some(note.as_str()));
}

/// App `name` of flaky endpoints: each (route, auth) answers as `version`.
fn app_of(name: &str, version: u32, routes: &[(&str, &str)]) -> Vec<u8> {
    let manifest: String = routes
        .iter()
        .map(|(route, auth)| {
            format!(
                "[[endpoint]]\nroute = \"{route}\"\ncomponent = \"flaky.wasm\"\nauth = \"{auth}\"\n\
                 variables = {{ VERSION = \"{version}\" }}\n"
            )
        })
        .collect();
    app_bundle(name, &manifest, &[("flaky.wasm", &std::fs::read(guests::FLAKY).unwrap())])
}

#[tokio::test]
async fn a_new_version_meets_the_tenants_quota_routes_and_its_own_gate() {
    let s = platform().start();
    let (status, _) = s
        .admin_call(
            reqwest::Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": T, "settings": {"quotas": {"maxComponents": 3}}})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(deploy_share(&s, T, app_of("shop", 1, &[("GET /api/v", "none")]), None).await.0, 201);
    assert_eq!(deploy_share(&s, T, app_of("other", 1, &[("GET /api/b", "none")]), None).await.0, 201);

    // Both versions' endpoints count: 1 + 1 active, and a canary of 2 would make 4.
    let two = app_of("shop", 2, &[("GET /api/v", "none"), ("GET /api/v2", "none")]);
    let (status, body) = deploy_share(&s, T, two, Some("50")).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("maxComponents"), "{body}");

    // A route another app serves is refused in a canary too.
    let taken = app_of("shop", 2, &[("GET /api/b", "none")]);
    let (status, body) = deploy_share(&s, T, taken, Some("50")).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("GET /api/b"), "{body}");

    // Even one the other app's own rollout drops: ending that rollout would
    // otherwise bring two owners of one route together.
    let moved = app_of("other", 2, &[("GET /api/b2", "none")]);
    assert_eq!(deploy_share(&s, T, moved, Some("50")).await.0, 201);
    let (status, body) = deploy_share(&s, T, app_of("shop", 2, &[("GET /api/b", "none")]), Some("10")).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
    let end = format!("/admin/v1/tenants/{T}/apps/other/rollout");
    assert_eq!(s.admin_call(reqwest::Method::DELETE, &end, None).await.0, 200);

    // The new version's own gate: it asks for a key, so its callers without one get 401.
    assert_eq!(deploy_share(&s, T, app_of("shop", 2, &[("GET /api/v", "required")]), Some("50")).await.0, 201);
    let callers = Callers::new(40);
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..40 {
        let (status, version) = callers.ask(&s, T, i, false).await;
        *seen.entry((status, version)).or_insert(0) += 1;
    }
    let refused = seen.get(&(401, None)).copied().unwrap_or(0);
    let active = seen.get(&(200, Some("1".to_string()))).copied().unwrap_or(0);
    assert!(refused > 0 && active > 0 && refused + active == 40, "{seen:?}");
    // Refusals are the gate's, not the version's failures: nothing is rolled back.
    let r = rollout(&s, T).await;
    assert_eq!((r["canaryVersion"].as_i64(), r["thisNode"]["canaryRequests"].as_u64()), (Some(2), Some(0)), "{r}");
}

#[tokio::test]
async fn a_preflight_is_answered_for_a_route_only_the_new_version_has() {
    let s = platform().start();
    assert!(s.cli(&["tenants", "create", T]).0);
    assert_eq!(deploy_share(&s, T, app_of("shop", 1, &[("GET /api/v", "none")]), None).await.0, 201);
    let cors = "cors = { origins = [\"https://app.example\"] }\n";
    let manifest = format!(
        "[[endpoint]]\nroute = \"GET /api/v\"\ncomponent = \"flaky.wasm\"\n\n\
         [[endpoint]]\nroute = \"POST /api/new\"\ncomponent = \"flaky.wasm\"\n{cors}"
    );
    let tar = app_bundle("shop", &manifest, &[("flaky.wasm", &std::fs::read(guests::FLAKY).unwrap())]);
    assert_eq!(deploy_share(&s, T, tar, Some("1")).await.0, 201);
    // Whatever the preflight's own bucket, the browser may go on to the real request.
    for caller in Callers::new(20).0 {
        let resp = caller
            .request(reqwest::Method::OPTIONS, s.url(&format!("/t/{T}/api/new")))
            .header("origin", "https://app.example")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
    }
}
