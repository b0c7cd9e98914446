//! Gradual rollouts, as stored: an app's canary (a version that a share of
//! its callers get while the active version serves the rest), promoted to
//! active, re-weighted, or ended with a note saying why. Every change is one
//! conditional statement, so two nodes that both decide to roll the same
//! canary back (or an operator promoting it meanwhile) cannot undo each other.

use sqlx::Row;

use super::deployments::{DEPLOYMENT_COLUMNS, deployment_from_row};
use super::{DeploymentRecord, Store, StoreError, on_pool};

/// A rollout under way: the canary's deployment and the share it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryRecord {
    /// The canary version.
    pub deployment: DeploymentRecord,
    /// Percent of callers, 1 to 99.
    pub percent: u8,
}

/// The fifth parameter of a rollout change, if it has one.
enum Extra<'a> {
    None,
    Percent(i64),
    Note(&'a str),
}

impl Store {
    /// Every tenant's rollouts under way (or one tenant's).
    pub async fn canary_deployments(&self, tenant: Option<&str>) -> Result<Vec<CanaryRecord>, StoreError> {
        let filter = if tenant.is_some() { "WHERE d.tenant = $1" } else { "" };
        let sql = format!(
            "SELECT {DEPLOYMENT_COLUMNS}, a.canary_percent FROM deployments d
             JOIN apps a ON a.tenant = d.tenant AND a.name = d.app AND a.canary_version = d.version
             {filter} ORDER BY d.tenant, d.app"
        );
        Ok(on_pool!(self, p => {
            let mut query = sqlx::query(&sql);
            if let Some(t) = tenant {
                query = query.bind(t);
            }
            query
                .fetch_all(p)
                .await?
                .iter()
                .map(|r| {
                    let percent: Option<i64> = r.get("canary_percent");
                    CanaryRecord {
                        deployment: deployment_from_row!(r),
                        percent: percent.unwrap_or(0).clamp(1, 99) as u8,
                    }
                })
                .collect()
        }))
    }

    /// Makes `version`, the canary, the active version (the rollout ends at
    /// 100 %). False if `version` is not the app's canary (any more).
    pub async fn promote_canary(&self, tenant: &str, app: &str, version: i64) -> Result<bool, StoreError> {
        self.change_canary(
            "UPDATE apps SET active_version = canary_version, canary_version = NULL, canary_percent = NULL,
             rollout_note = NULL, updated_at = $1 WHERE tenant = $2 AND name = $3 AND canary_version = $4",
            Extra::None,
            tenant,
            app,
            version,
        )
        .await
    }

    /// Gives the canary `version` another share of callers. False if it is
    /// not the app's canary (any more).
    pub async fn set_canary_percent(
        &self,
        tenant: &str,
        app: &str,
        version: i64,
        percent: u8,
    ) -> Result<bool, StoreError> {
        self.change_canary(
            "UPDATE apps SET canary_percent = $5, updated_at = $1 WHERE tenant = $2 AND name = $3 AND canary_version = $4",
            Extra::Percent(percent.into()),
            tenant,
            app,
            version,
        )
        .await
    }

    /// Ends the rollout of `version`: every caller gets the active version
    /// again, and `note` says why. False if `version` is not the app's
    /// canary (any more: promoted, replaced or already ended).
    pub async fn end_canary(&self, tenant: &str, app: &str, version: i64, note: &str) -> Result<bool, StoreError> {
        self.change_canary(
            "UPDATE apps SET canary_version = NULL, canary_percent = NULL, rollout_note = $5, updated_at = $1
             WHERE tenant = $2 AND name = $3 AND canary_version = $4",
            Extra::Note(note),
            tenant,
            app,
            version,
        )
        .await
    }

    /// One conditional change of an app's rollout; `extra` is `$5`.
    async fn change_canary(
        &self,
        sql: &str,
        extra: Extra<'_>,
        tenant: &str,
        app: &str,
        version: i64,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => {
            let mut query = sqlx::query(sql).bind(super::now()).bind(tenant).bind(app).bind(version);
            match extra {
                Extra::None => {}
                Extra::Percent(n) => query = query.bind(n),
                Extra::Note(note) => query = query.bind(note),
            }
            query.execute(p).await?.rows_affected()
        });
        if done > 0 {
            self.changed("deployments").await?;
        }
        Ok(done > 0)
    }
}
