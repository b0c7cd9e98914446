//! `gatehouse_sdk::testing` on a small handler per capability: what an
//! author's own `cargo test` looks like (the examples in `endpoints/` carry
//! their own, run by `tests/tests/sdk_unit_tests.rs`).

use gatehouse_sdk::http::SseMessage;
use gatehouse_sdk::stream::{self, Event, StreamError};
use gatehouse_sdk::testing::{Mock, TestPlatform};
use gatehouse_sdk::{Error, Request, Response, auth, config, db, http, json, log, ok, params};

fn weather(_: Request) -> Result<Response, Error> {
    let base = config::get("WEATHER_URL").unwrap_or_default();
    log::info("asking the weather");
    let answer = http::get(&format!("{base}/today")).header("accept", "application/json").send()?;
    let body: gatehouse_sdk::Value = answer.json()?;
    ok(json!({ "temp": body["temp"], "status": answer.status() }))
}

#[test]
fn config_fetch_and_log_are_what_the_test_says() {
    let p = TestPlatform::builder().config("WEATHER_URL", "https://api.example.com").open();
    p.mock("GET", "https://api.example.com/today", Mock::json(json!({ "temp": 21 })));
    let r = p.call(weather, Request::new("GET", "/api/weather"));
    assert_eq!(r.json(), json!({ "success": true, "data": { "temp": 21, "status": 200 } }));
    let calls = p.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].url.as_str(), calls[0].headers.clone()),
        ("https://api.example.com/today", vec![("accept".into(), "application/json".into())])
    );
    assert_eq!(p.logs(), vec![("info".to_string(), "asking the weather".to_string())]);
}

#[test]
fn an_upstream_that_fails_or_is_not_mocked_is_the_platforms_failure() {
    let p = TestPlatform::builder().config("WEATHER_URL", "https://api.example.com").open();
    p.mock("GET", "https://api.example.com/today", Mock::timeout());
    let r = p.call(weather, Request::new("GET", "/"));
    assert_eq!((r.status, r.json()["code"].clone()), (503, json!("UPSTREAM_TIMEOUT")));
    drop(p);
    let p = TestPlatform::builder().config("WEATHER_URL", "https://elsewhere.example").open();
    let r = p.call(weather, Request::new("GET", "/"));
    assert_eq!((r.status, r.json()["code"].clone()), (500, json!("OUTBOUND_NOT_ALLOWED")));
    assert_eq!(r.json()["requestId"], "test-request");
}

fn who(_: Request) -> Result<Response, Error> {
    let me = auth::current();
    ok(json!({ "kind": me.kind.as_str(), "user": me.user_id, "admin": me.has_scope("admin"), "claims": me.claims }))
}

#[test]
fn the_caller_is_the_one_the_test_describes() {
    let p = TestPlatform::open();
    assert_eq!(
        p.call(who, Request::new("GET", "/")).json()["data"],
        json!({ "kind": "anonymous", "user": null, "admin": false, "claims": null })
    );
    drop(p);
    let p = TestPlatform::builder().user("ada").scopes(["admin"]).open();
    assert_eq!(
        p.call(who, Request::new("GET", "/")).json()["data"],
        json!({ "kind": "api-key", "user": "ada", "admin": true, "claims": null })
    );
    drop(p);
    let p =
        TestPlatform::builder().user("ada").kind(auth::PrincipalKind::Session).claims(json!({ "plan": "pro" })).open();
    assert_eq!(p.call(who, Request::new("GET", "/")).json()["data"]["claims"], json!({ "plan": "pro" }));
}

fn unique(req: Request) -> Result<Response, Error> {
    db::execute("CREATE TABLE IF NOT EXISTS t (name TEXT UNIQUE)", params![])?;
    let tx = db::transaction()?;
    tx.execute("INSERT INTO t (name) VALUES (?)", params![req.query("name")])?;
    tx.commit()?;
    ok(json!({ "saved": db::query("SELECT COUNT(*) AS n FROM t", params![])?.to_json()[0]["n"] }))
}

#[test]
fn a_constraint_is_409_db_constraint_as_on_the_platform_and_the_transaction_rolls_back() {
    let p = TestPlatform::open();
    let r = p.call(unique, Request::new("GET", "/").with_query("name", "a"));
    assert_eq!(r.json()["data"], json!({ "saved": 1 }));
    let r = p.call(unique, Request::new("GET", "/").with_query("name", "a"));
    assert_eq!((r.status, r.json()["code"].clone()), (409, json!("DB_CONSTRAINT")));
    // The dropped transaction rolled back: the test sees one row, and the database is usable.
    assert_eq!(db::query("SELECT name FROM t", params![]).unwrap().len(), 1);
    p.exec("INSERT INTO t (name) VALUES ('b'); INSERT INTO t (name) VALUES ('c');");
    assert_eq!(db::execute("DELETE FROM t WHERE name <> ?", params!["a"]).unwrap(), 2);
}

