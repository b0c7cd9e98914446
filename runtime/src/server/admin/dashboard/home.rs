//! `/`: the node's health at a glance and every tenant with its quotas and
//! apps, with a form to create one; and `/ui/limits`, every limit.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;

use super::super::Admin;
use super::html::{csrf_field, esc, notice, page, respond, see_other, seg};
use super::session::{Change, Form, SignedIn};
use crate::registry::{Quotas, RateQuota, TenantSettings};

/// The quotas a tenant row shows, as `name value` pairs (unset: the default).
fn quotas(q: &Quotas) -> String {
    let mut parts = Vec::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            parts.push(format!("{name} <b>{}</b>", esc(&v)));
        }
    };
    put("components", q.max_components.map(|v| v.to_string()));
    put("memory", q.memory_mb.map(|v| format!("{v} MB")));
    put("rate", q.rate_limit.as_ref().map(|r| format!("{}/{}", r.limit, r.window)));
    put("body", q.body_kb.map(|v| format!("{v} KB")));
    put("concurrent", q.max_concurrent.map(|v| v.to_string()));
    put("cpu", q.cpu_ms.map(|v| format!("{v} ms")));
    put("wall", q.wall_ms.map(|v| format!("{v} ms")));
    put("storage", q.storage_mb.map(|v| format!("{v} MB")));
    if parts.is_empty() { "<span class=\"muted\">platform defaults</span>".into() } else { parts.join(" · ") }
}

async fn render(admin: &Admin, signed: &SignedIn, message: Option<(bool, String)>) -> Response {
    let app = &admin.app;
    let readiness = app.probe.readiness(&app.registry, &app.limiter).await;
    let mut body = String::from("<h1>Tenants</h1>");
    if let Some((ok, text)) = message {
        body.push_str(&notice(ok, &text));
    }
    body.push_str("<div class=\"status\">");
    for check in &readiness.checks {
        let _ = write!(
            body,
            "<span class=\"badge {}\" title=\"{}\">{} {}</span>",
            if check.ok { "ok" } else { "down" },
            esc(&check.detail),
            esc(check.name),
            if check.ok { "ok" } else { "down" }
        );
    }
    body.push_str("</div>");
    let tenants = match app.registry.store().list_tenants().await {
        Ok(t) => t,
        Err(e) => {
            body.push_str(&notice(false, &e.to_string()));
            return respond(StatusCode::SERVICE_UNAVAILABLE, page("Tenants", Some(&signed.csrf), &body));
        }
    };
    // Apps as stored: an asleep tenant's are not loaded on this node.
    let active = app.registry.store().active_deployments().await.unwrap_or_default();
    let directory = app.registry.directory();
    body.push_str("<section class=\"card\"><table id=\"tenants\"><thead><tr><th>Tenant</th><th>Quotas</th><th>Apps</th><th>In use</th></tr></thead><tbody>");
    for t in &tenants {
        let settings = TenantSettings::parse(&t.settings).unwrap_or_default();
        let live = directory.tenants.get(&t.name);
        let apps: Vec<String> =
            active.iter().filter(|d| d.tenant == t.name).map(|d| format!("{}@{}", esc(&d.app), d.version)).collect();
        let _ = write!(
            body,
            "<tr data-tenant=\"{0}\"><td><a href=\"/ui/tenants/{1}\">{0}</a></td><td>{2}</td><td>{3}</td><td>{4}</td></tr>",
            esc(&t.name),
            seg(&t.name),
            quotas(&settings.quotas),
            if apps.is_empty() { "<span class=\"muted\">none</span>".into() } else { apps.join(", ") },
            live.map_or(0, |l| l.share.in_use()),
        );
    }
    drop(directory);
    let _ = write!(
        body,
        "</tbody></table></section><h2>New tenant</h2><section class=\"card\"><form method=\"post\" action=\"/ui/tenants\" class=\"row\" id=\"new-tenant\">{}\
         <label>Name <input name=\"name\" required pattern=\"[a-z][a-z0-9-]*\" placeholder=\"acme\"></label>\
         <label>Memory MB <input name=\"memoryMb\" inputmode=\"numeric\" placeholder=\"default\"></label>\
         <label>At once <input name=\"maxConcurrent\" inputmode=\"numeric\" placeholder=\"default\"></label>\
         <label>Rate limit <input name=\"rateLimit\" placeholder=\"1000/1m\"></label>\
         <label>Components <input name=\"maxComponents\" inputmode=\"numeric\" placeholder=\"50\"></label>\
         <button type=\"submit\">Create tenant</button></form></section>",
        csrf_field(&signed.csrf)
    );
    respond(StatusCode::OK, page("Tenants", Some(&signed.csrf), &body))
}

