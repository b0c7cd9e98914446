//! Apps and their deployments. A deployment is one upload of an app: a
//! version number, the hash of the whole bundle and the files it is made of
//! (path → blob hash). An app points at its active version, or at none once
//! undeployed; switching that pointer is the whole of a deploy, a rollback
//! or an undeploy, done in one statement. A gradual rollout's second pointer
//! (the canary) is kept in `rollouts.rs`.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{Store, StoreError, on_pool};

/// One deployment, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    /// The tenant.
    pub tenant: String,
    /// The app.
    pub app: String,
    /// 1, 2, 3… per app.
    pub version: i64,
    /// SHA-256 of the bundle's files (paths and contents).
    pub bundle_hash: String,
    /// Path inside the bundle → blob hash.
    pub files: BTreeMap<String, String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// One app, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRecord {
    /// The tenant.
    pub tenant: String,
    /// The app's name.
    pub name: String,
    /// The version serving, if any.
    pub active_version: Option<i64>,
    /// The version a share of callers get during a gradual rollout, if any.
    pub canary_version: Option<i64>,
    /// That share, 1 to 99 (percent of callers).
    pub canary_percent: Option<i64>,
    /// Why the last rollout was rolled back on its own, if it was.
    pub rollout_note: Option<String>,
    /// Unix seconds.
    pub updated_at: i64,
}

macro_rules! deployment_from_row {
    ($row:expr) => {{
        let row = $row;
        let files: String = row.get("files");
        DeploymentRecord {
            tenant: row.get("tenant"),
            app: row.get("app"),
            version: row.get("version"),
            bundle_hash: row.get("bundle_hash"),
            files: serde_json::from_str(&files).unwrap_or_default(),
            created_at: row.get("created_at"),
        }
    }};
}

pub(super) use deployment_from_row;

pub(super) const DEPLOYMENT_COLUMNS: &str = "d.tenant, d.app, d.version, d.bundle_hash, d.files, d.created_at";

