//! The platform's own settings (`platform_settings`): values made once and
//! shared by every node on the store, such as the key object URLs are signed
//! with. No tenant role can read this table.

use sqlx::Row;

use super::{Store, StoreError, on_pool};

impl Store {
    /// The value of `name`; if it has none, `make()`'s is stored first. Two
    /// nodes racing both read the one that was stored first.
    pub async fn platform_setting_or_insert(
        &self,
        name: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
        let candidate = make();
        on_pool!(self, p => {
            sqlx::query("INSERT INTO platform_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(&candidate)
                .execute(p)
                .await?;
            let row = sqlx::query("SELECT value FROM platform_settings WHERE name = $1").bind(name).fetch_one(p).await?;
            Ok(row.get::<String, _>("value"))
        })
    }
}
