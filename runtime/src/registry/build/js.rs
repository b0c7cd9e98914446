//! JavaScript: componentize-js builds `index.js` against the WIT world
//! `endpoint` into one component holding the engine. The endpoint's files are
//! staged with the SDK beside them (`import … from "./gatehouse.js"`); an
//! endpoint written in TypeScript (`index.ts`) has each `.ts` file turned into
//! the `.js` beside it first (esbuild, types removed), and the
//! engine's own `http` and `fetch-event` features are left out: a guest
//! reaches the network only through `http-out`. Kept by source hash.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{BuildError, keep_output, tool_output, toolchain};

pub(super) fn build(folder: &Path, build_dir: &Path) -> Result<PathBuf, BuildError> {
    let hash = toolchain::source_hash(folder, &toolchain::contract_hash())?;
    let name = folder.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let out = build_dir.join("js").join(format!("{name}-{}.wasm", &hash[..16]));
    if out.is_file() {
        return Ok(out);
    }
    let tools = toolchain::componentize_js(build_dir)?;
    let wit = toolchain::wit_dir(build_dir)?;
    let _lock = toolchain::lock(build_dir, &format!("build-{}", &hash[..16]))?;
    if out.is_file() {
        return Ok(out);
    }
    let fail = |e: std::io::Error| BuildError::Toolchain(format!("staging {}: {e}", folder.display()));
    let staging = build_dir.join("js").join(format!("staging-{}", &hash[..16]));
    let _ = std::fs::remove_dir_all(&staging);
    copy_sources(folder, &staging).map_err(fail)?;
    std::fs::write(staging.join("gatehouse.js"), toolchain::JS_SDK).map_err(fail)?;
    std::fs::write(staging.join("gatehouse.d.ts"), toolchain::JS_SDK_TYPES).map_err(fail)?;
    std::fs::write(staging.join("package.json"), "{\"type\": \"module\"}\n").map_err(fail)?;
    // componentize-js reports a syntax error only as "failed to parse"; node
    // (and esbuild, for TypeScript) names the file, line and token.
    if let Err(e) = transpile(folder, &staging, &tools).and_then(|()| syntax_check(folder, &staging)) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let tmp = out.with_extension(format!("tmp{}", std::process::id()));
    let result = Command::new("node")
        .arg(tools.join("build.mjs"))
        .arg(staging.join("index.js"))
        .arg(&tmp)
        .arg(&wit)
        .current_dir(&tools)
        .env("RUST_BACKTRACE", "0")
        .output()
        .map_err(|e| BuildError::Toolchain(format!("could not run node ({e}); install Node.js 18+")))?;
    let _ = std::fs::remove_dir_all(&staging);
    let entry = if folder.join("index.js").is_file() { "index.js" } else { "index.ts" };
    keep_output(&result, &tmp, &out, "componentize-js", &folder.join(entry))
}

/// Each staged `.ts` file as the `.js` beside it, if the endpoint has any.
fn transpile(folder: &Path, staging: &Path, tools: &Path) -> Result<(), BuildError> {
    let entries = std::fs::read_dir(staging).map_err(|e| BuildError::Toolchain(e.to_string()))?;
    let typescript = entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.ends_with(".ts") && !name.ends_with(".d.ts")
    });
    if !typescript {
        return Ok(());
    }
    let result = Command::new("node")
        .arg(tools.join("build.mjs"))
        .arg("--transpile")
        .arg(staging)
        .current_dir(tools)
        .output()
        .map_err(|e| BuildError::Toolchain(format!("could not run node ({e}); install Node.js 18+")))?;
    if result.status.success() {
        return Ok(());
    }
    Err(BuildError::Compile {
        tool: "esbuild (TypeScript)",
        what: folder.join("index.ts").display().to_string(),
        output: tool_output(&result).replace(&staging.display().to_string(), &folder.display().to_string()),
    })
}

fn syntax_check(folder: &Path, staging: &Path) -> Result<(), BuildError> {
    let entries = std::fs::read_dir(staging).map_err(|e| BuildError::Toolchain(e.to_string()))?;
    for path in entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "js" || x == "mjs")) {
        let result = Command::new("node")
            .arg("--check")
            .arg(&path)
            .output()
            .map_err(|e| BuildError::Toolchain(format!("could not run node ({e}); install Node.js 18+")))?;
        if !result.status.success() {
            let name = path.file_name().unwrap_or_default();
            return Err(BuildError::Compile {
                tool: "node --check",
                what: folder.join(name).display().to_string(),
                output: tool_output(&result).replace(&staging.display().to_string(), &folder.display().to_string()),
            });
        }
    }
    Ok(())
}

fn copy_sources(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if text.starts_with('.') || text == "node_modules" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_sources(&path, &to.join(&name))?;
        } else {
            std::fs::copy(&path, to.join(&name))?;
        }
    }
    Ok(())
}
