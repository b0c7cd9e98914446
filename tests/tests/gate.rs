//! The gate: API keys, sessions, scopes, rate limits, validation, signatures
//! and CORS, enforced by a real gatehouse process before any guest runs.
//! Every refusal is also checked not to have created an instance.

use std::time::Duration;

use gatehouse_tests::config::quote;
use gatehouse_tests::{ADMIN_TOKEN, Platform, Server, client, example_path, json, repo_file};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Profile (auth required) and AI generation (scope, rate limit, schema, an
/// OpenAI-style upstream mocked on loopback) behind the admin API.
fn keyed_server() -> Server {
    let upstream = gatehouse_tests::mock_upstream();
    Platform::new()
        .admin()
        .section("outbound", &[("allow_private", "[\"127.0.0.1/32\"]")])
        .section("secrets", &[("OPENAI_API_KEY", &quote(gatehouse_tests::UPSTREAM_KEY))])
        .endpoint("GET /api/user/profile", &example_path("profile"))
        .with("auth", "\"required\"")
        .endpoint("POST /api/v1/ai/generate", &example_path("ai_generate"))
        .with("auth", "\"required\"")
        .with("scopes", "[\"write\"]")
        .with("rate_limit", "{ limit = 20, window = \"1h\", by = \"user\" }")
        .with("schema", &repo_file("endpoints/ai-generate/schema.json"))
        .with("allowed_hosts", &format!("[\"http://{upstream}\"]"))
        .with("secrets", "[\"OPENAI_API_KEY\"]")
        .with("variables", &format!("{{ OPENAI_BASE_URL = \"http://{upstream}\", OPENAI_MODEL = \"gpt-mock\" }}"))
        .start()
}

async fn instances(s: &Server) -> u64 {
    s.stats().await["instancesStarted"].as_u64().unwrap()
}

#[tokio::test]
async fn api_keys_authenticate_by_bearer_or_header_and_missing_ones_get_401() {
    let s = keyed_server();
    let resp = client().get(s.url("/api/user/profile")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"gatehouse\"");
    assert_eq!(json(resp).await["code"], "UNAUTHORIZED");
    let resp = client().get(s.url("/api/user/profile")).bearer_auth("sk_live_0000000000_nope").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    assert_eq!(instances(&s).await, 0, "a refused request created an instance");

    let key = s.create_key(&["--scopes", "read,write", "--name", "ci", "--user", "ada"]);
    assert!(key.starts_with("sk_live_"), "{key}");
    for req in [
        client().get(s.url("/api/user/profile")).bearer_auth(&key),
        client().get(s.url("/api/user/profile")).header("x-api-key", &key),
    ] {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let data = json(resp).await["user"].clone();
        assert_eq!(data["authType"], "api-key");
        assert_eq!(data["tenant"], "default");
        assert_eq!(data["id"], "ada");
        assert_eq!(data["scopes"], json!(["read", "write"]));
        assert!(key.contains(data["keyId"].as_str().unwrap()));
    }
    // Only a hash and a display prefix are stored, and no key reaches the log.
    let (ok, list, _) = s.cli(&["keys", "list"]);
    assert!(ok && list.contains("active") && !list.contains(&key));
    let db = std::fs::read(s.data_dir().join("platform.db")).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains(&key[key.len() - 43..]), "the key's secret is in the database");
    assert!(!s.log().contains(&key[key.len() - 43..]), "the key reached the log");
}

