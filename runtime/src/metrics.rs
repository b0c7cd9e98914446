//! Prometheus metrics, kept with `prometheus-client` and scraped at
//! `GET /metrics` (the admin listener, or `metrics.listen` of its own).
//!
//! Events are recorded where they happen in the request's walk (the server
//! calls [`Metrics::request`] once per answer with what it learnt); values
//! kept elsewhere (a tenant's places in the pool, the compile cache, the rate
//! limiter's backend errors) are read when scraped ([`Snapshot`]). Every
//! label set is bounded: routes are patterns, never raw paths; outbound
//! hosts are the endpoint's allowed hosts (a refused call is `refused`, never
//! the host a guest wrote); tenants past `metrics.max_tenants` share the
//! `other` series.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The Prometheus text format's content type (OpenMetrics 1.0, which
/// Prometheus scrapes natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The tenant label of every tenant past the cap.
pub const OTHER_TENANT: &str = "other";

/// Methods with a label of their own; any other (hyper accepts any token, so
/// an anonymous client could mint one per request) is `OTHER`.
const KNOWN_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The limits the sandbox stops a guest at. A guest may answer an error whose
/// details name any `limit` it likes; only these count as stops.
const KNOWN_LIMITS: &[&str] = &["cpu_ms", "wall_ms", "memory_mb", "stack", "response_bytes", "stream_idle_ms"];

fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS.iter().find(|m| **m == method).copied().unwrap_or("OTHER")
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    tenant: String,
    route: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    tenant: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    tenant: String,
    capability: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    tenant: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    tenant: String,
    limit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChangeLabels {
    tenant: String,
    action: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboundLabels {
    tenant: String,
    host: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: String,
}

/// Latency buckets from 100 µs to about 26 s, doubling: a hello is in the
/// first few, a stream or a slow upstream in the last.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn histograms<L: Clone + std::hash::Hash + Eq>() -> Histograms<L> {
    Family::new_with_constructor(latency)
}

/// What one answered request contributes.
#[derive(Debug, Default)]
pub struct RequestRecord<'a> {
    /// The tenant, if the request reached one.
    pub tenant: Option<&'a str>,
    /// The route pattern, if it matched one.
    pub route: Option<&'a str>,
    /// The method.
    pub method: &'a str,
    /// The answer's status.
    pub status: u16,
    /// Arrival to answer head.
    pub total: Duration,
    /// Arrival to guest start (or refusal), if it was routed.
    pub gate: Option<Duration>,
    /// The guest, if it ran.
    pub guest: Option<Duration>,
    /// The platform's error code, if the gate refused it.
    pub refused: Option<&'a str>,
    /// The limit that stopped the guest (`cpu_ms`, `wall_ms`, `memory_mb`, …).
    pub stopped_by: Option<&'a str>,
    /// Each `db` call's duration.
    pub db_calls: Vec<Duration>,
    /// Each `http-out` call: its duration, the host (an allowed one) and the outcome.
    pub outbound: Vec<(Duration, Option<String>, &'static str)>,
}