#[test]
fn migrations_apply_in_name_order_and_a_thread_without_a_platform_has_no_database() {
    let dir = std::env::temp_dir().join(format!("gatehouse-sdk-migrations-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sqlite")).unwrap();
    std::fs::write(dir.join("sqlite/0001_a.sql"), "CREATE TABLE a (x INTEGER);").unwrap();
    std::fs::write(dir.join("sqlite/0002_b.sql"), "INSERT INTO a (x) VALUES (7);").unwrap();
    let p = TestPlatform::builder().migrations(&dir).open();
    let rows = db::query("SELECT x FROM a", params![]).unwrap();
    assert_eq!(rows.to_json(), vec![json!({ "x": 7 })]);
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
    let e: Error = db::query("SELECT 1", params![]).unwrap_err().into();
    assert_eq!(e.code(), Some("DB_UNAVAILABLE"));
}

fn events(_: Request) -> Result<Response, Error> {
    for n in 0..5 {
        match stream::send(&Event::json(&json!({ "n": n }))?) {
            Ok(()) => {}
            Err(StreamError::Closed) => {
                log::info(&format!("the client left after {n}"));
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Response::new(204))
}

#[test]
fn a_stream_is_recorded_event_by_event_until_the_client_leaves() {
    let p = TestPlatform::builder().client_leaves_after(3).open();
    let r = p.call(events, Request::new("GET", "/"));
    assert_eq!((r.status, r.header("content-type")), (200, Some("text/event-stream")));
    let data: Vec<&str> = r.events.iter().map(|e: &SseMessage| e.data.as_str()).collect();
    assert_eq!(data, [r#"{"n":0}"#, r#"{"n":1}"#, r#"{"n":2}"#]);
    assert!(r.text().starts_with("data: {\"n\":0}\n\n"), "{}", r.text());
    assert_eq!(p.logs(), vec![("info".to_string(), "the client left after 3".to_string())]);
}

fn relay(_: Request) -> Result<Response, Error> {
    let mut upstream = http::get("https://llm.example/v1/stream").send_streaming()?.events();
    let mut words = Vec::new();
    while let Some(message) = upstream.next_event()? {
        words.push(message.data);
    }
    ok(json!({ "words": words }))
}

#[test]
fn a_streamed_fetch_reads_the_mock_piece_by_piece() {
    let p = TestPlatform::open();
    p.mock(
        "GET",
        "https://llm.example/v1/stream",
        Mock::chunks(["data: he", "llo\n\ndata: world\n\n"]).header("content-type", "text/event-stream"),
    );
    let r = p.call(relay, Request::new("GET", "/"));
    assert_eq!(r.json()["data"], json!({ "words": ["hello", "world"] }));
}

fn validates(req: Request) -> Result<Response, Error> {
    let body: gatehouse_sdk::Value = req.json()?;
    if body.get("name").is_none() {
        return Err(Error::validation("the request is not valid", [("/name", "is required")]));
    }
    gatehouse_sdk::created(body)
}

#[test]
fn an_error_is_the_platforms_envelope_with_its_status() {
    let p = TestPlatform::open();
    let r = p.call(validates, Request::new("POST", "/").with_json(&json!({})));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({ "success": false, "error": "the request is not valid", "code": "VALIDATION_FAILED", "details": { "/name": "is required" }, "requestId": "test-request" })
    );
    let r = p.call(validates, Request::new("POST", "/").with_json(&json!({ "name": "x" })));
    assert_eq!((r.status, r.json()["data"]["name"].clone()), (201, json!("x")));
}

fn avatar(req: Request) -> Result<Response, Error> {
    let user = auth::current().user_id.unwrap_or_default();
    let key = format!("avatars/{user}.png");
    gatehouse_sdk::blobs::put(&key, "image/png", req.body())?;
    let page = gatehouse_sdk::blobs::list("avatars/", None, 10)?;
    let url = gatehouse_sdk::blobs::signed_url(&key, 60)?;
    ok(json!({ "url": url, "stored": page.objects.iter().map(|o| o.key.clone()).collect::<Vec<_>>() }))
}

#[test]
fn objects_are_kept_in_memory_with_the_platforms_key_rules() {
    let p = TestPlatform::builder().user("ada").open();
    let r = p.call(avatar, Request::new("POST", "/avatar").with_body(b"\x89PNG".to_vec()));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["stored"], json!(["avatars/ada.png"]));
    assert!(
        r.json()["data"]["url"].as_str().unwrap().starts_with("https://blobs.test/_blobs/avatars/ada.png?expires=")
    );
    let stored = p.blob("avatars/ada.png").unwrap();
    assert_eq!((stored.info.content_type.as_str(), stored.data.as_slice()), ("image/png", &b"\x89PNG"[..]));
    // A key that climbs is the platform's refusal, as on the platform.
    let r = TestPlatform::builder().user("../x").open().call(avatar, Request::new("POST", "/avatar"));
    assert_eq!((r.status, r.json()["code"].clone()), (500, json!("BLOB_INVALID")));
}
