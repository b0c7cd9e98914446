//! `/ui/tenants/{tenant}`: one tenant's page (charts, apps with their
//! versions and a rollback button, API keys, secrets by name, and its live
//! log) and the forms that change it. Each change goes through the same
//! registry and store calls as the admin API, with the same checks.

use std::fmt::Write;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;

use super::super::Admin;
use super::history::chart;
use super::html::{button, csrf_field, esc, notice, page, respond, see_other, seg, time};
use super::session::{Change, Flash, SignedIn};
use crate::clock::unix_now;
use crate::identity::api_key::{KeySpec, issue};

/// The charts of `tenant`'s last hour.
fn charts(admin: &Admin, tenant: &str) -> String {
    let points = admin.ui.history.of(tenant);
    let now = unix_now();
    let rps: Vec<(i64, f64)> = points.iter().map(|p| (p.at, p.rps)).collect();
    let p99: Vec<(i64, f64)> = points.iter().filter_map(|p| Some((p.at, p.p99_ms?))).collect();
    let stops: Vec<(i64, f64)> = points.iter().map(|p| (p.at, p.stops.values().sum::<u64>() as f64)).collect();
    let mut by_limit = std::collections::BTreeMap::<&str, u64>::new();
    for p in &points {
        for (limit, n) in &p.stops {
            *by_limit.entry(limit).or_default() += n;
        }
    }
    let by_limit = if by_limit.is_empty() {
        "no guest stopped in the last hour".to_string()
    } else {
        by_limit.iter().map(|(l, n)| format!("{l}: {n}")).collect::<Vec<_>>().join(", ")
    };
    format!(
        "{}{}{}<p class=\"hint\" id=\"stops-by-limit\">Guest stops by limit, last hour: {}</p>",
        chart("chart-rps", "Requests/s", "req/s", now, &rps),
        chart("chart-p99", "p99 latency", "ms", now, &p99),
        chart("chart-stops", "Guest stops", "per 10 s", now, &stops),
        esc(&by_limit)
    )
}

