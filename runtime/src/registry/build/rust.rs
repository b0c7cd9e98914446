//! Rust: cargo builds the endpoint's folder for `wasm32-wasip2` (whose output
//! is already a component) into the platform's build dir. Cargo decides what
//! is stale, so an unchanged endpoint costs one quick no-op cargo run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{BuildError, WASM_TARGET};

/// Adds the wasm target with rustup if it is missing.
pub fn ensure_wasm_target() -> Result<(), BuildError> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(out) if out.status.success() => {
            if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == WASM_TARGET) {
                return Ok(());
            }
        }
        // No rustup: the toolchain may still have the target (a distro rust);
        // let cargo try and report.
        _ => return Ok(()),
    }
    tracing::info!("installing the {WASM_TARGET} target with rustup (once)");
    let out = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .output()
        .map_err(|e| BuildError::NoTarget(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BuildError::NoTarget(String::from_utf8_lossy(&out.stderr).trim().to_string()))
    }
}

/// Builds the cdylib in `folder` and returns the path of its `.wasm`.
pub(super) fn build(folder: &Path, target_dir: &Path) -> Result<PathBuf, BuildError> {
    let manifest = folder.join("Cargo.toml");
    let manifest_text = manifest.display().to_string();
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--release", "--target", WASM_TARGET, "--message-format=json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // When run from inside another cargo (tests, build scripts) these would
    // leak the outer build's target and flags into the guest build.
    for var in
        ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER"]
    {
        cmd.env_remove(var);
    }
    let out = cmd.output().map_err(BuildError::NoCargo)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let mut output = String::new();
        for line in stdout.lines() {
            if let Ok(msg) = serde_json::from_str::<serde_json::Value>(line)
                && msg["reason"] == "compiler-message"
                && let Some(rendered) = msg["message"]["rendered"].as_str()
            {
                output.push_str(rendered);
            }
        }
        if output.is_empty() {
            output = String::from_utf8_lossy(&out.stderr).trim().to_string();
        }
        return Err(BuildError::Compile { tool: "cargo build", what: manifest_text, output });
    }
    let canonical = std::fs::canonicalize(&manifest).unwrap_or(manifest.clone());
    let mut found = None;
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let same_package = msg["manifest_path"].as_str().map(|p| Path::new(p) == canonical).unwrap_or(false);
        if !same_package {
            continue;
        }
        if let Some(files) = msg["filenames"].as_array() {
            for f in files.iter().filter_map(|f| f.as_str()) {
                if f.ends_with(".wasm") {
                    found = Some(PathBuf::from(f));
                }
            }
        }
    }
    found.ok_or(BuildError::NoArtifact { manifest: manifest_text })
}
