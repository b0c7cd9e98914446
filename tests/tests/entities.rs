//! Entities with generated CRUD, black-box: an app declares `[[entity]]`
//! in its manifest, is deployed like any app, and the platform serves
//! `/api/v1/{entity}` and `/api/v1/{entity}/{id}` with no guest, behind the
//! same gate (keys, scopes, rate limits), with validation from the field
//! types, rows confined to their owner, pages, filters and sorting; a custom
//! endpoint of the same app reads the same table through `db`. On SQLite and
//! on Postgres.

use gatehouse_tests::{DbBackend, Server, app_bundle, client, guests, json};
use reqwest::Method;
use serde_json::{Value, json};

const TASKS: &str = r#"
[[entity]]
name = "tasks"
owner = "owner_id"
scopes = ["tasks"]
write_scopes = ["write"]
all_rows_scope = "admin"

[entity.fields]
title = { type = "string", required = true, max_length = 50 }
done = { type = "boolean", default = false }
priority = { type = "string", enum = ["low", "normal", "high"], default = "normal" }
estimate = { type = "number" }
points = { type = "integer" }

[[entity]]
name = "notes"
auth = "none"
rate_limit = { limit = 5, window = "1m", by = "ip" }
fields.text = { type = "string", required = true }

[[endpoint]]
route = "POST /api/v1/report"
component = "sql_runner.wasm"
auth = "required"
scopes = ["admin"]
"#;

fn app(entities: &str) -> Vec<u8> {
    app_bundle("board", entities, &[("sql_runner.wasm", &std::fs::read(guests::SQL_RUNNER).unwrap())])
}

/// The config tenant: where unprefixed paths go.
fn tenant(backend: &DbBackend) -> String {
    match backend {
        DbBackend::Sqlite => "default".into(),
        DbBackend::Postgres { tenant, .. } => tenant.clone(),
    }
}

async fn deploy(s: &Server, tenant: &str, tar: Vec<u8>) -> (u16, Value) {
    s.deploy(tenant, tar).await
}

/// A call as `key` (none: anonymous): (status, body, X-Total-Count).
async fn call(
    s: &Server,
    key: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, Option<u64>) {
    let mut req = client().request(method, s.url(path));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let total = resp.headers().get("x-total-count").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, json(resp).await, total)
}