async fn render(admin: &Admin, signed: &SignedIn, tenant: &str, said: Option<Flash>) -> Response {
    let store = admin.app.registry.store();
    let Ok(Some(record)) = store.get_tenant(tenant).await else {
        let body = notice(false, &format!("There is no tenant {tenant}."));
        return respond(StatusCode::NOT_FOUND, page("No such tenant", Some(&signed.csrf), &body));
    };
    let csrf = &signed.csrf;
    let base = format!("/ui/tenants/{}", seg(tenant));
    let mut body = format!("<h1>{}</h1>", esc(&record.name));
    match said {
        None => {}
        Some(Flash::Done(text)) => body.push_str(&notice(true, &text)),
        Some(Flash::Failed(text)) => body.push_str(&notice(false, &text)),
        Some(Flash::NewKey(key)) => {
            let _ = write!(
                body,
                "<div class=\"newkey\" role=\"status\">New API key, shown only this once: <code id=\"new-key\">{}</code></div>",
                esc(&key)
            );
        }
    }
    let _ = write!(
        body,
        "<div class=\"charts\" id=\"charts\" data-tenant=\"{}\">{}</div>",
        esc(tenant),
        charts(admin, tenant)
    );

    // Apps and their versions.
    body.push_str("<h2>Apps</h2><section class=\"card\" id=\"apps\">");
    let apps = store.list_apps(tenant).await.unwrap_or_default();
    if apps.is_empty() {
        body.push_str("<p class=\"muted\">No apps yet: <code>gatehouse deploy ./app --tenant ");
        body.push_str(&esc(tenant));
        body.push_str("</code></p>");
    }
    for app in &apps {
        let versions = store.list_deployments(tenant, &app.name).await.unwrap_or_default();
        let _ = write!(
            body,
            "<h3 class=\"app\" data-app=\"{0}\">{0} <span class=\"badge live\">live: v{1}</span></h3><table class=\"versions\"><thead><tr><th>Version</th><th>Bundle</th><th>Deployed</th><th></th></tr></thead><tbody>",
            esc(&app.name),
            app.active_version.map_or("none".into(), |v| v.to_string())
        );
        for d in &versions {
            let active = Some(d.version) == app.active_version;
            let action = if active {
                "<span class=\"badge live\">serving</span>".to_string()
            } else {
                button(
                    &format!("{base}/apps/{}/rollback", seg(&app.name)),
                    csrf,
                    &format!("Roll back to v{}", d.version),
                    &[("version", &d.version.to_string())],
                    "quiet",
                )
            };
            let _ = write!(
                body,
                "<tr data-version=\"{}\"><td>v{}</td><td><code title=\"{}\">{}</code></td><td>{}</td><td>{action}</td></tr>",
                d.version,
                d.version,
                esc(&d.bundle_hash),
                esc(&d.bundle_hash[..d.bundle_hash.len().min(12)]),
                time(d.created_at)
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");

    // API keys.
    body.push_str("<h2>API keys</h2><section class=\"card\" id=\"keys\"><table><thead><tr><th>Prefix</th><th>Name</th><th>Scopes</th><th>User</th><th>Status</th><th></th></tr></thead><tbody>");
    let now = unix_now();
    for k in admin.app.identity.keys.store().list_keys(Some(tenant)).await.unwrap_or_default() {
        let status = match (k.revoked_at, k.expires_at) {
            (Some(_), _) => "revoked",
            (None, Some(e)) if e <= now => "expired",
            _ => "active",
        };
        let revoke = if status == "active" {
            button(&format!("{base}/keys/{}/revoke", seg(&k.id)), csrf, "Revoke", &[], "danger")
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr data-key=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"badge {}\">{status}</span></td><td>{revoke}</td></tr>",
            esc(&k.id),
            esc(&k.prefix),
            esc(&k.name),
            esc(&k.scopes.join(", ")),
            esc(k.user_id.as_deref().unwrap_or("")),
            if status == "active" { "ok" } else { "down" }
        );
    }
    let _ = write!(
        body,
        "</tbody></table><form method=\"post\" action=\"{base}/keys\" class=\"row\" id=\"new-key-form\">{}\
         <label>Name <input name=\"name\" placeholder=\"ci\"></label>\
         <label>Scopes <input name=\"scopes\" placeholder=\"read,write\"></label>\
         <label>User <input name=\"user\" placeholder=\"ada\"></label>\
         <button type=\"submit\">Create key</button></form></section>",
        csrf_field(csrf)
    );

    // Secrets, by name only.
    body.push_str("<h2>Secrets</h2><section class=\"card\" id=\"secrets\"><table><thead><tr><th>Name</th><th>Set</th><th></th></tr></thead><tbody>");
    for s in admin.app.secrets.store().list_secrets(tenant).await.unwrap_or_default() {
        let _ = write!(
            body,
            "<tr data-secret=\"{0}\"><td><code>{0}</code></td><td>{1}</td><td>{2}</td></tr>",
            esc(&s.name),
            time(s.updated_at),
            button(&format!("{base}/secrets/{}/delete", seg(&s.name)), csrf, "Delete", &[], "danger")
        );
    }
    let _ = write!(
        body,
        "</tbody></table><form method=\"post\" action=\"{base}/secrets\" class=\"row\" id=\"new-secret-form\">{}\
         <label>Name <input name=\"name\" required placeholder=\"STRIPE_KEY\"></label>\
         <label>Value <input name=\"value\" type=\"password\" required autocomplete=\"off\"></label>\
         <button type=\"submit\">Set secret</button></form><p class=\"hint\">Values are never shown again.</p></section>",
        csrf_field(csrf)
    );

    // The live tail.
    let after = crate::tenant_logs::lines(tenant, 0, 1000).iter().rev().nth(50).map_or(0, |l| l.seq);
    let _ = write!(
        body,
        "<h2>Log</h2><pre class=\"log\" id=\"log\" data-tenant=\"{}\" data-after=\"{after}\"></pre>",
        esc(tenant)
    );
    respond(StatusCode::OK, page(tenant, Some(csrf), &body))
}

/// `GET /ui/tenants/{tenant}`.
pub(super) async fn show(State(admin): State<Arc<Admin>>, signed: SignedIn, Path(tenant): Path<String>) -> Response {
    let said = admin.ui.sessions.take_flash(&signed.id);
    render(&admin, &signed, &tenant, said).await
}

/// `GET /ui/tenants/{tenant}/charts`: the charts alone, for the page's refresh.
pub(super) async fn charts_fragment(
    State(admin): State<Arc<Admin>>,
    _signed: SignedIn,
    Path(tenant): Path<String>,
) -> Response {
    let mut response = charts(&admin, &tenant).into_response();
    super::html::secure(response.headers_mut());
    response
}

#[derive(Deserialize)]
pub(super) struct After {
    #[serde(default)]
    after: u64,
}

/// `GET /ui/tenants/{tenant}/logs?after=SEQ`: new lines, for the live tail.
pub(super) async fn logs(_signed: SignedIn, Path(tenant): Path<String>, Query(q): Query<After>) -> Response {
    let mut response = Json(crate::tenant_logs::lines(&tenant, q.after, 200)).into_response();
    super::html::secure(response.headers_mut());
    response
}

/// Leaves what a change said for the tenant's page and sends the browser
/// there (so a reload repeats nothing, and a new key is shown once).
fn settle(admin: &Admin, change: &Change, tenant: &str, said: Flash) -> Response {
    admin.ui.sessions.set_flash(&change.signed.id, said);
    see_other(&format!("/ui/tenants/{}", seg(tenant)))
}

/// `POST /ui/tenants/{tenant}/apps/{app}/rollback` (`version`).
pub(super) async fn rollback(
    State(admin): State<Arc<Admin>>,
    Path((tenant, app)): Path<(String, String)>,
    change: Change,
) -> Response {
    let said = match change.form.get("version").parse::<i64>() {
        Err(_) => Flash::Failed("Which version? The form named none.".into()),
        Ok(version) => {
            let result = admin.app.registry.rollback(&tenant, &app, version).await;
            admin.app.metrics.change(&tenant, "rollback", super::super::apps::outcome(&result));
            match result {
                Ok(()) => {
                    tracing::info!(target: "gatehouse::admin", %tenant, %app, version, "rolled back from the dashboard");
                    Flash::Done(format!("{app} serves v{version}"))
                }
                Err(e) => Flash::Failed(e.to_string()),
            }
        }
    };
    settle(&admin, &change, &tenant, said)
}

/// `POST /ui/tenants/{tenant}/keys` (`name`, `scopes`, `user`): the key is shown once.
pub(super) async fn create_key(
    State(admin): State<Arc<Admin>>,
    Path(tenant): Path<String>,
    change: Change,
) -> Response {
    let form = &change.form;
    let spec = KeySpec {
        tenant: tenant.clone(),
        name: form.get("name").to_string(),
        scopes: form.get("scopes").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect(),
        user_id: Some(form.get("user")).filter(|u| !u.is_empty()).map(str::to_string),
        expires_at: None,
        test: false,
    };
    let said = match issue(admin.app.identity.keys.store(), spec).await {
        Ok(new) => {
            tracing::info!(target: "gatehouse::admin", key_id = %new.record.id, %tenant, "API key created from the dashboard");
            Flash::NewKey(new.key)
        }
        Err(e) => Flash::Failed(e),
    };
    settle(&admin, &change, &tenant, said)
}

/// `POST /ui/tenants/{tenant}/keys/{id}/revoke`: only a key of this tenant.
pub(super) async fn revoke_key(
    State(admin): State<Arc<Admin>>,
    Path((tenant, id)): Path<(String, String)>,
    change: Change,
) -> Response {
    let keys = admin.app.identity.keys.store();
    let ours = keys.list_keys(Some(&tenant)).await.unwrap_or_default().iter().any(|k| k.id == id);
    let said = if !ours {
        Flash::Failed(format!("{tenant} has no key {id}"))
    } else {
        match keys.revoke_key(&id, unix_now()).await {
            Ok(_) => {
                tracing::info!(target: "gatehouse::admin", key_id = %id, "API key revoked from the dashboard");
                Flash::Done(format!("key {id} revoked"))
            }
            Err(e) => Flash::Failed(e.to_string()),
        }
    };
    settle(&admin, &change, &tenant, said)
}

/// `POST /ui/tenants/{tenant}/secrets` (`name`, `value`).
pub(super) async fn set_secret(
    State(admin): State<Arc<Admin>>,
    Path(tenant): Path<String>,
    change: Change,
) -> Response {
    let name = change.form.get("name");
    let value = change.form.0.get("value").map_or("", String::as_str);
    let said = if !super::super::secrets::valid_name(name) {
        Flash::Failed("A secret's name is letters, digits, _, - and ., up to 128.".into())
    } else {
        match admin.app.secrets.store().set_secret(&tenant, name, value, unix_now()).await {
            Ok(()) => {
                tracing::info!(target: "gatehouse::admin", %tenant, secret = %name, "secret set from the dashboard");
                Flash::Done(format!("secret {name} set"))
            }
            Err(e) => Flash::Failed(e.to_string()),
        }
    };
    settle(&admin, &change, &tenant, said)
}

/// `POST /ui/tenants/{tenant}/secrets/{name}/delete`.
pub(super) async fn delete_secret(
    State(admin): State<Arc<Admin>>,
    Path((tenant, name)): Path<(String, String)>,
    change: Change,
) -> Response {
    let said = match admin.app.secrets.store().delete_secret(&tenant, &name).await {
        Ok(true) => Flash::Done(format!("secret {name} deleted")),
        Ok(false) => Flash::Failed(format!("no secret {name} is set for {tenant}")),
        Err(e) => Flash::Failed(e.to_string()),
    };
    settle(&admin, &change, &tenant, said)
}
