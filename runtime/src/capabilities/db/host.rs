//! The `Host` impls: what a guest's `db` calls do with the request's state.
//! Each call is timed for `Server-Timing` and is a `db` span for traces.

use tracing::Instrument;
use wasmtime::component::{Resource, ResourceTable};

use super::database::Backend;
use super::state::{DbState, DbTransaction};
use super::{MAX_OPEN_TRANSACTIONS, postgres, sqlite};
use crate::capabilities::wit_db as wit;

/// The view a db call works with: its state and the request's resource table.
pub(crate) struct DbView<'a> {
    pub(crate) state: &'a mut DbState,
    pub(crate) table: &'a mut ResourceTable,
}

fn log_failure(what: &str, e: &wit::DbError) {
    tracing::debug!("db {what} failed: {e:?}");
}

impl wit::Host for DbView<'_> {
    async fn query(&mut self, sql: String, params: Vec<wit::Value>) -> Result<wit::Rows, wit::DbError> {
        let _timed = self.state.timings.time_db();
        async {
            let result = self.state.db()?.query(&sql, &params).await;
            if let Err(e) = &result {
                log_failure("query", e);
            }
            result
        }
        .instrument(tracing::debug_span!("db", operation = "query"))
        .await
    }

    async fn execute(&mut self, sql: String, params: Vec<wit::Value>) -> Result<u64, wit::DbError> {
        let _timed = self.state.timings.time_db();
        async {
            let result = self.state.db()?.execute(&sql, &params).await;
            if let Err(e) = &result {
                log_failure("execute", e);
            }
            result
        }
        .instrument(tracing::debug_span!("db", operation = "execute"))
        .await
    }

    async fn begin(&mut self) -> Result<Resource<DbTransaction>, wit::DbError> {
        let _timed = self.state.timings.time_db();
        async {
            let db = self.state.db()?;
            if self.state.open >= MAX_OPEN_TRANSACTIONS {
                return Err(wit::DbError::TooLarge(format!(
                    "a request may hold {MAX_OPEN_TRANSACTIONS} transactions open at once"
                )));
            }
            let tx = match &db.backend {
                Backend::Sqlite(pool) => DbTransaction::Sqlite(pool.begin().await.map_err(sqlite::classify)?),
                Backend::Postgres(pool) => DbTransaction::Postgres(postgres::begin(pool).await?),
            };
            self.state.open += 1;
            self.table.push(tx).map_err(|e| wit::DbError::Unavailable(e.to_string()))
        }
        .instrument(tracing::debug_span!("db", operation = "begin"))
        .await
    }
}

impl wit::HostTransaction for DbView<'_> {
    async fn query(
        &mut self,
        tx: Resource<DbTransaction>,
        sql: String,
        params: Vec<wit::Value>,
    ) -> Result<wit::Rows, wit::DbError> {
        let _timed = self.state.timings.time_db();
        async {
            let limits = self.state.db()?.limits;
            match self.table.get_mut(&tx).map_err(|e| wit::DbError::Invalid(e.to_string()))? {
                DbTransaction::Sqlite(t) => sqlite::run_query(t, limits, &sql, &params).await,
                DbTransaction::Postgres(t) => postgres::run_query(t, limits, &sql, &params).await,
            }
        }
        .instrument(tracing::debug_span!("db", operation = "query"))
        .await
    }

    async fn execute(
        &mut self,
        tx: Resource<DbTransaction>,
        sql: String,
        params: Vec<wit::Value>,
    ) -> Result<u64, wit::DbError> {
        let _timed = self.state.timings.time_db();
        async {
            let limits = self.state.db()?.limits;
            match self.table.get_mut(&tx).map_err(|e| wit::DbError::Invalid(e.to_string()))? {
                DbTransaction::Sqlite(t) => sqlite::run_execute(t, limits, &sql, &params).await,
                DbTransaction::Postgres(t) => postgres::run_execute(t, limits, &sql, &params).await,
            }
        }
        .instrument(tracing::debug_span!("db", operation = "execute"))
        .await
    }

    async fn commit(&mut self, tx: Resource<DbTransaction>) -> Result<(), wit::DbError> {
        let _timed = self.state.timings.time_db();
        async {
            let t = self.table.delete(tx).map_err(|e| wit::DbError::Invalid(e.to_string()))?;
            self.state.open = self.state.open.saturating_sub(1);
            match t {
                DbTransaction::Sqlite(t) => t.commit().await.map_err(sqlite::classify),
                DbTransaction::Postgres(t) => t.commit().await.map_err(postgres::classify),
            }
        }
        .instrument(tracing::debug_span!("db", operation = "commit"))
        .await
    }

    async fn rollback(&mut self, tx: Resource<DbTransaction>) -> Result<(), wit::DbError> {
        let _timed = self.state.timings.time_db();
        async {
            let t = self.table.delete(tx).map_err(|e| wit::DbError::Invalid(e.to_string()))?;
            self.state.open = self.state.open.saturating_sub(1);
            match t {
                DbTransaction::Sqlite(t) => t.rollback().await.map_err(sqlite::classify),
                DbTransaction::Postgres(t) => t.rollback().await.map_err(postgres::classify),
            }
        }
        .instrument(tracing::debug_span!("db", operation = "rollback"))
        .await
    }

    async fn drop(&mut self, tx: Resource<DbTransaction>) -> wasmtime::Result<()> {
        // Dropped without commit: sqlx rolls it back before the connection is reused.
        if self.table.delete(tx).is_ok() {
            self.state.open = self.state.open.saturating_sub(1);
        }
        Ok(())
    }
}
