//! The peer to beat: `wasmtime serve` running the same hello as a standard
//! wasi:http component (tests/guests/wasi_http_hello). Used when a `wasmtime`
//! binary is found (`WASMTIME=/path/to/wasmtime`, or on `PATH`); skipped otherwise.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `wasmtime serve` child process, killed on drop.
pub(crate) struct WasmtimeServe {
    child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) version: String,
}

impl Drop for WasmtimeServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_wasmtime() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WASMTIME") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("wasmtime")).find(|p| p.is_file())
}

/// Builds the wasi:http hello and starts `wasmtime serve` on it, or says why not.
pub(crate) fn start(root: &Path) -> Result<WasmtimeServe, String> {
    let wasmtime = find_wasmtime().ok_or("no wasmtime binary (set WASMTIME or put it on PATH)")?;
    let version = Command::new(&wasmtime)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .map_err(|e| format!("cannot run {}: {e}", wasmtime.display()))?;
    let component =
        gatehouse::registry::build_component(&root.join("tests/guests/wasi_http_hello"), &root.join("target/guests"))
            .map_err(|e| e.to_string())?;
    let addr = free_addr()?;
    let child = Command::new(&wasmtime)
        .args(["serve", "-Scli", "-O", "pooling-allocator=y", "--addr"])
        .arg(addr.to_string())
        .arg(&component)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start wasmtime serve: {e}"))?;
    let serve = WasmtimeServe { child, addr, version };
    wait_listening(addr, Duration::from_secs(60), "wasmtime serve")?;
    Ok(serve)
}

/// A loopback address with a port free this moment, for a child process to listen on.
pub(crate) fn free_addr() -> Result<SocketAddr, String> {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    Ok(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Polls `addr` until a child process (`what`) listens there, or `within` passes. The
/// benchmark's setup runs on the main thread, outside any async runtime, so it may sleep.
pub(crate) fn wait_listening(addr: SocketAddr, within: Duration, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            return Err(format!("{what} did not start listening within {} s", within.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