/// `GET /`.
pub(super) async fn tenants(State(admin): State<Arc<Admin>>, signed: SignedIn) -> Response {
    render(&admin, &signed, None).await
}

/// The quotas of the create form; an empty field is the default.
fn quotas_from(form: &Form) -> Result<Quotas, String> {
    let number = |name: &str| -> Result<Option<u64>, String> {
        match form.get(name) {
            "" => Ok(None),
            v => v.parse().map(Some).map_err(|_| format!("{name}: `{v}` is not a whole number")),
        }
    };
    let rate_limit = match form.get("rateLimit") {
        "" => None,
        v => {
            let (limit, window) =
                v.split_once('/').ok_or_else(|| format!("rate limit `{v}`: write it like 1000/1m"))?;
            let limit = limit.trim().parse().map_err(|_| format!("rate limit `{v}`: write it like 1000/1m"))?;
            Some(RateQuota { limit, window: window.trim().to_string() })
        }
    };
    Ok(Quotas {
        memory_mb: number("memoryMb")?,
        max_concurrent: number("maxConcurrent")?.map(|v| v.min(u64::from(u32::MAX)) as u32),
        max_components: number("maxComponents")?.map(|v| v.min(u64::from(u32::MAX)) as u32),
        rate_limit,
        ..Quotas::default()
    })
}

/// `POST /ui/tenants`: creates a tenant, through the registry like the admin API.
pub(super) async fn create(State(admin): State<Arc<Admin>>, change: Change) -> Response {
    let (signed, form) = (&change.signed, &change.form);
    let name = form.get("name").to_string();
    let settings = match quotas_from(form) {
        Ok(quotas) => TenantSettings { quotas, session: None },
        Err(problem) => return render(&admin, signed, Some((false, problem))).await,
    };
    match admin.app.registry.create_tenant(&name, &settings).await {
        Ok(()) => {
            tracing::info!(target: "gatehouse::admin", tenant = %name, "tenant created from the dashboard");
            see_other(&format!("/ui/tenants/{}", seg(&name)))
        }
        Err(e) => render(&admin, signed, Some((false, e.to_string()))).await,
    }
}

/// `GET /ui/limits`: the limit table with this node's values.
pub(super) async fn limits(State(admin): State<Arc<Admin>>, signed: SignedIn) -> Response {
    let mut body = String::from(
        "<h1>Limits</h1><section class=\"card\"><table><thead><tr><th>Limit</th><th>Value</th><th>Set in</th><th>When it is hit</th></tr></thead><tbody>",
    );
    for l in crate::limit_table::limits(&admin.app.config) {
        let _ = write!(
            body,
            "<tr><td><code>{}</code><br><span class=\"muted\">{}</span></td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
            esc(l.name),
            esc(l.what),
            l.value,
            esc(l.unit),
            esc(&l.set_in.replace('`', "")),
            esc(&l.when_hit.replace('`', ""))
        );
    }
    body.push_str("</tbody></table></section>");
    respond(StatusCode::OK, page("Limits", Some(&signed.csrf), &body))
}
