//! Tenants load when needed, black-box: after a restart every stored tenant
//! sleeps (only its name is held) until a request or a change names it; past
//! `platform.max_loaded_tenants` the least recently used idle ones sleep
//! again. Whatever sleeps, every request still gets its own tenant's answer.

use gatehouse::registry::Bundle;
use gatehouse_tests::{ADMIN_TOKEN, Platform, Server, client, guests, json};
use serde_json::Value;

/// A bundle for app `name`: the echo component at `GET {route}`, its GREETING `greeting`.
fn app(name: &str, route: &str, greeting: &str) -> Vec<u8> {
    let mut b = Bundle::default();
    b.files.insert(
        "gatehouse.toml".into(),
        format!(
            "[app]\nname = \"{name}\"\n\n[[endpoint]]\nroute = \"GET {route}\"\ncomponent = \"echo.wasm\"\n\
             variables = {{ GREETING = \"{greeting}\" }}\n"
        )
        .into_bytes(),
    );
    b.files.insert("echo.wasm".into(), std::fs::read(guests::ECHO).unwrap());
    b.to_tar().unwrap()
}

/// GET `path` of `tenant` through the path prefix: (status, the greeting answered).
async fn greeting(s: &Server, tenant: &str, path: &str) -> (u16, String) {
    let resp = client().get(s.url(&format!("/t/{tenant}{path}"))).send().await.unwrap();
    let status = resp.status().as_u16();
    let body = json(resp).await;
    (status, body["data"]["greeting"].as_str().unwrap_or_default().to_string())
}

/// A node that keeps at most `cap` tenants loaded (besides platform.toml's),
/// with tenants `t0`… each serving one app.
async fn node(cap: usize, tenants: usize) -> Server {
    let s = Platform::new()
        .admin()
        .platform("max_loaded_tenants", &cap.to_string())
        .endpoint("GET /api/who", guests::ECHO)
        .start();
    for i in 0..tenants {
        let name = format!("t{i}");
        s.create_tenant(&name, serde_json::json!({})).await;
        let (status, body) = s.deploy(&name, app("site", "/api/hi", &format!("hello from {name}"))).await;
        assert_eq!(status, 201, "{body}");
    }
    s
}

async fn stats(s: &Server) -> (u64, u64, u64, u64) {
    let st = s.stats().await;
    let n = |k: &str| st[k].as_u64().unwrap_or_else(|| panic!("stats has no {k}: {st}"));
    (n("tenants"), n("tenantsLoaded"), n("tenantLoads"), n("tenantSleeps"))
}

