//! Gradual rollouts: a canary promoted to every caller, given another share,
//! or ended (by hand, or on its own when its error rate was judged too
//! high); and an app loaded as the store wants it, its canary beside it.
//! Each change is written to the store first, conditionally on the canary
//! still being the one seen, then swapped in here; other nodes follow
//! through `sync`.

use super::*;

/// What became of a rollout.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutReport {
    /// The tenant.
    pub tenant: String,
    /// The app.
    pub app: String,
    /// The version every caller not in the canary's share gets.
    pub active_version: i64,
    /// The canary, while the rollout goes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_version: Option<i64>,
    /// Its share of callers, while the rollout goes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
}

impl Registry {
    /// Gives a rollout's canary `percent` of the app's callers (1 to 99), or
    /// with none makes it the active version for all of them.
    pub async fn promote(
        &self,
        tenant_name: &str,
        app: &str,
        percent: Option<u8>,
    ) -> Result<RolloutReport, ChangeError> {
        if let Some(p) = percent
            && !(1..=99).contains(&p)
        {
            return Err(ChangeError::Rejected(format!(
                "a canary's share is 1 to 99 percent, not {p}; promote without a percent to give it every caller"
            )));
        }
        let _change = self.lock_tenant(tenant_name).await;
        let tenant = self.live_tenant(tenant_name).await?;
        let (live, canary) = rollout_of(&tenant, app)?;
        let stale = || {
            ChangeError::Conflict(format!(
                "the rollout of app {app} changed meanwhile (on another node, or it was rolled back); \
                 see `gatehouse apps list --tenant {tenant_name}`"
            ))
        };
        let (next, report) = match percent {
            Some(p) => {
                let next = LiveApp {
                    version: live.version,
                    bundle_hash: live.bundle_hash.clone(),
                    endpoints: live.endpoints.clone(),
                    canary: Some(Arc::new(Canary {
                        version: canary.version,
                        bundle_hash: canary.bundle_hash.clone(),
                        percent: p,
                        endpoints: canary.endpoints.clone(),
                        outcomes: canary.outcomes.clone(),
                    })),
                };
                (next, report(tenant_name, app, live.version, Some((canary.version, p))))
            }
            None => (live.as_canary(&canary), report(tenant_name, app, canary.version, None)),
        };
        // Checked before the store changes: the store never says what this node cannot serve.
        let next = Arc::new(next);
        checked(&tenant, app, &next)?;
        let written = match percent {
            Some(p) => self.store.set_canary_percent(tenant_name, app, canary.version, p).await?,
            None => self.store.promote_canary(tenant_name, app, canary.version).await?,
        };
        if !written {
            return Err(stale());
        }
        self.put_app(&tenant, app, Some(next))?;
        tracing::info!(
            target: "gatehouse::deploy",
            tenant = tenant_name, app, version = canary.version, percent = percent.unwrap_or(100), "promoted"
        );
        Ok(report)
    }

    /// Ends an app's rollout by hand: every caller gets the active version.
    pub async fn end_rollout(&self, tenant_name: &str, app: &str) -> Result<RolloutReport, ChangeError> {
        let _change = self.lock_tenant(tenant_name).await;
        let tenant = self.live_tenant(tenant_name).await?;
        let (live, canary) = rollout_of(&tenant, app)?;
        let note = format!("version {} was rolled back by hand", canary.version);
        let next = Arc::new(without_canary(&live));
        checked(&tenant, app, &next)?;
        if !self.store.end_canary(tenant_name, app, canary.version, &note).await? {
            return Err(ChangeError::Conflict(format!("the rollout of app {app} changed meanwhile")));
        }
        let version = live.version;
        self.put_app(&tenant, app, Some(next))?;
        tracing::info!(target: "gatehouse::deploy", tenant = tenant_name, app, version = canary.version, "{note}");
        Ok(report(tenant_name, app, version, None))
    }

    /// Rolls a canary back on its own (its error rate was judged too high):
    /// `why` goes to the log and the app's record. Nothing happens if the
    /// rollout has moved on meanwhile (promoted, replaced, ended elsewhere).
    pub async fn roll_back_canary(
        &self,
        tenant_name: &str,
        app: &str,
        version: i64,
        why: &str,
    ) -> Result<bool, ChangeError> {
        let _change = self.lock_tenant(tenant_name).await;
        let tenant = self.live_tenant(tenant_name).await?;
        let Ok((live, canary)) = rollout_of(&tenant, app) else { return Ok(false) };
        if canary.version != version {
            return Ok(false);
        }
        let note = format!("version {version} was rolled back on its own: {why}");
        let next = Arc::new(without_canary(&live));
        checked(&tenant, app, &next)?;
        if !self.store.end_canary(tenant_name, app, version, &note).await? {
            return Ok(false);
        }
        self.put_app(&tenant, app, Some(next))?;
        tracing::warn!(
            target: "gatehouse::deploy",
            tenant = tenant_name, app, version, active = live.version, "{note}"
        );
        Ok(true)
    }

