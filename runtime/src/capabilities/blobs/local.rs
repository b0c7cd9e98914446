//! Objects on this node's disk: `{dir}/objects/{sha256(key)}` holds the
//! bytes, and `{dir}/index.db` (SQLite) each key's content type, size and
//! time, so listing by prefix is an index range, not a directory walk. A key
//! never becomes a path: its hash does, so no key can name a file outside the
//! folder, whatever it holds. A put writes a temporary file, syncs it and
//! renames it over the old one inside the index's transaction: a reader sees
//! the old object or the new one, never half of one.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sha2::Digest;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use tokio::sync::OnceCell;

use super::tenant_blobs::ByteStream;
use crate::capabilities::wit_blobs as wit;

/// A tenant's objects on disk; the index is opened at the first call.
pub(super) struct LocalBlobs {
    dir: PathBuf,
    index: OnceCell<SqlitePool>,
}

fn unavailable(e: impl std::fmt::Display) -> wit::BlobError {
    wit::BlobError::Unavailable(e.to_string())
}

impl LocalBlobs {
    pub(super) fn new(dir: PathBuf) -> Self {
        Self { dir, index: OnceCell::new() }
    }

    async fn index(&self) -> Result<&SqlitePool, wit::BlobError> {
        self.index
            .get_or_try_init(|| async {
                tokio::fs::create_dir_all(self.dir.join("objects")).await.map_err(unavailable)?;
                // Files a put was writing when the node stopped: never in the index.
                let incoming = self.dir.join("incoming");
                let _ = tokio::fs::remove_dir_all(&incoming).await;
                tokio::fs::create_dir_all(&incoming).await.map_err(unavailable)?;
                let options =
                    SqliteConnectOptions::from_str(&format!("sqlite://{}", self.dir.join("index.db").display()))
                        .map_err(unavailable)?
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .busy_timeout(Duration::from_secs(5));
                let pool =
                    SqlitePoolOptions::new().max_connections(2).connect_with(options).await.map_err(unavailable)?;
                sqlx::query(
                    "CREATE TABLE IF NOT EXISTS objects (
                        key TEXT PRIMARY KEY,
                        content_type TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        modified_ms INTEGER NOT NULL
                    )",
                )
                .execute(&pool)
                .await
                .map_err(unavailable)?;
                Ok(pool)
            })
            .await
    }

    /// Moves the whole folder under `archive`; where it went.
    pub(super) async fn retire(&self, archive: &Path, tenant: &str) -> Result<String, String> {
        if let Some(pool) = self.index.get() {
            pool.close().await;
        }
        if !tokio::fs::try_exists(&self.dir).await.unwrap_or(false) {
            return Ok("nothing stored".into());
        }
        tokio::fs::create_dir_all(archive).await.map_err(|e| e.to_string())?;
        let to = archive.join(format!("{tenant}-blobs-{}", super::now_ms()));
        tokio::fs::rename(&self.dir, &to).await.map_err(|e| e.to_string())?;
        Ok(to.display().to_string())
    }

    fn path_of(&self, key: &str) -> PathBuf {
        self.dir.join("objects").join(hex::encode(sha2::Sha256::digest(key.as_bytes())))
    }

    /// Bytes and objects stored.
    pub(super) async fn usage(&self) -> Result<(u64, u64), wit::BlobError> {
        let row = sqlx::query("SELECT COALESCE(SUM(size), 0) AS bytes, COUNT(*) AS n FROM objects")
            .fetch_one(self.index().await?)
            .await
            .map_err(unavailable)?;
        Ok((row.get::<i64, _>("bytes") as u64, row.get::<i64, _>("n") as u64))
    }

    /// Stores an object; the replaced one's size, if there was one.
    pub(super) async fn put(&self, info: &wit::ObjectInfo, data: Vec<u8>) -> Result<Option<u64>, wit::BlobError> {
        let index = self.index().await?;
        let incoming = self.dir.join("incoming").join(uuid::Uuid::new_v4().simple().to_string());
        write_synced(&incoming, data).await.map_err(unavailable)?;
        let stored = async {
            // IMMEDIATE: the write lock is taken at the start, so two puts
            // queue (busy timeout) instead of one failing at its upgrade.
            let mut tx = index.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
            let old = sqlx::query("SELECT size FROM objects WHERE key = ?")
                .bind(&info.key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(unavailable)?
                .map(|r| r.get::<i64, _>("size") as u64);
            sqlx::query(
                "INSERT INTO objects (key, content_type, size, modified_ms) VALUES (?, ?, ?, ?)
                 ON CONFLICT (key) DO UPDATE SET content_type = excluded.content_type, size = excluded.size,
                 modified_ms = excluded.modified_ms",
            )
            .bind(&info.key)
            .bind(&info.content_type)
            .bind(info.size as i64)
            .bind(info.modified_ms as i64)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
            tokio::fs::rename(&incoming, self.path_of(&info.key)).await.map_err(unavailable)?;
            tx.commit().await.map_err(unavailable)?;
            Ok(old)
        }
        .await;
        if stored.is_err() {
            let _ = tokio::fs::remove_file(&incoming).await;
        }
        stored
    }

    pub(super) async fn head(&self, key: &str) -> Result<Option<wit::ObjectInfo>, wit::BlobError> {
        let row = sqlx::query("SELECT key, content_type, size, modified_ms FROM objects WHERE key = ?")
            .bind(key)
            .fetch_optional(self.index().await?)
            .await
            .map_err(unavailable)?;
        Ok(row.map(|r| info(&r)))
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<wit::Object>, wit::BlobError> {
        let Some(info) = self.head(key).await? else { return Ok(None) };
        match tokio::fs::read(self.path_of(key)).await {
            Ok(data) => Ok(Some(wit::Object { info: wit::ObjectInfo { size: data.len() as u64, ..info }, data })),
            // Deleted between the index read and the file read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Removes an object; its size, if there was one.
    pub(super) async fn delete(&self, key: &str) -> Result<Option<u64>, wit::BlobError> {
        let mut tx = self.index().await?.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        let old = sqlx::query("DELETE FROM objects WHERE key = ? RETURNING size")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(unavailable)?
            .map(|r| r.get::<i64, _>("size") as u64);
        if old.is_some() {
            match tokio::fs::remove_file(self.path_of(key)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(old)
    }

    /// Keys from `prefix`, after `after`, in key order: up to `limit`, and
    /// the `after` of the next page if there are more.
    pub(super) async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<wit::ObjectInfo>, Option<String>), wit::BlobError> {
        // SQLite compares text bytewise (UTF-8 order, as S3 does): every key
        // with the prefix sorts from the prefix up to the prefix followed by
        // the largest character, so the scan is a range of the index.
        let upper = format!("{prefix}\u{10FFFF}");
        let rows = sqlx::query(
            "SELECT key, content_type, size, modified_ms FROM objects
             WHERE key >= ?1 AND key < ?2 AND substr(key, 1, length(?1)) = ?1 AND key > ?3
             ORDER BY key LIMIT ?4",
        )
        .bind(prefix)
        .bind(&upper)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit) + 1)
        .fetch_all(self.index().await?)
        .await
        .map_err(unavailable)?;
        let mut objects: Vec<wit::ObjectInfo> = rows.iter().map(info).collect();
        let more = objects.len() > limit as usize;
        objects.truncate(limit as usize);
        let next = if more { objects.last().map(|o| o.key.clone()) } else { None };
        Ok((objects, next))
    }

    /// The object as a stream of pieces, from a file opened now: a put that
    /// replaces it meanwhile renames a new file in, and this one reads on.
    pub(super) async fn open(&self, key: &str) -> Result<Option<(wit::ObjectInfo, ByteStream)>, wit::BlobError> {
        let Some(info) = self.head(key).await? else { return Ok(None) };
        let file = match tokio::fs::File::open(self.path_of(key)).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let size = file.metadata().await.map_err(unavailable)?.len();
        Ok(Some((wit::ObjectInfo { size, ..info }, file_stream(file))))
    }
}

fn info(r: &sqlx::sqlite::SqliteRow) -> wit::ObjectInfo {
    wit::ObjectInfo {
        key: r.get("key"),
        content_type: r.get("content_type"),
        size: r.get::<i64, _>("size") as u64,
        modified_ms: r.get::<i64, _>("modified_ms") as u64,
    }
}

/// Bytes read from a file at a time while serving it.
const READ_PIECE: usize = 64 << 10;

/// A file's bytes, a piece at a time; an error ends it.
fn file_stream(file: tokio::fs::File) -> ByteStream {
    use futures_util::StreamExt;
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut piece = vec![0u8; READ_PIECE];
        match file.read(&mut piece).await {
            Ok(0) => None,
            Ok(n) => {
                piece.truncate(n);
                Some((Ok(bytes::Bytes::from(piece)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
    .boxed()
}

/// Writes and syncs a file, on a blocking thread.
async fn write_synced(path: &Path, data: Vec<u8>) -> std::io::Result<()> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&data)?;
        f.sync_all()
    })
    .await
    .map_err(std::io::Error::other)?
}
