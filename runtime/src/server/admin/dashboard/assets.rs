//! The dashboard's stylesheet and script, served from this binary (the page
//! works offline: no CDN, no font, no framework).

use axum::response::Response;
use http::{HeaderValue, header};

const CSS: &str = r#"
:root { --ink: #1d2330; --muted: #667085; --line: #e3e7ee; --accent: #2f5bea; --ok: #137a3f; --bad: #b42318; --bg: #f7f8fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
nav { display: flex; gap: 18px; align-items: center; padding: 10px 24px; background: #141a26; color: #fff; }
nav a, nav button.link { color: #cfd6e4; text-decoration: none; background: none; border: 0; font: inherit; cursor: pointer; padding: 0; }
nav a:hover, nav button.link:hover { color: #fff; }
nav .brand { font-weight: 700; color: #fff; margin-right: 12px; }
nav form { margin-left: auto; }
main { max-width: 1080px; margin: 0 auto; padding: 20px 24px 60px; }
h1 { font-size: 22px; margin: 8px 0 16px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
section.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; margin-bottom: 16px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
form.inline { display: inline; margin: 0; }
form.row { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-top: 10px; }
label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; color: var(--muted); }
input { font: inherit; padding: 5px 8px; border: 1px solid #cdd3de; border-radius: 5px; min-width: 120px; color: var(--ink); }
button { font: inherit; padding: 5px 12px; border-radius: 5px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.quiet { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: #e5a29b; }
.notice { padding: 8px 12px; border-radius: 6px; margin: 0 0 14px; }
.notice.ok { background: #e7f6ec; color: var(--ok); }
.notice.error { background: #fdecea; color: var(--bad); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #eef1f6; color: var(--muted); }
.badge.live, .badge.ok { background: #e7f6ec; color: var(--ok); }
.badge.down { background: #fdecea; color: var(--bad); }
.muted, .hint { color: var(--muted); }
.status { display: flex; gap: 10px; flex-wrap: wrap; margin-bottom: 16px; }
.newkey { background: #fff8e1; border: 1px solid #f3d27a; padding: 10px 12px; border-radius: 6px; }
.newkey code { font-size: 14px; user-select: all; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
figure.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
figure.chart figcaption { font-weight: 600; display: flex; justify-content: space-between; gap: 8px; }
figure.chart figcaption span { font-weight: 400; color: var(--muted); font-size: 12px; }
figure.chart svg { width: 100%; height: 90px; display: block; margin-top: 6px; overflow: visible; }
figure.chart polyline { fill: none; stroke: var(--accent); stroke-width: 2; vector-effect: non-scaling-stroke; }
figure.chart line.axis { stroke: var(--line); vector-effect: non-scaling-stroke; }
figure.chart line.dot { stroke: var(--accent); stroke-width: 7; stroke-linecap: round; vector-effect: non-scaling-stroke; }
.charts p { grid-column: 1 / -1; margin: 0; }
.axis-labels { display: flex; justify-content: space-between; color: var(--muted); font-size: 11px; }
pre.log { background: #0f1420; color: #d6deeb; padding: 10px 12px; border-radius: 8px; height: 220px; overflow: auto; margin: 0; font-size: 12px; }
pre.log .WARN { color: #f5c26b; } pre.log .ERROR { color: #ff8a80; }
section.login { max-width: 380px; margin: 60px auto; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 22px 24px; }
section.login form { display: flex; flex-direction: column; gap: 12px; }
"#;

const JS: &str = r#"
// The live parts of a tenant's page: its log lines as they arrive, and its
// charts redrawn from the server every 15 s. Everything shown is text the
// server escaped or that is set with textContent.
(function () {
  const log = document.getElementById('log');
  if (log) {
    const tenant = log.dataset.tenant;
    let after = Number(log.dataset.after || 0);
    const poll = async () => {
      try {
        const r = await fetch('/ui/tenants/' + encodeURIComponent(tenant) + '/logs?after=' + after, { credentials: 'same-origin' });
        if (r.ok) {
          for (const line of await r.json()) {
            after = Math.max(after, line.seq);
            const row = document.createElement('div');
            row.className = line.level;
            const time = new Date(line.timeMs).toISOString().slice(11, 19);
            row.textContent = time + ' ' + line.level.padEnd(5) + ' ' + line.message + (line.fields ? '  ' + line.fields : '');
            log.appendChild(row);
          }
          log.scrollTop = log.scrollHeight;
        }
      } catch (e) { /* the next poll tries again */ }
      setTimeout(poll, 1000);
    };
    poll();
  }
  const charts = document.getElementById('charts');
  if (charts) {
    setInterval(async () => {
      try {
        const r = await fetch('/ui/tenants/' + encodeURIComponent(charts.dataset.tenant) + '/charts', { credentials: 'same-origin' });
        if (r.ok) charts.innerHTML = await r.text();
      } catch (e) { /* keep the last drawing */ }
    }, 15000);
  }
})();
"#;

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = Response::new(axum::body::Body::from(body));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `GET /ui/app.css`.
pub(super) async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

/// `GET /ui/app.js`.
pub(super) async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}