/// Values kept elsewhere, read at scrape time.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Per tenant: instances in use, requests waiting for one.
    pub tenants: Vec<(String, usize, usize)>,
    /// Components loaded from the compile cache, and compiled.
    pub cache_hits: u64,
    /// Components compiled.
    pub cache_misses: u64,
    /// Rate-limit checks the backend (Redis) could not answer.
    pub rate_limit_backend_errors: u64,
    /// Log lines dropped because stderr's reader fell behind.
    pub log_lines_dropped: u64,
    /// Tenants loaded on this node now.
    pub tenants_loaded: u64,
    /// Tenants asleep on this node now (stored, loaded on their next request).
    pub tenants_asleep: u64,
    /// Tenant loads since start.
    pub tenant_loads: u64,
}

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    max_tenants: usize,
    tenants: Mutex<HashSet<String>>,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histograms<RouteLabels>,
    gate_seconds: Histograms<RouteLabels>,
    guest_seconds: Histograms<RouteLabels>,
    call_seconds: Histograms<CallLabels>,
    refusals: Family<CodeLabels, Counter>,
    guest_stops: Family<LimitLabels, Counter>,
    in_use: Family<TenantLabels, Gauge>,
    waiting: Family<TenantLabels, Gauge>,
    rate_limit_errors: Counter,
    log_lines_dropped: Counter,
    tenants_loaded: Gauge,
    tenants_asleep: Gauge,
    tenant_loads: Counter,
    compile_cache: Family<CacheLabels, Counter>,
    changes: Family<ChangeLabels, Counter>,
    outbound: Family<OutboundLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("max_tenants", &self.max_tenants).finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics whose tenant label names at most `max_tenants` tenants.
    pub fn new(max_tenants: usize) -> Self {
        let mut registry = Registry::with_prefix("gatehouse");
        let m = Self {
            registry: Registry::default(),
            max_tenants,
            tenants: Mutex::default(),
            requests: Family::default(),
            request_seconds: histograms(),
            gate_seconds: histograms(),
            guest_seconds: histograms(),
            call_seconds: histograms(),
            refusals: Family::default(),
            guest_stops: Family::default(),
            in_use: Family::default(),
            waiting: Family::default(),
            rate_limit_errors: Counter::default(),
            log_lines_dropped: Counter::default(),
            tenants_loaded: Gauge::default(),
            tenants_asleep: Gauge::default(),
            tenant_loads: Counter::default(),
            compile_cache: Family::default(),
            changes: Family::default(),
            outbound: Family::default(),
        };
        registry.register(
            "requests",
            "Requests answered, by tenant, route, method and status class",
            m.requests.clone(),
        );
        registry.register("request_duration_seconds", "Arrival to answer head, per route", m.request_seconds.clone());
        registry.register("gate_duration_seconds", "Arrival to guest start, per route", m.gate_seconds.clone());
        registry.register("guest_duration_seconds", "The guest's run, per route", m.guest_seconds.clone());
        registry.register(
            "capability_call_duration_seconds",
            "Each db and http-out call a guest made",
            m.call_seconds.clone(),
        );
        registry.register("gate_refusals", "Requests the gate refused, by error code", m.refusals.clone());
        registry.register("guest_stops", "Guests stopped by a limit, by the limit", m.guest_stops.clone());
        registry.register("instances_in_use", "Places in its share of the pool a tenant holds now", m.in_use.clone());
        registry.register(
            "instances_waiting",
            "Requests waiting for a place in their tenant's share",
            m.waiting.clone(),
        );
        registry.register(
            "rate_limit_backend_errors",
            "Rate-limit checks the backend could not answer",
            m.rate_limit_errors.clone(),
        );
        registry.register(
            "log_lines_dropped",
            "Log lines dropped because the reader of stderr fell behind",
            m.log_lines_dropped.clone(),
        );
        registry.register("tenants_loaded", "Tenants loaded on this node", m.tenants_loaded.clone());
        registry.register(
            "tenants_asleep",
            "Tenants asleep on this node: stored, loaded on their next request",
            m.tenants_asleep.clone(),
        );
        registry.register(
            "tenant_loads",
            "Tenants loaded since start (on a request, a change, or after sleeping)",
            m.tenant_loads.clone(),
        );
        registry.register(
            "compile_cache",
            "Components loaded from the compile cache (hit) or compiled (miss)",
            m.compile_cache.clone(),
        );
        registry.register("deploys", "Deploys and rollbacks, by outcome", m.changes.clone());
        registry.register("outbound_calls", "Calls guests made out, by allowed host and outcome", m.outbound.clone());
        Self { registry, ..m }
    }

    /// The tenant's label: its name for the first `max_tenants` tenants seen, then `other`.
    fn tenant(&self, tenant: Option<&str>) -> String {
        let Some(name) = tenant else { return "-".into() };
        let mut seen = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(name) {
            return name.to_string();
        }
        if seen.len() < self.max_tenants {
            seen.insert(name.to_string());
            return name.to_string();
        }
        OTHER_TENANT.into()
    }

    /// Records one answered request.
    pub fn request(&self, r: &RequestRecord<'_>) {
        let tenant = self.tenant(r.tenant);
        let route = r.route.unwrap_or("unmatched").to_string();
        let status = format!("{}xx", r.status / 100);
        let labels = RequestLabels {
            tenant: tenant.clone(),
            route: route.clone(),
            method: method_label(r.method).into(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        let by_route = RouteLabels { tenant: tenant.clone(), route };
        self.request_seconds.get_or_create(&by_route).observe(r.total.as_secs_f64());
        if let Some(gate) = r.gate {
            self.gate_seconds.get_or_create(&by_route).observe(gate.as_secs_f64());
        }
        if let Some(guest) = r.guest {
            self.guest_seconds.get_or_create(&by_route).observe(guest.as_secs_f64());
        }
        if let Some(code) = r.refused {
            self.refusals.get_or_create(&CodeLabels { tenant: tenant.clone(), code: code.into() }).inc();
        }
        if let Some(limit) = r.stopped_by.filter(|l| KNOWN_LIMITS.contains(l)) {
            self.guest_stops.get_or_create(&LimitLabels { tenant: tenant.clone(), limit: limit.into() }).inc();
        }
        if !r.db_calls.is_empty() {
            let db = self.call_seconds.get_or_create(&CallLabels { tenant: tenant.clone(), capability: "db".into() });
            for took in &r.db_calls {
                db.observe(took.as_secs_f64());
            }
        }
        for (took, host, outcome) in &r.outbound {
            let call = CallLabels { tenant: tenant.clone(), capability: "http-out".into() };
            self.call_seconds.get_or_create(&call).observe(took.as_secs_f64());
            let host = host.clone().unwrap_or_else(|| "refused".into());
            let labels = OutboundLabels { tenant: tenant.clone(), host, outcome: (*outcome).into() };
            self.outbound.get_or_create(&labels).inc();
        }
    }

    /// A guest stopped after its answer's head was sent (a stream's idle
    /// budget), which [`Metrics::request`] could not know of.
    pub fn guest_stopped(&self, tenant: &str, limit: &str) {
        if !KNOWN_LIMITS.contains(&limit) {
            return;
        }
        let tenant = self.tenant(Some(tenant));
        self.guest_stops.get_or_create(&LimitLabels { tenant, limit: limit.into() }).inc();
    }

    /// A deploy or rollback (`action`) for `tenant` that ended in `outcome`
    /// (`ok`, `rejected`, `unavailable`).
    pub fn change(&self, tenant: &str, action: &str, outcome: &str) {
        let tenant = self.tenant(Some(tenant));
        self.changes.get_or_create(&ChangeLabels { tenant, action: action.into(), outcome: outcome.into() }).inc();
    }

    /// The text to answer a scrape with, the values kept elsewhere read now.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        self.in_use.clear();
        self.waiting.clear();
        for (name, in_use, waiting) in &snapshot.tenants {
            let labels = TenantLabels { tenant: self.tenant(Some(name)) };
            self.in_use.get_or_create(&labels).inc_by(*in_use as i64);
            self.waiting.get_or_create(&labels).inc_by(*waiting as i64);
        }
        set_counter(&self.rate_limit_errors, snapshot.rate_limit_backend_errors);
        set_counter(&self.log_lines_dropped, snapshot.log_lines_dropped);
        self.tenants_loaded.set(snapshot.tenants_loaded as i64);
        self.tenants_asleep.set(snapshot.tenants_asleep as i64);
        set_counter(&self.tenant_loads, snapshot.tenant_loads);
        set_counter(&self.compile_cache.get_or_create(&CacheLabels { result: "hit".into() }), snapshot.cache_hits);
        set_counter(&self.compile_cache.get_or_create(&CacheLabels { result: "miss".into() }), snapshot.cache_misses);
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Brings a counter up to a total kept elsewhere (which only grows).
fn set_counter(counter: &Counter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, starts: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(starts))
    }

    #[test]
    fn a_request_is_counted_by_route_and_status_class_and_timed() {
        let m = Metrics::new(10);
        let record = RequestRecord {
            tenant: Some("acme"),
            route: Some("GET /api/hello"),
            method: "GET",
            status: 200,
            total: Duration::from_millis(2),
            gate: Some(Duration::from_micros(300)),
            guest: Some(Duration::from_millis(1)),
            db_calls: vec![Duration::from_micros(400), Duration::from_micros(200)],
            ..Default::default()
        };
        m.request(&record);
        m.request(&record);
        let text = m.render(&Snapshot::default());
        assert!(
            text.contains(
                "gatehouse_requests_total{tenant=\"acme\",route=\"GET /api/hello\",method=\"GET\",status=\"2xx\"} 2"
            ),
            "{text}"
        );
        let db_count =
            line(&text, "gatehouse_capability_call_duration_seconds_count{tenant=\"acme\",capability=\"db\"}");
        assert_eq!(db_count.map(|l| l.rsplit(' ').next().unwrap()), Some("4"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn labels_a_client_or_a_guest_writes_are_bounded() {
        let m = Metrics::new(10);
        for method in ["BREW", "PROPFIND", "X1"] {
            m.request(&RequestRecord { tenant: Some("acme"), method, status: 405, ..Default::default() });
        }
        // A guest's own error naming a made-up limit is not a stop.
        m.request(&RequestRecord {
            tenant: Some("acme"),
            route: Some("GET /x"),
            method: "GET",
            status: 500,
            stopped_by: Some("made-up"),
            ..Default::default()
        });
        m.guest_stopped("acme", "also-made-up");
        let text = m.render(&Snapshot::default());
        assert!(text.contains("method=\"OTHER\",status=\"4xx\"} 3"), "{text}");
        assert!(!text.contains("BREW") && !text.contains("made-up"), "{text}");
    }

    #[test]
    fn tenants_past_the_cap_share_one_series() {
        let m = Metrics::new(2);
        for t in ["a", "b", "c", "d"] {
            m.change(t, "deploy", "ok");
        }
        let text = m.render(&Snapshot::default());
        assert!(
            text.contains("gatehouse_deploys_total{tenant=\"other\",action=\"deploy\",outcome=\"ok\"} 2"),
            "{text}"
        );
        assert!(text.contains("tenant=\"a\"") && !text.contains("tenant=\"c\""), "{text}");
    }

    #[test]
    fn values_kept_elsewhere_are_read_at_scrape_time() {
        let m = Metrics::new(10);
        let snapshot = Snapshot {
            tenants: vec![("acme".into(), 3, 1)],
            cache_hits: 5,
            cache_misses: 2,
            rate_limit_backend_errors: 1,
            log_lines_dropped: 4,
            tenants_loaded: 2,
            tenants_asleep: 7,
            tenant_loads: 9,
        };
        m.render(&snapshot);
        let text = m.render(&snapshot);
        assert!(text.contains("gatehouse_instances_in_use{tenant=\"acme\"} 3"), "{text}");
        assert!(text.contains("gatehouse_instances_waiting{tenant=\"acme\"} 1"), "{text}");
        assert!(text.contains("gatehouse_compile_cache_total{result=\"hit\"} 5"), "{text}");
        assert!(text.contains("gatehouse_rate_limit_backend_errors_total 1"), "{text}");
        assert!(text.contains("gatehouse_tenants_loaded 2"), "{text}");
        assert!(text.contains("gatehouse_tenants_asleep 7"), "{text}");
        assert!(text.contains("gatehouse_tenant_loads_total 9"), "{text}");
        assert!(text.contains("gatehouse_log_lines_dropped_total 4"), "{text}");
        // A tenant gone is gone from the gauges.
        let text = m.render(&Snapshot::default());
        assert!(!text.contains("gatehouse_instances_in_use{tenant=\"acme\"}"), "{text}");
    }
}
