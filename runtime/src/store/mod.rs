//! Platform metadata over sqlx: SQLite in the data dir by default. Migrations
//! are ordered SQL, applied once. The database runs in rollback-journal mode,
//! so its header's change counter moves on every committed write: a cheap way
//! for the server to notice what another process (the CLI) changed.

mod keys;
mod migrations;
mod secrets;

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use keys::KeyRecord;
pub use secrets::SecretRecord;

/// The platform's own database.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// The database file, kept open to read its change counter without an
    /// `open` per request. SQLite writes the file in place, so the handle stays valid.
    file: std::sync::Arc<std::fs::File>,
}

/// A store problem, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or migrated.
    #[error("cannot open the platform database {path}: {message}; check the data dir's permissions")]
    Open {
        /// The database file.
        path: String,
        /// Why.
        message: String,
    },
    /// A query failed.
    #[error("platform database error: {0}")]
    Query(#[from] sqlx::Error),
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/platform.db` and applies pending migrations.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join("platform.db");
        let fail = |message: String| StoreError::Open { path: path.display().to_string(), message };
        std::fs::create_dir_all(data_dir).map_err(|e| fail(e.to_string()))?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|e| fail(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            .busy_timeout(Duration::from_secs(5));
        let pool =
            SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(|e| fail(e.to_string()))?;
        migrations::apply(&pool).await.map_err(|e| fail(e.to_string()))?;
        let file = std::fs::File::open(&path).map_err(|e| fail(e.to_string()))?;
        Ok(Self { pool, file: std::sync::Arc::new(file) })
    }

    /// SQLite's file change counter (header bytes 24..28): it changes whenever
    /// any process commits a write. One `pread`, no query.
    pub fn change_counter(&self) -> u32 {
        let mut buf = [0u8; 4];
        match self.file.read_exact_at(&mut buf, 24) {
            Ok(()) => u32::from_be_bytes(buf),
            // Unreadable: report a value that forces a reload through sqlx, which
            // will surface the real error.
            Err(_) => u32::MAX,
        }
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}
