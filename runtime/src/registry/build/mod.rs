//! Builds an endpoint's component from its source folder, whatever its
//! language: a `Cargo.toml` is Rust (cargo, `wasm32-wasip2`), an `app.py` is
//! Python (componentize-py), an `index.js` is JavaScript (componentize-js).
//! Each language's toolchain is installed on first use, into the build dir
//! (`toolchain.rs`), the way `rustup target add` is run for Rust. Python and
//! JavaScript builds are keyed by a hash of their sources, the SDK and the
//! WIT, so an unchanged endpoint is not rebuilt.

mod js;
mod python;
mod rust;
mod toolchain;

use std::path::{Path, PathBuf};

pub use rust::ensure_wasm_target;

/// The target every Rust guest is built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// An endpoint's source language, known from the file that marks its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// `Cargo.toml`.
    Rust,
    /// `app.py`.
    Python,
    /// `index.js`, or `index.ts` (TypeScript, transpiled first).
    JavaScript,
}

impl Language {
    /// The language of the source folder `folder`, if it is one.
    pub fn of(folder: &Path) -> Option<Self> {
        if !folder.is_dir() {
            None
        } else if folder.join("Cargo.toml").is_file() {
            Some(Self::Rust)
        } else if folder.join("app.py").is_file() {
            Some(Self::Python)
        } else if folder.join("index.js").is_file() || folder.join("index.ts").is_file() {
            Some(Self::JavaScript)
        } else {
            None
        }
    }

    /// `rust`, `python` or `js`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::Python => "python",
            Self::JavaScript => "js",
        }
    }
}

/// Why a component could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// cargo itself could not be run.
    #[error("could not run cargo ({0}); install the Rust toolchain from rustup.rs")]
    NoCargo(std::io::Error),
    /// The wasm target is missing and could not be added.
    #[error(
        "the {WASM_TARGET} target is not installed and `rustup target add {WASM_TARGET}` failed: {0}; run it yourself and retry"
    )]
    NoTarget(String),
    /// A language's toolchain could not be installed or run.
    #[error("{0}")]
    Toolchain(String),
    /// The compiler failed; its messages are in `output`.
    #[error("{tool} failed for {what}:\n{output}")]
    Compile {
        /// What ran (`cargo build`, `componentize-py`, `componentize-js`).
        tool: &'static str,
        /// The endpoint's manifest or main file.
        what: String,
        /// The compiler's messages.
        output: String,
    },
    /// The build succeeded but produced no component.
    #[error("cargo built {manifest} but produced no .wasm; make it a `crate-type = [\"cdylib\"]` library")]
    NoArtifact {
        /// The endpoint's Cargo.toml.
        manifest: String,
    },
}

/// Builds the endpoint in `folder` into `build_dir`; returns the component's path.
pub fn build_component(folder: &Path, build_dir: &Path) -> Result<PathBuf, BuildError> {
    match Language::of(folder) {
        Some(Language::Rust) | None => {
            ensure_wasm_target()?;
            rust::build(folder, build_dir)
        }
        Some(Language::Python) => python::build(folder, build_dir),
        Some(Language::JavaScript) => js::build(folder, build_dir),
    }
}

/// Keeps a tool's output `tmp` as `out` if it succeeded; else removes it and
/// reports the tool's messages for `what`.
fn keep_output(
    result: &std::process::Output,
    tmp: &Path,
    out: &Path,
    tool: &'static str,
    what: &Path,
) -> Result<PathBuf, BuildError> {
    if !result.status.success() {
        let _ = std::fs::remove_file(tmp);
        return Err(BuildError::Compile { tool, what: what.display().to_string(), output: tool_output(result) });
    }
    std::fs::rename(tmp, out).map_err(|e| BuildError::Toolchain(e.to_string()))?;
    Ok(out.to_path_buf())
}

/// The error of a tool that ran and failed: its stderr (else stdout), trimmed to the end that matters.
fn tool_output(out: &std::process::Output) -> String {
    let text = if out.stderr.iter().any(|b| !b.is_ascii_whitespace()) { &out.stderr } else { &out.stdout };
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.trim().lines().collect();
    let keep = lines.len().saturating_sub(40);
    lines[keep..].join("\n")
}
