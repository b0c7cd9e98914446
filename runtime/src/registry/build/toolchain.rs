//! The Python and JavaScript toolchains, installed on first use into
//! `<build_dir>/toolchains/`: a virtual environment with componentize-py, and
//! a local npm folder with componentize-js. Pinned versions, so a build is the
//! same everywhere. The WIT contract and the SDKs are compiled into this
//! binary and written next to them, so an installed `gatehouse` builds
//! endpoints without a checkout of this repository. Installs and builds take a
//! file lock, so processes sharing a build dir never race.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::{BuildError, tool_output};

/// componentize-py from PyPI.
pub(super) const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";
/// componentize-js from npm.
pub(super) const COMPONENTIZE_JS: &str = "@bytecodealliance/componentize-js@0.23.0";
/// What turns an endpoint's TypeScript into JavaScript (types removed, nothing else), pinned.
pub(super) const ESBUILD: &str = "esbuild@0.25.12";

/// The contract, as compiled in: (file name, text).
const WIT: &[(&str, &str)] = &[
    ("auth.wit", include_str!("../../../../wit/auth.wit")),
    ("blobs.wit", include_str!("../../../../wit/blobs.wit")),
    ("config.wit", include_str!("../../../../wit/config.wit")),
    ("db.wit", include_str!("../../../../wit/db.wit")),
    ("handler.wit", include_str!("../../../../wit/handler.wit")),
    ("http-out.wit", include_str!("../../../../wit/http-out.wit")),
    ("log.wit", include_str!("../../../../wit/log.wit")),
    ("streaming.wit", include_str!("../../../../wit/streaming.wit")),
    ("types.wit", include_str!("../../../../wit/types.wit")),
    ("world.wit", include_str!("../../../../wit/world.wit")),
];

/// The Python SDK package (`import gatehouse`).
pub(super) const PYTHON_SDK: &[(&str, &str)] = &[
    ("gatehouse/__init__.py", include_str!("../../../../guest-sdk/python/gatehouse/__init__.py")),
    ("gatehouse/_offplatform.py", include_str!("../../../../guest-sdk/python/gatehouse/_offplatform.py")),
    ("gatehouse/auth.py", include_str!("../../../../guest-sdk/python/gatehouse/auth.py")),
    ("gatehouse/blobs.py", include_str!("../../../../guest-sdk/python/gatehouse/blobs.py")),
    ("gatehouse/config.py", include_str!("../../../../guest-sdk/python/gatehouse/config.py")),
    ("gatehouse/db.py", include_str!("../../../../guest-sdk/python/gatehouse/db.py")),
    ("gatehouse/errors.py", include_str!("../../../../guest-sdk/python/gatehouse/errors.py")),
    ("gatehouse/handler.py", include_str!("../../../../guest-sdk/python/gatehouse/handler.py")),
    ("gatehouse/http.py", include_str!("../../../../guest-sdk/python/gatehouse/http.py")),
    ("gatehouse/log.py", include_str!("../../../../guest-sdk/python/gatehouse/log.py")),
    ("gatehouse/request.py", include_str!("../../../../guest-sdk/python/gatehouse/request.py")),
    ("gatehouse/response.py", include_str!("../../../../guest-sdk/python/gatehouse/response.py")),
    ("gatehouse/stream.py", include_str!("../../../../guest-sdk/python/gatehouse/stream.py")),
    ("gatehouse/testing.py", include_str!("../../../../guest-sdk/python/gatehouse/testing.py")),
    ("gatehouse/py.typed", ""),
];
/// The JavaScript SDK module (`import … from "./gatehouse.js"`).
pub(super) const JS_SDK: &str = include_str!("../../../../guest-sdk/js/gatehouse.js");
/// Its types, staged beside it for TypeScript endpoints and editors.
pub(super) const JS_SDK_TYPES: &str = include_str!("../../../../guest-sdk/js/gatehouse.d.ts");
/// The script that runs componentize-js.
const JS_BUILD_SCRIPT: &str = include_str!("../../../../guest-sdk/js/build.mjs");

