//! Several nodes: two real `gatehouse serve` processes on one Postgres (the
//! platform store and tenant databases) and one Redis (rate limits) act as
//! one platform. A change made through one is live on the other within a
//! second; rate limits count requests to both.

use std::time::{Duration, Instant};

use gatehouse::registry::Bundle;
use gatehouse_tests::config::quote;
use gatehouse_tests::{ADMIN_TOKEN, Platform, Server, TenantCleanup, client, guests, json};
use serde_json::{Value, json};

const WITHIN: Duration = Duration::from_secs(1);

fn bundle(greeting: &str) -> Vec<u8> {
    let mut b = Bundle::default();
    b.files.insert(
        "gatehouse.toml".into(),
        format!(
            "[app]\nname = \"shop\"\n\n[[endpoint]]\nroute = \"GET /api/echo\"\ncomponent = \"echo.wasm\"\nauth = \"optional\"\n\
             variables = {{ GREETING = \"{greeting}\" }}\n"
        )
        .into_bytes(),
    );
    b.files.insert("echo.wasm".into(), std::fs::read(guests::ECHO).unwrap());
    b.to_tar().unwrap()
}

/// Polls `check` until it holds; returns how long that took (panics after 10 s).
async fn until<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(10), "{what}: never");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

async fn greeting(s: &Server, tenant: &str, key: Option<&str>) -> (u16, Value) {
    let mut req = client().get(s.url(&format!("/t/{tenant}/api/echo")));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json::<Value>().await.map(|v| v["data"].clone()).unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_nodes_on_one_postgres_and_redis_act_as_one_platform() {
    let Some(db) = gatehouse_tests::database_url() else { return };
    let Some(redis) = gatehouse_tests::redis_url() else { return };
    let home = gatehouse_tests::unique_tenant("nodes");
    let app_tenant = gatehouse_tests::unique_tenant("shop");
    let _cleanup = [
        TenantCleanup { url: db.clone(), tenant: home.clone() },
        TenantCleanup { url: db.clone(), tenant: app_tenant.clone() },
    ];
    let config = Platform::new()
        .platform("database_url", &quote(&db))
        .platform("redis_url", &quote(&redis))
        .platform("tenant", &quote(&home))
        .platform("store_schema", &quote(&gatehouse_tests::store_schema(&home)))
        .admin()
        .endpoint("GET /api/limited", guests::ECHO)
        .with("rate_limit", "{ limit = 10, window = \"1m\", by = \"ip\" }");
    let a = config.start();
    let b = config.start();

    // A new tenant, made on A, is served by B.
    let resp = client()
        .post(a.admin_url("/admin/v1/tenants"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": app_tenant}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", json(resp).await);
    let took = until("the tenant on B", || async { b.stats().await["tenants"] == 2 }).await;
    assert!(took < WITHIN, "tenant took {took:?}");

    // A deploy on A is live on B.
    let deploy = |greeting: &'static str| {
        client()
            .post(a.admin_url(&format!("/admin/v1/tenants/{app_tenant}/apps")))
            .bearer_auth(ADMIN_TOKEN)
            .body(bundle(greeting))
            .send()
    };
    for (v, g) in [(1, "v1"), (2, "v2")] {
        let resp = deploy(g).await.unwrap();
        assert_eq!(resp.status(), 201, "{}", json(resp).await);
        assert_eq!(greeting(&a, &app_tenant, None).await.1["greeting"], g, "A serves its own deploy at once");
        let took =
            until("the deploy on B", || async { greeting(&b, &app_tenant, None).await.1["greeting"] == g }).await;
        assert!(took < WITHIN, "version {v} reached B after {took:?}");
    }
    // A rollback on A.
    let resp = client()
        .post(a.admin_url(&format!("/admin/v1/tenants/{app_tenant}/apps/shop/rollback")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let took =
        until("the rollback on B", || async { greeting(&b, &app_tenant, None).await.1["greeting"] == "v1" }).await;
    assert!(took < WITHIN, "rollback reached B after {took:?}");

    // A key made with A's CLI works on B; revoked through A, B refuses it.
    let key = a.create_key(&["--tenant", &app_tenant]);
    let took =
        until("the key on B", || async { greeting(&b, &app_tenant, Some(&key)).await.1["auth"]["kind"] == "api-key" })
            .await;
    assert!(took < WITHIN, "key reached B after {took:?}");
    let id = key.split('_').nth(2).unwrap().to_string();
    let resp =
        client().delete(a.admin_url(&format!("/admin/v1/keys/{id}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let took = until("the revocation on B", || async { greeting(&b, &app_tenant, Some(&key)).await.0 == 401 }).await;
    assert!(took < WITHIN, "revocation reached B after {took:?}");

    // Rate limits count requests to both nodes: exactly 10 of 40.
    let mut admitted = 0;
    for i in 0..40 {
        let node = if i % 2 == 0 { &a } else { &b };
        if client().get(node.url("/api/limited")).send().await.unwrap().status() == 200 {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 10);
}
