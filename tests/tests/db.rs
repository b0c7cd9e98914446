//! The database examples on the tenant's SQLite: posts with an ownership check,
//! bulk task import in one transaction, analytics computed in SQL.

use gatehouse_tests::config::quote;
use gatehouse_tests::{DbBackend, Server, client, example_path, json, repo_file};
use serde_json::json;

fn server(backend: &DbBackend) -> Server {
    let required = ("auth", "\"required\"");
    let mut p = backend
        .platform()
        .section("database", &[("migrations", &repo_file("endpoints/migrations"))])
        .section("secrets", &[("DODO_WEBHOOK_SECRET", &quote(DODO_SECRET))]);
    for route in ["POST /api/posts", "GET /api/posts/{id}", "DELETE /api/posts/{id}"] {
        p = p.endpoint(route, &example_path("posts")).with(required.0, required.1);
    }
    p.endpoint("POST /api/tasks/import", &example_path("task_import"))
        .with(required.0, required.1)
        .with("schema", &repo_file("endpoints/task-import/schema.json"))
        .endpoint("GET /api/analytics/dashboard", &example_path("analytics"))
        .with(required.0, required.1)
        .endpoint("POST /api/v1/webhooks/payments", &example_path("payment_webhook"))
        .with("signature", "{ scheme = \"standard-webhooks\", secret = \"DODO_WEBHOOK_SECRET\", tolerance = \"5m\" }")
        .endpoint("POST /api/files", &example_path("file_upload"))
        .with(required.0, required.1)
        .with("upload", "{ max_kb = 64, content_types = [\"image/*\", \"application/pdf\"] }")
        .start()
}

