//! The dashboard's charts: every `SAMPLE_EVERY` the node's Prometheus text
//! (the same `render_metrics` a scrape gets) is read, and the change since
//! the last sample becomes one point per tenant: requests per second, the
//! 99th percentile of request duration, and guest stops by limit. An hour of
//! points is kept in memory, and drawn as inline SVG (no script, no CDN).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use super::html::esc;

/// How often the metrics are sampled.
pub(super) const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Points kept per tenant: an hour.
const KEPT: usize = 360;

/// One interval of one tenant.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Point {
    /// Unix seconds at the interval's end.
    pub(super) at: i64,
    /// Requests answered per second.
    pub(super) rps: f64,
    /// The 99th percentile of request duration in ms (a histogram bucket's
    /// upper bound), when there were requests.
    pub(super) p99_ms: Option<f64>,
    /// Guests stopped, by limit.
    pub(super) stops: BTreeMap<String, u64>,
}

/// Counters as read at one moment, summed per tenant.
#[derive(Debug, Default, Clone)]
struct Totals {
    at: i64,
    requests: HashMap<String, u64>,
    /// tenant → bucket bound (`le`, as written) → cumulative count.
    buckets: HashMap<String, BTreeMap<String, u64>>,
    /// (tenant, limit) → count.
    stops: HashMap<(String, String), u64>,
}

/// Every tenant's last hour.
#[derive(Default)]
pub(in crate::server::admin) struct History {
    points: Mutex<HashMap<String, VecDeque<Point>>>,
    last: Mutex<Option<Totals>>,
}

impl History {
    /// Takes a sample of `metrics` (Prometheus text) at `now` (Unix seconds).
    pub(super) fn sample(&self, metrics: &str, now: i64) {
        let totals = parse(metrics, now);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(before) = last.as_ref() {
            let mut points = self.points.lock().unwrap_or_else(|e| e.into_inner());
            for (tenant, point) in between(before, &totals) {
                let series = points.entry(tenant).or_default();
                series.push_back(point);
                while series.len() > KEPT {
                    series.pop_front();
                }
            }
        }
        *last = Some(totals);
    }

    /// A tenant's points, oldest first.
    pub(super) fn of(&self, tenant: &str) -> Vec<Point> {
        let points = self.points.lock().unwrap_or_else(|e| e.into_inner());
        points.get(tenant).map(|s| s.iter().cloned().collect()).unwrap_or_default()
    }
}

/// The change from `a` to `b`, per tenant seen in `b`.
fn between(a: &Totals, b: &Totals) -> Vec<(String, Point)> {
    let seconds = (b.at - a.at).max(1) as f64;
    b.requests
        .keys()
        .chain(b.stops.keys().map(|(t, _)| t))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|tenant| {
            let requests = b.requests.get(tenant).copied().unwrap_or(0);
            let before = a.requests.get(tenant).copied().unwrap_or(0);
            let stops = b
                .stops
                .iter()
                .filter(|((t, _), _)| t == tenant)
                .map(|((_, limit), n)| {
                    let was = a.stops.get(&(tenant.clone(), limit.clone())).copied().unwrap_or(0);
                    (limit.clone(), n.saturating_sub(was))
                })
                .filter(|(_, n)| *n > 0)
                .collect();
            let p99 = p99_ms(a.buckets.get(tenant), b.buckets.get(tenant));
            let point = Point { at: b.at, rps: requests.saturating_sub(before) as f64 / seconds, p99_ms: p99, stops };
            (tenant.clone(), point)
        })
        .collect()
}

/// The 99th percentile of the requests between two readings of a tenant's
/// cumulative buckets: the smallest bound that holds 99 % of them.
fn p99_ms(a: Option<&BTreeMap<String, u64>>, b: Option<&BTreeMap<String, u64>>) -> Option<f64> {
    let b = b?;
    let mut bounds: Vec<(f64, u64)> = b
        .iter()
        .map(|(le, n)| {
            let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap_or(f64::INFINITY) };
            (bound, n.saturating_sub(a.and_then(|a| a.get(le)).copied().unwrap_or(0)))
        })
        .collect();
    bounds.sort_by(|x, y| x.0.total_cmp(&y.0));
    let count = bounds.last()?.1;
    if count == 0 {
        return None;
    }
    let largest_finite = bounds.iter().rev().find(|(b, _)| b.is_finite()).map_or(0.0, |(b, _)| *b);
    let wanted = (count as f64 * 0.99).ceil() as u64;
    let bound = bounds.iter().find(|(_, n)| *n >= wanted).map_or(largest_finite, |(b, _)| *b);
    let seconds = if bound.is_finite() { bound } else { largest_finite };
    Some(seconds * 1000.0)
}

/// Reads the families the charts need from Prometheus text.
fn parse(text: &str, now: i64) -> Totals {
    let mut t = Totals { at: now, ..Totals::default() };
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, labels, value)) = sample_line(line) else { continue };
        let label = |k: &str| labels.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let value = value as u64;
        match name {
            "gatehouse_requests_total" => *t.requests.entry(label("tenant")).or_default() += value,
            "gatehouse_request_duration_seconds_bucket" => {
                *t.buckets.entry(label("tenant")).or_default().entry(label("le")).or_default() += value
            }
            "gatehouse_guest_stops_total" => *t.stops.entry((label("tenant"), label("limit"))).or_default() += value,
            _ => {}
        }
    }
    t
}

/// A sample's labels, in order.
type Labels = Vec<(String, String)>;

