//! The example endpoints of the product docs, served from the repository's own
//! platform.toml (its Rust endpoints: these tests need no other toolchain) by a
//! real gatehouse process, over real HTTP.

use gatehouse_tests::{Server, client, json, repo_config};
use serde_json::json;

fn server() -> Server {
    Server::start(&repo_config())
}

#[tokio::test]
async fn hello_answers_json_with_a_request_id() {
    let s = server();
    let resp = client().get(s.url("/api/hello")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    // The docs' answer, which their vitest test expects with toEqual.
    assert_eq!(json(resp).await, json!({"message": "Hello World"}));

    let resp = client().get(s.url("/api/hello?name=Ada%20L")).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "trace-42");
    assert_eq!(json(resp).await["message"], "Hello Ada L");
}

#[tokio::test]
async fn contact_form_accepts_a_valid_message() {
    let s = server();
    let body = json!({"name": "Ada", "email": "ada@example.com", "message": "Hello, I would like a demo."});
    let resp = client().post(s.url("/api/contact")).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let got = json(resp).await;
    assert_eq!(got["success"], true);
    let stored = format!("contact message {} stored from ada@example.com", got["data"]["id"]);
    assert!(s.until_log(&[&stored, &id], std::time::Duration::from_secs(5)).await, "{}", s.log());
}

#[tokio::test]
async fn contact_form_reports_each_invalid_field() {
    let s = server();
    let body = json!({"name": "", "email": "not-an-email", "message": "short"});
    let resp = client().post(s.url("/api/contact")).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let got = json(resp).await;
    assert_eq!(got["success"], false);
    assert_eq!(got["code"], "VALIDATION_FAILED");
    // The gate validates against endpoints/contact/schema.json: one message per failing pointer.
    assert!(got["details"]["/name"].as_str().unwrap().contains("shorter than 1"), "{got}");
    assert!(got["details"]["/email"].as_str().unwrap().contains("email"), "{got}");
    assert!(got["details"]["/message"].as_str().unwrap().contains("shorter than 10"), "{got}");
    assert!(got["requestId"].is_string());
    let resp = client().post(s.url("/api/contact")).json(&json!({"name": "Ada"})).send().await.unwrap();
    let got = json(resp).await;
    assert!(got["details"][""].as_str().unwrap().contains("email"), "{got}");
}

