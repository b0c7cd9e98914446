//! The database examples of the product docs, on the tenant's SQLite and on
//! Postgres: posts with an ownership check, the bulk task import, analytics
//! computed in SQL, the payment webhooks, the Stripe webhook's orders and
//! subscriptions, the contact form and the file upload. Each sends the docs'
//! request and checks the docs' answer, then what the database holds.

use gatehouse_tests::config::quote;
use gatehouse_tests::{DbBackend, Server, client, example_path, json, repo_file};
use serde_json::json;

fn server(backend: &DbBackend) -> Server {
    let required = ("auth", "\"required\"");
    let mut p = backend.platform().section("database", &[("migrations", &repo_file("endpoints/migrations"))]).section(
        "secrets",
        &[
            ("DODO_WEBHOOK_SECRET", &quote(DODO_SECRET)),
            ("DODO_PAYMENTS_WEBHOOK_KEY", &quote(DODO_KEY)),
            ("STRIPE_WEBHOOK_SECRET", &quote(STRIPE_SECRET)),
        ],
    );
    for route in ["POST /api/posts", "DELETE /api/posts/{id}"] {
        p = p.endpoint(route, &example_path("posts")).with(required.0, required.1);
    }
    p.endpoint("GET /api/posts/{id}", &example_path("posts"))
        .with("auth", "\"optional\"")
        .endpoint("POST /api/v1/import/tasks", &example_path("task_import"))
        .with(required.0, required.1)
        .with("schema", &repo_file("endpoints/task-import/schema.json"))
        .endpoint("GET /api/v1/analytics/dashboard", &example_path("analytics"))
        .with(required.0, required.1)
        .endpoint("POST /api/v1/webhooks/payments", &example_path("payment_webhook"))
        .with("signature", "{ scheme = \"standard-webhooks\", secret = \"DODO_WEBHOOK_SECRET\", tolerance = \"5m\" }")
        .endpoint("POST /api/payments/dodo/webhook", &example_path("payment_webhook"))
        .with(
            "signature",
            "{ scheme = \"hmac-sha256\", header = \"x-dodo-signature\", secret = \"DODO_PAYMENTS_WEBHOOK_KEY\" }",
        )
        .endpoint("POST /api/v1/webhooks/stripe", &example_path("stripe_webhook"))
        .with("signature", "{ scheme = \"stripe\", secret = \"STRIPE_WEBHOOK_SECRET\" }")
        .endpoint("POST /api/contact", &example_path("contact"))
        .with("schema", &repo_file("endpoints/contact/schema.json"))
        .endpoint("POST /api/upload", &example_path("file_upload"))
        .with(required.0, required.1)
        .with("upload", "{ max_kb = 64, content_types = [\"image/jpeg\", \"image/png\", \"image/webp\"] }")
        .start()
}