fn titles(body: &Value) -> Vec<String> {
    body["data"].as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_declared_entity_is_served_behind_the_gate_with_owners_pages_filters_and_sorting() {
    for backend in DbBackend::all() {
        let t = tenant(&backend);
        let s = backend.platform().admin().endpoint("GET /hello", guests::ECHO).start();
        let (status, body) = deploy(&s, &t, app(TASKS)).await;
        assert_eq!(status, 201, "{backend:?}: {body}");
        assert!(body["data"]["routes"].to_string().contains("PATCH /api/v1/tasks/{id}"), "{body}");
        let key = |scopes: &str, user: Option<&str>| {
            let mut args = vec!["--tenant", t.as_str(), "--scopes", scopes];
            if let Some(u) = user {
                args.extend(["--user", u]);
            }
            s.create_key(&args)
        };
        let (ada, bob, reader, root, nobody) = (
            key("tasks,write", Some("ada")),
            key("tasks,write", Some("bob")),
            key("tasks", Some("cy")),
            key("tasks,write,admin", Some("root")),
            key("tasks,write", None),
        );

        // The gate: no key, a key without the write scope, a key with no user.
        assert_eq!(call(&s, None, Method::GET, "/api/v1/tasks", None).await.0, 401);
        let (status, body, _) =
            call(&s, Some(&reader), Method::POST, "/api/v1/tasks", Some(json!({"title": "x"}))).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("INSUFFICIENT_SCOPE")), "{body}");
        let (status, body, _) = call(&s, Some(&nobody), Method::GET, "/api/v1/tasks", None).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")), "{body}");

        // A create: defaults filled, the owner set from the caller, times stamped.
        let (status, body, _) =
            call(&s, Some(&ada), Method::POST, "/api/v1/tasks", Some(json!({"title": "a00", "estimate": 1.5}))).await;
        assert_eq!(status, 201, "{body}");
        let first = &body["data"];
        assert_eq!(
            (&first["title"], &first["done"], &first["priority"], &first["owner_id"], &first["estimate"]),
            (&json!("a00"), &json!(false), &json!("normal"), &json!("ada"), &json!(1.5)),
            "{body}"
        );
        assert!(first["id"].as_i64().unwrap() > 0 && first["created_at"].as_i64().unwrap() > 1_700_000_000_000);

        // Validation from the field types: each refusal names its field.
        for (bad, pointer) in [
            (json!({"title": 5}), "/title"),
            (json!({"done": true}), ""),
            (json!({"title": "x", "priority": "urgent"}), "/priority"),
            (json!({"title": "x".repeat(51)}), "/title"),
            (json!({"title": "x", "points": 1.5}), "/points"),
            (json!({"title": "x", "owner_id": "bob"}), ""),
            (json!({"title": "x", "id": 7}), ""),
        ] {
            let (status, body, _) = call(&s, Some(&ada), Method::POST, "/api/v1/tasks", Some(bad.clone())).await;
            assert_eq!((status, body["code"].as_str()), (400, Some("VALIDATION_FAILED")), "{bad}: {body}");
            assert!(body["details"].get(pointer).is_some() || pointer.is_empty(), "{bad}: {body}");
        }

        // 24 more of ada's (every third one done, priorities in turn), 3 of bob's.
        for i in 1..25 {
            let priority = ["low", "normal", "high"][i % 3];
            let row = json!({"title": format!("a{i:02}"), "done": i % 3 == 0, "priority": priority, "points": i});
            assert_eq!(call(&s, Some(&ada), Method::POST, "/api/v1/tasks", Some(row)).await.0, 201);
        }
        for i in 0..3 {
            let row = json!({"title": format!("b{i}")});
            assert_eq!(call(&s, Some(&bob), Method::POST, "/api/v1/tasks", Some(row)).await.0, 201);
        }

        // Pages: 20 by default, a total, ada's rows only.
        let (status, body, total) = call(&s, Some(&ada), Method::GET, "/api/v1/tasks", None).await;
        assert_eq!((status, total), (200, Some(25)), "{body}");
        assert_eq!(body["pagination"], json!({"page": 1, "limit": 20, "total": 25, "totalPages": 2}));
        assert_eq!(titles(&body).len(), 20);
        assert!(titles(&body).iter().all(|t| t.starts_with('a')));
        let (_, body, _) = call(&s, Some(&ada), Method::GET, "/api/v1/tasks?page=2", None).await;
        assert_eq!(titles(&body), ["a20", "a21", "a22", "a23", "a24"]);
        // Filters (one value, or any of several) and sorting.
        let (_, body, total) =
            call(&s, Some(&ada), Method::GET, "/api/v1/tasks?done=true&sort=-title&limit=3", None).await;
        assert_eq!((titles(&body), total), (vec!["a24".into(), "a21".into(), "a18".into()], Some(8)), "{body}");
        let (_, _, total) = call(&s, Some(&ada), Method::GET, "/api/v1/tasks?priority=low&priority=high", None).await;
        assert_eq!(total, Some(16));
        let (_, body, _) = call(&s, Some(&ada), Method::GET, "/api/v1/tasks?sort=-points&limit=1", None).await;
        assert_eq!(titles(&body), ["a24"]);
        // A value is a bound parameter, never SQL.
        let (status, body, total) =
            call(&s, Some(&ada), Method::GET, "/api/v1/tasks?title=x%27%20OR%20%271%27%3D%271", None).await;
        assert_eq!((status, total), (200, Some(0)), "{body}");
        // A bad query says which parameter and what it takes.
        for (query, param) in [
            ("limit=1000", "limit"),
            ("page=0", "page"),
            ("sort=secret", "sort"),
            ("done=maybe", "done"),
            ("nope=1", "nope"),
        ] {
            let (status, body, _) = call(&s, Some(&ada), Method::GET, &format!("/api/v1/tasks?{query}"), None).await;
            assert_eq!((status, body["code"].as_str()), (400, Some("VALIDATION_FAILED")), "{query}: {body}");
            assert!(body["details"][param].is_string(), "{query}: {body}");
        }

        // One row: its owner reads, changes and deletes it; another user finds nothing.
        let id = first["id"].as_i64().unwrap();
        let one = format!("/api/v1/tasks/{id}");
        assert_eq!(call(&s, Some(&ada), Method::GET, &one, None).await.1["data"]["title"], "a00");
        for method in [Method::GET, Method::DELETE] {
            let (status, body, _) = call(&s, Some(&bob), method, &one, None).await;
            assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")), "{body}");
        }
        let (status, _, _) = call(&s, Some(&bob), Method::PATCH, &one, Some(json!({"done": true}))).await;
        assert_eq!(status, 404);
        let (status, body, _) =
            call(&s, Some(&ada), Method::PATCH, &one, Some(json!({"done": true, "title": "a00!"}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (&body["data"]["done"], &body["data"]["title"], &body["data"]["priority"]),
            (&json!(true), &json!("a00!"), &json!("normal"))
        );
        assert!(body["data"]["updated_at"].as_i64().unwrap() >= body["data"]["created_at"].as_i64().unwrap());
        // A whole number written as 2.0 is an integer; a NUL is refused, not a 500.
        let (status, body, _) = call(&s, Some(&ada), Method::PATCH, &one, Some(json!({"points": 2.0}))).await;
        assert_eq!((status, &body["data"]["points"]), (200, &json!(2)), "{body}");
        let (status, body, _) = call(&s, Some(&ada), Method::PATCH, &one, Some(json!({"title": "a\u{0}b"}))).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("VALIDATION_FAILED")), "{body}");
        let (status, _, _) = call(&s, Some(&ada), Method::GET, "/api/v1/tasks?title=a%00b", None).await;
        assert_eq!(status, 400);
        for bad in [json!({}), json!({"owner_id": "bob"}), json!({"done": "yes"})] {
            let (status, body, _) = call(&s, Some(&ada), Method::PATCH, &one, Some(bad.clone())).await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
        assert_eq!(call(&s, Some(&ada), Method::GET, "/api/v1/tasks/abc", None).await.0, 400);

        // A scope lifts the confinement: every row, and a filter by owner.
        let (_, _, total) = call(&s, Some(&root), Method::GET, "/api/v1/tasks", None).await;
        assert_eq!(total, Some(28));
        let (_, body, total) = call(&s, Some(&root), Method::GET, "/api/v1/tasks?owner_id=bob", None).await;
        assert_eq!((titles(&body), total), (vec!["b0".into(), "b1".into(), "b2".into()], Some(3)));

        // A custom endpoint of the same app reads the same table through `db`.
        let report = json!({"statements": [{"sql": "SELECT owner_id, COUNT(*) AS n FROM tasks GROUP BY owner_id ORDER BY owner_id", "query": true}]});
        let (status, body, _) = call(&s, Some(&root), Method::POST, "/api/v1/report", Some(report)).await;
        assert_eq!(status, 200, "{body}");
        let seen = body.to_string();
        assert!(seen.contains("ada") && seen.contains("25") && seen.contains("bob"), "{seen}");

        // Deleted: gone for its owner too.
        assert_eq!(
            call(&s, Some(&ada), Method::DELETE, &one, None).await.1["data"],
            json!({"id": id, "deleted": true})
        );
        assert_eq!(call(&s, Some(&ada), Method::GET, &one, None).await.0, 404);
        assert_eq!(call(&s, Some(&ada), Method::DELETE, &one, None).await.0, 404);

        // An anonymous entity meets its rate limit; the rest of the platform does not notice.
        for i in 0..5 {
            let (status, body, _) =
                call(&s, None, Method::POST, "/api/v1/notes", Some(json!({"text": format!("n{i}")}))).await;
            assert_eq!(status, 201, "{body}");
        }
        let (status, body, _) =
            call(&s, None, Method::POST, "/api/v1/notes", Some(json!({"text": "one too many"}))).await;
        assert_eq!((status, body["code"].as_str()), (429, Some("RATE_LIMIT_EXCEEDED")), "{body}");
        // Each route counts on its own, as any endpoint's: the list still answers.
        let (status, _, total) = call(&s, None, Method::GET, "/api/v1/notes", None).await;
        assert_eq!((status, total), (200, Some(5)));
        assert_eq!(call(&s, None, Method::GET, "/hello", None).await.0, 200);
        assert_eq!(call(&s, Some(&ada), Method::GET, "/api/v1/tasks?limit=1", None).await.0, 200);

        // The OpenAPI document has the entity's routes, bodies and list parameters.
        let doc = client().get(s.url("/openapi.json")).send().await.unwrap().json::<Value>().await.unwrap();
        let tasks = &doc["paths"]["/api/v1/tasks"];
        assert_eq!(tasks["post"]["requestBody"]["content"]["application/json"]["schema"]["required"], json!(["title"]));
        assert!(tasks["post"]["responses"]["201"].is_object(), "{tasks}");
        let params: Vec<&str> =
            tasks["get"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        for p in ["page", "limit", "sort", "done", "priority", "owner_id"] {
            assert!(params.contains(&p), "{p} not in {params:?}");
        }
        assert!(doc["paths"]["/api/v1/tasks/{id}"]["patch"].is_object());
        if let Some(tools) = gatehouse_tests::python_tools::bin() {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("openapi.json");
            std::fs::write(&file, doc.to_string()).unwrap();
            let out = std::process::Command::new(tools.join("openapi-spec-validator")).arg(&file).output().unwrap();
            assert!(
                out.status.success(),
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn a_new_version_adds_fields_and_a_changed_type_is_refused_while_the_old_one_serves() {
    for backend in DbBackend::all() {
        let t = tenant(&backend);
        let s = backend.platform().admin().start();
        let v1 =
            "[[entity]]\nname = \"items\"\nauth = \"none\"\nfields.name = { type = \"string\", required = true }\n";
        assert_eq!(deploy(&s, &t, app(v1)).await.0, 201);
        let (status, _, _) = call(&s, None, Method::POST, "/api/v1/items", Some(json!({"name": "old"}))).await;
        assert_eq!(status, 201);
        // A field added: the old row has none, a new one takes it. The app's
        // own migration adds a column of its own, which is never served.
        let v2 = format!("[database]\nmigrations = \"migrations\"\n{v1}fields.size = {{ type = \"integer\" }}\n");
        let own: &[u8] = b"ALTER TABLE items ADD COLUMN secret TEXT DEFAULT 'hidden';";
        let tar = app_bundle(
            "board",
            &v2,
            &[("sql_runner.wasm", &std::fs::read(guests::SQL_RUNNER).unwrap()), ("migrations/001_secret.sql", own)],
        );
        let (status, body) = deploy(&s, &t, tar).await;
        assert_eq!(status, 201, "{backend:?}: {body}");
        let (status, body, _) =
            call(&s, None, Method::POST, "/api/v1/items", Some(json!({"name": "new", "size": 3}))).await;
        assert_eq!((status, &body["data"]["size"]), (201, &json!(3)), "{body}");
        let (_, body, _) = call(&s, None, Method::GET, "/api/v1/items?sort=id", None).await;
        let first = body["data"][0].as_object().unwrap();
        assert_eq!(first.get("size"), Some(&Value::Null), "{body}");
        assert!(!body.to_string().contains("hidden"), "an undeclared column was served: {body}");
        // A field's type changed: refused; the previous version serves.
        let v3 = format!("{v1}fields.size = {{ type = \"string\" }}\n");
        let (status, body) = deploy(&s, &t, app(&v3)).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
        assert!(body["error"].as_str().unwrap().contains("generated migration"), "{body}");
        let (status, body, _) =
            call(&s, None, Method::POST, "/api/v1/items", Some(json!({"name": "n", "size": 4}))).await;
        assert_eq!((status, &body["data"]["size"]), (201, &json!(4)), "{body}");
        // A manifest that declares nonsense is refused, naming the key.
        for (bad, key) in [
            ("[[entity]]\nname = \"Items\"\nfields.a = { type = \"string\" }\n", "entity[0].name"),
            ("[[entity]]\nname = \"pg_class\"\nfields.a = { type = \"string\" }\n", "entity[0].name"),
            ("[[entity]]\nname = \"items\"\nfields.id = { type = \"string\" }\n", "entity[0].fields.id"),
            ("[[entity]]\nname = \"items\"\nfields.a = { type = \"date\" }\n", "unknown variant `date`"),
            (
                "[[entity]]\nname = \"items\"\nauth = \"none\"\nowner = \"who\"\nfields.a = { type = \"string\" }\n",
                "entity[0].auth",
            ),
        ] {
            let (status, body) = deploy(&s, &t, app(bad)).await;
            assert_eq!(status, 422, "{bad}: {body}");
            assert!(body["error"].as_str().unwrap().contains(key), "{bad}: {body}");
        }
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn entities_count_against_the_tenants_components() {
    let s = DbBackend::Sqlite.platform().admin().start();
    let (status, _) = s
        .admin_call(
            Method::POST,
            "/admin/v1/tenants",
            Some(json!({"name": "small", "settings": {"quotas": {"maxComponents": 2}}})),
        )
        .await;
    assert_eq!(status, 201);
    let entity =
        |name: &str| format!("[[entity]]\nname = \"{name}\"\nauth = \"none\"\nfields.a = {{ type = \"string\" }}\n");
    let two = format!("{}{}", entity("one"), entity("two"));
    assert_eq!(deploy(&s, "small", app_bundle("a", &two, &[])).await.0, 201);
    let (status, body) = deploy(&s, "small", app_bundle("b", &entity("three"), &[])).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("DEPLOY_REJECTED")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("maxComponents"), "{body}");
    let resp = client().get(s.url("/t/small/api/v1/two")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}
