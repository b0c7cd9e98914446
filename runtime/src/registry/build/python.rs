//! Python: componentize-py builds `app.py` (with the `gatehouse` SDK on its
//! path) against the WIT world `endpoint` into one component holding the
//! interpreter. The output is kept by source hash: an unchanged endpoint is
//! not rebuilt.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{BuildError, keep_output, toolchain};

pub(super) fn build(folder: &Path, build_dir: &Path) -> Result<PathBuf, BuildError> {
    let hash = toolchain::source_hash(folder, &toolchain::contract_hash())?;
    let name = folder.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let out = build_dir.join("python").join(format!("{name}-{}.wasm", &hash[..16]));
    if out.is_file() {
        return Ok(out);
    }
    let program = toolchain::componentize_py(build_dir)?;
    let wit = toolchain::wit_dir(build_dir)?;
    let sdk = toolchain::python_sdk_dir(build_dir)?;
    let _lock = toolchain::lock(build_dir, &format!("build-{}", &hash[..16]))?;
    if out.is_file() {
        return Ok(out);
    }
    std::fs::create_dir_all(out.parent().unwrap_or(build_dir)).map_err(|e| BuildError::Toolchain(e.to_string()))?;
    let tmp = out.with_extension(format!("tmp{}", std::process::id()));
    let result = Command::new(&program)
        .arg("-d")
        .arg(&wit)
        .args(["-w", "endpoint", "componentize", "-p"])
        .arg(folder)
        .arg("-p")
        .arg(&sdk)
        .arg("app")
        .arg("-o")
        .arg(&tmp)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // The tool is Rust inside; its backtrace would bury the Python error.
        .env("RUST_BACKTRACE", "0")
        .output()
        .map_err(|e| BuildError::Toolchain(format!("could not run {} ({e})", program.display())))?;
    keep_output(&result, &tmp, &out, "componentize-py", &folder.join("app.py"))
}