#[tokio::test]
async fn a_key_revoked_while_in_use_stops_working_at_once() {
    let s = keyed_server();
    let key = s.create_key(&["--scopes", "read"]);
    let id = key.split('_').nth(2).unwrap().to_string();
    assert_eq!(client().get(s.url("/api/user/profile")).bearer_auth(&key).send().await.unwrap().status(), 200);
    let (ok, out, err) = s.cli(&["keys", "revoke", &id]);
    assert!(ok, "{err}");
    assert!(out.contains("revoked"));
    let resp = client().get(s.url("/api/user/profile")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(json(resp).await["error"].as_str().unwrap().contains("revoked"));

    // The admin API revokes just as well.
    let key = s.create_key(&["--scopes", "read"]);
    let id = key.split('_').nth(2).unwrap().to_string();
    assert_eq!(client().get(s.url("/api/user/profile")).bearer_auth(&key).send().await.unwrap().status(), 200);
    let resp =
        client().delete(s.admin_url(&format!("/admin/v1/keys/{id}"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(client().get(s.url("/api/user/profile")).bearer_auth(&key).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn expired_keys_are_refused() {
    let s = keyed_server();
    // A lifetime of zero is over the moment the key is made: expired, without waiting.
    let key = s.create_key(&["--scopes", "read", "--expires", "0s"]);
    let resp = client().get(s.url("/api/user/profile")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(json(resp).await["error"].as_str().unwrap().contains("expired"));
    // A key with time left still works.
    let key = s.create_key(&["--scopes", "read", "--expires", "1h"]);
    assert_eq!(client().get(s.url("/api/user/profile")).bearer_auth(&key).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_admin_api_needs_its_token_and_manages_keys() {
    let s = keyed_server();
    let resp = client().get(s.admin_url("/admin/v1/keys")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = client().get(s.admin_url("/admin/v1/keys")).bearer_auth("wrong-token-wrong-token").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = client()
        .post(s.admin_url("/admin/v1/keys"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"scopes": ["write"], "name": "deploy bot", "expires": "30d", "userId": "bot"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created = json(resp).await["data"].clone();
    let key = created["key"].as_str().unwrap().to_string();
    assert!(created["expiresAt"].as_i64().unwrap() > now() + 29 * 86400);
    assert!(created.get("hash").is_none());
    let resp = client().get(s.admin_url("/admin/v1/keys")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    let listed = json(resp).await["data"].clone();
    assert_eq!(listed[0]["prefix"], created["prefix"]);
    assert!(listed[0].get("key").is_none() && !listed.to_string().contains(&key));
    let resp = client().get(s.url("/api/user/profile")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(json(resp).await["user"]["id"], "bot");
    let resp = client().delete(s.admin_url("/admin/v1/keys/nope")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn missing_scopes_are_403_listing_them() {
    let s = keyed_server();
    let key = s.create_key(&["--scopes", "read"]);
    let resp = client()
        .post(s.url("/api/v1/ai/generate"))
        .bearer_auth(&key)
        .json(&json!({"prompt": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let got = json(resp).await;
    assert_eq!(got["code"], "INSUFFICIENT_SCOPE");
    assert_eq!(got["details"]["missing"], json!(["write"]));
    assert_eq!(instances(&s).await, 0);
}

#[tokio::test]
async fn ai_generate_validates_fills_defaults_and_rate_limits_per_user() {
    let s = keyed_server();
    let ada = s.create_key(&["--scopes", "write", "--user", "ada"]);
    let bob = s.create_key(&["--scopes", "write", "--user", "bob"]);
    let post = |key: &str, body: Value| client().post(s.url("/api/v1/ai/generate")).bearer_auth(key).json(&body).send();

    // Schema: documented bounds, each failing pointer reported; defaults filled in.
    let resp = post(&ada, json!({"prompt": "", "maxTokens": 5, "temperature": 2})).await.unwrap();
    assert_eq!(resp.status(), 400);
    let got = json(resp).await;
    assert_eq!(got["code"], "VALIDATION_FAILED");
    for p in ["/prompt", "/maxTokens", "/temperature"] {
        assert!(got["details"][p].is_string(), "{p} missing in {got}");
    }
    let resp = client()
        .post(s.url("/api/v1/ai/generate"))
        .bearer_auth(&ada)
        .header("content-type", "text/plain")
        .body("{\"prompt\":\"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let resp = client()
        .post(s.url("/api/v1/ai/generate"))
        .bearer_auth(&ada)
        .header("content-type", "application/json")
        .body("{\"prompt\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(json(resp).await["code"], "INVALID_JSON");
    // The refusals above used 3 of ada's 20 (the limit is checked before the body).
    let resp = post(&ada, json!({"prompt": "Write a haiku"})).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-ratelimit-limit"], "20");
    assert_eq!(resp.headers()["x-ratelimit-remaining"], "16");
    assert_eq!(resp.headers()["ratelimit-policy"], "\"user-0\";q=20;w=3600");
    assert!(resp.headers()["ratelimit"].to_str().unwrap().starts_with("\"user-0\";r=16;t="));
    let data = json(resp).await["data"].clone();
    assert_eq!(
        data,
        json!({"text": "echo: Write a haiku (max_tokens 100, temperature 0.7)", "tokensUsed": 7, "model": "gpt-mock"})
    );

    for _ in 0..16 {
        assert_eq!(post(&ada, json!({"prompt": "again"})).await.unwrap().status(), 200);
    }
    let before = instances(&s).await;
    let resp = post(&ada, json!({"prompt": "one too many"})).await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["x-ratelimit-remaining"], "0");
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=180).contains(&retry), "retry-after {retry}");
    assert!(resp.headers().contains_key("x-ratelimit-reset"));
    assert!(resp.headers().contains_key("ratelimit-policy") && resp.headers().contains_key("ratelimit"));
    assert_eq!(json(resp).await["code"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(instances(&s).await, before, "a rate-limited request created an instance");
    // Bob has his own budget.
    assert_eq!(post(&bob, json!({"prompt": "hi"})).await.unwrap().status(), 200);
    // The upstream key was used but never logged.
    assert!(!s.log().contains(gatehouse_tests::UPSTREAM_KEY));
}

#[tokio::test]
async fn the_memory_limiter_is_exact_under_concurrency() {
    let s = Platform::new()
        .endpoint("GET /hello", &example_path("hello"))
        .with(
            "rate_limit",
            "[{ limit = 25, window = \"1h\", by = \"ip\" }, { limit = 1000, window = \"1d\", by = \"ip\" }]",
        )
        .start();
    let mut calls = Vec::new();
    for _ in 0..60 {
        let url = s.url("/hello");
        calls.push(tokio::spawn(async move { client().get(url).send().await.unwrap().status().as_u16() }));
    }
    let mut admitted = 0;
    for c in calls {
        match c.await.unwrap() {
            200 => admitted += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(admitted, 25);
}

fn session_server(session: &[(&str, &str)]) -> Server {
    Platform::new()
        .section("secrets", &[("SESSION_SECRET", "\"a-long-hs256-secret-for-tests-only\"")])
        .section("auth.session", session)
        .endpoint("GET /api/user/profile", &example_path("profile"))
        .with("auth", "\"required\"")
        .endpoint("GET /maybe", &example_path("profile"))
        .with("auth", "\"optional\"")
        .start()
}

const ISSUER: (&str, &str) = ("issuer", "\"https://auth.example.com\"");
const AUDIENCE: (&str, &str) = ("audience", "\"gatehouse\"");

const HS256_SESSION: &[(&str, &str)] =
    &[("algorithm", "\"HS256\""), ("secret", "\"SESSION_SECRET\""), ISSUER, AUDIENCE, ("cookie", "\"sid\"")];

fn claims(exp_offset: i64) -> Value {
    json!({"sub": "user-42", "exp": now() + exp_offset, "iss": "https://auth.example.com", "aud": "gatehouse", "scope": "read profile", "plan": "pro"})
}

fn hs256(claims: &Value, secret: &str) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

async fn profile(s: &Server, token: &str) -> reqwest::Response {
    client().get(s.url("/api/user/profile")).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn hs256_sessions_from_header_or_cookie() {
    let s = session_server(HS256_SESSION);
    let token = hs256(&claims(600), "a-long-hs256-secret-for-tests-only");
    let resp = profile(&s, &token).await;
    assert_eq!(resp.status(), 200);
    let data = json(resp).await["user"].clone();
    assert_eq!(data["authType"], "session");
    assert_eq!(data["id"], "user-42");
    assert_eq!(data["scopes"], json!(["read", "profile"]));
    assert_eq!(data["claims"]["plan"], "pro");
    let resp = client()
        .get(s.url("/api/user/profile"))
        .header("cookie", format!("theme=dark; sid={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Optional auth: anonymous without credentials, 401 with bad ones.
    let resp = client().get(s.url("/maybe")).send().await.unwrap();
    assert_eq!(json(resp).await["user"]["authType"], "anonymous");
    let resp = client().get(s.url("/maybe")).bearer_auth("garbage").send().await.unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn expired_foreign_and_unsigned_sessions_are_refused() {
    let s = session_server(HS256_SESSION);
    let cases = [
        ("expired", hs256(&claims(-120), "a-long-hs256-secret-for-tests-only"), "expired"),
        ("another key", hs256(&claims(600), "some-other-secret-entirely"), "signature"),
        (
            "wrong issuer",
            hs256(
                &{
                    let mut c = claims(600);
                    c["iss"] = json!("https://evil.example");
                    c
                },
                "a-long-hs256-secret-for-tests-only",
            ),
            "issuer",
        ),
        (
            "wrong audience",
            hs256(
                &{
                    let mut c = claims(600);
                    c["aud"] = json!("other");
                    c
                },
                "a-long-hs256-secret-for-tests-only",
            ),
            "audience",
        ),
        (
            "not yet valid",
            hs256(
                &{
                    let mut c = claims(600);
                    c["nbf"] = json!(now() + 300);
                    c
                },
                "a-long-hs256-secret-for-tests-only",
            ),
            "nbf",
        ),
    ];
    for (what, token, expect) in cases {
        let resp = profile(&s, &token).await;
        assert_eq!(resp.status(), 401, "{what}");
        let msg = json(resp).await["error"].as_str().unwrap().to_string();
        assert!(msg.contains(expect), "{what}: {msg}");
    }
    // alg: none, with a valid-looking payload and no signature.
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims(600)));
    assert_eq!(profile(&s, &none).await.status(), 401);
    let none_signed = format!("{}.{}.c2ln", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims(600)));
    assert_eq!(profile(&s, &none_signed).await.status(), 401);
}

fn es256(claims: &Value, private_pem: &str, kid: Option<&str>) -> String {
    let pem = std::fs::read(format!("{}/tests/fixtures/{private_pem}", gatehouse_tests::guests::REPO_ROOT)).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_string);
    encode(&header, claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap()
}

#[tokio::test]
async fn es256_sessions_with_a_pem_key_and_no_algorithm_confusion() {
    let key = repo_file("tests/fixtures/es256-public.pem");
    let s = session_server(&[("algorithm", "\"ES256\""), ("public_key", &key), ISSUER, AUDIENCE]);
    assert_eq!(profile(&s, &es256(&claims(600), "es256-private.pem", None)).await.status(), 200);
    assert_eq!(profile(&s, &es256(&claims(600), "es256-other-private.pem", None)).await.status(), 401);
    // Algorithm confusion: an HS256 token whose HMAC key is the public key itself.
    let public =
        std::fs::read_to_string(format!("{}/tests/fixtures/es256-public.pem", gatehouse_tests::guests::REPO_ROOT))
            .unwrap();
    let confused = hs256(&claims(600), &public);
    let resp = profile(&s, &confused).await;
    assert_eq!(resp.status(), 401);
    assert!(json(resp).await["error"].as_str().unwrap().contains("only ES256"));
}

#[tokio::test]
async fn es256_sessions_with_a_jwks_pick_the_key_by_kid() {
    let key = repo_file("tests/fixtures/jwks.json");
    let s = session_server(&[("algorithm", "\"ES256\""), ("jwks", &key), ISSUER, AUDIENCE]);
    assert_eq!(profile(&s, &es256(&claims(600), "es256-private.pem", Some("test-key-1"))).await.status(), 200);
    let resp = profile(&s, &es256(&claims(600), "es256-private.pem", Some("unknown-kid"))).await;
    assert_eq!(resp.status(), 401);
    assert!(json(resp).await["error"].as_str().unwrap().contains("kid"));
}

#[tokio::test]
async fn stripe_webhooks_need_a_fresh_valid_signature() {
    let s = Platform::new()
        .admin()
        .section("secrets", &[("STRIPE_WEBHOOK_SECRET", "\"whsec_test_secret\"")])
        .endpoint("POST /api/v1/webhooks/stripe", &example_path("stripe_webhook"))
        .with(
            "signature",
            "{ scheme = \"stripe\", header = \"Stripe-Signature\", secret = \"STRIPE_WEBHOOK_SECRET\", tolerance = \"5m\" }",
        )
        .start();
    let body = r#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{}}}"#;
    let send = |sig: String| {
        client()
            .post(s.url("/api/v1/webhooks/stripe"))
            .header("stripe-signature", sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let resp = send(gatehouse::gate::signature::stripe_header("whsec_test_secret", now() as u64, body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await, json!({"received": true}));
    let started = instances(&s).await;
    for (what, sig) in [
        ("wrong secret", gatehouse::gate::signature::stripe_header("whsec_other", now() as u64, body.as_bytes())),
        (
            "replayed",
            gatehouse::gate::signature::stripe_header("whsec_test_secret", now() as u64 - 600, body.as_bytes()),
        ),
        ("garbage", "t=1,v1=00".to_string()),
    ] {
        let resp = send(sig).await.unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        assert_eq!(json(resp).await["code"], "INVALID_SIGNATURE", "{what}");
    }
    let resp = client().post(s.url("/api/v1/webhooks/stripe")).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(instances(&s).await, started);
}

#[tokio::test]
async fn cors_preflights_are_answered_by_the_gate() {
    let s = Platform::new()
        .admin()
        .endpoint("GET /api/hello", &example_path("hello"))
        .with("cors", "{ origins = [\"*\"] }")
        .endpoint("POST /api/items", &example_path("hello"))
        .with(
            "cors",
            "{ origins = [\"https://app.example.com\"], credentials = true, headers = [\"authorization\", \"content-type\"], max_age = \"1h\" }",
        )
        .start();
    let preflight = |origin: &str, method: &str, headers: &str| {
        client()
            .request(reqwest::Method::OPTIONS, s.url("/api/items"))
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .send()
    };
    let resp = preflight("https://app.example.com", "POST", "authorization, content-type").await.unwrap();
    assert_eq!(resp.status(), 204);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert_eq!(h["access-control-allow-headers"], "authorization, content-type");
    assert_eq!(h["access-control-max-age"], "3600");
    assert_eq!(h["vary"], "Origin");
    let resp = preflight("https://evil.example", "POST", "").await.unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    assert_eq!(json(resp).await["code"], "CORS_REJECTED");
    assert_eq!(preflight("https://app.example.com", "POST", "x-secret").await.unwrap().status(), 403);
    assert_eq!(instances(&s).await, 0, "a preflight created an instance");

    // Actual requests carry the headers for allowed origins only.
    let resp = client().get(s.url("/api/hello")).header("origin", "https://anyone.example").send().await.unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let resp = client().post(s.url("/api/items")).header("origin", "https://evil.example").send().await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn query_schemas_and_upload_policies() {
    let s = Platform::new()
        .endpoint("GET /search", gatehouse_tests::guests::ECHO)
        .with("query_schema", &repo_file("tests/fixtures/search-query.schema.json"))
        .endpoint("POST /upload", gatehouse_tests::guests::ECHO)
        .with("upload", "{ max_kb = 1, content_types = [\"image/*\", \"application/pdf\"] }")
        .start();
    assert_eq!(client().get(s.url("/search?q=cats&limit=10")).send().await.unwrap().status(), 200);
    let resp = client().get(s.url("/search?q=cats&limit=500")).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(json(resp).await["details"]["/limit"].is_string());
    assert_eq!(client().get(s.url("/search?limit=5")).send().await.unwrap().status(), 400);

    let upload = |name: &str, ty: &str, size: usize| {
        let part = reqwest::multipart::Part::bytes(vec![b'x'; size]).file_name(name.to_string()).mime_str(ty).unwrap();
        client().post(s.url("/upload")).multipart(reqwest::multipart::Form::new().part("file", part)).send()
    };
    assert_eq!(upload("a.png", "image/png", 1000).await.unwrap().status(), 200);
    let resp = upload("a.exe", "application/x-msdownload", 10).await.unwrap();
    assert_eq!(resp.status(), 415);
    assert!(json(resp).await["error"].as_str().unwrap().contains("a.exe"));
    assert_eq!(upload("big.pdf", "application/pdf", 2000).await.unwrap().status(), 413);
    assert_eq!(client().post(s.url("/upload")).body("plain").send().await.unwrap().status(), 415);
}

#[tokio::test]
async fn oversized_bodies_are_refused_from_the_declared_length_without_reading() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Platform::new().endpoint("POST /x", &example_path("hello")).with("limits", "{ body_kb = 1 }").start();
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Declare 100 MB and send none of it: the answer must come anyway.
    conn.write_all(b"POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("no answer without the body")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("PAYLOAD_TOO_LARGE"));
}

#[tokio::test]
async fn rs256_sessions_with_a_pem_key() {
    let key = repo_file("tests/fixtures/rs256-public.pem");
    let s = session_server(&[("algorithm", "\"RS256\""), ("public_key", &key), ISSUER, AUDIENCE]);
    let pem =
        std::fs::read(format!("{}/tests/fixtures/rs256-private.pem", gatehouse_tests::guests::REPO_ROOT)).unwrap();
    let token =
        encode(&Header::new(Algorithm::RS256), &claims(600), &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap();
    let resp = profile(&s, &token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json(resp).await["user"]["id"], "user-42");
    // The HS256-with-the-public-key confusion, against RSA this time.
    let public =
        std::fs::read_to_string(format!("{}/tests/fixtures/rs256-public.pem", gatehouse_tests::guests::REPO_ROOT))
            .unwrap();
    assert_eq!(profile(&s, &hs256(&claims(600), &public)).await.status(), 401);
    // An ES256 token (another algorithm family) is refused before any key is tried.
    assert_eq!(profile(&s, &es256(&claims(600), "es256-private.pem", None)).await.status(), 401);
}

#[tokio::test]
async fn the_tenant_ceiling_spans_every_endpoint() {
    let s = Platform::new()
        .section("rate_limit", &[("tenant", "{ limit = 6, window = \"1h\" }")])
        .endpoint("GET /a", &example_path("hello"))
        .endpoint("GET /b", &example_path("hello"))
        .with("rate_limit", "{ limit = 100, window = \"1m\", by = \"ip\" }")
        .start();
    let mut statuses = Vec::new();
    for i in 0..10 {
        let path = if i % 2 == 0 { "/a" } else { "/b" };
        let resp = client().get(s.url(path)).send().await.unwrap();
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 {
            assert!(resp.headers()["ratelimit-policy"].to_str().unwrap().contains("\"tenant\";q=6;w=3600"));
        }
    }
    assert_eq!(statuses.iter().filter(|&&c| c == 200).count(), 6, "{statuses:?}");
    assert!(statuses[6..].iter().all(|&c| c == 429), "{statuses:?}");
}

#[tokio::test]
async fn secrets_set_through_the_admin_api_reach_only_granted_endpoints_live() {
    let s = Platform::new()
        .admin()
        .endpoint("POST /items/{id}/{slug}", gatehouse_tests::guests::ECHO)
        .with("secrets", "[\"API_TOKEN\"]")
        .endpoint("POST /other/{id}/{slug}", gatehouse_tests::guests::ECHO)
        .start();
    let token = |path: &'static str| {
        let url = s.url(path);
        async move { json(client().post(url).send().await.unwrap()).await["data"]["token"].clone() }
    };
    assert_eq!(token("/items/1/a").await, Value::Null);
    let set = |value: &str| {
        client()
            .put(s.admin_url("/admin/v1/secrets/API_TOKEN"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"value": value}))
            .send()
    };
    assert_eq!(set("live-value-one").await.unwrap().status(), 200);
    assert_eq!(token("/items/1/a").await, "live-value-one");
    // Not granted to the other endpoint, even though it is set.
    assert_eq!(token("/other/1/a").await, Value::Null);
    assert_eq!(set("live-value-two").await.unwrap().status(), 200);
    assert_eq!(token("/items/1/a").await, "live-value-two");
    let resp = client().get(s.admin_url("/admin/v1/secrets")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    let listed = json(resp).await["data"].clone();
    assert_eq!(listed[0]["name"], "API_TOKEN");
    assert!(!listed.to_string().contains("live-value"), "a listing showed a value: {listed}");
    let resp =
        client().delete(s.admin_url("/admin/v1/secrets/API_TOKEN")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(token("/items/1/a").await, Value::Null);
    assert!(!s.log().contains("live-value"), "a secret value reached the log");
    let resp =
        client().put(s.admin_url("/admin/v1/secrets/API_TOKEN")).json(&json!({"value": "x"})).send().await.unwrap();
    assert_eq!(resp.status(), 401);
}
