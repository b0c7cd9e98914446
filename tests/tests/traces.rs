//! OpenTelemetry traces: with `telemetry.otlp_endpoint` set, a request is one
//! span with a child for each gate step, the guest, and each database and
//! outbound call, sent over OTLP/HTTP to a collector (a real one's protocol,
//! decoded here); a client's W3C `traceparent` is continued, and the
//! guest's outbound call carries the trace on to the upstream.

use gatehouse_tests::otlp::{Collector, Span};
use gatehouse_tests::{Platform, client, guests, json};

/// The trace a client started: its trace id and its span's id.
const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn traced(collector: &Collector, upstream: std::net::SocketAddr) -> Platform {
    Platform::new()
        .section("telemetry", &[("otlp_endpoint", &format!("\"{}\"", collector.url)), ("export_every", "\"100ms\"")])
        .section("outbound", &[("allow_private", "[\"127.0.0.1/32\"]")])
        .endpoint("GET /fetch", guests::FETCHER)
        .with("allowed_hosts", &format!("[\"http://{upstream}\"]"))
        .with("auth", "\"required\"")
        .with("scopes", "[\"read\"]")
        .with("rate_limit", "{ limit = 100, window = \"1m\", by = \"key\" }")
}

fn one<'a>(trace: &'a [Span], name: &str) -> &'a Span {
    let found: Vec<&Span> = trace.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one {name} span in {trace:#?}");
    found[0]
}

#[tokio::test]
async fn a_gated_request_is_one_trace_from_the_client_through_the_upstream() {
    let collector = Collector::start();
    let upstream = gatehouse_tests::mock_upstream();
    let s = traced(&collector, upstream).start();
    let key = s.create_key(&["--scopes", "read", "--user", "ada"]);
    let url = format!("/fetch?db=1&url=http%3A%2F%2F{upstream}%2Ftraceparent");
    let resp = client()
        .get(s.url(&url))
        .bearer_auth(&key)
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer = json(resp).await;

    let gate = ["authenticate", "scopes", "rate_limit", "tenant_share", "read_body", "check_body"];
    let mut names = vec!["request", "guest", "db", "http_out"];
    names.extend(gate);
    let trace = collector.trace(CLIENT_TRACE, &names).await;
    // The request continues the client's span.
    let request = one(&trace, "request");
    assert_eq!(request.parent_id, CLIENT_SPAN);
    assert_eq!(request.service, "gatehouse");
    assert_eq!(request.attribute("route"), Some("GET /fetch"));
    assert_eq!(request.attribute("tenant"), Some("default"));
    // Each gate step and the guest are its children, and the guest's calls are the guest's.
    for step in gate.iter().chain(&["guest"]) {
        assert_eq!(one(&trace, step).parent_id, request.span_id, "{step} under the request");
    }
    let guest = one(&trace, "guest");
    let db = one(&trace, "db");
    assert_eq!(db.parent_id, guest.span_id);
    assert_eq!(db.attribute("operation"), Some("query"));
    let http_out = one(&trace, "http_out");
    assert_eq!(http_out.parent_id, guest.span_id);
    assert_eq!(http_out.attribute("host"), Some(upstream.to_string().as_str()));
    // The upstream was told the trace, as a child of the outbound call's span.
    assert_eq!(answer["data"]["body"], format!("00-{CLIENT_TRACE}-{}-01", http_out.span_id), "{answer}");
}

#[tokio::test]
async fn a_refused_request_is_traced_to_the_step_that_refused_it_and_no_guest() {
    let collector = Collector::start();
    let upstream = gatehouse_tests::mock_upstream();
    let s = traced(&collector, upstream).start();
    let key = s.create_key(&["--scopes", "write"]);
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let resp = client()
        .get(s.url("/fetch?url=x"))
        .bearer_auth(&key)
        .header("traceparent", format!("00-{trace_id}-b7ad6b7169203331-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let trace = collector.trace(trace_id, &["request", "authenticate", "scopes"]).await;
    assert!(trace.iter().all(|s| s.name != "guest" && s.name != "rate_limit"), "{trace:#?}");
}

#[tokio::test]
async fn without_a_collector_no_trace_is_invented_or_passed_on() {
    let upstream = gatehouse_tests::mock_upstream();
    let s = Platform::new()
        .section("outbound", &[("allow_private", "[\"127.0.0.1/32\"]")])
        .endpoint("GET /fetch", guests::FETCHER)
        .with("allowed_hosts", &format!("[\"http://{upstream}\"]"))
        .start();
    let url = format!("/fetch?url=http%3A%2F%2F{upstream}%2Ftraceparent");
    let resp = client()
        .get(s.url(&url))
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .send()
        .await
        .unwrap();
    let answer = json(resp).await;
    // Traces off: the platform neither invents a trace nor forwards the client's.
    assert_eq!(answer["data"]["body"], "none", "{answer}");
}
