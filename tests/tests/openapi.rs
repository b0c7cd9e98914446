//! Each tenant's OpenAPI 3.1 document, generated from what it serves, checked
//! by a real validator (`openapi-spec-validator`, from tests/tools) and
//! against the routes.

use gatehouse_tests::config::quote;
use gatehouse_tests::{ADMIN_TOKEN, Platform, client, example_path, json, python_tools, repo_file};
use serde_json::{Value, json};

#[tokio::test]
async fn the_document_validates_and_describes_every_route_as_the_gate_serves_it() {
    let Some(tools) = python_tools::bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, value: Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, value.to_string()).unwrap();
        quote(&path.display().to_string())
    };
    let post_schema = write(
        "post.json",
        json!({"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}}),
    );
    let report_query = write(
        "report-query.json",
        json!({"type": "object", "required": ["format"], "properties": {"format": {"enum": ["pdf", "csv"]}, "page": {"type": "integer"}}}),
    );
    let s = Platform::new()
        .admin()
        .section("database", &[("migrations", &repo_file("endpoints/migrations"))])
        .endpoint("GET /api/hello", &example_path("hello"))
        .endpoint("POST /api/contact", &example_path("contact"))
        .with("schema", &repo_file("endpoints/contact/schema.json"))
        .with("rate_limit", "{ limit = 5, window = \"1m\", by = \"ip\" }")
        .endpoint("GET /api/user/profile", &example_path("profile"))
        .with("auth", "\"required\"")
        .with("scopes", "[\"read\"]")
        .endpoint("GET /api/posts/{id}", &example_path("posts"))
        .with("auth", "\"optional\"")
        .with("openapi", &format!("{{ summary = \"Read a post\", response_schema = {post_schema} }}"))
        .endpoint("DELETE /api/posts/{id}", &example_path("posts"))
        .with("auth", "\"required\"")
        .endpoint("GET /api/v1/reports/{reportId}/export", &example_path("report_export"))
        .with("query_schema", &report_query)
        .endpoint("POST /api/upload", &example_path("file_upload"))
        .with("auth", "\"required\"")
        .with("upload", "{ max_kb = 64, content_types = [\"image/png\"] }")
        .start();

    let resp = client().get(s.url("/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let doc = json(resp).await;
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = std::process::Command::new(tools.join("openapi-spec-validator")).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}\n{doc:#}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(doc["openapi"], "3.1.0");

    // Every route, and only the routes, each with its methods.
    let paths = doc["paths"].as_object().unwrap();
    let mut routes: Vec<String> =
        paths.iter().flat_map(|(p, item)| item.as_object().unwrap().keys().map(move |m| format!("{m} {p}"))).collect();
    routes.sort();
    assert_eq!(
        routes,
        [
            "delete /api/posts/{id}",
            "get /api/hello",
            "get /api/posts/{id}",
            "get /api/user/profile",
            "get /api/v1/reports/{reportId}/export",
            "post /api/contact",
            "post /api/upload",
        ]
    );
    // Path and query parameters.
    let report = &paths["/api/v1/reports/{reportId}/export"]["get"];
    assert_eq!(
        report["parameters"][0],
        json!({"name": "reportId", "in": "path", "required": true, "schema": {"type": "string"}})
    );
    let format = report["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "format").unwrap();
    assert_eq!((format["in"].as_str(), format["required"].as_bool()), (Some("query"), Some(true)));
    // The body schema, the gate's 400/415, and the rate limit's 429 with its headers.
    let contact = &paths["/api/contact"]["post"];
    assert_eq!(
        contact["requestBody"]["content"]["application/json"]["schema"]["required"],
        json!(["name", "email", "message"])
    );
    let responses = contact["responses"].as_object().unwrap();
    assert!(
        ["200", "400", "413", "415", "429", "500", "503", "504"].iter().all(|c| responses.contains_key(*c)),
        "{responses:?}"
    );
    assert!(!responses.contains_key("401"), "a public endpoint has no 401");
    assert!(doc["components"]["responses"]["TooManyRequests"]["headers"]["X-RateLimit-Remaining"].is_object());
    // Security with its scopes: 401, and 403 INSUFFICIENT_SCOPE.
    let profile = &paths["/api/user/profile"]["get"];
    assert_eq!(profile["security"], json!([{"apiKey": ["read"]}, {"bearer": ["read"]}]));
    assert!(profile["responses"]["401"].is_object() && profile["responses"]["403"].is_object());
    assert!(
        doc["components"]["responses"]["Forbidden"]["description"].as_str().unwrap().contains("INSUFFICIENT_SCOPE")
    );
    assert_eq!(paths["/api/hello"]["get"]["security"], json!([]));
    // Optional auth also admits anonymous callers; the endpoint's own words and answer schema.
    let post = &paths["/api/posts/{id}"]["get"];
    assert_eq!(post["security"].as_array().unwrap().last(), Some(&json!({})));
    assert_eq!(post["summary"], "Read a post");
    assert_eq!(
        post["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["title"]["type"],
        "string"
    );
    // An upload takes a multipart form.
    assert!(paths["/api/upload"]["post"]["requestBody"]["content"]["multipart/form-data"].is_object());
    // The envelope every error answer uses.
    assert_eq!(doc["components"]["schemas"]["Error"]["required"], json!(["success", "error", "code", "requestId"]));

    // The same document through the admin API and the CLI.
    let resp = client()
        .get(s.admin_url("/admin/v1/tenants/default/openapi.json"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(json(resp).await, doc);
    let (ok, out, err) = s.cli(&["openapi"]);
    assert!(ok, "{err}");
    let printed: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_eq!(printed, doc);
}

#[tokio::test]
async fn each_tenant_sees_its_own_document_and_a_deploy_changes_it() {
    let s = Platform::new().admin().endpoint("GET /api/who", gatehouse_tests::guests::ECHO).start();
    s.create_tenant("acme", json!({})).await;
    let echo = std::fs::read(gatehouse_tests::guests::ECHO).unwrap();
    let app = |route: &str| {
        gatehouse_tests::app_bundle(
            "shop",
            &format!("[[endpoint]]\nroute = \"GET {route}\"\ncomponent = \"echo.wasm\"\n"),
            &[("echo.wasm", &echo)],
        )
    };
    let paths = |doc: &Value| doc["paths"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(s.deploy("acme", app("/api/orders")).await.0, 201);
    let acme = json(client().get(s.url("/t/acme/openapi.json")).send().await.unwrap()).await;
    assert_eq!(paths(&acme), ["/api/orders"]);
    assert_eq!(acme["servers"], json!([{"url": "/t/acme"}]));
    // The config tenant's document names only its own routes.
    let default = json(client().get(s.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(paths(&default), ["/api/who"]);
    // A new version is a new document, though the old one was served (and kept) before.
    assert_eq!(s.deploy("acme", app("/api/invoices")).await.0, 201);
    let acme = json(client().get(s.url("/t/acme/openapi.json")).send().await.unwrap()).await;
    assert_eq!(paths(&acme), ["/api/invoices"]);
}
