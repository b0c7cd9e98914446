//! Server-sent events from a guest, read by a real client as they are written.

use std::time::Duration;

use gatehouse_tests::config::quote;
use gatehouse_tests::{Platform, Server, client, example_path, read_events, repo_file};

/// The notifications example, with the database its events read.
fn notifications(limits: &str) -> Platform {
    Platform::new()
        .section("database", &[("migrations", &repo_file("endpoints/migrations"))])
        .endpoint("GET /api/notifications/stream", &example_path("notifications"))
        .with("auth", "\"required\"")
        .with("limits", limits)
}

fn server(platform: Platform) -> Server {
    gatehouse_tests::with_task_import(platform).start()
}

#[tokio::test]
async fn events_arrive_one_by_one_as_the_guest_writes_them() {
    let s = server(notifications("{ wall_ms = 60000 }"));
    let key = s.create_key(&["--user", "ada"]);
    let mut resp =
        client().get(s.url("/api/notifications/stream?intervalMs=100&limit=2")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    assert!(resp.headers().contains_key("x-request-id"));
    let events = read_events(&mut resp, 3).await;
    assert_eq!(events.len(), 3);
    // Unnamed events, as the docs' `EventSource.onmessage` client needs them.
    assert_eq!(events[0].0, "data: {\"type\":\"connected\"}");
    for (update, _) in &events[1..] {
        assert_eq!(gatehouse_tests::event_data(update), serde_json::json!({"type": "notifications", "data": []}));
    }
    // The stream ends when the guest returns.
    assert!(resp.chunk().await.unwrap().is_none());
    // Each event is sent as it is written, not held until the guest returns:
    // the first reaches the client before the guest reads what a later one reports.
    gatehouse_tests::stream_is_sent_as_written(&s, &key, "/api/notifications/stream?intervalMs=200&limit=50").await;
}

#[tokio::test]
async fn a_client_that_leaves_ends_the_guest_at_once() {
    // One slot only: if the abandoned guest kept running (its wall budget is a
    // minute), the next request could not get a slot within the queue timeout.
    let s = server(
        notifications("{ wall_ms = 60000 }").section("sandbox", &[("max_instances", "1"), ("queue_timeout", "\"2s\"")]),
    );
    let key = s.create_key(&["--user", "ada"]);
    let mut resp =
        client().get(s.url("/api/notifications/stream?intervalMs=200")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(read_events(&mut resp, 1).await.len(), 1);
    drop(resp);
    // The platform notices the client left and stops the guest (it says so).
    assert!(s.until_log(&["the client left mid-stream"], Duration::from_secs(10)).await, "{}", s.log());
    let mut again =
        client().get(s.url("/api/notifications/stream?intervalMs=100&limit=1")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(again.status(), 200, "the abandoned guest still holds the only slot");
    assert_eq!(read_events(&mut again, 1).await.len(), 1);
}

#[tokio::test]
async fn a_silent_stream_is_ended_by_its_idle_budget() {
    let s = notifications("{ wall_ms = 60000, stream_idle_ms = 400 }").start();
    let key = s.create_key(&["--user", "ada"]);
    // An event, then 5 s of silence: far past the 400 ms idle budget.
    let mut resp =
        client().get(s.url("/api/notifications/stream?intervalMs=5000")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(read_events(&mut resp, 1).await.len(), 1);
    // Ended before the guest's next event (due at 5 s) could have come.
    let end = tokio::time::timeout(Duration::from_secs(4), resp.chunk()).await.expect("the stream was not ended");
    assert!(end.map(|c| c.is_none()).unwrap_or(true), "more data arrived instead of the end");
    assert!(s.until_log(&["stream idle budget of 400 ms exceeded"], Duration::from_secs(3)).await, "{}", s.log());
}

#[tokio::test]
async fn ai_generation_relays_upstream_tokens_as_they_arrive() {
    let upstream = gatehouse_tests::mock_upstream();
    let s = Platform::new()
        .section("outbound", &[("allow_private", "[\"127.0.0.1/32\"]")])
        .section("secrets", &[("OPENAI_API_KEY", &quote(gatehouse_tests::UPSTREAM_KEY))])
        .endpoint("POST /api/v1/ai/generate/stream", &example_path("ai_generate_stream"))
        .with("auth", "\"required\"")
        .with("scopes", "[\"write\"]")
        .with("schema", &repo_file("endpoints/ai-generate/schema.json"))
        .with("allowed_hosts", &format!("[\"http://{upstream}\"]"))
        .with("secrets", "[\"OPENAI_API_KEY\"]")
        .with("variables", &format!("{{ OPENAI_BASE_URL = \"http://{upstream}\", OPENAI_MODEL = \"gpt-mock\" }}"))
        .start();
    let key = s.create_key(&["--scopes", "write", "--user", "ada"]);
    // The upstream holds its stream after "echo:" until this test opens the gate.
    let gate = gatehouse_tests::upstream_gate("ai-relay");
    let mut resp = client()
        .post(s.url("/api/v1/ai/generate/stream"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"prompt": "hold:ai-relay one two three four"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    // The first token arrives while the upstream still holds the rest: relayed as it came.
    let mut events = read_events(&mut resp, 1).await;
    assert!(events[0].0.contains("echo:"), "{}", events[0].0);
    gate.notify_one();
    events.extend(read_events(&mut resp, 5).await);
    assert_eq!(events.len(), 6);
    let text: String = events[..5]
        .iter()
        .map(|(e, _)| {
            assert!(e.starts_with("event: token\n"), "{e}");
            let data: serde_json::Value = serde_json::from_str(e.split("data: ").nth(1).unwrap()).unwrap();
            data["text"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(text, "echo: one two three four");
    assert!(events[5].0.starts_with("event: done\n"), "{}", events[5].0);
    assert!(events[5].0.contains("\"tokens\":5") && events[5].0.contains("gpt-mock"), "{}", events[5].0);
    assert!(!s.log().contains(gatehouse_tests::UPSTREAM_KEY));
}