#[tokio::test]
async fn contact_form_refuses_malformed_json_and_oversized_bodies() {
    let s = server();
    let resp = client()
        .post(s.url("/api/contact"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let got = json(resp).await;
    assert_eq!(got["code"], "INVALID_JSON");
    assert!(got["error"].as_str().unwrap().contains("not valid JSON"));
    assert_eq!(got["details"], json!({"line": 1, "column": 2}));
    let resp = client().post(s.url("/api/contact")).body("name=Ada").send().await.unwrap();
    assert_eq!(resp.status(), 415);
    assert_eq!(json(resp).await["code"], "UNSUPPORTED_MEDIA_TYPE");

    // platform.toml gives this endpoint body_kb = 64.
    let big = "x".repeat(65 * 1024);
    let resp = client().post(s.url("/api/contact")).body(big).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    let got = json(resp).await;
    assert_eq!(got["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(got["details"]["limitBytes"], 65536);
}

#[tokio::test]
async fn report_export_downloads_a_pdf_named_for_its_id() {
    let s = server();
    let resp = client().get(s.url("/api/v1/reports/1002/export")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.headers()["content-disposition"], "attachment; filename=\"report-1002.pdf\"");
    let body = resp.bytes().await.unwrap();
    assert!(body.starts_with(b"%PDF-1.4\n"));
    assert!(body.ends_with(b"%%EOF\n"));
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("(Report 1002: Active users) Tj"));
    // The xref offset points at the xref table.
    let startxref: usize = text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
    assert!(text[startxref..].starts_with("xref\n"));
}

#[tokio::test]
async fn report_export_of_an_unknown_id_is_a_404_envelope() {
    let s = server();
    let resp = client().get(s.url("/api/v1/reports/9999/export")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let got = json(resp).await;
    assert_eq!(got["success"], false);
    assert_eq!(got["code"], "NOT_FOUND");
    assert_eq!(got["error"], "Report not found");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_the_envelope() {
    let s = server();
    let resp = client().get(s.url("/api/nothing-here")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.headers().contains_key("x-request-id"));
    let got = json(resp).await;
    assert_eq!(got["code"], "NOT_FOUND");
    assert_eq!(got["error"], "no endpoint at GET /api/nothing-here");

    let resp = client().delete(s.url("/api/contact")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    let got = json(resp).await;
    assert_eq!(got["code"], "METHOD_NOT_ALLOWED");
    assert_eq!(got["details"]["allowed"], json!(["POST"]));
}

#[tokio::test]
async fn gated_examples_as_platform_toml_declares_them() {
    let s = server();
    // Profile: auth required.
    assert_eq!(client().get(s.url("/api/user/profile")).send().await.unwrap().status(), 401);
    let key = s.create_key(&["--scopes", "read", "--user", "ada"]);
    let resp = client().get(s.url("/api/user/profile")).bearer_auth(&key).send().await.unwrap();
    let got = json(resp).await;
    assert_eq!((got["user"]["id"].as_str(), got["user"]["authType"].as_str()), (Some("ada"), Some("api-key")), "{got}");
    // AI generation: needs the write scope, then validates and fills defaults.
    let resp = client()
        .post(s.url("/api/v1/ai/generate"))
        .bearer_auth(&key)
        .json(&json!({"prompt": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let writer = s.create_key(&["--scopes", "write", "--user", "bob"]);
    let resp = client()
        .post(s.url("/api/v1/ai/generate"))
        .bearer_auth(&writer)
        .json(&json!({"prompt": "hi"}))
        .send()
        .await
        .unwrap();
    // platform.toml grants OPENAI_API_KEY from the environment, unset here: a clear 503.
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["x-ratelimit-limit"], "20");
    let got = json(resp).await;
    assert_eq!(got["code"], "UPSTREAM_NOT_CONFIGURED");
    assert!(got["error"].as_str().unwrap().contains("OPENAI_API_KEY"));
    // Stripe webhook: signed with the development secret from [secrets].
    let body = r#"{"id":"evt_9","type":"invoice.paid"}"#;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let sig = gatehouse::gate::signature::stripe_header("whsec_local_development_only", now, body.as_bytes());
    let resp = client()
        .post(s.url("/api/v1/webhooks/stripe"))
        .header("stripe-signature", sig)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await, json!({"received": true}));
    // Hello allows any origin; the profile only its own.
    let resp = client().get(s.url("/api/hello")).header("origin", "https://x.example").send().await.unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let resp = client()
        .request(reqwest::Method::OPTIONS, s.url("/api/user/profile"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
}

#[tokio::test]
async fn the_docs_cors_example_lets_its_two_origins_post_the_contact_form() {
    let s = server();
    for origin in ["https://example.com", "https://app.example.com"] {
        let resp = client()
            .request(reqwest::Method::OPTIONS, s.url("/api/contact"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204, "{origin}");
        assert_eq!(resp.headers()["access-control-allow-origin"], origin);
        let methods = resp.headers()["access-control-allow-methods"].to_str().unwrap().to_string();
        assert!(methods.contains("POST"), "{methods}");
        let headers = resp.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
        assert!(headers.contains("content-type"), "{headers}");
        let body = json!({"name": "Ada", "email": "ada@example.com", "message": "Hello from a browser."});
        let resp = client().post(s.url("/api/contact")).header("origin", origin).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["access-control-allow-origin"], origin);
    }
    // Another origin gets no CORS headers: the browser keeps the answer from its page.
    let resp = client()
        .post(s.url("/api/contact"))
        .header("origin", "https://evil.example")
        .json(&json!({"name": "Eve", "email": "eve@example.com", "message": "Hello from elsewhere."}))
        .send()
        .await
        .unwrap();
    assert!(!resp.headers().contains_key("access-control-allow-origin"));
}
