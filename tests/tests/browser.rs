//! The product docs' browser code, unchanged, in headless Chromium against a
//! real gatehouse: what a person using the docs' page would see.

use gatehouse_tests::config::quote;
use gatehouse_tests::{IMPORT_ROUTE, Platform, browser, client, example_path, repo_file};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

const SESSION_SECRET: &str = "a-long-hs256-secret-for-the-browser-test";

#[tokio::test]
async fn the_docs_eventsource_client_shows_the_unread_notifications() {
    if browser::ready().is_none() {
        return;
    }
    // As the docs have it: the stream needs a session, which the browser
    // sends as a cookie; no query string, the docs' 5-second interval.
    let s = gatehouse_tests::with_task_import(
        Platform::new()
            .section("database", &[("migrations", &repo_file("endpoints/migrations"))])
            .section("secrets", &[("SESSION_SECRET", &quote(SESSION_SECRET))])
            .section(
                "auth.session",
                &[("algorithm", "\"HS256\""), ("secret", "\"SESSION_SECRET\""), ("cookie", "\"session\"")],
            )
            .endpoint("GET /api/notifications/stream", &example_path("notifications"))
            .with("auth", "\"required\"")
            .with("limits", "{ wall_ms = 60000 }"),
    )
    .start();
    // One unread notification for ada, filed by an import with `notify`.
    let key = s.create_key(&["--user", "ada"]);
    let body = json!({"tasks": [{"title": "Review the docs"}], "notify": true});
    let resp = client().post(s.url(IMPORT_ROUTE)).bearer_auth(&key).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 201);

    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 600;
    let token = encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "ada", "exp": exp}),
        &EncodingKey::from_secret(SESSION_SECRET.as_bytes()),
    )
    .unwrap();
    let base = s.url("").trim_end_matches('/').to_string();
    let args = [base, "session".to_string(), token, "Unread: 1".to_string()];
    let (ok, printed) = browser::run("eventsource.mjs", &args).await;
    // The component renders its initial state, then the first update's list.
    assert!(ok, "the page never showed `Unread: 1`:\n{printed}\nserver log:\n{}", s.log());
    assert!(printed.contains("first: Unread: 0") && printed.contains("last: Unread: 1"), "{printed}");
    // The stream ends when the page goes: the platform saw the client leave.
    assert!(s.until_log(&["the client left mid-stream"], std::time::Duration::from_secs(10)).await, "{}", s.log());
}