#[tokio::test]
async fn posts_are_visible_and_deletable_by_their_author_only() {
    for backend in DbBackend::all() {
        let s = server(&backend);
        let ada = s.create_key(&["--user", "ada"]);
        let bob = s.create_key(&["--user", "bob"]);
        let resp = client()
            .post(s.url("/api/posts"))
            .bearer_auth(&ada)
            .json(&json!({"title": "Hello", "body": "First!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let post = json(resp).await["data"].clone();
        assert_eq!(post["authorId"], "ada");
        assert_eq!(post["title"], "Hello");
        let id = post["id"].as_i64().unwrap();
        let url = s.url(&format!("/api/posts/{id}"));

        let resp = client().get(&url).bearer_auth(&ada).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(json(resp).await["data"]["body"], "First!");
        let resp = client().get(&url).bearer_auth(&bob).send().await.unwrap();
        assert_eq!(resp.status(), 403);
        assert_eq!(json(resp).await["code"], "NOT_POST_OWNER");
        assert_eq!(client().delete(&url).bearer_auth(&bob).send().await.unwrap().status(), 403);
        let resp = client().get(s.url("/api/posts/99999")).bearer_auth(&ada).send().await.unwrap();
        assert_eq!(resp.status(), 404);
        assert_eq!(json(resp).await["code"], "POST_NOT_FOUND");
        assert_eq!(client().get(s.url("/api/posts/abc")).bearer_auth(&ada).send().await.unwrap().status(), 400);

        let resp = client().delete(&url).bearer_auth(&ada).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(json(resp).await["data"]["deleted"], id);
        assert_eq!(client().get(&url).bearer_auth(&ada).send().await.unwrap().status(), 404);
        // A title the table's CHECK refuses is a 409 from the constraint, not a crash.
        let resp =
            client().post(s.url("/api/posts")).bearer_auth(&ada).json(&json!({"title": ""})).send().await.unwrap();
        assert_eq!(resp.status(), 409);
        assert_eq!(json(resp).await["code"], "DB_CONSTRAINT");
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn bulk_import_is_all_or_nothing_and_analytics_add_it_up() {
    for backend in DbBackend::all() {
        let s = server(&backend);
        let ada = s.create_key(&["--user", "ada"]);
        let import =
            |body: serde_json::Value| client().post(s.url("/api/tasks/import")).bearer_auth(&ada).json(&body).send();

        // The schema bounds the batch: 1 to 100 tasks.
        assert_eq!(import(json!({"tasks": []})).await.unwrap().status(), 400);
        let too_many: Vec<_> = (0..101).map(|i| json!({"title": format!("t{i}")})).collect();
        assert_eq!(import(json!({"tasks": too_many})).await.unwrap().status(), 400);

        let tasks = json!({"tasks": [
            {"title": "Write spec", "externalId": "T-1", "status": "done", "assignee": "ada", "createdAt": 1000, "completedAt": 4600},
            {"title": "Review spec", "externalId": "T-2", "status": "done", "assignee": "bob", "createdAt": 1000, "completedAt": 8200},
            {"title": "Ship it", "externalId": "T-3", "status": "done", "assignee": "ada", "createdAt": 2000, "completedAt": 5600},
            {"title": "Celebrate", "externalId": "T-4"}
        ]});
        let resp = import(tasks).await.unwrap();
        assert_eq!(resp.status(), 201);
        assert_eq!(json(resp).await["data"]["imported"], 4);

        // A batch with failures imports nothing and names each failing item.
        let bad = json!({"tasks": [
            {"title": "New one", "externalId": "T-5"},
            {"title": "Duplicate of an existing task", "externalId": "T-1"},
            {"title": "Bad status", "externalId": "T-6", "status": "someday"},
            {"title": "Duplicate within the batch", "externalId": "T-5"}
        ]});
        let resp = import(bad).await.unwrap();
        assert_eq!(resp.status(), 422);
        let got = json(resp).await;
        assert_eq!(got["code"], "IMPORT_FAILED");
        let failed: Vec<i64> =
            got["details"]["failures"].as_array().unwrap().iter().map(|f| f["index"].as_i64().unwrap()).collect();
        assert_eq!(failed, [1, 2, 3]);

        let resp = client().get(s.url("/api/analytics/dashboard")).bearer_auth(&ada).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let d = json(resp).await["data"].clone();
        assert_eq!(d["totalTasks"], 4, "the failed batch must not have left T-5 behind: {d}");
        assert_eq!(d["completedTasks"], 3);
        assert_eq!(d["completionRate"], 0.75);
        assert_eq!(d["averageCompletionSeconds"], 4800.0);
        assert_eq!(
            d["topPerformers"],
            json!([{"assignee": "ada", "completed": 2}, {"assignee": "bob", "completed": 1}])
        );

        // Another user's dashboard sees none of ada's tasks.
        let bob = s.create_key(&["--user", "bob"]);
        let resp = client().get(s.url("/api/analytics/dashboard")).bearer_auth(&bob).send().await.unwrap();
        assert_eq!(json(resp).await["data"]["totalTasks"], 0);
        backend.cleanup().await;
    }
}

const DODO_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

async fn deliver(s: &Server, id: &str, timestamp: u64, body: &serde_json::Value) -> reqwest::Response {
    let body = body.to_string();
    let mut req = client().post(s.url("/api/v1/webhooks/payments")).header("content-type", "application/json");
    for (k, v) in gatehouse::gate::signature::standard_webhooks_headers(DODO_SECRET, id, timestamp, body.as_bytes()) {
        req = req.header(k, v);
    }
    req.body(body).send().await.unwrap()
}

#[tokio::test]
async fn payment_webhooks_add_credits_once() {
    for backend in DbBackend::all() {
        let s = server(&backend);
        let event = |payment: &str, credits: i64| {
            json!({"business_id": "biz_1", "type": "payment.succeeded", "timestamp": "2026-11-21T00:00:00Z",
                   "data": {"payment_id": payment, "total_amount": 1000, "currency": "USD", "metadata": {"user_id": "ada", "credits": credits.to_string()}}})
        };
        let resp = deliver(&s, "msg_1", now(), &event("pay_1", 100)).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            json(resp).await["data"],
            json!({"received": true, "type": "payment.succeeded", "credited": 100, "duplicate": false, "balance": 100})
        );
        // Redelivered (same payment): acknowledged, nothing added.
        let resp = deliver(&s, "msg_1b", now(), &event("pay_1", 100)).await;
        assert_eq!(json(resp).await["data"]["balance"], 100);
        let resp = deliver(&s, "msg_2", now(), &event("pay_2", 50)).await;
        assert_eq!(json(resp).await["data"]["balance"], 150);
        // Stale or forged deliveries never reach the guest.
        let resp = deliver(&s, "msg_3", now() - 3600, &event("pay_3", 999)).await;
        assert_eq!(resp.status(), 401);
        assert_eq!(json(resp).await["code"], "INVALID_SIGNATURE");
        let resp = client()
            .post(s.url("/api/v1/webhooks/payments"))
            .header("webhook-id", "msg_4")
            .header("webhook-timestamp", now().to_string())
            .header("webhook-signature", "v1,AAAA")
            .body(event("pay_4", 999).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        let resp = deliver(&s, "msg_5", now(), &event("pay_5", 1)).await;
        assert_eq!(json(resp).await["data"]["balance"], 151, "a refused delivery must not have credited anything");
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn uploads_record_each_file_within_the_policy() {
    for backend in DbBackend::all() {
        let s = server(&backend);
        let ada = s.create_key(&["--user", "ada"]);
        let part = |name: &str, ty: &str, size: usize| {
            reqwest::multipart::Part::bytes(vec![7u8; size]).file_name(name.to_string()).mime_str(ty).unwrap()
        };
        let form = reqwest::multipart::Form::new()
            .text("note", "holiday")
            .part("photo", part("beach.png", "image/png", 2048))
            .part("doc", part("ticket.pdf", "application/pdf", 512));
        let resp = client().post(s.url("/api/files")).bearer_auth(&ada).multipart(form).send().await.unwrap();
        assert_eq!(resp.status(), 201);
        let files = json(resp).await["data"]["files"].clone();
        assert_eq!(files.as_array().unwrap().len(), 2);
        assert_eq!(files[0]["fileName"], "beach.png");
        assert_eq!(files[0]["contentType"], "image/png");
        assert_eq!(files[0]["sizeBytes"], 2048);
        assert_eq!(files[1]["field"], "doc");
        // The policy is enforced before the guest: a type it does not list, a file over 64 KiB.
        let form = reqwest::multipart::Form::new().part("f", part("run.exe", "application/x-msdownload", 10));
        assert_eq!(
            client().post(s.url("/api/files")).bearer_auth(&ada).multipart(form).send().await.unwrap().status(),
            415
        );
        let form = reqwest::multipart::Form::new().part("f", part("huge.png", "image/png", 65 * 1024));
        assert_eq!(
            client().post(s.url("/api/files")).bearer_auth(&ada).multipart(form).send().await.unwrap().status(),
            413
        );
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn a_dead_postgres_is_a_503_not_a_crash() {
    let Some(url) = gatehouse_tests::database_url() else { return };
    let target: std::net::SocketAddr = url.rsplit('@').next().unwrap().split('/').next().unwrap().parse().unwrap();
    let proxy = gatehouse_tests::CuttableProxy::start(target);
    let proxied = url.replacen(&target.to_string(), &proxy.addr.to_string(), 1);
    let backend = DbBackend::Postgres { url: proxied, tenant: gatehouse_tests::unique_tenant("down") };
    let _cleanup = gatehouse_tests::TenantCleanup {
        url: url.clone(),
        tenant: match &backend {
            DbBackend::Postgres { tenant, .. } => tenant.clone(),
            DbBackend::Sqlite => unreachable!(),
        },
    };
    let mut s = server(&backend);
    let ada = s.create_key(&["--user", "ada"]);
    let resp =
        client().post(s.url("/api/posts")).bearer_auth(&ada).json(&json!({"title": "before"})).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    proxy.cut().await;
    let started = std::time::Instant::now();
    let resp = client().get(s.url("/api/posts/1")).bearer_auth(&ada).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(json(resp).await["code"], "DB_UNAVAILABLE");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(s.is_running(), "the platform crashed");
    // Endpoints that do not need the database still answer.
    let resp = client().post(s.url("/api/posts")).json(&json!({"title": "x"})).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}