    /// An app as the store wants it served: `active`, with `canary` beside
    /// it if a rollout is under way. What `current` already serves is kept
    /// (a canary given a new share keeps its counts); `None` if it is all
    /// the same already. A canary that fails to load here is logged and left
    /// out: this node serves the active version to everyone meanwhile.
    pub(super) async fn load_app(
        &self,
        tenant: &Tenant,
        current: Option<&Arc<LiveApp>>,
        active: &DeploymentRecord,
        canary: Option<&CanaryRecord>,
    ) -> Result<Option<Arc<LiveApp>>, LoadFailure> {
        let same_active = current.is_some_and(|a| a.version == active.version && a.bundle_hash == active.bundle_hash);
        let kept_canary = current.and_then(|a| a.canary.as_ref()).filter(|c| {
            canary.is_some_and(|r| r.deployment.version == c.version && r.deployment.bundle_hash == c.bundle_hash)
        });
        let same_canary = match (kept_canary, canary) {
            (Some(c), Some(r)) => c.percent == r.percent,
            (None, None) => current.is_none_or(|a| a.canary.is_none()),
            _ => false,
        };
        if same_active && same_canary {
            return Ok(None);
        }
        let base = match current {
            Some(a) if same_active => a.clone(),
            _ => self.load_deployment(tenant, active).await?,
        };
        let canary = match (canary, kept_canary) {
            (None, _) => None,
            (Some(r), Some(kept)) => Some(Arc::new(Canary {
                version: kept.version,
                bundle_hash: kept.bundle_hash.clone(),
                percent: r.percent,
                endpoints: kept.endpoints.clone(),
                outcomes: kept.outcomes.clone(),
            })),
            (Some(r), None) => match self.load_canary(tenant, r).await {
                Ok(c) => Some(Arc::new(c)),
                Err(e) => {
                    let d = &r.deployment;
                    tracing::error!(
                        tenant = %d.tenant, app = %d.app, version = d.version,
                        "canary not loaded; the active version serves every caller on this node: {e}"
                    );
                    None
                }
            },
        };
        Ok(Some(Arc::new(LiveApp {
            version: base.version,
            bundle_hash: base.bundle_hash.clone(),
            endpoints: base.endpoints.clone(),
            canary,
        })))
    }

    async fn load_canary(&self, tenant: &Tenant, r: &CanaryRecord) -> Result<Canary, LoadFailure> {
        let d = &r.deployment;
        let dir = self.materialize(d).await?;
        let (_, endpoints) =
            self.prepare_app(tenant, dir, Some(&d.app), true).await.map_err(|e| LoadFailure::deployment(d, e))?;
        Ok(Canary {
            version: d.version,
            bundle_hash: d.bundle_hash.clone(),
            percent: r.percent,
            endpoints,
            outcomes: Default::default(),
        })
    }
}

/// The app and its canary, or why there is none.
fn rollout_of(tenant: &Tenant, app: &str) -> Result<(Arc<LiveApp>, Arc<Canary>), ChangeError> {
    let live = tenant
        .apps
        .get(app)
        .ok_or_else(|| ChangeError::NotFound(format!("tenant {} has no app {app} serving", tenant.name)))?;
    let canary = live.canary.clone().ok_or_else(|| {
        ChangeError::Conflict(format!(
            "app {app} of tenant {} has no rollout under way; `gatehouse deploy --percent N` starts one",
            tenant.name
        ))
    })?;
    Ok((live.clone(), canary))
}

/// Whether the tenant can serve `app` as `next` (its routes against the rest).
fn checked(tenant: &Tenant, app: &str, next: &Arc<LiveApp>) -> Result<(), ChangeError> {
    let mut apps = tenant.apps.clone();
    apps.insert(app.to_string(), next.clone());
    tenant.with_apps(apps).map(drop).map_err(ChangeError::from)
}

fn without_canary(live: &LiveApp) -> LiveApp {
    LiveApp {
        version: live.version,
        bundle_hash: live.bundle_hash.clone(),
        endpoints: live.endpoints.clone(),
        canary: None,
    }
}

fn report(tenant: &str, app: &str, active_version: i64, canary: Option<(i64, u8)>) -> RolloutReport {
    RolloutReport {
        tenant: tenant.to_string(),
        app: app.to_string(),
        active_version,
        canary_version: canary.map(|c| c.0),
        percent: canary.map(|c| c.1),
    }
}

impl Registry {
    /// This node's counts of an app's rollout, if one is under way and the
    /// tenant is loaded here: (canary version, its share, the counts).
    pub fn rollout_counts(&self, tenant: &str, app: &str) -> Option<(i64, u8, crate::registry::Counts)> {
        let directory = self.directory();
        let canary = directory.tenants.get(tenant)?.apps.get(app)?.canary.clone()?;
        Some((canary.version, canary.percent, canary.outcomes.counts()))
    }
}
