//! The platform as users run it: the `gatehouse` binary (`gatehouse serve`)
//! in a process of its own, with its default logging (an access line per
//! request, info level) going to a file, serving the same hello. The other
//! rows run the server in the benchmark's process without a log subscriber;
//! this one shows what the shipped binary adds or saves beside them.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `gatehouse serve` child process, killed on drop.
pub(crate) struct Binary {
    child: Child,
    pub(crate) addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the binary (cargo's own, already-built profile: a no-op when it is
/// fresh) and serves `endpoints/hello` at `GET /api/hello` with it, or says why not.
pub(crate) fn start(root: &Path) -> Result<Binary, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "-q", "-p", "gatehouse", "--bin", "gatehouse"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !built.success() {
        return Err("cargo build -p gatehouse failed".into());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = dir.path().join("platform.toml");
    let hello = root.join("endpoints/hello");
    std::fs::write(
        &config,
        format!("[[endpoint]]\nroute = \"GET /api/hello\"\ncomponent = {:?}\n", hello.display().to_string()),
    )
    .map_err(|e| e.to_string())?;
    let log = std::fs::File::create(dir.path().join("gatehouse.log")).map_err(|e| e.to_string())?;
    let addr = super::peer::free_addr()?;
    let child = Command::new(root.join("target/debug/gatehouse"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("GATEHOUSE_LISTEN", addr.to_string())
        .env("GATEHOUSE_DATA_DIR", dir.path().join("data"))
        .env("GATEHOUSE_BUILD_DIR", root.join("target/guests"))
        .env("GATEHOUSE_CACHE_DIR", root.join("target/guests/cwasm-cache"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start the gatehouse binary: {e}"))?;
    let binary = Binary { child, addr, _dir: dir };
    super::peer::wait_listening(addr, Duration::from_secs(120), "the gatehouse binary")?;
    Ok(binary)
}
