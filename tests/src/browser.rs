//! A real browser for the tests: Debian's `chromium`, driven by node scripts
//! in `tests/browser/` through `playwright-core`. The scripts' npm packages are
//! installed from `tests/browser/package-lock.json` on first use (`npm ci`), the
//! way the Python and JavaScript toolchains install themselves. Without
//! Chromium or Node a browser test skips with one printed line, except under
//! CI (`CI=true`), where `.ci/run` installs them and their absence is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where the driver scripts and their `package.json` live.
pub fn scripts_dir() -> PathBuf {
    Path::new(crate::guests::REPO_ROOT).join("tests/browser")
}

/// The Chromium to drive: `$CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromium".into())
}

/// Whether a browser test can run here; installs the scripts' packages once.
/// `None` (after printing why) when it cannot and this is not CI.
pub fn ready() -> Option<()> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        if !chromium().is_file() {
            return Err(format!("no Chromium at {} (apt-get install chromium, or set CHROMIUM)", chromium().display()));
        }
        let installed = scripts_dir().join("node_modules/.package-lock.json");
        if !installed.is_file() {
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(scripts_dir())
                .output()
                .map_err(|e| format!("cannot run npm ({e}): install Node.js with npm"))?;
            if !out.status.success() {
                return Err(format!("npm ci in tests/browser failed: {}", String::from_utf8_lossy(&out.stderr)));
            }
        }
        Ok(())
    });
    match ready {
        Ok(()) => Some(()),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("CI needs a browser: {why}"),
        Err(why) => {
            println!("skipping: {why}");
            None
        }
    }
}

/// Runs `tests/browser/<script>` with `args` under node (off the async
/// runtime's threads); returns whether it exited 0, and what it printed.
pub async fn run(script: &str, args: &[String]) -> (bool, String) {
    run_with_env(script, args, &[]).await
}

/// [`run`], with more environment variables for the script.
pub async fn run_with_env(script: &str, args: &[String], env: &[(&str, &std::ffi::OsStr)]) -> (bool, String) {
    let path = scripts_dir().join(script);
    let args = args.to_vec();
    let env: Vec<(String, std::ffi::OsString)> = env.iter().map(|(k, v)| (k.to_string(), v.to_os_string())).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new("node")
            .arg(&path)
            .args(&args)
            .envs(env)
            .env("CHROMIUM", chromium())
            .output()
            .unwrap_or_else(|e| panic!("running node {}: {e}", path.display()));
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    })
    .await
    .unwrap()
}