impl Store {
    /// Records a new deployment of `app` and makes it the active version, in
    /// one transaction; returns its version number. With `canary_percent`,
    /// the active version stays and the new one becomes the canary that share
    /// of callers get (a gradual rollout); without, any rollout under way ends.
    pub fn record_deployment<'a>(
        &'a self,
        tenant: &'a str,
        app: &'a str,
        bundle_hash: &'a str,
        files: &'a BTreeMap<String, String>,
        canary_percent: Option<u8>,
    ) -> super::Boxed<'a, Result<i64, StoreError>> {
        Box::pin(async move {
            let now = super::now();
            let files = serde_json::to_string(files).unwrap_or_default();
            let version = on_pool!(self, p => {
                let mut tx = p.begin().await?;
                sqlx::query(
                    "INSERT INTO apps (tenant, name, active_version, updated_at) VALUES ($1, $2, NULL, $3)
                     ON CONFLICT (tenant, name) DO NOTHING",
                )
                .bind(tenant)
                .bind(app)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let row = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 AS next FROM deployments WHERE tenant = $1 AND app = $2")
                    .bind(tenant)
                    .bind(app)
                    .fetch_one(&mut *tx)
                    .await?;
                let version: i64 = row.get("next");
                sqlx::query(
                    "INSERT INTO deployments (tenant, app, version, bundle_hash, files, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(tenant)
                .bind(app)
                .bind(version)
                .bind(bundle_hash)
                .bind(&files)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let point = match canary_percent {
                    Some(_) => "UPDATE apps SET canary_version = $1, canary_percent = $2, rollout_note = NULL, updated_at = $3
                                WHERE tenant = $4 AND name = $5",
                    // $2 is NULL here: the rollout's share goes with it.
                    None => "UPDATE apps SET active_version = $1, canary_version = NULL, canary_percent = $2, updated_at = $3
                             WHERE tenant = $4 AND name = $5",
                };
                sqlx::query(point)
                    .bind(version)
                    .bind(canary_percent.map(i64::from))
                    .bind(now)
                    .bind(tenant)
                    .bind(app)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                version
            });
            self.changed("deployments").await?;
            Ok(version)
        })
    }

    /// Points `app` at `version` (a rollback), or at nothing (an undeploy);
    /// either ends a rollout under way. False if the app (or that version of
    /// it) does not exist.
    pub async fn set_active_version(&self, tenant: &str, app: &str, version: Option<i64>) -> Result<bool, StoreError> {
        if let Some(v) = version
            && self.get_deployment(tenant, app, v).await?.is_none()
        {
            return Ok(false);
        }
        let done = on_pool!(self, p => sqlx::query(
                "UPDATE apps SET active_version = $1, canary_version = NULL, canary_percent = NULL, updated_at = $2
                 WHERE tenant = $3 AND name = $4",
            )
            .bind(version)
            .bind(super::now())
            .bind(tenant)
            .bind(app)
            .execute(p)
            .await?
            .rows_affected());
        if done > 0 {
            self.changed("deployments").await?;
        }
        Ok(done > 0)
    }

    /// A tenant's apps, by name.
    pub async fn list_apps(&self, tenant: &str) -> Result<Vec<AppRecord>, StoreError> {
        Ok(on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT tenant, name, active_version, canary_version, canary_percent, rollout_note, updated_at
                 FROM apps WHERE tenant = $1 ORDER BY name",
            )
                .bind(tenant)
                .fetch_all(p)
                .await?;
            rows.iter()
                .map(|r| AppRecord {
                    tenant: r.get("tenant"),
                    name: r.get("name"),
                    active_version: r.get("active_version"),
                    canary_version: r.get("canary_version"),
                    canary_percent: r.get("canary_percent"),
                    rollout_note: r.get("rollout_note"),
                    updated_at: r.get("updated_at"),
                })
                .collect()
        }))
    }

    /// An app's deployments, newest first.
    pub async fn list_deployments(&self, tenant: &str, app: &str) -> Result<Vec<DeploymentRecord>, StoreError> {
        Ok(on_pool!(self, p => {
            let rows = sqlx::query(&format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.tenant = $1 AND d.app = $2 ORDER BY d.version DESC"
            ))
            .bind(tenant)
            .bind(app)
            .fetch_all(p)
            .await?;
            rows.iter().map(|r| deployment_from_row!(r)).collect()
        }))
    }

    /// One deployment.
    pub async fn get_deployment(
        &self,
        tenant: &str,
        app: &str,
        version: i64,
    ) -> Result<Option<DeploymentRecord>, StoreError> {
        Ok(on_pool!(self, p => {
            let row = sqlx::query(&format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.tenant = $1 AND d.app = $2 AND d.version = $3"
            ))
            .bind(tenant)
            .bind(app)
            .bind(version)
            .fetch_optional(p)
            .await?;
            row.as_ref().map(|r| deployment_from_row!(r))
        }))
    }

    /// Every active deployment of every tenant: what should be serving.
    pub async fn active_deployments(&self) -> Result<Vec<DeploymentRecord>, StoreError> {
        Ok(on_pool!(self, p => {
            let rows = sqlx::query(&format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d
                 JOIN apps a ON a.tenant = d.tenant AND a.name = d.app AND a.active_version = d.version
                 ORDER BY d.tenant, d.app"
            ))
            .fetch_all(p)
            .await?;
            rows.iter().map(|r| deployment_from_row!(r)).collect()
        }))
    }

    /// One tenant's active deployments: what it should be serving.
    pub async fn active_deployments_of(&self, tenant: &str) -> Result<Vec<DeploymentRecord>, StoreError> {
        Ok(on_pool!(self, p => {
            let rows = sqlx::query(&format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d
                 JOIN apps a ON a.tenant = d.tenant AND a.name = d.app AND a.active_version = d.version
                 WHERE d.tenant = $1 ORDER BY d.app"
            ))
            .bind(tenant)
            .fetch_all(p)
            .await?;
            rows.iter().map(|r| deployment_from_row!(r)).collect()
        }))
    }

    /// Active apps over all tenants.
    pub async fn count_active_apps(&self) -> Result<u64, StoreError> {
        Ok(on_pool!(self, p => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM apps WHERE active_version IS NOT NULL")
                .fetch_one(p)
                .await?;
            n as u64
        }))
    }

    /// Forgets all but the newest `keep` versions of an app (never the active
    /// one, nor a rollout's canary).
    pub async fn prune_deployments(
        &self,
        tenant: &str,
        app: &str,
        keep: usize,
    ) -> Result<Vec<DeploymentRecord>, StoreError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let condition = "d.tenant = $1 AND d.app = $2
             AND d.version <= (SELECT COALESCE(MAX(version), 0) FROM deployments WHERE tenant = $1 AND app = $2) - $3
             AND d.version <> COALESCE((SELECT active_version FROM apps WHERE tenant = $1 AND name = $2), -1)
             AND d.version <> COALESCE((SELECT canary_version FROM apps WHERE tenant = $1 AND name = $2), -1)";
        let pruned: Vec<DeploymentRecord> = on_pool!(self, p => sqlx::query(&format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE {condition}"
        ))
        .bind(tenant)
        .bind(app)
        .bind(keep)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| deployment_from_row!(r))
        .collect());
        for d in &pruned {
            on_pool!(self, p => sqlx::query("DELETE FROM deployments WHERE tenant = $1 AND app = $2 AND version = $3")
                .bind(tenant)
                .bind(app)
                .bind(d.version)
                .execute(p)
                .await
                .map(drop))?;
        }
        Ok(pruned)
    }
}
