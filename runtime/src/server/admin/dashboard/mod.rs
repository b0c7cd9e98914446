//! The admin dashboard, on the admin listener at `/`: plain server-rendered
//! HTML with one small script, no CDN. The admin token signs a browser in
//! once (`session`); every page needs that session and every change its CSRF
//! token. Pages: the tenants and their quotas (`home`), one tenant's charts,
//! apps, versions and rollback, API keys, secrets and live log (`tenant`),
//! and the limit table. The charts come from the node's own metrics,
//! sampled into an hour of history (`history`).

mod assets;
mod history;
mod home;
mod html;
mod session;
mod tenant;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::Admin;

/// What the dashboard keeps: sessions and the charts' history.
#[derive(Default)]
pub(super) struct Ui {
    sessions: session::Sessions,
    history: history::History,
}

/// The dashboard's routes.
pub(super) fn router() -> Router<Arc<Admin>> {
    Router::new()
        .route("/", get(home::tenants))
        // Anyone may post a login form: bound what it may send.
        .route(
            "/login",
            get(session::login_form).post(session::login).layer(DefaultBodyLimit::max(session::MAX_FORM_BYTES)),
        )
        .route("/logout", post(session::logout))
        .route("/ui/app.css", get(assets::css))
        .route("/ui/app.js", get(assets::js))
        .route("/ui/limits", get(home::limits))
        .route("/ui/tenants", post(home::create))
        .route("/ui/tenants/{tenant}", get(tenant::show))
        .route("/ui/tenants/{tenant}/charts", get(tenant::charts_fragment))
        .route("/ui/tenants/{tenant}/logs", get(tenant::logs))
        .route("/ui/tenants/{tenant}/apps/{app}/rollback", post(tenant::rollback))
        .route("/ui/tenants/{tenant}/keys", post(tenant::create_key))
        .route("/ui/tenants/{tenant}/keys/{id}/revoke", post(tenant::revoke_key))
        .route("/ui/tenants/{tenant}/secrets", post(tenant::set_secret))
        .route("/ui/tenants/{tenant}/secrets/{name}/delete", post(tenant::delete_secret))
}

/// Samples the node's metrics into the charts' history for as long as the
/// admin listener serves.
pub(super) fn spawn_sampler(admin: Arc<Admin>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(history::SAMPLE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            let text = admin.app.render_metrics();
            admin.ui.history.sample(&text, crate::clock::unix_now());
        }
    })
}
