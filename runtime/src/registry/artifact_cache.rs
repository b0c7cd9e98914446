//! Compiled components on disk, keyed by the component's content hash and the
//! engine's compatibility hash, so a restart (or another test process) reuses
//! them and a wasmtime upgrade or config change can never load a stale one.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::sandbox::Sandbox;
use crate::store::Store;

/// Where a compiled component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// This node's cache.
    Cache,
    /// The shared store: another node compiled it.
    Shared,
    /// Compiled just now.
    Compiled,
}

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

    /// The compiled form of `wasm`: from this node's cache, else from the
    /// shared store (another node compiled it), else compiled now, within
    /// `timeout`, and stored in both. Compiling is CPU-heavy: call this off the
    /// request path (`spawn_blocking`); it may block on the store.
    pub fn load_or_compile(
        &self,
        sandbox: &Sandbox,
        wasm: &[u8],
        shared: Option<&Store>,
        timeout: Option<Duration>,
    ) -> Result<(Component, Origin), String> {
        let engine = sandbox.engine();
        let path = self.path_for(engine, wasm);
        if path.exists() {
            // SAFETY: `deserialize_file` trusts its input to be wasmtime's own
            // output for this engine. The file lives in our cache folder, is
            // named by the sha256 of the source component and the engine's
            // compatibility hash, and is only ever written by this type through
            // an atomic rename, from `precompile_component` here or on another
            // node running the same binary (same compatibility hash), so it is
            // exactly such output. A corrupt file is detected by wasmtime's
            // header checks and recompiled.
            #[allow(unsafe_code)]
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, Origin::Cache)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "cached artifact unusable ({e}); recompiling");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let key = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let runtime = tokio::runtime::Handle::try_current().ok();
        if let (Some(store), Some(rt)) = (shared, &runtime)
            && let Ok(Some(bytes)) = rt.block_on(store.get_artifact(&key))
        {
            // SAFETY: as above: the shared store's artifacts are written only
            // below, by a node of the same engine compatibility hash (the key).
            #[allow(unsafe_code)]
            if let Ok(component) = unsafe { Component::deserialize(engine, &bytes) } {
                let _ = write_atomically(&path, &bytes);
                return Ok((component, Origin::Shared));
            }
        }
        let compiled = match (timeout, crate::sandbox::child_binary()) {
            // Untrusted work with a deadline: in a child, killed at the deadline.
            (Some(t), Some(binary)) => crate::sandbox::compile_in_child(binary, sandbox.settings, wasm, t)?,
            _ => compile_within(engine, wasm, timeout)?,
        };
        if let Err(e) = write_atomically(&path, &compiled) {
            tracing::warn!(path = %path.display(), "could not cache the compiled component ({e}); serving it anyway");
        }
        if let (Some(store), Some(rt)) = (shared, &runtime)
            && let Err(e) = rt.block_on(store.put_artifact(&key, &compiled))
        {
            tracing::warn!("could not share the compiled component ({e}); other nodes will compile it");
        }
        // SAFETY: `compiled` is what `precompile_component` just produced with
        // this engine's configuration: here, or in a compile child, which is
        // this same binary building an engine from the same settings
        // (`sandbox::compiler`); a mismatch fails wasmtime's header check.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| format!("{e:#}"))?;
        Ok((component, Origin::Compiled))
    }

    /// Removes this node's compiled artifacts of the components `hashes`
    /// (content hashes), whatever engine compiled them.
    pub fn forget(&self, hashes: &[String]) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if hashes.iter().any(|h| name.starts_with(&format!("{h}-"))) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    fn path_for(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        let content = hex::encode(Sha256::digest(wasm));
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir.join(format!("{content}-{:016x}.cwasm", hasher.finish()))
    }
}

/// Compiles on a thread of its own and waits at most `timeout` (for ever with
/// `None`). A compile that takes longer is reported as failed; its thread runs
/// on to the end (Cranelift cannot be interrupted) but nothing waits for it.
/// Used only where no compile child can be started (see `sandbox::compiler`).
fn compile_within(engine: &Engine, wasm: &[u8], timeout: Option<Duration>) -> Result<Vec<u8>, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let engine = engine.clone();
    let wasm = wasm.to_vec();
    std::thread::Builder::new()
        .name("gatehouse-compile".into())
        .spawn(move || {
            let _ = tx.send(engine.precompile_component(&wasm).map_err(|e| format!("{e:#}")));
        })
        .map_err(|e| format!("cannot start a compile thread: {e}"))?;
    let Some(timeout) = timeout else {
        return rx.recv().map_err(|_| "the compile thread stopped without an answer".to_string())?;
    };
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(format!(
            "did not compile within {} s (sandbox.compile_timeout); make the component smaller",
            timeout.as_secs_f64()
        )),
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
