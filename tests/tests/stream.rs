//! Server-sent events from a guest, read by a real client as they are written.

use std::time::{Duration, Instant};

use gatehouse_tests::{Server, client, example, read_events, repo_file};

fn server(extra: &str) -> Server {
    Server::start(&format!(
        r#"
        {extra}
        [database]
        migrations = {migrations}

        [[endpoint]]
        route = "GET /api/notifications/stream"
        component = {notifications}
        auth = "required"
        limits = {{ wall_ms = 60000 }}
        "#,
        migrations = repo_file("endpoints/migrations"),
        notifications = example("notifications"),
    ))
}

#[tokio::test]
async fn events_arrive_one_by_one_as_the_guest_writes_them() {
    let s = server("");
    let key = s.create_key(&["--user", "ada"]);
    let started = Instant::now();
    let mut resp =
        client().get(s.url("/api/notifications/stream?intervalMs=400&limit=4")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    assert!(resp.headers().contains_key("x-request-id"));
    let events = read_events(&mut resp, 4).await;
    assert_eq!(events.len(), 4);
    assert!(events[0].0.starts_with("event: notification\nid: 1\ndata: {"), "{}", events[0].0);
    assert!(events[3].0.contains("\"seq\":4"));
    // The first event came long before the guest could have written the last:
    // it was sent as it was written, not buffered until the end.
    assert!(
        events[0].1.duration_since(started) < Duration::from_millis(1000),
        "first event after {:?}",
        events[0].1 - started
    );
    assert!(
        events[3].1.duration_since(events[0].1) >= Duration::from_millis(1000),
        "the events were not spaced by the guest"
    );
    // The stream ends when the guest returns.
    assert!(resp.chunk().await.unwrap().is_none());
}

#[tokio::test]
async fn a_client_that_leaves_ends_the_guest_at_once() {
    // One slot only: if the abandoned guest kept running (its wall budget is a
    // minute), the next request could not get a slot within the queue timeout.
    let s = server("[sandbox]\nmax_instances = 1\nqueue_timeout = \"2s\"\n");
    let key = s.create_key(&["--user", "ada"]);
    let mut resp =
        client().get(s.url("/api/notifications/stream?intervalMs=200")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(read_events(&mut resp, 1).await.len(), 1);
    drop(resp);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let mut again =
        client().get(s.url("/api/notifications/stream?intervalMs=100&limit=1")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(again.status(), 200, "the abandoned guest still holds the only slot");
    assert_eq!(read_events(&mut again, 1).await.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_silent_stream_is_ended_by_its_idle_budget() {
    let s = Server::start(&format!(
        r#"
        [database]
        migrations = {migrations}

        [[endpoint]]
        route = "GET /api/notifications/stream"
        component = {notifications}
        auth = "required"
        limits = {{ wall_ms = 60000, stream_idle_ms = 400 }}
        "#,
        migrations = repo_file("endpoints/migrations"),
        notifications = example("notifications"),
    ));
    let key = s.create_key(&["--user", "ada"]);
    // An event, then 5 s of silence: far past the 400 ms idle budget.
    let mut resp =
        client().get(s.url("/api/notifications/stream?intervalMs=5000")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(read_events(&mut resp, 1).await.len(), 1);
    let started = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(4), resp.chunk()).await.expect("the stream was not ended");
    assert!(end.map(|c| c.is_none()).unwrap_or(true), "more data arrived instead of the end");
    assert!(started.elapsed() < Duration::from_secs(2), "ended after {:?}", started.elapsed());
    assert!(s.until_log(&["stream idle budget of 400 ms exceeded"], Duration::from_secs(3)).await, "{}", s.log());
}

#[tokio::test]
async fn ai_generation_relays_upstream_tokens_as_they_arrive() {
    let upstream = gatehouse_tests::mock_upstream();
    let s = Server::start(&format!(
        r#"
        [outbound]
        allow_private = ["127.0.0.1/32"]

        [secrets]
        OPENAI_API_KEY = "{key}"

        [[endpoint]]
        route = "POST /api/v1/ai/generate/stream"
        component = {ai}
        auth = "required"
        scopes = ["write"]
        schema = {schema}
        allowed_hosts = ["http://{upstream}"]
        secrets = ["OPENAI_API_KEY"]
        variables = {{ OPENAI_BASE_URL = "http://{upstream}", OPENAI_MODEL = "gpt-mock" }}
        "#,
        key = gatehouse_tests::UPSTREAM_KEY,
        ai = example("ai_generate_stream"),
        schema = repo_file("endpoints/ai-generate/schema.json"),
    ));
    let key = s.create_key(&["--scopes", "write", "--user", "ada"]);
    let started = Instant::now();
    let mut resp = client()
        .post(s.url("/api/v1/ai/generate/stream"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"prompt": "one two three four"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    // The upstream sends "echo:" and four words, 200 ms apart, then [DONE].
    let events = read_events(&mut resp, 6).await;
    assert_eq!(events.len(), 6);
    let first = events[0].1 - started;
    let last_token = events[4].1 - started;
    assert!(first < Duration::from_millis(700), "the first token came after {first:?}");
    assert!(last_token - first >= Duration::from_millis(600), "the tokens were not relayed as they came");
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
