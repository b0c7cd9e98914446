//! What an operator or a developer sees of the platform without reading logs:
//! Prometheus metrics, and `Server-Timing` on every answer.

use gatehouse_tests::{ADMIN_TOKEN, Platform, client, example_path, guests, repo_file};

/// The `Server-Timing` metrics of an answer, by name, in milliseconds.
fn server_timing(resp: &reqwest::Response) -> Vec<(String, f64)> {
    let Some(value) = resp.headers().get("server-timing") else { return Vec::new() };
    value
        .to_str()
        .unwrap()
        .split(", ")
        .map(|metric| {
            let (name, dur) = metric.split_once(";dur=").unwrap_or_else(|| panic!("not name;dur=: {metric}"));
            (name.to_string(), dur.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {metric}")))
        })
        .collect()
}

fn names(metrics: &[(String, f64)]) -> Vec<&str> {
    metrics.iter().map(|(n, _)| n.as_str()).collect()
}

/// Hello, a database probe, a fetcher allowed to call a mock upstream (whose
/// address comes back too), and a route that needs a key.
fn platform() -> (Platform, std::net::SocketAddr) {
    let upstream = gatehouse_tests::mock_upstream();
    let p = Platform::new()
        .section("database", &[("migrations", &repo_file("endpoints/migrations"))])
        .section("outbound", &[("allow_private", "[\"127.0.0.1/32\"]")])
        .endpoint("GET /hello", &example_path("hello"))
        .endpoint("GET /db", guests::DB_PROBE)
        .endpoint("GET /fetch", guests::FETCHER)
        .with("allowed_hosts", &format!("[\"http://{upstream}\"]"))
        .endpoint("GET /private", &example_path("profile"))
        .with("auth", "\"required\"");
    (p, upstream)
}

#[tokio::test]
async fn every_answer_says_where_its_time_went() {
    let (p, upstream) = platform();
    let s = p.start();
    // A guest with no capability calls: the gate, then the guest.
    let resp = client().get(s.url("/hello")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let hello = server_timing(&resp);
    assert_eq!(names(&hello), ["gate", "guest"], "{hello:?}");
    assert!(hello.iter().all(|(_, ms)| *ms >= 0.0), "{hello:?}");

    // The database's time is part of the guest's.
    let resp = client().get(s.url("/db?mode=table-info")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let db = server_timing(&resp);
    assert_eq!(names(&db), ["gate", "guest", "db"], "{db:?}");
    assert!(db[2].1 <= db[1].1, "db inside the guest: {db:?}");

    // So is an upstream call's.
    let url = format!("/fetch?url=http%3A%2F%2F{upstream}%2Fhello");
    let resp = client().get(s.url(&url)).send().await.unwrap();
    let fetch = server_timing(&resp);
    assert_eq!(names(&fetch), ["gate", "guest", "upstream"], "{fetch:?}");
    assert!(fetch[2].1 <= fetch[1].1, "upstream inside the guest: {fetch:?}");

    // A request the gate refuses, or no endpoint at all: the gate's time only.
    let resp = client().get(s.url("/private")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(names(&server_timing(&resp)), ["gate"]);
    let resp = client().get(s.url("/nowhere")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(names(&server_timing(&resp)), ["gate"]);
}

#[tokio::test]
async fn server_timing_is_off_with_one_key() {
    let s = platform().0.section("server", &[("server_timing", "false")]).start();
    let resp = client().get(s.url("/db?mode=table-info")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("server-timing").is_none());
}

/// The value of the one sample line that starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap_or_else(|_| panic!("not a number: {l}")))
}

#[tokio::test]
async fn prometheus_counts_known_traffic_exactly() {
    let (p, upstream) = platform();
    let s =
        p.admin().endpoint("GET /loop", guests::BUSY_LOOP).with("limits", "{ cpu_ms = 50, wall_ms = 5000 }").start();
    for _ in 0..3 {
        assert_eq!(client().get(s.url("/hello")).send().await.unwrap().status(), 200);
    }
    for _ in 0..2 {
        assert_eq!(client().get(s.url("/private")).send().await.unwrap().status(), 401);
    }
    assert_eq!(client().get(s.url("/loop")).send().await.unwrap().status(), 504);
    assert_eq!(client().get(s.url("/db?mode=table-info")).send().await.unwrap().status(), 200);
    let fetch = format!("/fetch?url=http%3A%2F%2F{upstream}%2Fhello");
    assert_eq!(client().get(s.url(&fetch)).send().await.unwrap().status(), 200);
    assert_eq!(client().get(s.url("/nowhere")).send().await.unwrap().status(), 404);

    // Behind the admin token.
    assert_eq!(client().get(s.admin_url("/metrics")).send().await.unwrap().status(), 401);
    let resp = client().get(s.admin_url("/metrics")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = resp.text().await.unwrap();
    let requests = |route: &str, status: &str| {
        sample(
            &text,
            &format!(
                "gatehouse_requests_total{{tenant=\"default\",route=\"{route}\",method=\"GET\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(requests("GET /hello", "2xx"), Some(3.0), "{text}");
    assert_eq!(requests("GET /private", "4xx"), Some(2.0), "{text}");
    assert_eq!(requests("GET /loop", "5xx"), Some(1.0), "{text}");
    assert_eq!(requests("unmatched", "4xx"), Some(1.0), "{text}");
    let refusals = "gatehouse_gate_refusals_total{tenant=\"default\",code=\"UNAUTHORIZED\"}";
    assert_eq!(sample(&text, refusals), Some(2.0), "{text}");
    let stops = "gatehouse_guest_stops_total{tenant=\"default\",limit=\"cpu_ms\"}";
    assert_eq!(sample(&text, stops), Some(1.0), "{text}");
    let db = "gatehouse_capability_call_duration_seconds_count{tenant=\"default\",capability=\"db\"}";
    assert_eq!(sample(&text, db), Some(1.0), "{text}");
    let out = "gatehouse_outbound_calls_total{tenant=\"default\",host=\"127.0.0.1\",outcome=\"ok\"}";
    assert_eq!(sample(&text, out), Some(1.0), "{text}");
    let hello_latency = "gatehouse_request_duration_seconds_count{tenant=\"default\",route=\"GET /hello\"}";
    assert_eq!(sample(&text, hello_latency), Some(3.0), "{text}");
    let guest_latency = "gatehouse_guest_duration_seconds_count{tenant=\"default\",route=\"GET /hello\"}";
    assert_eq!(sample(&text, guest_latency), Some(3.0), "{text}");
    assert_eq!(sample(&text, "gatehouse_instances_in_use{tenant=\"default\"}"), Some(0.0), "{text}");
    assert!(sample(&text, "gatehouse_compile_cache_total{result=\"miss\"}").is_some(), "{text}");
    // Routes are patterns, never raw paths: the 404 path is not a label.
    assert!(!text.contains("nowhere"), "{text}");

    // An anonymous client inventing methods mints no series: they share `OTHER`.
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        client().request(method, s.url("/hello")).send().await.unwrap();
    }
    let resp = client().get(s.admin_url("/metrics")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    let text = resp.text().await.unwrap();
    assert!(!text.contains("INVENTED"), "{text}");
    let other = "gatehouse_requests_total{tenant=\"default\",route=\"unmatched\",method=\"OTHER\",status=\"4xx\"}";
    assert_eq!(sample(&text, other), Some(20.0), "{text}");
}

#[tokio::test]
async fn metrics_may_have_a_listener_of_their_own_without_a_token() {
    let s = platform().0.section("metrics", &[("listen", "\"127.0.0.1:0\"")]).start();
    assert_eq!(client().get(s.url("/hello")).send().await.unwrap().status(), 200);
    let log = s.log();
    let url = log
        .lines()
        .find_map(|l| l.strip_prefix("gatehouse metrics on "))
        .unwrap_or_else(|| panic!("no metrics address in the log:\n{log}"))
        .to_string();
    let text = client().get(&url).send().await.unwrap().text().await.unwrap();
    let hello = "gatehouse_requests_total{tenant=\"default\",route=\"GET /hello\",method=\"GET\",status=\"2xx\"}";
    assert_eq!(sample(&text, hello), Some(1.0), "{text}");
}

/// stderr is a pipe nobody reads (a stalled log shipper): the access lines of
/// thousands of requests overflow the pipe many times over, and every request
/// is still answered, because the log is written by a thread of its own from a
/// bounded buffer (`LOG_BUFFER_LINES`; past it lines are dropped and counted).
#[tokio::test]
async fn a_stalled_reader_of_the_log_never_stalls_a_request() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let config = Platform::new().endpoint("GET /hello", &example_path("hello")).toml();
    std::fs::write(dir.path().join("platform.toml"), config).unwrap();
    let mut child = std::process::Command::new(gatehouse_tests::binary())
        .args(["serve", "--config"])
        .arg(dir.path().join("platform.toml"))
        .env("GATEHOUSE_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_DATA_DIR", dir.path().join("data"))
        .env("GATEHOUSE_BUILD_DIR", guests::BUILD_DIR)
        .env("GATEHOUSE_CACHE_DIR", std::path::Path::new(guests::BUILD_DIR).join("cwasm-cache"))
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Held open and never read: once its 64 KiB fill, a write to it blocks.
    let stalled = child.stderr.take();
    let stdout = child.stdout.take().unwrap();
    let base = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("gatehouse listening on ").map(str::to_string))
    })
    .await
    .unwrap()
    .expect("the server listens");
    let c = client();
    let requests = async {
        let mut answered = 0;
        for _ in 0..40 {
            let batch = (0..100).map(|_| c.get(format!("{base}/hello")).send());
            for resp in futures_util::future::join_all(batch).await {
                assert_eq!(resp.unwrap().status(), 200);
                answered += 1;
            }
        }
        answered
    };
    // A liveness deadline, not a speed target: a blocked log would hang here forever.
    let answered = tokio::time::timeout(std::time::Duration::from_secs(120), requests)
        .await
        .expect("requests stalled behind a log nobody reads");
    assert_eq!(answered, 4000);
    let _ = child.kill();
    let _ = child.wait();
    drop(stalled);
}