/// `name{k="v",…} value` → its parts (label values unescaped).
fn sample_line(line: &str) -> Option<(&str, Labels, f64)> {
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let Some((name, rest)) = head.split_once('{') else { return Some((head, Vec::new(), value)) };
    let mut labels = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() || chars.next() != Some('"') {
            break;
        }
        let mut val = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => val.push('\n'),
                    Some(other) => val.push(other),
                    None => break,
                },
                '"' => break,
                c => val.push(c),
            }
        }
        labels.push((key.trim_start_matches(',').to_string(), val));
        if chars.peek() == Some(&',') {
            chars.next();
        } else {
            break;
        }
    }
    Some((name, labels, value))
}

/// A line chart of `values` over the last hour ending at `now`, as SVG.
pub(super) fn chart(id: &str, title: &str, unit: &str, now: i64, values: &[(i64, f64)]) -> String {
    const W: f64 = 640.0;
    const H: f64 = 120.0;
    let max = values.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let top = if max > 0.0 { max * 1.15 } else { 1.0 };
    let x = |at: i64| (W * (1.0 - (now - at) as f64 / 3600.0)).clamp(0.0, W);
    let y = |v: f64| H - H * v / top;
    let points: Vec<String> = values.iter().map(|(at, v)| format!("{:.1},{:.1}", x(*at), y(*v))).collect();
    let last = values.last().map_or("no data yet".to_string(), |(_, v)| format!("{v:.1} {unit} now"));
    format!(
        "<figure class=\"chart\" id=\"{id}\" data-points=\"{}\" data-max=\"{max}\"><figcaption>{} <span>{} · max {max:.1}</span></figcaption>\
         <svg viewBox=\"0 0 {W} {H}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{}\">\
         <line x1=\"0\" y1=\"{H}\" x2=\"{W}\" y2=\"{H}\" class=\"axis\"/><polyline points=\"{}\"/>{}</svg>\
         <div class=\"axis-labels\"><span>1 h ago</span><span>now</span></div></figure>",
        values.len(),
        esc(title),
        esc(&last),
        esc(title),
        points.join(" "),
        // The newest point as a dot: with one point there is no line yet.
        // (a zero-length line with round caps: a round dot however the chart is stretched).
        values.last().map_or(String::new(), |(at, v)| {
            let (x, y) = (x(*at), y(*v));
            format!("<line class=\"dot\" x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{x:.1}\" y2=\"{y:.1}\"/>")
        })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# TYPE gatehouse_requests_total counter\n\
gatehouse_requests_total{tenant=\"acme\",route=\"GET /a\",method=\"GET\",status=\"2xx\"} 10\n\
gatehouse_request_duration_seconds_bucket{tenant=\"acme\",route=\"GET /a\",le=\"0.005\"} 10\n\
gatehouse_request_duration_seconds_bucket{tenant=\"acme\",route=\"GET /a\",le=\"0.05\"} 10\n\
gatehouse_request_duration_seconds_bucket{tenant=\"acme\",route=\"GET /a\",le=\"+Inf\"} 10\n";

    const AFTER: &str = "gatehouse_requests_total{tenant=\"acme\",route=\"GET /a\",method=\"GET\",status=\"2xx\"} 110\n\
gatehouse_requests_total{tenant=\"acme\",route=\"GET /b \\\"q\\\"\",method=\"GET\",status=\"5xx\"} 100\n\
gatehouse_request_duration_seconds_bucket{tenant=\"acme\",route=\"GET /a\",le=\"0.005\"} 107\n\
gatehouse_request_duration_seconds_bucket{tenant=\"acme\",route=\"GET /a\",le=\"0.05\"} 110\n\
gatehouse_request_duration_seconds_bucket{tenant=\"acme\",route=\"GET /a\",le=\"+Inf\"} 110\n\
gatehouse_guest_stops_total{tenant=\"acme\",limit=\"cpu_ms\"} 2\n";

    #[test]
    fn a_point_is_the_change_between_two_samples() {
        let h = History::default();
        h.sample(BEFORE, 1000);
        assert!(h.of("acme").is_empty(), "one sample is no interval");
        h.sample(AFTER, 1010);
        let points = h.of("acme");
        assert_eq!(points.len(), 1);
        // 100 more on /a, 100 on a route whose label has escaped quotes.
        assert_eq!(points[0].rps, 20.0);
        // Of the 100 new /a requests, 97 under 5 ms and 3 under 50 ms: p99 is 50 ms.
        assert_eq!(points[0].p99_ms, Some(50.0));
        assert_eq!(points[0].stops.get("cpu_ms"), Some(&2));
        let (_, labels, _) = sample_line("x{route=\"GET /b \\\"q\\\"\",le=\"1\"} 3").unwrap();
        assert_eq!(labels, [("route".to_string(), "GET /b \"q\"".to_string()), ("le".into(), "1".into())]);
    }

    #[test]
    fn an_hour_is_kept_and_charts_escape_their_words() {
        let h = History::default();
        for i in 0..(KEPT as i64 + 20) {
            h.sample(&format!("gatehouse_requests_total{{tenant=\"t\"}} {}", i * 10), i * 10);
        }
        assert_eq!(h.of("t").len(), KEPT);
        let svg = chart("rps", "<b>", "req/s", 100, &[(90, 2.0), (100, 4.0)]);
        assert!(svg.contains("&lt;b&gt;") && svg.contains("data-points=\"2\"") && svg.contains("4.0 req/s now"));
    }
}
