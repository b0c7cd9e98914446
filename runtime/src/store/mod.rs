//! Platform metadata over sqlx: tenants, API keys, secrets, deployments and
//! the files they are made of. SQLite in the data dir by default, Postgres
//! (schema `gatehouse`) when `platform.database_url` is set, so that several
//! nodes share one registry. Every query is written once with `$n`
//! placeholders, which both backends accept, and run through `on_pool!`.
//!
//! Other processes learn of changes through a change marker: SQLite's file
//! change counter (it runs in rollback-journal mode, so the header moves on
//! every committed write; one `pread` reads it), or on Postgres a counter this
//! process bumps whenever a `NOTIFY` arrives on the events channel.

mod blobs;
mod deployments;
mod events;
mod keys;
mod migrations;
mod mirror;
mod rollouts;
mod secrets;
mod settings;
mod storage;
mod tenants;

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use deployments::{AppRecord, DeploymentRecord};
pub use keys::KeyRecord;
pub use mirror::{Mirror, Reader};
pub use rollouts::CanaryRecord;
pub use secrets::SecretRecord;
pub use tenants::TenantRecord;

/// The platform's own database.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// What moves when anything changed (see the module docs).
    marker: Marker,
    /// Postgres: the channel change events go out on (one per store schema).
    channel: String,
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Clone)]
enum Marker {
    /// The database file, kept open to read its change counter without an
    /// `open` per request. SQLite writes the file in place, so the handle stays valid.
    SqliteHeader(Arc<std::fs::File>),
    /// Bumped by the events listener and by this process's own writes.
    Counter(Arc<AtomicU64>),
}

/// Runs `$body` with `$p` bound to the concrete pool: the same query text
/// compiles once per backend.
macro_rules! on_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match $store.pool() {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A store problem, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or migrated.
    #[error("cannot open the platform database {path}: {message}")]
    Open {
        /// The database file or URL (password removed).
        path: String,
        /// Why, and what to check.
        message: String,
    },
    /// A query failed.
    #[error("platform database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// The channel change events go out on: `<schema>_<token>`, the token random
/// and kept in the store (which no tenant role can read). Any role may
/// `NOTIFY` any channel it can name, so a guessable name would let a tenant
/// wake every node's reload; this one it cannot name. (A notification only
/// ever makes a node compare itself with the store, at most once per tick.)
async fn events_channel(pool: &PgPool, schema: &str) -> Result<String, sqlx::Error> {
    let token = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    sqlx::query(
        "INSERT INTO platform_settings (name, value) VALUES ('events_channel', $1) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&token)
    .execute(pool)
    .await?;
    let (token,): (String,) =
        sqlx::query_as("SELECT value FROM platform_settings WHERE name = 'events_channel'").fetch_one(pool).await?;
    Ok(format!("{schema}_{token}"))
}

impl Store {
    /// Opens the platform store: Postgres at `platform.database_url` if set
    /// (tables in `platform.store_schema`), else `<data_dir>/platform.db`
    /// (created if needed). Pending migrations are applied.
    pub async fn open(platform: &crate::config::PlatformSection) -> Result<Self, StoreError> {
        match &platform.database_url {
            Some(url) => Self::open_postgres(url, &platform.store_schema).await,
            None => Self::open_sqlite(&platform.data_dir).await,
        }
    }

    /// Opens (creating) `<data_dir>/platform.db`.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join("platform.db");
        let fail = |message: String| StoreError::Open {
            path: path.display().to_string(),
            message: format!("{message}; check the data dir's permissions"),
        };
        std::fs::create_dir_all(data_dir).map_err(|e| fail(e.to_string()))?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(|e| fail(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            .busy_timeout(Duration::from_secs(5));
        let pool =
            SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(|e| fail(e.to_string()))?;
        migrations::apply_sqlite(&pool).await.map_err(|e| fail(e.to_string()))?;
        let file = std::fs::File::open(&path).map_err(|e| fail(e.to_string()))?;
        Ok(Self { pool: Pool::Sqlite(pool), marker: Marker::SqliteHeader(Arc::new(file)), channel: String::new() })
    }

    async fn open_postgres(url: &str, schema: &str) -> Result<Self, StoreError> {
        let fail = |message: String| StoreError::Open {
            path: crate::postgres_url::redact(url),
            message: format!("{message}; check that Postgres runs and platform.database_url is right"),
        };
        let options = crate::postgres_url::connect_options(url).map_err(|e| fail(e.to_string()))?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await
            .map_err(|e| fail(e.to_string()))?;
        migrations::apply_postgres(&admin, schema).await.map_err(|e| fail(e.to_string()))?;
        admin.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(2))
            .connect_with(options.options([("search_path", schema)]))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let marker = Marker::Counter(Arc::new(AtomicU64::new(1)));
        let channel = events_channel(&pool, schema).await.map_err(|e| fail(e.to_string()))?;
        Ok(Self { pool: Pool::Postgres(pool), marker, channel })
    }

    /// Which backend holds the registry, for logs and stats.
    pub fn backend_name(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Something that changes whenever any process committed a write: SQLite's
    /// file change counter (header bytes 24..28, one `pread`), or the events
    /// counter on Postgres.
    pub fn change_counter(&self) -> u64 {
        match &self.marker {
            Marker::SqliteHeader(file) => {
                let mut buf = [0u8; 4];
                match file.read_exact_at(&mut buf, 24) {
                    Ok(()) => u64::from(u32::from_be_bytes(buf)),
                    // Unreadable: report a value that forces a reload through
                    // sqlx, which will surface the real error.
                    Err(_) => u64::MAX,
                }
            }
            Marker::Counter(c) => c.load(Ordering::Acquire),
        }
    }

    /// Marks a change made by this process and tells the other nodes (Postgres
    /// `NOTIFY`; on SQLite the write itself moved the change counter).
    pub(crate) async fn changed(&self, what: &str) -> Result<(), StoreError> {
        if let Marker::Counter(c) = &self.marker {
            c.fetch_add(1, Ordering::AcqRel);
        }
        if let Pool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify($1, $2)").bind(&self.channel).bind(what).execute(pool).await?;
        }
        Ok(())
    }

    /// One round trip (`SELECT 1`), for readiness: whether the store answers now.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
            Pool::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop)?,
        }
        Ok(())
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// A boxed `Send` future: queries run inside a transaction on either backend
/// are boxed so the compiler proves `Send` once, for concrete lifetimes.
pub type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Unix seconds, the store's time unit.
pub(crate) fn now() -> i64 {
    crate::clock::unix_now()
}
