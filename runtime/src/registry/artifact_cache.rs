//! Compiled components on disk, keyed by the component's content hash and the
//! engine's compatibility hash, so a restart (or another test process) reuses
//! them and a wasmtime upgrade or config change can never load a stale one.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// A folder of `<sha256>-<engine>.cwasm` files.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// A cache in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The compiled form of `wasm`: from the cache, or compiled now and stored.
    /// Compiling is CPU-heavy: call this off the request path (`spawn_blocking`).
    pub fn load_or_compile(&self, engine: &Engine, wasm: &[u8]) -> Result<(Component, bool), String> {
        let path = self.path_for(engine, wasm);
        if path.exists() {
            // SAFETY: `deserialize_file` trusts its input to be wasmtime's own
            // output for this engine. The file lives in our cache folder, is
            // named by the sha256 of the source component and the engine's
            // compatibility hash, and is only ever written below by
            // `precompile_component` through an atomic rename, so it is exactly
            // such output. A corrupt file is detected by wasmtime's header
            // checks and recompiled.
            #[allow(unsafe_code)]
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, true)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "cached artifact unusable ({e}); recompiling");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let compiled = engine.precompile_component(wasm).map_err(|e| format!("{e:#}"))?;
        if let Err(e) = write_atomically(&path, &compiled) {
            tracing::warn!(path = %path.display(), "could not cache the compiled component ({e}); serving it anyway");
        }
        // SAFETY: `compiled` is what `precompile_component` just produced with this engine.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| format!("{e:#}"))?;
        Ok((component, false))
    }

    fn path_for(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        let content = hex::encode(Sha256::digest(wasm));
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir.join(format!("{content}-{:016x}.cwasm", hasher.finish()))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp =
        dir.join(format!(".{}.{}.tmp", path.file_name().unwrap_or_default().to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