#[tokio::test]
async fn a_restarted_node_loads_a_tenant_on_its_first_request_and_keeps_at_most_the_cap_loaded() {
    let mut s = node(2, 4).await;
    // Creating and deploying loaded each one; past the cap the oldest slept.
    let (all, loaded, _, slept) = stats(&s).await;
    assert_eq!(all, 5, "four tenants and platform.toml's");
    assert!(loaded <= 3, "at most 2 loaded besides platform.toml's, not {loaded}");
    assert!(slept >= 2, "{slept}");

    s.restart();
    // Nothing is loaded but platform.toml's tenant, and it serves at once.
    assert_eq!(stats(&s).await, (5, 1, 0, 0));
    let resp = client().get(s.url("/api/who")).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    // A first request loads its tenant, which answers as itself.
    assert_eq!(greeting(&s, "t2", "/api/hi").await, (200, "hello from t2".into()));
    assert_eq!(stats(&s).await, (5, 2, 1, 0));
    // The second request finds it loaded.
    assert_eq!(greeting(&s, "t2", "/api/hi").await, (200, "hello from t2".into()));
    assert_eq!(stats(&s).await.2, 1);
    // By host too.
    let resp = client().get(s.url("/api/hi")).header("host", "t3.localhost").send().await.unwrap();
    assert_eq!(json(resp).await["data"]["greeting"], "hello from t3");

    // A third tenant passes the cap of 2: the least recently used (t2) sleeps.
    assert_eq!(greeting(&s, "t0", "/api/hi").await, (200, "hello from t0".into()));
    let (_, loaded, loads, slept) = stats(&s).await;
    assert_eq!((loaded, loads, slept), (3, 3, 1));
    // It loads again when asked, and answers the same.
    assert_eq!(greeting(&s, "t2", "/api/hi").await, (200, "hello from t2".into()));
    let (_, loaded, loads, _) = stats(&s).await;
    assert_eq!((loaded, loads), (3, 4));

    // The metrics say the same.
    let resp = client().get(s.admin_url("/metrics")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    let text = resp.text().await.unwrap();
    assert!(text.contains("gatehouse_tenants_loaded 3"), "{text}");
    assert!(text.contains("gatehouse_tenants_asleep 2"), "{text}");
    assert!(text.contains("gatehouse_tenant_loads_total 4"), "{text}");
    // The status counts every tenant and every app, loaded or not.
    let (status, body) = s.admin_call(reqwest::Method::GET, "/admin/v1/status", None).await;
    assert_eq!(status, 200);
    assert_eq!((body["data"]["tenants"].as_u64(), body["data"]["apps"].as_u64()), (Some(5), Some(4)), "{body}");

    // A tenant that does not exist is still not found, loaded or not.
    let resp = client().get(s.url("/api/hi")).header("host", "nobody.localhost").send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn a_change_to_an_asleep_tenant_loads_it_whole_first() {
    let mut s = node(1, 2).await;
    s.restart();
    assert_eq!(stats(&s).await.1, 1);
    // A second app deployed to a tenant that sleeps: its first app keeps serving beside it.
    let (status, body) = s.deploy("t0", app("blog", "/api/blog", "t0's blog")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(greeting(&s, "t0", "/api/hi").await, (200, "hello from t0".into()));
    assert_eq!(greeting(&s, "t0", "/api/blog").await, (200, "t0's blog".into()));

    // Rolled back while asleep (t1 is loaded now, over the cap of 1: t0 sleeps).
    assert_eq!(greeting(&s, "t1", "/api/hi").await.0, 200);
    let (status, body) = s.deploy("t0", app("site", "/api/hi", "t0 v2")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(greeting(&s, "t0", "/api/hi").await, (200, "t0 v2".into()));
    assert_eq!(greeting(&s, "t1", "/api/hi").await.0, 200);
    let (status, body) = s
        .admin_call(
            reqwest::Method::POST,
            "/admin/v1/tenants/t0/apps/site/rollback",
            Some(serde_json::json!({"version": 1})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(greeting(&s, "t0", "/api/hi").await, (200, "hello from t0".into()));

    // Deleted while asleep: its database is archived all the same.
    assert_eq!(greeting(&s, "t1", "/api/hi").await.0, 200);
    let (status, body) = s.admin_call(reqwest::Method::DELETE, "/admin/v1/tenants/t0", None).await;
    assert_eq!(status, 200, "{body}");
    let archived = std::fs::read_dir(s.data_dir().join("archive")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(archived, 1, "t0's database archived");
    assert_eq!(greeting(&s, "t0", "/api/hi").await.0, 404);
}

#[tokio::test]
async fn requests_spread_over_more_tenants_than_the_cap_each_get_their_own_answer() {
    // The cap is hit on nearly every request: six tenants, two loaded at a time.
    let s = node(2, 6).await;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..6 {
        let base = s.url("");
        tasks.spawn(async move {
            let mut answers: Vec<(String, u16, Value)> = Vec::new();
            for round in 0..10 {
                let tenant = format!("t{}", (worker + round) % 6);
                let resp = client().get(format!("{base}/t/{tenant}/api/hi")).send().await.unwrap();
                let status = resp.status().as_u16();
                answers.push((tenant, status, json(resp).await));
            }
            answers
        });
    }
    // platform.toml's tenant serves all along.
    for _ in 0..10 {
        let resp = client().get(s.url("/api/who")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    while let Some(answers) = tasks.join_next().await {
        for (tenant, status, body) in answers.unwrap() {
            assert_eq!(status, 200, "{tenant}: {body}");
            assert_eq!(body["data"]["greeting"], format!("hello from {tenant}"), "{body}");
        }
    }
    let (all, loaded, loads, slept) = stats(&s).await;
    assert_eq!(all, 7);
    assert!(loaded <= 3, "the cap holds once requests end: {loaded} loaded");
    assert!(loads > 6 && slept > 0, "tenants slept and loaded again: {loads} loads, {slept} sleeps");
}