/// A hash of everything compiled in (WIT, SDKs, pinned versions): part of
/// every Python and JavaScript build's key.
pub(super) fn contract_hash() -> String {
    let mut h = Sha256::new();
    for (name, text) in WIT {
        h.update(name.as_bytes());
        h.update(text.as_bytes());
    }
    for (name, text) in PYTHON_SDK {
        h.update(name.as_bytes());
        h.update(text.as_bytes());
    }
    for part in [JS_SDK, JS_BUILD_SCRIPT, COMPONENTIZE_PY, COMPONENTIZE_JS, ESBUILD] {
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The WIT folder under the build dir, written if missing.
pub(super) fn wit_dir(build_dir: &Path) -> Result<PathBuf, BuildError> {
    let dir = build_dir.join("toolchains").join(format!("wit-{}", &contract_hash()[..16]));
    if !dir.join("world.wit").is_file() {
        write_files(&dir, WIT.iter().map(|(n, t)| (*n, *t)))?;
    }
    Ok(dir)
}

/// The Python SDK folder (holding the `gatehouse` package), written if missing.
pub(super) fn python_sdk_dir(build_dir: &Path) -> Result<PathBuf, BuildError> {
    let dir = build_dir.join("toolchains").join(format!("python-sdk-{}", &contract_hash()[..16]));
    if !dir.join("gatehouse/__init__.py").is_file() {
        write_files(&dir, PYTHON_SDK.iter().map(|(n, t)| (*n, *t)))?;
    }
    Ok(dir)
}

fn write_files<'a>(dir: &Path, files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<(), BuildError> {
    let fail = |e: std::io::Error| BuildError::Toolchain(format!("cannot write {}: {e}", dir.display()));
    let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
    for (name, text) in files {
        let path = tmp.join(name);
        std::fs::create_dir_all(path.parent().unwrap_or(&tmp)).map_err(fail)?;
        std::fs::write(path, text).map_err(fail)?;
    }
    match std::fs::rename(&tmp, dir) {
        Ok(()) => Ok(()),
        Err(_) if dir.is_dir() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(())
        }
        Err(e) => Err(fail(e)),
    }
}