#[tokio::test]
async fn posts_are_readable_by_anyone_and_deletable_by_their_author_only() {
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

        // The docs' GET: the post itself, no envelope, no session needed.
        let resp = client().get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(json(resp).await, post);
        let resp = client().get(s.url("/api/posts/99999")).send().await.unwrap();
        assert_eq!(resp.status(), 404);
        assert_eq!(json(resp).await["error"], "Not found");
        assert_eq!(client().get(s.url("/api/posts/abc")).send().await.unwrap().status(), 400);

        // The docs' DELETE: 401 without a session or key, 403 `Forbidden` for
        // another's post and for one that does not exist, then `{"success": true}`.
        assert_eq!(client().delete(&url).send().await.unwrap().status(), 401);
        let resp = client().delete(&url).bearer_auth(&bob).send().await.unwrap();
        assert_eq!(resp.status(), 403);
        assert_eq!(json(resp).await["error"], "Forbidden");
        assert_eq!(client().delete(s.url("/api/posts/99999")).bearer_auth(&bob).send().await.unwrap().status(), 403);
        let resp = client().delete(&url).bearer_auth(&ada).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(json(resp).await, json!({"success": true}));
        assert_eq!(client().get(&url).send().await.unwrap().status(), 404);
        // A title the table's CHECK refuses is a 409 from the constraint, not a crash.
        let resp =
            client().post(s.url("/api/posts")).bearer_auth(&ada).json(&json!({"title": ""})).send().await.unwrap();
        assert_eq!(resp.status(), 409);
        assert_eq!(json(resp).await["code"], "DB_CONSTRAINT");
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn bulk_import_answers_as_the_docs_and_analytics_add_it_up() {
    for backend in DbBackend::all() {
        let s = server(&backend);
        let ada = s.create_key(&["--user", "ada"]);
        let import =
            |body: serde_json::Value| client().post(s.url("/api/v1/import/tasks")).bearer_auth(&ada).json(&body).send();

        // The docs' schema bounds the batch (1 to 100 tasks) and each field.
        assert_eq!(import(json!({"tasks": []})).await.unwrap().status(), 400);
        let too_many: Vec<_> = (0..101).map(|i| json!({"title": format!("t{i}")})).collect();
        assert_eq!(import(json!({"tasks": too_many})).await.unwrap().status(), 400);
        let resp = import(json!({"tasks": [{"title": "x", "priority": "urgent"}]})).await.unwrap();
        assert_eq!(resp.status(), 400);
        let got = json(resp).await;
        assert_eq!(got["code"], "VALIDATION_FAILED");
        assert!(got["details"]["/tasks/0/priority"].is_string(), "{got}");

        // The docs' request, verbatim: defaults filled in, 201 with {imported, failed, tasks, errors}.
        let resp = import(json!({
            "tasks": [
                {"title": "Write spec", "description": "The import format", "priority": "high"},
                {"title": "Review spec", "status": "in_progress"}
            ],
            "assignUsers": false,
            "notify": false
        }))
        .await
        .unwrap();
        assert_eq!(resp.status(), 201);
        let got = json(resp).await;
        assert_eq!(got["success"], true);
        let data = &got["data"];
        assert_eq!((data["imported"].as_i64(), data["failed"].as_i64()), (Some(2), Some(0)), "{got}");
        assert_eq!(data["errors"], json!([]));
        let first = &data["tasks"][0];
        assert_eq!(
            (first["title"].as_str(), first["status"].as_str(), first["priority"].as_str(), first["userId"].as_str()),
            (Some("Write spec"), Some("todo"), Some("high"), Some("ada")),
            "{got}"
        );
        assert_eq!(data["tasks"][1]["priority"], "medium", "the schema's default");
        assert!(first["id"].is_i64() && first["createdAt"].is_i64() && first["updatedAt"].is_i64(), "{got}");

        // Completed tasks with known times, assigned; one task the database
        // refuses (an externalId imported before) is reported, the rest kept.
        let resp = import(json!({
            "tasks": [
                {"title": "Ship v1", "status": "completed", "externalId": "T-1", "assigneeId": "bob", "createdAt": 1000, "completedAt": 10000},
                {"title": "Ship v2", "status": "completed", "externalId": "T-2", "assigneeId": "bob", "createdAt": 1000, "completedAt": 10000},
                {"title": "Ship v3", "status": "completed", "externalId": "T-3", "createdAt": 2000, "completedAt": 11000}
            ],
            "assignUsers": true
        }))
        .await
        .unwrap();
        assert_eq!(json(resp).await["data"]["imported"], 3);
        let resp = import(json!({"tasks": [{"title": "Again", "externalId": "T-1"}, {"title": "Fresh", "externalId": "T-9"}], "notify": true}))
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let data = json(resp).await["data"].clone();
        assert_eq!((data["imported"].as_i64(), data["failed"].as_i64()), (Some(1), Some(1)), "{data}");
        assert_eq!(data["errors"][0]["task"]["title"], "Again");
        assert_eq!(data["errors"][0]["error"], "externalId T-1 was imported before");
        assert_eq!(
            backend.texts(&s, "SELECT CAST(COUNT(*) AS TEXT) FROM tasks WHERE external_id = 'T-1'").await,
            ["1"]
        );
        assert_eq!(
            backend.texts(&s, "SELECT user_id FROM task_assignments ORDER BY task_id").await,
            ["bob", "bob"],
            "assignUsers records each assigneeId"
        );
        assert_eq!(
            backend.texts(&s, "SELECT user_id || ': ' || message FROM notifications").await,
            ["ada: 1 task imported"],
            "notify files one notification for the caller"
        );

        // 6 tasks, 3 completed, each in 2.5 hours: the docs' dashboard.
        let resp = client().get(s.url("/api/v1/analytics/dashboard")).bearer_auth(&ada).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let d = json(resp).await["data"].clone();
        assert_eq!(d["taskCompletionRate"], 50, "{d}");
        assert_eq!(d["averageTimeToComplete"], "2.5 hours", "{d}");
        assert_eq!(d["topPerformers"], json!([{"userId": "bob", "completed": 2}, {"userId": "ada", "completed": 1}]));
        assert_eq!((d["totalTasks"].as_i64(), d["completedTasks"].as_i64()), (Some(6), Some(3)));

        // Another user's dashboard sees none of ada's tasks.
        let bob = s.create_key(&["--user", "bob"]);
        let resp = client().get(s.url("/api/v1/analytics/dashboard")).bearer_auth(&bob).send().await.unwrap();
        let d = json(resp).await["data"].clone();
        assert_eq!((d["totalTasks"].as_i64(), d["averageTimeToComplete"].is_null()), (Some(0), true), "{d}");
        backend.cleanup().await;
    }
}

const DODO_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const DODO_KEY: &str = "dodo_test_key";
const STRIPE_SECRET: &str = "whsec_stripe_test";

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
        assert_eq!(json(resp).await, json!({"received": true, "credited": 100, "duplicate": false, "balance": 100}));
        // Redelivered (same payment): acknowledged, nothing added.
        let resp = deliver(&s, "msg_1b", now(), &event("pay_1", 100)).await;
        assert_eq!(json(resp).await["balance"], 100);
        let resp = deliver(&s, "msg_2", now(), &event("pay_2", 50)).await;
        assert_eq!(json(resp).await["balance"], 150);
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
        assert_eq!(json(resp).await["balance"], 151, "a refused delivery must not have credited anything");

        // The docs' own delivery: `x-dodo-signature`, hex HMAC-SHA256 of the body, `data.customerId`.
        let dodo = |body: &serde_json::Value, signature: Option<String>| {
            let body = body.to_string();
            let mut req = client().post(s.url("/api/payments/dodo/webhook")).header("content-type", "application/json");
            if let Some(sig) = signature {
                req = req.header("x-dodo-signature", sig);
            }
            req.body(body).send()
        };
        let docs_event =
            json!({"type": "payment.succeeded", "data": {"customerId": "ada", "credits": 25, "paymentId": "pay_docs"}});
        let sig = gatehouse::gate::signature::hmac_sha256_hex(DODO_KEY, docs_event.to_string().as_bytes());
        let resp = dodo(&docs_event, Some(sig.clone())).await.unwrap();
        assert_eq!(resp.status(), 200);
        let got = json(resp).await;
        assert_eq!((got["received"].as_bool(), got["balance"].as_i64()), (Some(true), Some(176)), "{got}");
        let resp = dodo(&docs_event, None).await.unwrap();
        assert_eq!(resp.status(), 401, "no signature");
        let resp = dodo(&docs_event, Some("0".repeat(64))).await.unwrap();
        assert_eq!(resp.status(), 401, "a wrong signature");
        let other = json!({"type": "subscription.created", "data": {"customerId": "ada"}});
        let sig = gatehouse::gate::signature::hmac_sha256_hex(DODO_KEY, other.to_string().as_bytes());
        let resp = dodo(&other, Some(sig)).await.unwrap();
        assert_eq!(json(resp).await, json!({"received": true, "credited": 0}));
        assert_eq!(
            backend.texts(&s, "SELECT CAST(SUM(credits) AS TEXT) FROM credit_ledger WHERE user_id = 'ada'").await,
            ["176"]
        );
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn the_stripe_webhook_marks_orders_paid_and_records_subscriptions() {
    for backend in DbBackend::all() {
        let s = server(&backend);
        let send = |event: serde_json::Value| {
            let body = event.to_string();
            let sig = gatehouse::gate::signature::stripe_header(STRIPE_SECRET, now(), body.as_bytes());
            client()
                .post(s.url("/api/v1/webhooks/stripe"))
                .header("stripe-signature", sig)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let paid = json!({"id": "evt_1", "type": "payment_intent.succeeded",
                          "data": {"object": {"id": "pi_1", "amount": 4200, "currency": "usd", "receipt_email": "ada@example.com"}}});
        let resp = send(paid.clone()).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(json(resp).await, json!({"received": true}));
        // Redelivered: still one order, still paid.
        assert_eq!(send(paid).await.unwrap().status(), 200);
        assert_eq!(
            backend.texts(&s, "SELECT payment_intent_id || ' ' || status || ' ' || customer_email FROM orders").await,
            ["pi_1 paid ada@example.com"]
        );
        let updated = |status: &str, plan: &str| {
            json!({"id": "evt_2", "type": "customer.subscription.updated",
                   "data": {"object": {"id": "sub_1", "customer": "cus_1", "status": status,
                                       "items": {"data": [{"price": {"id": plan}}]}}}})
        };
        assert_eq!(send(updated("active", "price_pro")).await.unwrap().status(), 200);
        assert_eq!(send(updated("past_due", "price_team")).await.unwrap().status(), 200);
        assert_eq!(
            backend.texts(&s, "SELECT stripe_customer_id || ' ' || status || ' ' || plan FROM subscriptions").await,
            ["cus_1 past_due price_team"]
        );
        // Any other type is acknowledged (and logged), changing nothing.
        let resp = send(json!({"id": "evt_3", "type": "invoice.paid", "data": {"object": {}}})).await.unwrap();
        assert_eq!(json(resp).await, json!({"received": true}));
        assert!(s.until_log(&["unhandled event type invoice.paid"], std::time::Duration::from_secs(5)).await);
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn the_contact_form_is_stored() {
    for backend in DbBackend::all() {
        let s = server(&backend);
        let body = json!({"name": "Ada", "email": "ada@example.com", "message": "Hello, I would like a demo."});
        let resp = client().post(s.url("/api/contact")).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
        let got = json(resp).await;
        assert_eq!(got["success"], true);
        assert!(got["data"]["id"].is_i64(), "{got}");
        assert_eq!(
            backend
                .texts(&s, "SELECT name || ' <' || email || '> ' || message || ' ' || request_id FROM contact_messages")
                .await,
            [format!("Ada <ada@example.com> Hello, I would like a demo. {id}")]
        );
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn the_upload_takes_the_docs_file_field_within_the_policy() {
    for backend in DbBackend::all() {
        let s = server(&backend);
        let ada = s.create_key(&["--user", "ada"]);
        let part = |name: &str, ty: &str, size: usize| {
            reqwest::multipart::Part::bytes(vec![7u8; size]).file_name(name.to_string()).mime_str(ty).unwrap()
        };
        let upload = |form: reqwest::multipart::Form| {
            client().post(s.url("/api/upload")).bearer_auth(&ada).multipart(form).send()
        };
        let form =
            reqwest::multipart::Form::new().text("note", "holiday").part("file", part("beach.png", "image/png", 2048));
        let resp = upload(form).await.unwrap();
        assert_eq!(resp.status(), 200);
        let answer = json(resp).await;
        let file = answer["file"].clone();
        assert_eq!(
            (file["name"].as_str(), file["type"].as_str(), file["size"].as_i64()),
            (Some("beach.png"), Some("image/png"), Some(2048))
        );
        // As the docs do: the file is stored, and its URL answered and served
        // back by the platform with its content type, to anyone holding it.
        let served = client().get(answer["url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(served.status(), 200, "{answer}");
        assert_eq!(served.headers()["content-type"], "image/png");
        assert_eq!(served.bytes().await.unwrap().to_vec(), vec![7u8; 2048]);
        // A client's file name cannot climb out of the user's folder.
        let form = reqwest::multipart::Form::new().part("file", part("../../../evil.png", "image/png", 10));
        let answer = json(upload(form).await.unwrap()).await;
        assert_eq!(answer["file"]["key"], "uploads/ada/evil.png", "{answer}");
        assert_eq!(
            backend
                .texts(&s, "SELECT owner_id || ' ' || file_name || ' ' || CAST(size_bytes AS TEXT) FROM uploads")
                .await,
            ["ada beach.png 2048", "ada ../../../evil.png 10"]
        );
        // The docs' 400 without a `file` field.
        let resp = upload(reqwest::multipart::Form::new().text("note", "no file")).await.unwrap();
        assert_eq!(resp.status(), 400);
        assert_eq!(json(resp).await["error"], "No file provided");
        // The policy is enforced before the guest: a type the docs do not allow, a file over the size.
        let form = reqwest::multipart::Form::new().part("file", part("doc.pdf", "application/pdf", 10));
        assert_eq!(upload(form).await.unwrap().status(), 415);
        let form = reqwest::multipart::Form::new().part("file", part("huge.png", "image/png", 65 * 1024));
        assert_eq!(upload(form).await.unwrap().status(), 413);
        // Without a session or key: 401 before anything is read.
        let resp = client().post(s.url("/api/upload")).multipart(reqwest::multipart::Form::new()).send().await.unwrap();
        assert_eq!(resp.status(), 401);
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
