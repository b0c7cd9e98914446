//! Python tools the tests run (`tests/tools/requirements.txt`: the OpenAPI
//! validator), installed on first use into a virtual environment under
//! `target/test-tools`, the way the platform installs its own Python
//! toolchain: nothing global. Without `python3` a test that needs them skips
//! with one printed line, except under CI (`CI=true`), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn requirements() -> PathBuf {
    Path::new(crate::guests::REPO_ROOT).join("tests/tools/requirements.txt")
}

/// The environment's folder, named for the requirements' contents so that a
/// change to them installs afresh.
fn venv() -> PathBuf {
    let text = std::fs::read_to_string(requirements()).unwrap_or_default();
    let hash = text.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    Path::new(crate::guests::REPO_ROOT).join(format!("target/test-tools/venv-{hash:016x}"))
}

/// The `bin/` folder of the tools' environment, installing it once.
pub fn bin() -> Option<PathBuf> {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let venv = venv();
        let bin = venv.join("bin");
        if bin.join(".installed").is_file() {
            return Ok(bin);
        }
        let run = |cmd: &mut Command, what: &str| -> Result<(), String> {
            let out = cmd.output().map_err(|e| format!("cannot run {what} ({e}): install python3 with venv"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr)))
            }
        };
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv")?;
        run(
            Command::new(bin.join("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(requirements()),
            "pip install -r tests/tools/requirements.txt",
        )?;
        std::fs::write(bin.join(".installed"), b"").map_err(|e| e.to_string())?;
        Ok(bin)
    });
    match ready {
        Ok(bin) => Some(bin.clone()),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("CI needs the Python test tools: {why}"),
        Err(why) => {
            println!("skipping: {why}");
            None
        }
    }
}
