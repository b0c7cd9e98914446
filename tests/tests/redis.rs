//! Rate limits on Redis: exact across several gatehouse processes sharing one
//! Redis, and a dead Redis answered by the configured fail mode (never a hang).

use std::time::{Duration, Instant};

use gatehouse_tests::config::quote;
use gatehouse_tests::{Platform, client, example_path, json, redis_url};

fn limited(redis: &str, tenant: &str, fail: &str) -> Platform {
    Platform::new()
        .platform("tenant", &quote(tenant))
        .platform("redis_url", &quote(redis))
        .section("rate_limit", &[("on_backend_error", &quote(fail))])
        .endpoint("GET /hello", &example_path("hello"))
        .with("rate_limit", "{ limit = 10, window = \"1h\", by = \"ip\" }")
}

fn unique_tenant() -> String {
    format!("t{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_sharing_redis_admit_exactly_the_limit() {
    let Some(redis) = redis_url() else { return };
    let tenant = unique_tenant();
    let a = limited(&redis, &tenant, "closed").start();
    let b = limited(&redis, &tenant, "closed").start();
    assert!(a.log().contains("rate_limits=\"redis\""), "{}", a.log());
    let mut calls = Vec::new();
    for i in 0..40 {
        let url = if i % 2 == 0 { a.url("/hello") } else { b.url("/hello") };
        calls.push(tokio::spawn(async move { client().get(url).send().await.unwrap() }));
    }
    let mut admitted = 0;
    for c in calls {
        let resp = c.await.unwrap();
        match resp.status().as_u16() {
            200 => admitted += 1,
            429 => assert!(resp.headers().contains_key("retry-after")),
            other => panic!("unexpected {other}: {}", resp.text().await.unwrap()),
        }
    }
    assert_eq!(admitted, 10, "the two nodes together must admit exactly the limit");
}

/// A Redis URL where nothing listens.
fn dead_redis() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("redis://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_dead_redis_fails_closed_with_503_quickly() {
    let s = limited(&dead_redis(), &unique_tenant(), "closed").start();
    for _ in 0..3 {
        let started = Instant::now();
        let resp = client().get(s.url("/hello")).send().await.unwrap();
        assert_eq!(resp.status(), 503);
        assert_eq!(json(resp).await["code"], "RATE_LIMIT_UNAVAILABLE");
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    }
    assert!(s.log().contains("rate limiter unavailable, request refused"));
}

#[tokio::test]
async fn a_dead_redis_fails_open_when_configured() {
    let s = limited(&dead_redis(), &unique_tenant(), "open").start();
    for _ in 0..12 {
        assert_eq!(client().get(s.url("/hello")).send().await.unwrap().status(), 200);
    }
    assert!(s.log().contains("rate limiter unavailable, request admitted"));
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_dying_mid_run_is_a_503_not_a_crash() {
    // A private redis-server on a free port, so it can be killed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let spawned = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn();
    let Ok(mut redis) = spawned else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("redis-server is not installed, and CI requires it");
        }
        println!("skipping: redis-server is not installed");
        return;
    };
    let url = format!("redis://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut s = limited(&url, &unique_tenant(), "closed").start();
    assert_eq!(client().get(s.url("/hello")).send().await.unwrap().status(), 200);
    redis.kill().unwrap();
    redis.wait().unwrap();
    let started = Instant::now();
    let resp = client().get(s.url("/hello")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(s.is_running());
}