/// Holds `<build_dir>/toolchains/<name>.lock` until dropped.
pub(super) fn lock(build_dir: &Path, name: &str) -> Result<std::fs::File, BuildError> {
    let dir = build_dir.join("toolchains");
    let fail = |e: std::io::Error| BuildError::Toolchain(format!("cannot lock {}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let file = std::fs::File::create(dir.join(format!("{name}.lock"))).map_err(fail)?;
    file.lock().map_err(fail)?;
    Ok(file)
}

fn run(cmd: &mut Command, what: &str, fix: &str) -> Result<(), BuildError> {
    let out = cmd.output().map_err(|e| BuildError::Toolchain(format!("could not run {what} ({e}); {fix}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BuildError::Toolchain(format!("{what} failed; {fix}:\n{}", tool_output(&out))))
    }
}

/// The `componentize-py` program, installing it (python3 -m venv, pip) if needed.
pub(super) fn componentize_py(build_dir: &Path) -> Result<PathBuf, BuildError> {
    let venv = build_dir.join("toolchains").join("python");
    let program = venv.join("bin").join("componentize-py");
    let marker = venv.join(format!(".installed-{COMPONENTIZE_PY}"));
    if marker.is_file() {
        return Ok(program);
    }
    let _lock = lock(build_dir, "python")?;
    if marker.is_file() {
        return Ok(program);
    }
    tracing::info!(toolchain = COMPONENTIZE_PY, dir = %venv.display(), "installing the Python toolchain (once)");
    let python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    run(
        Command::new(&python).args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
        "install Python 3 with its venv module (or set PYTHON)",
    )?;
    run(
        Command::new(venv.join("bin").join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            COMPONENTIZE_PY,
        ]),
        &format!("pip install {COMPONENTIZE_PY}"),
        "check that PyPI is reachable",
    )?;
    std::fs::write(&marker, b"").map_err(|e| BuildError::Toolchain(e.to_string()))?;
    Ok(program)
}

/// The folder holding componentize-js and our build script, installing it (npm) if needed.
pub(super) fn componentize_js(build_dir: &Path) -> Result<PathBuf, BuildError> {
    let dir = build_dir.join("toolchains").join("js");
    let marker = dir.join(format!(".installed-{}-{}", COMPONENTIZE_JS.replace('/', "_"), ESBUILD));
    let script = dir.join("build.mjs");
    if marker.is_file() && std::fs::read_to_string(&script).is_ok_and(|s| s == JS_BUILD_SCRIPT) {
        return Ok(dir);
    }
    let _lock = lock(build_dir, "js")?;
    if !marker.is_file() {
        tracing::info!(toolchain = COMPONENTIZE_JS, dir = %dir.display(), "installing the JavaScript toolchain (once)");
        std::fs::create_dir_all(&dir).map_err(|e| BuildError::Toolchain(e.to_string()))?;
        // A new toolchain version is installed from scratch: npm updating an
        // older tree in place can leave out a package componentize-js needs at
        // its top level (it imports @bytecodealliance/preview2-shim, which only
        // a fresh resolution hoists there).
        let _ = std::fs::remove_dir_all(dir.join("node_modules"));
        let _ = std::fs::remove_file(dir.join("package-lock.json"));
        std::fs::write(
            dir.join("package.json"),
            "{\"name\": \"gatehouse-js-toolchain\", \"private\": true, \"type\": \"module\"}\n",
        )
        .map_err(|e| BuildError::Toolchain(e.to_string()))?;
        run(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
                .arg(&dir)
                .arg(COMPONENTIZE_JS)
                .arg(ESBUILD),
            &format!("npm install {COMPONENTIZE_JS} {ESBUILD}"),
            "install Node.js 18+ with npm, and check that the npm registry is reachable",
        )?;
        std::fs::write(&marker, b"").map_err(|e| BuildError::Toolchain(e.to_string()))?;
    }
    std::fs::write(&script, JS_BUILD_SCRIPT).map_err(|e| BuildError::Toolchain(e.to_string()))?;
    Ok(dir)
}

/// SHA-256 over a source folder's files (relative path and contents), skipping
/// hidden files, `node_modules`, `__pycache__` and `target`, plus `extra`.
pub(super) fn source_hash(folder: &Path, extra: &str) -> Result<String, BuildError> {
    let mut files = Vec::new();
    collect(folder, folder, &mut files)
        .map_err(|e| BuildError::Toolchain(format!("cannot read {}: {e}", folder.display())))?;
    files.sort();
    let mut h = Sha256::new();
    for (rel, path) in files {
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(
            std::fs::read(&path).map_err(|e| BuildError::Toolchain(format!("cannot read {}: {e}", path.display())))?,
        );
    }
    h.update(extra.as_bytes());
    Ok(hex::encode(h.finalize()))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || matches!(name.as_str(), "node_modules" | "__pycache__" | "target") {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else {
            out.push((path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned(), path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_python_sdk_package_is_compiled_in() {
        let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk/python/gatehouse");
        let mut on_disk: Vec<String> = std::fs::read_dir(&package)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".py") || n == "py.typed")
            .map(|n| format!("gatehouse/{n}"))
            .collect();
        on_disk.sort();
        let mut compiled: Vec<String> = PYTHON_SDK.iter().map(|(n, _)| n.to_string()).collect();
        compiled.sort();
        assert_eq!(compiled, on_disk, "list each file of guest-sdk/python/gatehouse in PYTHON_SDK");
    }
}
