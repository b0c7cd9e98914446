//! Background tasks that keep a node current: the sync loop (the store's
//! change marker, checked every 100 ms: one `pread` on SQLite, an atomic on
//! Postgres, bumped by notifications) and `serve --watch` (endpoint source
//! folders polled for changes, rebuilt and swapped in place).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::registry::{Language, Registry};

/// How often the store's change marker is read.
const SYNC_EVERY: Duration = Duration::from_millis(100);
/// How often watched sources are scanned.
const WATCH_EVERY: Duration = Duration::from_millis(500);

/// Keeps `app`'s registry in step with the store for as long as the runtime
/// runs. (`app` is whatever owns the registry: the task keeps it alive.)
pub fn spawn_sync<A: AsRef<Registry> + Send + Sync + 'static>(app: Arc<A>) {
    tokio::spawn(async move {
        let registry: &Registry = (*app).as_ref();
        let store = registry.store().clone();
        let mut seen = store.change_counter();
        loop {
            tokio::time::sleep(SYNC_EVERY).await;
            let now = store.change_counter();
            if now == seen {
                registry.in_step();
                continue;
            }
            match registry.sync().await {
                Ok(true) => {
                    seen = now;
                    registry.in_step();
                }
                // A tenant was changing here: its change swaps itself in; look again next tick.
                Ok(false) => {}
                Err(e) => tracing::warn!("syncing with the platform store failed: {e}; retrying"),
            }
        }
    });
}

/// Watches every platform.toml endpoint that is a source folder (any language); when a file
/// in it changes, rebuilds it and swaps it in. A failed build is logged with
/// the compiler's message and the running version keeps serving.
pub fn spawn_watch<A: AsRef<Registry> + Send + Sync + 'static>(app: Arc<A>) {
    let mut folders: Vec<PathBuf> = (*app)
        .as_ref()
        .config()
        .endpoints
        .iter()
        .map(|e| e.component.clone())
        .filter(|c| Language::of(c).is_some())
        .collect();
    folders.sort();
    folders.dedup();
    tracing::info!(folders = folders.len(), "watching endpoint sources");
    tokio::spawn(async move {
        let mut stamps: HashMap<PathBuf, SystemTime> = folders.iter().map(|f| (f.clone(), newest_change(f))).collect();
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            for folder in &folders {
                let now = newest_change(folder);
                if stamps.get(folder) == Some(&now) {
                    continue;
                }
                stamps.insert(folder.clone(), now);
                tracing::info!(folder = %folder.display(), "source changed; rebuilding");
                match (*app).as_ref().reload_source(folder).await {
                    Ok(n) => tracing::info!(folder = %folder.display(), endpoints = n, "rebuilt and swapped in"),
                    Err(e) => {
                        tracing::error!(folder = %folder.display(), "rebuild failed, the running version keeps serving: {e}")
                    }
                }
            }
        }
    });
}

/// The newest modification time under `dir` (sources only: `target`,
/// `node_modules`, `__pycache__` and hidden folders skipped).
fn newest_change(dir: &std::path::Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || matches!(name.as_ref(), "target" | "node_modules" | "__pycache__") {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if let Ok(m) = meta.modified() {
                newest = newest.max(m);
            }
        }
    }
    newest
}
