//! The per-request state: the tenant's database, if it has one, and the
//! transactions the request holds open.

use std::sync::Arc;

use sqlx::{Postgres, Sqlite};

use super::database::TenantDatabase;
use crate::capabilities::wit_db as wit;
use crate::timing::Timings;

/// An open transaction, held in the request's resource table.
pub enum DbTransaction {
    /// On the tenant's SQLite file.
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    /// In the tenant's Postgres schema.
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// Per-request state: the tenant's database, if it has one.
pub(crate) struct DbState {
    db: Option<Arc<TenantDatabase>>,
    /// Transactions open now (at most `MAX_OPEN_TRANSACTIONS`).
    pub(super) open: usize,
    /// Where each call's time is added, for `Server-Timing`.
    pub(super) timings: Arc<Timings>,
}

impl DbState {
    pub(crate) fn new(db: Option<Arc<TenantDatabase>>, timings: Arc<Timings>) -> Self {
        Self { db, open: 0, timings }
    }

    /// Transactions the request holds open now.
    pub(crate) fn open_transactions(&self) -> usize {
        self.open
    }

    pub(super) fn db(&self) -> Result<Arc<TenantDatabase>, wit::DbError> {
        self.db.clone().ok_or_else(|| wit::DbError::Unavailable("this tenant has no database".into()))
    }
}
